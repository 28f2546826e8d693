//! `ssosync logout`: end a session at the portal, delete its cached token, and
//! with `--clean` remove the entries ssosync wrote for its profiles.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::auth::signin::REQUEST_TIMEOUT;
use crate::auth::token_cache::{self, TokenProblem, cache_file_name};
use crate::aws::clients::{self, ClientFactory, ClientSettings};
use crate::aws::portal;
use crate::cli::LogoutArgs;
use crate::config::environment::Environment;
use crate::config::sign_in::{self, SignInChoice, SignInTarget};
use crate::exit::{Exit, Fatal};
use crate::logging;
use crate::secret::Secret;
use crate::store::apply::{self, Commit, UserFile};
use crate::store::credentials::CredentialsFile;
use crate::store::safe_write;

/// `ssosync logout`.
pub fn run(args: &LogoutArgs, env: &Environment) -> Result<Exit, Fatal> {
    logging::init(args.verbose, env.no_color());
    let target = sign_in::resolve(&SignInChoice::from(&args.sign_in), env)?;
    let token_path = env
        .sso_cache_dir()?
        .join(cache_file_name(target.sign_in.cache_identifier()));
    let shown = env.display_path(&token_path);
    let say = |line: String| {
        if !args.quiet {
            println!("{line}");
        }
    };
    {
        let _lock = safe_write::lock(&token_path, Duration::from_secs(60))?;
        match token_cache::read_token_file(&token_path) {
            Ok(Some(token)) => {
                if let Err(why) = portal_logout(env, &target, &token.token) {
                    eprintln!(
                        "ssosync: warning: the portal did not confirm the sign-out of {} ({why}); the cached token is deleted anyway",
                        target.label
                    );
                }
                remove_file(&token_path, &shown)?;
                say(format!("signed out of {}; deleted {shown}", target.label));
            }
            Ok(None) if !token_path.exists() => {
                say(format!(
                    "no cached token for {}; nothing to sign out of",
                    target.label
                ));
            }
            // A file there without a token, or one we cannot read: the sign-in's
            // cache entry is useless either way.
            Ok(None) | Err(TokenProblem::Unreadable { .. }) | Err(TokenProblem::Missing) => {
                remove_file(&token_path, &shown)?;
                say(format!(
                    "deleted the unusable token file {shown} of {}",
                    target.label
                ));
            }
        }
    }
    if args.clean {
        let cleaned = clean_credentials(env, &target.session_profiles)?;
        let creds = env.display_path(&env.credentials_path()?);
        if cleaned.is_empty() {
            say(format!(
                "no entries written by ssosync for {} in {creds}",
                target.label
            ));
        } else {
            say(format!(
                "removed the credentials of {} from {creds}",
                cleaned.join(", ")
            ));
        }
    }
    Ok(Exit::Ok)
}

fn remove_file(path: &Path, shown: &str) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot delete {shown}; delete it yourself")),
    }
}

/// The portal's Logout for `target`'s sign-in.
fn portal_logout(env: &Environment, target: &SignInTarget, token: &Secret) -> Result<(), String> {
    let factory = ClientFactory::new(
        ClientSettings::from_env(env, REQUEST_TIMEOUT).trusting(env, target.ca_bundle_paths()),
    )
    .map_err(|e| format!("{e:#}"))?;
    for notice in factory.notices() {
        eprintln!("ssosync: note: {notice}");
    }
    let runtime = clients::runtime().map_err(|e| format!("{e:#}"))?;
    let client = factory.sso(target.sign_in.region());
    runtime.block_on(portal::logout(&client, token))
}

/// Removes the entries of `profiles` that look like ours (a session token and
/// `aws_credential_expiration`) from the credentials file, through the same
/// locked write as a sync. Returns the profiles cleaned.
fn clean_credentials(env: &Environment, profiles: &[String]) -> anyhow::Result<Vec<String>> {
    let file = UserFile::at(env, &env.credentials_path()?)?;
    if !file.path.exists() {
        return Ok(Vec::new());
    }
    let applied = apply::apply(&file, None, Commit::Write, |doc: &mut CredentialsFile| {
        profiles
            .iter()
            .filter(|name| doc.remove_ours(name))
            .cloned()
            .collect::<Vec<_>>()
    })?;
    Ok(applied.planned)
}
