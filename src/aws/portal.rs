//! The SSO portal through `aws-sdk-sso`: GetRoleCredentials, Logout, and the
//! listings populate reads (ListAccounts, ListAccountRoles, one page a call).
//! Every call is unsigned: the bearer token is its only credential.

use aws_sdk_sso::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sso::operation::get_role_credentials::GetRoleCredentialsError;
use chrono::{DateTime, Utc};

use crate::aws::clients::SsoClient;
use crate::aws::credentials::RoleCredentials;
use crate::aws::network::{self, Route};
use crate::secret::Secret;

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

/// One account as ListAccounts describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountInfo {
    pub account_id: String,
    pub account_name: String,
    pub email: String,
}

/// One page of a listing and the token of the next page, if there is one.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// How a listing call failed, by what the caller does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListError {
    /// 401: the token expired or was revoked.
    LoginRequired,
    /// 403/404: no such account (any more) for this token's user.
    NoAccess(String),
    /// 429: ask again, more slowly.
    Throttled,
    /// A 5xx, a timeout or a dropped connection: worth asking again.
    Transient(String),
    /// Anything else (a 400, an answer we cannot read).
    Failed(String),
}

/// One page of ListAccounts.
pub async fn list_accounts(
    client: &SsoClient,
    token: &Secret,
    page_size: i32,
    next_token: Option<String>,
) -> Result<Page<AccountInfo>, ListError> {
    let output = client
        .sdk
        .list_accounts()
        .access_token(token.expose())
        .max_results(page_size)
        .set_next_token(next_token)
        .send()
        .await
        .map_err(|e| classify_listing(&e))?;
    let items = output
        .account_list()
        .iter()
        .filter_map(|a| {
            let id = a.account_id().filter(|id| !id.is_empty())?;
            Some(AccountInfo {
                account_id: id.to_string(),
                account_name: a.account_name().unwrap_or_default().to_string(),
                email: a.email_address().unwrap_or_default().to_string(),
            })
        })
        .collect();
    Ok(Page {
        items,
        next_token: output
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string),
    })
}

/// One page of ListAccountRoles for `account_id`: role names.
pub async fn list_account_roles(
    client: &SsoClient,
    token: &Secret,
    account_id: &str,
    page_size: i32,
    next_token: Option<String>,
) -> Result<Page<String>, ListError> {
    let output = client
        .sdk
        .list_account_roles()
        .access_token(token.expose())
        .account_id(account_id)
        .max_results(page_size)
        .set_next_token(next_token)
        .send()
        .await
        .map_err(|e| classify_listing(&e))?;
    let items = output
        .role_list()
        .iter()
        .filter_map(|r| r.role_name().filter(|n| !n.is_empty()).map(str::to_string))
        .collect();
    Ok(Page {
        items,
        next_token: output
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string),
    })
}

/// A listing call's error by its code (both operations model the same ones).
fn classify_listing<E>(err: &SdkError<E, aws_sdk_sso::config::http::HttpResponse>) -> ListError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let status = service.raw().status().as_u16();
            let detail = match (e.code(), e.message()) {
                (Some(code), Some(m)) => format!("the portal answered {status} {code}: {m}"),
                (Some(code), None) => format!("the portal answered {status} {code}"),
                _ => format!("the portal answered {status}"),
            };
            match e.code() {
                Some("UnauthorizedException") => ListError::LoginRequired,
                Some("TooManyRequestsException") => ListError::Throttled,
                Some("ResourceNotFoundException" | "ForbiddenException") => {
                    ListError::NoAccess(detail)
                }
                _ if status == 429 => ListError::Throttled,
                _ if status >= 500 => ListError::Transient(detail),
                _ if service.raw().status().is_success() => ListError::Failed(
                    "the portal sent a response (HTTP 200) that is not a listing".into(),
                ),
                _ => ListError::Failed(detail),
            }
        }
        SdkError::TimeoutError(_) => ListError::Transient(
            "the portal did not answer in time; check the network or raise --timeout".into(),
        ),
        SdkError::DispatchFailure(f) => ListError::Transient(format!(
            "cannot reach the portal ({}); check the network",
            if f.is_timeout() {
                "timed out".to_string()
            } else {
                innermost_cause(err)
            }
        )),
        SdkError::ResponseError(_) => {
            ListError::Failed("the portal sent a response that is not valid JSON".into())
        }
        _ => ListError::Failed(format!(
            "the call failed: {}",
            aws_sdk_sso::error::DisplayErrorContext(err)
        )),
    }
}

/// The last error in `err`'s chain of sources, in words (`Connection refused (os
/// error 111)`): the cause a person can act on, without the layers above it.
fn innermost_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
