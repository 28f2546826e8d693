//! Where files live and which endpoints to use: the one place that reads the
//! process environment, so tests and the demo can run with an environment of their own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};

/// An endpoint URL the environment sets for a service, and the variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointOverride {
    pub url: String,
    /// `AWS_ENDPOINT_URL_SSO`, or the generic `AWS_ENDPOINT_URL`.
    pub variable: String,
}

impl EndpointOverride {
    /// Set by the generic `AWS_ENDPOINT_URL`, which is meant for every service
    /// (LocalStack, most often) and may redirect SSO by surprise.
    pub fn is_generic(&self) -> bool {
        self.variable == "AWS_ENDPOINT_URL"
    }
}

#[derive(Clone, Debug, Default)]
pub struct Environment {
    vars: HashMap<String, String>,
}

impl Environment {
    pub fn from_process() -> Self {
        Environment {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Environment {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Every variable, for a process ssosync starts itself (the prompt's
    /// background sync), so it sees the environment this run was given.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A variable's value; empty counts as unset.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// A variable's value as set, empty included (`NO_PROXY=` means "none").
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.get(name)
    }

    /// A variable's value as set, with its name as the environment spells it
    /// (on Windows, `https_proxy` may be found as `HTTPS_PROXY`).
    pub fn raw_named(&self, name: &str) -> Option<(&str, &str)> {
        self.entry(name).map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.entry(name).map(|(_, v)| v.as_str())
    }

    /// Unix: the variable of exactly that name.
    #[cfg(not(windows))]
    fn entry(&self, name: &str) -> Option<(&String, &String)> {
        self.vars.get_key_value(name)
    }

    /// Windows: names are case-insensitive, so `$env:aws_profile` set in
    /// PowerShell is `AWS_PROFILE`, as for every Windows program (the SDKs
    /// and the AWS CLI included).
    #[cfg(windows)]
    fn entry(&self, name: &str) -> Option<(&String, &String)> {
        self.vars
            .get_key_value(name)
            .or_else(|| self.vars.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
    }

    /// A path a user wrote in a file or a variable: `~/x` from `$HOME`.
    pub fn expand_home(&self, path: &str) -> PathBuf {
        self.expand(path).unwrap_or_else(|_| PathBuf::from(path))
    }

    /// The user's home, where `.aws` lives: `$HOME` on Unix; on Windows
    /// `%USERPROFILE%` (then `%HOMEDRIVE%%HOMEPATH%`, then `$HOME`), the folder
    /// the AWS CLI uses there.
    pub fn home(&self) -> Result<PathBuf> {
        self.home_for(Platform::CURRENT)
            .or_else(std::env::home_dir)
            .ok_or_else(|| {
                anyhow!(
                    "cannot find the home directory; set {}",
                    if cfg!(windows) { "USERPROFILE" } else { "HOME" }
                )
            })
    }

    fn home_for(&self, platform: Platform) -> Option<PathBuf> {
        if platform == Platform::Windows {
            if let Some(profile) = self.var("USERPROFILE") {
                return Some(PathBuf::from(profile));
            }
            if let (Some(drive), Some(path)) = (self.var("HOMEDRIVE"), self.var("HOMEPATH")) {
                return Some(PathBuf::from(format!("{drive}{path}")));
            }
        }
        self.var("HOME").map(PathBuf::from)
    }

    /// `~`, `~/x` (and on Windows `~\x`) resolve from the home, as the AWS CLI's
    /// `expanduser` does.
    fn expand(&self, path: &str) -> Result<PathBuf> {
        match tilde_rest(path, Platform::CURRENT) {
            Some("") => self.home(),
            Some(rest) => Ok(self.home()?.join(rest)),
            None => Ok(PathBuf::from(path)),
        }
    }

    pub fn config_path(&self) -> Result<PathBuf> {
        match self.var("AWS_CONFIG_FILE") {
            Some(p) => self.expand(p),
            None => Ok(self.home()?.join(".aws").join("config")),
        }
    }

    pub fn credentials_path(&self) -> Result<PathBuf> {
        match self.var("AWS_SHARED_CREDENTIALS_FILE") {
            Some(p) => self.expand(p),
            None => Ok(self.home()?.join(".aws").join("credentials")),
        }
    }

    pub fn sso_cache_dir(&self) -> Result<PathBuf> {
        Ok(self.home()?.join(".aws").join("sso").join("cache"))
    }

    /// An endpoint override for one service (`SSO`, `SSO_OIDC`, `STS`), as the SDKs
    /// read it: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self, service: &str) -> Option<String> {
        self.endpoint_override(service).map(|o| o.url)
    }

    /// [`Environment::endpoint`], with the variable it came from.
    pub fn endpoint_override(&self, service: &str) -> Option<EndpointOverride> {
        if self
            .var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return None;
        }
        [
            format!("AWS_ENDPOINT_URL_{service}"),
            "AWS_ENDPOINT_URL".into(),
        ]
        .into_iter()
        .find_map(|variable| {
            self.var(&variable).map(|url| EndpointOverride {
                url: url.trim().to_string(),
                variable,
            })
        })
    }

    /// A path for messages: `~/.aws/credentials` rather than
    /// `/home/me/.aws/credentials` (on Windows `~\.aws\credentials`).
    pub fn display_path(&self, path: &Path) -> String {
        if let Ok(home) = self.home()
            && let Ok(rest) = path.strip_prefix(&home)
        {
            let mut shown = String::from("~");
            for part in rest {
                shown.push(std::path::MAIN_SEPARATOR);
                shown.push_str(&part.to_string_lossy());
            }
            return shown;
        }
        path.display().to_string()
    }

    /// Colours are for terminals only, and never with `NO_COLOR` (set and not
    /// empty, as no-color.org defines it).
    pub fn no_color(&self) -> bool {
        self.var("NO_COLOR").is_some()
    }
}

/// Whose rules a path follows: only Windows takes `\\` as a separator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Platform {
    Unix,
    Windows,
}

impl Platform {
    const CURRENT: Platform = if cfg!(windows) {
        Platform::Windows
    } else {
        Platform::Unix
    };
}

/// What follows a leading `~` that means the home: `Some("")` for `~` alone,
/// `Some(rest)` for `~/rest` (or `~\rest` on Windows), `None` for anything else
/// (`~bob/x` and `x/~` are left as they are).
fn tilde_rest(path: &str, platform: Platform) -> Option<&str> {
    let rest = path.strip_prefix('~')?;
    if rest.is_empty() {
        return Some("");
    }
    rest.strip_prefix('/').or_else(|| {
        (platform == Platform::Windows)
            .then(|| rest.strip_prefix('\\'))
            .flatten()
    })
}

/// Reads a file that may not exist yet.
pub fn read_optional(path: &Path, shown: &str) -> Result<Option<String>> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(anyhow!("{shown} is a directory, not a file; move it away"));
        }
        Ok(meta) if !meta.is_file() => {
            return Err(anyhow!(
                "{shown} is not a regular file (a FIFO, socket or device); replace it with a file"
            ));
        }
        _ => {}
    }
    match read_regular_file(path) {
        Ok(bytes) => decode_text(bytes, shown).map(Some),
        // Windows reports a file in the way of a folder (`notafolder\\x`) as
        // "path not found" where Unix says "not a directory": not a missing file.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !under_a_file(path) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {shown}")),
    }
}

