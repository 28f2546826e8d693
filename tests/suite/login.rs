//! `ssosync login` and `ssosync logout` (issue 5) against the fake portal's SSO-OIDC.
//!
//! The tests play the browser: they read the authorize URL ssosync prints, ask the
//! fake's `/authorize` for the redirect, and deliver it to ssosync's loopback
//! listener, all over plain `TcpStream`s. No real browser ever opens: every run has
//! `--no-browser` or a `BROWSER` script.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::common::{CONFIG, Home, REGION, Run, START_URL, Start, TOKEN, sha1_hex, shown};

const LEGACY_URL: &str = "https://legacy.awsapps.com/start";

fn token_rel(identifier: &str) -> String {
    format!(".aws/sso/cache/{}.json", sha1_hex(identifier))
}

/// The usual home and portal, but nobody has signed in yet.
fn signed_out() -> Home {
    let home = Home::new();
    std::fs::remove_file(home.path(&token_rel("corp"))).unwrap();
    home
}

fn read_json(home: &Home, rel: &str) -> Map<String, Value> {
    serde_json::from_str(&home.read(rel)).unwrap()
}

/// Every secret the fake's SSO-OIDC and portal handed out, for leak checks.
fn all_secrets(home: &Home) -> Vec<String> {
    let mut secrets = home.secrets();
    for t in home.portal.created_tokens() {
        secrets.push(t.access_token);
        secrets.extend(t.refresh_token);
    }
    for r in home.portal.registrations() {
        secrets.push(r.client_secret);
    }
    secrets
}

fn assert_no_secrets(home: &Home, run: &Run) {
    for secret in all_secrets(home) {
        assert!(
            !run.all_output().contains(&secret),
            "a secret reached the output: {run:?}"
        );
    }
}

/// The token file a login wrote: the CLI's fields in the CLI's order, 0600, and the
/// token the fake issued last.
fn assert_login_token(home: &Home, identifier: &str, start_url: &str, region: &str) {
    let rel = token_rel(identifier);
    #[cfg(unix)]
    assert_eq!(home.mode(&rel), 0o600);
    let token = read_json(home, &rel);
    let keys: Vec<&str> = token.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "startUrl",
            "region",
            "accessToken",
            "expiresAt",
            "clientId",
            "clientSecret",
            "registrationExpiresAt",
            "refreshToken"
        ]
    );
    let created = home
        .portal
        .created_tokens()
        .pop()
        .expect("a token was created");
    let registration = home
        .portal
        .registrations()
        .into_iter()
        .find(|r| r.client_id == created.client_id)
        .expect("the token's client was registered");
    let text = |k: &str| token[k].as_str().unwrap().to_string();
    assert_eq!(text("startUrl"), start_url);
    assert_eq!(text("region"), region);
    assert_eq!(text("accessToken"), created.access_token);
    assert_eq!(Some(text("refreshToken")), created.refresh_token);
    assert_eq!(text("clientId"), registration.client_id);
    assert_eq!(text("clientSecret"), registration.client_secret);
    for k in ["expiresAt", "registrationExpiresAt"] {
        let t = text(k);
        assert!(
            t.ends_with('Z') && !t.contains('.') && t.len() == 20,
            "{k}: {t}"
        );
    }
    let expires = chrono::DateTime::parse_from_rfc3339(&text("expiresAt")).unwrap();
    let lifetime = expires.timestamp() - chrono::Utc::now().timestamp();
    let want = created.expires_in as i64;
    assert!(
        (want - 60..=want).contains(&lifetime),
        "{lifetime} vs {want}"
    );
    let registration_expires =
        chrono::DateTime::parse_from_rfc3339(&text("registrationExpiresAt")).unwrap();
    assert_eq!(
        registration_expires.timestamp(),
        registration.client_secret_expires_at
    );
}

/// Every portal call used the token the login got.
fn assert_synced_with_new_token(home: &Home) {
    let token = home.portal.created_tokens().pop().unwrap().access_token;
    let calls: Vec<_> = home
        .portal
        .requests()
        .into_iter()
        .filter(|r| r.path == "/federation/credentials")
        .collect();
    assert!(!calls.is_empty());
    for call in calls {
        assert_eq!(call.header("x-amz-sso_bearer_token"), Some(token.as_str()));
    }
}

// ---------------------------------------------------------------------------
// Playing the browser.
// ---------------------------------------------------------------------------

