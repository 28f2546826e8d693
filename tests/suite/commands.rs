//! The everyday commands: status, export, process, watch, completions, man
//! (the prompt hook has `hook.rs`).

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Home, Start, TOKEN, in_secs};

/// Two sso-session profiles only, so every profile can be synced.
const SMALL_CONFIG: &str = "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\
[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Dev\nregion = us-east-1\n\
[profile prod]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = Admin\n";

fn small_home() -> Home {
    let home = Home::new();
    home.write(".aws/config", SMALL_CONFIG);
    home
}

/// Runs a bash script (on stdin, never as an argument) in the home's environment.
#[cfg(unix)]
fn bash(home: &Home, script: &str) -> (i32, String, String) {
    shell(home, "bash", &["-s"], script)
}

#[cfg(unix)]
/// Runs `program` with `script` on stdin (see `Home::shell`).
fn shell(home: &Home, program: &str, args: &[&str], script: &str) -> (i32, String, String) {
    home.shell(program, args, script)
}

#[test]
fn status_shows_every_profile_without_network_or_writes() {
    let home = Home::new();
    home.write(".aws/config", format!("{}\n[profile admin]\nrole_arn = arn:aws:iam::444444444444:role/Admin\nsource_profile = dev\n", crate::common::CONFIG));
    assert_eq!(home.run(&["-p", "dev"]).code, 0);
    home.portal.reset_counters();
    let before = home.credentials();
    let run = home.run(&["status"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.portal.request_count(), 0);
    assert_eq!(home.credentials(), before);
    assert!(
        !run.stdout.contains('\x1b'),
        "no colours off a terminal: {run:?}"
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("PROFILE") && lines[0].contains("TOKEN") && lines[0].contains("ENTRY")
    );
    let row = |n: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{n} ")))
            .unwrap_or_else(|| panic!("{n}: {run:?}"))
            .to_string()
    };
    assert!(
        row("dev").contains("sso-session")
            && row("dev").contains("111111111111")
            && row("dev").contains("fresh until"),
        "{run:?}"
    );
    assert!(row("prod").contains("absent"), "{run:?}");
    assert!(
        row("legacy").contains("legacy")
            && row("legacy").contains("missing: ssosync login --profile legacy"),
        "{run:?}"
    );
    assert!(
        row("admin").contains("chained") && row("admin").contains("444444444444"),
        "{run:?}"
    );
    assert!(!run.stdout.contains("plain"));

    let run = home.run(&["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let dev = doc["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["profile"] == "dev")
        .unwrap()
        .clone();
    assert_eq!(dev["entry"]["health"], "ok");
    assert_eq!(dev["token"]["health"], "ok");
    assert!(dev["entry"]["expiration"].as_str().unwrap().ends_with('Z'));
    for s in home.secrets() {
        assert!(!run.all_output().contains(&s));
    }
}

/// A real bash evaluates the default format (Unix: bash is a Unix shell here).
#[cfg(unix)]
#[test]
fn export_is_evaluated_by_bash() {
    let home = small_home();
    let (code, out, err) = bash(
        &home,
        "set -e\neval \"$(ssosync export -p dev)\"\nprintf '%s\\n' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_SESSION_TOKEN\" \"$AWS_CREDENTIAL_EXPIRATION\" \"$AWS_REGION\" \"$AWS_DEFAULT_REGION\"\n",
    );
    assert_eq!(code, 0, "{err}");
    let issued = home.last_issued("111111111111", "Dev");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], issued.access_key_id);
    assert_eq!(lines[1], issued.secret_access_key);
    assert_eq!(lines[2], issued.session_token);
    assert!(lines[3].ends_with('Z'));
    assert_eq!(&lines[4..], ["us-east-1", "us-east-1"]);
}

/// The variables a PowerShell `$Env:K = 'v'` script sets, its `''` undone.
fn powershell_assignments(script: &str) -> Vec<(String, String)> {
    script
        .lines()
        .map(|line| {
            let rest = line.strip_prefix("$Env:").expect(line);
            let (key, value) = rest.split_once(" = ").expect(line);
            let value = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\''));
            (key.to_string(), value.expect(line).replace("''", "'"))
        })
        .collect()
}

