//! `ssosync login` and `ssosync logout`: signing in to IAM Identity Center without
//! the AWS CLI, and out again.
//!
//! A login registers ssosync as an SSO-OIDC client (cached, see `registration`),
//! gets a token with the authorization-code flow (PKCE, a loopback redirect to
//! 127.0.0.1) or the device-code flow, writes it where the CLI caches it, then syncs.
//! The whole sign-in runs under the session's token-cache lock (the one a refresh
//! takes), so several ssosync processes asking at once open one browser tab: the
//! others wait, see the new token and use it.
//!
//! Exit codes: a sign-in that ends without a token because of the sign-in itself
//! (denied, timed out, code expired, grant refused) is 3, as the user still has to
//! log in; setup problems (config, files, network, the redirect port) are 1.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use tokio::runtime::Runtime;

use crate::auth::oidc::{self, Grant, GrantError, IssuedToken, Registration};
use crate::auth::registration::{self, ClientSpec, DEFAULT_SCOPE, Flow};
use crate::auth::token_cache::{self, TokenProblem, cache_file_name};
use crate::aws::clients::{ClientFactory, ClientSettings};
use crate::cli::{CommonArgs, LoginArgs, LogoutArgs, SignInArgs, SyncArgs};
use crate::config::environment::{Environment, read_optional};
use crate::config::profile_file::{FileKind, ProfileFile, ProfileSet, SectionName};
use crate::config::profiles::{ProfileConfig, ProfileKind, SignIn};
use crate::exit::Exit;
use crate::secret::Secret;
use crate::store::credentials::{
    ACCESS_KEY_ID, EXPIRATION, SECRET_ACCESS_KEY, SECURITY_TOKEN, SESSION_TOKEN, YAWSSO_EXPIRATION,
};
use crate::store::safe_write;
use crate::timefmt::{describe_duration, describe_expiry};
use crate::{Fatal, init_logging, load_config, sync_command};

/// Bound on each OIDC/portal request (the sign-in itself has `--timeout`).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A token another process got while we waited is used if it lasts this long
/// (the AWS CLI treats a token as expired 15 minutes before `expiresAt`).
const FRESH_ENOUGH: Duration = Duration::from_secs(15 * 60);
/// PKCE code verifier length and alphabet (RFC 7636 unreserved characters).
const VERIFIER_LEN: usize = 64;
const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
const CALLBACK_PATH: &str = "/oauth/callback";

/// The sign-in a login or logout is about.
#[derive(Debug)]
struct Target {
    sign_in: SignIn,
    /// `sso_registration_scopes`, or the default; empty for legacy sign-ins.
    scopes: Vec<String>,
    /// Every profile whose credentials come from this sign-in (SSO profiles and the
    /// role chains starting at one), in name order.
    session_profiles: Vec<String>,
    /// The profile named with `-p`, when it has credentials of its own.
    profile: Option<String>,
    /// How messages name it: `sso-session corp`, `profile legacy`.
    label: String,
    /// The arguments that pick it again: `--sso-session corp`, `-p legacy`.
    again: String,
}

impl Target {
    fn login_command(&self) -> String {
        format!("ssosync login {}", self.again)
    }
}

/// Why a login ended without a token; the variant decides the exit code.
enum LoginError {
    /// The sign-in itself did not happen: exit 3.
    NotSignedIn(String),
    /// Config, files, network: exit 1.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for LoginError {
    fn from(e: anyhow::Error) -> Self {
        LoginError::Other(e)
    }
}