/// A running `ssosync` whose stderr lines arrive on a channel as it prints them.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
}

impl Running {
    fn start(home: &Home, args: &[&str]) -> Self {
        let mut child = home
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .start();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            stderr: Vec::new(),
        }
    }

    /// Waits for a stderr line that `pick` accepts.
    fn wait_for_line(&mut self, pick: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stderr.push(line.clone());
                    if pick(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "ssosync never printed the line; stderr so far: {:?}",
                    self.stderr
                ),
            }
        }
    }

    /// The authorize URL ssosync printed.
    fn authorize_url(&mut self) -> String {
        self.wait_for_line(|l| l.starts_with("http") && l.contains("/authorize?"))
    }

    fn finish(mut self) -> Run {
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let status = self.child.wait().unwrap();
        self.stderr.extend(self.lines.iter());
        let mut stderr = self.stderr.join("\n");
        stderr.push('\n');
        Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }
}

struct Response {
    status: u16,
    location: Option<String>,
    body: String,
}

/// A plain HTTP/1.1 GET of an `http://127.0.0.1:PORT/...` URL.
fn http_get(url: &str) -> Response {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let location = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("location")
            .then(|| v.trim().to_string())
    });
    Response {
        status,
        location,
        body: body.to_string(),
    }
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| decode(v))
    })
}

