//! `ssosync login`: sign in to a session (as `aws sso login` does), then sync the
//! profiles that get credentials from it. The sign-in itself is `auth::signin`.

use chrono::Utc;

use crate::auth::signin::{self, SignInError, SignInOptions};
use crate::auth::token_cache::cache_file_name;
use crate::cli::LoginArgs;
use crate::commands::sync;
use crate::config::environment::Environment;
use crate::config::sign_in::{self, SignInChoice};
use crate::engine::SyncOptions;
use crate::exit::{Exit, Fatal};
use crate::logging;
use crate::options::Style;
use crate::timefmt::describe_expiry;

/// `ssosync login`. A sign-in that ends without a token because of the sign-in
/// itself (denied, timed out, code expired, grant refused) is exit 3, as the user
/// still has to log in; setup problems (config, files, network, the redirect
/// port) are exit 1.
pub fn run(args: &LoginArgs, env: &Environment) -> Result<Exit, Fatal> {
    logging::init(args.verbose, env.no_color());
    let target = sign_in::resolve(&SignInChoice::from(&args.sign_in), env)?;
    let token_path = env
        .sso_cache_dir()?
        .join(cache_file_name(target.sign_in.cache_identifier()));
    let expires_at = match signin::sign_in(&target, &SignInOptions::from(args), env, &token_path) {
        Ok(expires_at) => expires_at,
        Err(SignInError::NotSignedIn(message)) => return Err(Fatal::NotSignedIn(message)),
        Err(SignInError::Other(e)) => {
            return Err(Fatal::Other(
                e.context(format!("cannot sign in to {}", target.label)),
            ));
        }
    };
    if !args.quiet {
        eprintln!(
            "ssosync: signed in to {}; the token is valid until {}",
            target.label,
            describe_expiry(expires_at, Utc::now())
        );
    }
    if args.no_sync {
        return Ok(Exit::Ok);
    }
    let profiles = match &target.profile {
        Some(profile) => vec![profile.clone()],
        None => target.session_profiles.clone(),
    };
    if profiles.is_empty() {
        if !args.quiet {
            eprintln!(
                "ssosync: no profile gets role credentials from {}; nothing to sync",
                target.label
            );
        }
        return Ok(Exit::Ok);
    }
    sync::sync(env, &profiles, &SyncOptions::from(args), Style::from(args))
}
