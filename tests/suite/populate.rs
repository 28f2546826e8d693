//! `ssosync populate`: profiles for every account and role a sign-in reaches,
//! written into the config file losslessly (byte-level fixtures), idempotently,
//! never over a profile it does not own, pruned only when everything was listed,
//! paced under the portal's rate limit, and read back by the Rust SDK's parser.

use std::time::Duration;

use serde_json::Value;

use crate::common::{Home, Run, TOKEN, in_secs, sdk_config_profiles};

const SESSION: &str = "\
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
";

/// A home with `config`, a valid token for `corp`, and a portal whose accounts
/// have names with spaces, capitals, unicode and a duplicate.
fn corp_home(config: &str) -> Home {
    let home = Home::bare();
    home.write(".aws/config", config);
    home.portal.add_token(TOKEN);
    home.cache_session_token("corp", TOKEN, &in_secs(3600));
    for (id, name, roles) in ACCOUNTS {
        home.portal
            .set_account(id, name, &format!("{id}@example.com"));
        for role in *roles {
            home.portal.grant(id, role);
        }
    }
    home
}

const ACCOUNTS: &[(&str, &str, &[&str])] = &[
    ("111111111111", "Prod EU", &["Admin", "ReadOnly"]),
    ("222222222222", "sandbox", &["Dev"]),
    ("444444444444", "sandbox", &["Dev"]),
    ("555555555555", "Zürich Dév", &["Dev"]),
    ("666666666666", "開発", &["Admin"]),
];

/// (name, account, role) of every profile populate makes of [`ACCOUNTS`], in name order.
const NAMES: [(&str, &str, &str); 6] = [
    ("666666666666.Admin", "666666666666", "Admin"),
    ("Prod-EU.Admin", "111111111111", "Admin"),
    ("Prod-EU.ReadOnly", "111111111111", "ReadOnly"),
    ("Zurich-Dev.Dev", "555555555555", "Dev"),
    ("sandbox.Dev-222222222222", "222222222222", "Dev"),
    ("sandbox.Dev-444444444444", "444444444444", "Dev"),
];

