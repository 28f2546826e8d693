//! `ssosync completions SHELL`: the completion script, generated from the command
//! line.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit::Exit;

/// `ssosync completions SHELL`: the script, generated from this command line.
pub fn print(shell: clap_complete::Shell) -> Exit {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "ssosync", &mut std::io::stdout());
    Exit::Ok
}
