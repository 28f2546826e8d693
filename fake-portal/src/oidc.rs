//! The SSO-OIDC service (`oidc.{region}.amazonaws.com`) on the same listener
//! as the portal: RegisterClient, StartDeviceAuthorization, CreateToken (the
//! device code, refresh token and authorization code grants, the last with
//! PKCE `S256`), and the browser side of the authorization code flow.
//!
//! Wire format is the service's rest-json: JSON bodies, errors as a status,
//! `x-amzn-ErrorType: <Name>Exception` and an OAuth-style body
//! `{"error": "<snake_case>", "error_description": "…"}`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::creds::{URL_SAFE, USER_CODE};
use crate::http::{Response, percent_encode};
use crate::{FakePortal, RecordedRequest, State, json_response, lock, now_ms, sha256};

/// `grantType` of the device authorization grant.
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// `grantType` of the refresh token grant.
const REFRESH_TOKEN_GRANT: &str = "refresh_token";
/// `grantType` of the authorization code grant.
const AUTHORIZATION_CODE_GRANT: &str = "authorization_code";

/// How long an authorization code from `/authorize` may be redeemed.
const AUTH_CODE_TTL_MS: i64 = 10 * 60 * 1000;

/// One RegisterClient call that succeeded.
#[derive(Clone, Debug)]
pub struct ClientRegistration {
    /// `clientId` handed out.
    pub client_id: String,
    /// `clientSecret` handed out.
    pub client_secret: String,
    /// `clientName` as sent.
    pub client_name: String,
    /// `clientType` as sent (always `public`).
    pub client_type: String,
    /// `scopes` as sent (empty if absent).
    pub scopes: Vec<String>,
    /// `grantTypes` as sent (empty if absent).
    pub grant_types: Vec<String>,
    /// `redirectUris` as sent (empty if absent).
    pub redirect_uris: Vec<String>,
    /// `issuerUrl` as sent.
    pub issuer_url: Option<String>,
    /// `clientIdIssuedAt`, seconds since the Unix epoch.
    pub client_id_issued_at: i64,
    /// `clientSecretExpiresAt`, seconds since the Unix epoch.
    pub client_secret_expires_at: i64,
}

/// One StartDeviceAuthorization call that succeeded.
#[derive(Clone, Debug)]
pub struct DeviceAuthorization {
    /// Client that started it.
    pub client_id: String,
    /// `startUrl` as sent.
    pub start_url: String,
    /// `deviceCode` handed out (what CreateToken polls with).
    pub device_code: String,
    /// `userCode` handed out, `XXXX-XXXX` (what a person would confirm; see
    /// [`FakePortal::approve_device`]).
    pub user_code: String,
    /// `expiresIn`, seconds.
    pub expires_in: u64,
    /// `interval`, seconds.
    pub interval: u64,
}

/// One token set handed out by CreateToken.
#[derive(Clone, Debug)]
pub struct CreatedToken {
    /// Client it was issued to.
    pub client_id: String,
    /// `grantType` of the request.
    pub grant_type: String,
    /// `accessToken`; also a valid portal bearer token until it expires.
    pub access_token: String,
    /// `refreshToken`, if one was returned.
    pub refresh_token: Option<String>,
    /// `expiresIn`, seconds.
    pub expires_in: u64,
}

struct Client {
    secret: String,
    /// Seconds since the Unix epoch.
    secret_expires_at: i64,
}

#[derive(PartialEq)]
enum Approval {
    Pending,
    Approved,
    Denied,
    /// A token was issued for it; it cannot be used again.
    Used,
}

struct Device {
    client_id: String,
    expires_at_ms: i64,
    /// `authorization_pending` answers still to give.
    pending_left: usize,
    /// Whether a `slow_down` answer is still to come.
    slow_down: bool,
    approval: Approval,
}

struct AuthCode {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    expires_at_ms: i64,
}

