//! The loopback listener's side of HTTP: read request heads from the browser
//! (each connection on its own thread, within a deadline), take the redirect's
//! query parameters, answer with a small page. Just enough HTTP/1.1 for one
//! redirect; nothing from the request is ever echoed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The path the authorization-code flow registers as its redirect.
pub const CALLBACK_PATH: &str = "/oauth/callback";

/// A value from the redirect, safe to show in one terminal line.
pub fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(80)
        .collect()
}

/// How long one connection may take to send its request head.
const READ_DEADLINE: Duration = Duration::from_secs(5);

/// Connections being read at once; beyond that, new ones are closed unread.
const MAX_READING: usize = 16;

/// The listener's connections, each read on a thread of its own within
/// min(5 s, the time left): a slow (or silent) local client neither holds the
/// sign-in past its timeout nor keeps the browser's redirect waiting.
pub struct Incoming<'l> {
    listener: &'l TcpListener,
    sender: mpsc::Sender<(TcpStream, Option<String>)>,
    heads: mpsc::Receiver<(TcpStream, Option<String>)>,
    reading: Arc<AtomicUsize>,
}

impl<'l> Incoming<'l> {
    pub fn new(listener: &'l TcpListener) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let (sender, heads) = mpsc::channel();
        Ok(Incoming {
            listener,
            sender,
            heads,
            reading: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The next request head that arrived whole, with its connection for the
    /// reply; `None` once `deadline` has passed.
    pub fn next(&mut self, deadline: Instant) -> std::io::Result<Option<(TcpStream, String)>> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            loop {
                match self.listener.accept() {
                    Ok((stream, _)) => self.read_on_a_thread(stream, deadline),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            let wait = Duration::from_millis(50).min(deadline - now);
            if let Ok((stream, Some(head))) = self.heads.recv_timeout(wait) {
                return Ok(Some((stream, head)));
            }
        }
    }

    fn read_on_a_thread(&self, mut stream: TcpStream, deadline: Instant) {
        if self.reading.fetch_add(1, Ordering::SeqCst) >= MAX_READING {
            self.reading.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        let until = deadline.min(Instant::now() + READ_DEADLINE);
        let sender = self.sender.clone();
        let reading = Arc::clone(&self.reading);
        let spawned = std::thread::Builder::new()
            .name("ssosync-redirect".into())
            .spawn(move || {
                let head = read_request(&mut stream, until);
                let _ = sender.send((stream, head));
                reading.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            self.reading.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Reads one HTTP request head, all of it by `until`; `None` if it is not one
/// or comes too slowly.
pub fn read_request(stream: &mut TcpStream, until: Instant) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return None;
        }
        let left = until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())?;
        stream.set_read_timeout(Some(left)).ok()?;
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
