//! The loopback listener's side of HTTP: read one request head from the
//! browser, take the redirect's query parameters, answer with a small page. Just
//! enough HTTP/1.1 for one redirect; nothing from the request is ever echoed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The path the authorization-code flow registers as its redirect.
pub const CALLBACK_PATH: &str = "/oauth/callback";

/// A value from the redirect, safe to show in one terminal line.
pub fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(80)
        .collect()
}

/// Reads one HTTP request head from the browser; `None` if it is not one.
pub fn read_request(stream: &mut TcpStream) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return None;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
    }
    String::from_utf8(head).ok()
}

/// The query parameters of a `GET /oauth/callback?…` request line.
pub fn callback_params(request: &str) -> Option<Vec<(String, String)>> {
    let line = request.lines().next()?;
    let mut parts = line.split(' ');
    if parts.next()? != "GET" {
        return None;
    }
    let target = parts.next()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != CALLBACK_PATH {
        return None;
    }
    Some(
        form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}

/// A small page for the browser tab; the texts are ours, never from the request.
pub fn reply(stream: &mut TcpStream, status: u16, title: &str, text: &str) {
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>ssosync: {title}</title></head>\
         <body style=\"font-family: sans-serif; margin: 3em\"><h1>{title}</h1><p>{text}</p></body></html>\n"
    );
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_callbacks() {
        let params = callback_params(
            "GET /oauth/callback?code=a%2Bb&state=s+1&x HTTP/1.1\r\nHost: h\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            params,
            [
                ("code".to_string(), "a+b".to_string()),
                ("state".to_string(), "s 1".to_string()),
                ("x".to_string(), String::new())
            ]
        );
        assert!(callback_params("GET /favicon.ico HTTP/1.1\r\n\r\n").is_none());
        assert!(callback_params("POST /oauth/callback HTTP/1.1\r\n\r\n").is_none());
        // Malformed escapes stay as they are.
        let value = |request: &str| callback_params(request).map(|p| p[0].1.clone());
        assert_eq!(
            value("GET /oauth/callback?v=100% HTTP/1.1\r\n\r\n").as_deref(),
            Some("100%")
        );
        assert_eq!(
            value("GET /oauth/callback?v=%zz%4 HTTP/1.1\r\n\r\n").as_deref(),
            Some("%zz%4")
        );
    }
}