/// SSO-OIDC state: registered clients, outstanding grants, settings and
/// records.
pub(crate) struct OidcState {
    clients: HashMap<String, Client>,
    /// Device code -> its authorization.
    devices: HashMap<String, Device>,
    /// User code -> device code.
    user_codes: HashMap<String, String>,
    /// Refresh token -> client id.
    refresh_tokens: HashMap<String, String>,
    /// Authorization code -> its grant.
    codes: HashMap<String, AuthCode>,

    client_secret_ttl: Duration,
    device_code_ttl: Duration,
    poll_interval: u64,
    access_token_ttl: Duration,
    pending_polls: usize,
    slow_down_once: bool,
    auto_approve: bool,
    rotate_refresh_tokens: bool,
    deny_authorize: bool,

    registrations: Vec<ClientRegistration>,
    device_authorizations: Vec<DeviceAuthorization>,
    created_tokens: Vec<CreatedToken>,
}

impl OidcState {
    pub(crate) fn new() -> OidcState {
        OidcState {
            clients: HashMap::new(),
            devices: HashMap::new(),
            user_codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            codes: HashMap::new(),
            client_secret_ttl: Duration::from_secs(90 * 24 * 3600),
            device_code_ttl: Duration::from_secs(600),
            poll_interval: 1,
            access_token_ttl: Duration::from_secs(8 * 3600),
            pending_polls: 2,
            slow_down_once: false,
            auto_approve: true,
            rotate_refresh_tokens: true,
            deny_authorize: false,
            registrations: Vec::new(),
            device_authorizations: Vec::new(),
            created_tokens: Vec::new(),
        }
    }

    /// Forgets the records, keeping clients, grants and settings.
    pub(crate) fn clear_records(&mut self) {
        self.registrations.clear();
        self.device_authorizations.clear();
        self.created_tokens.clear();
    }

    /// Sets the approval of the pending device authorization with
    /// `user_code`; false if there is none.
    fn decide(&mut self, user_code: &str, approval: Approval) -> bool {
        let device = self
            .user_codes
            .get(user_code)
            .and_then(|code| self.devices.get_mut(code));
        match device {
            Some(device) if device.approval == Approval::Pending => {
                device.approval = approval;
                true
            }
            _ => false,
        }
    }
}

/// Test controls and records of the SSO-OIDC side.
impl FakePortal {
    /// RegisterClient's `clientSecretExpiresAt` is this long after
    /// registration (90 days by default). CreateToken and
    /// StartDeviceAuthorization reject an expired secret with
    /// `InvalidClientException`.
    pub fn set_client_secret_ttl(&self, d: Duration) {
        lock(&self.shared.state).oidc.client_secret_ttl = d;
    }

    /// StartDeviceAuthorization's `expiresIn` (600 s by default; whole
    /// seconds). Polling after that gets `ExpiredTokenException`.
    pub fn set_device_code_ttl(&self, d: Duration) {
        lock(&self.shared.state).oidc.device_code_ttl = d;
    }

    /// StartDeviceAuthorization's `interval`, seconds (1 by default). Not
    /// enforced: polling faster gets no `slow_down` of its own.
    pub fn set_poll_interval(&self, seconds: u64) {
        lock(&self.shared.state).oidc.poll_interval = seconds;
    }

    /// CreateToken's `expiresIn` (8 hours by default; whole seconds). The
    /// access token stops being a valid portal bearer token after that.
    pub fn set_access_token_ttl(&self, d: Duration) {
        lock(&self.shared.state).oidc.access_token_ttl = d;
    }

    /// How many times a device code is answered `authorization_pending`
    /// before anything else (2 by default). Applies to device authorizations
    /// started afterwards.
    pub fn set_pending_polls(&self, n: usize) {
        lock(&self.shared.state).oidc.pending_polls = n;
    }

    /// Whether a device code gets one `slow_down` answer after its
    /// `authorization_pending` ones (off by default). Applies to device
    /// authorizations started afterwards.
    pub fn set_slow_down_once(&self, on: bool) {
        lock(&self.shared.state).oidc.slow_down_once = on;
    }

