//! Windows' own proxy setting (Internet Options), read from the registry when
//! no proxy variable is set. The setting is one for every process of the
//! user (here, of the Wine prefix the suite runs in), so these tests are
//! `#[ignore]`d in the suite and run alone by `scripts/windows-check.sh`
//! (`--ignored windows_settings::`); a plain `cargo test` on a Windows machine
//! never touches its user's setting.
//!
//! The proxy is a small recording forward proxy of the test's own: tinyproxy is
//! a Linux program, which the Windows build cannot start.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::common::Home;

const KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings";

/// The setting while a test runs; switched off and emptied when dropped.
struct InternetSettings;

impl InternetSettings {
    fn set(enabled: bool, server: &str, bypass: &str) -> InternetSettings {
        set_value("ProxyEnable", "REG_DWORD", if enabled { "1" } else { "0" });
        set_value("ProxyServer", "REG_SZ", server);
        set_value("ProxyOverride", "REG_SZ", bypass);
        InternetSettings
    }
}

impl Drop for InternetSettings {
    fn drop(&mut self) {
        set_value("ProxyEnable", "REG_DWORD", "0");
        for value in ["ProxyServer", "ProxyOverride"] {
            let _ = Command::new("reg")
                .args(["delete", KEY, "/v", value, "/f"])
                .output();
        }
    }
}

fn set_value(name: &str, kind: &str, data: &str) {
    reg(&["add", KEY, "/v", name, "/t", kind, "/d", data, "/f"]);
}

fn reg(args: &[&str]) {
    let out = Command::new("reg").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "reg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A forward proxy for `http://` URLs on 127.0.0.1 that records the request
/// line of each request and relays it, one request per connection.
struct RecordingProxy {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl RecordingProxy {
    fn start() -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                std::thread::spawn(move || relay(client, &log));
            }
        });
        RecordingProxy { port, seen }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// `GET http://host:port/path HTTP/1.1` and its headers → the same request
/// in origin form to host:port, with `Connection: close`; the answer back.
fn relay(client: TcpStream, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let line = line.trim_end().to_string();
    log.lock().unwrap().push(line.clone());
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let Some(rest) = target.strip_prefix("http://") else {
        let _ = (&client).write_all(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut head = format!(
        "{method} {} HTTP/1.1\r\n",
        if path.is_empty() { "/" } else { path }
    );
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((&header, ""));
        let name = name.to_ascii_lowercase();
        if name == "content-length" {
            length = value.trim().parse().unwrap_or(0);
        }
        if !matches!(
            name.as_str(),
            "connection" | "proxy-connection" | "keep-alive"
        ) {
            head.push_str(&header);
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(authority) else {
        let _ = (&client).write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    upstream.write_all(head.as_bytes()).unwrap();
    upstream.write_all(&body).unwrap();
    let mut answer = Vec::new();
    let _ = upstream.read_to_end(&mut answer);
    let _ = (&client).write_all(&answer);
}

/// The proxy the setting names carries the portal requests; its exceptions,
/// the setting switched off, or any proxy variable send them direct; a proxy
/// that is down is one line naming the setting, with nothing written.
#[test]
#[ignore = "changes the user's proxy setting: run alone (scripts/windows-check.sh)"]
fn windows_proxy_setting_is_used_when_no_variable_is_set() {
    let proxy = RecordingProxy::start();
    let mut home = Home::new();
    // `localhost`: the name the exceptions tell apart from the 127.0.0.1 the
    // suite's other portals use.
    let portal = home.portal.url().replace("127.0.0.1", "localhost");
    home.env("AWS_ENDPOINT_URL_SSO", &portal);
    let through = format!("127.0.0.1:{}", proxy.port);
    let credentials_requests = |proxy: &RecordingProxy| {
        proxy
            .requests()
            .into_iter()
            .filter(|r| r.starts_with(&format!("GET {portal}/federation/credentials?")))
            .count()
    };

    let settings = InternetSettings::set(true, &through, "127.0.0.1;*.internal");
    let run = home.run(&["--force", "-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(credentials_requests(&proxy), 1, "{:?}", proxy.requests());
    assert!(home.credentials().contains("[dev]"));
    drop(settings);

    // Exempt, or off: straight to the portal.
    let direct = |home: &Home, why: &str| {
        let before = home.portal.count_path("/federation/credentials");
        let run = home.run(&["--force", "-p", "dev"]);
        assert_eq!(run.code, 0, "{why}: {run:?}");
        assert_eq!(
            home.portal.count_path("/federation/credentials"),
            before + 1,
            "{why}"
        );
        assert_eq!(
            credentials_requests(&proxy),
            1,
            "{why}: {:?}",
            proxy.requests()
        );
    };
    for (enabled, bypass) in [
        (true, "127.0.0.1;LOCALHOST"),
        (true, "<local>"),
        (false, ""),
    ] {
        let _settings = InternetSettings::set(enabled, &through, bypass);
        direct(&home, &format!("enabled {enabled}, exceptions {bypass:?}"));
    }

    // A proxy that is down.
    let dead = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let settings = InternetSettings::set(true, &format!("127.0.0.1:{dead}"), "");
    let text = home.credentials();
    let run = home.run(&["--force", "-p", "dev"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "cannot reach the proxy http://127.0.0.1:{dead} (from Windows' proxy setting): it refused the connection; check Windows' proxy setting, or add localhost to its exceptions"
        )),
        "{run:?}"
    );
    assert_eq!(home.credentials(), text);

    // Any proxy variable, even NO_PROXY alone, and the setting is not read.
    home.env("NO_PROXY", "example.com");
    direct(&home, "NO_PROXY set");
    drop(settings);
}
