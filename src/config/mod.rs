//! What the user configured: where files live (the environment), the network
//! (proxies, extra CAs), the profile files read losslessly, the SSO profiles
//! they define, which of them a run selects, and which sign-in a login or
//! logout is about.

pub mod environment;
pub mod internet_options;
pub mod network;
pub mod profile_file;
pub mod profiles;
pub mod selection;
pub mod sign_in;

use anyhow::{Result, anyhow};

use crate::config::environment::{Environment, read_optional};
use crate::config::profile_file::ProfileFile;
use crate::config::profiles::ProfileConfig;

/// The config file as a run for `-p` arguments `selection` needs it: when every
/// argument names profiles outright (no glob), only those profiles and their role
/// chains are classified, so a big config costs one parse rather than one parse
/// plus a classification of every profile. Otherwise (no `-p`, or a glob) every
/// profile.
pub fn load(env: &Environment, selection: &[String]) -> Result<ProfileConfig> {
    let file = read(env)?;
    if selection.is_empty() || selection.iter().any(|p| p.contains(['*', '?'])) {
        return Ok(ProfileConfig::from_file(&file));
    }
    // Each argument names a profile as a whole (names may contain `:`) or as the
    // SRC of SRC:DST; both are looked up, as `ProfileSpec::parse` does.
    let names = selection
        .iter()
        .flat_map(|p| [Some(p.as_str()), p.split_once(':').map(|(src, _)| src)])
        .flatten();
    Ok(ProfileConfig::from_file_for(&file, names))
}

/// The config file, parsed; a missing one is an error that says how to make one.
pub fn read(env: &Environment) -> Result<ProfileFile> {
    let path = env.config_path()?;
    let shown = env.display_path(&path);
    let text = read_optional(&path, &shown)?.ok_or_else(|| {
        anyhow!("no AWS config file at {shown}; write SSO profiles into it with `ssosync populate` or `aws configure sso` (or set AWS_CONFIG_FILE)")
    })?;
    ProfileFile::parse_owned(text)
        .map_err(|e| anyhow!("{shown} {e}; fix that line (the AWS SDKs reject it too)"))
}
