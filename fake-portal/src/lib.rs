//! A local stand-in for the AWS IAM Identity Center (SSO) portal API
//! (`portal.sso.{region}.amazonaws.com`), the SSO-OIDC service
//! (`oidc.{region}.amazonaws.com`) and STS AssumeRole, for ssosync's
//! integration tests, demo and benchmarks.
//!
//! [`FakePortal::start`] binds `127.0.0.1` on a free port and serves all three
//! over plain HTTP/1.1 (keep-alive, one thread per connection) on one URL;
//! [`FakePortal::start_tls`] serves them over HTTPS with a certificate the
//! caller gives (rustls, HTTP/1.1 only).
//! Point the SDK at it with `AWS_ENDPOINT_URL_SSO`, `AWS_ENDPOINT_URL_SSO_OIDC`
//! and `AWS_ENDPOINT_URL_STS`, all set to [`FakePortal::url`].
//!
//! Routes:
//!
//! | Operation                | Request                                                  |
//! |--------------------------|----------------------------------------------------------|
//! | GetRoleCredentials       | `GET /federation/credentials?role_name=R&account_id=A`   |
//! | ListAccounts             | `GET /assignment/accounts?max_result=N&next_token=T`     |
//! | ListAccountRoles         | `GET /assignment/roles?account_id=A&max_result&next_token` |
//! | Logout                   | `POST /logout`                                           |
//! | RegisterClient           | `POST /client/register` (JSON)                           |
//! | StartDeviceAuthorization | `POST /device_authorization` (JSON)                      |
//! | CreateToken              | `POST /token` (JSON)                                     |
//! | (browser) authorize      | `GET /authorize?response_type=code&client_id&redirect_uri&state&code_challenge&code_challenge_method=S256` |
//! | (browser) verification   | `GET /device?user_code=U` (approves that device code)    |
//! | STS AssumeRole           | `POST /` (form: `Action=AssumeRole&Version=2011-06-15&…`) |
//!
//! The portal routes need the header `x-amz-sso_bearer_token: <access
//! token>`: a token added with [`add_token`](FakePortal::add_token) or one
//! CreateToken issued (until it expires). The SSO-OIDC routes need no
//! authentication; CreateToken and StartDeviceAuthorization check the client
//! secret. AssumeRole needs a SigV4 `Authorization` header whose access key
//! this fake issued (the signature itself is not checked).
//!
//! A request is answered in this order of precedence: a queued
//! [`fail_next`](FakePortal::fail_next) fault; [`garbage`](FakePortal::set_garbage)
//! mode; unknown route (404 `UnknownOperationException`); then per route. On
//! the portal routes: missing, unknown, expired or revoked token (401);
//! missing parameters (400); role not granted (403, or 404 if configured);
//! success. Errors use each service's own format: the portal's JSON
//! `message`, SSO-OIDC's `error`/`error_description`, STS's XML
//! `ErrorResponse`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod creds;
mod http;
mod oidc;
mod sha256;
mod sts;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::io::{BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::http::{ReadError, Response};

pub use crate::oidc::{ClientRegistration, CreatedToken, DeviceAuthorization};
pub use crate::sts::AssumedRole;

/// Name of the header carrying the portal access token.
pub const BEARER_HEADER: &str = "x-amz-sso_bearer_token";

/// Suffix the portal appends to the error name in `x-amzn-ErrorType`.
const ERROR_TYPE_SUFFIX: &str =
    ":http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/";

/// Default and maximum page size of the list operations.
const MAX_PAGE: usize = 100;

/// Prefix of the opaque pagination tokens this server hands out.
const NEXT_TOKEN_PREFIX: &str = "fakeNextToken-";

/// A running fake portal. Dropping it stops accepting connections and closes
/// the open ones.
pub struct FakePortal {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept_thread: Option<JoinHandle<()>>,
}

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Request method, e.g. `GET`.
    pub method: String,
    /// Request path without the query string, e.g. `/federation/credentials`.
    pub path: String,
    /// Query parameters in order, percent-decoded (`+` decodes to a space).
    pub query: Vec<(String, String)>,
    /// Headers in order; names are lowercased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// Request body (empty when there was none).
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The decoded value of the first query parameter called `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One set of role credentials handed out by GetRoleCredentials.
#[derive(Clone, Debug)]
pub struct IssuedCredentials {
    /// Account the credentials are for.
    pub account_id: String,
    /// Role the credentials are for.
    pub role_name: String,
    /// `ASIA` followed by 16 characters of `[A-Z0-9]`.
    pub access_key_id: String,
    /// 40 characters of `[A-Za-z0-9+/]`, starting with `fakeSecret`.
    pub secret_access_key: String,
    /// `FakeSessionToken` followed by about 300 base64 characters.
    pub session_token: String,
    /// Expiry as milliseconds since the Unix epoch, as sent on the wire.
    pub expiration_ms: i64,
}

/// A certificate chain and its key, for [`FakePortal::start_tls`].
#[derive(Clone)]
pub struct TlsIdentity {
    config: Arc<rustls::ServerConfig>,
}

impl TlsIdentity {
    /// From PEM: the server's certificate first (then any intermediates), and
    /// its private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<TlsIdentity, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("bad certificate PEM: {e}"))?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("bad key PEM: {e}"))?;
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key do not fit: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsIdentity {
            config: Arc::new(config),
        })
    }
}

/// State shared between the handle, the accept thread and connection threads.
struct Shared {
    state: Mutex<State>,
    tls: Option<TlsIdentity>,
    stopping: AtomicBool,
    /// Open connections, so that dropping the portal can shut them down.
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_connection: AtomicU64,
}

struct State {
    /// Base URL clients reach this server at, e.g. `http://127.0.0.1:1234`.
    base_url: String,
    tokens: HashSet<String>,
    /// Expiry (epoch ms) of the bearer tokens that have one: those CreateToken
    /// issued.
    token_expiry: HashMap<String, i64>,
    /// Access key id -> its session, for every key issued (kept across
    /// `reset_counters`, so that issued keys stay usable).
    keys: HashMap<String, SessionKey>,
    oidc: oidc::OidcState,
    sts: sts::StsState,
    /// account id -> role names granted in it.
    grants: BTreeMap<String, BTreeSet<String>>,
    /// account id -> (name, email) as ListAccounts describes it, when set.
    accounts: HashMap<String, (String, String)>,
    /// account id -> the error ListAccountRoles answers for it, every time.
    failing_roles: HashMap<String, Fault>,
    latency: Duration,
    ttl: Duration,
    unassigned_status: u16,
    faults: VecDeque<Fault>,
    garbage: bool,
    /// Portal requests beyond this rate get a 429, as AWS's throttling does.
    rate_limit: Option<RateLimit>,
    requests: Vec<RecordedRequest>,
    issued: Vec<IssuedCredentials>,
    mint: creds::Mint,
    /// Requests answered so far, for `x-amzn-RequestId`.
    answered: u64,
}