/// `ssosync login`.
pub fn run_login(args: &LoginArgs, env: &Environment) -> Result<Exit, Fatal> {
    init_logging(args.verbose);
    let target = resolve_target(&args.sign_in, env)?;
    let token_path = env
        .sso_cache_dir()?
        .join(cache_file_name(target.sign_in.cache_identifier()));
    let expires_at = match sign_in(&target, args, env, &token_path) {
        Ok(expires_at) => expires_at,
        Err(LoginError::NotSignedIn(message)) => {
            eprintln!("ssosync: {message}");
            return Ok(Exit::LoginRequired);
        }
        Err(LoginError::Other(e)) => {
            return Err(Fatal::Other(
                e.context(format!("cannot sign in to {}", target.label)),
            ));
        }
    };
    if !args.quiet {
        eprintln!(
            "ssosync: signed in to {}; the token is valid until {}",
            target.label,
            describe_expiry(expires_at, Utc::now())
        );
    }
    if args.no_sync {
        return Ok(Exit::Ok);
    }
    let profiles = match &target.profile {
        Some(profile) => vec![profile.clone()],
        None => target.session_profiles.clone(),
    };
    if profiles.is_empty() {
        if !args.quiet {
            eprintln!(
                "ssosync: no profile gets role credentials from {}; nothing to sync",
                target.label
            );
        }
        return Ok(Exit::Ok);
    }
    let sync = SyncArgs {
        profiles,
        force: args.force,
        region: args.region,
        dry_run: false,
        common: CommonArgs {
            min_ttl: Duration::from_secs(15 * 60),
            json: args.json,
            quiet: args.quiet,
            verbose: args.verbose,
            timeout: REQUEST_TIMEOUT,
            concurrency: 32,
        },
    };
    sync_command(&sync, env)
}

/// Picks the sign-in from `--sso-session`, `-p`, or the defaults.
fn resolve_target(args: &SignInArgs, env: &Environment) -> Result<Target, Fatal> {
    let config = load_config(env)?;
    // load_config parsed the file already; this second parse cannot fail on the
    // same text, and gives the sso-session sections ProfileConfig does not keep.
    let path = env.config_path()?;
    let shown = env.display_path(&path);
    let text = read_optional(&path, &shown)?.unwrap_or_default();
    let set = ProfileFile::parse(&text)
        .map_err(|e| anyhow!("{shown} {e}; fix that line"))?
        .profile_set(FileKind::Config);
    let sessions = || {
        let mut names: Vec<&str> = set.sso_sessions.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    };
    if let Some(name) = &args.sso_session {
        if !set.sso_sessions.contains_key(name) {
            let known = sessions();
            return Err(Fatal::Usage(if known.is_empty() {
                format!(
                    "sso-session `{name}` is not in {shown}, which defines none; add a [sso-session {name}] section (`aws configure sso-session`)"
                )
            } else {
                format!(
                    "sso-session `{name}` is not in {shown}; it defines {}",
                    known.join(", ")
                )
            }));
        }
        return session_target(name, &set, &config, &shown).map_err(Fatal::Other);
    }
    if let Some(name) = &args.profile {
        return profile_target(name, &set, &config, &shown, true);
    }
    // No choice given: $AWS_PROFILE's profile, then `default`, when they are SSO
    // profiles; then the only sso-session.
    for name in [env.var("AWS_PROFILE"), Some("default")]
        .into_iter()
        .flatten()
    {
        if matches!(config.get(name), Some(ProfileKind::Other(_)) | None) {
            continue;
        }
        return profile_target(name, &set, &config, &shown, false);
    }
    match sessions().as_slice() {
        [only] => session_target(only, &set, &config, &shown).map_err(Fatal::Other),
        [] => Err(Fatal::Usage(format!(
            "{shown} has no sso-session and no SSO profile named by $AWS_PROFILE or `default`; name one with -p PROFILE or --sso-session NAME"
        ))),
        several => Err(Fatal::Usage(format!(
            "which sign-in? {shown} has sso-sessions {}; choose one with --sso-session NAME (or -p PROFILE)",
            several.join(", ")
        ))),
    }
}

fn session_target(
    name: &str,
    set: &ProfileSet,
    config: &ProfileConfig,
    shown: &str,
) -> anyhow::Result<Target> {
    let section = &set.sso_sessions[name];
    let value = |key: &str| {
        section
            .get(key)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                anyhow!("[sso-session {name}] in {shown} has no {key}; add it to that section")
            })
    };
    let sign_in = SignIn::Session {
        name: name.to_string(),
        start_url: value("sso_start_url")?,
        region: value("sso_region")?,
    };
    let mut scopes: Vec<String> = section
        .get("sso_registration_scopes")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        scopes.push(DEFAULT_SCOPE.to_string());
    }
    Ok(Target {
        session_profiles: profiles_of(config, &sign_in),
        sign_in,
        scopes,
        profile: None,
        label: format!("sso-session {name}"),
        again: format!("--sso-session {name}"),
    })
}

