//! SSO profiles in `~/.aws/config`: which profiles get role credentials from the
//! portal, from which sign-in, and which are misconfigured (by the SDKs' rules).

use std::collections::{BTreeMap, HashSet};

use crate::config::profile_file::{FileKind, ProfileFile, ProfileSet, Properties};

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

    /// ssosync's own login command, for machines without the AWS CLI.
    pub fn ssosync_login_command(&self, profile: &str) -> String {
        match self {
            SignIn::Session { name, .. } => format!("ssosync login --sso-session {name}"),
            SignIn::Legacy { .. } => format!("ssosync login --profile {profile}"),
        }
    }

    /// What to tell the user when `profile` needs a new token: the AWS CLI's
    /// command, and ssosync's own for machines without the AWS CLI.
    pub fn login_hint(&self, profile: &str) -> String {
        let ours = self.ssosync_login_command(profile);
        format!("run `{ours}` (or `{}`)", self.login_command(profile))
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
    /// The profile's `ca_bundle`: more CAs to trust for its requests.
    pub ca_bundle: Option<String>,
}

/// One `AssumeRole` step of a chain: the profile that has `role_arn`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleHop {
    pub profile: String,
    pub role_arn: String,
    pub session_name: Option<String>,
    pub duration_seconds: Option<i32>,
    pub external_id: Option<String>,
    /// The hop profile's own `region`, for the STS endpoint.
    pub region: Option<String>,
    /// The hop profile's `ca_bundle`.
    pub ca_bundle: Option<String>,
}

/// A profile that assumes a role, through `source_profile` links of any depth,
/// starting from an SSO profile's role credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainedProfile {
    pub name: String,
    pub root: SsoProfile,
    /// From the root outwards; the last hop is this profile itself.
    pub hops: Vec<RoleHop>,
    pub region: Option<String>,
}

/// What one config profile is, for our purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileKind {
    Sso(SsoProfile),
    Chained(ChainedProfile),
    /// Has SSO settings, but the SDKs would refuse it; the reason says why and how to fix it.
    Misconfigured(String),
    /// An sso-session profile with no account and role: it yields a token, not credentials.
    TokenOnly,
    /// No SSO settings at all; `reason` says why when the profile looks related
    /// (a role chain that does not start at an SSO profile).
    Other(Option<String>),
}

/// Every profile in the config file, classified.
#[derive(Clone, Debug, Default)]
pub struct ProfileConfig {
    pub profiles: BTreeMap<String, ProfileKind>,
}

impl ProfileConfig {
    pub fn from_file(file: &ProfileFile) -> Self {
        Self::from_set(&file.profile_set(FileKind::Config))
    }

    /// Only the profiles in `names` (those that exist), with the `source_profile`
    /// chains they need: what a run for a few named profiles reads of the config,
    /// however many profiles it holds. Each profile is classified exactly as
    /// [`ProfileConfig::from_file`] classifies it.
    pub fn from_file_for<'a>(file: &ProfileFile, names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut wanted: HashSet<String> = names.into_iter().map(str::to_string).collect();
        loop {
            let set = file.profile_set_of(FileKind::Config, &wanted);
            // A chain's sources, to the end of the chain (each pass adds a level).
            let sources: Vec<String> = set
                .profiles
                .values()
                .filter(|props| props.contains("role_arn"))
                .filter_map(|props| props.get("source_profile"))
                .filter(|s| !s.is_empty() && !wanted.contains(*s))
                .map(str::to_string)
                .collect();
            if sources.is_empty() {
                return Self::from_set(&set);
            }
            wanted.extend(sources);
        }
    }

    fn from_set(set: &ProfileSet) -> Self {
        let mut profiles: BTreeMap<String, ProfileKind> = set
            .profiles
            .iter()
            .map(|(name, props)| (name.clone(), classify(name, props, set)))
            .collect();
        let chains: Vec<(String, ProfileKind)> = set
            .profiles
            .iter()
            .filter(|(_, props)| props.contains("role_arn"))
            .map(|(name, _)| (name.clone(), resolve_chain(name, set, &profiles)))
            .collect();
        profiles.extend(chains);
        ProfileConfig { profiles }
    }

    /// Profiles ssosync syncs by default: SSO profiles, role chains that start at
    /// one, and the misconfigured ones of either (so they get reported), in name order.
    pub fn sso_names(&self) -> impl Iterator<Item = &str> {
        self.profiles
            .iter()
            .filter(|(_, k)| {
                matches!(
                    k,
                    ProfileKind::Sso(_) | ProfileKind::Chained(_) | ProfileKind::Misconfigured(_)
                )
            })
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
        return ProfileKind::Other(None);
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
        ca_bundle: props
            .get("ca_bundle")
            .filter(|r| !r.is_empty())
            .map(str::to_string),
    }))
}

