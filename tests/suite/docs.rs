//! The documents say what the code does: the service files README.md gives for
//! `watch` are valid, and the numbers RELIABILITY.md and BENCHMARKS.md state
//! (test counts, the throttling bound, the benchmark run times) are read from
//! the code here, so a change to one without the other fails.

use std::path::Path;
#[cfg(unix)]
use std::process::Command;
#[cfg(unix)]
use std::time::{Duration, Instant};

#[cfg(unix)]
use crate::common::Start;
#[cfg(unix)]
use crate::common::skip;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

/// The body of the fenced block in `doc` that contains the line `marker`.
#[cfg(unix)]
fn fenced_block(doc: &str, marker: &str) -> String {
    let mut blocks = doc.split("\n```").skip(1).step_by(2);
    let block = blocks
        .find(|b| b.lines().any(|l| l == marker))
        .unwrap_or_else(|| panic!("no fenced block with {marker:?}"));
    // Drop the info string (`ini`, `xml`) on the opening line.
    block.split_once('\n').unwrap().1.to_string() + "\n"
}

#[cfg(unix)]
fn installed(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A home with `~/.cargo/bin/ssosync` (the binary under test), where the README
/// says `cargo install` puts it. The systemd unit and the launchd agent are
/// Unix files: their tests are Unix-only.
#[cfg(unix)]
fn home_with_binary() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join(".cargo/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ssosync"), bin.join("ssosync")).unwrap();
    home
}

