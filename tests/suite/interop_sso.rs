//! botocore (from PyPI, in the venv the interop tests make) uses what ssosync
//! leaves in the SSO token cache and what `ssosync process` prints, against the
//! same fake endpoints. botocore gets the config file and no credentials file, so
//! it must resolve through SSO or credential_process itself.

use std::process::Command;

use crate::common::{CONFIG, Home, in_secs, sha1_hex};
use crate::suite::interop::python_tools;

const RESOLVE: &str = r#"
import json, os
import botocore.session
out = {}
for profile in json.load(open(os.environ["PROFILES_FILE"])):
    try:
        creds = botocore.session.Session(profile=profile).get_credentials()
        frozen = creds.get_frozen_credentials()
        out[profile] = {"access_key": frozen.access_key, "secret_key": frozen.secret_key,
                        "token": frozen.token, "method": creds.method}
    except Exception as e:
        out[profile] = {"error": type(e).__name__}
json.dump(out, open(os.environ["OUT_FILE"], "w"))
"#;

/// What botocore resolves for each profile, with only the config file and the
/// fake endpoints (secrets travel in files, never as arguments).
fn botocore_resolves(home: &Home, profiles: &[&str]) -> serde_json::Value {
    let bin = python_tools();
    home.write(
        "resolve-profiles.json",
        serde_json::to_string(profiles).unwrap(),
    );
    let ssosync_dir = std::path::Path::new(env!("CARGO_BIN_EXE_ssosync"))
        .parent()
        .unwrap()
        .display()
        .to_string();
    let out = Command::new(bin.join("python"))
        .args(["-c", RESOLVE])
        .env_clear()
        .env("PATH", format!("{ssosync_dir}:/usr/bin:/bin"))
        .env("HOME", home.dir.path())
        .env("AWS_CONFIG_FILE", home.path(".aws/config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path("no-such-credentials"),
        )
        .env("AWS_ENDPOINT_URL_SSO", home.portal.url())
        .env("AWS_ENDPOINT_URL_SSO_OIDC", home.portal.url())
        .env("AWS_ENDPOINT_URL_STS", home.portal.url())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PROFILES_FILE", home.path("resolve-profiles.json"))
        .env("OUT_FILE", home.path("resolve-out.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "botocore script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&home.read("resolve-out.json")).unwrap()
}

fn cached_token(home: &Home) -> String {
    let text = home.read(&format!(".aws/sso/cache/{}.json", sha1_hex("corp")));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["accessToken"].as_str().unwrap().to_string()
}

#[test]
fn botocore_uses_the_token_ssosync_refreshed() {
    let home = Home::new();
    crate::suite::refresh::cache_refreshable(&home, "2020-01-01T00:00:00Z", &in_secs(86_400));
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    let token = cached_token(&home);
    home.portal.reset_counters();
    let resolved = botocore_resolves(&home, &["dev", "prod"]);
    for profile in ["dev", "prod"] {
        assert_eq!(resolved[profile]["method"], "sso", "{resolved}");
    }
    assert_eq!(
        home.portal.count_grant("refresh_token"),
        0,
        "botocore found the token fresh"
    );
    let calls: Vec<_> = home
        .portal
        .requests()
        .into_iter()
        .filter(|r| r.path == "/federation/credentials")
        .collect();
    assert_eq!(calls.len(), 2);
    for r in calls {
        assert_eq!(r.header("x-amz-sso_bearer_token"), Some(token.as_str()));
    }
    let dev = home.last_issued("111111111111", "Dev");
    assert_eq!(resolved["dev"]["access_key"], dev.access_key_id);
}

#[test]
fn botocore_uses_ssosync_as_its_credential_process() {
    let home = Home::new();
    home.write(
        ".aws/config",
        format!("{CONFIG}\n[profile viaproc]\ncredential_process = ssosync process -p dev\n"),
    );
    let resolved = botocore_resolves(&home, &["viaproc"]);
    assert_eq!(
        resolved["viaproc"]["method"], "custom-process",
        "{resolved}"
    );
    let dev = home.last_issued("111111111111", "Dev");
    assert_eq!(resolved["viaproc"]["access_key"], dev.access_key_id);
    assert_eq!(resolved["viaproc"]["secret_key"], dev.secret_access_key);
    assert_eq!(resolved["viaproc"]["token"], dev.session_token);
    // The fetch was written too: the next process call reuses it without the network.
    home.portal.reset_counters();
    let again = botocore_resolves(&home, &["viaproc"]);
    assert_eq!(again["viaproc"]["access_key"], dev.access_key_id);
    assert_eq!(home.portal.request_count(), 0);
}

#[test]
fn botocore_uses_the_token_ssosync_login_wrote() {
    let home = Home::bare();
    home.write(".aws/config", CONFIG);
    home.portal.grant("111111111111", "Dev");
    home.portal.grant("222222222222", "Admin");
    home.portal.set_pending_polls(0);
    let run = home.run(&[
        "login",
        "--sso-session",
        "corp",
        "--use-device-code",
        "--no-browser",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let token = cached_token(&home);
    home.portal.reset_counters();
    let resolved = botocore_resolves(&home, &["dev"]);
    assert_eq!(resolved["dev"]["method"], "sso", "{resolved}");
    let r = home
        .portal
        .requests()
        .into_iter()
        .find(|r| r.path == "/federation/credentials")
        .unwrap();
    assert_eq!(r.header("x-amz-sso_bearer_token"), Some(token.as_str()));
}
