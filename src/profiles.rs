//! SSO profiles in `~/.aws/config`: which profiles get role credentials from the
//! portal, from which sign-in, and which are misconfigured (by the SDKs' rules).

use std::collections::BTreeMap;

use crate::profile_file::{FileKind, ProfileFile, ProfileSet, Properties};

/// Where a profile's access token comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignIn {
    /// `sso_session = NAME` with a `[sso-session NAME]` section.
    Session {
        name: String,
        start_url: String,
        region: String,
    },
    /// `sso_start_url` and `sso_region` in the profile itself.
    Legacy { start_url: String, region: String },
}

impl SignIn {
    /// The string whose SHA-1 names the token's cache file.
    pub fn cache_identifier(&self) -> &str {
        match self {
            SignIn::Session { name, .. } => name,
            SignIn::Legacy { start_url, .. } => start_url,
        }
    }

    pub fn start_url(&self) -> &str {
        match self {
            SignIn::Session { start_url, .. } | SignIn::Legacy { start_url, .. } => start_url,
        }
    }

    pub fn region(&self) -> &str {
        match self {
            SignIn::Session { region, .. } | SignIn::Legacy { region, .. } => region,
        }
    }

    /// The command that gets a new token for `profile`.
    pub fn login_command(&self, profile: &str) -> String {
        match self {
            SignIn::Session { name, .. } => format!("aws sso login --sso-session {name}"),
            SignIn::Legacy { .. } => format!("aws sso login --profile {profile}"),
        }
    }
}

/// A profile that gets role credentials from the SSO portal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoProfile {
    pub name: String,
    pub account_id: String,
    pub role_name: String,
    pub sign_in: SignIn,
    /// The profile's own `region`, for `--region`.
    pub region: Option<String>,
}

/// What one config profile is, for our purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileKind {
    Sso(SsoProfile),
    /// Has SSO settings, but the SDKs would refuse it; the reason says why and how to fix it.
    Misconfigured(String),
    /// An sso-session profile with no account and role: it yields a token, not credentials.
    TokenOnly,
    /// No SSO settings at all.
    Other,
}

/// Every profile in the config file, classified.
#[derive(Clone, Debug, Default)]
pub struct ProfileConfig {
    pub profiles: BTreeMap<String, ProfileKind>,
}

impl ProfileConfig {
    pub fn from_file(file: &ProfileFile) -> Self {
        let set = file.profile_set(FileKind::Config);
        let profiles = set
            .profiles
            .iter()
            .map(|(name, props)| (name.clone(), classify(name, props, &set)))
            .collect();
        ProfileConfig { profiles }
    }

    /// Profiles that have SSO settings (valid or not), in name order.
    pub fn sso_names(&self) -> impl Iterator<Item = &str> {
        self.profiles
            .iter()
            .filter(|(_, k)| matches!(k, ProfileKind::Sso(_) | ProfileKind::Misconfigured(_)))
            .map(|(n, _)| n.as_str())
    }

    pub fn get(&self, name: &str) -> Option<&ProfileKind> {
        self.profiles.get(name)
    }
}

const SSO_KEYS: [&str; 5] = [
    "sso_session",
    "sso_start_url",
    "sso_region",
    "sso_account_id",
    "sso_role_name",
];

fn classify(name: &str, props: &Properties, set: &ProfileSet) -> ProfileKind {
    if !SSO_KEYS.iter().any(|k| props.contains(k)) {
        return ProfileKind::Other;
    }
    match resolve(name, props, set) {
        Ok(Some(profile)) => ProfileKind::Sso(profile),
        Ok(None) => ProfileKind::TokenOnly,
        Err(reason) => ProfileKind::Misconfigured(reason),
    }
}

