//! Refreshing an expired sso-session token with its refresh token (issue 3).

use crate::common::{CONFIG, Home, REGION, START_URL, TOKEN, in_secs, sha1_hex};

const CLIENT_ID: &str = "client-id-123";
const CLIENT_SECRET: &str = "client-secret-abc-very-secret";
const REFRESH_TOKEN: &str = "refresh-token-xyz-very-secret";

fn cache_path(home: &Home) -> std::path::PathBuf {
    home.path(&format!(".aws/sso/cache/{}.json", sha1_hex("corp")))
}

/// A token file as the AWS CLI leaves it after `aws sso login --sso-session corp`,
/// plus a field we do not know, which must survive our write-back.
pub(crate) fn cache_refreshable(home: &Home, expires_at: &str, registration_expires_at: &str) {
    home.write(
        &format!(".aws/sso/cache/{}.json", sha1_hex("corp")),
        serde_json::json!({
            "startUrl": START_URL,
            "region": REGION,
            "accessToken": TOKEN,
            "expiresAt": expires_at,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "registrationExpiresAt": registration_expires_at,
            "refreshToken": REFRESH_TOKEN,
            "futureField": {"kept": true},
        })
        .to_string(),
    );
    home.portal
        .add_refresh_token(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN);
}

/// A config with `n` profiles on session `corp`.
fn many_profiles(home: &Home, n: usize) {
    let mut config = String::from(CONFIG);
    for i in 0..n {
        let account = format!("{:012}", 500_000_000_000u64 + i as u64);
        config.push_str(&format!("\n[profile many{i}]\nsso_session = corp\nsso_account_id = {account}\nsso_role_name = Dev\n"));
        home.portal.grant(&account, "Dev");
    }
    home.write(".aws/config", config);
}

#[test]
fn a_fresh_token_is_not_refreshed() {
    let home = Home::new();
    cache_refreshable(&home, &in_secs(3600), &in_secs(86_400));
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.portal.count_grant("refresh_token"), 0);
    assert!(
        std::fs::read_to_string(cache_path(&home))
            .unwrap()
            .contains(TOKEN)
    );
}

#[test]
fn an_expired_token_is_refreshed_once_for_twenty_profiles_and_written_back() {
    let home = Home::new();
    many_profiles(&home, 20);
    cache_refreshable(&home, "2020-01-01T00:00:00Z", &in_secs(86_400));
    let mut before: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(cache_path(&home)).unwrap()).unwrap();
    let run = home.run(&["-p", "many*"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        home.portal.count_grant("refresh_token"),
        1,
        "one refresh per session per run"
    );
    assert_eq!(home.portal.count_path("/federation/credentials"), 20);

    let after: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(cache_path(&home)).unwrap()).unwrap();
    let new_token = after["accessToken"].as_str().unwrap().to_string();
    assert_ne!(new_token, TOKEN);
    let expires = after["expiresAt"].as_str().unwrap();
    assert!(
        expires.ends_with('Z') && !expires.contains('.'),
        "{expires}"
    );
    assert_ne!(
        after["refreshToken"], REFRESH_TOKEN,
        "the rotated refresh token is kept"
    );
    // Every other field is exactly as the CLI wrote it, in the same order.
    for key in ["accessToken", "expiresAt", "refreshToken"] {
        before.remove(key);
    }
    let kept: serde_json::Map<String, serde_json::Value> = after
        .iter()
        .filter(|(k, _)| before.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(kept, before);
    assert_eq!(
        after.keys().next().map(String::as_str),
        Some("startUrl"),
        "order kept"
    );
    // Private (a Unix mode; Windows relies on the folder's ACL).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(cache_path(&home))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    for r in home
        .portal
        .requests()
        .iter()
        .filter(|r| r.path == "/federation/credentials")
    {
        assert_eq!(r.header("x-amz-sso_bearer_token"), Some(new_token.as_str()));
    }
    // The next run uses the written-back token: no refresh.
    home.portal.reset_counters();
    assert_eq!(home.run(&["-p", "dev", "--force"]).code, 0);
    assert_eq!(home.portal.count_grant("refresh_token"), 0);

    let mut secrets = home.secrets();
    secrets.extend([
        CLIENT_SECRET.to_string(),
        REFRESH_TOKEN.to_string(),
        new_token,
    ]);
    for s in &secrets {
        assert!(
            !run.all_output().contains(s.as_str()),
            "leaked a secret: {run:?}"
        );
    }
}

