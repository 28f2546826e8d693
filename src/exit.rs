//! Exit codes, documented in README.md.

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
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::LoginRequired => 3,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}