/// A token bucket: `rate` tokens a second, holding at most `rate`.
struct RateLimit {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    fn admit(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What AssumeRole needs to know about an access key this fake issued.
struct SessionKey {
    session_token: String,
    expiration_ms: i64,
}

struct Fault {
    status: u16,
    error_type: String,
}

/// Locks `mutex`, carrying on if a panicking thread poisoned it (the data are
/// simple collections that stay consistent).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl FakePortal {
    /// Starts a portal on `127.0.0.1` with a free port.
    ///
    /// # Panics
    ///
    /// If the socket cannot be bound.
    pub fn start() -> FakePortal {
        FakePortal::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("fake-portal: cannot bind 127.0.0.1:0")
    }

    /// Starts a portal on `addr` (use port 0 for a free port).
    pub fn bind(addr: SocketAddr) -> std::io::Result<FakePortal> {
        FakePortal::bind_with(addr, None)
    }

    /// Starts a portal on `127.0.0.1` with a free port, serving HTTPS with
    /// `identity` (its certificate should name `127.0.0.1`).
    ///
    /// # Panics
    ///
    /// If the socket cannot be bound.
    pub fn start_tls(identity: TlsIdentity) -> FakePortal {
        FakePortal::bind_with(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), Some(identity))
            .expect("fake-portal: cannot bind 127.0.0.1:0")
    }

