//! Refreshing an sso-session access token with SSO-OIDC CreateToken
//! (`grant_type=refresh_token`), through `aws-sdk-ssooidc`.

use aws_sdk_ssooidc::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};

use crate::secret::Secret;

/// What a successful refresh hands back.
#[derive(Clone, Debug)]
pub struct RefreshedToken {
    pub access_token: Secret,
    pub expires_at: DateTime<Utc>,
    /// Present when the service rotated the refresh token.
    pub refresh_token: Option<Secret>,
}

/// Asks for a new access token; the error says why, for a "log in again" message.
pub async fn refresh(
    client: &aws_sdk_ssooidc::Client,
    client_id: &str,
    client_secret: &Secret,
    refresh_token: &Secret,
    now: DateTime<Utc>,
) -> Result<RefreshedToken, String> {
    let output = client
        .create_token()
        .client_id(client_id)
        .client_secret(client_secret.expose())
        .grant_type("refresh_token")
        .refresh_token(refresh_token.expose())
        .send()
        .await
        .map_err(|err| match &err {
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
            SdkError::TimeoutError(_) => "SSO-OIDC did not answer in time".to_string(),
            SdkError::DispatchFailure(_) => "cannot reach SSO-OIDC".to_string(),
            _ => "SSO-OIDC sent an unusable response".to_string(),
        })?;
    let access_token = output
        .access_token()
        .filter(|t| !t.is_empty())
        .ok_or("SSO-OIDC answered without an access token")?;
    if output.expires_in() <= 0 {
        return Err("SSO-OIDC answered without a lifetime for the token".into());
    }
    Ok(RefreshedToken {
        access_token: Secret::new(access_token),
        expires_at: now + chrono::Duration::seconds(output.expires_in().into()),
        refresh_token: output
            .refresh_token()
            .filter(|t| !t.is_empty())
            .map(Secret::new),
    })
}
