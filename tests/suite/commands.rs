//! The everyday commands: status, export, process, hook, watch, completions, man.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Home, TOKEN, in_secs};

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

/// Runs `program` with `script` on stdin, with the home's environment and the
/// ssosync under test first on PATH.
#[cfg(unix)]
fn shell(home: &Home, program: &str, args: &[&str], script: &str) -> (i32, String, String) {
    use std::io::Write;
    let cmd = home.command(&[]);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_ssosync"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = std::process::Command::new(program)
        .args(args)
        .env_clear()
        .envs(
            cmd.get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        )
        .env("PATH", path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
            && row("legacy").contains("missing: aws sso login --profile legacy"),
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
    assert!(
        line.contains(&target) && line.contains(std::env::consts::OS),
        "{line}"
    );
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
        assert!(
            std::env::var_os("CI").is_none(),
            "fish is missing on CI: .ci/run should install it"
        );
        eprintln!("skipped: fish is not installed");
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

/// A real bash (Unix: bash is a Unix shell here).
#[cfg(unix)]
#[test]
fn the_bash_hook_syncs_at_most_once_per_interval() {
    let home = small_home();
    let (code, _, err) = bash(
        &home,
        "eval \"$(ssosync hook bash --interval 3600)\"\n\
         case \"$PROMPT_COMMAND\" in *__ssosync_hook*) ;; *) echo 'not installed' >&2; exit 9;; esac\n\
         __ssosync_hook\n\
         rm -f ~/.aws/credentials\n\
         __ssosync_hook\n\
         test ! -e ~/.aws/credentials || { echo 'ran twice' >&2; exit 8; }\n\
         __SSOSYNC_LAST=0\n\
         __ssosync_hook\n\
         test -e ~/.aws/credentials || { echo 'did not run' >&2; exit 7; }\n",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        home.portal.count_path("/federation/credentials"),
        4,
        "two syncs of two profiles"
    );
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
        .spawn()
        .unwrap();
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
        .spawn()
        .unwrap();
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
