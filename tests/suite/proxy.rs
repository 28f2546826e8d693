//! Proxies, against a real one: Debian's `tinyproxy`, started by each test on
//! 127.0.0.1 with a log of every request it handles. Requests to SSO, SSO-OIDC
//! and STS go through it (`CONNECT` for `https://`, absolute-form requests for
//! `http://`), `NO_PROXY` bypasses it, its credentials never reach a log, and a
//! proxy that is down or refuses gives one line naming the variable. Where
//! tinyproxy is missing, outside CI, the tests say they skipped (.ci/run
//! installs it).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fake_portal::FakePortal;

use crate::common::{CONFIG, Home, TOKEN, test_ca};
use crate::suite::refresh::cache_refreshable;

struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tinyproxy {
    /// A proxy on a free port; with `auth`, it wants that user and password.
    fn start(auth: Option<(&str, &str)>) -> Option<Tinyproxy> {
        if Command::new("tinyproxy")
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            assert!(
                std::env::var_os("CI").is_none(),
                "tinyproxy is needed for the proxy tests in CI (.ci/run installs it)"
            );
            eprintln!(
                "skipped: tinyproxy is not installed (.ci/run installs it from Debian's packages)"
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("tinyproxy.log");
        let mut conf = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{}\"\nLogLevel Info\n\
             MaxClients 100\nAllow 127.0.0.1\nDisableViaHeader Yes\n",
            log.display()
        );
        if let Some((user, password)) = auth {
            conf.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        let conf_path = dir.path().join("tinyproxy.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "tinyproxy did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Tinyproxy {
            child,
            port,
            log,
            _dir: dir,
        })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests it handled: `CONNECT host:port HTTP/1.1`, `GET http://…`.
    fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once("Request (file descriptor "))
            .filter_map(|(_, rest)| rest.split_once("): "))
            .map(|(_, request)| request.to_string())
            .collect()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn https_requests_tunnel_through_the_proxy_and_no_proxy_bypasses_it() {
    let Some(proxy) = Tinyproxy::start(None) else {
        return;
    };
    let ca = test_ca();
    let portal = FakePortal::start_tls(ca.identity.clone());
    portal.add_token(TOKEN);
    portal.grant("111111111111", "Dev");
    let port = portal.addr().port();
    let mut home = Home::new();
    home.env("AWS_ENDPOINT_URL_SSO", &portal.url())
        .env("AWS_CA_BUNDLE", ca.ca_pem.to_str().unwrap());

    // Without the proxy (the control): nothing in its log.
    assert_eq!(home.run(&["--force", "-p", "dev"]).code, 0);
    assert!(proxy.requests().is_empty());

    // The lower-case spelling, as curl and the AWS CLI read it.
    home.env("https_proxy", &proxy.url());
    let run = home.run(&["--force", "-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    let tunnels: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.starts_with(&format!("CONNECT 127.0.0.1:{port} ")))
        .collect();
    assert_eq!(tunnels.len(), 1, "one tunnel: {:?}", proxy.requests());
    assert_eq!(portal.count_path("/federation/credentials"), 2);

    // NO_PROXY: straight to the portal again.
    home.env("NO_PROXY", "localhost,127.0.0.1");
    let seen = proxy.requests().len();
    let run = home.run(&["--force", "-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(proxy.requests().len(), seen, "{:?}", proxy.requests());
    assert_eq!(portal.count_path("/federation/credentials"), 3);
}

/// `http://` endpoints (the fake portal's) go through `HTTP_PROXY` as
/// absolute-form requests: SSO-OIDC's refresh, the portal and STS each show in
/// the log. The proxy's user name and password reach no output, `-vv` included.
#[test]
fn every_service_goes_through_the_proxy_and_its_password_is_never_shown() {
    let Some(proxy) = Tinyproxy::start(Some(("me", "pr0xy-s3cret"))) else {
        return;
    };
    let mut home = Home::new();
    home.write(
        ".aws/config",
        format!(
            "{CONFIG}\n[profile admin]\nrole_arn = arn:aws:iam::444444444444:role/Admin\nsource_profile = dev\n"
        ),
    );
    home.portal
        .allow_assume("arn:aws:iam::444444444444:role/Admin");
    cache_refreshable(
        &home,
        &crate::common::in_secs(-60),
        &crate::common::in_secs(86_400),
    );
    let with_password = format!("http://me:pr0xy-s3cret@127.0.0.1:{}", proxy.port);
    home.env("HTTP_PROXY", &with_password);
    let run = home.run(&["-vv", "-p", "admin"]);
    assert_eq!(run.code, 0, "{run:?}");
    let port = home.portal.addr().port();
    let requests = proxy.requests();
    for (what, line) in [
        ("SSO-OIDC", format!("POST http://127.0.0.1:{port}/token ")),
        (
            "the portal",
            format!("GET http://127.0.0.1:{port}/federation/credentials?"),
        ),
        ("STS", format!("POST http://127.0.0.1:{port}/ ")),
    ] {
        assert!(
            requests.iter().any(|r| r.starts_with(&line)),
            "{what} went through the proxy: {requests:?}"
        );
    }
    let basic = "bWU6cHIweHktczNjcmV0"; // base64 of me:pr0xy-s3cret
    for secret in ["pr0xy-s3cret", basic, "me:pr0xy"] {
        assert!(
            !run.all_output().contains(secret),
            "{secret} in the output: {run:?}"
        );
    }
    assert!(
        run.stderr.contains("http://127.0.0.1:"),
        "the route is logged"
    );

    // Without the password: one line, the variable named and the fix.
    home.env("HTTP_PROXY", &proxy.url());
    let run = home.run(&["--force", "-p", "dev"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "the proxy http://127.0.0.1:{} (from HTTP_PROXY) asks for a user name and password",
            proxy.port
        )),
        "{run:?}"
    );
}

#[test]
fn a_tunnel_that_needs_a_password_says_so() {
    let Some(proxy) = Tinyproxy::start(Some(("me", "pw"))) else {
        return;
    };
    let ca = test_ca();
    let portal = FakePortal::start_tls(ca.identity.clone());
    portal.add_token(TOKEN);
    portal.grant("111111111111", "Dev");
    let mut home = Home::new();
    home.env("AWS_ENDPOINT_URL_SSO", &portal.url())
        .env("AWS_CA_BUNDLE", ca.ca_pem.to_str().unwrap())
        .env("HTTPS_PROXY", &proxy.url());
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.lines().count() == 1
            && run
                .stderr
                .contains("(from HTTPS_PROXY) asks for a user name and password"),
        "{run:?}"
    );
    home.env(
        "HTTPS_PROXY",
        &format!("http://me:pw@127.0.0.1:{}", proxy.port),
    );
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
}

/// A proxy that is down: each profile fails at once with one line naming the
/// variable; a proxy ssosync cannot use fails the run before any request.
#[test]
fn an_unreachable_proxy_is_one_line_naming_the_variable() {
    let dead = free_port();
    for (variable, endpoint) in [
        (
            "HTTPS_PROXY",
            Some("https://portal.sso.eu-west-1.amazonaws.com"),
        ),
        ("HTTP_PROXY", None),
        ("ALL_PROXY", None),
    ] {
        let mut home = Home::new();
        home.write(".aws/credentials", "[keep]\n");
        if let Some(endpoint) = endpoint {
            home.env("AWS_ENDPOINT_URL_SSO", endpoint);
        }
        home.env(variable, &format!("http://127.0.0.1:{dead}"));
        let start = Instant::now();
        let run = home.run(&["-p", "dev", "-p", "prod"]);
        assert!(start.elapsed() < Duration::from_secs(10), "{variable}");
        assert_eq!(run.code, 1, "{variable}: {run:?}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{variable}: one line per profile: {run:?}");
        assert!(
            lines.iter().all(|l| l.contains(&format!(
                "cannot reach the proxy http://127.0.0.1:{dead} (from {variable}): it refused the connection; check {variable}, or add "
            )) && l.contains(" to NO_PROXY")),
            "{variable}: {run:?}"
        );
        assert_eq!(home.credentials(), "[keep]\n");
        assert_eq!(home.portal.request_count(), 0);
    }

    let mut home = Home::new();
    home.env("ALL_PROXY", "socks5://127.0.0.1:1080");
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(
        run.stderr
            .contains("ALL_PROXY is a socks5:// proxy; ssosync (like the AWS CLI) uses http:// and https:// proxies only"),
        "{run:?}"
    );
    assert_eq!(home.portal.request_count(), 0);
}
