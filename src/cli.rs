//! The command line.

use std::time::Duration;

use clap::{ArgAction, Parser};

use crate::timefmt::parse_duration;

/// Sync AWS IAM Identity Center (SSO) role credentials into ~/.aws/credentials.
///
/// Reads the token cached by `aws sso login`, asks the SSO portal for role credentials
/// for each SSO profile in ~/.aws/config, and writes them into ~/.aws/credentials,
/// changing nothing else in that file. Entries that are still fresh are left alone
/// without any network call.
#[derive(Debug, Parser)]
#[command(name = "ssosync", version, max_term_width = 100)]
pub struct Cli {
    /// Profile to sync, optionally written under another name (`dev:default`).
    /// SRC may be a glob (`lab*`, `?`). Repeatable. Default: every SSO profile.
    #[arg(short, long = "profile", value_name = "SRC[:DST]")]
    pub profiles: Vec<String>,

    /// Rotate entries that are still fresh, and overwrite long-term keys.
    #[arg(long)]
    pub force: bool,

    /// An entry expiring later than now plus this is fresh and left alone.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub min_ttl: Duration,

    /// Also write each profile's `region` into its credentials entry.
    #[arg(long)]
    pub region: bool,

    /// Show a diff of what would change (secrets hidden) and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Print one JSON report on stdout.
    #[arg(long)]
    pub json: bool,

    /// Print only errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log what happens to stderr (-vv: include the AWS SDK's logs).
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,

    /// Give up on a portal request after this long (retries get three times this).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// At most this many portal requests at once.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}
