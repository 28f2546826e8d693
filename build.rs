//! Build metadata for `ssosync --version`: the target triple, and the commit when
//! the source is a git checkout (a build from the crates registry has no `.git`,
//! so it says only the version and the target).

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown target".into());
    let build = match commit() {
        Some(commit) => format!("commit {commit}, {target}"),
        None => target,
    };
    println!("cargo:rustc-env=SSOSYNC_BUILD={build}");
}

/// The short commit of HEAD; `None` outside a git checkout or without git. (No
/// "modified" flag: build.rs reruns when HEAD moves, not on every edit, so such a
/// flag could be stale.)
fn commit() -> Option<String> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    // A packaged crate never holds `.git`: no git call at all for a registry build.
    if !Path::new(&manifest).join(".git").exists() {
        return None;
    }
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(&manifest)
            .args(args)
            // Set inside git hooks: they would point at another repository.
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    // Only this package's own checkout: not a parent repository that happens to
    // hold an unpacked crate.
    let top = git(&["rev-parse", "--show-toplevel"])?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if !same(Path::new(&top), Path::new(&manifest)) {
        return None;
    }
    // Rebuild when HEAD moves: HEAD itself, the branch it names, packed refs and
    // HEAD's reflog (which every commit appends to). Only files that exist: a
    // missing one would make cargo rebuild on every run.
    let mut watched = vec!["HEAD".to_string(), "packed-refs".into(), "logs/HEAD".into()];
    watched.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for path in watched {
        if let Some(file) = git(&["rev-parse", "--git-path", &path]) {
            let file = Path::new(&manifest).join(file);
            if file.exists() {
                println!("cargo:rerun-if-changed={}", file.display());
            }
        }
    }
    git(&["rev-parse", "--short=12", "HEAD"])
}
