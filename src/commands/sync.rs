//! `ssosync` (and `ssosync sync`): sync the selected profiles and report. Also the
//! sync that `login` runs after signing in.

use chrono::Utc;

use crate::cli::SyncArgs;
use crate::commands::report;
use crate::config;
use crate::config::environment::Environment;
use crate::config::selection;
use crate::engine::{SyncOptions, SyncReport, Syncer};
use crate::exit::{Exit, Fatal};
use crate::logging;
use crate::options::Style;
use crate::progress::Progress;

pub fn run(args: &SyncArgs, env: &Environment) -> Result<Exit, Fatal> {
    logging::init(args.common.verbose, env.no_color());
    sync(
        env,
        &args.profiles,
        &SyncOptions::from(args),
        Style::from(&args.common),
    )
}

/// Syncs the profiles `profiles` select (none: every SSO profile) and prints the
/// report; the exit code is the report's.
pub fn sync(
    env: &Environment,
    profiles: &[String],
    options: &SyncOptions,
    style: Style,
) -> Result<Exit, Fatal> {
    // A line on stderr while many profiles are fetched, unless the output is
    // for a machine, errors only, or logs.
    let progress = Progress::on_stderr(
        !style.json && !style.quiet && !logging::enabled(),
        "profiles fetched",
    );
    let report = run_sync(env, profiles, options, &progress)?;
    Ok(report::show(&report, style, env))
}

/// The sync itself, its report unprinted (the prompt hook's background sync).
pub fn run_sync(
    env: &Environment,
    profiles: &[String],
    options: &SyncOptions,
    progress: &Progress,
) -> Result<SyncReport, Fatal> {
    let config = config::load(env, profiles)?;
    let targets = selection::resolve(profiles, &config, env)?;
    let syncer = Syncer {
        env,
        config: &config,
        options,
        now: Utc::now(),
        progress,
    };
    Ok(syncer.run(&targets)?)
}
