//! Small promises that keep ssosync pleasant to live with: logs without colour
//! codes in files and pipes, one duration syntax for every option, a warning
//! for a credentials file others can read, and a `rust-version` that is true.

#[cfg(unix)]
use std::process::Command;

use crate::common::Home;
#[cfg(unix)]
use crate::common::Run;

/// `ssosync ARGS` on a pseudo-terminal (util-linux `script`), stdout and stderr
/// together as the terminal shows them. `None` when `script` is missing.
#[cfg(unix)]
fn on_a_terminal(home: &Home, args: &str, extra_env: &[(&str, &str)]) -> Option<String> {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let cmd = home.command(&[]);
    let mut run = Command::new(script);
    run.args([
        "-qec",
        &format!("{} {args}", env!("CARGO_BIN_EXE_ssosync")),
        "/dev/null",
    ])
    .env_clear()
    .envs(
        cmd.get_envs()
            .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
    )
    .env("SHELL", "/bin/sh")
    .env("TERM", "xterm");
    for (k, v) in extra_env {
        run.env(k, v);
    }
    let out = run.stdin(std::process::Stdio::null()).output().unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

// A terminal made by util-linux `script`: Unix.
#[cfg(unix)]
#[test]
fn logs_have_colour_only_on_a_terminal_and_never_with_no_color() {
    let home = Home::new();
    let args = ["-v", "--force", "-p", "dev"];
    let piped = home.run(&args);
    assert_eq!(piped.code, 0, "{piped:?}");
    assert!(piped.stderr.contains("DEBUG"), "-v logs: {piped:?}");
    assert!(
        !piped.stderr.contains('\u{1b}'),
        "colour codes in a pipe: {piped:?}"
    );

    let Some(terminal) = on_a_terminal(&home, &args.join(" "), &[]) else {
        if std::env::var_os("CI").is_some() {
            panic!("util-linux `script` is needed for this test in CI");
        }
        eprintln!("skipped the terminal half: util-linux `script` is not installed");
        return;
    };
    // The check below can fail: on a terminal the logs are coloured.
    assert!(terminal.contains("DEBUG"), "{terminal}");
    assert!(
        terminal.contains("\u{1b}["),
        "no colour on a terminal: {terminal}"
    );
    let no_color = on_a_terminal(&home, &args.join(" "), &[("NO_COLOR", "1")]).unwrap();
    assert!(no_color.contains("DEBUG"), "{no_color}");
    assert!(
        !no_color.contains('\u{1b}'),
        "colour codes with NO_COLOR: {no_color}"
    );
}

/// The highest `rust_version` among the locked packages, as `cargo metadata`
/// reads Cargo.lock, must be what Cargo.toml (and README.md) declare.
// Runs cargo: not a platform behaviour, and the Wine build has no cargo to run.
#[cfg(unix)]
#[test]
fn rust_version_is_what_the_locked_dependencies_need() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let version = |v: &str| -> Vec<u64> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    let mut ours = None;
    let mut needed: Option<(Vec<u64>, String)> = None;
    for package in meta["packages"].as_array().unwrap() {
        let Some(rv) = package["rust_version"].as_str() else {
            continue;
        };
        let name = package["name"].as_str().unwrap();
        if name == "ssosync" {
            ours = Some(rv.to_string());
            continue;
        }
        if needed.as_ref().is_none_or(|(v, _)| version(rv) > *v) {
            needed = Some((version(rv), format!("{name} {}", package["version"])));
        }
    }
    let ours = ours.expect("Cargo.toml declares a rust-version");
    let (needed, by) = needed.unwrap();
    // Written in full (1.94.1, not 1.94), so the two compare as equal.
    assert_eq!(
        version(&ours),
        needed,
        "Cargo.toml says rust-version = {ours}, the locked dependencies need {needed:?} ({by})"
    );
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(&format!("Rust {ours} or newer")),
        "README.md names another Rust version than {ours}"
    );
}

#[test]
fn every_duration_option_takes_the_same_forms() {
    let home = Home::new();
    // The report of issue 16: `hook --interval 1m` was refused.
    for (form, secs) in [("90s", 90), ("15m", 900), ("1h30m", 5400), ("120", 120)] {
        let run = home.run(&["hook", "bash", "--interval", form]);
        assert_eq!(run.code, 0, "{form}: {run:?}");
        assert!(
            run.stdout.contains(&format!("-ge {secs} ]")),
            "{form} is {secs} s: {}",
            run.stdout
        );
    }
    let cases: &[&[&str]] = &[
        &["--min-ttl"],
        &["--timeout"],
        &["sync", "--min-ttl"],
        &["status", "--min-ttl"],
        &["export", "-p", "dev", "--min-ttl"],
        &["process", "-p", "dev", "--timeout"],
        &["watch", "--min-ttl"],
        &["login", "--timeout"],
        &["hook", "zsh", "--timeout"],
    ];
    for case in cases {
        let mut args = case.to_vec();
        args.extend(["1m30s", "--help"]);
        let run = home.run(&args);
        assert_eq!(run.code, 0, "{args:?} parses: {run:?}");
        let mut bad = case.to_vec();
        bad.extend(["1x", "--help"]);
        let run = home.run(&bad);
        assert_eq!(run.code, 2, "{bad:?}: {run:?}");
        assert!(
            run.stderr.contains("use e.g. 90s, 15m, 1h30m"),
            "{bad:?}: {run:?}"
        );
    }
}

