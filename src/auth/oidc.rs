//! SSO-OIDC through `aws-sdk-ssooidc`: refreshing an access token (CreateToken,
//! `refresh_token` grant) and what a login needs (RegisterClient,
//! StartDeviceAuthorization, CreateToken with a device or authorization code).
//! Every call is unsigned; errors are one line naming the service's error code,
//! never a token or secret.

use aws_sdk_ssooidc::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};

use crate::aws::clients::OidcClient;
use crate::aws::network::{self, Route};
use crate::secret::Secret;

/// `grantType` of the device authorization grant.
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What a successful CreateToken hands back, for any grant.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub access_token: Secret,
    pub expires_at: DateTime<Utc>,
    /// On a refresh: present when the service rotated the refresh token. On a
    /// login: present when the session can be refreshed.
    pub refresh_token: Option<Secret>,
}

/// A refresh hands back the same fields.
pub type RefreshedToken = IssuedToken;

/// Asks for a new access token; the error says why, for a "log in again" message.
pub async fn refresh(
    client: &OidcClient,
    client_id: &str,
    client_secret: &Secret,
    refresh_token: &Secret,
    now: DateTime<Utc>,
) -> Result<RefreshedToken, String> {
    let output = client
        .sdk
        .create_token()
        .client_id(client_id)
        .client_secret(client_secret.expose())
        .grant_type("refresh_token")
        .refresh_token(refresh_token.expose())
        .send()
        .await
        .map_err(|err| match &err {
            _ if network::answered_by_proxy(&err, &client.route).is_some() => {
                describe(&err, &client.route)
            }
            SdkError::ServiceError(service) => {
                let e = service.err();
                if e.is_invalid_grant_exception() || e.is_expired_token_exception() {
                    "the refresh token is no longer valid".to_string()
                } else if e.is_invalid_client_exception() || e.is_unauthorized_client_exception() {
                    "the client registration is no longer valid".to_string()
                } else {
                    format!(
                        "SSO-OIDC answered {}",
                        e.code().unwrap_or("an unknown error")
                    )
                }
            }
            _ => describe(&err, &client.route),
        })?;
    issued(
        output.access_token(),
        output.expires_in(),
        output.refresh_token(),
        now,
    )
}

/// A client registration RegisterClient handed out.
#[derive(Clone, Debug)]
pub struct Registration {
    pub client_id: String,
    pub client_secret: Secret,
    pub expires_at: DateTime<Utc>,
}

/// What RegisterClient is asked for: the device flow needs only scopes; the
/// authorization-code flow also names its grants, redirect and issuer.
#[derive(Clone, Debug, Default)]
pub struct RegistrationRequest {
    pub client_name: String,
    pub scopes: Vec<String>,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub issuer_url: Option<String>,
}

pub async fn register_client(
    client: &OidcClient,
    request: &RegistrationRequest,
) -> Result<Registration, String> {
    let mut call = client
        .sdk
        .register_client()
        .client_name(&request.client_name)
        .client_type("public");
    if !request.scopes.is_empty() {
        call = call.set_scopes(Some(request.scopes.clone()));
    }
    if !request.grant_types.is_empty() {
        call = call.set_grant_types(Some(request.grant_types.clone()));
    }
    if !request.redirect_uris.is_empty() {
        call = call.set_redirect_uris(Some(request.redirect_uris.clone()));
    }
    if let Some(issuer) = &request.issuer_url {
        call = call.issuer_url(issuer);
    }
    let output = call.send().await.map_err(|err| {
        format!(
            "SSO-OIDC refused to register ssosync as a client: {}",
            describe(&err, &client.route)
        )
    })?;
    let (Some(client_id), Some(client_secret)) = (
        output.client_id().filter(|s| !s.is_empty()),
        output.client_secret().filter(|s| !s.is_empty()),
    ) else {
        return Err("SSO-OIDC registered a client without an id or secret".into());
    };
    let expires_at = DateTime::<Utc>::from_timestamp(output.client_secret_expires_at(), 0)
        .filter(|t| t.timestamp() > 0)
        .ok_or("SSO-OIDC registered a client without an expiry")?;
    Ok(Registration {
        client_id: client_id.to_string(),
        client_secret: Secret::new(client_secret),
        expires_at,
    })
}

/// A started device authorization: what the person confirms, and what we poll with.
#[derive(Clone, Debug)]
pub struct DeviceAuthorization {
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: std::time::Duration,
    pub interval: std::time::Duration,
}

/// Why a grant call gave no token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantError {
    /// Device flow: the person has not confirmed yet; ask again later.
    Pending,
    /// Device flow: ask less often (5 s more between polls).
    SlowDown,
    /// The person (or the administrator's policy) said no.
    Denied,
    /// The device code or authorization code expired, or was already used.
    Expired,
    /// The client registration is unknown or expired: register again.
    InvalidClient,
    /// Anything else; the text says what, for the error message.
    Failed(String),
}

