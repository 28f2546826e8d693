//! Which sign-in a `login` or `logout` is about: `--sso-session NAME`, `-p
//! PROFILE`, or the defaults ($AWS_PROFILE's session, `default`'s, the config's
//! only sso-session), and the profiles that get credentials from it.

use anyhow::anyhow;

use crate::config::environment::Environment;
use crate::config::profile_file::{FileKind, ProfileSet};
use crate::config::profiles::{ProfileConfig, ProfileKind, SignIn};
use crate::exit::Fatal;

/// The scope a session gets when its config names none (as the CLI does).
pub const DEFAULT_SCOPE: &str = "sso:account:access";

/// What the command line says about the sign-in.
#[derive(Clone, Debug, Default)]
pub struct SignInChoice {
    pub sso_session: Option<String>,
    pub profile: Option<String>,
}

/// The sign-in a login or logout is about.
#[derive(Debug)]
pub struct SignInTarget {
    pub sign_in: SignIn,
    /// `sso_registration_scopes`, or the default; empty for legacy sign-ins.
    pub scopes: Vec<String>,
    /// Every profile whose credentials come from this sign-in (SSO profiles and the
    /// role chains starting at one), in name order.
    pub session_profiles: Vec<String>,
    /// The profile named with `-p`, when it has credentials of its own.
    pub profile: Option<String>,
    /// How messages name it: `sso-session corp`, `profile legacy`.
    pub label: String,
    /// The arguments that pick it again: `--sso-session corp`, `-p legacy`.
    pub again: String,
    /// `(profile, ca_bundle)` of the profiles that sign in this way: the CAs its
    /// requests trust besides the system's (unless `AWS_CA_BUNDLE` is set).
    pub ca_bundles: Vec<(String, String)>,
}

impl SignInTarget {
    /// [`SignInTarget::ca_bundles`], borrowed.
    pub fn ca_bundle_paths(&self) -> impl Iterator<Item = (&str, &str)> {
        self.ca_bundles
            .iter()
            .map(|(profile, path)| (profile.as_str(), path.as_str()))
    }

    pub fn login_command(&self) -> String {
        format!("ssosync login {}", self.again)
    }
}

/// Picks the sign-in from `--sso-session`, `-p`, or the defaults.
pub fn resolve(choice: &SignInChoice, env: &Environment) -> Result<SignInTarget, Fatal> {
    let file = crate::config::read(env)?;
    let config = ProfileConfig::from_file(&file);
    let set = file.profile_set(FileKind::Config);
    let shown = env.display_path(&env.config_path()?);
    let sessions = || {
        let mut names: Vec<&str> = set.sso_sessions.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    };
    if let Some(name) = &choice.sso_session {
        if !set.sso_sessions.contains_key(name) {
            let known = sessions();
            return Err(Fatal::Usage(if known.is_empty() {
                format!(
                    "sso-session `{name}` is not in {shown}, which defines none; add a [sso-session {name}] section (`aws configure sso-session`)"
                )
            } else {
                format!(
                    "sso-session `{name}` is not in {shown}; it defines {}",
                    known.join(", ")
                )
            }));
        }
        return session_target(name, &set, &config, &shown).map_err(Fatal::Other);
    }
    if let Some(name) = &choice.profile {
        return profile_target(name, &set, &config, &shown, true);
    }
    // No choice given: $AWS_PROFILE's profile, then `default`, when they are SSO
    // profiles; then the only sso-session.
    for name in [env.var("AWS_PROFILE"), Some("default")]
        .into_iter()
        .flatten()
    {
        if matches!(config.get(name), Some(ProfileKind::Other(_)) | None) {
            continue;
        }
        return profile_target(name, &set, &config, &shown, false);
    }
    match sessions().as_slice() {
        [only] => session_target(only, &set, &config, &shown).map_err(Fatal::Other),
        [] => Err(Fatal::Usage(format!(
            "{shown} has no sso-session and no SSO profile named by $AWS_PROFILE or `default`; name one with -p PROFILE or --sso-session NAME"
        ))),
        several => Err(Fatal::Usage(format!(
            "which sign-in? {shown} has sso-sessions {}; choose one with --sso-session NAME (or -p PROFILE)",
            several.join(", ")
        ))),
    }
}