/// The sign-in of profile `name`. `narrow`: a profile named with `-p` is the only
/// one synced afterwards.
fn profile_target(
    name: &str,
    set: &ProfileSet,
    config: &ProfileConfig,
    shown: &str,
    narrow: bool,
) -> Result<Target, Fatal> {
    let sign_in = match config.get(name) {
        None => {
            return Err(Fatal::Usage(format!(
                "profile `{name}` is not in {shown}; check the name with `aws configure list-profiles`"
            )));
        }
        Some(ProfileKind::Sso(p)) => p.sign_in.clone(),
        Some(ProfileKind::Chained(c)) => c.root.sign_in.clone(),
        Some(ProfileKind::TokenOnly) => {
            // An sso-session profile without a role: it stands for its session.
            let session = set
                .profiles
                .get(name)
                .and_then(|p| p.get("sso_session"))
                .unwrap_or_default();
            return session_target(session, set, config, shown).map_err(Fatal::Other);
        }
        Some(ProfileKind::Misconfigured(reason)) => {
            return Err(Fatal::Other(anyhow!("profile {name}: {reason}")));
        }
        Some(ProfileKind::Other(_)) => {
            return Err(Fatal::Other(anyhow!(
                "profile {name} has no SSO settings (sso_session or sso_start_url) and no role chain from one; there is nothing to sign in to"
            )));
        }
    };
    let mut target = match &sign_in {
        SignIn::Session { name: session, .. } => {
            session_target(session, set, config, shown).map_err(Fatal::Other)?
        }
        SignIn::Legacy { start_url, .. } => Target {
            session_profiles: profiles_of(config, &sign_in),
            sign_in: sign_in.clone(),
            scopes: Vec::new(),
            profile: None,
            label: format!("{start_url} (profile {name})"),
            again: format!("-p {name}"),
        },
    };
    if narrow {
        target.profile = Some(name.to_string());
    }
    Ok(target)
}

