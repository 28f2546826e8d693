//! The SDK-parser oracle: the AWS Rust SDK's own profile-file parser reads what
//! we write (or the text we parse), and our parser's view sits beside it for
//! comparison.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The keys the SDK oracle reports for files on disk ([`sdk_profiles`]).
const SDK_KEYS: [&str; 7] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "aws_credential_expiration",
    "region",
    "note",
];

/// Loads profile files with the AWS Rust SDK's own parser (an independent
/// oracle) and keeps `keys` of each profile; `None` when the SDK rejects them.
fn sdk_load(
    files: aws_runtime::env_config::file::EnvConfigFiles,
    fs: aws_types::os_shim_internal::Fs,
    keys: &[&str],
) -> Option<BTreeMap<String, BTreeMap<String, String>>> {
    let env = aws_types::os_shim_internal::Env::from_slice(&[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let set = rt
        .block_on(aws_config::profile::load(&fs, &env, &files, None))
        .ok()?;
    Some(
        set.profiles()
            .map(|name| {
                let profile = set.get_profile(name).unwrap();
                let props = keys
                    .iter()
                    .filter_map(|k| profile.get(k).map(|v| (k.to_string(), v.to_string())))
                    .collect();
                (name.to_string(), props)
            })
            .collect(),
    )
}

/// Reads profile files on disk with the AWS Rust SDK's own parser.
pub fn sdk_profiles(
    config: Option<&Path>,
    credentials: &Path,
) -> HashMap<String, HashMap<String, String>> {
    use aws_runtime::env_config::file::{
        EnvConfigFileKind as ProfileFileKind, EnvConfigFiles as ProfileFiles,
    };
    let files = ProfileFiles::builder().with_file(ProfileFileKind::Credentials, credentials);
    let files = match config {
        Some(c) => files.with_file(ProfileFileKind::Config, c),
        None => files.with_contents(ProfileFileKind::Config, ""),
    };
    sdk_load(
        files.build(),
        aws_types::os_shim_internal::Fs::real(),
        &SDK_KEYS,
    )
    .expect("the SDK parses the file")
    .into_iter()
    .map(|(name, props)| (name, props.into_iter().collect()))
    .collect()
}

/// Our parser's view of a credentials file: `keys` of each profile, merged as
/// the SDKs merge them (to compare with [`sdk_view_of`]).
pub fn our_view_of(
    file: &ssosync::profile_file::ProfileFile,
    keys: &[&str],
) -> BTreeMap<String, BTreeMap<String, String>> {
    file.profile_set(ssosync::profile_file::FileKind::Credentials)
        .profiles
        .into_iter()
        .map(|(name, props)| {
            let kept = keys
                .iter()
                .filter_map(|k| props.get(k).map(|v| (k.to_string(), v.to_string())))
                .collect();
            (name, kept)
        })
        .collect()
}

/// The SDK's view of a credentials file's text (`keys` of each profile), or
/// `None` when the SDK rejects it (it rejects a BOM, for one).
pub fn sdk_view_of(
    text: &str,
    keys: &[&str],
) -> Option<BTreeMap<String, BTreeMap<String, String>>> {
    use aws_runtime::env_config::file::{
        EnvConfigFileKind as ProfileFileKind, EnvConfigFiles as ProfileFiles,
    };
    let files = ProfileFiles::builder()
        .with_contents(ProfileFileKind::Credentials, text)
        .with_contents(ProfileFileKind::Config, "")
        .build();
    sdk_load(
        files,
        aws_types::os_shim_internal::Fs::from_slice(&[]),
        keys,
    )
}

/// The AWS Rust SDK's view of a config file on disk: `keys` of each profile it
/// accepts (a name outside its character set is left out, as the SDK leaves it).
pub fn sdk_config_profiles(
    config: &Path,
    keys: &[&str],
) -> BTreeMap<String, BTreeMap<String, String>> {
    use aws_runtime::env_config::file::{
        EnvConfigFileKind as ProfileFileKind, EnvConfigFiles as ProfileFiles,
    };
    let files = ProfileFiles::builder()
        .with_file(ProfileFileKind::Config, config)
        .with_contents(ProfileFileKind::Credentials, "")
        .build();
    sdk_load(files, aws_types::os_shim_internal::Fs::real(), keys)
        .expect("the SDK parses the config file")
}