/// One appended profile as populate writes it, after its blank line.
fn block(name: &str, account: &str, role: &str, eol: &str) -> String {
    [
        String::new(),
        format!("[profile {name}]"),
        "sso_session = corp".into(),
        format!("sso_account_id = {account}"),
        format!("sso_role_name = {role}"),
        "region = eu-west-1".into(),
        "ssosync_populated_from = corp".into(),
    ]
    .iter()
    .map(|l| format!("{l}{eol}"))
    .collect()
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

fn statuses(run: &Run) -> Vec<(String, String)> {
    json(run)["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn writes_every_account_and_role_byte_for_byte_around_the_users_config() {
    // Comments, odd spacing, [default], a whitespace-only line, a hand-written
    // profile whose name populate would also make, no final newline.
    let lf = format!(
        "# my AWS config\n[default]\nregion=eu-west-1\noutput = json\n\n{SESSION}  \n;  hand-written, keep\n[profile   Prod-EU.Admin  ]   # mine\nsso_session   =   corp\nsso_account_id = 111111111111\nsso_role_name = Admin"
    );
    let crlf = format!("{}\r\n", lf.replace('\n', "\r\n"));
    for (before, eol) in [(lf.clone(), "\n"), (crlf, "\r\n")] {
        let home = corp_home(&before);
        let run = home.run(&["populate"]);
        assert_eq!(run.code, 0, "{run:?}");
        let mut want = before.clone();
        if !want.ends_with(eol) {
            want.push_str(eol);
        }
        for (name, account, role) in NAMES {
            if name != "Prod-EU.Admin" {
                want.push_str(&block(name, account, role, eol));
            }
        }
        assert_eq!(home.read(".aws/config"), want, "eol {eol:?}");
        // The hand-written profile is a conflict, reported and not touched.
        assert!(
            run.stdout.contains("conflict") && run.stdout.contains("Prod-EU.Admin"),
            "{run:?}"
        );
        assert!(
            run.stderr
                .contains("accounts sandbox (222222222222), sandbox (444444444444) all give the profile name `sandbox.Dev`"),
            "{run:?}"
        );
        // The real wire protocol: paths, page size and the bearer header.
        let reqs = home.portal.requests();
        assert_eq!(reqs.len(), 1 + ACCOUNTS.len(), "{reqs:?}");
        for r in &reqs {
            assert_eq!(r.header("x-amz-sso_bearer_token"), Some(TOKEN));
            assert_eq!(r.query_param("max_result"), Some("100"));
        }
        assert_eq!(home.portal.count_path("/assignment/accounts"), 1);
        assert_eq!(home.portal.count_path("/assignment/roles"), ACCOUNTS.len());
    }
}

#[test]
fn the_rust_sdk_reads_every_generated_profile() {
    let home = corp_home(SESSION);
    let run = home.run(&["populate"]);
    assert_eq!(run.code, 0, "{run:?}");
    let sdk = sdk_config_profiles(
        &home.path(".aws/config"),
        &["sso_session", "sso_account_id", "sso_role_name", "region"],
    );
    assert_eq!(sdk.len(), NAMES.len(), "{sdk:?}");
    for (name, account, role) in NAMES {
        let p = &sdk[name];
        assert_eq!(p["sso_session"], "corp", "{name}");
        assert_eq!(p["sso_account_id"], account, "{name}");
        assert_eq!(p["sso_role_name"], role, "{name}");
        assert_eq!(p["region"], "eu-west-1", "{name}");
    }
}

#[test]
fn a_second_run_writes_nothing() {
    let home = corp_home(SESSION);
    assert_eq!(home.run(&["populate", "-q"]).code, 0);
    let path = home.path(".aws/config");
    let before = std::fs::metadata(&path).unwrap();
    let text = home.read(".aws/config");
    std::thread::sleep(Duration::from_millis(20));
    let run = home.run(&["populate", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        statuses(&run).iter().all(|(_, s)| s == "unchanged"),
        "{run:?}"
    );
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!(home.read(".aws/config"), text);
    assert_eq!(after.modified().unwrap(), before.modified().unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(after.ino(), before.ino(), "the file was replaced");
    }
    let human = home.run(&["populate"]);
    assert!(human.stdout.contains("nothing to write"), "{human:?}");
    // Nothing to write: a read-only config is no obstacle.
    let mut read_only = after.permissions();
    read_only.set_readonly(true);
    std::fs::set_permissions(&path, read_only).unwrap();
    let run = home.run(&["populate"]);
    assert_eq!(run.code, 0, "{run:?}");
    // With something to write, the read-only file is refused, untouched.
    home.portal.grant("777777777777", "Dev");
    let run = home.run(&["populate"]);
    assert_eq!(run.code, 1, "{run:?}");
    let fix = if cfg!(windows) {
        "read-only attribute"
    } else {
        "chmod u+w"
    };
    assert!(run.stderr.contains(fix), "{run:?}");
    assert_eq!(home.read(".aws/config"), text);
}

#[test]
fn updates_managed_profiles_in_place_keeping_what_the_user_added() {
    let home = corp_home(SESSION);
    assert_eq!(home.run(&["populate", "-q"]).code, 0);
    // The user adds a key and a comment to a managed profile and edits one of ours.
    let text = home.read(".aws/config").replace(
        "[profile Zurich-Dev.Dev]\nsso_session = corp\nsso_account_id = 555555555555\n",
        "[profile Zurich-Dev.Dev]\n# my note\nsso_session = corp\nsso_account_id = 999999999999\noutput = json\n",
    );
    home.write(".aws/config", &text);
    let run = home.run(&["populate", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let st = statuses(&run);
    assert!(
        st.contains(&("Zurich-Dev.Dev".into(), "updated".into())),
        "{st:?}"
    );
    assert_eq!(
        st.iter().filter(|(_, s)| s == "updated").count(),
        1,
        "{st:?}"
    );
    let want = text.replace(
        "sso_account_id = 999999999999",
        "sso_account_id = 555555555555",
    );
    assert_eq!(home.read(".aws/config"), want);

    // `--region` is kept in step everywhere; without it the region is the user's.
    let mine = home.read(".aws/config").replace(
        "[profile sandbox.Dev-222222222222]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = Dev\nregion = eu-west-1",
        "[profile sandbox.Dev-222222222222]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = Dev\nregion = ap-south-1",
    );
    home.write(".aws/config", &mine);
    let run = home.run(&["populate", "--json"]);
    assert!(
        statuses(&run).iter().all(|(_, s)| s == "unchanged"),
        "{run:?}"
    );
    assert_eq!(home.read(".aws/config"), mine);
    let run = home.run(&["populate", "--region", "us-east-2"]);
    assert_eq!(run.code, 0, "{run:?}");
    let after = home.read(".aws/config");
    assert_eq!(
        after,
        mine.replace("\nregion = eu-west-1", "\nregion = us-east-2")
            .replace("\nregion = ap-south-1", "\nregion = us-east-2")
    );
    assert!(after.contains("# my note\n") && after.contains("output = json\n"));
}

#[test]
fn a_profile_without_the_marker_is_a_conflict_and_never_touched() {
    let config = format!(
        "{SESSION}\n[profile Prod-EU.ReadOnly]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\nregion = us-west-2\n\n[profile Zurich-Dev.Dev]\nregion = x\nssosync_populated_from = elsewhere\n"
    );
    let home = corp_home(&config);
    let run = home.run(&["populate", "--json", "--region", "eu-central-1"]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc = json(&run);
    let find = |name: &str| {
        doc["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap()
    };
    for name in ["Prod-EU.ReadOnly", "Zurich-Dev.Dev"] {
        let p = find(name);
        assert_eq!(p["status"], "conflict", "{p}");
        assert!(p["message"].as_str().unwrap().contains("alone"), "{p}");
    }
    assert_eq!(find("Prod-EU.ReadOnly")["account_name"], "Prod EU");
    let after = home.read(".aws/config");
    assert!(after.starts_with(&config), "{after}");
    assert!(!after[config.len()..].contains("Prod-EU.ReadOnly"));
    assert!(!after[config.len()..].contains("Zurich-Dev.Dev"));
}

#[test]
fn stale_profiles_are_reported_then_pruned_with_their_blank_line() {
    let other = "\n[profile theirs]\nsso_session = other\nsso_account_id = 1\nsso_role_name = R\nssosync_populated_from = other\n";
    let home = corp_home(&format!("{SESSION}{other}"));
    assert_eq!(home.run(&["populate", "-q"]).code, 0);
    let full = home.read(".aws/config");
    // One role and one whole account disappear.
    home.portal.ungrant("111111111111", "ReadOnly");
    home.portal.ungrant("555555555555", "Dev");
    home.portal.reset_failing_roles();
    let run = home.run(&["populate", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let st = statuses(&run);
    for gone in ["Prod-EU.ReadOnly", "Zurich-Dev.Dev"] {
        assert!(st.contains(&(gone.into(), "stale".into())), "{st:?}");
    }
    assert!(!st.iter().any(|(n, _)| n == "theirs"), "{st:?}");
    assert_eq!(
        home.read(".aws/config"),
        full,
        "stale profiles are kept without --prune"
    );
    let human = home.run(&["populate"]);
    assert!(human.stdout.contains("--prune removes it"), "{human:?}");

    let run = home.run(&["populate", "--prune", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let st = statuses(&run);
    assert!(
        st.contains(&("Zurich-Dev.Dev".into(), "pruned".into())),
        "{st:?}"
    );
    let mut want = format!("{SESSION}{other}");
    for (name, account, role) in NAMES {
        if !["Prod-EU.ReadOnly", "Zurich-Dev.Dev"].contains(&name) {
            want.push_str(&block(name, account, role, "\n"));
        }
    }
    assert_eq!(home.read(".aws/config"), want);
}

#[test]
fn nothing_is_pruned_when_an_accounts_roles_cannot_be_listed() {
    let home = corp_home(SESSION);
    assert_eq!(home.run(&["populate", "-q"]).code, 0);
    let full = home.read(".aws/config");
    home.portal.ungrant("555555555555", "Dev");
    // This account's ListAccountRoles keeps failing, past every retry.
    home.portal
        .fail_roles_of("111111111111", 500, "InternalServerException");
    home.portal.reset_counters();
    let run = home.run(&["populate", "--prune", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let doc = json(&run);
    let errors = doc["errors"].to_string();
    assert!(
        errors.contains("111111111111") && errors.contains("Prod EU"),
        "{doc}"
    );
    assert!(
        doc["warnings"].to_string().contains("nothing was pruned"),
        "{doc}"
    );
    let st = statuses(&run);
    // The account that is gone is stale but kept; the failing one's are not judged.
    assert!(
        st.contains(&("Zurich-Dev.Dev".into(), "stale".into())),
        "{st:?}"
    );
    assert!(!st.iter().any(|(n, _)| n.starts_with("Prod-EU")), "{st:?}");
    assert_eq!(home.read(".aws/config"), full);
    // The failing account was asked more than once (passing failures are retried).
    let asked = home
        .portal
        .requests()
        .iter()
        .filter(|r| r.query_param("account_id") == Some("111111111111"))
        .count();
    assert_eq!(asked, 4, "one call and three retries");
    let human = home.run(&["populate", "--prune"]);
    assert!(
        human.stderr.contains("account 111111111111 (Prod EU)"),
        "{human:?}"
    );
}

#[test]
fn a_missing_or_expired_token_exits_3_with_the_login_command() {
    let home = corp_home(SESSION);
    std::fs::remove_dir_all(home.path(".aws/sso/cache")).unwrap();
    let run = home.run(&["populate"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("aws sso login --sso-session corp")
            && run.stderr.contains("ssosync login --sso-session corp"),
        "{run:?}"
    );
    assert_eq!(home.read(".aws/config"), SESSION);
    assert_eq!(home.portal.request_count(), 0);

    home.cache_session_token("corp", TOKEN, &in_secs(-60));
    let run = home.run(&["populate", "--json"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(json(&run)["errors"][0]["kind"], "login_required");

    // A token the portal rejects: 401 on the listing.
    home.cache_session_token("corp", "revoked-token", &in_secs(3600));
    let run = home.run(&["populate"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("rejected"), "{run:?}");
    assert_eq!(home.read(".aws/config"), SESSION);
}

#[test]
fn a_dry_run_shows_the_diff_writes_nothing_and_refreshes_no_token() {
    let home = corp_home(SESSION);
    let run = home.run(&["populate", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("--- config\n+++ config (after ssosync)\n"),
        "{run:?}"
    );
    assert!(run.stdout.contains("+[profile Prod-EU.Admin]\n"), "{run:?}");
    assert!(run.stdout.contains("would add"), "{run:?}");
    assert!(run.stdout.contains("dry run: nothing written"), "{run:?}");
    assert_eq!(home.read(".aws/config"), SESSION);
    let json_run = home.run(&["populate", "--dry-run", "--json"]);
    let doc = json(&json_run);
    assert_eq!(doc["dry_run"], true);
    assert!(
        doc["diff"]
            .as_str()
            .unwrap()
            .contains("+ssosync_populated_from = corp")
    );

    // A refreshable token about to lapse: a real run would refresh it first; a
    // dry run lists with it as it is, and an expired one stops the dry run.
    let cache = home.path(&format!(
        ".aws/sso/cache/{}.json",
        crate::common::sha1_hex("corp")
    ));
    let refreshable = |expires: &str| {
        serde_json::json!({
            "startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1",
            "accessToken": TOKEN, "expiresAt": expires,
            "clientId": "cid", "clientSecret": "csecret", "refreshToken": "rtok",
            "registrationExpiresAt": in_secs(86400),
        })
        .to_string()
    };
    std::fs::write(&cache, refreshable(&in_secs(120))).unwrap();
    let cached = std::fs::read(&cache).unwrap();
    let run = home.run(&["populate", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:?}");
    std::fs::write(&cache, refreshable(&in_secs(-60))).unwrap();
    let expired = std::fs::read(&cache).unwrap();
    let run = home.run(&["populate", "--dry-run"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("a dry run does not refresh it"),
        "{run:?}"
    );
    assert_eq!(
        home.portal.count_path("/token"),
        0,
        "no refresh in a dry run"
    );
    assert_eq!(std::fs::read(&cache).unwrap(), expired);
    assert_ne!(cached, expired);
    assert_eq!(home.read(".aws/config"), SESSION);
}

#[test]
fn the_json_report_names_each_profile() {
    let home = corp_home(SESSION);
    let run = home.run(&["populate", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc = json(&run);
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["dry_run"], false);
    let profiles = doc["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), NAMES.len());
    for (p, (name, account, role)) in profiles.iter().zip(NAMES) {
        assert_eq!(p["name"], name);
        assert_eq!(p["account_id"], account);
        assert_eq!(p["role_name"], role);
        assert_eq!(p["status"], "added");
    }
    assert_eq!(profiles[3]["account_name"], "Zürich Dév");
    assert_eq!(doc["sign_ins"][0]["sign_in"], "sso-session corp");
    assert_eq!(doc["sign_ins"][0]["accounts"], 5);
    assert_eq!(doc["sign_ins"][0]["roles"], 6);
    assert_eq!(doc["warnings"].as_array().unwrap().len(), 1, "{doc}");
    assert!(run.stderr.is_empty(), "{run:?}");
}

#[test]
fn plain_ssosync_syncs_the_populated_profiles() {
    let home = corp_home(SESSION);
    assert_eq!(home.run(&["populate", "-q"]).code, 0);
    let run = home.run(&["-p", "Prod*"]);
    assert_eq!(run.code, 0, "{run:?}");
    // A file ssosync creates has the platform's line endings.
    let creds = home.credentials().replace("\r\n", "\n");
    for name in ["Prod-EU.Admin", "Prod-EU.ReadOnly"] {
        assert!(creds.contains(&format!("[{name}]\n")), "{creds}");
    }
    assert!(!creds.contains("[sandbox"), "{creds}");
    let run = home.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let creds = home.credentials().replace("\r\n", "\n");
    for (name, account, role) in NAMES {
        assert!(creds.contains(&format!("[{name}]\n")), "{name}: {creds}");
        assert!(!home.issued_for(account, role).is_empty(), "{name}");
    }
}

#[test]
fn pages_and_a_rate_limit_lose_no_account() {
    let home = Home::bare();
    home.write(".aws/config", SESSION);
    home.portal.add_token(TOKEN);
    home.cache_session_token("corp", TOKEN, &in_secs(3600));
    // 230 accounts (three pages), one of them with 130 roles (two pages).
    for a in 0..230 {
        home.portal
            .grant(&format!("{:012}", 700_000_000_000u64 + a), "Dev");
    }
    for r in 0..130 {
        home.portal.grant("700000000007", &format!("Role{r:03}"));
    }
    home.portal.set_rate_limit(Some(60));
    let run = home.run(&["populate", "--json", "-q"]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc = json(&run);
    assert_eq!(doc["profiles"].as_array().unwrap().len(), 230 + 130);
    assert!(
        doc["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "added"),
        "{doc}"
    );
    assert!(
        doc["sign_ins"][0]["throttled"].as_u64().unwrap() > 0,
        "{doc}"
    );
    assert!(doc["warnings"].to_string().contains("throttled"), "{doc}");
    let config = home.read(".aws/config");
    assert_eq!(config.matches("ssosync_populated_from = corp").count(), 360);
    let pages: Vec<String> = home
        .portal
        .requests()
        .iter()
        .filter(|r| r.path == "/assignment/accounts")
        .filter_map(|r| r.query_param("next_token").map(str::to_string))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // Pages 2 and 3 (a throttled page is asked for again, with the same token).
    assert_eq!(
        pages,
        ["fakeNextToken-100", "fakeNextToken-200"],
        "{pages:?}"
    );
}

#[test]
fn a_legacy_sign_in_is_named_by_its_profile() {
    let config = "[profile old]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = us-east-2\nsso_account_id = 333333333333\nsso_role_name = Ops\n";
    let home = Home::bare();
    home.write(".aws/config", config);
    home.portal.add_token("tok-legacy");
    home.cache_legacy_token(
        "https://legacy.awsapps.com/start",
        "us-east-2",
        "tok-legacy",
        &in_secs(3600),
    );
    home.portal
        .set_account("333333333333", "Ops Team", "ops@example.com");
    home.portal.grant("333333333333", "Ops");
    // No sso-session: say how to name a legacy sign-in.
    let run = home.run(&["populate"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("-p PROFILE"), "{run:?}");
    let run = home.run(&[
        "populate",
        "-p",
        "old",
        "--template",
        "{session}-{account_name}-{role_name}",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        home.read(".aws/config"),
        format!(
            "{config}\n[profile legacy-Ops-Team-Ops]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = us-east-2\nsso_account_id = 333333333333\nsso_role_name = Ops\nregion = us-east-2\nssosync_populated_from = https://legacy.awsapps.com/start\n"
        )
    );
}

#[test]
fn bad_arguments_are_usage_errors_that_change_nothing() {
    let home = corp_home(SESSION);
    for args in [
        &["populate", "--template", "{account}.{role_name}"][..],
        &["populate", "--template", "static"],
        &["populate", "--sso-session", "nope"],
        &["populate", "-p", "nope"],
        &["populate", "--region", "not a region"],
    ] {
        let run = home.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {run:?}");
        assert_eq!(home.read(".aws/config"), SESSION);
    }
    assert_eq!(home.portal.request_count(), 0);
}

#[test]
fn a_foreign_append_during_populate_is_kept() {
    let home = corp_home(SESSION);
    for a in 0..100 {
        home.portal
            .grant(&format!("{:012}", 800_000_000_000u64 + a), "Dev");
    }
    // Slow enough that the writer appends before, during and after the write.
    home.portal.set_latency(Duration::from_millis(40));
    let path = home.path(".aws/config");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap();
                write!(f, "\n[profile foreign{n}]\nregion = us-east-1\n").unwrap();
                drop(f);
                n += 1;
                std::thread::sleep(Duration::from_millis(30));
            }
            n
        })
    };
    let run = home.run(&["populate", "--concurrency", "8", "-q"]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let appended = writer.join().unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(appended > 5, "the writer ran: {appended}");
    let config = home.read(".aws/config");
    for n in 0..appended {
        assert!(
            config.contains(&format!("[profile foreign{n}]\n")),
            "foreign{n} was lost"
        );
    }
    assert_eq!(config.matches("ssosync_populated_from").count(), 106);
}

/// `ssosync ARGS` under a pseudo-terminal (util-linux `script`), in the test
/// home's environment: what a terminal shows, stdout and stderr together.
#[cfg(unix)]
fn on_a_terminal(home: &Home, args: &str) -> String {
    let found = std::process::Command::new("script")
        .arg("--version")
        .output();
    assert!(
        found.is_ok(),
        "this test needs `script` (util-linux; Debian: bsdutils) to make a terminal"
    );
    let log = home.path("typescript");
    let base = home.command(&[]);
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &format!("{} {args}", env!("CARGO_BIN_EXE_ssosync"))])
        .arg(&log)
        .env_clear()
        .stdin(std::process::Stdio::null());
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.env("TERM", "xterm");
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned()
}

// A terminal made by util-linux `script`: Unix.
#[cfg(unix)]
#[test]
fn a_progress_line_shows_on_a_terminal_only() {
    let home = corp_home(SESSION);
    for a in 0..40 {
        home.portal
            .grant(&format!("{:012}", 900_000_000_000u64 + a), "Dev");
    }
    home.portal.set_latency(Duration::from_millis(60));
    let screen = on_a_terminal(&home, "populate --concurrency 2");
    assert!(screen.contains("accounts listed"), "{screen}");
    assert!(screen.contains("/s"), "{screen}");
    assert!(screen.contains("left"), "{screen}");
    // Cleared at the end: the last line drawn is erased.
    assert!(screen.contains("\x1b[2K"), "{screen:?}");
    // Not with -q or --json, nor when stderr is not a terminal.
    for args in [
        "populate --concurrency 2 -q",
        "populate --concurrency 2 --json",
    ] {
        let screen = on_a_terminal(&home, args);
        assert!(!screen.contains("accounts listed"), "{args}: {screen}");
    }
    let piped = home.run(&["populate", "--concurrency", "2"]);
    assert!(!piped.stderr.contains("accounts listed"), "{piped:?}");

    // A sync of many profiles shows one too.
    let screen = on_a_terminal(&home, "--concurrency 2");
    assert!(screen.contains("profiles fetched"), "{screen}");
    let screen = on_a_terminal(&home, "--concurrency 2 --force -q");
    assert!(!screen.contains("profiles fetched"), "{screen}");
    let piped = home.run(&["--concurrency", "2", "--force"]);
    assert_eq!(piped.code, 0, "{piped:?}");
    assert!(!piped.stderr.contains("profiles fetched"), "{piped:?}");
}

#[test]
fn a_portal_that_admits_nothing_ends_the_listing_within_its_budget() {
    let home = corp_home(SESSION);
    // Every request throttled, for longer than the run can wait.
    home.portal
        .fail_next(1_000_000, 429, "TooManyRequestsException");
    let started = std::time::Instant::now();
    let run = home.run(&["populate", "--timeout", "1s", "--json"]);
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{run:?}");
    let doc = json(&run);
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("kept throttling"),
        "{doc}"
    );
    // 3 × --timeout without an admitted call, at one call a second by then.
    assert!(took < Duration::from_secs(10), "{took:?}");
    let asked = home.portal.request_count();
    assert!((2..=20).contains(&asked), "{asked} requests");
    assert_eq!(home.read(".aws/config"), SESSION);
}