#[test]
fn export_writes_by_default_and_reuses_a_fresh_entry() {
    let home = small_home();
    let run = home.run(&["export", "-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    let issued = home.last_issued("111111111111", "Dev");
    // The default format is the platform's shell: PowerShell on Windows, sh elsewhere.
    let first = if cfg!(windows) {
        assert_eq!(
            powershell_assignments(&run.stdout)[0],
            ("AWS_ACCESS_KEY_ID".into(), issued.access_key_id.clone())
        );
        format!("$Env:AWS_ACCESS_KEY_ID = '{}'", issued.access_key_id)
    } else {
        format!("export AWS_ACCESS_KEY_ID='{}'", issued.access_key_id)
    };
    assert_eq!(run.stdout.lines().next(), Some(first.as_str()), "{run:?}");
    assert!(
        home.credentials().contains(&issued.access_key_id),
        "written by default"
    );

    let run = home.run(&["export", "-p", "dev", "--format", "powershell"]);
    assert_eq!(run.code, 0, "{run:?}");
    let vars = powershell_assignments(&run.stdout);
    let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_CREDENTIAL_EXPIRATION",
            "AWS_REGION",
            "AWS_DEFAULT_REGION"
        ]
    );
    assert_eq!(vars[1].1, issued.secret_access_key);
    assert_eq!(vars[2].1, issued.session_token);
    assert!(vars[3].1.ends_with('Z'));

    // Fresh now: a second export makes no request and prints the same keys.
    home.portal.reset_counters();
    let run = home.run(&["export", "-p", "dev", "--format", "dotenv"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.portal.request_count(), 0);
    assert!(
        run.stdout
            .contains(&format!("AWS_ACCESS_KEY_ID={}\n", issued.access_key_id))
    );
    assert!(
        !run.stdout.contains("AWS_REGION=us-east-1\nAWS_REGION"),
        "no duplicates"
    );

    // AWS_PROFILE picks the profile; --no-write leaves the file alone.
    let mut home = small_home();
    home.env("AWS_PROFILE", "prod");
    let run = home.run(&["export", "--no-write", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        doc["AWS_ACCESS_KEY_ID"],
        home.last_issued("222222222222", "Admin").access_key_id
    );
    assert!(doc.get("AWS_REGION").is_none(), "prod has no region");
    assert!(!home.path(".aws/credentials").exists());
}

#[test]
fn version_names_the_commit_and_the_target() {
    let home = small_home();
    let run = home.run(&["--version"]);
    assert_eq!(run.code, 0, "{run:?}");
    let line = run.stdout.trim_end();
    let version = concat!("ssosync ", env!("CARGO_PKG_VERSION"), " (");
    assert!(line.starts_with(version), "{line}");
    let target = format!("{}-", std::env::consts::ARCH);
    // The triple says `darwin` where Rust's OS name says `macos`.
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        os => os,
    };
    assert!(line.contains(&target) && line.contains(os), "{line}");
    // Built from a git checkout (as here and in CI): the commit too.
    let head = std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short=12",
            "HEAD",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match head {
        Some(commit) => assert!(line.contains(&format!("commit {commit}, ")), "{line}"),
        // Under Wine the Linux git cannot be started from the Windows test.
        None if cfg!(windows) => {}
        None => assert!(!line.contains("commit"), "{line}"),
    }
}

/// A real fish (Unix: fish is a Unix shell here).
#[cfg(unix)]
#[test]
fn export_for_fish_is_sourced_by_a_real_fish() {
    let have_fish = std::process::Command::new("fish")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_fish {
        // .ci/run installs fish from Debian's packages; elsewhere the exact text is
        // covered by the export unit tests.
        crate::common::skip(
            "export_for_fish_is_sourced_by_a_real_fish",
            "fish is not installed (apt-get install fish)",
        );
        return;
    }
    let home = small_home();
    let (code, out, err) = shell(
        &home,
        "fish",
        &["--no-config"],
        "ssosync export -p dev --format fish | source\nprintf '%s\\n' $AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN $AWS_REGION\n",
    );
    assert_eq!(code, 0, "{err}");
    let issued = home.last_issued("111111111111", "Dev");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            issued.access_key_id.as_str(),
            &issued.secret_access_key,
            &issued.session_token,
            "us-east-1"
        ]
    );
}