/// Every profile whose credentials come from `sign_in`.
fn profiles_of(config: &ProfileConfig, sign_in: &SignIn) -> Vec<String> {
    config
        .profiles
        .iter()
        .filter(|(_, kind)| match kind {
            ProfileKind::Sso(p) => &p.sign_in == sign_in,
            ProfileKind::Chained(c) => &c.root.sign_in == sign_in,
            _ => false,
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Signs in under the session's lock and writes the token; returns its expiry.
fn sign_in(
    target: &Target,
    args: &LoginArgs,
    env: &Environment,
    token_path: &Path,
) -> Result<DateTime<Utc>, LoginError> {
    // What the cache held when we started: if it changes while we wait for the
    // lock, another process signed in (or refreshed) and we use its token.
    let before = std::fs::read(token_path).ok();
    let _lock = match safe_write::lock(token_path, Duration::ZERO) {
        Ok(lock) => lock,
        Err(_) => {
            eprintln!(
                "ssosync: another ssosync is signing in to {}; waiting for it",
                target.label
            );
            safe_write::lock(token_path, args.timeout + Duration::from_secs(60))?
        }
    };
    // A login or refresh killed mid-write leaves a temp file holding tokens.
    safe_write::remove_stale_temp_files(token_path);
    let now = Utc::now();
    if std::fs::read(token_path).ok() != before
        && let Ok(Some(token)) = token_cache::read_token_file(token_path)
        && token.expires_at > crate::timefmt::add_saturating(now, FRESH_ENOUGH)
    {
        if !args.quiet {
            eprintln!(
                "ssosync: another ssosync signed in to {} meanwhile; using its token",
                target.label
            );
        }
        return Ok(token.expires_at);
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let clients = ClientFactory::new(ClientSettings::from_env(env, REQUEST_TIMEOUT));
    let login = Login {
        target,
        args,
        env,
        runtime: &runtime,
        client: clients.oidc(target.sign_in.region()),
    };
    let flow = match (&target.sign_in, args.use_device_code) {
        (SignIn::Session { .. }, false) => Flow::AuthorizationCode,
        _ => Flow::DeviceCode,
    };
    let session = match &target.sign_in {
        SignIn::Session { name, .. } => Some(name.as_str()),
        SignIn::Legacy { .. } => None,
    };
    let spec = ClientSpec {
        session,
        start_url: target.sign_in.start_url(),
        region: target.sign_in.region(),
        scopes: &target.scopes,
        flow,
    };
    let registration_path = spec.cache_path(&env.sso_cache_dir()?);
    // Good for the whole sign-in, and a while after.
    let good_until =
        crate::timefmt::add_saturating(now, args.timeout + Duration::from_secs(15 * 60));
    let (mut registration, mut reused) =
        match registration::read_cached(&registration_path, good_until) {
            Some(cached) => (cached, true),
            None => (login.register(&spec, &registration_path)?, false),
        };
    let token = loop {
        let result = match flow {
            Flow::AuthorizationCode => login.authorization_code(&registration),
            Flow::DeviceCode => login.device_code(&registration),
        };
        match result {
            Err(Failure::InvalidClient) if reused => {
                tracing::info!("the cached client registration was refused; registering again");
                registration::remove_cached(&registration_path);
                registration = login.register(&spec, &registration_path)?;
                reused = false;
            }
            Err(Failure::InvalidClient) => {
                return Err(LoginError::Other(anyhow!(
                    "SSO-OIDC refused the client registration it just made"
                )));
            }
            Err(Failure::Login(e)) => return Err(e),
            Ok(token) => break token,
        }
    };
    token_cache::write_login(
        token_path,
        target.sign_in.start_url(),
        target.sign_in.region(),
        &token,
        &registration,
    )
    .with_context(|| format!("cannot write the token to {}", env.display_path(token_path)))?;
    tracing::info!(cache = %env.display_path(token_path), "wrote the SSO token");
    Ok(token.expires_at)
}

/// How one attempt at a flow failed: a bad registration is retried once.
enum Failure {
    InvalidClient,
    Login(LoginError),
}

impl From<LoginError> for Failure {
    fn from(e: LoginError) -> Self {
        Failure::Login(e)
    }
}

/// One sign-in in progress.
struct Login<'a> {
    target: &'a Target,
    args: &'a LoginArgs,
    env: &'a Environment,
    runtime: &'a Runtime,
    client: aws_sdk_ssooidc::Client,
}

impl Login<'_> {
    fn register(&self, spec: &ClientSpec, path: &Path) -> Result<Registration, LoginError> {
        let registration = self
            .runtime
            .block_on(oidc::register_client(&self.client, &spec.request()))
            .map_err(|e| LoginError::Other(anyhow!(e)))?;
        tracing::info!(client_id = %registration.client_id, "registered ssosync with SSO-OIDC");
        if let Err(e) = registration::write_cached(path, spec, &registration) {
            // This login still works; the next one registers again.
            eprintln!(
                "ssosync: warning: cannot keep the client registration in {}: {e:#}",
                self.env.display_path(path)
            );
        }
        Ok(registration)
    }

    /// The failure for a grant that did not give a token.
    fn grant_failed(&self, e: GrantError) -> Failure {
        let again = self.target.login_command();
        let label = &self.target.label;
        Failure::Login(match e {
            GrantError::InvalidClient => return Failure::InvalidClient,
            GrantError::Denied => LoginError::NotSignedIn(format!(
                "the sign-in to {label} was denied; run `{again}` to try again"
            )),
            GrantError::Expired => LoginError::NotSignedIn(format!(
                "the sign-in to {label} expired before it was finished; run `{again}` again"
            )),
            GrantError::Pending | GrantError::SlowDown => LoginError::NotSignedIn(format!(
                "the sign-in to {label} was not confirmed; run `{again}` again"
            )),
            GrantError::Failed(message) => LoginError::Other(anyhow!(message)),
        })
    }

    fn timed_out(&self) -> Failure {
        Failure::Login(LoginError::NotSignedIn(format!(
            "the sign-in to {} was not finished within {}; run `{}` again (--timeout gives it longer)",
            self.target.label,
            describe_duration(self.args.timeout),
            self.target.login_command()
        )))
    }

    /// Authorization code with PKCE: the browser signs in and is redirected to a
    /// listener on 127.0.0.1 with the code, which we exchange with the verifier.
    fn authorization_code(&self, registration: &Registration) -> Result<IssuedToken, Failure> {
        let deadline = Instant::now() + self.args.timeout;
        let port = self.args.redirect_port.unwrap_or(0);
        let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
            LoginError::Other(anyhow!(
                "cannot listen on 127.0.0.1:{port} for the browser's redirect ({e}); choose another --redirect-port, or use --use-device-code"
            ))
        })?;
        let port = listener
            .local_addr()
            .context("cannot read the listener's port")
            .map_err(LoginError::Other)?
            .port();
        let redirect_uri = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
        let verifier = Secret::new(random_text(VERIFIER_LEN, UNRESERVED)?);
        let state = random_text(32, &UNRESERVED[..62])?;
        let url = authorize_url(
            &oidc_endpoint(self.env, self.target.sign_in.region()),
            &registration.client_id,
            &redirect_uri,
            &state,
            &self.target.scopes,
            &pkce_challenge(&verifier),
        );
        if self.args.no_browser {
            eprintln!(
                "ssosync: to sign in to {}, open this URL in a browser on this computer:\n{url}",
                self.target.label
            );
        } else {
            eprintln!(
                "ssosync: opening the sign-in page for {} in your browser; if it does not open, open this URL on this computer:\n{url}",
                self.target.label
            );
            open_browser(self.env, &url);
        }
        let (code, mut browser) = self.wait_for_code(&listener, &state, deadline)?;
        let result = self.runtime.block_on(oidc::create_token(
            &self.client,
            registration,
            Grant::AuthorizationCode {
                code: &code,
                redirect_uri: &redirect_uri,
                code_verifier: &verifier,
            },
            Utc::now(),
        ));
        match &result {
            Ok(_) => reply(
                &mut browser,
                200,
                "Signed in",
                "ssosync is signed in. You can close this tab and return to the terminal.",
            ),
            Err(_) => reply(
                &mut browser,
                500,
                "Sign-in failed",
                "ssosync could not finish the sign-in. The terminal says why.",
            ),
        }
        result.map_err(|e| self.grant_failed(e))
    }

    /// Serves the loopback listener until a redirect with our `state` arrives.
    /// A redirect with any other state (not the one we sent, so not our browser's)
    /// is answered with an error page and ignored: we keep waiting for ours.
    fn wait_for_code(
        &self,
        listener: &TcpListener,
        state: &str,
        deadline: Instant,
    ) -> Result<(Secret, TcpStream), Failure> {
        listener
            .set_nonblocking(true)
            .context("cannot set up the redirect listener")
            .map_err(LoginError::Other)?;
        loop {
            if Instant::now() >= deadline {
                return Err(self.timed_out());
            }
            let mut stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(
                        LoginError::Other(anyhow!("the redirect listener failed: {e}")).into(),
                    );
                }
            };
            let Some(request) = read_request(&mut stream) else {
                continue;
            };
            let Some(params) = callback_params(&request) else {
                reply(
                    &mut stream,
                    404,
                    "Not found",
                    "This is ssosync's sign-in listener.",
                );
                continue;
            };
            let param = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            if param("state") != Some(state) {
                reply(
                    &mut stream,
                    400,
                    "Wrong sign-in",
                    "This sign-in response does not belong to the sign-in ssosync is waiting for (its state does not match), so it was ignored.",
                );
                eprintln!(
                    "ssosync: ignored a browser redirect whose state does not match this sign-in; still waiting"
                );
                continue;
            }
            if let Some(error) = param("error") {
                reply(
                    &mut stream,
                    403,
                    "Sign-in not completed",
                    "The sign-in was not completed. The terminal says what to do next.",
                );
                let again = self.target.login_command();
                let error = printable(error);
                return Err(LoginError::NotSignedIn(if error == "access_denied" {
                    format!(
                        "the sign-in to {} was denied in the browser; run `{again}` to try again",
                        self.target.label
                    )
                } else {
                    format!(
                        "the sign-in to {} failed in the browser ({error}); run `{again}` to try again",
                        self.target.label
                    )
                })
                .into());
            }
            match param("code").filter(|c| !c.is_empty()) {
                Some(code) => return Ok((Secret::new(code), stream)),
                None => {
                    reply(
                        &mut stream,
                        400,
                        "Sign-in response without a code",
                        "The sign-in response has no authorization code, so it was ignored.",
                    );
                }
            }
        }
    }

    /// Device code: the person confirms a short code at a verification page,
    /// on any device, while we poll CreateToken.
    fn device_code(&self, registration: &Registration) -> Result<IssuedToken, Failure> {
        let started = Instant::now();
        let authorization = self
            .runtime
            .block_on(oidc::start_device_authorization(
                &self.client,
                registration,
                self.target.sign_in.start_url(),
            ))
            .map_err(|e| self.grant_failed(e))?;
        let code_deadline = started + authorization.expires_in;
        let deadline = code_deadline.min(started + self.args.timeout);
        let mut interval = authorization.interval;
        let poll = || {
            self.runtime.block_on(oidc::create_token(
                &self.client,
                registration,
                Grant::DeviceCode(&authorization.device_code),
                Utc::now(),
            ))
        };
        // Once before showing the code: a pre-authorized client needs no person.
        let mut shown = false;
        loop {
            match poll() {
                Ok(token) => return Ok(token),
                Err(GrantError::Pending) => {}
                Err(GrantError::SlowDown) => interval += Duration::from_secs(5),
                Err(e) => return Err(self.grant_failed(e)),
            }
            if !shown {
                self.show_device_code(&authorization);
                shown = true;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(if deadline == code_deadline {
                    self.grant_failed(GrantError::Expired)
                } else {
                    self.timed_out()
                });
            }
            std::thread::sleep(interval.min(deadline - now));
        }
    }

    fn show_device_code(&self, authorization: &oidc::DeviceAuthorization) {
        eprintln!(
            "ssosync: to sign in to {}, open {} and confirm the code {}",
            self.target.label, authorization.verification_uri, authorization.user_code
        );
        if let Some(complete) = &authorization.verification_uri_complete {
            eprintln!("ssosync: (or open {complete}, which has the code in it)");
            if !self.args.no_browser {
                open_browser(self.env, complete);
            }
        }
    }
}

