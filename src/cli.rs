//! The command line. `ssosync` alone (or `ssosync sync`) syncs; the other
//! subcommands are the other ways people use credentials.

use std::time::Duration;

use anyhow::anyhow;
use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::exit::{Exit, Fatal};
use crate::timefmt::parse_duration;

/// `ssosync --version`: the version, then the commit (from a git checkout) and
/// the target it was built for (see build.rs).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("SSOSYNC_BUILD"), ")");

/// Requests in flight at once (`--concurrency`), a ceiling the throttle lowers.
pub const DEFAULT_CONCURRENCY: u16 = 64;

/// Sync AWS IAM Identity Center (SSO) role credentials into ~/.aws/credentials.
///
/// Reads the token cached by `aws sso login`, asks the SSO portal for role credentials
/// for each SSO profile in ~/.aws/config, and writes them into ~/.aws/credentials,
/// changing nothing else in that file. Entries that are still fresh are left alone
/// without any network call.
#[derive(Debug, Parser)]
#[command(
    name = "ssosync",
    version = VERSION,
    max_term_width = 100,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub sync: SyncArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sync SSO profiles into the credentials file (the default command).
    Sync(SyncArgs),
    /// Show every SSO and chained profile, its token and its entry (no network).
    Status(StatusArgs),
    /// Print one profile's credentials as shell variables (or JSON, or dotenv).
    Export(ExportArgs),
    /// Print one profile's credentials for `credential_process` in ~/.aws/config.
    Process(ProcessArgs),
    /// Print a prompt hook that keeps entries fresh (`eval "$(ssosync hook bash)"`).
    Hook(HookArgs),
    /// Keep running and rotate each entry before it expires.
    Watch(WatchArgs),
    /// Sign in to an SSO session (as `aws sso login` does), then sync its profiles.
    Login(LoginArgs),
    /// Sign out of an SSO session: end it at the portal and delete its cached token.
    Logout(LogoutArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout.
    Man,
}

#[derive(Debug, Args, Clone, Default)]
pub struct SyncArgs {
    /// Profile to sync, optionally written under another name (`dev:default`).
    /// SRC may be a glob (`lab*`, `?`). Repeatable. Default: every SSO profile.
    #[arg(short, long = "profile", value_name = "SRC[:DST]")]
    pub profiles: Vec<String>,

    /// Rotate entries that are still fresh, and overwrite long-term keys.
    #[arg(long)]
    pub force: bool,

    /// Also write each profile's `region` into its credentials entry.
    #[arg(long)]
    pub region: bool,

    /// Show a diff of what would change (secrets hidden) and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options every command that may fetch credentials shares.
#[derive(Debug, Args, Clone, Default)]
pub struct CommonArgs {
    /// An entry expiring later than now plus this is fresh and left alone.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub min_ttl: Duration,

    /// Print one JSON report on stdout.
    #[arg(long)]
    pub json: bool,

    /// Print only errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log what happens to stderr (-vv: include the AWS SDK's logs).
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,

    /// Give up on a request after this long (retries get three times this).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_request_timeout)]
    pub timeout: Duration,

    /// At most this many requests at once (fewer while the portal throttles).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    /// An entry expiring later than now plus this counts as fresh.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub min_ttl: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// `export AWS_…='…'` for bash and zsh.
    Env,
    /// `AWS_…='…'` without `export`.
    EnvNoExport,
    /// `set -gx AWS_… '…'` for fish.
    Fish,
    /// `$Env:AWS_… = '…'` for PowerShell.
    Powershell,
    /// `set AWS_…=…` for cmd.exe.
    WindowsCmd,
    /// `AWS_…=…` lines for .env files (docker --env-file, direnv dotenv).
    Dotenv,
    /// One JSON object.
    Json,
}

impl ExportFormat {
    /// The default: the platform's own shell.
    pub const NATIVE: ExportFormat = if cfg!(windows) {
        ExportFormat::Powershell
    } else {
        ExportFormat::Env
    };
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The profile (default: $AWS_PROFILE, else `default`).
    #[arg(short, long = "profile", value_name = "PROFILE")]
    pub profile: Option<String>,

    /// The syntax to print (default: powershell on Windows, env elsewhere).
    #[arg(long, value_enum, default_value_t = ExportFormat::NATIVE, hide_default_value = true)]
    pub format: ExportFormat,

