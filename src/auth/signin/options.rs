//! What a sign-in is told (`SignInOptions`) and how it can end without a token
//! (`SignInError`): the types the flows and their caller share, apart from both.

use std::time::Duration;

/// How a sign-in is to be done.
#[derive(Clone, Debug)]
pub struct SignInOptions {
    /// The device-code flow even where the browser redirect would work.
    pub use_device_code: bool,
    /// Print the URL instead of opening a browser.
    pub no_browser: bool,
    /// The loopback port for the redirect (`None`: a free one).
    pub redirect_port: Option<u16>,
    /// The whole sign-in's bound.
    pub timeout: Duration,
    pub quiet: bool,
}

/// Why a sign-in ended without a token; the variant decides the exit code.
#[derive(Debug)]
pub enum SignInError {
    /// The sign-in itself did not happen (denied, timed out, code expired): exit 3.
    NotSignedIn(String),
    /// Config, files, network: exit 1.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for SignInError {
    fn from(e: anyhow::Error) -> Self {
        SignInError::Other(e)
    }
}
