//! A scripted HTTP portal: a tiny server whose GetRoleCredentials replies a test
//! chooses per account (odd values, errors, hang-ups, truncation, delays), for
//! what the fake portal cannot produce.

/// How the scripted portal answers one GetRoleCredentials call.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with this JSON body.
    Json(String),
    /// An error as the portal sends it: status, `x-amzn-ErrorType`, message.
    Error(u16, &'static str),
    /// 200 with a body that is not JSON.
    Garbage,
    /// Reads the request, then closes the connection without answering.
    Hangup,
    /// Announces a body, sends half of it, closes.
    Truncated,
    /// Waits, then answers.
    Delayed(std::time::Duration, Box<Reply>),
}

/// A `roleCredentials` body with exactly these values (any strings: the JSON
/// encoder escapes newlines and quotes).
pub fn role_credentials_body(akid: &str, secret: &str, token: &str, expiration_ms: i64) -> String {
    serde_json::json!({
        "roleCredentials": {
            "accessKeyId": akid,
            "secretAccessKey": secret,
            "sessionToken": token,
            "expiration": expiration_ms,
        }
    })
    .to_string()
}

/// Milliseconds since the epoch, one hour from now.
pub fn in_one_hour_ms() -> i64 {
    (chrono::Utc::now() + chrono::Duration::hours(1)).timestamp_millis()
}

/// A tiny HTTP/1.1 server on 127.0.0.1 that answers each request with whatever
/// `script(account_id)` says: for replies the fake portal cannot produce (values
/// with newlines, per-profile faults in one run). One connection per request.
pub struct ScriptedPortal {
    addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl ScriptedPortal {
    pub fn start(script: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let (stop2, hits2) = (Arc::clone(&stop), Arc::clone(&hits));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let script = Arc::clone(&script);
                let hits = Arc::clone(&hits2);
                std::thread::spawn(move || serve_scripted(stream, &*script, &hits));
            }
        });
        ScriptedPortal { addr, stop, hits }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ScriptedPortal {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

fn serve_scripted(
    mut stream: std::net::TcpStream,
    script: &(dyn Fn(&str) -> Reply + Send + Sync),
    hits: &std::sync::atomic::AtomicUsize,
) {
    use std::io::{Read, Write};
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
    loop {
        // Read one request head; GetRoleCredentials has no body.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let head = String::from_utf8_lossy(&head);
        let target = head.split_whitespace().nth(1).unwrap_or("");
        let account = target
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("account_id="))
            .unwrap_or("")
            .to_string();
        let mut reply = script(&account);
        while let Reply::Delayed(d, inner) = reply {
            std::thread::sleep(d);
            reply = *inner;
        }
        let (status, error_type, body): (u16, Option<&str>, Vec<u8>) = match reply {
            Reply::Json(body) => (200, None, body.into_bytes()),
            Reply::Error(status, kind) => (
                status,
                Some(kind),
                format!("{{\"message\":\"scripted {kind}\"}}").into_bytes(),
            ),
            Reply::Garbage => (200, None, b"<html>not json".to_vec()),
            Reply::Hangup => return,
            Reply::Truncated => {
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"roleCredentials\":{\"accessKeyId\":\"ASIA",
                );
                return;
            }
            Reply::Delayed(..) => unreachable!(),
        };
        let mut response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(kind) = error_type {
            response.push_str(&format!("x-amzn-ErrorType: {kind}:http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/\r\n"));
        }
        response.push_str("\r\n");
        let mut bytes = response.into_bytes();
        bytes.extend_from_slice(&body);
        if stream.write_all(&bytes).is_err() {
            return;
        }
    }
}