    /// Do not write fetched credentials into the credentials file.
    #[arg(long)]
    pub no_write: bool,

    #[command(flatten)]
    pub fetch: FetchArgs,
}

#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// The profile (default: $AWS_PROFILE, else `default`).
    #[arg(short, long = "profile", value_name = "PROFILE")]
    pub profile: Option<String>,

    /// Do not write fetched credentials into the credentials file.
    #[arg(long)]
    pub no_write: bool,

    #[command(flatten)]
    pub fetch: FetchArgs,
}

/// Fetch options for the one-profile commands.
#[derive(Debug, Args, Clone)]
pub struct FetchArgs {
    /// Reuse an entry expiring later than now plus this.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub min_ttl: Duration,

    /// Give up on a request after this long (retries get three times this).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_request_timeout)]
    pub timeout: Duration,

    /// Log what happens to stderr.
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    pub shell: HookShell,

    /// Run the sync at most once per this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub interval: u32,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Profiles to keep fresh, as for sync (default: every SSO profile).
    #[arg(short, long = "profile", value_name = "SRC[:DST]")]
    pub profiles: Vec<String>,

    /// Also write each profile's `region`.
    #[arg(long)]
    pub region: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Which sign-in `login` and `logout` are about. Neither: the session of
/// $AWS_PROFILE's profile, else of `default`, else the config's only sso-session.
#[derive(Debug, Args)]
pub struct SignInArgs {
    /// The sso-session (a `[sso-session NAME]` section of the config).
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub sso_session: Option<String>,

    /// A profile: its sso-session, or its start URL for a legacy profile. `login`
    /// then syncs only this profile.
    #[arg(short, long = "profile", value_name = "PROFILE")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub sign_in: SignInArgs,

    /// Confirm a code on any device instead of a browser redirect to this machine
    /// (for SSH sessions and headless hosts). Legacy profiles always do this.
    #[arg(long)]
    pub use_device_code: bool,

    /// Do not open a browser; print the URL to open.
    #[arg(long)]
    pub no_browser: bool,

    /// Listen for the browser's redirect on this port of 127.0.0.1 (default: a free one).
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub redirect_port: Option<u16>,

    /// Give up when the sign-in is not finished after this long.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_sign_in_timeout)]
    pub timeout: Duration,

    /// Only sign in; do not sync afterwards.
    #[arg(long)]
    pub no_sync: bool,

    /// Sync: rotate entries that are still fresh, and overwrite long-term keys.
    #[arg(long)]
    pub force: bool,

    /// Sync: also write each profile's `region` into its credentials entry.
    #[arg(long)]
    pub region: bool,

    /// Sync: print one JSON report on stdout.
    #[arg(long)]
    pub json: bool,

    /// Print only errors and what the sign-in needs from you.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log what happens to stderr (-vv: include the AWS SDK's logs).
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub sign_in: SignInArgs,

    /// Also remove the entries ssosync wrote to the credentials file for the
    /// session's profiles (only entries with a session token and
    /// aws_credential_expiration; other keys and sections stay).
    #[arg(long)]
    pub clean: bool,

    /// Print only errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log what happens to stderr.
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

/// `ssosync completions SHELL`: the script, generated from this command line.
pub fn print_completions(shell: clap_complete::Shell) -> Exit {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "ssosync", &mut std::io::stdout());
    Exit::Ok
}

/// `ssosync man`: the manual page, generated from this command line.
pub fn print_man() -> Result<Exit, Fatal> {
    let page = clap_mangen::Man::new(Cli::command());
    match page.render(&mut std::io::stdout()) {
        Ok(()) => Ok(Exit::Ok),
        Err(e) => Err(Fatal::Other(anyhow!("cannot write the manual page: {e}"))),
    }
}

/// `--timeout` of a request: 1 s to 1 h (longer would only hide a dead network,
/// and bounds keep the deadlines computed from it in range).
fn parse_request_timeout(text: &str) -> Result<Duration, String> {
    bounded(text, Duration::from_secs(3600), "1h")
}

/// `--timeout` of a sign-in: 1 s to 24 h.
fn parse_sign_in_timeout(text: &str) -> Result<Duration, String> {
    bounded(text, Duration::from_secs(24 * 3600), "24h")
}

fn bounded(text: &str, max: Duration, shown: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d.is_zero() || d > max {
        return Err(format!("`{text}` is out of range; use 1s to {shown}"));
    }
    Ok(d)
}
