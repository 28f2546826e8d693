//! No secret ever reaches a terminal, a log or another process's argv: with
//! `-vv` (our logs plus the AWS SDK's debug logs), in `--json` and `--dry-run`
//! output, and on every error path we can provoke.

use std::time::Duration;

#[cfg(unix)]
use crate::common::Start;
use crate::common::{
    Home, Reply, Run, ScriptedPortal, TOKEN, assert_no_secret_in, in_one_hour_ms, in_secs,
    role_credentials_body, sha1_hex,
};

/// Values the user already keeps in the file: ours to protect too.
const USER_SECRETS: [&str; 4] = [
    "USERSECRETlongterm0001",
    "USERTOKENsession0002",
    "USERSECRETuppercase0003",
    "USERTOKENtabbed0004",
];

const USER_FILE: &str = "\
# keys I keep by hand
[personal]
aws_access_key_id = AKIAPERSONAL00000001
aws_secret_access_key = USERSECRETlongterm0001

[dev]
aws_access_key_id = ASIAOLDDEV0000000001
aws_session_token = USERTOKENsession0002 # old
AWS_SECRET_ACCESS_KEY=USERSECRETuppercase0003
aws_security_token\t=\tUSERTOKENtabbed0004
";

fn all_secrets(home: &Home, extra: &[&str]) -> Vec<String> {
    let mut secrets = home.secrets();
    secrets.extend(USER_SECRETS.iter().map(|s| s.to_string()));
    secrets.extend(extra.iter().map(|s| s.to_string()));
    for t in home.portal.created_tokens() {
        secrets.push(t.access_token);
        secrets.extend(t.refresh_token);
    }
    secrets
}

fn check(home: &Home, runs: &[(&str, Run)], extra: &[&str]) {
    let secrets = all_secrets(home, extra);
    for (what, run) in runs {
        assert_no_secret_in(run, &secrets, what);
    }
}

#[test]
fn successful_runs_with_debug_logs_print_no_secret() {
    let home = Home::new();
    home.enable_legacy();
    home.write(".aws/credentials", USER_FILE);
    let runs = vec![
        ("-vv", home.run(&["-vv", "--force"])),
        ("-vv --json", home.run(&["-vv", "--force", "--json"])),
        ("-vv --dry-run", home.run(&["-vv", "--force", "--dry-run"])),
        (
            "-vv --dry-run --json",
            home.run(&["-vv", "--force", "--dry-run", "--json"]),
        ),
        ("-vv fresh", home.run(&["-vv"])),
    ];
    assert!(
        runs[0].1.stderr.lines().count() > 3,
        "debug logs are on: {:?}",
        runs[0].1
    );
    for (what, run) in &runs {
        assert_eq!(run.code, 0, "{what}: {run:?}");
    }
    check(&home, &runs, &["tok-legacy-5e4d3c2b1a"]);
}

