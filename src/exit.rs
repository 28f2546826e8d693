//! Exit codes (documented in README.md), and the one place an error that ends a
//! command becomes one: [`Fatal`] is printed once, as one line, by [`finish`].

use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every requested entry is fresh.
    Ok,
    /// Something failed (config, access, portal, files).
    Failure,
    /// The command line was wrong; nothing was done.
    Usage,
    /// At least one profile needs `aws sso login`.
    LoginRequired,
    /// `--no-network`: an entry needs a network call (a fetch or a refresh).
    NeedsNetwork,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::LoginRequired => 3,
            Exit::NeedsNetwork => 4,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// Errors that stop a whole command before (or instead of) its report.
#[derive(Debug)]
pub enum Fatal {
    /// The command line or the choice it names is wrong: exit 2.
    Usage(String),
    /// A sign-in ended without a token because of the sign-in itself (denied,
    /// timed out, code expired): the user still has to log in, exit 3.
    NotSignedIn(String),
    /// Config, files, network: exit 1.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Fatal {
    fn from(e: anyhow::Error) -> Self {
        Fatal::Other(e)
    }
}

impl Fatal {
    pub fn exit(&self) -> Exit {
        match self {
            Fatal::Usage(_) => Exit::Usage,
            Fatal::NotSignedIn(_) => Exit::LoginRequired,
            Fatal::Other(_) => Exit::Failure,
        }
    }
}

/// A command's result as its exit code, its error (if any) printed on stderr.
pub fn finish(result: Result<Exit, Fatal>) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(fatal) => {
            match &fatal {
                Fatal::Usage(message) | Fatal::NotSignedIn(message) => {
                    eprintln!("ssosync: {message}")
                }
                Fatal::Other(e) => eprintln!("ssosync: {e:#}"),
            }
            fatal.exit()
        }
    }
}
