//! Access tokens cached by `aws sso login` in `~/.aws/sso/cache/`.
//!
//! A token is found by the SHA-1 of its session name (or legacy start URL); failing
//! that, by scanning the folder for a token with the same start URL and region.
//! Each token is read at most once per run. A refreshed token is written back to
//! the same file, atomically, keeping every field the CLI wrote; a login writes a
//! new file with the fields the CLI writes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::auth::oidc::{IssuedToken, RefreshedToken, Registration};
use crate::config::profiles::SignIn;
use crate::secret::Secret;
use crate::timefmt::parse_timestamp;

/// A cached access token, expired or not: the caller decides what it is good for.
#[derive(Clone, Debug)]
pub struct CachedToken {
    pub token: Secret,
    pub expires_at: DateTime<Utc>,
    pub path: PathBuf,
    start_url: Option<String>,
    region: Option<String>,
    pub refresh: Option<RefreshMaterial>,
}

/// What SSO-OIDC needs to refresh a token: all four fields must be present.
#[derive(Clone, Debug)]
pub struct RefreshMaterial {
    pub client_id: String,
    pub client_secret: Secret,
    pub refresh_token: Secret,
    pub registration_expires_at: DateTime<Utc>,
}

impl CachedToken {
    /// Refreshable: has all four refresh fields and the registration is current.
    pub fn refreshable(&self, now: DateTime<Utc>) -> bool {
        self.refresh
            .as_ref()
            .is_some_and(|r| r.registration_expires_at > now)
    }
}

/// Why a sign-in has no token; both are fixed by logging in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenProblem {
    Missing,
    Unreadable { path: PathBuf, reason: String },
}

pub struct TokenCache {
    dir: PathBuf,
    found: HashMap<SignIn, Result<CachedToken, TokenProblem>>,
    /// Every token file in the folder, read on the first fallback lookup.
    scanned: Option<Vec<CachedToken>>,
    /// Files skipped while scanning, reported once.
    pub warnings: Vec<String>,
}

pub fn cache_file_name(identifier: &str) -> String {
    format!("{}.json", sha1_smol::Sha1::from(identifier).hexdigest())
}

impl TokenCache {
    pub fn new(dir: PathBuf) -> Self {
        TokenCache {
            dir,
            found: HashMap::new(),
            scanned: None,
            warnings: Vec::new(),
        }
    }

    /// The cached token for `sign_in`.
    pub fn token(&mut self, sign_in: &SignIn) -> Result<CachedToken, TokenProblem> {
        if let Some(found) = self.found.get(sign_in) {
            return found.clone();
        }
        let found = self.lookup(sign_in);
        self.found.insert(sign_in.clone(), found.clone());
        found
    }

    fn lookup(&mut self, sign_in: &SignIn) -> Result<CachedToken, TokenProblem> {
        let path = self.dir.join(cache_file_name(sign_in.cache_identifier()));
        match read_token_file(&path) {
            Ok(Some(token)) => Ok(token),
            Ok(None) => self.scan(sign_in).ok_or(TokenProblem::Missing),
            Err(problem) => Err(problem),
        }
    }

    /// The newest token in the folder for the same start URL (and region, when recorded).
    fn scan(&mut self, sign_in: &SignIn) -> Option<CachedToken> {
        if self.scanned.is_none() {
            let (files, warnings) = scan_dir(&self.dir);
            self.scanned = Some(files);
            self.warnings.extend(warnings);
        }
        self.scanned
            .as_ref()?
            .iter()
            .filter(|f| f.start_url.as_deref() == Some(sign_in.start_url()))
            .filter(|f| f.region.as_deref().is_none_or(|r| r == sign_in.region()))
            .max_by_key(|f| f.expires_at)
            .cloned()
    }
}

