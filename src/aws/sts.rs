//! One AssumeRole hop of a role chain, through `aws-sdk-sts`, signed with the
//! previous hop's credentials.

use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};

use crate::aws::RoleCredentials;
use crate::aws::clients::StsClient;
use crate::aws::network;
use crate::config::profiles::RoleHop;
use crate::secret::Secret;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssumeError {
    /// AccessDenied: the source role may not assume this one.
    Denied(String),
    Failed(String),
}

pub async fn assume_role(
    client: &StsClient,
    hop: &RoleHop,
    default_session_name: &str,
) -> Result<RoleCredentials, AssumeError> {
    let output = client
        .sdk
        .assume_role()
        .role_arn(&hop.role_arn)
        .role_session_name(hop.session_name.as_deref().unwrap_or(default_session_name))
        .duration_seconds(hop.duration_seconds.unwrap_or(3600))
        .set_external_id(hop.external_id.clone())
        .send()
        .await
        .map_err(|err| {
            if let Some(cause) = network::cause(&err) {
                return AssumeError::Failed(client.route.explain(&cause));
            }
            if let Some(said) = network::answered_by_proxy(&err, &client.route) {
                return AssumeError::Failed(said);
            }
            match &err {
                SdkError::ServiceError(service) => {
                    let e = service.err();
                    let detail = match (e.code(), e.message()) {
                        (Some(c), Some(m)) => format!("{c}: {m}"),
                        (Some(c), None) => c.to_string(),
                        _ => "an unknown error".to_string(),
                    };
                    if e.code() == Some("AccessDenied") {
                        AssumeError::Denied(detail)
                    } else {
                        AssumeError::Failed(format!("STS answered {detail}"))
                    }
                }
                _ => AssumeError::Failed("STS sent an unusable response".into()),
            }
        })?;
    let creds = output
        .credentials()
        .ok_or_else(|| AssumeError::Failed("STS answered without credentials".into()))?;
    let expiration = DateTime::<Utc>::from_timestamp(creds.expiration().secs(), 0)
        .ok_or_else(|| AssumeError::Failed("STS answered with an invalid expiration".into()))?;
    Ok(RoleCredentials {
        access_key_id: creds.access_key_id().to_string(),
        secret_access_key: Secret::new(creds.secret_access_key()),
        session_token: Secret::new(creds.session_token()),
        expiration,
    })
}
