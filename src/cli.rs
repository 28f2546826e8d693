//! The command line. `ssosync` alone (or `ssosync sync`) syncs; the other
//! subcommands are the other ways people use credentials.

use std::ffi::OsString;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::engine::naming::DEFAULT_TEMPLATE;
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
    /// What the prompt hook runs: a check without network, and a sync in the
    /// background when one is needed.
    Prompt(PromptArgs),
    /// Keep running and rotate each entry before it expires.
    Watch(WatchArgs),
    /// Sign in to an SSO session (as `aws sso login` does), then sync its profiles.
    Login(LoginArgs),
    /// Sign out of an SSO session: end it at the portal and delete its cached token.
    Logout(LogoutArgs),
    /// Write a profile into ~/.aws/config for every account and role a sign-in reaches.
    Populate(PopulateArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout, or write one page per command.
    Man(ManArgs),
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

    /// Make no network call: exit 0 when every entry is fresh, 4 when one needs
    /// the network (a fetch or a token refresh), 3 when a login is needed.
    /// Writes nothing.
    #[arg(long, conflicts_with = "dry_run")]
    pub no_network: bool,

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
    /// Only these profiles (a name or a glob: `lab*`, `?`). Repeatable.
    #[arg(short, long = "profile", value_name = "PATTERN")]
    pub profiles: Vec<String>,

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
    /// `set "AWS_…=…"` for cmd.exe.
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
    /// Windows PowerShell 5.1 and PowerShell 7 (`pwsh`) on any platform.
    #[value(alias = "pwsh")]
    Powershell,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    pub shell: HookShell,

    /// Check at most once per this long (`0` checks at every prompt).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_interval)]
    pub interval: Duration,

    /// The background sync gives up on a request after this long.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_request_timeout)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct PromptArgs {
    /// Only show the notice a background sync left (and forget it).
    #[arg(long, conflicts_with = "background")]
    pub show: bool,

    /// The background sync gives up on a request after this long.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_request_timeout)]
    pub timeout: Duration,

    /// Be the background sync (the prompt starts it, detached).
    #[arg(long, hide = true)]
    pub background: bool,
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

    /// A profile: its sso-session, or its start URL for a legacy profile.
    #[arg(short, long = "profile", value_name = "PROFILE")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
#[command(mut_arg("profile", |a| a.help(
    "A profile: sign in to its sso-session (or its start URL, for a legacy profile), then sync only this profile"
)))]
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
#[command(mut_arg("profile", |a| a.help(
    "A profile: sign out of its sso-session, or of its start URL for a legacy profile"
)))]
pub struct LogoutArgs {
    #[command(flatten)]
    pub sign_in: SignInArgs,

    /// Also remove the entries ssosync wrote to the credentials file for the
    /// session's profiles, under their own names or others (`-p dev:default`);
    /// other keys stay, and a section left empty goes.
    #[arg(long)]
    pub clean: bool,

    /// Print only errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log what happens to stderr.
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

/// `ssosync populate`: lists every account and role the sign-ins reach and writes
/// one profile per (account, role) into the config file, marked with
/// `ssosync_populated_from`. Profiles without that marker are never changed.
#[derive(Debug, Args)]
pub struct PopulateArgs {
    /// The sso-session to list (repeatable). Default: every [sso-session] in the config.
    #[arg(long = "sso-session", value_name = "NAME")]
    pub sso_sessions: Vec<String>,

    /// The sign-in of this profile: its sso-session, or its legacy sso_start_url.
    #[arg(short, long = "profile", value_name = "PROFILE")]
    pub profile: Option<String>,

    /// How profiles are named; fields {account_name}, {account_id}, {account_email},
    /// {role_name}, {session}.
    #[arg(long, value_name = "TEMPLATE", default_value = DEFAULT_TEMPLATE)]
    pub template: String,

    /// The `region` of every profile, kept in step on later runs (default: the
    /// sign-in's sso_region, for new profiles only).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Remove the populated profiles this run does not make (account or role
    /// gone, template changed); only when everything could be listed.
    #[arg(long)]
    pub prune: bool,

    /// Show the change to the config file as a diff and write nothing.
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

    /// At most this many requests at once (the pace follows the portal's throttling).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// Give up on a request after this long; a portal admitting nothing for
    /// three times this ends the listing.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_request_timeout)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

/// What `ssosync __complete` lists: the names the completion scripts offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompleteWhat {
    /// The SSO and chained profiles of the config.
    Profiles,
    /// The `[sso-session NAME]` sections of the config.
    Sessions,
}

/// `ssosync __complete profiles|sessions`, which the completion scripts run. It
/// is read before clap, not a subcommand: clap_complete would offer a hidden
/// subcommand as one more command to complete.
pub fn completion_request(args: &[OsString]) -> Option<CompleteWhat> {
    match args {
        [_, command, what] if command == "__complete" => match what.to_str()? {
            "profiles" => Some(CompleteWhat::Profiles),
            "sessions" => Some(CompleteWhat::Sessions),
            _ => None,
        },
        _ => None,
    }
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write ssosync.1 and one page per command (ssosync-login.1, …) into this
    /// folder (created if missing) instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
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

/// `hook --interval`: 0 (every prompt) to 24 h.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d > Duration::from_secs(24 * 3600) {
        return Err(format!("`{text}` is out of range; use 0s to 24h"));
    }
    Ok(d)
}

fn bounded(text: &str, max: Duration, shown: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d.is_zero() || d > max {
        return Err(format!("`{text}` is out of range; use 1s to {shown}"));
    }
    Ok(d)
}
