//! Bad input fails with one line naming the file, a documented exit code, and no
//! byte of any user file changed.

use crate::common::{CONFIG, Home, shown};

/// `needle`'s `~/` paths are matched as this platform shows them.
fn assert_fails_cleanly(home: &Home, args: &[&str], code: i32, needle: &str) {
    let needle = &shown(needle);
    let creds_before = std::fs::read(home.path(".aws/credentials")).ok();
    let config_before = std::fs::read(home.path(".aws/config")).ok();
    let run = home.run(args);
    assert_eq!(run.code, code, "{run:?}");
    assert!(run.stderr.contains(needle), "wanted {needle:?}: {run:?}");
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    assert_eq!(
        std::fs::read(home.path(".aws/credentials")).ok(),
        creds_before
    );
    assert_eq!(std::fs::read(home.path(".aws/config")).ok(), config_before);
}

#[test]
fn broken_config_files() {
    let home = Home::new();
    std::fs::remove_file(home.path(".aws/config")).unwrap();
    assert_fails_cleanly(&home, &[], 1, "no AWS config file at ~/.aws/config");

    for (text, needle) in [
        (
            &b"[profile dev\n"[..],
            "~/.aws/config line 1: a section header",
        ),
        (
            b"sso_session = corp\n",
            "~/.aws/config line 1: a property comes before",
        ),
        (
            b"[profile x]\n\xff\xfe = 1\n",
            "~/.aws/config is not valid UTF-8",
        ),
        (b"[profile x]\nk = \0\n", "~/.aws/config contains NUL bytes"),
        (
            b"[profile plain]\nregion = x\n",
            "no SSO profiles in ~/.aws/config",
        ),
    ] {
        let home = Home::new();
        home.write(".aws/config", text);
        assert_fails_cleanly(&home, &[], 1, needle);
    }

    let home = Home::new();
    std::fs::remove_file(home.path(".aws/config")).unwrap();
    std::fs::create_dir(home.path(".aws/config")).unwrap();
    assert_fails_cleanly(&home, &[], 1, "~/.aws/config is a directory");
}

#[test]
fn broken_credentials_files() {
    for (bytes, needle) in [
        (
            &b"[dev]\n\xc3\x28\n"[..],
            "~/.aws/credentials is not valid UTF-8",
        ),
        (
            b"aws_access_key_id = A\n",
            "~/.aws/credentials line 1: a property comes before",
        ),
        (b"[dev]\n  indented\n", "~/.aws/credentials line 2"),
    ] {
        let home = Home::new();
        home.write(".aws/credentials", bytes);
        assert_fails_cleanly(&home, &["-p", "dev"], 1, needle);
    }

    let home = Home::new();
    std::fs::create_dir_all(home.path(".aws/credentials")).unwrap();
    assert_fails_cleanly(&home, &["-p", "dev"], 1, "is a directory");

    // Symlinks: Windows' need a privilege a normal user lacks.
    #[cfg(unix)]
    {
        let home = Home::new();
        std::os::unix::fs::symlink("loop-b", home.path(".aws/credentials")).unwrap();
        std::os::unix::fs::symlink("credentials", home.path(".aws/loop-b")).unwrap();
        assert_fails_cleanly(&home, &["-p", "dev"], 1, "symlink loop");
    }
}

#[test]
fn broken_token_caches_need_a_login() {
    for body in [
        "",
        "[]",
        "{\"accessToken\": 5}",
        "{\"accessToken\":\"t\",\"expiresAt\":\"tomorrow\"}",
        "{\"accessToken\":\"t\",\"expiresAt\":1e400}",
    ] {
        let home = Home::new();
        home.write(
            &format!(".aws/sso/cache/{}.json", crate::common::sha1_hex("corp")),
            body,
        );
        assert_fails_cleanly(
            &home,
            &["-p", "dev"],
            3,
            "run `ssosync login --sso-session corp` (or `aws sso login --sso-session corp`)",
        );
        assert_eq!(home.portal.request_count(), 0);
    }
}

#[test]
fn an_unreachable_portal_fails_in_bounded_time() {
    let mut home = Home::new();
    home.write(".aws/credentials", "[x]\na = 1\n");
    home.env("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9");
    let start = std::time::Instant::now();
    assert_fails_cleanly(
        &home,
        &["-p", "dev", "--timeout", "2s"],
        1,
        "profile dev: cannot reach the portal",
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(20));

    let home = Home::new();
    home.portal.set_garbage(true);
    assert_fails_cleanly(&home, &["-p", "dev"], 1, "profile dev:");
    let _ = CONFIG;
}

#[test]
fn out_of_range_timeouts_are_usage_errors() {
    let home = Home::new();
    home.write(".aws/credentials", "[x]\na = 1\n");
    // Deadlines are computed from --timeout: an absurd one must not overflow them.
    for args in [
        &["--timeout", "0s"][..],
        &["--timeout", "4000000000000000000"],
        &["--timeout", "2h"],
        &["export", "-p", "dev", "--timeout", "99999999999999d"],
        &["login", "--timeout", "4000000000000000000"],
    ] {
        assert_fails_cleanly(&home, args, 2, "is out of range; use 1s to");
    }
    assert_eq!(home.portal.request_count(), 0);
}

#[test]
fn hints_name_ssosyncs_own_commands_first() {
    // For machines without the AWS CLI: ssosync's own command, then the CLI's.
    let home = Home::new();
    std::fs::remove_file(home.path(".aws/config")).unwrap();
    assert_fails_cleanly(&home, &[], 1, "`ssosync populate` or `aws configure sso`");
    home.write(".aws/config", "[profile plain]\nregion = x\n");
    assert_fails_cleanly(
        &home,
        &[],
        1,
        "add them with `ssosync populate` or `aws configure sso`",
    );

    let home = Home::new();
    for args in [
        &["-p", "nosuch"][..],
        &["-p", "zz*"],
        &["export", "-p", "nosuch"],
        &["login", "-p", "nosuch"],
    ] {
        assert_fails_cleanly(&home, args, 2, "`ssosync status` lists");
    }

    home.cache_session_token("corp", crate::common::TOKEN, "2020-01-01T00:00:00Z");
    assert_fails_cleanly(
        &home,
        &["-p", "dev"],
        3,
        "run `ssosync login --sso-session corp` (or `aws sso login --sso-session corp`)",
    );
    let status = home.run(&["status"]);
    assert!(
        status
            .stdout
            .contains("expired: ssosync login --sso-session corp"),
        "{status:?}"
    );
}