    /// Whether device authorizations are approved as soon as they start (the
    /// default). When off, they stay pending until
    /// [`approve_device`](Self::approve_device) or
    /// [`deny_device`](Self::deny_device). Applies to device authorizations
    /// started afterwards.
    pub fn set_auto_approve(&self, on: bool) {
        lock(&self.shared.state).oidc.auto_approve = on;
    }

    /// Approves the pending device authorization whose user code is
    /// `user_code`, as a person at the verification page would. False if
    /// there is no pending one with that code.
    pub fn approve_device(&self, user_code: &str) -> bool {
        lock(&self.shared.state)
            .oidc
            .decide(user_code, Approval::Approved)
    }

    /// Denies the pending device authorization whose user code is
    /// `user_code`: polls on it get `AccessDeniedException` from then on.
    /// False if there is no pending one with that code.
    pub fn deny_device(&self, user_code: &str) -> bool {
        lock(&self.shared.state)
            .oidc
            .decide(user_code, Approval::Denied)
    }

    /// Whether the refresh token grant rotates (the default): it returns a
    /// new refresh token and invalidates the one used. When off it returns
    /// none and the one used stays valid.
    pub fn set_rotate_refresh_tokens(&self, on: bool) {
        lock(&self.shared.state).oidc.rotate_refresh_tokens = on;
    }

    /// Registers the client `client_id` with `client_secret` (unless it is
    /// already registered, in which case its secret is replaced) and makes
    /// `refresh_token` a valid refresh token of it, as if issued earlier: for
    /// tests that pre-seed a token cache. The client's secret expires after
    /// the [client secret TTL](Self::set_client_secret_ttl). Not listed in
    /// [`registrations`](Self::registrations).
    pub fn add_refresh_token(&self, client_id: &str, client_secret: &str, refresh_token: &str) {
        let mut state = lock(&self.shared.state);
        let expires_at = now_ms() / 1000 + secs(state.oidc.client_secret_ttl);
        state.oidc.clients.insert(
            client_id.to_owned(),
            Client {
                secret: client_secret.to_owned(),
                secret_expires_at: expires_at,
            },
        );
        state
            .oidc
            .refresh_tokens
            .insert(refresh_token.to_owned(), client_id.to_owned());
    }

    /// Makes `refresh_token` invalid: the refresh grant then gets
    /// `InvalidGrantException`, as for an expired or revoked session.
    pub fn revoke_refresh_token(&self, refresh_token: &str) {
        lock(&self.shared.state)
            .oidc
            .refresh_tokens
            .remove(refresh_token);
    }

    /// While on, `/authorize` redirects with `error=access_denied` instead of
    /// a code (off by default).
    pub fn set_deny_authorize(&self, on: bool) {
        lock(&self.shared.state).oidc.deny_authorize = on;
    }

    /// Every successful RegisterClient, in order.
    pub fn registrations(&self) -> Vec<ClientRegistration> {
        lock(&self.shared.state).oidc.registrations.clone()
    }

    /// Every successful StartDeviceAuthorization, in order.
    pub fn device_authorizations(&self) -> Vec<DeviceAuthorization> {
        lock(&self.shared.state).oidc.device_authorizations.clone()
    }

    /// Every token set CreateToken handed out, in order.
    pub fn created_tokens(&self) -> Vec<CreatedToken> {
        lock(&self.shared.state).oidc.created_tokens.clone()
    }

    /// Number of CreateToken requests (successful or not, faults included)
    /// whose `grantType` is `grant_type`. `device_code` is accepted for
    /// `urn:ietf:params:oauth:grant-type:device_code`.
    pub fn count_grant(&self, grant_type: &str) -> usize {
        let state = lock(&self.shared.state);
        state
            .requests
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/token")
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .filter(|body| {
                body.get("grantType")
                    .and_then(Value::as_str)
                    .is_some_and(|g| {
                        g == grant_type
                            || g.strip_prefix("urn:ietf:params:oauth:grant-type:")
                                == Some(grant_type)
                    })
            })
            .count()
    }
}

