//! The command line, resolved once into the plain values the rest of ssosync
//! reads: each command's arguments become [`SyncOptions`] (and a report style)
//! here and nowhere else, so every command that syncs gets the same defaults.

use std::time::Duration;

use crate::auth::signin::SignInOptions;
use crate::cli::{CommonArgs, FetchArgs, LoginArgs, PopulateArgs, SignInArgs, SyncArgs, WatchArgs};
use crate::config::sign_in::SignInChoice;
use crate::engine::naming::Template;
use crate::engine::populate::PopulateOptions;
use crate::engine::{Mode, SyncOptions};
use crate::exit::Fatal;

pub use crate::cli::DEFAULT_CONCURRENCY;

/// `--min-ttl`: an entry expiring later than now plus this is fresh.
pub const DEFAULT_MIN_TTL: Duration = Duration::from_secs(15 * 60);
/// `--timeout` of one request (the command line spells both defaults as text).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a sync's report is shown.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub json: bool,
    pub quiet: bool,
}

impl From<&CommonArgs> for Style {
    fn from(args: &CommonArgs) -> Self {
        Style {
            json: args.json,
            quiet: args.quiet,
        }
    }
}

impl From<&SyncArgs> for SyncOptions {
    fn from(args: &SyncArgs) -> Self {
        SyncOptions {
            force: args.force,
            min_ttl: args.common.min_ttl,
            write_region: args.region,
            mode: if args.no_network {
                Mode::NoNetwork
            } else if args.dry_run {
                Mode::DryRun
            } else {
                Mode::Write
            },
            timeout: args.common.timeout,
            concurrency: args.common.concurrency.into(),
        }
    }
}

impl From<&WatchArgs> for SyncOptions {
    fn from(args: &WatchArgs) -> Self {
        SyncOptions {
            force: false,
            min_ttl: args.common.min_ttl,
            write_region: args.region,
            mode: Mode::Write,
            timeout: args.common.timeout,
            concurrency: args.common.concurrency.into(),
        }
    }
}

/// The sync after a login: the defaults of a plain `ssosync`, with the login's
/// `--force` and `--region`.
impl From<&LoginArgs> for SyncOptions {
    fn from(args: &LoginArgs) -> Self {
        SyncOptions {
            force: args.force,
            min_ttl: DEFAULT_MIN_TTL,
            write_region: args.region,
            mode: Mode::Write,
            timeout: DEFAULT_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY.into(),
        }
    }
}

impl From<&LoginArgs> for Style {
    fn from(args: &LoginArgs) -> Self {
        Style {
            json: args.json,
            quiet: args.quiet,
        }
    }
}

impl From<&LoginArgs> for SignInOptions {
    fn from(args: &LoginArgs) -> Self {
        SignInOptions {
            use_device_code: args.use_device_code,
            no_browser: args.no_browser,
            redirect_port: args.redirect_port,
            timeout: args.timeout,
            quiet: args.quiet,
        }
    }
}

impl From<&SignInArgs> for SignInChoice {
    fn from(args: &SignInArgs) -> Self {
        SignInChoice {
            sso_session: args.sso_session.clone(),
            profile: args.profile.clone(),
        }
    }
}

/// `export` and `process`: one profile, whose entry is stale or absent (a fresh
/// one is used without a sync), so always fetched; long-term keys still win.
pub fn one_profile(args: &FetchArgs, no_write: bool) -> SyncOptions {
    SyncOptions {
        force: false,
        min_ttl: Duration::MAX,
        write_region: false,
        mode: if no_write {
            Mode::FetchOnly
        } else {
            Mode::Write
        },
        timeout: args.timeout,
        concurrency: 1,
    }
}

/// `populate`'s options; a template or region that cannot work is a usage error.
impl TryFrom<&PopulateArgs> for PopulateOptions {
    type Error = Fatal;

    fn try_from(args: &PopulateArgs) -> Result<Self, Fatal> {
        let template = Template::parse(&args.template).map_err(Fatal::Usage)?;
        let region = match &args.region {
            Some(r) if is_region(r) => Some(r.clone()),
            Some(r) => {
                return Err(Fatal::Usage(format!(
                    "--region `{r}` is not a region name; use one such as eu-west-1"
                )));
            }
            None => None,
        };
        Ok(PopulateOptions {
            template,
            region,
            prune: args.prune,
            dry_run: args.dry_run,
            timeout: args.timeout,
            concurrency: args.concurrency.into(),
        })
    }
}

/// Whether `text` could be a region name (`eu-west-1`, `us-gov-east-1`).
fn is_region(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    #[test]
    fn the_defaults_are_the_command_lines() {
        let Ok(cli) = Cli::try_parse_from(["ssosync"]) else {
            panic!("`ssosync` alone must parse");
        };
        assert_eq!(cli.sync.common.min_ttl, DEFAULT_MIN_TTL);
        assert_eq!(cli.sync.common.timeout, DEFAULT_TIMEOUT);
        assert_eq!(cli.sync.common.concurrency, DEFAULT_CONCURRENCY);
    }

    #[test]
    fn login_syncs_with_the_defaults_of_a_plain_sync() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).ok().unwrap();
        let plain = SyncOptions::from(&parse(&["ssosync"]).sync);
        let Some(crate::cli::Command::Login(login)) =
            parse(&["ssosync", "login", "--force", "--region"]).command
        else {
            panic!("`ssosync login` must parse as the login command");
        };
        let after_login = SyncOptions::from(&login);
        assert_eq!(after_login.concurrency, plain.concurrency);
        assert_eq!(after_login.min_ttl, plain.min_ttl);
        assert_eq!(after_login.timeout, plain.timeout);
        assert_eq!(after_login.mode, plain.mode);
        assert!(after_login.force && after_login.write_region);
    }

    #[test]
    fn populate_rejects_templates_and_regions_that_cannot_work() {
        let parse = |args: &[&str]| {
            let Ok(cli) = Cli::try_parse_from(args) else {
                panic!("{args:?} must parse");
            };
            let Some(crate::cli::Command::Populate(p)) = cli.command else {
                panic!("{args:?} is populate");
            };
            PopulateOptions::try_from(&p)
        };
        assert!(parse(&["ssosync", "populate"]).is_ok());
        assert!(parse(&["ssosync", "populate", "--region", "us-gov-east-1"]).is_ok());
        for bad in [
            &["ssosync", "populate", "--template", "{nope}"][..],
            &["ssosync", "populate", "--region", "eu west"],
            &["ssosync", "populate", "--region=-x"],
        ] {
            assert!(matches!(parse(bad), Err(Fatal::Usage(_))), "{bad:?}");
        }
    }
}
