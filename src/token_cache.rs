//! Access tokens cached by `aws sso login` in `~/.aws/sso/cache/`.
//!
//! A token is found by the SHA-1 of its session name (or legacy start URL); failing
//! that, by scanning the folder for a token with the same start URL and region.
//! Each token is read at most once per run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::profiles::SignIn;
use crate::secret::Secret;
use crate::timefmt::parse_timestamp;

/// A usable access token.
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub token: Secret,
    pub expires_at: DateTime<Utc>,
    pub path: PathBuf,
}

/// Why a sign-in has no usable token; every variant is fixed by logging in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenProblem {
    Missing,
    Expired(DateTime<Utc>),
    Unreadable { path: PathBuf, reason: String },
}

/// What the cache holds for one file, before we decide whether it fits.
#[derive(Clone, Debug)]
struct CachedFile {
    start_url: Option<String>,
    region: Option<String>,
    token: Secret,
    expires_at: DateTime<Utc>,
    path: PathBuf,
}

pub struct TokenCache {
    dir: PathBuf,
    found: HashMap<SignIn, Result<AccessToken, TokenProblem>>,
    /// Every token file in the folder, read on the first fallback lookup.
    scanned: Option<Vec<CachedFile>>,
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

    /// The token for `sign_in`, valid at `now`.
    pub fn token(
        &mut self,
        sign_in: &SignIn,
        now: DateTime<Utc>,
    ) -> Result<AccessToken, TokenProblem> {
        if let Some(found) = self.found.get(sign_in) {
            return found.clone();
        }
        let found = self.lookup(sign_in, now);
        self.found.insert(sign_in.clone(), found.clone());
        found
    }

    fn lookup(
        &mut self,
        sign_in: &SignIn,
        now: DateTime<Utc>,
    ) -> Result<AccessToken, TokenProblem> {
        let path = self.dir.join(cache_file_name(sign_in.cache_identifier()));
        let direct = match std::fs::read(&path) {
            Ok(bytes) => match parse_cache_file(&bytes, &path) {
                Ok(Some(file)) => Some(file),
                Ok(None) => None,
                Err(reason) => return Err(TokenProblem::Unreadable { path, reason }),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(TokenProblem::Unreadable {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        let file = match direct {
            Some(file) => file,
            None => self.scan(sign_in).ok_or(TokenProblem::Missing)?,
        };
        if file.expires_at <= now {
            return Err(TokenProblem::Expired(file.expires_at));
        }
        Ok(AccessToken {
            token: file.token,
            expires_at: file.expires_at,
            path: file.path,
        })
    }

    /// The newest token in the folder for the same start URL (and region, when recorded).
    fn scan(&mut self, sign_in: &SignIn) -> Option<CachedFile> {
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

fn scan_dir(dir: &Path) -> (Vec<CachedFile>, Vec<String>) {
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
        match std::fs::read(&path)
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
fn parse_cache_file(bytes: &[u8], path: &Path) -> Result<Option<CachedFile>, String> {
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
    Ok(Some(CachedFile {
        start_url: text("startUrl"),
        region: text("region"),
        token: Secret::new(token.clone()),
        expires_at,
        path: path.to_path_buf(),
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