    /// Starts a portal on `addr`, over HTTPS when `tls` is given.
    pub fn bind_with(addr: SocketAddr, tls: Option<TlsIdentity>) -> std::io::Result<FakePortal> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Arc::new(Shared {
            tls,
            state: Mutex::new(State {
                base_url: format!("{scheme}://{addr}"),
                tokens: HashSet::new(),
                token_expiry: HashMap::new(),
                keys: HashMap::new(),
                oidc: oidc::OidcState::new(),
                sts: sts::StsState::new(),
                grants: BTreeMap::new(),
                accounts: HashMap::new(),
                failing_roles: HashMap::new(),
                latency: Duration::ZERO,
                ttl: Duration::from_secs(3600),
                unassigned_status: 403,
                faults: VecDeque::new(),
                garbage: false,
                rate_limit: None,
                requests: Vec::new(),
                issued: Vec::new(),
                mint: creds::Mint::new(),
                answered: 0,
            }),
            stopping: AtomicBool::new(false),
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("fake-portal-accept-{}", addr.port()))
            .spawn(move || accept_loop(&accept_shared, &listener))?;
        Ok(FakePortal {
            shared,
            addr,
            accept_thread: Some(accept_thread),
        })
    }

    /// The base URL to give the SDK, e.g. `http://127.0.0.1:40123`
    /// (`https://` for [`FakePortal::start_tls`]).
    pub fn url(&self) -> String {
        lock(&self.shared.state).base_url.clone()
    }

    /// The address the portal listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes `access_token` a valid bearer token. Every valid token sees every
    /// grant.
    pub fn add_token(&self, access_token: &str) {
        lock(&self.shared.state)
            .tokens
            .insert(access_token.to_owned());
    }

    /// Makes `access_token` invalid (as Logout does): later requests bearing
    /// it get 401.
    pub fn revoke_token(&self, access_token: &str) {
        let mut state = lock(&self.shared.state);
        state.tokens.remove(access_token);
        state.token_expiry.remove(access_token);
    }

    /// Assigns `role_name` in `account_id`. The account then appears in
    /// ListAccounts (as `account-<id>` with email `<id>@example.com`, unless
    /// [`set_account`](Self::set_account) named it), and the role in
    /// ListAccountRoles. Lists are sorted by account id, then role.
    pub fn grant(&self, account_id: &str, role_name: &str) {
        lock(&self.shared.state)
            .grants
            .entry(account_id.to_owned())
            .or_default()
            .insert(role_name.to_owned());
    }

    /// Removes `role_name` from `account_id`'s grants; an account left with no
    /// role disappears from ListAccounts (unless [`set_account`](Self::set_account)
    /// named it).
    pub fn ungrant(&self, account_id: &str, role_name: &str) {
        let mut state = lock(&self.shared.state);
        let named = state.accounts.contains_key(account_id);
        if let Some(roles) = state.grants.get_mut(account_id) {
            roles.remove(role_name);
            if roles.is_empty() && !named {
                state.grants.remove(account_id);
            }
        }
    }

    /// The name and email ListAccounts gives `account_id` (by default
    /// `account-<id>` and `<id>@example.com`). The account is listed from now on,
    /// with the roles granted in it (none yet, if it is new).
    pub fn set_account(&self, account_id: &str, name: &str, email: &str) {
        let mut state = lock(&self.shared.state);
        state
            .accounts
            .insert(account_id.to_owned(), (name.to_owned(), email.to_owned()));
        state.grants.entry(account_id.to_owned()).or_default();
    }

    /// Makes every ListAccountRoles call for `account_id` fail with HTTP `status`
    /// and error name `error_type` (after the token and rate checks), until
    /// [`reset_failing_roles`](Self::reset_failing_roles).
    pub fn fail_roles_of(&self, account_id: &str, status: u16, error_type: &str) {
        lock(&self.shared.state).failing_roles.insert(
            account_id.to_owned(),
            Fault {
                status,
                error_type: error_type.to_owned(),
            },
        );
    }

