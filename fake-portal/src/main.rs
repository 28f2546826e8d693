//! `fake-portal`: runs the fake SSO portal in the foreground.
//!
//! ```text
//! fake-portal [--port P] [--latency-ms N] [--ttl-secs N] [--token T]... [--grant ACCOUNT:ROLE]...
//!             [--account ACCOUNT=NAME]... [--generate ACCOUNTS:ROLES] [--limit N]
//!             [--tls-cert CHAIN.pem --tls-key KEY.pem]
//! ```
//!
//! `--account` names an account as ListAccounts lists it; `--generate` grants
//! ACCOUNTS made-up accounts (ids from 100000000000, names `Team 0001 Prod`, …)
//! ROLES roles each (`Role1`, …), for listing at scale; `--limit` starts with the
//! rate limit that `limit N` sets.
//!
//! Prints `listening on http://127.0.0.1:P` (`https://` with `--tls-cert`) once ready. Reads commands from
//! stdin, one per line: `count` prints the number of requests received so far,
//! `reset` forgets them, `fail N STATUS ERROR_TYPE` makes the next N requests
//! fail that way (e.g. `fail 50 429 TooManyRequestsException`), `limit N`
//! admits at most N portal requests a second and throttles the rest with 429
//! (`limit 0` lifts it). Exits when stdin reaches end of file.

#![forbid(unsafe_code)]