#[cfg(unix)]
#[test]
fn the_readmes_systemd_unit_passes_systemd_analyze_verify() {
    if !installed("systemd-analyze", "--version") {
        return skip(
            "the_readmes_systemd_unit_passes_systemd_analyze_verify",
            "systemd-analyze is not installed (apt-get install systemd)",
        );
    }
    let unit = fenced_block(
        &read("README.md"),
        "# ~/.config/systemd/user/ssosync-watch.service",
    );
    assert!(
        unit.contains("\nExecStart=%h/.cargo/bin/ssosync watch\n"),
        "{unit}"
    );
    let verify = |home: &Path| {
        let dir = home.join(".config/systemd/user");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ssosync-watch.service");
        std::fs::write(&path, &unit).unwrap();
        let runtime = home.join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        let out = Command::new("systemd-analyze")
            .args(["verify", "--user"])
            .arg(&path)
            .env("HOME", home)
            .env("XDG_RUNTIME_DIR", &runtime)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let home = home_with_binary();
    let (ok, stderr) = verify(home.path());
    // A warning (an unknown key, a bad value) is a failure too.
    assert!(ok && stderr.is_empty(), "{stderr}\n{unit}");
    // It does check: without the binary where ExecStart says, it fails.
    let empty = tempfile::tempdir().unwrap();
    let (ok, stderr) = verify(empty.path());
    assert!(!ok && stderr.contains("is not executable"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn the_readmes_launchd_agent_is_a_plist_that_starts_watch() {
    let python = std::env::var("SSOSYNC_PYTHON").unwrap_or_else(|_| "python3".into());
    if !installed(&python, "--version") {
        return skip(
            "the_readmes_launchd_agent_is_a_plist_that_starts_watch",
            "python3 is not installed",
        );
    }
    let plist = fenced_block(
        &read("README.md"),
        "<!-- ~/Library/LaunchAgents/local.ssosync.watch.plist -->",
    );
    let home = home_with_binary();
    let path = home.path().join("agent.plist");
    std::fs::write(&path, &plist).unwrap();
    // Python's plistlib reads it as launchd would; print what launchd would run.
    let out = Command::new(&python)
        .arg("-c")
        .arg(
            "import plistlib, sys\n\
             d = plistlib.load(open(sys.argv[1], 'rb'))\n\
             assert d['Label'] == 'local.ssosync.watch', d\n\
             assert d['RunAtLoad'] is True and d['KeepAlive'] == {'SuccessfulExit': False}, d\n\
             print('\\0'.join(d['ProgramArguments']), end='')",
        )
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let arguments: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .map(str::to_string)
        .collect();
    assert_eq!(arguments[..2], ["/bin/sh", "-c"], "{arguments:?}");
    // Run it as launchd would (a HOME, no terminal): `watch` starts and logs.
    std::fs::create_dir_all(home.path().join("Library/Logs")).unwrap();
    let mut child = Command::new(&arguments[0])
        .args(&arguments[1..])
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .start();
    let log = home.path().join("Library/Logs/ssosync-watch.log");
    let start = Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("ssosync: ") || start.elapsed() > Duration::from_secs(10) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("ssosync: watching"), "{text:?}");
}

/// The `#[test]` functions of `tests/suite/NAME.rs`.
fn tests_in(suite: &str) -> usize {
    read(&format!("tests/suite/{suite}.rs"))
        .lines()
        .filter(|l| l.trim() == "#[test]")
        .count()
}

/// Rows of the hostile manifest, by how the input is placed.
fn hostile_rows() -> Vec<String> {
    read("fixtures/hostile/README.md")
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split('|').nth(2).unwrap().trim().to_string())
        .collect()
}

/// A whole-number constant of a source file: `pub const NAME: u32 = 5;`.
fn constant(rel: &str, name: &str) -> u64 {
    let text = read(rel);
    let line = text
        .lines()
        .find(|l| l.contains(&format!("const {name}:")))
        .unwrap_or_else(|| panic!("{name} not in {rel}"));
    line.rsplit('=')
        .next()
        .unwrap()
        .trim()
        .trim_end_matches(';')
        .parse()
        .unwrap()
}

#[test]
fn reliability_md_states_the_codes_numbers() {
    let doc = read("RELIABILITY.md");
    for (suite, count) in [
        ("secrets", tests_in("secrets")),
        ("network", tests_in("network")),
    ] {
        let claim = format!("| `{suite}::*` | {count} tests");
        assert!(doc.contains(&claim), "RELIABILITY.md should say {claim:?}");
    }
    let rows = hostile_rows();
    let placed = |kinds: &[&str]| rows.iter().filter(|r| kinds.contains(&r.as_str())).count();
    for claim in [
        format!("all {} cases", rows.len()),
        format!("{} cases, each a row of the manifest", rows.len()),
        format!(
            "{} committed files",
            placed(&["config", "credentials", "token cache"])
        ),
        format!("{} broken token caches", placed(&["token cache"])),
        format!("{} inputs built by the test", placed(&["generated"])),
        format!("{} portal replies", placed(&["portal"])),
    ] {
        assert!(doc.contains(&claim), "RELIABILITY.md should say {claim:?}");
    }
    // The property tests' default number of cases.
    for suite in ["properties", "entry_properties"] {
        let text = read(&format!("tests/suite/{suite}.rs"));
        let cases = text
            .lines()
            .find(|l| l.contains("SSOSYNC_PROPTEST_CASES") && l.contains("unwrap_or("))
            .and_then(|l| l.split("unwrap_or(").nth(1))
            .and_then(|rest| rest.split(')').next())
            .unwrap_or_else(|| panic!("{suite}: no default case count"));
        let claim = format!("| `{suite}::*` (");
        let row = doc
            .lines()
            .find(|l| l.contains(&claim))
            .unwrap_or_else(|| panic!("RELIABILITY.md has no row for {suite}"));
        assert!(
            row.contains(&format!("| {cases} cases each |")),
            "{suite}: {row}"
        );
    }
    // The 429 storm: the SDK's attempts in each of ssosync's rounds.
    let attempts = read("src/aws/clients.rs")
        .matches("with_max_attempts(3)")
        .count();
    assert!(
        attempts >= 1,
        "the SDK's attempts changed: update this test and the docs"
    );
    let rounds = constant("src/engine/limiter.rs", "THROTTLE_ROUNDS");
    let claim = format!(
        "at most {rounds} rounds of the SDK's 3 attempts per profile ({} attempts)",
        rounds * 3
    );
    assert!(doc.contains(&claim), "RELIABILITY.md should say {claim:?}");
}

#[test]
fn benchmarks_md_and_bench_sh_state_the_same_run_times() {
    // "scripts/bench.sh   # everything (about N minutes)": the script's header
    // and the report give the same measured times, for the full and quick runs.
    let minutes = |rel: &str, phrase: &str| -> String {
        let text = read(rel);
        let line = text
            .lines()
            .find(|l| l.contains(&format!("# {phrase} (about ")))
            .unwrap_or_else(|| panic!("{rel}: no run time for {phrase:?}"));
        line.split("(about ")
            .nth(1)
            .unwrap()
            .split(')')
            .next()
            .unwrap()
            .to_string()
    };
    for phrase in ["everything", "fewer runs, no 100k files"] {
        assert_eq!(
            minutes("BENCHMARKS.md", phrase),
            minutes("scripts/bench.sh", phrase),
            "{phrase}: BENCHMARKS.md and scripts/bench.sh disagree"
        );
    }
}