/// Windows: a credentials file whose access list lets Everyone read it keeps
/// that list through the rename (the temp file had the folder's, which would
/// show no warning), and a run that writes keys into it warns once, with the
/// icacls that fixes it; a private one (the suite's files are: windows-check.sh
/// runs Wine with umask 077, as a profile folder's files are on Windows) does not.
#[cfg(windows)]
#[test]
fn a_credentials_file_everyone_can_read_gets_one_warning() {
    let home = Home::new();
    home.write(".aws/credentials", "[other]\nregion = eu-west-1\n");
    // Joined, not `.aws/credentials`: the path as Windows (and the warning) spells it.
    let path = home.path(".aws").join("credentials");
    let private = home.run(&["-p", "dev"]);
    assert_eq!(private.code, 0, "{private:?}");
    assert!(!private.stderr.contains("readable by"), "{private:?}");

    set_access_list(&path, "D:P(A;;FA;;;WD)");
    let run = home.run(&["--force", "-p", "dev", "-p", "prod"]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("readable by"))
        .collect();
    assert_eq!(lines.len(), 1, "one warning: {run:?}");
    assert!(
        lines[0].contains("~\\.aws\\credentials is readable by Everyone")
            && lines[0].contains(&format!(
                "run `icacls \"{}\" /inheritance:r /remove:g *S-1-1-0 /grant:r \"${{env:USERNAME}}:F\"` in PowerShell",
                path.display()
            )),
        "{run:?}"
    );
    // Nothing written, nothing new exposed: no warning.
    let fresh = home.run(&["-p", "dev"]);
    assert!(!fresh.stderr.contains("readable by"), "{fresh:?}");
}

/// Replaces `path`'s access list with the one `sddl` describes.
#[cfg(windows)]
#[allow(unsafe_code)]
fn set_access_list(path: &std::path::Path, sddl: &str) {
    use std::os::windows::ffi::OsStrExt;
    use std::ptr::null_mut;
    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Authorization::{
        ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
    };
    use windows_sys::Win32::Security::{
        DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, SetFileSecurityW,
    };
    let sddl: Vec<u16> = sddl.encode_utf16().chain(Some(0)).collect();
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
    let mut descriptor: PSECURITY_DESCRIPTOR = null_mut();
    // SAFETY: both strings are NUL-terminated and outlive the calls; the
    // descriptor the first call makes is passed to the second, then freed once.
    unsafe {
        assert_ne!(
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &raw mut descriptor,
                null_mut(),
            ),
            0,
            "SDDL"
        );
        let set = SetFileSecurityW(wide.as_ptr(), DACL_SECURITY_INFORMATION, descriptor);
        LocalFree(descriptor);
        assert_ne!(set, 0, "SetFileSecurityW {}", path.display());
    }
}

#[cfg(unix)]
fn warning_lines(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.contains("readable by"))
        .collect()
}

#[cfg(unix)]
#[test]
fn a_credentials_file_others_can_read_keeps_its_mode_and_gets_one_warning() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    home.write(".aws/credentials", "[other]\nregion = eu-west-1\n");
    let path = home.path(".aws/credentials");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = home.run(&["-p", "dev", "-p", "prod"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.mode(".aws/credentials"), 0o644, "the mode is kept");
    let lines = warning_lines(&run);
    assert_eq!(lines.len(), 1, "one warning: {run:?}");
    assert!(
        lines[0].contains("~/.aws/credentials is readable by group and others (mode 644)")
            && lines[0].contains("chmod 600 ~/.aws/credentials"),
        "{run:?}"
    );
    // Nothing to write: nothing new exposed, no warning; -q: errors only.
    let fresh = home.run(&["-p", "dev"]);
    assert!(warning_lines(&fresh).is_empty(), "{fresh:?}");
    let quiet = home.run(&["-q", "--force", "-p", "dev"]);
    assert!(quiet.stderr.is_empty(), "{quiet:?}");

    // Private, or new: no warning.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let private = home.run(&["--force", "-p", "dev"]);
    assert!(warning_lines(&private).is_empty(), "{private:?}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let group = home.run(&["--force", "-p", "dev"]);
    assert!(
        warning_lines(&group)
            .first()
            .is_some_and(|l| l.contains("readable by group (mode 640)")),
        "{group:?}"
    );
}