#[test]
fn every_portal_failure_prints_no_secret() {
    let mut runs = Vec::new();
    let mut secrets = Vec::new();
    type Setup = fn(&Home);
    let scenarios: [(&str, Setup); 6] = [
        ("401 revoked", |h| h.portal.revoke_token(TOKEN)),
        ("500 x3", |h| {
            h.portal.fail_next(3, 500, "InternalServerException")
        }),
        ("429 storm", |h| {
            h.portal.fail_next(50, 429, "TooManyRequestsException")
        }),
        ("garbage", |h| h.portal.set_garbage(true)),
        ("slow", |h| h.portal.set_latency(Duration::from_secs(3))),
        ("403", |h| {
            let config = h.read(".aws/config");
            h.write(
                ".aws/config",
                format!("{config}\n[profile dev]\nsso_account_id = 999999999999\n"),
            );
        }),
    ];
    // The scenarios mostly wait (timeouts, retries): run them side by side.
    let results: Vec<(&str, Run, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = scenarios
            .into_iter()
            .map(|(what, setup)| {
                scope.spawn(move || {
                    let home = Home::new();
                    home.write(".aws/credentials", USER_FILE);
                    setup(&home);
                    let run = home.run(&["-vv", "--force", "-p", "dev", "--timeout", "1s"]);
                    (what, run, all_secrets(&home, &[]))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (what, run, issued) in results {
        assert_ne!(run.code, 0, "{what}: {run:?}");
        secrets.extend(issued);
        runs.push((what, run));
    }
    // Nothing listening.
    let mut home = Home::new();
    home.write(".aws/credentials", USER_FILE);
    home.env("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9");
    runs.push(("refused", home.run(&["-vv", "--force", "-p", "dev"])));
    for (what, run) in &runs {
        assert_no_secret_in(run, &secrets, what);
    }
}

#[test]
fn replies_that_are_refused_or_unreadable_print_no_secret() {
    // A reply holding real-looking secrets that ssosync must refuse or cannot
    // parse: neither the error nor the SDK's debug logs may echo the body.
    let secret = "SCRIPTEDsecretValue0001";
    let token = "SCRIPTEDsessionToken0002";
    let bodies = [
        role_credentials_body(
            "ASIASCRIPTED00000001",
            secret,
            &format!("{token}\n"),
            in_one_hour_ms(),
        ),
        role_credentials_body(
            "ASIASCRIPTED00000001",
            &format!("{secret} #x"),
            token,
            in_one_hour_ms(),
        ),
        format!(
            r#"{{"roleCredentials":{{"accessKeyId":"ASIASCRIPTED00000001","secretAccessKey":"{secret}","sessionToken":"{token}","expiration":"soon"}}}}"#
        ),
        format!(r#"{{"roleCredentials":{{"secretAccessKey":"{secret}","sessionToken":"{token}"#),
    ];
    for body in bodies {
        let reply = Reply::Json(body.clone());
        let portal = ScriptedPortal::start(move |_| reply.clone());
        let mut home = Home::new();
        home.env("AWS_ENDPOINT_URL_SSO", &portal.url());
        let run = home.run(&["-vv", "-p", "dev"]);
        assert_eq!(run.code, 1, "{body}: {run:?}");
        assert_no_secret_in(&run, &[secret.into(), token.into(), TOKEN.into()], &body);
    }
}

#[test]
fn file_errors_never_quote_the_offending_line() {
    // Broken lines that hold secrets: the message gives the line number only.
    for text in [
        &b"[dev]\naws_secret_access_key USERSECRETlongterm0001\n"[..],
        b"[dev\naws_secret_access_key = USERSECRETlongterm0001\n",
        b"aws_session_token = USERTOKENsession0002\n[dev]\n",
        b"[dev]\naws_session_token = USERTOKENsession0002\xff\n",
        b"[dev]\n  USERTOKENsession0002\n",
    ] {
        let home = Home::new();
        home.write(".aws/credentials", text);
        let run = home.run(&["-vv", "--force", "-p", "dev"]);
        let what = String::from_utf8_lossy(text).into_owned();
        assert_eq!(run.code, 1, "{what:?}: {run:?}");
        check(&home, &[(what.as_str(), run)], &[]);
    }
    // Long-term keys in the way: the message names the entry, not its values.
    let home = Home::new();
    home.write(
        ".aws/credentials",
        "[dev]\naws_access_key_id = AKIALONGTERM0000001\naws_secret_access_key = USERSECRETlongterm0001\n",
    );
    let run = home.run(&["-vv", "-p", "dev"]);
    assert_eq!(run.code, 1, "{run:?}");
    check(&home, &[("long-term", run)], &[]);
}

#[test]
fn token_cache_problems_print_no_token() {
    let cache = format!(".aws/sso/cache/{}.json", sha1_hex("corp"));
    let bodies = [
        serde_json::json!({"accessToken": TOKEN, "expiresAt": "2020-01-01T00:00:00Z"}).to_string(),
        serde_json::json!({"accessToken": TOKEN, "expiresAt": 17}).to_string(),
        serde_json::json!({"accessToken": TOKEN, "expiresAt": "not a date"}).to_string(),
        serde_json::json!({"accessToken": format!("{TOKEN}\r\n"), "expiresAt": in_secs(3600)})
            .to_string(),
        format!("{{\"accessToken\": \"{TOKEN}\", \"expiresAt\": "),
    ];
    for body in bodies {
        let home = Home::new();
        home.write(&cache, &body);
        let run = home.run(&["-vv", "-p", "dev"]);
        assert_ne!(run.code, 0, "{body}: {run:?}");
        assert_no_secret_in(&run, &[TOKEN.to_string()], &body);
    }
}

#[test]
fn refreshing_a_token_prints_none_of_its_secrets() {
    const CLIENT_SECRET: &str = "client-secret-SECRETS-TEST-0001";
    const REFRESH: &str = "refresh-token-SECRETS-TEST-0002";
    for revoked in [false, true] {
        let home = Home::new();
        home.write(
            &format!(".aws/sso/cache/{}.json", sha1_hex("corp")),
            serde_json::json!({
                "startUrl": crate::common::START_URL,
                "region": crate::common::REGION,
                "accessToken": TOKEN,
                "expiresAt": "2020-01-01T00:00:00Z",
                "clientId": "client-id-secrets-test",
                "clientSecret": CLIENT_SECRET,
                "registrationExpiresAt": in_secs(86_400),
                "refreshToken": REFRESH,
            })
            .to_string(),
        );
        home.portal
            .add_refresh_token("client-id-secrets-test", CLIENT_SECRET, REFRESH);
        if revoked {
            home.portal.revoke_refresh_token(REFRESH);
        }
        let run = home.run(&["-vv", "-p", "dev", "--json"]);
        assert_eq!(run.code, if revoked { 3 } else { 0 }, "{run:?}");
        check(&home, &[("refresh", run)], &[CLIENT_SECRET, REFRESH]);
    }
}

/// Every process in /proc whose parent is `pid`.
#[cfg(unix)]
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may hold spaces, so split after `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// Reads argv, environment and children from /proc (Unix: a Windows pid has no
/// /proc entry, and under Wine /proc is the Linux host's).
#[cfg(unix)]
#[test]
fn no_secret_is_ever_on_a_command_line() {
    use std::process::Stdio;
    use std::time::Instant;
    // The tests hand secrets over in files and the environment, never in argv.
    let own: String = std::env::args().collect::<Vec<_>>().join(" ");
    assert!(!own.contains(TOKEN));

    // While ssosync waits on a slow portal: its argv and environment hold no
    // secret, and it starts no process that could be given one.
    let home = Home::new();
    home.write(".aws/credentials", USER_FILE);
    home.portal.set_latency(Duration::from_millis(1500));
    let mut child = home
        .command(&["--force", "-p", "dev", "-p", "prod"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .start();
    let pid = child.id();
    let start = Instant::now();
    let mut looks = 0;
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(20) {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        let environ = String::from_utf8_lossy(&environ);
        for secret in all_secrets(&home, &[]) {
            assert!(!cmdline.contains(&secret), "secret in argv: {cmdline}");
            assert!(!environ.contains(&secret), "secret in the environment");
        }
        assert_eq!(
            children_of(pid),
            Vec::<u32>::new(),
            "ssosync started a process"
        );
        looks += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.wait().unwrap().success());
    assert!(looks > 10, "looked only {looks} times");
    // What was written is private: the credentials file and its lock (a Unix mode).
    #[cfg(unix)]
    assert_eq!(home.mode(".aws/.credentials.ssosync.lock"), 0o600);
    assert!(home.read(".aws/.credentials.ssosync.lock").is_empty());
}