fn decode(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The browser's part: the fake's authorize page redirects to ssosync's listener.
fn authorize(url: &str) -> String {
    let answer = http_get(url);
    assert_eq!(answer.status, 302, "{}", answer.body);
    answer.location.expect("a redirect")
}

// ---------------------------------------------------------------------------
// Device-code flow.
// ---------------------------------------------------------------------------

#[test]
fn device_flow_polls_through_pending_and_slow_down_then_writes_the_token_and_syncs() {
    let home = signed_out();
    home.portal.set_pending_polls(3);
    home.portal.set_slow_down_once(true);
    let started = Instant::now();
    let run = home.run(&[
        "login",
        "--sso-session",
        "corp",
        "--use-device-code",
        "--no-browser",
    ]);
    let elapsed = started.elapsed();
    assert_eq!(run.code, 0, "{run:?}");

    let authorizations = home.portal.device_authorizations();
    assert_eq!(authorizations.len(), 1);
    let device = &authorizations[0];
    assert_eq!(device.start_url, START_URL);
    assert!(run.stderr.contains(&device.user_code), "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("{}/device", home.portal.url())),
        "{run:?}"
    );
    // Tried once before showing the code, three pending answers, one slow_down,
    // then the token: five polls, the last one 1 + 5 seconds after the slow_down.
    assert_eq!(home.portal.count_grant("device_code"), 5);
    assert!(elapsed >= Duration::from_secs(8), "{elapsed:?}");

    let registrations = home.portal.registrations();
    assert_eq!(registrations.len(), 1);
    let registration = &registrations[0];
    assert_eq!(registration.client_name, "ssosync");
    assert_eq!(registration.client_type, "public");
    assert_eq!(registration.scopes, ["sso:account:access"]);
    assert!(registration.grant_types.is_empty());
    assert_eq!(device.client_id, registration.client_id);

    assert_login_token(&home, "corp", START_URL, REGION);
    assert_synced_with_new_token(&home);
    assert!(
        run.stdout.contains("dev") && run.stdout.contains("prod"),
        "{run:?}"
    );
    assert!(
        !run.stdout.contains("legacy"),
        "only the session's profiles: {run:?}"
    );
    let credentials = home.credentials();
    assert!(credentials.contains(&home.last_issued("111111111111", "Dev").access_key_id));
    assert!(credentials.contains(&home.last_issued("222222222222", "Admin").access_key_id));
    assert_no_secrets(&home, &run);

    // The registration is kept beside the tokens, private, and has no token in it.
    let cached: Vec<_> = std::fs::read_dir(home.path(".aws/sso/cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("ssosync-registration-") && n.ends_with(".json"))
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    let rel = format!(".aws/sso/cache/{}", cached[0]);
    #[cfg(unix)]
    assert_eq!(home.mode(&rel), 0o600);
    assert!(!read_json(&home, &rel).contains_key("accessToken"));

    // Everything else reads the new token as its own: a sync is a no-op, and
    // once it lapses, our refresh fields refresh it.
    let again = home.run(&["-p", "dev"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("fresh"), "{again:?}");
    let mut token = read_json(&home, &token_rel("corp"));
    token.insert("expiresAt".into(), "2020-01-01T00:00:00Z".into());
    home.write(&token_rel("corp"), Value::Object(token).to_string());
    let refreshed = home.run(&["-p", "dev", "--force"]);
    assert_eq!(refreshed.code, 0, "{refreshed:?}");
    assert_eq!(home.portal.count_grant("refresh_token"), 1);
}

#[test]
fn legacy_profiles_use_the_device_flow_and_the_start_url_cache() {
    let home = signed_out();
    let run = home.run(&["login", "-p", "legacy", "--no-browser"]);
    assert_eq!(run.code, 0, "{run:?}");
    let devices = home.portal.device_authorizations();
    assert_eq!(
        devices.len(),
        1,
        "legacy sign-ins never use the browser redirect"
    );
    assert_eq!(devices[0].start_url, LEGACY_URL);
    assert_eq!(home.portal.count_grant("authorization_code"), 0);
    // The CLI registers legacy clients without scopes.
    assert!(home.portal.registrations()[0].scopes.is_empty());
    assert_login_token(&home, LEGACY_URL, LEGACY_URL, "us-east-2");
    assert!(!home.path(&token_rel("corp")).exists());
    // `-p` syncs that profile only.
    assert!(run.stdout.contains("legacy"), "{run:?}");
    assert!(!run.stdout.contains("dev"), "{run:?}");
    assert_no_secrets(&home, &run);
}

#[test]
fn a_second_login_reuses_the_client_registration() {
    let home = signed_out();
    for _ in 0..2 {
        let run = home.run(&["login", "--use-device-code", "--no-browser", "--no-sync"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.is_empty(), "--no-sync: {run:?}");
    }
    assert_eq!(home.portal.registrations().len(), 1);
    let devices = home.portal.device_authorizations();
    assert_eq!(devices.len(), 2, "an explicit login signs in again");
    assert_eq!(devices[0].client_id, devices[1].client_id);
    assert_eq!(home.portal.count_path("/federation/credentials"), 0);

    // A registration the service forgot is replaced, and the login still works.
    let rel = std::fs::read_dir(home.path(".aws/sso/cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("ssosync-registration-"))
        .unwrap();
    let mut cached = read_json(&home, &format!(".aws/sso/cache/{rel}"));
    cached.insert("clientSecret".into(), "forgotten".into());
    home.write(
        &format!(".aws/sso/cache/{rel}"),
        Value::Object(cached).to_string(),
    );
    let run = home.run(&["login", "--use-device-code", "--no-browser", "--no-sync"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.portal.registrations().len(), 2);
    assert_login_token(&home, "corp", START_URL, REGION);
}

#[test]
fn five_logins_at_once_make_one_device_authorization() {
    let home = signed_out();
    let runs = home.run_all(&vec![vec!["login", "--use-device-code", "--no-browser"]; 5]);
    for run in &runs {
        assert_eq!(run.code, 0, "{run:?}");
        assert_no_secrets(&home, run);
    }
    assert_eq!(home.portal.device_authorizations().len(), 1, "{runs:?}");
    assert_eq!(home.portal.registrations().len(), 1);
    assert_eq!(home.portal.created_tokens().len(), 1);
    let waited = runs
        .iter()
        .filter(|r| r.stderr.contains("using its token"))
        .count();
    assert_eq!(waited, 4, "{runs:?}");
    assert_login_token(&home, "corp", START_URL, REGION);
}

#[test]
fn a_denied_device_authorization_needs_a_login() {
    let home = signed_out();
    home.portal.set_auto_approve(false);
    let mut running = Running::start(&home, &["login", "--use-device-code", "--no-browser"]);
    running.wait_for_line(|l| l.contains("confirm the code"));
    let user_code = home.portal.device_authorizations()[0].user_code.clone();
    assert!(home.portal.deny_device(&user_code));
    let run = running.finish();
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("was denied"), "{run:?}");
    assert!(
        run.stderr
            .contains("run `ssosync login --sso-session corp`"),
        "{run:?}"
    );
    assert!(!home.path(&token_rel("corp")).exists());
}

// ---------------------------------------------------------------------------
// Authorization code with PKCE (the default for sso-session profiles).
// ---------------------------------------------------------------------------

#[test]
fn pkce_flow_signs_in_through_the_loopback_redirect() {
    let home = signed_out();
    let mut running = Running::start(&home, &["login", "--no-browser"]);
    let url = running.authorize_url();

    let registrations = home.portal.registrations();
    assert_eq!(registrations.len(), 1);
    let registration = &registrations[0];
    assert_eq!(registration.client_name, "ssosync");
    assert_eq!(registration.scopes, ["sso:account:access"]);
    assert_eq!(
        registration.grant_types,
        ["authorization_code", "refresh_token"]
    );
    assert_eq!(
        registration.redirect_uris,
        ["http://127.0.0.1/oauth/callback"]
    );
    assert_eq!(registration.issuer_url.as_deref(), Some(START_URL));

    assert!(
        url.starts_with(&format!("{}/authorize?", home.portal.url())),
        "{url}"
    );
    let param = |name| query_param(&url, name).unwrap_or_default();
    assert_eq!(param("response_type"), "code");
    assert_eq!(param("client_id"), registration.client_id);
    assert_eq!(param("code_challenge_method"), "S256");
    assert_eq!(param("scopes"), "sso:account:access");
    assert_eq!(param("code_challenge").len(), 43);
    assert!(param("state").len() >= 16);
    let redirect = param("redirect_uri");
    let port = redirect
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.strip_suffix("/oauth/callback"))
        .and_then(|p| p.parse::<u16>().ok());
    assert!(port.is_some_and(|p| p > 0), "{redirect}");

    let callback = authorize(&url);
    assert!(callback.starts_with(&redirect), "{callback}");
    let page = http_get(&callback);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("signed in"), "{}", page.body);

    let run = running.finish();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.portal.count_grant("authorization_code"), 1);
    assert!(home.portal.device_authorizations().is_empty());
    assert_login_token(&home, "corp", START_URL, REGION);
    assert_synced_with_new_token(&home);
    assert!(
        run.stdout.contains("dev") && run.stdout.contains("prod"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("signed in to sso-session corp"),
        "{run:?}"
    );
    assert_no_secrets(&home, &run);
}

#[test]
fn a_redirect_with_the_wrong_state_is_rejected_and_the_login_keeps_waiting() {
    let home = signed_out();
    let mut running = Running::start(&home, &["login", "--no-browser", "--no-sync"]);
    let url = running.authorize_url();
    let callback = authorize(&url);
    let state = query_param(&callback, "state").unwrap();
    let forged = callback.replace(&format!("state={state}"), "state=not-ours");
    assert_ne!(forged, callback);

    let page = http_get(&forged);
    assert_eq!(page.status, 400);
    assert!(page.body.contains("does not match"), "{}", page.body);
    running.wait_for_line(|l| l.contains("state does not match"));
    assert_eq!(
        home.portal.count_grant("authorization_code"),
        0,
        "a code that came with the wrong state is never redeemed"
    );
    // Requests that are not the callback at all get a 404 and change nothing.
    let port = query_param(&url, "redirect_uri").unwrap();
    let base = port.strip_suffix("/oauth/callback").unwrap();
    assert_eq!(http_get(&format!("{base}/favicon.ico")).status, 404);

    // The real redirect still works.
    assert_eq!(http_get(&callback).status, 200);
    let run = running.finish();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.portal.count_grant("authorization_code"), 1);
    assert_login_token(&home, "corp", START_URL, REGION);
}

#[test]
fn a_denied_browser_sign_in_says_so_and_exits_3() {
    let home = signed_out();
    home.portal.set_deny_authorize(true);
    let mut running = Running::start(&home, &["login", "--sso-session", "corp", "--no-browser"]);
    let url = running.authorize_url();
    let callback = authorize(&url);
    assert!(callback.contains("error=access_denied"), "{callback}");
    let page = http_get(&callback);
    assert_eq!(page.status, 403);
    let run = running.finish();
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains(
            "the sign-in to sso-session corp was denied in the browser; run `ssosync login --sso-session corp` to try again"
        ),
        "{run:?}"
    );
    assert!(!home.path(&token_rel("corp")).exists());
    assert_eq!(home.portal.count_grant("authorization_code"), 0);
}

#[test]
fn a_sign_in_nobody_finishes_times_out() {
    let home = signed_out();
    let run = home.run(&["login", "--no-browser", "--timeout", "2s"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("was not finished within 2s"), "{run:?}");
    assert!(run.stderr.contains("--timeout"), "{run:?}");
    assert!(!home.path(&token_rel("corp")).exists());
}

/// A local client that sends a byte every 4 s and never finishes its request.
fn slow_client(port: u16, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
            return;
        };
        for byte in b"GET /oauth/callback?code=slow".iter().cycle() {
            if stop.load(std::sync::atomic::Ordering::SeqCst) || stream.write_all(&[*byte]).is_err()
            {
                return;
            }
            std::thread::sleep(Duration::from_secs(4));
        }
    });
}

fn redirect_port(url: &str) -> u16 {
    let redirect = query_param(url, "redirect_uri").unwrap();
    redirect
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.strip_suffix("/oauth/callback"))
        .unwrap()
        .parse()
        .unwrap()
}