/// Whole seconds of `d`, saturating.
fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Milliseconds of `d`, saturating.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The OAuth `error` code for an error name without its `Exception` suffix.
fn oauth_code(name: &str) -> String {
    if name == "InternalServer" {
        return "server_error".to_owned();
    }
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// An SSO-OIDC error. `name` is e.g. `AuthorizationPending`; an `Exception`
/// suffix (and anything after a `:`) is accepted and kept in the header.
pub(crate) fn error(status: u16, name: &str, description: &str) -> Response {
    let bare = name.split(':').next().unwrap_or(name);
    let bare = bare.strip_suffix("Exception").unwrap_or(bare);
    let header = if name.contains(':') || name.ends_with("Exception") {
        name.to_owned()
    } else {
        format!("{name}Exception")
    };
    Response {
        status,
        headers: vec![
            ("Content-Type", "application/json".to_owned()),
            ("x-amzn-ErrorType", header),
        ],
        body: json!({ "error": oauth_code(bare), "error_description": description })
            .to_string()
            .into_bytes(),
    }
}

fn invalid_request(description: &str) -> Response {
    error(400, "InvalidRequest", description)
}

fn invalid_grant(description: &str) -> Response {
    error(400, "InvalidGrant", description)
}

/// The request body as a JSON object.
fn json_body(request: &RecordedRequest) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice(&request.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid_request("Request body must be a JSON object")),
    }
}

/// An optional string member; present but not a string is an error.
fn optional<'b>(body: &'b Map<String, Value>, name: &str) -> Result<Option<&'b str>, Response> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid_request(&format!("{name} must be a string"))),
    }
}

/// A required, non-empty string member.
fn required<'b>(body: &'b Map<String, Value>, name: &str) -> Result<&'b str, Response> {
    match optional(body, name)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(invalid_request(&format!("{name} is required"))),
    }
}