fn resolve(name: &str, props: &Properties, set: &ProfileSet) -> Result<Option<SsoProfile>, String> {
    let account = props.get("sso_account_id").filter(|v| !v.is_empty());
    let role = props.get("sso_role_name").filter(|v| !v.is_empty());
    let sign_in = match props.get("sso_session") {
        Some(session) => {
            let Some(section) = set.sso_sessions.get(session) else {
                return Err(format!(
                    "sso_session `{session}` is not defined; add a [sso-session {session}] section to the config file"
                ));
            };
            let start_url = required(
                section,
                "sso_start_url",
                &format!("[sso-session {session}]"),
            )?;
            let region = required(section, "sso_region", &format!("[sso-session {session}]"))?;
            for (key, session_value) in [("sso_start_url", start_url), ("sso_region", region)] {
                if let Some(own) = props.get(key)
                    && own != session_value
                {
                    return Err(format!(
                        "{key} `{own}` differs from sso-session `{session}` (`{session_value}`); remove it from the profile"
                    ));
                }
            }
            SignIn::Session {
                name: session.to_string(),
                start_url: start_url.to_string(),
                region: region.to_string(),
            }
        }
        None => {
            let missing: Vec<&str> = SSO_KEYS[1..]
                .iter()
                .copied()
                .filter(|k| props.get(k).is_none_or(str::is_empty))
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "missing {} (a legacy SSO profile needs sso_start_url, sso_region, sso_account_id and sso_role_name)",
                    missing.join(", ")
                ));
            }
            SignIn::Legacy {
                start_url: props.get("sso_start_url").unwrap_or_default().to_string(),
                region: props.get("sso_region").unwrap_or_default().to_string(),
            }
        }
    };
    let (account_id, role_name) = match (account, role) {
        (Some(a), Some(r)) => (a, r),
        (None, None) => return Ok(None),
        (Some(_), None) => return Err("sso_account_id is set but sso_role_name is missing".into()),
        (None, Some(_)) => return Err("sso_role_name is set but sso_account_id is missing".into()),
    };
    Ok(Some(SsoProfile {
        name: name.to_string(),
        account_id: account_id.to_string(),
        role_name: role_name.to_string(),
        sign_in,
        region: props
            .get("region")
            .filter(|r| !r.is_empty())
            .map(str::to_string),
    }))
}

fn required<'a>(props: &'a Properties, key: &str, section: &str) -> Result<&'a str, String> {
    props
        .get(key)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{section} has no {key}; add it to that section"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> ProfileConfig {
        ProfileConfig::from_file(&ProfileFile::parse(text).unwrap())
    }

    #[test]
    fn resolves_session_and_legacy_profiles() {
        let config = load(
            "[sso-session corp]\nsso_start_url = https://x.awsapps.com/start\nsso_region = eu-west-1\n\
             [profile dev]\nsso_session = corp\nsso_account_id = 111\nsso_role_name = Dev\nregion = us-east-1\n\
             [default]\nsso_start_url = https://y/start\nsso_region = us-east-2\nsso_account_id = 222\nsso_role_name = Admin\n\
             [profile plain]\nregion = us-east-1\n\
             [profile token]\nsso_session = corp\n",
        );
        let ProfileKind::Sso(dev) = config.get("dev").unwrap() else {
            panic!()
        };
        assert_eq!(dev.sign_in.cache_identifier(), "corp");
        assert_eq!(
            dev.sign_in.login_command("dev"),
            "aws sso login --sso-session corp"
        );
        assert_eq!(dev.region.as_deref(), Some("us-east-1"));
        let ProfileKind::Sso(def) = config.get("default").unwrap() else {
            panic!()
        };
        assert_eq!(
            def.sign_in.login_command("default"),
            "aws sso login --profile default"
        );
        assert_eq!(config.get("plain"), Some(&ProfileKind::Other));
        assert_eq!(config.get("token"), Some(&ProfileKind::TokenOnly));
        assert_eq!(config.sso_names().collect::<Vec<_>>(), ["default", "dev"]);
    }

    #[test]
    fn reports_misconfigurations() {
        let config = load(
            "[sso-session corp]\nsso_start_url = https://x/start\nsso_region = eu-west-1\n\
             [profile a]\nsso_session = nope\nsso_account_id = 1\nsso_role_name = R\n\
             [profile b]\nsso_session = corp\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = R\n\
             [profile c]\nsso_session = corp\nsso_account_id = 1\n\
             [profile d]\nsso_start_url = https://x/start\nsso_account_id = 1\nsso_role_name = R\n",
        );
        let reason = |n| match config.get(n) {
            Some(ProfileKind::Misconfigured(r)) => r.clone(),
            other => panic!("{n}: {other:?}"),
        };
        assert!(reason("a").contains("`nope` is not defined"));
        assert!(reason("b").contains("differs from sso-session"));
        assert!(reason("c").contains("sso_role_name is missing"));
        assert!(reason("d").contains("missing sso_region"));
    }
}
