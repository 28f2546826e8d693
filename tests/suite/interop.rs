//! Interop: botocore and the AWS CLI v1, installed from PyPI into a venv that
//! the test makes itself (`<target>/interop-venv`, once per target folder,
//! under a file lock so parallel tests and test processes do not race), read
//! exactly what ssosync writes. No package installed by hand is used; if pip
//! cannot install the pinned versions, the test fails.
//!
//! Secrets go to Python in files and the environment, never on a command line.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Home, Run};

/// The AWS CLI v1 release and the botocore it pins (`awscli` requires exactly
/// this one); tree-sitter and its PowerShell grammar, which parse the PowerShell
/// that `hook` and `export` print (no PowerShell is packaged here).
const PINS: [&str; 4] = [
    "awscli==1.45.11",
    "botocore==1.43.11",
    "tree-sitter==0.25.2",
    "tree-sitter-powershell==0.26.4",
];

fn venv() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("interop-venv")
}

/// The venv's bin folder, creating the venv and installing the pins if needed.
pub(crate) fn python_tools() -> PathBuf {
    let dir = venv();
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let lock = File::create(dir.with_extension("lock")).unwrap();
    lock.lock().unwrap();
    let marker = dir.join("ssosync-pins.txt");
    let wanted = PINS.join("\n");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let _ = std::fs::remove_dir_all(&dir);
        let python = std::env::var("SSOSYNC_PYTHON").unwrap_or_else(|_| "python3".into());
        let out = Command::new(&python)
            .args(["-m", "venv"])
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {python} to make the interop venv: {e}"));
        assert!(
            out.status.success(),
            "python3 -m venv failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new(dir.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
            ])
            .args(PINS)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pip could not install {PINS:?} (is PyPI reachable?):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&marker, &wanted).unwrap();
    }
    dir.join("bin")
}

/// A Python or `aws` process that sees only the credentials file.
fn aws_env(cmd: &mut Command, home: &Home) {
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.dir.path())
        .env("AWS_SHARED_CREDENTIALS_FILE", home.path(".aws/credentials"))
        // Only the credentials file: the config must not add or override keys.
        .env("AWS_CONFIG_FILE", home.path("no-such-config"))
        // Never ask an instance metadata service (there is none; do not probe).
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
}

