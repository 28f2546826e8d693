//! Selection, tokens, portal calls, rotation and output.

use crate::common::{CONFIG, Home, REGION, START_URL, TOKEN, in_secs, sdk_profiles, sha1_hex};

#[test]
fn syncs_every_sso_profile_and_the_sdk_reads_them() {
    let home = Home::new();
    home.cache_legacy_token(
        "https://legacy.awsapps.com/start",
        "us-east-2",
        "tok-legacy",
        &in_secs(3600),
    );
    home.portal.add_token("tok-legacy");
    home.write(".aws/credentials", "# mine\n[personal]\naws_access_key_id = AKIAKEEP\naws_secret_access_key = keep\nnote = untouched\n");
    let run = home.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    for name in ["dev", "prod", "legacy"] {
        assert!(run.stdout.contains(name), "{run:?}");
    }
    assert!(
        !run.stdout.contains("plain"),
        "non-SSO profiles are ignored: {run:?}"
    );

    let sdk = sdk_profiles(None, &home.path(".aws/credentials"));
    for (profile, account, role) in [
        ("dev", "111111111111", "Dev"),
        ("prod", "222222222222", "Admin"),
        ("legacy", "333333333333", "Ops"),
    ] {
        let issued = home.last_issued(account, role);
        let p = &sdk[profile];
        assert_eq!(p["aws_access_key_id"], issued.access_key_id);
        assert_eq!(p["aws_secret_access_key"], issued.secret_access_key);
        assert_eq!(p["aws_session_token"], issued.session_token);
        assert_eq!(p["aws_security_token"], issued.session_token);
        assert!(p["aws_credential_expiration"].ends_with('Z'));
    }
    assert_eq!(sdk["personal"]["aws_access_key_id"], "AKIAKEEP");
    assert_eq!(sdk["personal"]["note"], "untouched");

    // The real wire protocol: path, query and bearer header per profile.
    let reqs = home.portal.requests();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/federation/credentials");
        let want = if r.query_param("account_id") == Some("333333333333") {
            "tok-legacy"
        } else {
            TOKEN
        };
        assert_eq!(r.header("x-amz-sso_bearer_token"), Some(want));
    }
}

#[test]
fn renames_with_src_colon_dst_and_selects_globs() {
    let home = Home::new();
    let run = home.run(&["--profile", "dev:default"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("dev → default"), "{run:?}");
    let creds = home.credentials();
    assert_eq!(creds.lines().next(), Some("[default]"), "{creds}");
    assert!(!creds.contains("[dev]"));
    assert!(!creds.contains("[profile"));

    let home = Home::new();
    let run = home.run(&["-p", "d*", "-p", "pro?"]);
    assert_eq!(run.code, 0, "{run:?}");
    let sdk = sdk_profiles(None, &home.path(".aws/credentials"));
    let mut names: Vec<_> = sdk.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["dev", "prod"]);
}

#[test]
fn usage_errors_exit_2_and_write_nothing() {
    let home = Home::new();
    for args in [
        &["-p", "dev:x", "-p", "prod:x"][..],
        &["-p", "nosuch"],
        &["-p", "zz*"],
        &["-p", "d*:x"],
        &["-p", "dev:profile x"],
        &["--min-ttl", "soon"],
        &["--bogus"],
    ] {
        let run = home.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(!run.stderr.trim().is_empty());
    }
    assert!(!home.path(".aws/credentials").exists());
    assert_eq!(home.portal.request_count(), 0);
    let run = home.run(&["-p", "nosuch"]);
    assert!(run.stderr.contains("`nosuch`"), "{run:?}");
}