pub async fn start_device_authorization(
    client: &OidcClient,
    registration: &Registration,
    start_url: &str,
) -> Result<DeviceAuthorization, GrantError> {
    let output = client
        .sdk
        .start_device_authorization()
        .client_id(&registration.client_id)
        .client_secret(registration.client_secret.expose())
        .start_url(start_url)
        .send()
        .await
        .map_err(|err| match &err {
            SdkError::ServiceError(service)
                if service.err().is_invalid_client_exception()
                    || service.err().is_unauthorized_client_exception() =>
            {
                GrantError::InvalidClient
            }
            _ => GrantError::Failed(describe(&err, &client.route)),
        })?;
    let (Some(device_code), Some(user_code), Some(verification_uri)) = (
        output.device_code().filter(|s| !s.is_empty()),
        output.user_code().filter(|s| !s.is_empty()),
        output.verification_uri().filter(|s| !s.is_empty()),
    ) else {
        return Err(GrantError::Failed(
            "SSO-OIDC started a device authorization without a code or verification URL".into(),
        ));
    };
    let seconds = |n: i32, default: u64| {
        std::time::Duration::from_secs(u64::try_from(n).ok().filter(|&n| n > 0).unwrap_or(default))
    };
    Ok(DeviceAuthorization {
        device_code: Secret::new(device_code),
        user_code: user_code.to_string(),
        verification_uri: verification_uri.to_string(),
        verification_uri_complete: output
            .verification_uri_complete()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        // The service's defaults: 10 minutes to confirm, a poll every 5 seconds.
        expires_in: seconds(output.expires_in(), 600),
        interval: seconds(output.interval(), 5),
    })
}

/// The grant a login exchanges for a token.
pub enum Grant<'a> {
    DeviceCode(&'a Secret),
    AuthorizationCode {
        code: &'a Secret,
        redirect_uri: &'a str,
        code_verifier: &'a Secret,
    },
}

/// CreateToken for a login grant.
pub async fn create_token(
    client: &OidcClient,
    registration: &Registration,
    grant: Grant<'_>,
    now: DateTime<Utc>,
) -> Result<IssuedToken, GrantError> {
    let call = client
        .sdk
        .create_token()
        .client_id(&registration.client_id)
        .client_secret(registration.client_secret.expose());
    let call = match grant {
        Grant::DeviceCode(device_code) => call
            .grant_type(DEVICE_CODE_GRANT)
            .device_code(device_code.expose()),
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => call
            .grant_type("authorization_code")
            .code(code.expose())
            .redirect_uri(redirect_uri)
            .code_verifier(code_verifier.expose()),
    };
    let output = call.send().await.map_err(|err| match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            if e.is_authorization_pending_exception() {
                GrantError::Pending
            } else if e.is_slow_down_exception() {
                GrantError::SlowDown
            } else if e.is_access_denied_exception() {
                GrantError::Denied
            } else if e.is_expired_token_exception() || e.is_invalid_grant_exception() {
                GrantError::Expired
            } else if e.is_invalid_client_exception() || e.is_unauthorized_client_exception() {
                GrantError::InvalidClient
            } else {
                GrantError::Failed(describe(&err, &client.route))
            }
        }
        _ => GrantError::Failed(describe(&err, &client.route)),
    })?;
    issued(
        output.access_token(),
        output.expires_in(),
        output.refresh_token(),
        now,
    )
    .map_err(GrantError::Failed)
}

/// The token fields of a CreateToken answer, checked.
fn issued(
    access_token: Option<&str>,
    expires_in: i32,
    refresh_token: Option<&str>,
    now: DateTime<Utc>,
) -> Result<IssuedToken, String> {
    let access_token = access_token
        .filter(|t| !t.is_empty())
        .ok_or("SSO-OIDC answered without an access token")?;
    if expires_in <= 0 {
        return Err("SSO-OIDC answered without a lifetime for the token".into());
    }
    Ok(IssuedToken {
        access_token: Secret::new(access_token),
        expires_at: now + chrono::Duration::seconds(expires_in.into()),
        refresh_token: refresh_token.filter(|t| !t.is_empty()).map(Secret::new),
    })
}

/// One line on why an SSO-OIDC call failed: the error code, or the network's
/// cause in words, never the request.
fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E, aws_sdk_ssooidc::config::http::HttpResponse>,
    route: &Route,
) -> String {
    if let Some(cause) = network::cause(err) {
        return route.explain(&cause);
    }
    if let Some(said) = network::answered_by_proxy(err, route) {
        return said;
    }
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) if !message.is_empty() => {
                    format!("SSO-OIDC answered {code} ({message})")
                }
                (Some(code), _) => format!("SSO-OIDC answered {code}"),
                (None, _) => "SSO-OIDC answered an unknown error".to_string(),
            }
        }
        _ => "SSO-OIDC sent an unusable response".to_string(),
    }
}
