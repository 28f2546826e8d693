//! ssosync: AWS SSO role credentials into `~/.aws/credentials`, losslessly.
//!
//! `run` is the whole program; `main.rs` only hands it the process's arguments and
//! environment, so the demo and tests can run it with their own. This file holds
//! the modules and the dispatch to a command, nothing else; ARCHITECTURE.md is
//! the map.

mod auth;
mod aws;
mod cli;
mod commands;
mod config;
mod engine;
mod exit;
mod logging;
mod options;
mod progress;
mod quote;
mod secret;
mod store;
mod timefmt;

use std::ffi::OsString;

use clap::Parser;

pub use config::environment::Environment;
pub use config::profile_file;
pub use exit::Exit;

use crate::cli::{Cli, Command};
use crate::exit::finish;

pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>, env: &Environment) -> Exit {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if let Some(what) = cli::completion_request(&args) {
        return commands::completions::names(what, env);
    }
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
    finish(match &cli.command {
        None => commands::sync::run(&cli.sync, env),
        Some(Command::Sync(args)) => commands::sync::run(args, env),
        Some(Command::Status(args)) => commands::status::run(args, env),
        Some(Command::Export(args)) => commands::export::run_export(args, env),
        Some(Command::Process(args)) => commands::export::run_process(args, env),
        Some(Command::Hook(args)) => commands::hook::run(args, env),
        Some(Command::Prompt(args)) => commands::prompt::run(args, env),
        Some(Command::Watch(args)) => commands::watch::run(args, env),
        Some(Command::Login(args)) => commands::login::run(args, env),
        Some(Command::Logout(args)) => commands::logout::run(args, env),
        Some(Command::Populate(args)) => commands::populate::run(args, env),
        Some(Command::Completions(args)) => Ok(commands::completions::print(args.shell)),
        Some(Command::Man(args)) => commands::man::run(args, env),
    })
}
