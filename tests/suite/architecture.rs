//! The invariants of ARCHITECTURE.md that the source itself can show: each layer
//! uses only the layers below it, no two modules import each other (directly or
//! round a loop), nothing imports from `lib.rs`, every folder says its job, and
//! no source file outgrows 600 lines. These read `src/`; they run no binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules, lowest layer first; a module may use only lower layers
/// (and its own folder). Keep in step with ARCHITECTURE.md.
const LAYERS: &[&[&str]] = &[
    &["secret", "timefmt", "exit", "logging", "progress", "quote"],
    &["config"],
    &["aws"],
    &["store"],
    &["auth"],
    &["engine"],
    &["cli"],
    &["options"],
    &["commands"],
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/` as (module path, text): `src/config/profiles.rs`
/// is `config::profiles`, a `mod.rs` is its folder's module.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                let mut p = prefix.to_vec();
                p.push(name);
                walk(&path, &p, out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let module = match (prefix.is_empty(), stem) {
                    (true, "lib" | "main") => format!("<{stem}>"),
                    (_, "mod") => prefix.join("::"),
                    _ => [prefix, &[stem.to_string()]].concat().join("::"),
                };
                out.insert(module, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&src(), &[], &mut out);
    out
}

/// `text` with comments, string and char literals blanked out, so that braces
/// and paths inside them are not read as code.
fn strip_literals(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    while i < c.len() {
        let ch = c[i];
        let prev_ident = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
        if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            i += 2;
            while i < c.len() && !(c[i] == '*' && at(i + 1) == '/') {
                i += 1;
            }
            i += 2;
        } else if ch == 'r' && !prev_ident && (at(i + 1) == '"' || at(i + 1) == '#') {
            // Raw string r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                out.push(ch);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if ch == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if ch == '\'' && (at(i + 2) == '\'' || at(i + 1) == '\\') {
            // A char literal ('x', '\n', '\u{..}'); a lifetime has no closing quote.
            i += 1;
            while i < c.len() && c[i] != '\'' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(ch);
            i += 1;
        }
    }
    out
}

/// The code of `text` without comments, literals and `#[cfg(test)]` items
/// (tests may reach anywhere).
fn code_of(text: &str) -> String {
    let text = strip_literals(text);
    let mut out = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut pending_test = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if skip_depth.is_none() && trimmed.starts_with("#[cfg(test)]") {
            pending_test = true;
            continue;
        }
        let opens = line.matches('{').count() as i32;
        let closes = line.matches('}').count() as i32;
        if pending_test && skip_depth.is_none() {
            if trimmed.starts_with("#[") {
                // Another attribute of the same item.
                continue;
            }
            pending_test = false;
            if opens > closes {
                skip_depth = Some(depth);
                depth += opens - closes;
            }
            // Either way (a block, or a one-line item): not shipped code.
            continue;
        }
        depth += opens - closes;
        if let Some(d) = skip_depth {
            if depth <= d {
                skip_depth = None;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path `code` names (`a::b::c`, and each leaf of a `use` tree such as
/// `a::{b, c::{d, e}}`), as segments. Single words are not paths.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let c: Vec<char> = code.chars().collect();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let starts = is_ident(c[i])
            && (i == 0 || !(is_ident(c[i - 1]) || (c[i - 1] == ':' && i >= 2 && c[i - 2] == ':')));
        if starts {
            let mut found = Vec::new();
            i = use_tree(&c, i, &[], &mut found);
            paths.extend(found.into_iter().filter(|p| p.len() > 1));
        } else {
            i += 1;
        }
    }
    paths
}

/// Parses one use tree (or path) at `i` under `prefix`; its leaves go to `out`.
/// Returns the position after it.
fn use_tree(c: &[char], mut i: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let skip_ws = |mut i: usize| {
        while c.get(i).is_some_and(|ch| ch.is_whitespace()) {
            i += 1;
        }
        i
    };
    let mut path = prefix.to_vec();
    loop {
        i = skip_ws(i);
        if c.get(i) == Some(&'{') {
            i += 1;
            loop {
                i = skip_ws(i);
                match c.get(i) {
                    None => return i,
                    Some('}') => return i + 1,
                    Some(',') => i += 1,
                    Some(_) => {
                        let before = i;
                        i = use_tree(c, i, &path, out);
                        if i == before {
                            i += 1;
                        }
                    }
                }
            }
        }
        let start = i;
        while c.get(i).is_some_and(|&ch| is_ident(ch)) {
            i += 1;
        }
        if i == start {
            // `*` or nothing: the path so far is the leaf.
            out.push(path);
            return i;
        }
        path.push(c[start..i].iter().collect());
        if c.get(i) == Some(&':') && c.get(i + 1) == Some(&':') {
            i += 2;
            continue;
        }
        out.push(path);
        return i;
    }
}

/// The module path `path` (as written in module `from`) points into: `crate::`,
/// `self::`, `super::` and a child module's name are resolved; other paths
/// (std, other crates, locals) give `None`.
fn absolute(path: &[String], from: &str, known: &BTreeSet<String>) -> Option<Vec<String>> {
    let mut base: Vec<String> = if from.starts_with('<') {
        Vec::new()
    } else {
        from.split("::").map(String::from).collect()
    };
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        Some(first) => {
            let child = [base.clone(), vec![first.to_string()]].concat().join("::");
            if !known.contains(&child) {
                return None;
            }
        }
        None => return None,
    }
    Some([base, rest.to_vec()].concat())
}

/// The `crate::…` paths `code` names, as segments after `crate` (for the root
/// check: every one must land in a module).
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    paths_in(code)
        .into_iter()
        .filter(|p| p.first().map(String::as_str) == Some("crate"))
        .map(|p| p[1..].to_vec())
        .collect()
}

/// The module a path lands in: its longest prefix that is a module.
fn module_of(path: &[String], known: &BTreeSet<String>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| known.contains(m))
}

