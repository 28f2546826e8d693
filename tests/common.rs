//! The test harness: a temp home with AWS files, a fake portal, and the binary.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use fake_portal::{FakePortal, IssuedCredentials};

pub const START_URL: &str = "https://corp.awsapps.com/start";
pub const REGION: &str = "eu-west-1";
pub const TOKEN: &str = "tok-corp-9f8e7d6c5b4a";

/// A config with sso-session `corp` and profiles `dev` (111111111111/Dev),
/// `prod` (222222222222/Admin) and a legacy profile `legacy` (333333333333/Ops).
pub const CONFIG: &str = "\
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Dev
region = us-east-1

[profile prod]
sso_session = corp
sso_account_id = 222222222222
sso_role_name = Admin

[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-2
sso_account_id = 333333333333
sso_role_name = Ops

[profile plain]
region = us-west-2
";

pub struct Home {
    pub dir: tempfile::TempDir,
    pub portal: FakePortal,
    pub extra_env: Vec<(String, String)>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn all_output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn sha1_hex(s: &str) -> String {
    sha1_smol::Sha1::from(s).hexdigest()
}

/// An RFC 3339 time `secs` from now.
pub fn in_secs(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Home {
    /// A home with CONFIG, a valid token for session `corp`, and a portal that
    /// grants every role in CONFIG.
    pub fn new() -> Self {
        let home = Self::bare();
        home.write(".aws/config", CONFIG);
        home.portal.add_token(TOKEN);
        home.portal.grant("111111111111", "Dev");
        home.portal.grant("222222222222", "Admin");
        home.portal.grant("333333333333", "Ops");
        home.cache_session_token("corp", TOKEN, &in_secs(3600));
        home
    }

    /// A home with nothing in it and a portal with no tokens or grants.
    pub fn bare() -> Self {
        Home {
            dir: tempfile::tempdir().unwrap(),
            portal: FakePortal::start(),
            extra_env: Vec::new(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, contents).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    pub fn credentials(&self) -> String {
        self.read(".aws/credentials")
    }

    pub fn mode(&self, rel: &str) -> u32 {
        std::fs::metadata(self.path(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    /// A token as the AWS CLI caches it for sso-session `session`.
    pub fn cache_session_token(&self, session: &str, token: &str, expires_at: &str) {
        self.write(
            &format!(".aws/sso/cache/{}.json", sha1_hex(session)),
            serde_json::json!({
                "startUrl": START_URL,
                "region": REGION,
                "accessToken": token,
                "expiresAt": expires_at,
            })
            .to_string(),
        );
    }

    /// A token as the AWS CLI caches it for a legacy profile's start URL.
    pub fn cache_legacy_token(&self, start_url: &str, region: &str, token: &str, expires_at: &str) {
        self.write(
            &format!(".aws/sso/cache/{}.json", sha1_hex(start_url)),
            serde_json::json!({
                "startUrl": start_url,
                "region": region,
                "accessToken": token,
                "expiresAt": expires_at,
            })
            .to_string(),
        );
    }

    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.extra_env.push((key.into(), value.into()));
        self
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssosync"));
        cmd.args(args)
            .env_clear()
            .env("HOME", self.dir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL_SSO", self.portal.url())
            .env("AWS_ENDPOINT_URL_SSO_OIDC", self.portal.url())
            .env("AWS_ENDPOINT_URL_STS", self.portal.url())
            .env("TZ", "UTC");
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// Starts one run per argument list, all at once (stdin closed), and waits for
    /// them all: concurrent runs against the same HOME.
    pub fn run_all<S: AsRef<str>>(&self, runs: &[Vec<S>]) -> Vec<Run> {
        let children: Vec<_> = runs
            .iter()
            .map(|args| {
                let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
                self.command(&args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        children
            .into_iter()
            .map(|child| Run::from(child.wait_with_output().unwrap()))
            .collect()
    }

    /// The credentials the portal issued for `account/role`, newest last.
    pub fn issued_for(&self, account: &str, role: &str) -> Vec<IssuedCredentials> {
        self.portal
            .issued()
            .into_iter()
            .filter(|c| c.account_id == account && c.role_name == role)
            .collect()
    }

    pub fn last_issued(&self, account: &str, role: &str) -> IssuedCredentials {
        self.issued_for(account, role)
            .pop()
            .expect("credentials were issued")
    }

    /// Every secret value the portal handed out, plus the access token.
    pub fn secrets(&self) -> Vec<String> {
        let mut all = vec![TOKEN.to_string()];
        for c in self.portal.issued() {
            all.push(c.secret_access_key);
            all.push(c.session_token);
        }
        all
    }
}

/// The keys the SDK oracle reports for files on disk ([`sdk_profiles`]).
const SDK_KEYS: [&str; 7] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "aws_credential_expiration",
    "region",
    "note",
];

/// Loads profile files with the AWS Rust SDK's own parser (an independent
/// oracle) and keeps `keys` of each profile; `None` when the SDK rejects them.
fn sdk_load(
    files: aws_runtime::env_config::file::EnvConfigFiles,
    fs: aws_types::os_shim_internal::Fs,
    keys: &[&str],
) -> Option<BTreeMap<String, BTreeMap<String, String>>> {
    let env = aws_types::os_shim_internal::Env::from_slice(&[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let set = rt
        .block_on(aws_config::profile::load(&fs, &env, &files, None))
        .ok()?;
    Some(
        set.profiles()
            .map(|name| {
                let profile = set.get_profile(name).unwrap();
                let props = keys
                    .iter()
                    .filter_map(|k| profile.get(k).map(|v| (k.to_string(), v.to_string())))
                    .collect();
                (name.to_string(), props)
            })
            .collect(),
    )
}

/// Reads profile files on disk with the AWS Rust SDK's own parser.
pub fn sdk_profiles(
    config: Option<&Path>,
    credentials: &Path,
) -> HashMap<String, HashMap<String, String>> {
    use aws_runtime::env_config::file::{
        EnvConfigFileKind as ProfileFileKind, EnvConfigFiles as ProfileFiles,
    };
    let files = ProfileFiles::builder().with_file(ProfileFileKind::Credentials, credentials);
    let files = match config {
        Some(c) => files.with_file(ProfileFileKind::Config, c),
        None => files.with_contents(ProfileFileKind::Config, ""),
    };
    sdk_load(
        files.build(),
        aws_types::os_shim_internal::Fs::real(),
        &SDK_KEYS,
    )
    .expect("the SDK parses the file")
    .into_iter()
    .map(|(name, props)| (name, props.into_iter().collect()))
    .collect()
}

/// Our parser's view of a credentials file: `keys` of each profile, merged as
/// the SDKs merge them (to compare with [`sdk_view_of`]).
pub fn our_view_of(
    file: &ssosync::profile_file::ProfileFile,
    keys: &[&str],
) -> BTreeMap<String, BTreeMap<String, String>> {
    file.profile_set(ssosync::profile_file::FileKind::Credentials)
        .profiles
        .into_iter()
        .map(|(name, props)| {
            let kept = keys
                .iter()
                .filter_map(|k| props.get(k).map(|v| (k.to_string(), v.to_string())))
                .collect();
            (name, kept)
        })
        .collect()
}

/// The SDK's view of a credentials file's text (`keys` of each profile), or
/// `None` when the SDK rejects it (it rejects a BOM, for one).
pub fn sdk_view_of(
    text: &str,
    keys: &[&str],
) -> Option<BTreeMap<String, BTreeMap<String, String>>> {
    use aws_runtime::env_config::file::{
        EnvConfigFileKind as ProfileFileKind, EnvConfigFiles as ProfileFiles,
    };
    let files = ProfileFiles::builder()
        .with_contents(ProfileFileKind::Credentials, text)
        .with_contents(ProfileFileKind::Config, "")
        .build();
    sdk_load(
        files,
        aws_types::os_shim_internal::Fs::from_slice(&[]),
        keys,
    )
}

// ---------------------------------------------------------------------------
// Reliability helpers (issue 6): scale knobs, a seeded RNG, bounded runs, extra
// SSO profiles and a scripted portal for replies the fake portal cannot make.
// ---------------------------------------------------------------------------

/// `SSOSYNC_STRESS=1` turns the quick default loops into long ones.
pub fn stress() -> bool {
    std::env::var("SSOSYNC_STRESS").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `quick` iterations by default, `long` with `SSOSYNC_STRESS=1`.
pub fn iterations(quick: usize, long: usize) -> usize {
    if stress() { long } else { quick }
}

/// A small deterministic generator (SplitMix64): no `rand` dependency, and a
/// failing run can be replayed with `SSOSYNC_SEED=<printed seed>`.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `SSOSYNC_SEED`, else from the clock; prints the seed so a
    /// failure can be reproduced.
    pub fn from_env(what: &str) -> Self {
        let seed = std::env::var("SSOSYNC_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{what}: SSOSYNC_SEED={seed}");
        Rng(seed)
    }

    pub fn seeded(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A finished run, or `None` when it had to be killed after `limit`.
pub fn run_bounded(mut cmd: Command, limit: std::time::Duration) -> Option<Run> {
    use std::io::Read;
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Drain both pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let stdout = out_thread.join().unwrap();
    let stderr = err_thread.join().unwrap();
    status.map(|s| Run {
        code: s.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// Panics if any of `secrets` appears in the run's output.
pub fn assert_no_secret_in(run: &Run, secrets: &[String], context: &str) {
    for secret in secrets {
        assert!(
            !run.all_output().contains(secret.as_str()),
            "{context}: a secret value reached the output: {run:?}"
        );
    }
}

/// The account id of extra profile `n` (see [`Home::add_sso_profiles`]).
pub fn extra_account(n: usize) -> String {
    format!("4{n:011}")
}

/// Every user-visible file under `dir`, with its bytes (symlinks as their target
/// text, folders as a marker), to prove nothing changed.
pub fn snapshot_tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let rel = path.strip_prefix(dir).unwrap().to_path_buf();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, format!("symlink -> {}", target.display()).into_bytes());
            } else if meta.is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                stack.push(path);
            } else if meta.is_file() {
                out.insert(
                    rel,
                    std::fs::read(&path)
                        .unwrap_or_else(|e| format!("<unreadable: {e}>").into_bytes()),
                );
            } else {
                out.insert(rel, b"<special>".to_vec());
            }
        }
    }
    out
}

impl Home {
    /// Adds `count` sso-session profiles `p01`… (account [`extra_account`], role
    /// `Worker`) to the config and grants them in the portal.
    pub fn add_sso_profiles(&self, count: usize) -> Vec<String> {
        let mut config = self.read(".aws/config");
        let mut names = Vec::new();
        for n in 1..=count {
            let name = format!("p{n:02}");
            config.push_str(&format!(
                "\n[profile {name}]\nsso_session = corp\nsso_account_id = {}\nsso_role_name = Worker\n",
                extra_account(n)
            ));
            self.portal.grant(&extra_account(n), "Worker");
            names.push(name);
        }
        self.write(".aws/config", config);
        names
    }

    /// Gives the legacy profile a token too, so `legacy` syncs.
    pub fn enable_legacy(&self) {
        self.cache_legacy_token(
            "https://legacy.awsapps.com/start",
            "us-east-2",
            "tok-legacy-5e4d3c2b1a",
            &in_secs(3600),
        );
        self.portal.add_token("tok-legacy-5e4d3c2b1a");
    }
}

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