/// Where the browser goes to sign in: SSO-OIDC's authorize endpoint, or the
/// endpoint override (`AWS_ENDPOINT_URL_SSO_OIDC`, `AWS_ENDPOINT_URL`).
fn oidc_endpoint(env: &Environment, region: &str) -> String {
    env.endpoint("SSO_OIDC")
        .map(|url| url.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("https://oidc.{region}.amazonaws.com"))
}

/// The authorize URL, with the parameters in the order the AWS CLI sends them.
fn authorize_url(
    endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    scopes: &[String],
    challenge: &str,
) -> String {
    let params = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("code_challenge_method", "S256"),
        ("scopes", &scopes.join(" ")),
        ("code_challenge", challenge),
    ];
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect();
    format!("{endpoint}/authorize?{}", query.join("&"))
}

/// The S256 code challenge: base64url (no padding) of the verifier's SHA-256.
fn pkce_challenge(verifier: &Secret) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.expose().as_bytes());
    base64url(digest.as_ref())
}

/// `len` characters drawn uniformly from `alphabet` with the system's CSPRNG.
fn random_text(len: usize, alphabet: &[u8]) -> Result<String, LoginError> {
    use ring::rand::SecureRandom;
    let rng = ring::rand::SystemRandom::new();
    // Bytes at or above the largest multiple of the alphabet's size are dropped,
    // so every character is equally likely.
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rng.fill(&mut buf)
            .map_err(|_| LoginError::Other(anyhow!("the system's random generator failed")))?;
        for &b in &buf {
            if usize::from(b) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
    }
    Ok(out)
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` and `+` (a space, in a query); malformed escapes stay as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| char::from(b).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A value from the redirect, safe to show in one terminal line.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(80)
        .collect()
}

/// Reads one HTTP request head from the browser; `None` if it is not one.
fn read_request(stream: &mut TcpStream) -> Option<String> {
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
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8(head).ok()
}

/// The query parameters of a `GET /oauth/callback?…` request line.
fn callback_params(request: &str) -> Option<Vec<(String, String)>> {
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
        query
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect(),
    )
}

/// A small page for the browser tab; the texts are ours, never from the request.
fn reply(stream: &mut TcpStream, status: u16, title: &str, text: &str) {
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

/// Opens `url` with `$BROWSER` (a command; the URL is its one argument), else
/// the desktop's opener. The URL was printed already, so a failure only says so.
fn open_browser(env: &Environment, url: &str) {
    let default = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let program = env.var("BROWSER").unwrap_or(default).to_string();
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

/// `ssosync logout`.
pub fn run_logout(args: &LogoutArgs, env: &Environment) -> Result<Exit, Fatal> {
    init_logging(args.verbose);
    let target = resolve_target(&args.sign_in, env)?;
    let token_path = env
        .sso_cache_dir()?
        .join(cache_file_name(target.sign_in.cache_identifier()));
    let shown = env.display_path(&token_path);
    let say = |line: String| {
        if !args.quiet {
            println!("{line}");
        }
    };
    {
        let _lock = safe_write::lock(&token_path, Duration::from_secs(60))?;
        match token_cache::read_token_file(&token_path) {
            Ok(Some(token)) => {
                if let Err(why) = portal_logout(env, &target, &token.token) {
                    eprintln!(
                        "ssosync: warning: the portal did not confirm the sign-out of {} ({why}); the cached token is deleted anyway",
                        target.label
                    );
                }
                remove_file(&token_path, &shown)?;
                say(format!("signed out of {}; deleted {shown}", target.label));
            }
            Ok(None) if !token_path.exists() => {
                say(format!(
                    "no cached token for {}; nothing to sign out of",
                    target.label
                ));
            }
            // A file there without a token, or one we cannot read: the sign-in's
            // cache entry is useless either way.
            Ok(None) | Err(TokenProblem::Unreadable { .. }) | Err(TokenProblem::Missing) => {
                remove_file(&token_path, &shown)?;
                say(format!(
                    "deleted the unusable token file {shown} of {}",
                    target.label
                ));
            }
        }
    }
    if args.clean {
        let cleaned = clean_credentials(env, &target.session_profiles)?;
        let creds = env.display_path(&env.credentials_path()?);
        if cleaned.is_empty() {
            say(format!(
                "no entries written by ssosync for {} in {creds}",
                target.label
            ));
        } else {
            say(format!(
                "removed the credentials of {} from {creds}",
                cleaned.join(", ")
            ));
        }
    }
    Ok(Exit::Ok)
}

fn remove_file(path: &Path, shown: &str) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot delete {shown}; delete it yourself")),
    }
}

/// The portal's Logout: ends the session at IAM Identity Center. A token the
/// portal no longer accepts is signed out already.
fn portal_logout(env: &Environment, target: &Target, token: &Secret) -> Result<(), String> {
    use aws_sdk_sso::error::{ProvideErrorMetadata, SdkError};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let client = ClientFactory::new(ClientSettings::from_env(env, REQUEST_TIMEOUT))
        .sso(target.sign_in.region());
    let result = runtime.block_on(client.logout().access_token(token.expose()).send());
    match result {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(e)) if e.err().is_unauthorized_exception() => Ok(()),
        Err(SdkError::ServiceError(e)) => Err(format!(
            "the portal answered {}",
            e.err().code().unwrap_or("an unknown error")
        )),
        Err(SdkError::TimeoutError(_)) => Err("the portal did not answer in time".into()),
        Err(SdkError::DispatchFailure(_)) => Err("cannot reach the portal".into()),
        Err(_) => Err("the portal sent an unusable response".into()),
    }
}

/// Keys ssosync writes into an entry (`region` is left: people set it too).
const OUR_KEYS: [&str; 6] = [
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    SESSION_TOKEN,
    SECURITY_TOKEN,
    EXPIRATION,
    YAWSSO_EXPIRATION,
];

/// Removes the entries of `profiles` that look like ours (a session token and
/// `aws_credential_expiration`) from the credentials file, through the same safe
/// write as a sync. Returns the profiles cleaned.
fn clean_credentials(env: &Environment, profiles: &[String]) -> anyhow::Result<Vec<String>> {
    let path = safe_write::resolve_target(&env.credentials_path()?)?;
    let shown = env.display_path(&path);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let _lock = safe_write::lock(&path, Duration::from_secs(30))?;
    safe_write::remove_stale_temp_files(&path);
    // As in a sync: a writer without our lock may change the file at any moment,
    // so re-read, and plan again if it changed before our rename.
    for _ in 0..5 {
        let before = read_optional(&path, &shown)?.unwrap_or_default();
        let mut file = ProfileFile::parse(&before).map_err(|e| {
            anyhow!("{shown} {e}; fix that line (ssosync changes nothing until the file parses)")
        })?;
        let cleaned = remove_our_entries(&mut file, profiles);
        let after = file.render();
        if after == before {
            return Ok(cleaned);
        }
        let staged = safe_write::stage(&path, &after)?;
        if read_optional(&path, &shown)?.unwrap_or_default() != before {
            staged.discard();
            continue;
        }
        staged.commit()?;
        return Ok(cleaned);
    }
    Err(anyhow!(
        "{shown} kept changing while ssosync was writing it; try again"
    ))
}

/// Removes our keys from each profile's sections when its merged entry looks like
/// one ssosync wrote; anything else (long-term keys, other tools' entries, other
/// keys, comments, the header) stays.
fn remove_our_entries(file: &mut ProfileFile, profiles: &[String]) -> Vec<String> {
    let mut cleaned = Vec::new();
    for name in profiles {
        let wanted = SectionName::Profile(name.clone());
        let props: Vec<(String, String)> = file
            .sections()
            .filter(|s| s.name(FileKind::Credentials) == wanted)
            .flat_map(|s| s.properties())
            .collect();
        let has = |key: &str| props.iter().any(|(k, v)| k == key && !v.is_empty());
        if (has(SESSION_TOKEN) || has(SECURITY_TOKEN)) && has(EXPIRATION) {
            for key in OUR_KEYS {
                file.remove(name, key);
            }
            cleaned.push(name.clone());
        }
    }
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc_7636() {
        // RFC 7636 appendix B.
        let verifier = Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            pkce_challenge(&verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn base64url_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn verifiers_are_long_random_and_unreserved() {
        let a = random_text(VERIFIER_LEN, UNRESERVED).ok().unwrap();
        let b = random_text(VERIFIER_LEN, UNRESERVED).ok().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| UNRESERVED.contains(&c)));
    }

    #[test]
    fn authorize_url_like_the_cli() {
        let url = authorize_url(
            "http://127.0.0.1:9",
            "cid",
            "http://127.0.0.1:4321/oauth/callback",
            "st",
            &["sso:account:access".into(), "x:y".into()],
            "ch",
        );
        assert_eq!(
            url,
            "http://127.0.0.1:9/authorize?response_type=code&client_id=cid\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A4321%2Foauth%2Fcallback&state=st\
             &code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess%20x%3Ay&code_challenge=ch"
        );
    }

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
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn cleans_only_entries_that_look_like_ours() {
        let mut file = ProfileFile::parse(
            "# keep me\n[dev]\nregion = eu-west-1\naws_access_key_id = ASIA1\naws_secret_access_key = s\n\
             aws_session_token = t\naws_security_token = t\naws_credential_expiration = 2030-01-01T00:00:00Z\n\
             \n[prod]\naws_access_key_id = AKIA\naws_secret_access_key = s\n\
             \n[other]\naws_access_key_id = ASIA2\naws_session_token = t\n",
        )
        .unwrap();
        let cleaned = remove_our_entries(
            &mut file,
            &["dev".into(), "prod".into(), "other".into(), "absent".into()],
        );
        assert_eq!(cleaned, ["dev"]);
        assert_eq!(
            file.render(),
            "# keep me\n[dev]\nregion = eu-west-1\n\
             \n[prod]\naws_access_key_id = AKIA\naws_secret_access_key = s\n\
             \n[other]\naws_access_key_id = ASIA2\naws_session_token = t\n"
        );
    }
}
