//! ssosync: AWS SSO role credentials into `~/.aws/credentials`, losslessly.
//!
//! `run` is the whole program; `main.rs` only hands it the process's arguments and
//! environment, so the demo and tests can run it with their own.

mod auth;
mod aws;
mod cli;
mod commands;
mod config;
mod engine;
mod exit;
mod secret;
mod store;
mod timefmt;

use std::ffi::OsString;

use anyhow::{Result, anyhow};
use clap::{CommandFactory, Parser};

pub use config::environment::Environment;
pub use config::profile_file;
pub use exit::Exit;

use crate::cli::{Cli, Command, SyncArgs};
use crate::config::environment::read_optional;
use crate::config::profile_file::ProfileFile;
use crate::config::profiles::ProfileConfig;
use crate::config::selection::{ProfileSpec, select};
use crate::engine::sync::{FailureKind, Mode, Outcome, SyncOptions, Syncer};

pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>, env: &Environment) -> Exit {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
        }
    };
    let result = match &cli.command {
        None => sync_command(&cli.sync, env),
        Some(Command::Sync(args)) => sync_command(args, env),
        Some(Command::Status(args)) => commands::status::run(args, env).map_err(Fatal::from),
        Some(Command::Export(args)) => {
            init_logging(args.fetch.verbose);
            commands::export::run_export(args, env)
        }
        Some(Command::Process(args)) => {
            init_logging(args.fetch.verbose);
            commands::export::run_process(args, env)
        }
        Some(Command::Hook(args)) => {
            print!("{}", commands::hook::snippet(args.shell, args.interval));
            Ok(Exit::Ok)
        }
        Some(Command::Watch(args)) => {
            init_logging(args.common.verbose);
            commands::watch::run(args, env)
        }
        Some(Command::Login(args)) => commands::login::run_login(args, env),
        Some(Command::Logout(args)) => commands::login::run_logout(args, env),
        Some(Command::Completions(args)) => {
            let mut command = Cli::command();
            clap_complete::generate(args.shell, &mut command, "ssosync", &mut std::io::stdout());
            Ok(Exit::Ok)
        }
        Some(Command::Man) => {
            let page = clap_mangen::Man::new(Cli::command());
            match page.render(&mut std::io::stdout()) {
                Ok(()) => Ok(Exit::Ok),
                Err(e) => Err(Fatal::Other(anyhow!("cannot write the manual page: {e}"))),
            }
        }
    };
    match result {
        Ok(exit) => exit,
        Err(Fatal::Usage(message)) => {
            eprintln!("ssosync: {message}");
            Exit::Usage
        }
        Err(Fatal::Other(e)) => {
            eprintln!("ssosync: {e:#}");
            Exit::Failure
        }
    }
}

/// Errors that stop the whole run before any profile is handled.
pub(crate) enum Fatal {
    Usage(String),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Fatal {
    fn from(e: anyhow::Error) -> Self {
        Fatal::Other(e)
    }
}

pub(crate) fn load_config(env: &Environment) -> Result<ProfileConfig> {
    load_config_for(env, &[])
}

/// The config as a run for `-p` arguments `selection` needs it: when every argument
/// names profiles outright (no glob), only those profiles and their role chains are
/// classified, so a big config costs one parse rather than one parse plus a
/// classification of every profile. Otherwise (no `-p`, or a glob) every profile.
pub(crate) fn load_config_for(env: &Environment, selection: &[String]) -> Result<ProfileConfig> {
    let path = env.config_path()?;
    let shown = env.display_path(&path);
    let text = read_optional(&path, &shown)?.ok_or_else(|| {
        anyhow!("no AWS config file at {shown}; create an SSO profile with `aws configure sso` (or set AWS_CONFIG_FILE)")
    })?;
    let file = ProfileFile::parse_owned(text)
        .map_err(|e| anyhow!("{shown} {e}; fix that line (the AWS SDKs reject it too)"))?;
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

fn sync_command(args: &SyncArgs, env: &Environment) -> Result<Exit, Fatal> {
    init_logging(args.common.verbose);
    let config = load_config_for(env, &args.profiles)?;
    let targets = resolve_targets(&args.profiles, &config, env)?;
    let options = SyncOptions {
        force: args.force,
        min_ttl: args.common.min_ttl,
        write_region: args.region,
        mode: if args.dry_run {
            Mode::DryRun
        } else {
            Mode::Write
        },
        timeout: args.common.timeout,
        concurrency: args.common.concurrency.into(),
    };
    let syncer = Syncer {
        env,
        config: &config,
        options: &options,
        now: chrono::Utc::now(),
    };
    let report = syncer.run(&targets)?;
    let exit = exit_for(&report.results);
    if args.common.json {
        commands::report::print_json(&report, exit);
    } else {
        commands::report::print_human(&report, args.common.quiet);
    }
    Ok(exit)
}

/// `-p` arguments to targets; none means every SSO and chained profile.
pub(crate) fn resolve_targets(
    profiles: &[String],
    config: &ProfileConfig,
    env: &Environment,
) -> Result<Vec<config::selection::Target>, Fatal> {
    let specs: Vec<ProfileSpec> = profiles
        .iter()
        .map(|p| ProfileSpec::parse(p, config))
        .collect();
    let targets = select(&specs, config).map_err(Fatal::Usage)?;
    if targets.is_empty() {
        let shown = env.display_path(&env.config_path()?);
        return Err(Fatal::Other(anyhow!(
            "no SSO profiles in {shown}; add one with `aws configure sso`"
        )));
    }
    Ok(targets)
}

pub(crate) fn exit_for(results: &[engine::sync::ProfileResult]) -> Exit {
    let failed = |kind: Option<FailureKind>| {
        results.iter().any(|r| match &r.outcome {
            Outcome::Failed(f) => kind.is_none_or(|k| k == f.kind),
            _ => false,
        })
    };
    if failed(Some(FailureKind::Login)) {
        Exit::LoginRequired
    } else if failed(None) {
        Exit::Failure
    } else {
        Exit::Ok
    }
}

/// `-v`: our own logs; `-vv`: also the AWS SDK's (at debug, never trace: trace
/// levels of HTTP stacks can dump headers).
pub(crate) fn init_logging(verbose: u8) {
    use tracing_subscriber::prelude::*;
    if verbose == 0 {
        return;
    }
    let include_sdk = verbose >= 2;
    let filter = tracing_subscriber::filter::filter_fn(move |meta| {
        let ours = meta.target().starts_with("ssosync");
        let level_ok = *meta.level() <= tracing::Level::DEBUG;
        level_ok && (ours || (include_sdk && meta.target().starts_with("aws")))
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(true)
        .with_filter(filter);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}
