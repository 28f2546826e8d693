//! ssosync's own SSO-OIDC client registrations, cached beside the tokens.
//!
//! A login needs a registered client (RegisterClient). Registrations last about 90
//! days, so each one is kept in `~/.aws/sso/cache/ssosync-registration-<sha1>.json`
//! (0600) and reused until it is about to expire. The SHA-1 covers everything the
//! registration was made for (sign-in, start URL, region, scopes, flow), so a changed
//! `sso_registration_scopes` gets a new one. The file has no `accessToken`, so every
//! token reader (ours, the CLI's, botocore's) passes it by.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::auth::oidc::{Registration, RegistrationRequest};
use crate::secret::Secret;
use crate::timefmt::{format_utc, parse_timestamp};

/// The client name the service shows for our registrations.
pub const CLIENT_NAME: &str = "ssosync";
/// The redirect the authorization-code flow registers: loopback, any port.
pub const REDIRECT_URI: &str = "http://127.0.0.1/oauth/callback";

/// Which login flow a registration is for: the grants differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Authorization code with PKCE and a loopback redirect.
    AuthorizationCode,
    DeviceCode,
}

impl Flow {
    fn key(self) -> &'static str {
        match self {
            Flow::AuthorizationCode => "authorization_code",
            Flow::DeviceCode => "device_code",
        }
    }
}

/// Everything a registration is made for.
#[derive(Clone, Debug)]
pub struct ClientSpec<'a> {
    /// The sso-session name; `None` for a legacy profile's sign-in.
    pub session: Option<&'a str>,
    pub start_url: &'a str,
    pub region: &'a str,
    pub scopes: &'a [String],
    pub flow: Flow,
}

impl ClientSpec<'_> {
    /// The cache file for this registration, in the token cache folder.
    pub fn cache_path(&self, cache_dir: &Path) -> PathBuf {
        // serde_json keeps insertion order, so the key is stable: write it sorted.
        let key = json!({
            "flow": self.flow.key(),
            "region": self.region,
            "scopes": self.scopes,
            "session": self.session,
            "startUrl": self.start_url,
            "tool": CLIENT_NAME,
        });
        let digest = sha1_smol::Sha1::from(key.to_string()).hexdigest();
        cache_dir.join(format!("ssosync-registration-{digest}.json"))
    }

    /// The RegisterClient request, shaped as the AWS CLI shapes its own.
    pub fn request(&self) -> RegistrationRequest {
        let mut request = RegistrationRequest {
            client_name: CLIENT_NAME.to_string(),
            scopes: self.scopes.to_vec(),
            ..Default::default()
        };
        if self.flow == Flow::AuthorizationCode {
            request.grant_types = vec!["authorization_code".into(), "refresh_token".into()];
            request.redirect_uris = vec![REDIRECT_URI.into()];
            request.issuer_url = Some(self.start_url.to_string());
        }
        request
    }
}

/// The cached registration at `path`, if it is still good after `good_until`.
/// A missing, unreadable or expiring file is simply not reused.
pub fn read_cached(path: &Path, good_until: DateTime<Utc>) -> Option<Registration> {
    let bytes = std::fs::read(path).ok()?;
    let map: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    let text = |key: &str| map.get(key)?.as_str().filter(|s| !s.is_empty());
    let registration = Registration {
        client_id: text("clientId")?.to_string(),
        client_secret: Secret::new(text("clientSecret")?),
        expires_at: parse_timestamp(text("expiresAt")?)?,
    };
    (registration.expires_at > good_until).then_some(registration)
}

/// Keeps `registration` at `path` for the next login: atomic, 0600.
pub fn write_cached(path: &Path, spec: &ClientSpec, registration: &Registration) -> Result<()> {
    let request = spec.request();
    let mut map = Map::new();
    map.insert("clientId".into(), registration.client_id.clone().into());
    map.insert(
        "clientSecret".into(),
        registration.client_secret.expose().into(),
    );
    map.insert(
        "expiresAt".into(),
        format_utc(registration.expires_at).into(),
    );
    map.insert("clientName".into(), request.client_name.into());
    map.insert("scopes".into(), request.scopes.into());
    if !request.grant_types.is_empty() {
        map.insert("grantTypes".into(), request.grant_types.into());
    }
    map.insert("startUrl".into(), spec.start_url.into());
    map.insert("region".into(), spec.region.into());
    let text = serde_json::to_string(&map).context("cannot encode the client registration")?;
    crate::store::safe_write::ensure_parent(path)?;
    crate::store::safe_write::stage_private(path, &text)?.commit()
}

/// Forgets a registration the service no longer accepts.
pub fn remove_cached(path: &Path) {
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::sign_in::DEFAULT_SCOPE;
    use chrono::TimeZone;

    fn spec<'a>(scopes: &'a [String], flow: Flow) -> ClientSpec<'a> {
        ClientSpec {
            session: Some("corp"),
            start_url: "https://corp.awsapps.com/start",
            region: "eu-west-1",
            scopes,
            flow,
        }
    }

    #[test]
    fn one_file_per_purpose() {
        let dir = Path::new("/c");
        let default = vec![DEFAULT_SCOPE.to_string()];
        let more = vec![DEFAULT_SCOPE.to_string(), "codewhisperer:x".to_string()];
        let a = spec(&default, Flow::AuthorizationCode).cache_path(dir);
        assert_eq!(a, spec(&default, Flow::AuthorizationCode).cache_path(dir));
        assert_ne!(a, spec(&default, Flow::DeviceCode).cache_path(dir));
        assert_ne!(a, spec(&more, Flow::AuthorizationCode).cache_path(dir));
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("ssosync-registration-") && name.ends_with(".json"));
    }

    #[test]
    fn pkce_registrations_name_their_grants_and_redirect() {
        let scopes = vec![DEFAULT_SCOPE.to_string()];
        let pkce = spec(&scopes, Flow::AuthorizationCode).request();
        assert_eq!(pkce.grant_types, ["authorization_code", "refresh_token"]);
        assert_eq!(pkce.redirect_uris, [REDIRECT_URI]);
        assert_eq!(
            pkce.issuer_url.as_deref(),
            Some("https://corp.awsapps.com/start")
        );
        let device = spec(&scopes, Flow::DeviceCode).request();
        assert!(device.grant_types.is_empty() && device.issuer_url.is_none());
        assert_eq!(device.client_name, "ssosync");
    }

    #[test]
    fn round_trips_and_expires() {
        let dir = tempfile::tempdir().unwrap();
        let scopes = vec![DEFAULT_SCOPE.to_string()];
        let spec = spec(&scopes, Flow::DeviceCode);
        let path = spec.cache_path(dir.path());
        let expires = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let registration = Registration {
            client_id: "id".into(),
            client_secret: Secret::new("secret"),
            expires_at: expires,
        };
        write_cached(&path, &spec, &registration).unwrap();
        // Modes are Unix's; on Windows the file has its folder's ACL.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let before = expires - chrono::Duration::hours(1);
        let read = read_cached(&path, before).unwrap();
        assert_eq!(read.client_id, "id");
        assert_eq!(read.client_secret.expose(), "secret");
        assert!(read_cached(&path, expires).is_none());
        std::fs::write(&path, "{").unwrap();
        assert!(read_cached(&path, before).is_none());
    }
}
