//! Opening the sign-in page in the user's browser: `$BROWSER`, else the
//! desktop's opener. The URL is always one argument, never parsed by a shell,
//! and only an `https://` page (or `http://` on this machine, for a local
//! endpoint) is handed over: a URL a service sent is not to open a `file:` or
//! another handler, nor start with `-` and read as an option.

use crate::aws::endpoints::Endpoint;
use crate::config::environment::Environment;

/// Opens `url` with `$BROWSER` (a command; the URL is its one argument), else
/// the desktop's opener (the `open` crate: xdg-open and its fallbacks, WSL's
/// Windows side, macOS `open`, on Windows PowerShell's Start-Process with the URL
/// in an environment variable, then explorer.exe). The URL was printed already,
/// so a failure only says so.
pub fn open(env: &Environment, url: &str) {
    if !may_open(url) {
        eprintln!(
            "ssosync: not opening `{}` in a browser: only https:// pages are opened (http:// only on this machine); open it yourself if you trust it",
            super::loopback::printable(url)
        );
        return;
    }
    let url = url.to_string();
    let Some(program) = env.var("BROWSER").map(str::to_string) else {
        // In the background: a launcher may take a moment, and the sign-in waits anyway.
        std::thread::spawn(move || {
            if let Err(e) = open::that_detached(&url) {
                // The crate's own messages repeat the whole URL, printed already.
                let why = match (e.raw_os_error(), e.kind()) {
                    (Some(_), _) => e.to_string(),
                    (None, std::io::ErrorKind::NotFound) => {
                        "no opener such as xdg-open is installed".to_string()
                    }
                    (None, _) => "the desktop's opener failed".to_string(),
                };
                eprintln!(
                    "ssosync: cannot open a browser ({why}); set BROWSER, or open the URL above yourself"
                );
            }
        });
        return;
    };
    let child = std::process::Command::new(&program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        // Not waited for here: the browser may need our listener to finish.
        Ok(mut child) => {
            std::thread::spawn(move || {
                if let Ok(status) = child.wait()
                    && !status.success()
                {
                    eprintln!(
                        "ssosync: `{program}` could not open a browser ({status}); open the URL above yourself"
                    );
                }
            });
        }
        Err(e) => eprintln!(
            "ssosync: cannot start `{program}` to open a browser ({e}); open the URL above yourself"
        ),
    }
}

/// An `https://` URL, or an `http://` one whose host is this machine; nothing
/// with spaces or control characters.
fn may_open(url: &str) -> bool {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match Endpoint::parse(url) {
        Some(e) if e.scheme == "https" => url.starts_with("https://"),
        Some(e) if e.scheme == "http" => url.starts_with("http://") && e.is_loopback(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::may_open;

    #[test]
    fn only_https_pages_and_local_http_ones_are_opened() {
        for ok in [
            "https://oidc.eu-west-1.amazonaws.com/authorize?x=1",
            "https://device.sso.cn-north-1.amazonaws.com.cn/?user_code=AB-CD",
            "http://127.0.0.1:4321/device?user_code=X",
            "http://localhost:4566/authorize",
        ] {
            assert!(may_open(ok), "{ok}");
        }
        for refused in [
            "http://phish.example/device",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "--help",
            "HTTPS://evil.example/\n--new-window",
            "https://ok.example/ x",
            "https://ok.example/\u{7}",
            "ftp://files.example/",
            "",
        ] {
            assert!(!may_open(refused), "{refused:?}");
        }
    }
}