#[test]
fn a_token_that_cannot_be_refreshed_needs_a_login() {
    // Expired, no refresh material at all.
    let home = Home::new();
    home.cache_session_token("corp", TOKEN, "2020-01-01T00:00:00Z");
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains(
            "run `ssosync login --sso-session corp` (or `aws sso login --sso-session corp`)"
        ),
        "{run:?}"
    );

    // The client registration has expired.
    let home = Home::new();
    cache_refreshable(&home, "2020-01-01T00:00:00Z", "2020-06-01T00:00:00Z");
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(home.portal.count_grant("refresh_token"), 0);

    // The service rejects the refresh token (InvalidGrant): never fall back to the old token.
    let home = Home::new();
    cache_refreshable(&home, "2020-01-01T00:00:00Z", &in_secs(86_400));
    let before = std::fs::read(cache_path(&home)).unwrap();
    home.portal.fail_next(1, 400, "InvalidGrantException");
    let run = home.run(&["-p", "dev", "-p", "prod"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("cannot refresh the SSO token: the refresh token is no longer valid; run `ssosync login --sso-session corp` (or `aws sso login --sso-session corp`)"), "{run:?}");
    assert_eq!(
        std::fs::read(cache_path(&home)).unwrap(),
        before,
        "cache untouched"
    );
    assert_eq!(
        home.portal.count_path("/federation/credentials"),
        0,
        "no call with the expired token"
    );
    assert!(!home.path(".aws/credentials").exists());
    for s in [CLIENT_SECRET, REFRESH_TOKEN, TOKEN] {
        assert!(!run.all_output().contains(s), "leaked: {run:?}");
    }
}

#[test]
fn a_dry_run_does_not_refresh() {
    let home = Home::new();
    cache_refreshable(&home, "2020-01-01T00:00:00Z", &in_secs(86_400));
    let before = std::fs::read(cache_path(&home)).unwrap();
    let run = home.run(&["-p", "dev", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("would refresh the SSO token"),
        "{run:?}"
    );
    assert_eq!(home.portal.count_grant("refresh_token"), 0);
    assert_eq!(std::fs::read(cache_path(&home)).unwrap(), before);
}

#[test]
fn concurrent_runs_refresh_once_and_keep_the_rotated_refresh_token() {
    let home = Home::new();
    cache_refreshable(&home, "2020-01-01T00:00:00Z", &in_secs(86_400));
    for run in home.run_all(&vec![vec!["-p", "dev", "-p", "prod", "--force"]; 5]) {
        assert_eq!(run.code, 0, "{run:?}");
    }
    assert_eq!(
        home.portal.count_grant("refresh_token"),
        1,
        "one refresh across 5 concurrent runs"
    );
    // The refresh token now in the cache is the live one: a later refresh works.
    let cached: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cache_path(&home)).unwrap()).unwrap();
    let mut expired = cached.clone();
    expired["expiresAt"] = "2020-01-01T00:00:00Z".into();
    home.write(
        &format!(".aws/sso/cache/{}.json", sha1_hex("corp")),
        expired.to_string(),
    );
    let run = home.run(&["-p", "dev", "--force"]);
    assert_eq!(
        run.code, 0,
        "the rotated refresh token was not lost: {run:?}"
    );
    assert_eq!(home.portal.count_grant("refresh_token"), 2);
}