/// Follows `source_profile` from a profile with `role_arn` down to its root. As in
/// the SDKs, `role_arn` makes a profile a hop even when it also has SSO settings.
fn resolve_chain(
    name: &str,
    set: &ProfileSet,
    classified: &BTreeMap<String, ProfileKind>,
) -> ProfileKind {
    let mut hops: Vec<RoleHop> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut mfa: Option<String> = None;
    let mut current = name;
    loop {
        if seen.contains(&current) {
            seen.push(current);
            return ProfileKind::Misconfigured(format!(
                "source_profile chain loops: {}; point one of them at an SSO profile",
                seen.join(" → ")
            ));
        }
        seen.push(current);
        let Some(props) = set.profiles.get(current) else {
            // `current` came from the profile before it: `seen` holds both.
            let from = seen.iter().rev().nth(1).copied().unwrap_or(name);
            return ProfileKind::Misconfigured(format!(
                "source_profile `{current}` (of profile {from}) does not exist; fix source_profile in [profile {from}]"
            ));
        };
        let Some(role_arn) = props.get("role_arn") else {
            return match classified.get(current) {
                Some(ProfileKind::Sso(root)) => match mfa {
                    Some(hop) => ProfileKind::Misconfigured(format!(
                        "profile {hop} sets mfa_serial; ssosync cannot ask for an MFA code (remove it, or assume that role yourself)"
                    )),
                    None => {
                        hops.reverse();
                        ProfileKind::Chained(ChainedProfile {
                            name: name.to_string(),
                            root: root.clone(),
                            hops,
                            region: set
                                .profiles
                                .get(name)
                                .and_then(|p| p.get("region"))
                                .filter(|r| !r.is_empty())
                                .map(str::to_string),
                        })
                    }
                },
                Some(ProfileKind::Misconfigured(reason)) => ProfileKind::Misconfigured(format!(
                    "its chain starts at profile {current}, which is misconfigured: {reason}"
                )),
                _ => ProfileKind::Other(Some(format!(
                    "its role chain starts at profile {current}, which is not an SSO profile; ssosync only chains from SSO profiles"
                ))),
            };
        };
        if props.contains("credential_source") {
            return ProfileKind::Other(Some(format!(
                "profile {current} uses credential_source; ssosync only chains from SSO profiles"
            )));
        }
        if props.contains("mfa_serial") && mfa.is_none() {
            mfa = Some(current.to_string());
        }
        let Some(source) = props.get("source_profile").filter(|s| !s.is_empty()) else {
            return ProfileKind::Misconfigured(format!(
                "profile {current} has role_arn but no source_profile; add source_profile = <an SSO profile>"
            ));
        };
        hops.push(RoleHop {
            profile: current.to_string(),
            role_arn: role_arn.to_string(),
            session_name: props.get("role_session_name").filter(|s| !s.is_empty()).map(str::to_string),
            duration_seconds: match props.get("duration_seconds") {
                None => None,
                Some(v) => match v.parse::<i32>() {
                    Ok(d) if (900..=43_200).contains(&d) => Some(d),
                    _ => {
                        return ProfileKind::Misconfigured(format!(
                            "profile {current} has duration_seconds `{v}`; use a number of seconds from 900 to 43200"
                        ));
                    }
                },
            },
            external_id: props.get("external_id").filter(|s| !s.is_empty()).map(str::to_string),
            region: props.get("region").filter(|r| !r.is_empty()).map(str::to_string),
            ca_bundle: props.get("ca_bundle").filter(|r| !r.is_empty()).map(str::to_string),
        });
        current = source;
    }
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
        assert_eq!(
            dev.sign_in.login_hint("dev"),
            "run `ssosync login --sso-session corp` (or `aws sso login --sso-session corp`)"
        );
        assert_eq!(
            def.sign_in.login_hint("default"),
            "run `ssosync login --profile default` (or `aws sso login --profile default`)"
        );
        assert_eq!(config.get("plain"), Some(&ProfileKind::Other(None)));
        assert_eq!(config.get("token"), Some(&ProfileKind::TokenOnly));
        assert_eq!(config.sso_names().collect::<Vec<_>>(), ["default", "dev"]);
    }

    #[test]
    fn resolves_role_chains_of_any_depth() {
        let config = load(
            "[profile root]\nsso_start_url = https://x/start\nsso_region = eu-west-1\nsso_account_id = 1\nsso_role_name = R\n\
             [profile a]\nrole_arn = arn:aws:iam::2:role/A\nsource_profile = root\nexternal_id = ext\n\
             [profile b]\nrole_arn = arn:aws:iam::3:role/B\nsource_profile = a\nduration_seconds = 900\nregion = us-west-2\n\
             [profile loop1]\nrole_arn = arn:aws:iam::1:role/L\nsource_profile = loop2\n\
             [profile loop2]\nrole_arn = arn:aws:iam::1:role/L\nsource_profile = loop1\n\
             [profile missing]\nrole_arn = arn:aws:iam::1:role/M\nsource_profile = nowhere\n\
             [profile mfa]\nrole_arn = arn:aws:iam::1:role/M\nsource_profile = root\nmfa_serial = arn:aws:iam::1:mfa/me\n\
             [profile ec2]\nrole_arn = arn:aws:iam::1:role/E\ncredential_source = Ec2InstanceMetadata\n\
             [profile keys]\nregion = x\n[profile fromkeys]\nrole_arn = arn:aws:iam::1:role/K\nsource_profile = keys\n",
        );
        let Some(ProfileKind::Chained(b)) = config.get("b") else {
            panic!("{:?}", config.get("b"))
        };
        assert_eq!(b.root.name, "root");
        let hops: Vec<_> = b.hops.iter().map(|h| h.profile.as_str()).collect();
        assert_eq!(hops, ["a", "b"]);
        assert_eq!(b.hops[0].external_id.as_deref(), Some("ext"));
        assert_eq!(b.hops[1].duration_seconds, Some(900));
        assert_eq!(b.region.as_deref(), Some("us-west-2"));
        let reason = |n| match config.get(n) {
            Some(ProfileKind::Misconfigured(r)) | Some(ProfileKind::Other(Some(r))) => r.clone(),
            other => panic!("{n}: {other:?}"),
        };
        assert!(
            reason("loop1").contains("loops: loop1 → loop2 → loop1"),
            "{}",
            reason("loop1")
        );
        assert!(reason("missing").contains("`nowhere`"));
        assert!(reason("mfa").contains("mfa_serial"));
        assert!(reason("ec2").contains("credential_source"));
        assert!(reason("fromkeys").contains("not an SSO profile"));
        let defaults: Vec<_> = config.sso_names().collect();
        assert_eq!(
            defaults,
            ["a", "b", "loop1", "loop2", "mfa", "missing", "root"]
        );
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

    #[test]
    fn a_config_for_named_profiles_classifies_each_as_the_whole_config_does() {
        let text = "[sso-session corp]\nsso_start_url = https://x/start\nsso_region = eu-west-1\n\
             [default]\nsso_session = corp\nsso_account_id = 9\nsso_role_name = Old\n\
             [profile default]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = R\n\
             [profile root]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = R\n\
             [profile a]\nrole_arn = arn:aws:iam::2:role/A\nsource_profile = root\n\
             [profile b]\nrole_arn = arn:aws:iam::3:role/B\nsource_profile = a\n\
             [profile  c ]\nrole_arn = arn:aws:iam::3:role/C\nsource_profile = b\nmfa_serial = m\n\
             [profile loop1]\nrole_arn = arn:aws:iam::1:role/L\nsource_profile = loop2\n\
             [profile loop2]\nrole_arn = arn:aws:iam::1:role/L\nsource_profile = loop1\n\
             [profile missing]\nrole_arn = arn:aws:iam::1:role/M\nsource_profile = nowhere\n\
             [profile bad]\nsso_session = nope\nsso_account_id = 1\nsso_role_name = R\n\
             [profile plain]\nregion = x\n[profile plain]\nsso_session = corp\n\
             [profile x:y]\nsso_session = corp\nsso_account_id = 5\nsso_role_name = R\n\
             [sso-session late]\nsso_start_url = https://y/start\nsso_region = us-east-1\n\
             [profile late]\nsso_session = late\nsso_account_id = 1\nsso_role_name = R\n";
        let file = ProfileFile::parse(text).unwrap();
        let whole = ProfileConfig::from_file(&file);
        let names: Vec<&str> = whole.profiles.keys().map(String::as_str).collect();
        assert_eq!(names.len(), 12, "{names:?}");
        for name in &names {
            let part = ProfileConfig::from_file_for(&file, [*name]);
            assert_eq!(part.get(name), whole.get(name), "{name}");
        }
        // Several at once, and names that are not profiles.
        let part = ProfileConfig::from_file_for(&file, ["c", "late", "ghost", "x"]);
        for name in ["c", "late", "ghost", "x"] {
            assert_eq!(part.get(name), whole.get(name), "{name}");
        }
        // Only what was named and what its chain needs.
        let part = ProfileConfig::from_file_for(&file, ["b"]);
        let classified: Vec<&str> = part.profiles.keys().map(String::as_str).collect();
        assert_eq!(classified, ["a", "b", "root"]);
    }
}