    /// Lifts every [`fail_roles_of`](Self::fail_roles_of).
    pub fn reset_failing_roles(&self) {
        lock(&self.shared.state).failing_roles.clear();
    }

    /// Sleeps for `d` before sending every response (zero by default).
    pub fn set_latency(&self, d: Duration) {
        lock(&self.shared.state).latency = d;
    }

    /// Issued credentials expire `d` after they are issued (one hour by
    /// default).
    pub fn set_credential_ttl(&self, d: Duration) {
        lock(&self.shared.state).ttl = d;
    }

    /// The answer to GetRoleCredentials for a role the token is not granted:
    /// 403 `ForbiddenException` (the default) or 404
    /// `ResourceNotFoundException`.
    ///
    /// # Panics
    ///
    /// If `status` is neither 403 nor 404.
    pub fn set_unassigned_status(&self, status: u16) {
        assert!(
            status == 403 || status == 404,
            "fake-portal: unassigned status must be 403 or 404, not {status}"
        );
        lock(&self.shared.state).unassigned_status = status;
    }

    /// Makes the next `count` requests (any route, before any other check)
    /// fail with HTTP `status` and error name `error_type` (e.g.
    /// `TooManyRequestsException`). Calls queue up in order.
    ///
    /// The error takes the format of the route it hits: on the portal routes
    /// (and unknown ones) the portal's `:http://…` suffix is added to
    /// `x-amzn-ErrorType` unless `error_type` already contains a `:`; on the
    /// SSO-OIDC routes the header is `error_type` as given (`Exception` added
    /// if missing) with an OAuth `error` code in the body; on STS it is an XML
    /// `ErrorResponse` whose `Code` is `error_type` up to any `:`.
    pub fn fail_next(&self, count: usize, status: u16, error_type: &str) {
        let mut state = lock(&self.shared.state);
        for _ in 0..count {
            state.faults.push_back(Fault {
                status,
                error_type: error_type.to_owned(),
            });
        }
    }

    /// Admits at most `per_second` portal requests a second (a token bucket that
    /// holds a second's worth, full at the start); the others get 429
    /// `TooManyRequestsException`, as AWS's throttling answers. `None` lifts it.
    /// Unlike [`fail_next`](Self::fail_next), this depends on time, not on a count:
    /// a client that slows down gets through.
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        lock(&self.shared.state).rate_limit = per_second.filter(|&r| r > 0).map(|r| RateLimit {
            rate: f64::from(r),
            tokens: f64::from(r),
            last: Instant::now(),
        });
    }

    /// While on, every request (once queued faults are used up) gets a 200
    /// whose body claims to be JSON but is not.
    pub fn set_garbage(&self, on: bool) {
        lock(&self.shared.state).garbage = on;
    }

    /// Every request received since the start or the last
    /// [`reset_counters`](Self::reset_counters), in order of arrival.
    /// Requests too malformed to parse are not recorded.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.state).requests.clone()
    }

    /// Number of requests received (see [`requests`](Self::requests)).
    pub fn request_count(&self) -> usize {
        lock(&self.shared.state).requests.len()
    }

    /// Number of requests whose path, without the query, equals `path`.
    pub fn count_path(&self, path: &str) -> usize {
        lock(&self.shared.state)
            .requests
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// Every credential set handed out, in order.
    pub fn issued(&self) -> Vec<IssuedCredentials> {
        lock(&self.shared.state).issued.clone()
    }

    /// Forgets the recorded requests, issued credentials, registrations,
    /// device authorizations, created tokens and assumed roles. Tokens
    /// (bearer, refresh, access keys), clients, grants and settings are kept.
    pub fn reset_counters(&self) {
        let mut state = lock(&self.shared.state);
        state.requests.clear();
        state.issued.clear();
        state.oidc.clear_records();
        state.sts.clear_records();
    }
}