/// An optional list of strings (absent is empty).
fn string_list(body: &Map<String, Value>, name: &str) -> Result<Vec<String>, Response> {
    let bad = || invalid_request(&format!("{name} must be a list of strings"));
    match body.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// Checks `clientId` and `clientSecret`; returns the client id.
fn authenticate(state: &State, body: &Map<String, Value>) -> Result<String, Response> {
    let client_id = required(body, "clientId")?;
    let secret = required(body, "clientSecret")?;
    match state.oidc.clients.get(client_id) {
        Some(client) if client.secret == secret => {
            if client.secret_expires_at.saturating_mul(1000) <= now_ms() {
                Err(error(401, "InvalidClient", "Client secret has expired"))
            } else {
                Ok(client_id.to_owned())
            }
        }
        _ => Err(error(401, "InvalidClient", "Invalid client provided")),
    }
}

/// `POST /client/register`.
pub(crate) fn register_client(state: &mut State, request: &RecordedRequest) -> Response {
    register_client_inner(state, request).unwrap_or_else(|e| e)
}

fn register_client_inner(
    state: &mut State,
    request: &RecordedRequest,
) -> Result<Response, Response> {
    let body = json_body(request)?;
    let client_name = required(&body, "clientName")?.to_owned();
    let client_type = required(&body, "clientType")?.to_owned();
    if client_type != "public" {
        return Err(error(
            400,
            "InvalidClientMetadata",
            "clientType must be public",
        ));
    }
    let scopes = string_list(&body, "scopes")?;
    let grant_types = string_list(&body, "grantTypes")?;
    let redirect_uris = string_list(&body, "redirectUris")?;
    let issuer_url = optional(&body, "issuerUrl")?.map(str::to_owned);

    let issued_at = now_ms() / 1000;
    let expires_at = issued_at.saturating_add(secs(state.oidc.client_secret_ttl));
    let client_id = state.mint.opaque("fakeClientId", URL_SAFE, 22);
    let client_secret = state.mint.opaque("fakeClientSecret", URL_SAFE, 120);
    state.oidc.clients.insert(
        client_id.clone(),
        Client {
            secret: client_secret.clone(),
            secret_expires_at: expires_at,
        },
    );
    let response = json_response(&json!({
        "clientId": client_id,
        "clientSecret": client_secret,
        "clientIdIssuedAt": issued_at,
        "clientSecretExpiresAt": expires_at,
    }));
    state.oidc.registrations.push(ClientRegistration {
        client_id,
        client_secret,
        client_name,
        client_type,
        scopes,
        grant_types,
        redirect_uris,
        issuer_url,
        client_id_issued_at: issued_at,
        client_secret_expires_at: expires_at,
    });
    Ok(response)
}

/// `POST /device_authorization`.
pub(crate) fn start_device_authorization(state: &mut State, request: &RecordedRequest) -> Response {
    start_device_authorization_inner(state, request).unwrap_or_else(|e| e)
}

fn start_device_authorization_inner(
    state: &mut State,
    request: &RecordedRequest,
) -> Result<Response, Response> {
    let body = json_body(request)?;
    let start_url = required(&body, "startUrl")?.to_owned();
    let client_id = authenticate(state, &body)?;

    let device_code = state.mint.opaque("fakeDeviceCode", URL_SAFE, 60);
    let user_code = loop {
        let raw = state.mint.opaque("", USER_CODE, 8);
        let code = format!("{}-{}", &raw[..4], &raw[4..]);
        if !state.oidc.user_codes.contains_key(&code) {
            break code;
        }
    };
    let oidc = &mut state.oidc;
    let expires_in = oidc.device_code_ttl.as_secs();
    let interval = oidc.poll_interval;
    oidc.devices.insert(
        device_code.clone(),
        Device {
            client_id: client_id.clone(),
            expires_at_ms: now_ms().saturating_add(millis(oidc.device_code_ttl)),
            pending_left: oidc.pending_polls,
            slow_down: oidc.slow_down_once,
            approval: if oidc.auto_approve {
                Approval::Approved
            } else {
                Approval::Pending
            },
        },
    );
    oidc.user_codes
        .insert(user_code.clone(), device_code.clone());

    let verification_uri = format!("{}/device", state.base_url);
    let response = json_response(&json!({
        "deviceCode": device_code,
        "userCode": user_code,
        "verificationUri": verification_uri,
        "verificationUriComplete": format!("{verification_uri}?user_code={user_code}"),
        "expiresIn": expires_in,
        "interval": interval,
    }));
    state.oidc.device_authorizations.push(DeviceAuthorization {
        client_id,
        start_url,
        device_code,
        user_code,
        expires_in,
        interval,
    });
    Ok(response)
}

/// `POST /token`.
pub(crate) fn create_token(state: &mut State, request: &RecordedRequest) -> Response {
    create_token_inner(state, request).unwrap_or_else(|e| e)
}

fn create_token_inner(state: &mut State, request: &RecordedRequest) -> Result<Response, Response> {
    let body = json_body(request)?;
    let grant_type = required(&body, "grantType")?;
    let client_id = authenticate(state, &body)?;
    match grant_type {
        DEVICE_CODE_GRANT => device_code_grant(state, &body, client_id),
        REFRESH_TOKEN_GRANT => refresh_token_grant(state, &body, client_id),
        AUTHORIZATION_CODE_GRANT => authorization_code_grant(state, &body, client_id),
        other => Err(error(
            400,
            "UnsupportedGrantType",
            &format!("Unsupported grant type: {other}"),
        )),
    }
}

fn device_code_grant(
    state: &mut State,
    body: &Map<String, Value>,
    client_id: String,
) -> Result<Response, Response> {
    let device_code = required(body, "deviceCode")?;
    let device = match state.oidc.devices.get_mut(device_code) {
        Some(device) if device.client_id == client_id => device,
        _ => return Err(invalid_grant("Invalid device code provided")),
    };
    if device.approval == Approval::Used {
        return Err(invalid_grant("Device code has already been used"));
    }
    if device.expires_at_ms <= now_ms() {
        return Err(error(400, "ExpiredToken", "Device code has expired"));
    }
    if device.approval == Approval::Denied {
        return Err(error(400, "AccessDenied", "Authorization was denied"));
    }
    if device.pending_left > 0 {
        device.pending_left -= 1;
        return Err(error(
            400,
            "AuthorizationPending",
            "Authorization is pending",
        ));
    }
    if device.slow_down {
        device.slow_down = false;
        return Err(error(400, "SlowDown", "Client is polling too fast"));
    }
    if device.approval == Approval::Pending {
        return Err(error(
            400,
            "AuthorizationPending",
            "Authorization is pending",
        ));
    }
    device.approval = Approval::Used;
    Ok(issue_token(state, client_id, DEVICE_CODE_GRANT, true))
}

fn refresh_token_grant(
    state: &mut State,
    body: &Map<String, Value>,
    client_id: String,
) -> Result<Response, Response> {
    let refresh_token = required(body, "refreshToken")?;
    if state.oidc.refresh_tokens.get(refresh_token) != Some(&client_id) {
        return Err(invalid_grant("Invalid refresh token provided"));
    }
    let rotate = state.oidc.rotate_refresh_tokens;
    if rotate {
        state.oidc.refresh_tokens.remove(refresh_token);
    }
    Ok(issue_token(state, client_id, REFRESH_TOKEN_GRANT, rotate))
}

/// Whether `verifier` is a syntactically valid PKCE code verifier
/// (RFC 7636 §4.1: 43 to 128 unreserved characters).
fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn authorization_code_grant(
    state: &mut State,
    body: &Map<String, Value>,
    client_id: String,
) -> Result<Response, Response> {
    let code = required(body, "code")?;
    let redirect_uri = required(body, "redirectUri")?;
    let verifier = required(body, "codeVerifier")?;
    let grant = match state.oidc.codes.get(code) {
        Some(grant) if grant.client_id == client_id => grant,
        _ => return Err(invalid_grant("Invalid authorization code provided")),
    };
    if grant.expires_at_ms <= now_ms() {
        return Err(invalid_grant("Authorization code has expired"));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            "redirectUri does not match the authorization request",
        ));
    }
    if !valid_verifier(verifier) || sha256::s256_challenge(verifier) != grant.challenge {
        return Err(invalid_grant(
            "Code verifier does not match the code challenge",
        ));
    }
    state.oidc.codes.remove(code);
    Ok(issue_token(
        state,
        client_id,
        AUTHORIZATION_CODE_GRANT,
        true,
    ))
}

