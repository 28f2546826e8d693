//! `ssosync logout`: end a session at the portal, delete its cached token, and
//! with `--clean` remove the entries ssosync wrote for its profiles (found by
//! name and through the ledger, so renamed ones too).

use std::io::Write;
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
use crate::store::ledger::{self, Ledger};
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
            let _ = writeln!(std::io::stdout(), "{line}");
        }
    };
    // What --clean will remove, decided before anything changes: a credentials
    // file that refuses the change stops the logout before the sign-out.
    let to_clean = if args.clean {
        let planned = clean_credentials(env, &target.session_profiles, Commit::DryRun)?;
        if !planned.is_empty() {
            apply::refuse_read_only(&UserFile::at(env, &env.credentials_path()?)?)?;
        }
        planned
    } else {
        Vec::new()
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
        let cleaned = if to_clean.is_empty() {
            to_clean
        } else {
            clean_credentials(env, &target.session_profiles, Commit::Write)?
        };
        let creds = env.display_path(&env.credentials_path()?);
        if cleaned.is_empty() {
            say(format!(
                "no entries written by ssosync for {} in {creds}",
                target.label
            ));
        } else {
            say(format!("removed {} from {creds}", cleaned.join(", ")));
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

/// Removes ssosync's entries for `profiles` from the credentials file, through
/// the same locked write as a sync: the entries the ledger says were written
/// from one of them (under their own names or others, `-p dev:default`), and,
/// for entries the ledger does not know (older versions), those under the
/// profiles' own names that look like ours (a session token and
/// `aws_credential_expiration`). An entry the ledger says came from another
/// profile is left alone. Returns the entries cleaned, as shown to the user.
fn clean_credentials(
    env: &Environment,
    profiles: &[String],
    commit: Commit,
) -> anyhow::Result<Vec<String>> {
    let file = UserFile::at(env, &env.credentials_path()?)?;
    if !file.path.exists() {
        return Ok(Vec::new());
    }
    let mut warnings = Vec::new();
    // Read before the lock; each record is checked against the file under it.
    let ledger = Ledger::read(&file, &mut warnings);
    let applied = apply::apply(&file, None, commit, |doc: &mut CredentialsFile| {
        let mut cleaned: Vec<(String, String)> = Vec::new();
        for name in profiles {
            let recorded = match ledger.record(name, doc) {
                Some(record) if !profiles.contains(&record.profile) => continue,
                Some(_) => true,
                None => false,
            };
            if doc.remove_ours(name, recorded) {
                cleaned.push((name.clone(), format!("[{name}]")));
            }
        }
        for profile in profiles {
            let renamed: Vec<String> = ledger
                .renamed_from(profile, doc)
                .map(str::to_string)
                .collect();
            for target in renamed {
                if doc.remove_ours(&target, true) {
                    cleaned.push((
                        target.clone(),
                        format!("[{target}] (written from {profile})"),
                    ));
                }
            }
        }
        cleaned
    })?;
    if let Some(lock) = &applied.lock
        && !applied.planned.is_empty()
    {
        let mut ledger = Ledger::read(&file, &mut warnings);
        for (target, _) in &applied.planned {
            ledger.forget(target);
        }
        if let Err(e) = ledger.write(&file, lock) {
            warnings.push(format!("cannot update {}: {e:#}", ledger::shown(&file)));
        }
    }
    if commit == Commit::Write {
        for w in warnings {
            eprintln!("ssosync: warning: {w}");
        }
    }
    Ok(applied
        .planned
        .into_iter()
        .map(|(_, shown)| shown)
        .collect())
}