/// Reads one token file; `Ok(None)` when it does not exist or holds no token.
pub fn read_token_file(path: &Path) -> Result<Option<CachedToken>, TokenProblem> {
    match crate::config::environment::read_regular_file(path) {
        Ok(bytes) => parse_cache_file(&bytes, path).map_err(|reason| TokenProblem::Unreadable {
            path: path.to_path_buf(),
            reason,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(TokenProblem::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// Writes a refreshed token into its cache file: `accessToken`, `expiresAt` (the
/// CLI's `…Z` form) and, when rotated, `refreshToken` change; every other field
/// (including ones we do not know) stays, in its order.
pub fn write_refreshed(path: &Path, refreshed: &RefreshedToken) -> anyhow::Result<()> {
    use anyhow::Context;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut map: Map<String, Value> = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is no longer a JSON object", path.display()))?;
    let mut set = |name: &str, value: String| {
        let key = map
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
            .unwrap_or_else(|| name.to_string());
        map.insert(key, Value::String(value));
    };
    set("accessToken", refreshed.access_token.expose().to_string());
    set(
        "expiresAt",
        crate::timefmt::format_utc(refreshed.expires_at),
    );
    if let Some(rt) = &refreshed.refresh_token {
        set("refreshToken", rt.expose().to_string());
    }
    let text = serde_json::to_string(&map).context("cannot encode the token")?;
    // Token files hold secrets: 0600 whatever mode they had, as the CLI creates them.
    crate::store::safe_write::stage_private(path, &text)?.commit()
}

/// Writes the token a login got as `path`, replacing any older file: the fields the
/// AWS CLI writes after `aws sso login`, in its order, so the CLI, botocore and the
/// SDKs take it as their own. The refresh fields only when the service gave a
/// refresh token (a legacy sign-in gets none). Atomic and 0600.
pub fn write_login(
    path: &Path,
    start_url: &str,
    region: &str,
    token: &IssuedToken,
    registration: &Registration,
) -> anyhow::Result<()> {
    use crate::timefmt::format_utc;
    use anyhow::Context;
    let mut map = Map::new();
    let mut put = |key: &str, value: &str| {
        map.insert(key.to_string(), Value::String(value.to_string()));
    };
    put("startUrl", start_url);
    put("region", region);
    put("accessToken", token.access_token.expose());
    put("expiresAt", &format_utc(token.expires_at));
    if let Some(refresh_token) = &token.refresh_token {
        put("clientId", &registration.client_id);
        put("clientSecret", registration.client_secret.expose());
        put(
            "registrationExpiresAt",
            &format_utc(registration.expires_at),
        );
        put("refreshToken", refresh_token.expose());
    }
    let text = serde_json::to_string(&map).context("cannot encode the token")?;
    crate::store::safe_write::ensure_parent(path)?;
    crate::store::safe_write::stage_private(path, &text)?.commit()
}

fn scan_dir(dir: &Path) -> (Vec<CachedToken>, Vec<String>) {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (files, warnings);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        match crate::config::environment::read_regular_file(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| parse_cache_file(&b, &path))
        {
            Ok(Some(file)) => files.push(file),
            // A client registration, not a token: expected in this folder.
            Ok(None) => {
                tracing::debug!(path = %path.display(), "skipping cache file without accessToken")
            }
            Err(reason) => warnings.push(format!("skipping {}: {reason}", path.display())),
        }
    }
    (files, warnings)
}

/// `Ok(None)` for a file without `accessToken` (a client registration).
fn parse_cache_file(bytes: &[u8], path: &Path) -> Result<Option<CachedToken>, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON ({e})"))?;
    let Value::Object(map) = value else {
        return Err("not a JSON object".into());
    };
    let Some(token) = field(&map, "accessToken") else {
        return Ok(None);
    };
    let Value::String(token) = token else {
        return Err("accessToken is not a string".into());
    };
    // It travels as an HTTP header: anything else is a damaged file.
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("accessToken is empty or has characters a token cannot have".into());
    }
    let expires_at = match field(&map, "expiresAt") {
        Some(Value::String(s)) => {
            parse_timestamp(s).ok_or_else(|| format!("expiresAt `{s}` is not a date"))?
        }
        Some(_) => return Err("expiresAt is not a string".into()),
        None => return Err("has accessToken but no expiresAt".into()),
    };
    let text = |key| match field(&map, key) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let refresh = match (
        text("clientId"),
        text("clientSecret"),
        text("refreshToken"),
        text("registrationExpiresAt").and_then(|t| parse_timestamp(&t)),
    ) {
        (Some(client_id), Some(secret), Some(refresh_token), Some(registration_expires_at)) => {
            Some(RefreshMaterial {
                client_id,
                client_secret: Secret::new(secret),
                refresh_token: Secret::new(refresh_token),
                registration_expires_at,
            })
        }
        _ => None,
    };
    Ok(Some(CachedToken {
        start_url: text("startUrl"),
        region: text("region"),
        token: Secret::new(token.clone()),
        expires_at,
        path: path.to_path_buf(),
        refresh,
    }))
}

/// Field names are matched case-insensitively, as the Rust SDK does.
fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_files_like_the_cli() {
        // The FIPS 180 test vector: the name is the lowercase hex SHA-1 plus `.json`.
        assert_eq!(
            cache_file_name("abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d.json"
        );
    }

    #[test]
    fn a_login_token_reads_back_refreshable() {
        use chrono::TimeZone;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache").join("t.json");
        let expires = Utc.with_ymd_and_hms(2030, 1, 1, 8, 0, 0).unwrap();
        let token = IssuedToken {
            access_token: Secret::new("at"),
            expires_at: expires,
            refresh_token: Some(Secret::new("rt")),
        };
        let registration = Registration {
            client_id: "cid".into(),
            client_secret: Secret::new("cs"),
            expires_at: Utc.with_ymd_and_hms(2030, 3, 1, 0, 0, 0).unwrap(),
        };
        write_login(&path, "https://x/start", "eu-west-1", &token, &registration).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            r#"{"startUrl":"https://x/start","region":"eu-west-1","accessToken":"at","expiresAt":"2030-01-01T08:00:00Z","clientId":"cid","clientSecret":"cs","registrationExpiresAt":"2030-03-01T00:00:00Z","refreshToken":"rt"}"#
        );
        let read = read_token_file(&path).unwrap().unwrap();
        assert_eq!(read.expires_at, expires);
        assert!(read.refreshable(expires));

        let legacy = IssuedToken {
            refresh_token: None,
            ..token
        };
        write_login(
            &path,
            "https://x/start",
            "eu-west-1",
            &legacy,
            &registration,
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("clientSecret"), "{text}");
    }

    #[test]
    fn reads_fields_case_insensitively_and_skips_registrations() {
        let p = Path::new("x.json");
        let f = parse_cache_file(
            br#"{"AccessToken":"t","EXPIRESAT":"2030-01-01T00:00:00UTC"}"#,
            p,
        )
        .unwrap()
        .unwrap();
        assert_eq!(f.token.expose(), "t");
        assert!(
            parse_cache_file(br#"{"clientId":"c","clientSecret":"s"}"#, p)
                .unwrap()
                .is_none()
        );
        for bad in [
            &b""[..],
            b"[]",
            b"{\"accessToken\":1}",
            b"{\"accessToken\":\"t\",\"expiresAt\":\"never\"}",
            b"{\"accessToken\":\"t\"}",
        ] {
            assert!(
                parse_cache_file(bad, p).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