/// A profile file's bytes as text: no NUL bytes, valid UTF-8.
pub fn decode_text(bytes: Vec<u8>, shown: &str) -> Result<String> {
    if bytes.contains(&0) {
        return Err(anyhow!(
            "{shown} contains NUL bytes and is not a text file; restore it from a backup"
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "{shown} is not valid UTF-8 (byte {}); fix or remove the bad bytes",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Whether the nearest existing folder above `path` is in fact a file.
fn under_a_file(path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .find_map(|a| std::fs::metadata(a).ok())
        .is_some_and(|meta| !meta.is_dir())
}

/// Reads a file only if it is a regular file (after symlinks): a FIFO would block
/// the read forever, and a device or socket is nothing ssosync should parse or replace.
pub fn read_regular_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("it is {what}; move it away"),
        ));
    }
    std::fs::read(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Windows' variable names ignore case; Unix's do not.
    #[test]
    fn variable_names_ignore_case_on_windows_only() {
        let env = Environment::from_vars([("aws_profile", "dev"), ("HTTPS_PROXY", "")]);
        assert_eq!(env.var("aws_profile"), Some("dev"));
        assert_eq!(env.raw("HTTPS_PROXY"), Some(""));
        let (profile, proxy) = (env.var("AWS_PROFILE"), env.raw_named("https_proxy"));
        if cfg!(windows) {
            assert_eq!((profile, proxy), (Some("dev"), Some(("HTTPS_PROXY", ""))));
        } else {
            assert_eq!((profile, proxy), (None, None));
        }
    }

    #[test]
    fn a_leading_tilde_means_the_home_as_the_aws_cli_reads_it() {
        for platform in [Platform::Unix, Platform::Windows] {
            assert_eq!(tilde_rest("~", platform), Some(""));
            assert_eq!(tilde_rest("~/.aws/x", platform), Some(".aws/x"));
            assert_eq!(tilde_rest("~bob/x", platform), None);
            assert_eq!(tilde_rest("/tmp/~/x", platform), None);
            assert_eq!(tilde_rest("C:\\x", platform), None);
        }
        assert_eq!(tilde_rest("~\\.aws\\x", Platform::Windows), Some(".aws\\x"));
        // On Unix a backslash is part of a file name: `~\\x` is a file named so.
        assert_eq!(tilde_rest("~\\.aws", Platform::Unix), None);
    }

    #[test]
    fn the_home_is_userprofile_on_windows_and_home_elsewhere() {
        let env = Environment::from_vars([
            ("HOME", "/home/me"),
            ("USERPROFILE", "C:\\Users\\me"),
            ("HOMEDRIVE", "D:"),
            ("HOMEPATH", "\\me"),
        ]);
        assert_eq!(env.home_for(Platform::Unix), Some("/home/me".into()));
        assert_eq!(
            env.home_for(Platform::Windows),
            Some("C:\\Users\\me".into())
        );
        let env = Environment::from_vars([("HOMEDRIVE", "D:"), ("HOMEPATH", "\\me")]);
        assert_eq!(env.home_for(Platform::Windows), Some("D:\\me".into()));
        assert_eq!(env.home_for(Platform::Unix), None);
        let env = Environment::from_vars([("HOME", "/c/Users/me"), ("USERPROFILE", "")]);
        assert_eq!(env.home_for(Platform::Windows), Some("/c/Users/me".into()));
    }

    #[test]
    fn paths_come_from_the_variables_with_the_tilde_expanded() {
        let home = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
        let root = std::env::temp_dir().join("me");
        let env = Environment::from_vars([
            (home, root.to_string_lossy().into_owned()),
            ("AWS_CONFIG_FILE", "~/custom/config".to_string()),
        ]);
        assert_eq!(env.config_path().unwrap(), root.join("custom/config"));
        assert_eq!(
            env.credentials_path().unwrap(),
            root.join(".aws").join("credentials")
        );
        let sep = std::path::MAIN_SEPARATOR;
        assert_eq!(
            env.display_path(&env.credentials_path().unwrap()),
            format!("~{sep}.aws{sep}credentials")
        );
        assert_eq!(
            env.display_path(&env.config_path().unwrap()),
            format!("~{sep}custom{sep}config")
        );
    }
}
