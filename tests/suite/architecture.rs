//! The invariants of ARCHITECTURE.md that the source itself can show: each layer
//! uses only the layers below it, no two modules import each other (directly or
//! round a loop), nothing imports from `lib.rs`, every folder says its job, and
//! no source file outgrows 600 lines. These read `src/`; they run no binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules, lowest layer first; a module may use only lower layers
/// (and its own folder). Keep in step with ARCHITECTURE.md.
const LAYERS: &[&[&str]] = &[
    &["secret", "timefmt", "exit", "logging", "progress"],
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

/// The code of `text` without `#[cfg(test)]` modules (tests may reach anywhere)
/// and without comments.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut pending_test = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if skip_depth.is_none() && trimmed.starts_with("#[cfg(test)]") {
            pending_test = true;
            continue;
        }
        let opens = line.matches('{').count() as i32;
        let closes = line.matches('}').count() as i32;
        if pending_test && skip_depth.is_none() {
            pending_test = false;
            if opens > closes {
                skip_depth = Some(depth);
                depth += opens - closes;
                continue;
            }
            // A one-line item under cfg(test): skip it.
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

/// The `crate::a::b…` paths `code` names, including those inside `use crate::{…}`
/// groups, each as its segments.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c}`: each item is a path of its own.
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let segs = segments(item.trim());
                if !segs.is_empty() {
                    paths.push(segs);
                }
            }
            continue;
        }
        paths.push(segments(rest));
    }
    paths
}

fn segments(text: &str) -> Vec<String> {
    let mut segs = Vec::new();
    let mut rest = text;
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segs.push(rest[..end].to_string());
        match rest[end..].strip_prefix("::") {
            Some(more) if more.starts_with(|c: char| c.is_alphanumeric() || c == '_') => {
                rest = more
            }
            _ => break,
        }
    }
    segs
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
            let deps = crate_paths(&code_of(text))
                .iter()
                .filter_map(|p| module_of(p, &known))
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
