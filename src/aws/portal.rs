//! The SSO portal through `aws-sdk-sso`: GetRoleCredentials and Logout. Both
//! calls are unsigned: the bearer token is their only credential.

use aws_sdk_sso::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sso::operation::get_role_credentials::GetRoleCredentialsError;
use chrono::{DateTime, Utc};

use crate::aws::clients::SsoClient;
use crate::aws::network::{self, Route};
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
    /// 429 on every attempt the SDK made: ask again later, more slowly.
    Throttled,
    /// The portal answered something we cannot use, or could not be reached.
    Failed(String),
}

pub async fn role_credentials(
    client: &SsoClient,
    token: &Secret,
    account_id: &str,
    role_name: &str,
) -> Result<RoleCredentials, PortalError> {
    let output = client
        .sdk
        .get_role_credentials()
        .access_token(token.expose())
        .account_id(account_id)
        .role_name(role_name)
        .send()
        .await
        .map_err(|err| classify(err, &client.route))?;
    let creds = output
        .role_credentials()
        .ok_or_else(|| PortalError::Failed("the portal answered without roleCredentials".into()))?;
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

fn classify(err: SdkError<GetRoleCredentialsError>, route: &Route) -> PortalError {
    if let Some(cause) = network::cause(&err) {
        return PortalError::Failed(route.explain(&cause));
    }
    if let Some(said) = network::answered_by_proxy(&err, route) {
        return PortalError::Failed(said);
    }
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            if e.is_unauthorized_exception() {
                PortalError::LoginRequired
            } else if e.is_resource_not_found_exception() || e.code() == Some("ForbiddenException")
            {
                PortalError::NoAccess
            } else if e.is_too_many_requests_exception() {
                PortalError::Throttled
            } else if service.raw().status().is_success() {
                PortalError::Failed(
                    "the portal sent a response (HTTP 200) that is not role credentials".into(),
                )
            } else {
                let status = service.raw().status().as_u16();
                let code = e.code().unwrap_or("unknown error");
                PortalError::Failed(match e.message() {
                    Some(m) => format!("the portal answered {status} {code}: {m}"),
                    None => format!("the portal answered {status} {code}"),
                })
            }
        }
        SdkError::ResponseError(_) => {
            PortalError::Failed("the portal sent a response that is not valid JSON".into())
        }
        _ => PortalError::Failed(format!(
            "the call failed: {}",
            aws_sdk_sso::error::DisplayErrorContext(&err)
        )),
    }
}

/// The portal's Logout: ends the session at IAM Identity Center. A token the
/// portal no longer accepts is signed out already. The error is one line.
pub async fn logout(client: &SsoClient, token: &Secret) -> Result<(), String> {
    let err = match client
        .sdk
        .logout()
        .access_token(token.expose())
        .send()
        .await
    {
        Ok(_) => return Ok(()),
        Err(err) => err,
    };
    if let Some(cause) = network::cause(&err) {
        return Err(client.route.explain(&cause));
    }
    if let Some(said) = network::answered_by_proxy(&err, &client.route) {
        return Err(said);
    }
    match &err {
        SdkError::ServiceError(e) if e.err().is_unauthorized_exception() => Ok(()),
        SdkError::ServiceError(e) => Err(format!(
            "the portal answered {}",
            e.err().code().unwrap_or("an unknown error")
        )),
        _ => Err("the portal sent an unusable response".into()),
    }
}