#[test]
fn misconfigured_and_non_sso_profiles_are_reported_and_others_sync() {
    let home = Home::new();
    home.cache_legacy_token(
        "https://legacy.awsapps.com/start",
        "us-east-2",
        "tok-legacy",
        &in_secs(3600),
    );
    home.portal.add_token("tok-legacy");
    home.write(
        ".aws/config",
        format!("{CONFIG}\n[profile broken]\nsso_session = nope\nsso_account_id = 1\nsso_role_name = R\n[profile half]\nsso_session = corp\nsso_account_id = 1\n"),
    );
    let run = home.run(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("profile broken: sso_session `nope` is not defined"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("profile half: sso_account_id is set but sso_role_name is missing"),
        "{run:?}"
    );
    let sdk = sdk_profiles(None, &home.path(".aws/credentials"));
    assert!(sdk.contains_key("dev") && sdk.contains_key("prod"));

    let run = home.run(&["-p", "plain"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("profile plain: has no SSO settings"),
        "{run:?}"
    );
}

#[test]
fn a_missing_or_expired_token_stops_only_its_profiles_with_the_login_command() {
    let home = Home::new();
    // No token for the legacy profile at all.
    let run = home.run(&[]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("profile legacy: no SSO token cached for https://legacy.awsapps.com/start; run `ssosync login --profile legacy` (or `aws sso login --profile legacy`)"), "{run:?}");
    assert!(home.credentials().contains("[dev]"));

    // An expired session token, in the old CLI's `UTC` spelling.
    let home = Home::new();
    home.cache_session_token("corp", TOKEN, "2021-12-11T07:18:18UTC");
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .contains("expired at 2021-12-11T07:18:18Z; run `ssosync login --sso-session corp` (or `aws sso login --sso-session corp`)"),
        "{run:?}"
    );
    assert_eq!(home.portal.request_count(), 0);
    assert!(!home.path(".aws/credentials").exists());
}

#[test]
fn every_expiry_spelling_is_understood() {
    for spelling in [
        in_secs(3600),
        (chrono::Utc::now() + chrono::Duration::hours(1))
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
        (chrono::Utc::now() + chrono::Duration::hours(1))
            .format("%Y-%m-%dT%H:%M:%SUTC")
            .to_string(),
        (chrono::Utc::now() + chrono::Duration::hours(1))
            .format("%Y-%m-%dT%H:%M:%S+00:00")
            .to_string(),
        (chrono::Utc::now() + chrono::Duration::hours(1))
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string(),
    ] {
        let home = Home::new();
        home.cache_session_token("corp", TOKEN, &spelling);
        let run = home.run(&["-p", "dev"]);
        assert_eq!(run.code, 0, "{spelling}: {run:?}");
    }
}

#[test]
fn finds_a_token_by_scanning_when_the_sha1_file_is_absent() {
    let home = Home::new();
    std::fs::remove_file(home.path(&format!(".aws/sso/cache/{}.json", sha1_hex("corp")))).unwrap();
    // Registration-only, corrupt, an older token and a newer one for the same start URL.
    home.write(
        ".aws/sso/cache/botocore-client-id-eu-west-1.json",
        r#"{"clientId":"c","clientSecret":"s","expiresAt":"2099-01-01T00:00:00Z"}"#,
    );
    home.write(".aws/sso/cache/corrupt.json", "{not json");
    home.write(".aws/sso/cache/old.json", serde_json::json!({"startUrl": START_URL, "region": REGION, "accessToken": "tok-old", "expiresAt": in_secs(600)}).to_string());
    home.write(".aws/sso/cache/new.json", serde_json::json!({"startUrl": START_URL, "region": REGION, "accessToken": TOKEN, "expiresAt": in_secs(7200)}).to_string());
    let run = home.run(&["-p", "dev", "-p", "prod"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("warning: skipping") && run.stderr.contains("corrupt.json"),
        "{run:?}"
    );
    assert!(
        !run.stderr.contains("botocore-client-id"),
        "registrations are expected, not warned about: {run:?}"
    );
    for r in home.portal.requests() {
        assert_eq!(
            r.header("x-amz-sso_bearer_token"),
            Some(TOKEN),
            "the newest token is used"
        );
    }
}

#[test]
fn portal_errors_map_to_what_the_user_must_do() {
    // 401: revoked token → log in again, exit 3.
    let home = Home::new();
    home.portal.revoke_token(TOKEN);
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains(
            "token was rejected (expired or revoked); run `ssosync login --sso-session corp` (or `aws sso login --sso-session corp`)"
        ),
        "{run:?}"
    );

    // 403 and 404: no such assignment.
    for status in [403, 404] {
        let home = Home::new();
        home.portal.set_unassigned_status(status);
        home.write(".aws/config", format!("{CONFIG}\n[profile ghost]\nsso_session = corp\nsso_account_id = 999999999999\nsso_role_name = Nope\n"));
        let run = home.run(&["-p", "ghost", "-p", "dev"]);
        assert_eq!(run.code, 1, "{status}: {run:?}");
        assert!(
            run.stderr
                .contains("profile ghost: no access to role Nope in account 999999999999"),
            "{run:?}"
        );
        assert!(
            home.credentials().contains("[dev]"),
            "other profiles still sync"
        );
        assert!(!home.credentials().contains("[ghost]"));
    }
}

#[test]
fn throttling_is_retried_by_the_sdk() {
    let home = Home::new();
    home.portal.fail_next(2, 429, "TooManyRequestsException");
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.portal.count_path("/federation/credentials"), 3);
}

