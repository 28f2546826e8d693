//! The SSO portal's GetRoleCredentials, through `aws-sdk-sso`.
//!
//! The call is unsigned (the bearer token is the only credential), so clients are
//! built directly from a small config: explicit region, no credentials chain, and one
//! shared rustls HTTP client, rather than `aws_config::load_defaults`, which would
//! re-read the profile files and walk the credential chains.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sso::Client;
use aws_sdk_sso::config::retry::RetryConfig;
use aws_sdk_sso::config::timeout::TimeoutConfig;
use aws_sdk_sso::config::{Region, SharedHttpClient};
use aws_sdk_sso::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sso::operation::get_role_credentials::GetRoleCredentialsError;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use chrono::{DateTime, Utc};

use crate::secret::Secret;

/// Short-lived role credentials from the portal.
#[derive(Clone, Debug)]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Secret,
    pub expiration: DateTime<Utc>,
}

/// How a GetRoleCredentials call failed, by what the user must do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortalError {
    /// 401: the token expired or was revoked.
    LoginRequired,
    /// 403/404: the token's user has no such assignment.
    NoAccess,
    /// The portal answered something we cannot use, or could not be reached.
    Failed(String),
}

#[derive(Clone, Debug)]
pub struct PortalSettings {
    /// `AWS_ENDPOINT_URL_SSO` / `AWS_ENDPOINT_URL`, for a local portal.
    pub endpoint: Option<String>,
    /// Bound on each attempt; the whole call (with retries) gets three times that.
    pub timeout: Duration,
}

/// One SDK client per SSO region, all sharing one HTTP connection pool.
pub struct Portal {
    clients: HashMap<String, Client>,
}

impl Portal {
    pub fn new<'a>(regions: impl IntoIterator<Item = &'a str>, settings: &PortalSettings) -> Self {
        let http: SharedHttpClient = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .operation_attempt_timeout(settings.timeout)
            .operation_timeout(settings.timeout * 3)
            .build();
        let clients = regions
            .into_iter()
            .map(|region| {
                let mut config = aws_sdk_sso::Config::builder()
                    .region(Region::new(region.to_string()))
                    .http_client(http.clone())
                    .timeout_config(timeouts.clone())
                    .retry_config(RetryConfig::standard().with_max_attempts(3));
                if let Some(url) = &settings.endpoint {
                    config = config.endpoint_url(url);
                }
                (region.to_string(), Client::from_conf(config.build()))
            })
            .collect();
        Portal { clients }
    }

    pub async fn role_credentials(
        &self,
        region: &str,
        token: &Secret,
        account_id: &str,
        role_name: &str,
    ) -> Result<RoleCredentials, PortalError> {
        let client = self
            .clients
            .get(region)
            .ok_or_else(|| PortalError::Failed(format!("no portal client for region {region}")))?;
        let output = client
            .get_role_credentials()
            .access_token(token.expose())
            .account_id(account_id)
            .role_name(role_name)
            .send()
            .await
            .map_err(classify)?;
        let creds = output.role_credentials().ok_or_else(|| {
            PortalError::Failed("the portal answered without roleCredentials".into())
        })?;
        let field = |v: Option<&str>, name: &str| {
            v.filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| PortalError::Failed(format!("the portal answered without {name}")))
        };
        let expiration = DateTime::<Utc>::from_timestamp_millis(creds.expiration())
            .filter(|t| t.timestamp() > 0)
            .ok_or_else(|| {
                PortalError::Failed("the portal answered without a valid expiration".into())
            })?;
        Ok(RoleCredentials {
            access_key_id: field(creds.access_key_id(), "accessKeyId")?,
            secret_access_key: Secret::new(field(creds.secret_access_key(), "secretAccessKey")?),
            session_token: Secret::new(field(creds.session_token(), "sessionToken")?),
            expiration,
        })
    }
}

fn classify(err: SdkError<GetRoleCredentialsError>) -> PortalError {
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            if e.is_unauthorized_exception() {
                PortalError::LoginRequired
            } else if e.is_resource_not_found_exception() || e.code() == Some("ForbiddenException")
            {
                PortalError::NoAccess
            } else if e.is_too_many_requests_exception() {
                PortalError::Failed("the portal is throttling requests (TooManyRequestsException); try again shortly".into())
            } else {
                let status = service.raw().status().as_u16();
                let code = e.code().unwrap_or("unknown error");
                PortalError::Failed(match e.message() {
                    Some(m) => format!("the portal answered {status} {code}: {m}"),
                    None => format!("the portal answered {status} {code}"),
                })
            }
        }
        SdkError::TimeoutError(_) => PortalError::Failed(
            "the portal did not answer in time; check the network or raise --timeout".into(),
        ),
        SdkError::DispatchFailure(f) => PortalError::Failed(format!(
            "cannot reach the portal ({}); check the network",
            if f.is_timeout() {
                "timed out".to_string()
            } else {
                aws_sdk_sso::error::DisplayErrorContext(&err).to_string()
            }
        )),
        SdkError::ResponseError(_) => {
            PortalError::Failed("the portal sent a response that is not valid JSON".into())
        }
        _ => PortalError::Failed(format!(
            "the call failed: {}",
            aws_sdk_sso::error::DisplayErrorContext(&err)
        )),
    }
}
