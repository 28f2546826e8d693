//! ssosync: AWS SSO role credentials into `~/.aws/credentials`, losslessly.
//!
//! `run` is the whole program; `main.rs` only hands it the process's arguments and
//! environment, so the demo and tests can run it with their own.

mod aws_clients;
mod cli;
mod credentials;
mod environment;
mod exit;
mod fetch;
mod oidc;
mod output;
mod portal;
pub mod profile_file;
mod profiles;
mod safe_write;
mod secret;
mod selection;
mod sts;
mod sync;
mod timefmt;
mod token_cache;

use std::ffi::OsString;

use anyhow::{Result, anyhow};
use clap::Parser;

pub use environment::Environment;
pub use exit::Exit;

use crate::cli::Cli;
use crate::environment::read_optional;
use crate::profile_file::ProfileFile;
use crate::profiles::ProfileConfig;
use crate::selection::{ProfileSpec, select};
use crate::sync::{FailureKind, Outcome, SyncOptions, Syncer};

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
    init_logging(cli.verbose);
    match sync_command(&cli, env) {
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
enum Fatal {
    Usage(String),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Fatal {
    fn from(e: anyhow::Error) -> Self {
        Fatal::Other(e)
    }
}

fn load_config(env: &Environment) -> Result<ProfileConfig> {
    let path = env.config_path()?;
    let shown = env.display_path(&path);
    let text = read_optional(&path, &shown)?.ok_or_else(|| {
        anyhow!("no AWS config file at {shown}; create an SSO profile with `aws configure sso` (or set AWS_CONFIG_FILE)")
    })?;
    let file = ProfileFile::parse(&text)
        .map_err(|e| anyhow!("{shown} {e}; fix that line (the AWS SDKs reject it too)"))?;
    Ok(ProfileConfig::from_file(&file))
}

fn sync_command(cli: &Cli, env: &Environment) -> Result<Exit, Fatal> {
    let config = load_config(env)?;
    let specs: Vec<ProfileSpec> = cli
        .profiles
        .iter()
        .map(|p| ProfileSpec::parse(p, &config))
        .collect();
    let targets = select(&specs, &config).map_err(Fatal::Usage)?;
    if targets.is_empty() {
        let shown = env.display_path(&env.config_path()?);
        return Err(Fatal::Other(anyhow!(
            "no SSO profiles in {shown}; add one with `aws configure sso`"
        )));
    }
    let options = SyncOptions {
        force: cli.force,
        min_ttl: cli.min_ttl,
        write_region: cli.region,
        dry_run: cli.dry_run,
        timeout: cli.timeout,
        concurrency: cli.concurrency.into(),
    };
    let syncer = Syncer {
        env,
        config: &config,
        options: &options,
        now: chrono::Utc::now(),
    };
    let report = syncer.run(&targets)?;
    let exit = exit_for(&report.results);
    if cli.json {
        output::print_json(&report, exit);
    } else {
        output::print_human(&report, cli.quiet);
    }
    Ok(exit)
}

fn exit_for(results: &[sync::ProfileResult]) -> Exit {
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
fn init_logging(verbose: u8) {
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
