//! The `ssosync` binary: hands the process's arguments and environment to
//! `ssosync::run` and exits with its code. Everything else is in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    ssosync::run(std::env::args_os(), &ssosync::Environment::from_process()).into()
}