use std::io::{self, BufRead, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use fake_portal::{FakePortal, TlsIdentity};

const USAGE: &str = "usage: fake-portal [--port P] [--latency-ms N] [--ttl-secs N] \
                     [--token T]... [--grant ACCOUNT:ROLE]... [--account ACCOUNT=NAME]... \
                     [--generate ACCOUNTS:ROLES] [--limit N] [--tls-cert CHAIN.pem --tls-key KEY.pem]";

/// Parsed command line.
#[derive(Default)]
struct Options {
    port: u16,
    latency_ms: Option<u64>,
    ttl_secs: Option<u64>,
    tokens: Vec<String>,
    grants: Vec<(String, String)>,
    accounts: Vec<(String, String)>,
    generate: Option<(u64, u64)>,
    limit: Option<u32>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
}

/// Parses the arguments (without the program name). `Ok(None)` means help was
/// asked for.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v:?}"))
        };
        match flag.as_str() {
            "--port" => {
                let v = value()?;
                options.port = v
                    .parse()
                    .map_err(|_| format!("--port: not a port number: {v:?}"))?;
            }
            "--latency-ms" => options.latency_ms = Some(number(value()?)?),
            "--ttl-secs" => options.ttl_secs = Some(number(value()?)?),
            "--token" => options.tokens.push(value()?),
            "--tls-cert" => options.tls_cert = Some(value()?),
            "--tls-key" => options.tls_key = Some(value()?),
            "--grant" => {
                let v = value()?;
                match v.split_once(':') {
                    Some((account, role)) if !account.is_empty() && !role.is_empty() => {
                        options.grants.push((account.to_owned(), role.to_owned()));
                    }
                    _ => return Err(format!("--grant: expected ACCOUNT:ROLE, got {v:?}")),
                }
            }
            "--account" => {
                let v = value()?;
                match v.split_once('=') {
                    Some((account, name)) if !account.is_empty() => {
                        options.accounts.push((account.to_owned(), name.to_owned()));
                    }
                    _ => return Err(format!("--account: expected ACCOUNT=NAME, got {v:?}")),
                }
            }
            "--generate" => {
                let v = value()?;
                let parsed = v
                    .split_once(':')
                    .and_then(|(a, r)| Some((a.parse::<u64>().ok()?, r.parse::<u64>().ok()?)))
                    .filter(|&(a, r)| a <= 1_000_000 && r <= 1_000);
                match parsed {
                    Some(pair) => options.generate = Some(pair),
                    None => {
                        return Err(format!(
                            "--generate: expected ACCOUNTS:ROLES (numbers), got {v:?}"
                        ));
                    }
                }
            }
            "--limit" => {
                let v = value()?;
                options.limit = Some(
                    v.parse()
                        .map_err(|_| format!("--limit: not a number: {v:?}"))?,
                );
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(Some(options))
}

/// `fail N STATUS ERROR_TYPE` → its three arguments.
fn parse_fail(line: &str) -> Option<(usize, u16, &str)> {
    let mut words = line.split_whitespace();
    if words.next()? != "fail" {
        return None;
    }
    let count = words.next()?.parse().ok()?;
    let status = words
        .next()?
        .parse()
        .ok()
        .filter(|s| (100..=599).contains(s))?;
    let error_type = words.next()?;
    words
        .next()
        .is_none()
        .then_some((count, status, error_type))
}

/// `limit N` → N (requests a second; 0 lifts the limit).
fn parse_limit(line: &str) -> Option<u32> {
    let mut words = line.split_whitespace();
    if words.next()? != "limit" {
        return None;
    }
    let rate = words.next()?.parse().ok()?;
    words.next().is_none().then_some(rate)
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("fake-portal: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let tls = match (&options.tls_cert, &options.tls_key) {
        (None, None) => None,
        (Some(cert), Some(key)) => {
            let read = |path: &str| {
                std::fs::read(path).map_err(|e| format!("fake-portal: cannot read {path}: {e}"))
            };
            match read(cert)
                .and_then(|c| Ok((c, read(key)?)))
                .and_then(|(c, k)| {
                    TlsIdentity::from_pem(&c, &k).map_err(|e| format!("fake-portal: {e}"))
                }) {
                Ok(identity) => Some(identity),
                Err(message) => {
                    eprintln!("{message}");
                    return ExitCode::from(2);
                }
            }
        }
        _ => {
            eprintln!("fake-portal: --tls-cert and --tls-key go together\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let portal =
        match FakePortal::bind_with(SocketAddr::from((Ipv4Addr::LOCALHOST, options.port)), tls) {
            Ok(portal) => portal,
            Err(e) => {
                eprintln!("fake-portal: cannot listen on port {}: {e}", options.port);
                return ExitCode::FAILURE;
            }
        };
    if let Some(ms) = options.latency_ms {
        portal.set_latency(Duration::from_millis(ms));
    }
    if let Some(secs) = options.ttl_secs {
        portal.set_credential_ttl(Duration::from_secs(secs));
    }
    for token in &options.tokens {
        portal.add_token(token);
    }
    for (account, role) in &options.grants {
        portal.grant(account, role);
    }
    if let Some((accounts, roles)) = options.generate {
        for a in 0..accounts {
            let id = format!("{}", 100_000_000_000 + a);
            let stage = ["Prod", "Dev", "Test", "Sandbox"][(a % 4) as usize];
            portal.set_account(
                &id,
                &format!("Team {:04} {stage}", a + 1),
                &format!("team{}@example.com", a + 1),
            );
            for r in 1..=roles {
                portal.grant(&id, &format!("Role{r}"));
            }
        }
    }
    for (account, name) in &options.accounts {
        portal.set_account(account, name, &format!("{account}@example.com"));
    }
    if let Some(per_second) = options.limit {
        portal.set_rate_limit(Some(per_second));
    }

    let mut stdout = io::stdout().lock();
    if writeln!(stdout, "listening on {}", portal.url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }

    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let reply = match line.trim() {
            "" => continue,
            "count" => portal.request_count().to_string(),
            "reset" => {
                portal.reset_counters();
                "ok".to_owned()
            }
            other => match (parse_fail(other), parse_limit(other)) {
                (Some((count, status, error_type)), _) => {
                    portal.fail_next(count, status, error_type);
                    "ok".to_owned()
                }
                (None, Some(per_second)) => {
                    portal.set_rate_limit(Some(per_second));
                    "ok".to_owned()
                }
                (None, None) => {
                    eprintln!(
                        "fake-portal: unknown command {other:?} (try count, reset, fail N STATUS ERROR_TYPE or limit N)"
                    );
                    continue;
                }
            },
        };
        if writeln!(stdout, "{reply}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            break;
        }
    }
    ExitCode::SUCCESS
}