#[test]
fn export_and_process_fail_cleanly() {
    let home = small_home();
    home.cache_session_token("corp", TOKEN, "2020-01-01T00:00:00Z");
    let run = home.run(&["export", "-p", "dev"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.stdout, "", "nothing to eval on failure");
    assert!(run.stderr.contains("aws sso login --sso-session corp"));
    let run = home.run(&["process", "-p", "nosuch"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
}

#[test]
fn process_prints_credential_process_json() {
    let home = small_home();
    let run = home.run(&["process", "-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let issued = home.last_issued("111111111111", "Dev");
    assert_eq!(doc["Version"], 1);
    assert_eq!(doc["AccessKeyId"], issued.access_key_id);
    assert_eq!(doc["SecretAccessKey"], issued.secret_access_key);
    assert_eq!(doc["SessionToken"], issued.session_token);
    let exp = chrono::DateTime::parse_from_rfc3339(doc["Expiration"].as_str().unwrap()).unwrap();
    assert_eq!(exp.timestamp(), issued.expiration_ms / 1000);
}

/// SIGTERM is Unix's; a console Ctrl-C cannot be sent to a child process on
/// Windows without unsafe FFI (the Windows rotation is the test below).
#[cfg(unix)]
#[test]
fn watch_rotates_before_expiry_and_stops_on_sigterm() {
    let home = small_home();
    home.portal.set_credential_ttl(Duration::from_secs(20));
    home.cache_session_token("corp", TOKEN, &in_secs(3600));
    let child = home
        .command(&["watch", "-p", "dev", "--min-ttl", "16s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .start();
    // With 20 s credentials and 16 s of margin, it rotates about every 4 s.
    let start = Instant::now();
    while home.issued_for("111111111111", "Dev").len() < 3
        && start.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let rotations = home.issued_for("111111111111", "Dev").len();
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        rotations >= 3,
        "rotated {rotations} times in 30 s: {stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("dev: rotated, valid until"), "{stderr}");
    assert!(stderr.trim_end().ends_with("stopping"), "{stderr}");
    let last = home.last_issued("111111111111", "Dev");
    assert!(home.credentials().contains(&last.access_key_id));
    let leftovers: Vec<_> = std::fs::read_dir(home.path(".aws"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("ssosync-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    for s in home.secrets() {
        assert!(!stderr.contains(&s), "watch logs no secrets");
    }
}

/// `watch` on Windows rotates the same way; it is ended by TerminateProcess
/// right after a rotation was logged (so never mid-write), as Ctrl-C cannot be
/// sent from here.
#[cfg(windows)]
#[test]
fn watch_rotates_before_expiry() {
    use std::io::BufRead;
    let home = small_home();
    home.portal.set_credential_ttl(Duration::from_secs(20));
    home.cache_session_token("corp", TOKEN, &in_secs(3600));
    let mut child = home
        .command(&["watch", "-p", "dev", "--min-ttl", "16s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .start();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut log = Vec::new();
    while log
        .iter()
        .filter(|l: &&String| l.contains("dev: rotated, valid until"))
        .count()
        < 3
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => log.push(line),
            Err(_) => panic!("fewer than 3 rotations in 40 s: {log:?}"),
        }
    }
    let last = home.last_issued("111111111111", "Dev");
    assert!(home.credentials().contains(&last.access_key_id), "{log:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    for s in home.secrets() {
        assert!(log.iter().all(|l| !l.contains(&s)), "watch logs no secrets");
    }
}

#[test]
fn completions_and_man_page() {
    let home = small_home();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = home.run(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {run:?}");
        assert!(
            run.stdout.contains("ssosync") && run.stdout.contains("export"),
            "{shell}"
        );
    }
    let run = home.run(&["man"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains(".TH ssosync 1"), "{run:?}");
    assert_eq!(home.run(&["completions", "tcsh"]).code, 2);
}

#[test]
fn man_writes_one_page_per_command_into_a_folder() {
    let home = small_home();
    let dir = home.path("share/man/man1");
    let run = home.run(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(run.stdout.lines().count(), files.len(), "{run:?}");
    // Every page the main page points to exists, and is that command's page.
    let main = std::fs::read_to_string(dir.join("ssosync.1")).unwrap();
    let named: Vec<String> = main
        .replace("\\-", "-")
        .split(char::is_whitespace)
        .filter_map(|w| {
            w.strip_prefix("ssosync-")?
                .strip_suffix("(1)")
                .map(str::to_string)
        })
        .collect();
    for command in [
        "sync",
        "status",
        "export",
        "process",
        "hook",
        "watch",
        "login",
        "logout",
        "completions",
        "man",
    ] {
        assert!(
            named.iter().any(|n| n == command),
            "main page names {command}: {named:?}"
        );
    }
    for command in &named {
        let page = std::fs::read_to_string(dir.join(format!("ssosync-{command}.1")))
            .unwrap_or_else(|e| panic!("ssosync-{command}.1: {e}; have {files:?}"));
        assert!(
            page.contains(&format!(".TH ssosync-{command} 1")),
            "{command}"
        );
    }
    assert_eq!(files.len(), named.len() + 1, "{files:?}");
    // Without --dir: the main page on stdout, as before.
    let run = home.run(&["man"]);
    assert_eq!(run.stdout, main);
}

#[test]
fn help_texts_say_what_each_command_does_with_its_options() {
    let home = small_home();
    let export = home.run(&["export", "--help"]).stdout;
    assert!(export.contains("`set \"AWS_…=…\"` for cmd.exe"), "{export}");
    let logout = home.run(&["logout", "--help"]).stdout;
    assert!(logout.contains("sign out of its sso-session"), "{logout}");
    assert!(
        !logout.contains("then sync"),
        "logout syncs nothing: {logout}"
    );
    let login = home.run(&["login", "--help"]).stdout;
    assert!(login.contains("then sync only this profile"), "{login}");
}

// Stopped with SIGTERM (`kill`): Unix. Ctrl-C on Windows is not something Wine can send.
#[cfg(unix)]
#[test]
fn watch_never_rotates_faster_than_the_lifetime_allows() {
    // 8-second credentials and `--min-ttl 2h`: rotating whenever an entry is
    // within --min-ttl of expiry would mean every second. The margin falls back
    // to a quarter of the lifetime (2 s): one rotation about every 6 s.
    let home = small_home();
    home.portal.set_credential_ttl(Duration::from_secs(8));
    let child = home
        .command(&["watch", "-p", "dev", "-p", "prod", "--min-ttl", "2h"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .start();
    std::thread::sleep(Duration::from_secs(10));
    let rotations = home.issued_for("111111111111", "Dev").len();
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        (1..=3).contains(&rotations),
        "{rotations} rotations of dev in 10 s: {stderr}"
    );
    assert_eq!(
        stderr.matches("is not shorter than the lifetime").count(),
        1,
        "said once: {stderr}"
    );
}

// A terminal made by util-linux `script`: Unix.
#[cfg(unix)]
#[test]
fn results_and_errors_are_coloured_on_a_terminal_only() {
    let home = Home::new();
    let args = ["-p", "dev", "-p", "legacy"];
    let Some(run) = home.run_on_terminal(&args, &[]) else {
        crate::common::skip(
            "results_and_errors_are_coloured_on_a_terminal_only",
            "`script` (util-linux) is not installed",
        );
        return;
    };
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("\x1b[32mwritten\x1b[0m"), "{run:?}");
    assert!(
        run.stdout
            .contains("\x1b[31mprofile legacy:\x1b[0m no SSO token"),
        "{run:?}"
    );
    let status = home.run_on_terminal(&["status"], &[]).unwrap();
    assert!(status.stdout.contains("\x1b[32mfresh until"), "{status:?}");
    // NO_COLOR (set to anything but the empty string, as no-color.org says), or
    // not a terminal: no colour at all.
    for env in [&[("NO_COLOR", "1")][..], &[("NO_COLOR", "anything")]] {
        for args in [&args[..], &["status"]] {
            let run = home.run_on_terminal(args, env).unwrap();
            assert!(run.stdout.contains("dev"), "{run:?}");
            assert!(!run.stdout.contains('\x1b'), "{env:?} {args:?}: {run:?}");
        }
    }
    let run = home.run(&args);
    assert!(!run.all_output().contains('\x1b'), "{run:?}");
}

#[test]
fn one_line_per_sign_in_that_needs_a_login() {
    let home = Home::new();
    home.write(".aws/config", format!("{}\n[profile admin]\nrole_arn = arn:aws:iam::444444444444:role/Admin\nsource_profile = dev\n", crate::common::CONFIG));
    home.cache_session_token("corp", TOKEN, "2020-01-01T00:00:00Z");
    let run = home.run(&[]);
    assert_eq!(run.code, 3, "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "one line per sign-in: {run:?}");
    assert_eq!(
        lines[0],
        "ssosync: profiles admin, dev, prod: the SSO token expired at 2020-01-01T00:00:00Z; run `ssosync login --sso-session corp` (or `aws sso login --sso-session corp`)"
    );
    assert!(
        lines[1].starts_with("ssosync: profile legacy: no SSO token cached"),
        "{run:?}"
    );
    // The JSON report still has one entry per profile, each with its message.
    let run = home.run(&["--json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let admin = doc["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["profile"] == "admin")
        .unwrap()
        .clone();
    assert!(
        admin["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("source profile dev: the SSO token expired"),
        "{doc}"
    );
}

// Its last event is `stopped`, after SIGTERM: Unix (see above).
#[cfg(unix)]
#[test]
fn watch_json_prints_one_flushed_json_line_per_event() {
    use std::io::BufRead;
    let home = small_home();
    home.portal.set_credential_ttl(Duration::from_secs(6));
    let mut child = home
        .command(&["watch", "-p", "dev", "--min-ttl", "3s", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .start();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    // Lines arrive while it runs (each is flushed): two rotations within 10 s.
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while lines
        .iter()
        .filter(|l: &&String| l.contains("\"rotated\""))
        .count()
        < 2
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => panic!("no second rotation in 10 s: {lines:?}"),
        }
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    lines.extend(rx.iter());
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"stopped"), "{kinds:?}");
    let rotated: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "rotated").collect();
    let issued = home.issued_for("111111111111", "Dev");
    assert_eq!(rotated.len(), issued.len(), "{kinds:?}");
    for e in &rotated {
        assert_eq!(
            (e["profile"].as_str(), e["target"].as_str()),
            (Some("dev"), Some("dev"))
        );
        assert!(e["expiration"].as_str().unwrap().ends_with('Z'));
        assert!(e["time"].as_str().unwrap().ends_with('Z'));
    }
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for s in home.secrets() {
        assert!(!lines.concat().contains(&s));
    }
}

// Stopped with SIGTERM (`kill`): Unix.
#[cfg(unix)]
#[test]
fn watch_quiet_says_only_what_fails() {
    let home = Home::new();
    home.portal.set_credential_ttl(Duration::from_secs(6));
    let child = home
        .command(&[
            "watch",
            "-q",
            "-p",
            "dev",
            "-p",
            "legacy",
            "--min-ttl",
            "3s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .start();
    let start = Instant::now();
    while home.issued_for("111111111111", "Dev").len() < 2
        && start.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        home.issued_for("111111111111", "Dev").len() >= 2,
        "{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("profile legacy: no SSO token cached")
            && lines[0].ends_with("(waiting for a login)"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn status_selects_profiles_and_shows_renamed_entries_with_utc_times() {
    let home = Home::new();
    for args in [&["-p", "dev"][..], &["-p", "dev:default"], &["-p", "prod"]] {
        assert_eq!(home.run(args).code, 0);
    }
    let run = home.run(&["status", "-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    let rows: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{run:?}");
    assert!(
        rows[0].starts_with("dev ") && rows[0].contains("fresh until"),
        "{run:?}"
    );
    assert!(
        rows[1].starts_with("dev → [default] ") && rows[1].contains("fresh until"),
        "{run:?}"
    );
    let run = home.run(&["status", "-p", "pr*", "-p", "legacy"]);
    let names: Vec<&str> = run
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split("  ").next().unwrap())
        .collect();
    assert_eq!(names, ["legacy", "prod"], "{run:?}");
    let run = home.run(&["status", "-p", "nosuch"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("no SSO profile matches `nosuch`"),
        "{run:?}"
    );

    let run = home.run(&["status", "--json", "-p", "dev"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let rows = doc["profiles"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{doc}");
    let issued = home.issued_for("111111111111", "Dev");
    let utc = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    for (row, issued) in rows.iter().zip([&issued[0], &issued[1]]) {
        assert_eq!(row["profile"], "dev");
        assert_eq!(
            row["entry"]["expiration"],
            utc(issued.expiration_ms),
            "{doc}"
        );
        assert!(
            row["entry"]["state"]
                .as_str()
                .unwrap()
                .starts_with("fresh until")
        );
        let token = row["token"]["expiration"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(token).is_ok() && token.ends_with('Z'),
            "{doc}"
        );
        assert!(
            row["token"]["state"]
                .as_str()
                .unwrap()
                .starts_with("valid until")
        );
    }
    assert_eq!(
        (rows[0]["target"].as_str(), rows[1]["target"].as_str()),
        (Some("dev"), Some("default"))
    );
}

#[test]
fn a_reader_that_stops_early_is_no_crash() {
    // stdout is a pipe whose reader is gone (`| head` after its first line):
    // every write fails with EPIPE, which must end the run quietly, not panic.
    let home = small_home();
    let dir = home.path("man");
    for args in [
        &["completions", "bash"][..],
        &["completions", "zsh"],
        &["completions", "fish"],
        &["man"],
        &["man", "--dir", dir.to_str().unwrap()],
        &["__complete", "profiles"],
        &["status", "--json"],
        &["--json"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = home
            .command(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
    // The pages were written all the same.
    assert!(dir.join("ssosync-login.1").exists());
}
