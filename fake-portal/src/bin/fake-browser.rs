//! `fake-browser URL`: what a person's browser does with a sign-in link, for
//! tests that hand ssosync a `$BROWSER` (on Windows, where no shell script can
//! be one): notes the URL in the file `$FAKE_BROWSER_LOG` (one line each, when
//! set), then GETs it and follows its redirects (to ssosync's loopback
//! listener), over plain HTTP on the loopback only. Exits 1 on any failure.

#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(url), None) = (args.next(), args.next()) else {
        eprintln!("usage: fake-browser URL");
        return ExitCode::from(2);
    };
    match browse(&url) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-browser: {url}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn browse(url: &str) -> Result<(), String> {
    if let Some(log) = std::env::var_os("FAKE_BROWSER_LOG") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| format!("cannot open {}: {e}", log.to_string_lossy()))?;
        writeln!(file, "{url}").map_err(|e| e.to_string())?;
    }
    let mut next = url.to_string();
    for _ in 0..5 {
        match get(&next)? {
            (300..=399, Some(location)) => next = location,
            (200..=299, _) => return Ok(()),
            (status, _) => return Err(format!("HTTP {status}")),
        }
    }
    Err("too many redirects".into())
}

/// One `GET` of an `http://127.0.0.1:PORT/...` URL: the status and any `Location`.
fn get(url: &str) -> Result<(u16, Option<String>), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs on the loopback")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !(host.starts_with("127.0.0.1:") || host.starts_with("localhost:")) {
        return Err("only the loopback".into());
    }
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(host).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let raw = String::from_utf8_lossy(&raw);
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("not an HTTP response")?;
    let location = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("location")
            .then(|| v.trim().to_string())
    });
    Ok((status, location))
}
