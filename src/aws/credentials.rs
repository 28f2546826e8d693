//! Short-lived role credentials, as the portal and STS hand them out: the value
//! every service call here produces and the store writes. A module of its own so
//! the clients (which sign STS calls with it) and the calls need not import
//! each other.

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
