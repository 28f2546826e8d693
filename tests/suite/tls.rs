//! The trust store, against a real TLS server: the fake portal serving HTTPS
//! with a certificate from a CA the test makes (as a TLS-inspecting corporate
//! proxy would present). Without that CA the run fails with one line that
//! names AWS_CA_BUNDLE; with AWS_CA_BUNDLE or the profile's `ca_bundle`, it
//! syncs. The no-op path never loads the system trust store.

#[cfg(unix)]
use std::time::Duration;

use fake_portal::FakePortal;

#[cfg(unix)]
use crate::common::run_bounded;
use crate::common::{CONFIG, Home, TOKEN, TestCa, test_ca};

/// A home whose portal (and SSO-OIDC) is the HTTPS fake, granting dev and prod.
fn tls_home(ca: &TestCa) -> (Home, FakePortal) {
    let portal = FakePortal::start_tls(ca.identity.clone());
    portal.add_token(TOKEN);
    portal.grant("111111111111", "Dev");
    portal.grant("222222222222", "Admin");
    let mut home = Home::new();
    home.env("AWS_ENDPOINT_URL_SSO", &portal.url())
        .env("AWS_ENDPOINT_URL_SSO_OIDC", &portal.url());
    (home, portal)
}

#[test]
fn an_unknown_ca_fails_in_one_line_that_names_aws_ca_bundle() {
    let ca = test_ca();
    let (home, portal) = tls_home(&ca);
    assert!(portal.url().starts_with("https://127.0.0.1:"));
    home.write(".aws/credentials", "[keep]\nregion = eu-west-1\n");
    let run = home.run(&["-p", "dev", "-p", "prod"]);
    assert_eq!(run.code, 1, "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "one line per profile: {run:?}");
    for (line, profile) in lines.iter().zip(["dev", "prod"]) {
        assert!(
            line.starts_with(&format!(
                "ssosync: profile {profile}: the TLS certificate of 127.0.0.1:"
            )) && line
                .contains("is not trusted (issued by an authority this machine does not trust)")
                && line.contains("set AWS_CA_BUNDLE"),
            "{run:?}"
        );
    }
    assert_eq!(portal.request_count(), 0, "no request got through");
    assert_eq!(home.credentials(), "[keep]\nregion = eu-west-1\n");
    // The chain behind the line is for -v.
    let verbose = home.run(&["-v", "-p", "dev"]);
    assert!(verbose.stderr.contains("UnknownIssuer"), "{verbose:?}");
}

#[test]
fn aws_ca_bundle_or_the_profiles_ca_bundle_makes_it_sync() {
    let ca = test_ca();
    let (mut home, portal) = tls_home(&ca);
    home.env("AWS_CA_BUNDLE", ca.ca_pem.to_str().unwrap());
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(portal.count_path("/federation/credentials"), 1);
    assert!(home.credentials().contains("[dev]"));

    // The profile's ca_bundle, as the AWS CLI reads it (`~` from HOME).
    let (home, portal) = tls_home(&ca);
    std::fs::copy(&ca.ca_pem, home.path("corp-ca.pem")).unwrap();
    home.write(
        ".aws/config",
        CONFIG.replace(
            "sso_role_name = Dev\n",
            "sso_role_name = Dev\nca_bundle = ~/corp-ca.pem\n",
        ),
    );
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(portal.count_path("/federation/credentials"), 1);
    // prod names no ca_bundle: a run of prod alone does not trust dev's.
    let run = home.run(&["-p", "prod"]);
    assert_eq!(run.code, 1, "only profiles that name it: {run:?}");
    assert!(run.stderr.contains("AWS_CA_BUNDLE"), "{run:?}");
}

#[test]
fn a_ca_bundle_that_is_not_one_is_named_with_its_source() {
    for (file, contents, needle) in [
        ("missing.pem", None, "cannot read the CA bundle"),
        ("not-pem.txt", Some("hello\n"), "holds no certificate"),
        (
            "broken.pem",
            Some("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n"),
            "is not a PEM file",
        ),
    ] {
        let mut home = Home::new();
        home.write(".aws/credentials", "[keep]\n");
        if let Some(contents) = contents {
            home.write(file, contents);
        }
        let path = home.path(file);
        home.env("AWS_CA_BUNDLE", path.to_str().unwrap());
        let run = home.run(&["-p", "dev"]);
        assert_eq!(run.code, 1, "{file}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{file}: {run:?}");
        assert!(
            run.stderr.contains(needle) && run.stderr.contains("(AWS_CA_BUNDLE)"),
            "{file}: {run:?}"
        );
        assert_eq!(home.portal.request_count(), 0);
        assert_eq!(home.credentials(), "[keep]\n");
    }
}

/// The system store costs milliseconds to load (BENCHMARKS.md): only a run that
/// makes a request loads it. `SSL_CERT_FILE` (which the system store honours)
/// names a FIFO nobody writes: reading it would block.
#[cfg(unix)]
#[test]
fn the_no_op_path_never_loads_the_trust_store() {
    let mut home = Home::new();
    assert_eq!(home.run(&["-p", "dev"]).code, 0, "entries fresh");
    let fifo = home.path("certs.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    home.env("SSL_CERT_FILE", fifo.to_str().unwrap());
    let no_op = run_bounded(home.command(&["-p", "dev"]), Duration::from_secs(10))
        .expect("the no-op run must not read the trust store");
    assert_eq!(no_op.code, 0, "{no_op:?}");
    assert!(no_op.stdout.contains("fresh"), "{no_op:?}");
    // The check can fail: a run that makes a request does read it (and blocks).
    let networked = run_bounded(
        home.command(&["--force", "-p", "dev"]),
        Duration::from_secs(3),
    );
    assert!(
        networked.is_none(),
        "a networked run loads the trust store: {networked:?}"
    );
}