fn session_target(
    name: &str,
    set: &ProfileSet,
    config: &ProfileConfig,
    shown: &str,
) -> anyhow::Result<SignInTarget> {
    let section = set.sso_sessions.get(name).ok_or_else(|| {
        anyhow!(
            "there is no [sso-session {name}] in {shown}; add one (`aws configure sso-session`)"
        )
    })?;
    let value = |key: &str| {
        section
            .get(key)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                anyhow!("[sso-session {name}] in {shown} has no {key}; add it to that section")
            })
    };
    let sign_in = SignIn::Session {
        name: name.to_string(),
        start_url: value("sso_start_url")?,
        region: value("sso_region")?,
    };
    let mut scopes: Vec<String> = section
        .get("sso_registration_scopes")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        scopes.push(DEFAULT_SCOPE.to_string());
    }
    Ok(SignInTarget {
        session_profiles: profiles_of(config, &sign_in),
        ca_bundles: ca_bundles_of(config, &sign_in),
        sign_in,
        scopes,
        profile: None,
        label: format!("sso-session {name}"),
        again: format!("--sso-session {name}"),
    })
}

/// The sign-in of profile `name`. `narrow`: a profile named with `-p` is the only
/// one synced afterwards.
fn profile_target(
    name: &str,
    set: &ProfileSet,
    config: &ProfileConfig,
    shown: &str,
    narrow: bool,
) -> Result<SignInTarget, Fatal> {
    let sign_in = match config.get(name) {
        None => {
            return Err(Fatal::Usage(format!(
                "profile `{name}` is not in {shown}; `ssosync status` lists the SSO profiles there"
            )));
        }
        Some(ProfileKind::Sso(p)) => p.sign_in.clone(),
        Some(ProfileKind::Chained(c)) => c.root.sign_in.clone(),
        Some(ProfileKind::TokenOnly) => {
            // An sso-session profile without a role: it stands for its session.
            let session = set
                .profiles
                .get(name)
                .and_then(|p| p.get("sso_session"))
                .unwrap_or_default();
            return session_target(session, set, config, shown).map_err(Fatal::Other);
        }
        Some(ProfileKind::Misconfigured(reason)) => {
            return Err(Fatal::Other(anyhow!("profile {name}: {reason}")));
        }
        Some(ProfileKind::Other(_)) => {
            return Err(Fatal::Other(anyhow!(
                "profile {name} has no SSO settings (sso_session or sso_start_url) and no role chain from one; there is nothing to sign in to"
            )));
        }
    };
    let mut target = match &sign_in {
        SignIn::Session { name: session, .. } => {
            session_target(session, set, config, shown).map_err(Fatal::Other)?
        }
        SignIn::Legacy { start_url, .. } => SignInTarget {
            session_profiles: profiles_of(config, &sign_in),
            ca_bundles: ca_bundles_of(config, &sign_in),
            sign_in: sign_in.clone(),
            scopes: Vec::new(),
            profile: None,
            label: format!("{start_url} (profile {name})"),
            again: format!("-p {name}"),
        },
    };
    if narrow {
        target.profile = Some(name.to_string());
    }
    Ok(target)
}

/// `(profile, ca_bundle)` of the SSO profiles that sign in with `sign_in`.
fn ca_bundles_of(config: &ProfileConfig, sign_in: &SignIn) -> Vec<(String, String)> {
    config
        .profiles
        .values()
        .filter_map(|kind| match kind {
            ProfileKind::Sso(p) if &p.sign_in == sign_in => {
                Some((p.name.clone(), p.ca_bundle.clone()?))
            }
            _ => None,
        })
        .collect()
}

/// Every profile whose credentials come from `sign_in`.
fn profiles_of(config: &ProfileConfig, sign_in: &SignIn) -> Vec<String> {
    config
        .profiles
        .iter()
        .filter(|(_, kind)| match kind {
            ProfileKind::Sso(p) => &p.sign_in == sign_in,
            ProfileKind::Chained(c) => &c.root.sign_in == sign_in,
            _ => false,
        })
        .map(|(name, _)| name.clone())
        .collect()
}