/// Mints an access token (and a refresh token if `with_refresh`), makes the
/// access token a portal bearer token, records it and answers with it.
fn issue_token(
    state: &mut State,
    client_id: String,
    grant_type: &str,
    with_refresh: bool,
) -> Response {
    let ttl = state.oidc.access_token_ttl;
    let access_token = state.mint.opaque("fakeAccessToken", URL_SAFE, 160);
    state.tokens.insert(access_token.clone());
    state
        .token_expiry
        .insert(access_token.clone(), now_ms().saturating_add(millis(ttl)));
    let refresh_token = with_refresh.then(|| {
        let token = state.mint.opaque("fakeRefreshToken", URL_SAFE, 160);
        state
            .oidc
            .refresh_tokens
            .insert(token.clone(), client_id.clone());
        token
    });

    let mut body = json!({
        "accessToken": access_token,
        "tokenType": "Bearer",
        "expiresIn": ttl.as_secs(),
    });
    if let Some(refresh) = &refresh_token {
        body["refreshToken"] = Value::String(refresh.clone());
    }
    state.oidc.created_tokens.push(CreatedToken {
        client_id,
        grant_type: grant_type.to_owned(),
        access_token,
        refresh_token,
        expires_in: ttl.as_secs(),
    });
    json_response(&body)
}

/// Whether `uri` is `http://127.0.0.1:<port>/oauth/callback`.
fn loopback_callback(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://127.0.0.1:") else {
        return false;
    };
    let (port, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok()
        && path == "/oauth/callback"
}