#[test]
fn fresh_entries_cost_no_network_and_force_rotates_them() {
    let home = Home::new();
    assert_eq!(home.run(&["-p", "dev", "-p", "prod"]).code, 0);
    let first = home.credentials();
    let meta = std::fs::metadata(home.path(".aws/credentials")).unwrap();
    home.portal.reset_counters();

    // Even with the token gone, fresh entries need nothing.
    std::fs::remove_dir_all(home.path(".aws/sso")).unwrap();
    let run = home.run(&["-p", "dev", "-p", "prod"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("fresh"), "{run:?}");
    assert_eq!(home.portal.request_count(), 0);
    assert_eq!(home.credentials(), first);
    let after = std::fs::metadata(home.path(".aws/credentials")).unwrap();
    // A rewrite would be a new file (a rename): another inode on Unix; on
    // Windows, another creation time.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            (meta.ino(), meta.mtime_nsec()),
            (after.ino(), after.mtime_nsec()),
            "file not rewritten"
        );
    }
    #[cfg(not(unix))]
    assert_eq!(
        (meta.created().unwrap(), meta.modified().unwrap()),
        (after.created().unwrap(), after.modified().unwrap()),
        "file not rewritten"
    );

    // An entry that expires within --min-ttl is rotated (its lifetime unknown:
    // with the ledger, a --min-ttl this long falls back, see freshness.rs).
    home.cache_session_token("corp", TOKEN, &in_secs(3600));
    std::fs::remove_file(home.path(".aws/.credentials.ssosync.json")).unwrap();
    let run = home.run(&["-p", "dev", "--min-ttl", "2h"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.portal.request_count(), 1);

    let run = home.run(&["-p", "prod", "--force"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.portal.request_count(), 2);
    assert_ne!(home.credentials(), first);
}

#[test]
fn long_term_keys_are_never_overwritten_without_force() {
    let home = Home::new();
    let keys = "[dev]\naws_access_key_id = AKIALONGTERM\naws_secret_access_key = forever\n";
    home.write(".aws/credentials", keys);
    let run = home.run(&["-p", "dev", "-p", "prod"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("[dev] holds long-term keys") && run.stderr.contains("--force"),
        "{run:?}"
    );
    assert!(home.credentials().starts_with(keys), "dev untouched");
    assert!(home.credentials().contains("[prod]"), "prod still synced");
    assert_eq!(
        home.issued_for("111111111111", "Dev").len(),
        0,
        "no fetch for a protected entry"
    );

    let run = home.run(&["-p", "dev", "--force"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!home.credentials().contains("AKIALONGTERM"));
}

#[test]
fn region_is_written_only_on_request() {
    let home = Home::new();
    assert_eq!(home.run(&["-p", "dev"]).code, 0);
    assert!(!home.credentials().contains("region"));
    assert_eq!(home.run(&["-p", "dev", "--region", "--force"]).code, 0);
    let sdk = sdk_profiles(None, &home.path(".aws/credentials"));
    assert_eq!(sdk["dev"]["region"], "us-east-1");
}

#[test]
fn dry_run_shows_a_redacted_diff_and_writes_nothing() {
    let home = Home::new();
    let before = "# keep me\n[dev]\naws_access_key_id = ASIAOLD1234\naws_secret_access_key = oldsecretvalue\naws_session_token = oldtoken\n";
    home.write(".aws/credentials", before);
    let run = home.run(&["-p", "dev", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.credentials(), before);
    let d = &run.stdout;
    assert!(
        d.contains("--- credentials") && d.contains("@@ -1,"),
        "{run:?}"
    );
    assert!(d.contains(" # keep me"), "context lines: {run:?}");
    assert!(d.contains("-aws_secret_access_key = <redacted>"), "{run:?}");
    // Nothing was fetched: the new key id and expiration are not known yet.
    assert!(
        d.contains("+aws_access_key_id = <not-fetched-in-a-dry-run>")
            && d.contains("+aws_credential_expiration = <not-fetched-in-a-dry-run>"),
        "{run:?}"
    );
    assert!(d.contains("would write"), "{run:?}");
    assert_eq!(home.portal.request_count(), 0, "a dry run calls nothing");
    for secret in home
        .secrets()
        .iter()
        .chain(["oldsecretvalue".to_string(), "oldtoken".to_string()].iter())
    {
        assert!(
            !run.all_output().contains(secret.as_str()),
            "leaked {secret}: {run:?}"
        );
    }
    assert!(
        !home.path(".aws/.credentials.ssosync.lock").exists(),
        "dry run takes no lock"
    );
}

#[test]
fn json_report_and_quiet_mode() {
    let home = Home::new();
    let run = home.run(&["--json"]);
    assert_eq!(run.code, 3, "legacy has no token: {run:?}");
    let doc: serde_json::Value =
        serde_json::from_str(run.stdout.trim()).expect("one JSON document");
    assert_eq!(doc["exit_code"], 3);
    let profiles = doc["profiles"].as_array().unwrap();
    let by_name = |n: &str| profiles.iter().find(|p| p["profile"] == n).unwrap().clone();
    assert_eq!(by_name("dev")["status"], "written");
    assert!(
        by_name("dev")["expiration"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(by_name("legacy")["status"], "failed");
    assert_eq!(by_name("legacy")["error"]["kind"], "login_required");

    let run = home.run(&["-q", "-p", "dev", "--force"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.all_output(), "", "quiet success prints nothing");
    let run = home.run(&["-q"]);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("profile legacy"),
        "errors still show: {run:?}"
    );
}

#[test]
fn no_secret_reaches_output_or_logs() {
    let home = Home::new();
    home.write(
        ".aws/credentials",
        "[dev]\naws_access_key_id = ASIAOLD\naws_session_token = t\n",
    );
    let mut runs = vec![
        home.run(&["-vv"]),
        home.run(&["-vv", "--force", "--json"]),
        home.run(&["-vv", "--force", "--dry-run"]),
    ];
    home.portal.revoke_token(TOKEN);
    runs.push(home.run(&["-vv", "--force"]));
    assert!(
        runs[0].stderr.contains("using cached SSO token"),
        "logs are on: {:?}",
        runs[0]
    );
    let secrets = home.secrets();
    assert!(secrets.len() > 4);
    for run in &runs {
        for secret in &secrets {
            assert!(
                !run.all_output().contains(secret.as_str()),
                "leaked a secret: {run:?}"
            );
        }
    }
}

/// Windows: a variable set as `$env:aws_shared_credentials_file` in
/// PowerShell is AWS_SHARED_CREDENTIALS_FILE (names ignore case there).
#[cfg(windows)]
#[test]
fn variable_names_ignore_case_on_windows() {
    let mut home = Home::new();
    let elsewhere = home.path("creds-elsewhere");
    home.env("aws_shared_credentials_file", elsewhere.to_str().unwrap());
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        std::fs::read_to_string(&elsewhere)
            .unwrap()
            .contains("[dev]")
    );
    assert!(!home.path(".aws/credentials").exists());
}

#[test]
fn honours_aws_config_file_and_aws_shared_credentials_file() {
    let mut home = Home::new();
    std::fs::rename(home.path(".aws/config"), home.path("elsewhere-config")).unwrap();
    let config = home.path("elsewhere-config").display().to_string();
    home.env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", "~/creds/custom");
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(home.read("creds/custom").contains("[dev]"));
    assert!(!home.path(".aws/credentials").exists());
    #[cfg(unix)]
    assert_eq!(home.mode("creds"), 0o700);
}

#[test]
fn a_dry_run_has_no_side_effects() {
    // No GetRoleCredentials, no AssumeRole, no refresh, no write, whatever the
    // flags; it still says what each profile would get.
    let home = Home::new();
    home.write(
        ".aws/config",
        format!("{CONFIG}\n[profile admin]\nrole_arn = arn:aws:iam::444444444444:role/Admin\nsource_profile = dev\n"),
    );
    home.portal
        .allow_assume("arn:aws:iam::444444444444:role/Admin");
    let before = "[prod]\naws_access_key_id = ASIAOLD\naws_secret_access_key = s\naws_session_token = t\naws_credential_expiration = 2099-01-01T00:00:00Z\n";
    home.write(".aws/credentials", before);
    let cache = home.read(&format!(
        ".aws/sso/cache/{}.json",
        crate::common::sha1_hex("corp")
    ));
    let run = home.run(&["--dry-run", "--force", "--json"]);
    assert_eq!(run.code, 3, "legacy has no token: {run:?}");
    assert_eq!(
        home.portal.request_count(),
        0,
        "{:?}",
        home.portal.requests()
    );
    assert_eq!(home.credentials(), before);
    assert_eq!(
        home.read(&format!(
            ".aws/sso/cache/{}.json",
            crate::common::sha1_hex("corp")
        )),
        cache
    );
    let doc: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let status = |n: &str| {
        let p = doc["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["profile"] == n)
            .unwrap()
            .clone();
        (
            p["status"].as_str().unwrap().to_string(),
            p["expiration"].clone(),
        )
    };
    for name in ["dev", "prod", "admin"] {
        assert_eq!(
            status(name),
            ("would_write".into(), serde_json::Value::Null),
            "{name}: {doc}"
        );
    }
    assert_eq!(status("legacy").0, "failed");
    let diff = doc["diff"].as_str().unwrap();
    assert!(
        diff.contains("+[admin]") && diff.contains("+[dev]"),
        "{diff}"
    );
    assert!(!diff.contains("ASIAOLD"), "{diff}");
    // The same selection for real calls the portal and STS.
    assert_eq!(home.run(&["-p", "admin", "-p", "dev"]).code, 0);
    assert_eq!(home.portal.assumed().len(), 1);
    assert_eq!(home.portal.count_path("/federation/credentials"), 1);
}

#[test]
fn a_min_ttl_not_shorter_than_the_lifetime_falls_back_to_a_quarter_of_it() {
    // One-hour credentials (the fake portal's default, like AWS's) and
    // `--min-ttl 1h`: every entry would be stale the moment it is written.
    let home = Home::new();
    let run = home.run(&["-p", "dev", "-p", "prod", "--min-ttl", "1h"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.portal.count_path("/federation/credentials"), 2);
    let warning = "warning: --min-ttl 1h00m is not shorter than the lifetime of the credentials of dev, prod (1h00m)";
    assert_eq!(run.stderr.matches(warning).count(), 1, "said once: {run:?}");
    assert!(
        run.stderr
            .contains("rotates them 15m before they expire instead"),
        "{run:?}"
    );
    for args in [
        &["-p", "dev", "-p", "prod", "--min-ttl", "1h"][..],
        &["-p", "dev", "-p", "prod", "--min-ttl", "2h"],
        &["process", "-p", "dev", "--min-ttl", "2h"],
        &["export", "-p", "prod", "--min-ttl", "1h"],
    ] {
        let run = home.run(args);
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        assert_eq!(
            home.portal.count_path("/federation/credentials"),
            2,
            "{args:?} fetched again: {run:?}"
        );
    }
    let run = home.run(&["-p", "dev", "--min-ttl", "1h"]);
    assert!(run.stdout.contains("fresh"), "{run:?}");
    assert_eq!(
        run.stderr.matches("is not shorter than").count(),
        1,
        "{run:?}"
    );
    // A margin shorter than the lifetime is taken as given, and says nothing.
    let run = home.run(&["-p", "dev", "--min-ttl", "30m"]);
    assert!(
        run.stdout.contains("fresh") && run.stderr.is_empty(),
        "{run:?}"
    );
}

#[test]
fn role_chains_of_fifteen_minutes_are_not_fetched_on_every_run() {
    // duration_seconds = 900 against the default --min-ttl of 15m.
    let home = Home::new();
    home.write(
        ".aws/config",
        format!("{CONFIG}\n[profile short]\nrole_arn = arn:aws:iam::444444444444:role/Short\nsource_profile = dev\nduration_seconds = 900\n"),
    );
    home.portal
        .allow_assume("arn:aws:iam::444444444444:role/Short");
    let run = home.run(&["-p", "short"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("the lifetime of the credentials of short (15m)")
            && run.stderr.contains("rotates them 3m45s before"),
        "{run:?}"
    );
    for _ in 0..2 {
        let run = home.run(&["-p", "short"]);
        assert!(run.stdout.contains("short  fresh"), "{run:?}");
    }
    assert_eq!(home.portal.assumed().len(), 1);
}