fn layer(module: &str) -> Option<usize> {
    let top = module.split("::").next()?;
    LAYERS.iter().position(|l| l.contains(&top))
}

/// module -> the other modules its non-test code uses.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules();
    let known: BTreeSet<String> = mods.keys().cloned().collect();
    mods.iter()
        .map(|(name, text)| {
            let deps = paths_in(&code_of(text))
                .iter()
                .filter_map(|p| absolute(p, name, &known))
                .filter_map(|p| module_of(&p, &known))
                .filter(|m| m != name)
                .collect();
            (name.clone(), deps)
        })
        .collect()
}

#[test]
fn layers_use_only_layers_below_them() {
    let mut wrong = Vec::new();
    for (module, deps) in graph() {
        let Some(own) = layer(&module) else { continue };
        let top = module.split("::").next().unwrap_or_default();
        for dep in deps {
            let dep_top = dep.split("::").next().unwrap_or_default();
            if dep_top == top {
                continue;
            }
            match layer(&dep) {
                Some(l) if l < own => {}
                _ => wrong.push(format!("{module} uses {dep}")),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "uses that reach up or sideways:\n{}",
        wrong.join("\n")
    );
    // Every module is placed in a layer, so none escapes the rule.
    let unplaced: Vec<String> = modules()
        .into_keys()
        .filter(|m| !m.starts_with('<') && layer(m).is_none())
        .collect();
    assert!(unplaced.is_empty(), "modules in no layer: {unplaced:?}");
}

#[test]
fn no_module_imports_from_the_crate_root() {
    let mods = modules();
    let known: BTreeSet<String> = mods.keys().cloned().collect();
    let mut wrong = Vec::new();
    for (name, text) in &mods {
        if name.starts_with('<') {
            continue;
        }
        for path in crate_paths(&code_of(text)) {
            if module_of(&path, &known).is_none() {
                wrong.push(format!("{name}: crate::{}", path.join("::")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports from lib.rs:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_import_cycles() {
    let graph = graph();
    // Depth-first search; a module met again while on the stack closes a loop.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        cycles: &mut Vec<String>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(at) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(m.to_string());
            cycles.push(cycle.join(" -> "));
            return;
        }
        stack.push(m.to_string());
        for dep in graph.get(m).into_iter().flatten() {
            visit(dep, graph, stack, done, cycles);
        }
        stack.pop();
        done.insert(m.to_string());
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn every_folder_says_its_job_and_no_file_outgrows_600_lines() {
    let mut wrong = Vec::new();
    for (name, text) in modules() {
        if !text.starts_with("//!") {
            wrong.push(format!("{name}: no module doc (`//!`) at the top"));
        }
        let lines = text.lines().count();
        if lines > 600 {
            wrong.push(format!("{name}: {lines} lines"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_checks_see_what_they_check() {
    // The graph is not empty and finds a use known to be there, so the rules
    // above cannot pass by reading nothing.
    let graph = graph();
    assert!(graph.len() > 30, "{} modules", graph.len());
    assert!(graph["engine::plan"].contains("store::apply"), "{graph:?}");
    assert!(graph["commands::login"].contains("commands::sync"));
    assert_eq!(
        crate_paths("use crate::{a::b, c};\nlet x = crate::d::e::f(); my_crate::g"),
        [vec!["a", "b"], vec!["c"], vec!["d", "e", "f"]]
    );
    assert!(
        !code_of("fn a() {}\n#[cfg(test)]\nmod tests {\n    use crate::x;\n}\n")
            .contains("crate::x")
    );
}

/// `unsafe_code` is denied crate-wide; each exception is one OS call with no
/// safe wrapper, allowed on that function alone. A new one must be added here,
/// where a review sees it.
#[test]
fn unsafe_code_is_allowed_only_where_listed() {
    const ALLOWED: [(&str, usize); 5] = [
        // SetHandleInformation: the detached prompt sync holds no parent pipe (Windows).
        ("commands::prompt", 1),
        // RegGetValueW: the proxy in Windows' own setting (Windows).
        ("config::internet_options", 1),
        // GetNamedSecurityInfoW and the walk of its list: who may read a file
        // (Windows): read, protected, readers, drop.
        ("store::access", 4),
        // SetNamedSecurityInfoW: a replaced file keeps its ACL (Windows).
        ("store::safe_write", 1),
        // fcntl(F_SETLEASE): is a replaced file still open for writing (Linux).
        ("store::writers", 1),
    ];
    let found: Vec<(String, usize)> = modules()
        .iter()
        .map(|(name, text)| {
            let code = strip_literals(text);
            (name.clone(), code.matches("allow(unsafe_code)").count())
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let allowed: Vec<(String, usize)> = ALLOWED
        .iter()
        .map(|(name, n)| (name.to_string(), *n))
        .collect();
    assert_eq!(found, allowed);
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("unsafe_code = \"deny\""),
        "unsafe_code is denied crate-wide"
    );
}