impl Drop for FakePortal {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop with a connection of our own.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        let woke = TcpStream::connect_timeout(&wake, Duration::from_secs(2)).is_ok();
        if let Some(handle) = self.accept_thread.take()
            && woke
        {
            let _ = handle.join();
        }
        // Connection threads see end-of-stream and exit.
        for (_, stream) in lock(&self.shared.connections).drain() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(_) if shared.stopping.load(Ordering::SeqCst) => return,
            Err(_) => {
                // Usually out of file descriptors; back off and retry.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
        let Ok(registered) = stream.try_clone() else {
            continue;
        };
        lock(&shared.connections).insert(id, registered);
        let conn_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("fake-portal-conn-{id}"))
            .spawn(move || {
                serve_connection(&conn_shared, stream);
                if let Some(s) = lock(&conn_shared.connections).remove(&id) {
                    let _ = s.shutdown(Shutdown::Both);
                }
            });
        if spawned.is_err() {
            lock(&shared.connections).remove(&id);
        }
    }
}

/// Answers requests on one connection until either side closes it.
fn serve_connection(shared: &Shared, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    match &shared.tls {
        None => {
            let Ok(writer) = stream.try_clone() else {
                return;
            };
            serve(shared, BufReader::new(stream), writer);
        }
        Some(identity) => {
            let Ok(session) = rustls::ServerConnection::new(Arc::clone(&identity.config)) else {
                return;
            };
            let tls = Rc::new(RefCell::new(rustls::StreamOwned::new(session, stream)));
            serve(shared, BufReader::new(Half(Rc::clone(&tls))), Half(tls));
        }
    }
}

/// One side of a TLS stream that the connection's thread reads and writes in
/// turn (never at once).
struct Half<S>(Rc<RefCell<S>>);

impl<S: Read> Read for Half<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

impl<S: Write> Write for Half<S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

fn serve<R: std::io::BufRead, W: Write>(shared: &Shared, mut reader: R, mut writer: W) {
    while !shared.stopping.load(Ordering::SeqCst) {
        let (request, close) = match http::read_request(&mut reader, &mut writer) {
            Ok(read) => read,
            Err(ReadError::Closed) => return,
            Err(ReadError::Malformed(why)) => {
                let response = error_response(400, "InvalidRequestException", why);
                let _ = http::write_response(&mut writer, &response, true);
                return;
            }
        };
        let (response, latency) = handle(shared, request);
        if !latency.is_zero() {
            thread::sleep(latency);
        }
        if http::write_response(&mut writer, &response, close).is_err() || close {
            return;
        }
    }
}

/// The operations this server knows, by service (which decides the error
/// format).
#[derive(Clone, Copy)]
enum Route {
    Portal(PortalOp),
    Oidc(OidcOp),
    /// `POST /`: the STS Query protocol.
    Sts,
}

#[derive(Clone, Copy)]
enum PortalOp {
    GetRoleCredentials,
    ListAccounts,
    ListAccountRoles,
    Logout,
}

#[derive(Clone, Copy)]
enum OidcOp {
    RegisterClient,
    StartDeviceAuthorization,
    CreateToken,
    Authorize,
    VerifyDevice,
}