fn output(mut cmd: Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// botocore's view: every section as its loader parses it, and the credentials a
/// session resolves for each profile in `profiles` (from the file, by botocore).
const BOTOCORE_VIEW: &str = r#"
import json, os, sys
import botocore.session
from botocore import configloader
path = os.environ["AWS_SHARED_CREDENTIALS_FILE"]
out = {"sections": None, "resolved": {}, "error": None}
try:
    out["sections"] = configloader.raw_config_parse(path)
except Exception as e:
    out["error"] = type(e).__name__
for profile in json.load(open(os.environ["PROFILES_FILE"])):
    try:
        creds = botocore.session.Session(profile=profile).get_credentials()
        frozen = creds.get_frozen_credentials() if creds else None
        out["resolved"][profile] = None if frozen is None else {
            "aws_access_key_id": frozen.access_key,
            "aws_secret_access_key": frozen.secret_key,
            "aws_session_token": frozen.token,
            "method": creds.method,
        }
    except Exception as e:
        out["resolved"][profile] = {"error": type(e).__name__}
json.dump(out, open(os.environ["OUT_FILE"], "w"))
"#;

fn botocore_view(bin: &Path, home: &Home, profiles: &[&str]) -> serde_json::Value {
    home.write(
        "interop-profiles.json",
        serde_json::to_string(profiles).unwrap(),
    );
    let mut cmd = Command::new(bin.join("python"));
    cmd.args(["-c", BOTOCORE_VIEW]);
    aws_env(&mut cmd, home);
    cmd.env("PROFILES_FILE", home.path("interop-profiles.json"))
        .env("OUT_FILE", home.path("interop-out.json"));
    let run = output(cmd);
    assert_eq!(run.code, 0, "botocore script failed: {run:?}");
    serde_json::from_str(&home.read("interop-out.json")).unwrap()
}

/// The keys ssosync wrote for `profile`, by the portal's record.
fn issued(home: &Home, account: &str, role: &str) -> serde_json::Value {
    let c = home.last_issued(account, role);
    serde_json::json!({
        "aws_access_key_id": c.access_key_id,
        "aws_secret_access_key": c.secret_access_key,
        "aws_session_token": c.session_token,
        "method": "shared-credentials-file",
    })
}

#[test]
fn botocore_and_the_aws_cli_read_exactly_the_keys_we_wrote() {
    let bin = python_tools();
    let home = Home::new();
    home.enable_legacy();
    home.write(
        ".aws/credentials",
        "# mine\n[personal]\naws_access_key_id = AKIAPERSONAL00000001\naws_secret_access_key = personal-secret\n",
    );
    let run = home.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");

    let view = botocore_view(&bin, &home, &["dev", "prod", "legacy", "personal"]);
    assert_eq!(view["error"], serde_json::Value::Null, "{view}");
    let resolved = &view["resolved"];
    assert_eq!(resolved["dev"], issued(&home, "111111111111", "Dev"));
    assert_eq!(resolved["prod"], issued(&home, "222222222222", "Admin"));
    assert_eq!(resolved["legacy"], issued(&home, "333333333333", "Ops"));
    assert_eq!(
        resolved["personal"]["aws_access_key_id"],
        "AKIAPERSONAL00000001"
    );
    assert_eq!(
        resolved["personal"]["aws_secret_access_key"],
        "personal-secret"
    );

    // The AWS CLI v1 (its own entry point, on botocore).
    let dev = home.last_issued("111111111111", "Dev");
    let aws = |args: &[&str]| {
        let mut cmd = Command::new(bin.join("aws"));
        cmd.args(args);
        aws_env(&mut cmd, &home);
        output(cmd)
    };
    for (key, want) in [
        ("aws_access_key_id", &dev.access_key_id),
        ("aws_secret_access_key", &dev.secret_access_key),
        ("aws_session_token", &dev.session_token),
        ("aws_security_token", &dev.session_token),
    ] {
        let run = aws(&["configure", "get", key, "--profile", "dev"]);
        assert_eq!(run.code, 0, "{key}: {run:?}");
        assert_eq!(
            run.stdout.trim_end(),
            want.as_str(),
            "aws configure get {key}"
        );
    }
    let run = aws(&["configure", "list", "--profile", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    let key_line = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("access_key"))
        .unwrap_or_else(|| panic!("{run:?}"));
    let tail = &dev.access_key_id[dev.access_key_id.len() - 4..];
    assert!(
        key_line.contains(&format!("****************{tail}"))
            && key_line.contains("shared-credentials-file"),
        "{run:?}"
    );
    assert!(!run.stdout.contains(&dev.secret_access_key), "{run:?}");
}

/// Each byte-for-byte format fixture: if botocore could read the file before the
/// sync, it reads it after, every section it saw is unchanged except the two
/// synced ones, and it resolves those to exactly the issued keys.
fn botocore_before_and_after(bin: &Path, name: &str, before: &[u8]) -> Result<(), String> {
    let home = Home::new();
    if !before.is_empty() {
        home.write(".aws/credentials", before);
    }
    let old = botocore_view(bin, &home, &[]);
    let run = home.run(&["-p", "dev", "-p", "prod", "--force"]);
    assert_eq!(run.code, 0, "{name}: {run:?}");
    let new = botocore_view(bin, &home, &["dev", "prod"]);
    if !old["error"].is_null() && !before.is_empty() {
        eprintln!(
            "interop: {name}: botocore cannot read it before the sync either ({}); skipped",
            old["error"]
        );
        return Ok(());
    }
    if !new["error"].is_null() {
        return Err(format!(
            "{name}: botocore cannot read the result: {}",
            new["error"]
        ));
    }
    if let Some(sections) = old["sections"].as_object() {
        for (section, values) in sections {
            // `[ dev ]` is another profile for botocore but the same one for the Rust
            // SDK, which merges it into `dev` in no set order: ssosync clears its own
            // keys there so every SDK reads one value. Everything else must be as it was.
            let synced = ["dev", "prod"].contains(&section.trim());
            if !synced && new["sections"][section] != *values {
                return Err(format!("{name}: [{section}] changed for botocore"));
            }
        }
    }
    for (profile, account, role) in [
        ("dev", "111111111111", "Dev"),
        ("prod", "222222222222", "Admin"),
    ] {
        let want = issued(&home, account, role);
        if new["resolved"][profile] != want {
            let got = &new["resolved"][profile];
            let field = [
                "aws_access_key_id",
                "aws_secret_access_key",
                "aws_session_token",
            ]
            .into_iter()
            .find(|k| got[k] != want[k])
            .unwrap_or("method");
            return Err(format!(
                "{name}: botocore reads a different {field} for [{profile}] than ssosync wrote (got {:?})",
                got[field].as_str().map(|s| s
                    .chars()
                    .rev()
                    .take(24)
                    .collect::<String>()
                    .chars()
                    .rev()
                    .collect::<String>())
            ));
        }
    }
    Ok(())
}

fn format_fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/format");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("before"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn botocore_reads_every_format_fixture_after_a_sync() {
    let bin = python_tools();
    let fixtures = format_fixtures();
    let checked = fixtures.len();
    // Each fixture mostly waits on Python starting up: check them side by side.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = fixtures
            .iter()
            .map(|(name, before)| scope.spawn(|| botocore_before_and_after(&bin, name, before)))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap().err())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 6, "only {checked} fixtures checked");
}