/// Found by hand: one slow local client (a byte every 4 s) held
/// `login --timeout 5s` for 32 s and kept the browser's redirect waiting behind
/// it. Each connection is read on its own, within min(5 s, the time left).
#[test]
fn a_slow_local_client_keeps_neither_the_redirect_nor_the_login_waiting() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let home = signed_out();
    let mut running = Running::start(
        &home,
        &[
            "login",
            "--sso-session",
            "corp",
            "--no-browser",
            "--no-sync",
        ],
    );
    let url = running.authorize_url();
    let port = redirect_port(&url);
    for _ in 0..3 {
        slow_client(port, stop.clone());
    }
    std::thread::sleep(Duration::from_millis(300));
    let callback = authorize(&url);
    let started = Instant::now();
    assert_eq!(http_get(&callback).status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the redirect waited {:?} behind slow clients",
        started.elapsed()
    );
    let run = running.finish();
    assert_eq!(run.code, 0, "{run:?}");

    // Nobody redirects, a slow client keeps trickling: --timeout still holds.
    let home = signed_out();
    let started = Instant::now();
    let mut running = Running::start(
        &home,
        &[
            "login",
            "--sso-session",
            "corp",
            "--no-browser",
            "--timeout",
            "5s",
        ],
    );
    let port = redirect_port(&running.authorize_url());
    slow_client(port, stop.clone());
    let run = running.finish();
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("was not finished within 5s"), "{run:?}");
    assert!(
        took < Duration::from_secs(8),
        "login --timeout 5s took {took:?}"
    );
}