fn route(method: &str, path: &str) -> Option<Route> {
    let route = match (method, path) {
        ("GET", "/federation/credentials") => Route::Portal(PortalOp::GetRoleCredentials),
        ("GET", "/assignment/accounts") => Route::Portal(PortalOp::ListAccounts),
        ("GET", "/assignment/roles") => Route::Portal(PortalOp::ListAccountRoles),
        ("POST", "/logout") => Route::Portal(PortalOp::Logout),
        ("POST", "/client/register") => Route::Oidc(OidcOp::RegisterClient),
        ("POST", "/device_authorization") => Route::Oidc(OidcOp::StartDeviceAuthorization),
        ("POST", "/token") => Route::Oidc(OidcOp::CreateToken),
        ("GET", "/authorize") => Route::Oidc(OidcOp::Authorize),
        ("GET", "/device") => Route::Oidc(OidcOp::VerifyDevice),
        ("POST", "/") => Route::Sts,
        _ => return None,
    };
    Some(route)
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Records `request` and works out its response and the delay before it.
fn handle(shared: &Shared, request: RecordedRequest) -> (Response, Duration) {
    let mut state = lock(&shared.state);
    let latency = state.latency;
    state.answered += 1;
    let request_id = format!("fa4e0000-0000-4000-8000-{:012x}", state.answered);
    let mut response = answer(&mut state, &request, &request_id);
    response.headers.push(("x-amzn-RequestId", request_id));
    state.requests.push(request);
    (response, latency)
}

fn answer(state: &mut State, request: &RecordedRequest, request_id: &str) -> Response {
    let route = route(&request.method, &request.path);
    if let Some(fault) = state.faults.pop_front() {
        let message = format!("Injected fault: {}", fault.error_type);
        return match route {
            Some(Route::Oidc(_)) => oidc::error(fault.status, &fault.error_type, &message),
            Some(Route::Sts) => sts::error(fault.status, &fault.error_type, &message, request_id),
            Some(Route::Portal(_)) | None => {
                error_response(fault.status, &fault.error_type, &message)
            }
        };
    }
    if matches!(route, Some(Route::Portal(_)))
        && let Some(limit) = &mut state.rate_limit
        && !limit.admit(Instant::now())
    {
        return error_response(429, "TooManyRequestsException", "Rate exceeded");
    }
    if state.garbage {
        return Response {
            status: 200,
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: b"<html><body>this is not the JSON you are looking for".to_vec(),
        };
    }
    match route {
        None => {
            let message = format!("No operation at {} {}", request.method, request.path);
            error_response(404, "UnknownOperationException", &message)
        }
        Some(Route::Portal(op)) => portal(state, request, op),
        Some(Route::Oidc(op)) => match op {
            OidcOp::RegisterClient => oidc::register_client(state, request),
            OidcOp::StartDeviceAuthorization => oidc::start_device_authorization(state, request),
            OidcOp::CreateToken => oidc::create_token(state, request),
            OidcOp::Authorize => oidc::authorize(state, request),
            OidcOp::VerifyDevice => oidc::verify_device(state, request),
        },
        Some(Route::Sts) => sts::query(state, request, request_id),
    }
}

/// Answers a portal operation: bearer token check, then the operation.
fn portal(state: &mut State, request: &RecordedRequest, op: PortalOp) -> Response {
    let token = request.header(BEARER_HEADER).unwrap_or("");
    let expired = state
        .token_expiry
        .get(token)
        .is_some_and(|&expiry| expiry <= now_ms());
    if token.is_empty() || !state.tokens.contains(token) || expired {
        return error_response(
            401,
            "UnauthorizedException",
            "Session token not found or invalid",
        );
    }

    match op {
        PortalOp::GetRoleCredentials => get_role_credentials(state, request),
        PortalOp::ListAccounts => list_accounts(state, request),
        PortalOp::ListAccountRoles => list_account_roles(state, request),
        PortalOp::Logout => {
            let token = token.to_owned();
            state.tokens.remove(&token);
            state.token_expiry.remove(&token);
            Response {
                status: 200,
                headers: Vec::new(),
                body: Vec::new(),
            }
        }
    }
}

/// A required, non-empty query parameter, or the 400 for its absence.
fn required<'r>(request: &'r RecordedRequest, name: &str) -> Result<&'r str, Response> {
    match request.query_param(name) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(error_response(
            400,
            "InvalidRequestException",
            &format!("{name} is required"),
        )),
    }
}

