//! `-v` and `-vv`: diagnostic logs on stderr. Nothing is set up without them, so
//! a quiet run pays nothing for logging.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether [`init`] set logging up (a progress line would garble the logs).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether `-v` logs go to stderr in this run.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// `-v`: our own logs; `-vv`: also the AWS SDK's (at debug, never trace: trace
/// levels of HTTP stacks can dump headers). Colour codes only on a terminal, and
/// never with `NO_COLOR` (`no_color`): a log file or a pipe gets plain text.
pub fn init(verbose: u8, no_color: bool) {
    use tracing_subscriber::prelude::*;
    if verbose == 0 {
        return;
    }
    ENABLED.store(true, Ordering::Relaxed);
    let include_sdk = verbose >= 2;
    let filter = tracing_subscriber::filter::filter_fn(move |meta| {
        let ours = meta.target().starts_with("ssosync");
        let level_ok = *meta.level() <= tracing::Level::DEBUG;
        level_ok && (ours || (include_sdk && meta.target().starts_with("aws")))
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(!no_color && std::io::stderr().is_terminal())
        .with_target(true)
        .with_filter(filter);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}