/// `GET /authorize`: the browser side of the authorization code flow.
/// Redirects to the loopback `redirect_uri` with a code (or an
/// `access_denied` error when so configured).
pub(crate) fn authorize(state: &mut State, request: &RecordedRequest) -> Response {
    authorize_inner(state, request).unwrap_or_else(|e| e)
}

fn authorize_inner(state: &mut State, request: &RecordedRequest) -> Result<Response, Response> {
    let param = |name: &str| request.query_param(name).filter(|v| !v.is_empty());
    if param("response_type") != Some("code") {
        return Err(invalid_request("response_type must be code"));
    }
    let client_id = match param("client_id") {
        Some(id) if state.oidc.clients.contains_key(id) => id,
        _ => return Err(error(400, "InvalidClient", "Invalid client provided")),
    };
    let redirect_uri = match param("redirect_uri") {
        Some(uri) if loopback_callback(uri) => uri,
        _ => {
            return Err(invalid_request(
                "redirect_uri must be http://127.0.0.1:<port>/oauth/callback",
            ));
        }
    };
    if param("code_challenge_method") != Some("S256") {
        return Err(invalid_request("code_challenge_method must be S256"));
    }
    let Some(challenge) = param("code_challenge") else {
        return Err(invalid_request("code_challenge is required"));
    };
    let state_suffix =
        param("state").map_or(String::new(), |s| format!("&state={}", percent_encode(s)));

    let location = if state.oidc.deny_authorize {
        format!("{redirect_uri}?error=access_denied{state_suffix}")
    } else {
        let code = state.mint.opaque("fakeAuthCode", URL_SAFE, 40);
        state.oidc.codes.insert(
            code.clone(),
            AuthCode {
                client_id: client_id.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                challenge: challenge.to_owned(),
                expires_at_ms: now_ms().saturating_add(AUTH_CODE_TTL_MS),
            },
        );
        format!("{redirect_uri}?code={code}{state_suffix}")
    };
    Ok(Response {
        status: 302,
        headers: vec![("Location", location)],
        body: Vec::new(),
    })
}

/// `GET /device?user_code=…`: the verification page of the device flow.
/// Visiting it approves the pending authorization with that user code.
pub(crate) fn verify_device(state: &mut State, request: &RecordedRequest) -> Response {
    let user_code = request.query_param("user_code").unwrap_or("");
    let (status, text) = if state.oidc.decide(user_code, Approval::Approved) {
        (200, "Request approved. You may close this window.\n")
    } else {
        (400, "No pending request with this code.\n")
    };
    Response {
        status,
        headers: vec![("Content-Type", "text/plain; charset=utf-8".to_owned())],
        body: text.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_codes() {
        assert_eq!(oauth_code("AuthorizationPending"), "authorization_pending");
        assert_eq!(oauth_code("SlowDown"), "slow_down");
        assert_eq!(oauth_code("InvalidClient"), "invalid_client");
        assert_eq!(oauth_code("InternalServer"), "server_error");
    }

    #[test]
    fn loopback_callbacks() {
        assert!(loopback_callback("http://127.0.0.1:8080/oauth/callback"));
        assert!(loopback_callback("http://127.0.0.1:1/oauth/callback"));
        for bad in [
            "http://127.0.0.1/oauth/callback",
            "http://127.0.0.1:/oauth/callback",
            "http://127.0.0.1:99999/oauth/callback",
            "http://127.0.0.1:80/oauth/callback/x",
            "http://127.0.0.1:80/oauth/callback?x=1",
            "http://127.0.0.1:8a/oauth/callback",
            "https://127.0.0.1:80/oauth/callback",
            "http://localhost:80/oauth/callback",
            "http://127.0.0.1:80@evil.example/oauth/callback",
        ] {
            assert!(!loopback_callback(bad), "{bad}");
        }
    }

    #[test]
    fn verifier_syntax() {
        assert!(valid_verifier(&"a".repeat(43)));
        assert!(valid_verifier(&"-._~".repeat(32)));
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}+", "a".repeat(43))));
    }
}