fn get_role_credentials(state: &mut State, request: &RecordedRequest) -> Response {
    let (role_name, account_id) = match (
        required(request, "role_name"),
        required(request, "account_id"),
    ) {
        (Ok(role), Ok(account)) => (role, account),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let granted = state
        .grants
        .get(account_id)
        .is_some_and(|roles| roles.contains(role_name));
    if !granted {
        return if state.unassigned_status == 404 {
            error_response(404, "ResourceNotFoundException", "Could not find Role")
        } else {
            error_response(403, "ForbiddenException", "No access")
        };
    }

    let expiration_ms = now_ms().saturating_add(state.ttl.as_millis().min(i64::MAX as u128) as i64);
    let minted = state.mint.mint();
    let issued = IssuedCredentials {
        account_id: account_id.to_owned(),
        role_name: role_name.to_owned(),
        access_key_id: minted.access_key_id,
        secret_access_key: minted.secret_access_key,
        session_token: minted.session_token,
        expiration_ms,
    };
    let body = json!({
        "roleCredentials": {
            "accessKeyId": issued.access_key_id,
            "secretAccessKey": issued.secret_access_key,
            "sessionToken": issued.session_token,
            "expiration": issued.expiration_ms,
        }
    });
    state.keys.insert(
        issued.access_key_id.clone(),
        SessionKey {
            session_token: issued.session_token.clone(),
            expiration_ms,
        },
    );
    state.issued.push(issued);
    json_response(&body)
}

fn list_accounts(state: &State, request: &RecordedRequest) -> Response {
    let accounts: Vec<Value> = state
        .grants
        .keys()
        .map(|id| {
            let (name, email) = state
                .accounts
                .get(id)
                .cloned()
                .unwrap_or_else(|| (format!("account-{id}"), format!("{id}@example.com")));
            json!({
                "accountId": id,
                "accountName": name,
                "emailAddress": email,
            })
        })
        .collect();
    paged_response(request, accounts, "accountList")
}

fn list_account_roles(state: &State, request: &RecordedRequest) -> Response {
    let account_id = match required(request, "account_id") {
        Ok(account) => account,
        Err(e) => return e,
    };
    if let Some(fault) = state.failing_roles.get(account_id) {
        let message = format!(
            "Injected fault for account {account_id}: {}",
            fault.error_type
        );
        return error_response(fault.status, &fault.error_type, &message);
    }
    let roles: Vec<Value> = state
        .grants
        .get(account_id)
        .into_iter()
        .flatten()
        .map(|role| json!({ "roleName": role, "accountId": account_id }))
        .collect();
    paged_response(request, roles, "roleList")
}

/// One page of `items` under `list_key`, per the request's `max_result` and
/// `next_token`, with a `nextToken` unless it is the last page.
fn paged_response(request: &RecordedRequest, items: Vec<Value>, list_key: &str) -> Response {
    let page_size = match request.query_param("max_result") {
        None => MAX_PAGE,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return error_response(
                    400,
                    "InvalidRequestException",
                    "max_result must be between 1 and 100",
                );
            }
        },
    };
    let start = match request.query_param("next_token").filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => match token
            .strip_prefix(NEXT_TOKEN_PREFIX)
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) if n <= items.len() => n,
            _ => return error_response(400, "InvalidRequestException", "Invalid next token"),
        },
    };
    let end = (start + page_size).min(items.len());
    let page: Vec<Value> = items[start..end].to_vec();
    let mut body = serde_json::Map::new();
    body.insert(list_key.to_owned(), Value::Array(page));
    if end < items.len() {
        body.insert(
            "nextToken".to_owned(),
            Value::String(format!("{NEXT_TOKEN_PREFIX}{end}")),
        );
    }
    json_response(&Value::Object(body))
}

fn json_response(body: &Value) -> Response {
    Response {
        status: 200,
        headers: vec![("Content-Type", "application/json".to_owned())],
        body: body.to_string().into_bytes(),
    }
}

/// An error the way the portal sends it: status, `x-amzn-ErrorType` and a
/// JSON `message`.
fn error_response(status: u16, error_type: &str, message: &str) -> Response {
    let header = if error_type.contains(':') {
        error_type.to_owned()
    } else {
        format!("{error_type}{ERROR_TYPE_SUFFIX}")
    };
    Response {
        status,
        headers: vec![
            ("Content-Type", "application/json".to_owned()),
            ("x-amzn-ErrorType", header),
        ],
        body: json!({ "message": message }).to_string().into_bytes(),
    }
}
