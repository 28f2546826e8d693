//! The test home and the binary runner: a temp `HOME` with the AWS files
//! (`CONFIG`, cached tokens), a fake portal granting its roles, and `Run`, the
//! outcome of one `ssosync` invocation.

use std::path::PathBuf;
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

/// `text` with its `~/…` paths as ssosync shows them on this platform: on
/// Windows with backslashes (`~\.aws\config`), elsewhere as they are.
pub fn shown(text: &str) -> String {
    if !cfg!(windows) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut in_path = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' && chars.peek() == Some(&'/') {
            in_path = true;
        } else if c.is_whitespace() || c == '`' {
            in_path = false;
        }
        out.push(if in_path && c == '/' { '\\' } else { c });
    }
    out
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

    /// A file's permission bits (Unix only: Windows has ACLs, not modes).
    #[cfg(unix)]
    pub fn mode(&self, rel: &str) -> u32 {
        use std::os::unix::fs::PermissionsExt;
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
            // Where Windows programs (and the AWS CLI there) find the home.
            .env("USERPROFILE", self.dir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL_SSO", self.portal.url())
            .env("AWS_ENDPOINT_URL_SSO_OIDC", self.portal.url())
            .env("AWS_ENDPOINT_URL_STS", self.portal.url())
            .env("TZ", "UTC");
        // A Windows program cannot open a socket without SystemRoot; the rest is
        // what any Windows process expects to find.
        #[cfg(windows)]
        for k in [
            "SystemRoot",
            "windir",
            "SystemDrive",
            "TEMP",
            "TMP",
            "PATHEXT",
            "ComSpec",
        ] {
            if let Some(v) = std::env::var_os(k) {
                cmd.env(k, v);
            }
        }
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.command(args);
        Run::from(started(|| cmd.output()))
    }

    /// Runs `program` with `script` on stdin (never as an argument), with this
    /// home's environment and the ssosync under test first on PATH.
    pub fn shell(&self, program: &str, args: &[&str], script: &str) -> (i32, String, String) {
        use std::io::Write;
        let cmd = self.command(&[]);
        let bin = std::path::Path::new(env!("CARGO_BIN_EXE_ssosync"))
            .parent()
            .unwrap()
            .to_path_buf();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut child = Command::new(program)
            .args(args)
            .env_clear()
            .envs(
                cmd.get_envs()
                    .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
            )
            .env("PATH", path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .start();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs ssosync with its stdout and stderr on a terminal (a pseudo-terminal
    /// from util-linux `script`), both read back as `stdout`. `None` (the caller
    /// skips, visibly) where `script` is missing.
    pub fn run_on_terminal(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Option<Run> {
        let available = Command::new("script")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !available {
            return None;
        }
        let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
        let line = std::iter::once(env!("CARGO_BIN_EXE_ssosync"))
            .chain(args.iter().copied())
            .map(quote)
            .collect::<Vec<_>>()
            .join(" ");
        let base = self.command(&[]);
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .env_clear()
            .envs(base.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .stdin(Stdio::null());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        Some(Run::from(cmd.output().unwrap()))
    }

    /// Starts one run per argument list, all at once (stdin closed), and waits for
    /// them all: concurrent runs against the same HOME.
    pub fn run_all<S: AsRef<str>>(&self, runs: &[Vec<S>]) -> Vec<Run> {
        let children: Vec<_> = runs
            .iter()
            .map(|args| {
                let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
                let mut cmd = self.command(&args);
                cmd.stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                started(|| cmd.spawn())
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

/// `Command::spawn`, through [`started`]: what every test that starts a
/// process and waits for it itself uses.
pub trait Start {
    fn start(&mut self) -> std::process::Child;
}

impl Start for Command {
    fn start(&mut self) -> std::process::Child {
        started(|| self.spawn())
    }
}

/// `start()`'s result, where under Wine a process that fails to start with
/// ERROR_INTERNAL_ERROR (1359), as happens now and then while many start at
/// once, is started again (up to five times).
pub fn started<T>(mut start: impl FnMut() -> std::io::Result<T>) -> T {
    for _ in 0..5 {
        match start() {
            Err(e) if cfg!(windows) && e.raw_os_error() == Some(1359) => {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            result => return result.unwrap(),
        }
    }
    start().unwrap()
}
