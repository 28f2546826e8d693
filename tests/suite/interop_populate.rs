//! Interop for `populate`: the AWS CLI v1 and botocore (from the venv the interop
//! tests make, see `interop.rs`) see every profile populate wrote, with its
//! values, in a config that also holds the user's own profiles. (The CLI v1 has
//! no `configure list-profiles`; the list comes from botocore's
//! `available_profiles`, which is what the CLI v2's command prints.)

use std::process::Command;

use crate::common::{Home, Run, TOKEN, in_secs};
use crate::suite::interop::python_tools;

/// Accounts with names that need normalising, and a duplicate.
const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("111111111111", "Prod EU", "Admin"),
    ("111111111111", "Prod EU", "ReadOnly"),
    ("222222222222", "sandbox", "Dev"),
    ("444444444444", "sandbox", "Dev"),
    ("555555555555", "Zürich Dév (old)", "Power.User+1"),
    ("666666666666", "開発", "Admin"),
];

fn aws(bin: &std::path::Path, home: &Home, args: &[&str]) -> Run {
    let out = Command::new(bin.join("aws"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.dir.path())
        .env("AWS_CONFIG_FILE", home.path(".aws/config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path("no-such-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    Run::from(out)
}

/// What a Python snippet prints, run by the venv's botocore on the home's config.
fn botocore(bin: &std::path::Path, home: &Home, code: &str) -> String {
    let out = Command::new(bin.join("python"))
        .args(["-c", code])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.dir.path())
        .env("AWS_CONFIG_FILE", home.path(".aws/config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path("no-such-credentials"),
        )
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 0, "{run:?}");
    run.stdout
}

#[test]
fn the_aws_cli_and_botocore_see_every_populated_profile() {
    let bin = python_tools();
    let home = Home::bare();
    home.write(
        ".aws/config",
        "# mine\n[default]\nregion = us-east-1\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\n[profile hand]\nregion = eu-north-1\n",
    );
    home.portal.add_token(TOKEN);
    home.cache_session_token("corp", TOKEN, &in_secs(3600));
    for (id, name, role) in ACCOUNTS {
        home.portal
            .set_account(id, name, &format!("{id}@example.com"));
        home.portal.grant(id, role);
    }
    let run = home.run(&["populate", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let written: Vec<(String, String, String)> = doc["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["account_id"].as_str().unwrap().to_string(),
                p["role_name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(written.len(), ACCOUNTS.len());

    let listed = botocore(
        &bin,
        &home,
        "import botocore.session; print('\\n'.join(botocore.session.Session().available_profiles))",
    );
    let listed: Vec<&str> = listed.lines().collect();
    for (name, account, role) in &written {
        assert!(listed.contains(&name.as_str()), "{name} not in {listed:?}");
        let get = |key: &str| {
            let run = aws(&bin, &home, &["configure", "get", key, "--profile", name]);
            assert_eq!(run.code, 0, "{name} {key}: {run:?}");
            run.stdout.trim_end().to_string()
        };
        assert_eq!(get("sso_account_id"), *account, "{name}");
        assert_eq!(get("sso_role_name"), *role, "{name}");
        assert_eq!(get("sso_session"), "corp", "{name}");
        assert_eq!(get("region"), "eu-west-1", "{name}");
    }
    for mine in ["default", "hand"] {
        assert!(listed.contains(&mine), "{mine}: {listed:?}");
    }

    // botocore's own loader: the profiles and their SSO settings.
    let profiles = botocore(
        &bin,
        &home,
        "import json, botocore.session; print(json.dumps(botocore.session.Session().full_config['profiles']))",
    );
    let profiles: serde_json::Value = serde_json::from_str(profiles.trim()).unwrap();
    for (name, account, role) in &written {
        let p = &profiles[name.as_str()];
        assert_eq!(p["sso_account_id"], account.as_str(), "{name}: {p}");
        assert_eq!(p["sso_role_name"], role.as_str(), "{name}: {p}");
        assert_eq!(p["ssosync_populated_from"], "corp", "{name}: {p}");
    }
    assert_eq!(profiles["hand"]["region"], "eu-north-1");
}

#[test]
fn an_aws_configure_set_during_populate_is_kept() {
    let bin = python_tools();
    let home = Home::bare();
    let config = "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\n[profile hand]\nregion = eu-north-1\n";
    home.write(".aws/config", config);
    home.portal.add_token(TOKEN);
    home.cache_session_token("corp", TOKEN, &in_secs(3600));
    for a in 0..20 {
        home.portal
            .grant(&format!("{:012}", 500_000_000_000u64 + a), "Dev");
    }
    // One request at a time, 150 ms each: the listing takes about 3 s.
    home.portal
        .set_latency(std::time::Duration::from_millis(150));
    let child = home
        .command(&["populate", "--concurrency", "1", "-q"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // botocore rewrites the whole file, without a lock, while populate lists.
    let set = aws(
        &bin,
        &home,
        &["configure", "set", "output", "text", "--profile", "hand"],
    );
    assert_eq!(set.code, 0, "{set:?}");
    assert!(home.read(".aws/config").contains("output = text"));
    let run = Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.code, 0, "{run:?}");
    let after = home.read(".aws/config");
    assert!(
        after.contains("[profile hand]\nregion = eu-north-1\noutput = text\n"),
        "{after}"
    );
    assert_eq!(
        after.matches("ssosync_populated_from = corp").count(),
        20,
        "{after}"
    );
}