#[test]
fn a_busy_redirect_port_is_a_clear_error() {
    let home = signed_out();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let run = home.run(&["login", "--no-browser", "--redirect-port", &port]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains(&format!("127.0.0.1:{port}")), "{run:?}");
    assert!(run.stderr.contains("--use-device-code"), "{run:?}");
}

/// A `BROWSER` that does what a person's browser would: follow the link (and
/// its redirect), with curl, or Python when curl is missing.
#[cfg(unix)]
fn browser_script(home: &mut Home) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = home.path("browser.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\n\
         echo \"$1\" >> \"$(dirname \"$0\")/opened.txt\"\n\
         if command -v curl >/dev/null 2>&1; then exec curl -fsSL -o /dev/null \"$1\"; fi\n\
         exec python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1]).read()' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

/// On Windows (where a shell script cannot be a program), the fake portal's
/// `fake-browser.exe`, built beside ssosync.exe: it notes the URL in
/// `opened.txt` and follows it and its redirect, as the script does.
#[cfg(windows)]
fn browser_script(home: &mut Home) -> String {
    let exe =
        std::path::Path::new(env!("CARGO_BIN_EXE_ssosync")).with_file_name("fake-browser.exe");
    assert!(
        exe.exists(),
        "{} is missing: build the fake portal's binaries too (cargo test --workspace)",
        exe.display()
    );
    let log = home.path("opened.txt").display().to_string();
    home.env("FAKE_BROWSER_LOG", &log);
    exe.display().to_string()
}

#[test]
fn the_browser_command_comes_from_browser_for_both_flows() {
    let mut home = signed_out();
    let browser = browser_script(&mut home);
    home.env("BROWSER", &browser);
    let run = home.run(&["login", "--timeout", "60s", "--no-sync"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.portal.count_grant("authorization_code"), 1);
    let opened = home.read("opened.txt");
    assert!(opened.contains("/authorize?response_type=code"), "{opened}");

    // Device flow: the browser gets the verification URL with the code in it,
    // and visiting it is what approves the sign-in.
    home.portal.set_auto_approve(false);
    let run = home.run(&[
        "login",
        "--use-device-code",
        "--timeout",
        "60s",
        "--no-sync",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let user_code = home.portal.device_authorizations()[0].user_code.clone();
    assert!(
        home.read("opened.txt")
            .contains(&format!("/device?user_code={user_code}")),
        "{}",
        home.read("opened.txt")
    );
}

// ---------------------------------------------------------------------------
// Which sign-in.
// ---------------------------------------------------------------------------

#[test]
fn without_arguments_login_picks_aws_profile_then_default_then_the_only_session() {
    // $AWS_PROFILE names a legacy profile: its start URL.
    let mut home = signed_out();
    home.env("AWS_PROFILE", "legacy");
    let run = home.run(&["login", "--no-browser", "--no-sync"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(home.path(&token_rel(LEGACY_URL)).exists());

    // No $AWS_PROFILE and no SSO `default`: the config's only sso-session.
    let home = signed_out();
    let run = home.run(&["login", "--use-device-code", "--no-browser", "--no-sync"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(home.path(&token_rel("corp")).exists());

    // Two sessions and nothing to choose by: a usage error that lists them.
    let home = signed_out();
    home.write(
        ".aws/config",
        format!("{CONFIG}\n[sso-session lab]\nsso_start_url = https://lab.awsapps.com/start\nsso_region = us-west-2\n"),
    );
    let run = home.run(&["login", "--no-browser"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("corp, lab"), "{run:?}");
    assert!(run.stderr.contains("--sso-session NAME"), "{run:?}");
    assert!(home.portal.requests().is_empty());

    // A session or profile that does not exist is a usage error too.
    let run = home.run(&["login", "--sso-session", "nope"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("`nope`") && run.stderr.contains("corp, lab"),
        "{run:?}"
    );
    let run = home.run(&["login", "-p", "nope"]);
    assert_eq!(run.code, 2, "{run:?}");
    let run = home.run(&["login", "-p", "plain"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("profile plain has no SSO settings"),
        "{run:?}"
    );
}

#[test]
fn login_with_a_profile_syncs_only_that_profile() {
    let home = signed_out();
    let run = home.run(&["login", "-p", "dev", "--use-device-code", "--no-browser"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("dev"), "{run:?}");
    assert!(!run.stdout.contains("prod"), "{run:?}");
    assert_login_token(&home, "corp", START_URL, REGION);
}

#[test]
fn registration_scopes_come_from_the_session() {
    let home = signed_out();
    home.write(
        ".aws/config",
        CONFIG.replace(
            "sso_region = eu-west-1\n",
            "sso_region = eu-west-1\nsso_registration_scopes = sso:account:access, codewhisperer:completions\n",
        ),
    );
    let mut running = Running::start(&home, &["login", "--no-browser", "--no-sync"]);
    let url = running.authorize_url();
    assert_eq!(
        home.portal.registrations()[0].scopes,
        ["sso:account:access", "codewhisperer:completions"]
    );
    assert_eq!(
        query_param(&url, "scopes").unwrap(),
        "sso:account:access codewhisperer:completions"
    );
    http_get(&authorize(&url));
    assert_eq!(running.finish().code, 0);
}

// ---------------------------------------------------------------------------
// Logout.
// ---------------------------------------------------------------------------

#[test]
fn logout_ends_the_session_and_deletes_the_token() {
    let home = Home::new();
    assert_eq!(home.run(&["-p", "dev", "-p", "prod"]).code, 0);
    let synced = home.credentials();
    home.portal.reset_counters();

    let run = home.run(&["logout", "--sso-session", "corp"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("signed out of sso-session corp"),
        "{run:?}"
    );
    assert!(!home.path(&token_rel("corp")).exists());
    let logouts: Vec<_> = home
        .portal
        .requests()
        .into_iter()
        .filter(|r| r.path == "/logout")
        .collect();
    assert_eq!(logouts.len(), 1);
    assert_eq!(logouts[0].header("x-amz-sso_bearer_token"), Some(TOKEN));
    assert_eq!(home.credentials(), synced, "without --clean, entries stay");
    assert!(!run.all_output().contains(TOKEN), "{run:?}");

    // Signed out: the next sync needs a login, and a second logout has nothing to do.
    assert_eq!(home.run(&["-p", "dev", "--force"]).code, 3);
    let again = home.run(&["logout"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("nothing to sign out of"), "{again:?}");
}

#[test]
fn logout_clean_removes_only_our_entries() {
    let home = Home::new();
    home.enable_legacy();
    home.write(
        ".aws/credentials",
        "# my keys\n[keys]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = longterm\n\n\
         [dev]\nregion = eu-central-1 ; mine\n",
    );
    assert_eq!(home.run(&[]).code, 0);
    // `prod` now holds someone else's long-term keys: not ours to remove.
    let text = home.credentials().replace("[prod]", "[prod-old]")
        + "\n[prod]\naws_access_key_id = AKIAPROD\naws_secret_access_key = keepme\n";
    home.write(".aws/credentials", &text);

    let run = home.run(&["logout", "-p", "dev", "--clean"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("removed [dev] from"), "{run:?}");
    let after = home.credentials();
    assert!(
        after.starts_with("# my keys\n[keys]\naws_access_key_id = AKIAEXAMPLE\n"),
        "{after}"
    );
    assert!(
        after.contains("[dev]\nregion = eu-central-1 ; mine\n"),
        "{after}"
    );
    assert!(!after.contains(&home.last_issued("111111111111", "Dev").access_key_id));
    assert!(after.contains("[prod]\naws_access_key_id = AKIAPROD\naws_secret_access_key = keepme"));
    // The legacy sign-in is another session: its entry stays.
    assert!(after.contains(&home.last_issued("333333333333", "Ops").access_key_id));
    assert!(home.path(&token_rel(LEGACY_URL)).exists());
    assert!(!home.path(&token_rel("corp")).exists());
    assert!(home.path(".aws/credentials").exists());
    assert_no_secrets(&home, &run);
}

#[test]
fn logout_clean_removes_sections_it_emptied_and_entries_written_under_other_names() {
    let home = Home::new();
    home.enable_legacy();
    let mine =
        "# my keys\n[keys]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = longterm\n";
    home.write(".aws/credentials", mine);
    assert_eq!(home.run(&["-p", "dev", "-p", "prod"]).code, 0);
    assert_eq!(home.run(&["-p", "dev:default"]).code, 0);
    // Another session's profile written under another name stays.
    assert_eq!(home.run(&["-p", "legacy:ops"]).code, 0);
    // An entry ssosync wrote from dev, since rewritten by someone else: theirs now.
    assert_eq!(home.run(&["-p", "dev:shared"]).code, 0);
    let text = home.credentials();
    let shared_key = text
        .split("[shared]\n")
        .nth(1)
        .and_then(|s| s.lines().next())
        .unwrap()
        .to_string();
    home.write(
        ".aws/credentials",
        text.replace(&shared_key, "aws_access_key_id = ASIASOMEONEELSE"),
    );
    let dev_key = home.last_issued("111111111111", "Dev").access_key_id;

    let run = home.run(&["logout", "--sso-session", "corp", "--clean"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&shown(
            "removed [dev], [prod], [default] (written from dev) from ~/.aws/credentials"
        )),
        "{run:?}"
    );
    let after = home.credentials();
    let legacy_key = home.last_issued("333333333333", "Ops").access_key_id;
    // The sections ssosync added are gone, with the blank line before each.
    let ops_and_shared = after
        .strip_prefix(mine)
        .unwrap_or_else(|| panic!("{after}"));
    assert!(ops_and_shared.starts_with("\n[ops]\n"), "{after}");
    assert!(ops_and_shared.contains(&legacy_key), "{after}");
    assert!(
        ops_and_shared.contains("\n\n[shared]\naws_access_key_id = ASIASOMEONEELSE\n"),
        "{after}"
    );
    for gone in ["[dev]", "[prod]", "[default]"] {
        assert!(!after.contains(gone), "{gone}: {after}");
    }
    assert!(!after.contains(&dev_key));
    assert_eq!(after.matches("\n\n\n").count(), 0, "{after:?}");
    // The SDK reads what is left as it was.
    let profiles = crate::common::sdk_profiles(None, &home.path(".aws/credentials"));
    assert_eq!(profiles["keys"]["aws_secret_access_key"], "longterm");
    assert!(!profiles.contains_key("default"));

    // The legacy sign-in's renamed entry goes with its own logout, and the file is
    // back to the user's text.
    home.write(
        ".aws/credentials",
        home.credentials()
            .replace(&after[after.find("\n\n[shared]").unwrap() + 1..], ""),
    );
    let run = home.run(&["logout", "-p", "legacy", "--clean"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("[ops] (written from legacy)"),
        "{run:?}"
    );
    assert_eq!(home.credentials(), mine);
    assert_no_secrets(&home, &run);
}
