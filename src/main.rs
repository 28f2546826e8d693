use std::process::ExitCode;

fn main() -> ExitCode {
    ssosync::run(std::env::args_os(), &ssosync::Environment::from_process()).into()
}
