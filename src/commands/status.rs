//! `ssosync status`: every SSO and chained profile, its token and its entry, from
//! the files alone: no network, no writes.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::auth::token_cache::{TokenCache, TokenProblem};
use crate::cli::StatusArgs;
use crate::config::environment::{Environment, read_optional};
use crate::config::profiles::{ProfileKind, SignIn, SsoProfile};
use crate::exit::Exit;
use crate::store::credentials::{CredentialsFile, EntryState};
use crate::store::safe_write;
use crate::timefmt::{add_saturating, describe_expiry, format_utc};

/// One row of the table.
struct Row {
    name: String,
    kind: &'static str,
    account: String,
    role: String,
    session: String,
    token: (Health, String),
    entry: (Health, String),
    expiration: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Health {
    Good,
    Warn,
    Bad,
}

pub fn run(args: &StatusArgs, env: &Environment) -> Result<Exit> {
    let config = crate::config::load(env, &[])?;
    let now = Utc::now();
    let path = safe_write::resolve_target(&env.credentials_path()?)?;
    let shown = env.display_path(&path);
    let file = match read_optional(&path, &shown)? {
        Some(text) => {
            CredentialsFile::parse(&text).map_err(|e| anyhow!("{shown} {e}; fix that line"))?
        }
        None => CredentialsFile::empty(),
    };
    let mut cache = TokenCache::new(env.sso_cache_dir()?);
    let mut tokens: HashMap<SignIn, (Health, String)> = HashMap::new();
    let fresh_after = add_saturating(now, args.min_ttl);

    let mut rows = Vec::new();
    for name in config.sso_names() {
        let (kind, root, account, role) = match config.get(name) {
            Some(ProfileKind::Sso(p)) => {
                let kind = match p.sign_in {
                    SignIn::Session { .. } => "sso-session",
                    SignIn::Legacy { .. } => "legacy",
                };
                (kind, Some(p), p.account_id.clone(), p.role_name.clone())
            }
            Some(ProfileKind::Chained(c)) => {
                let last = c
                    .hops
                    .last()
                    .map(|h| h.role_arn.as_str())
                    .unwrap_or_default();
                let account = last.split(':').nth(4).unwrap_or_default().to_string();
                let role = last.rsplit('/').next().unwrap_or_default().to_string();
                ("chained", Some(&c.root), account, role)
            }
            _ => ("invalid", None, String::new(), String::new()),
        };
        let session = root.map(session_label).unwrap_or_default();
        let token = match root {
            Some(root) => tokens
                .entry(root.sign_in.clone())
                .or_insert_with(|| token_state(&mut cache, root, now))
                .clone(),
            None => match config.get(name) {
                Some(ProfileKind::Misconfigured(reason)) => (Health::Bad, reason.clone()),
                _ => (Health::Bad, "not usable".into()),
            },
        };
        let (entry, expiration) = match file.state(name, fresh_after) {
            EntryState::Fresh(t) => (
                (
                    Health::Good,
                    format!("fresh until {}", describe_expiry(t, now)),
                ),
                Some(t),
            ),
            EntryState::Stale => {
                let t = file.entry(name).map(|c| c.expiration);
                ((Health::Warn, "stale".into()), t)
            }
            EntryState::Absent => ((Health::Warn, "absent".into()), None),
            EntryState::LongTerm => ((Health::Bad, "long-term keys".into()), None),
        };
        rows.push(Row {
            name: name.to_string(),
            kind,
            account,
            role,
            session,
            token,
            entry,
            expiration,
        });
    }
    if args.json {
        print_json(&rows);
    } else {
        let color = std::io::stdout().is_terminal() && !env.no_color();
        print_table(&rows, color);
    }
    Ok(Exit::Ok)
}

fn session_label(p: &SsoProfile) -> String {
    match &p.sign_in {
        SignIn::Session { name, .. } => name.clone(),
        SignIn::Legacy { start_url, .. } => start_url.clone(),
    }
}

fn token_state(cache: &mut TokenCache, root: &SsoProfile, now: DateTime<Utc>) -> (Health, String) {
    match cache.token(&root.sign_in) {
        Ok(t) if t.expires_at > now => (
            Health::Good,
            format!("valid until {}", describe_expiry(t.expires_at, now)),
        ),
        Ok(t) if t.refreshable(now) => (Health::Warn, "expired, refreshable".into()),
        Ok(_) => (
            Health::Bad,
            format!(
                "expired: {}",
                root.sign_in.ssosync_login_command(&root.name)
            ),
        ),
        Err(TokenProblem::Missing) => (
            Health::Bad,
            format!(
                "missing: {}",
                root.sign_in.ssosync_login_command(&root.name)
            ),
        ),
        Err(TokenProblem::Unreadable { reason, .. }) => {
            (Health::Bad, format!("unreadable ({reason})"))
        }
    }
}

fn print_table(rows: &[Row], color: bool) {
    let header = [
        "PROFILE", "KIND", "ACCOUNT", "ROLE", "SESSION", "TOKEN", "ENTRY",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.kind.to_string(),
                r.account.clone(),
                r.role.clone(),
                r.session.clone(),
                r.token.1.clone(),
                r.entry.1.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.len());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let line: Vec<String> = header
        .iter()
        .zip(widths)
        .map(|(h, w)| format!("{h:w$}"))
        .collect();
    let _ = writeln!(out, "{}", line.join("  ").trim_end());
    for (row, cell) in rows.iter().zip(&cells) {
        let mut parts = Vec::new();
        for (i, (c, w)) in cell.iter().zip(widths).enumerate() {
            let pad = " ".repeat(w - c.chars().count());
            let health = match i {
                5 => Some(row.token.0),
                6 => Some(row.entry.0),
                _ => None,
            };
            parts.push(match (color, health) {
                (true, Some(h)) => format!("{}{c}\x1b[0m{pad}", paint(h)),
                _ => format!("{c}{pad}"),
            });
        }
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    }
}

fn paint(h: Health) -> &'static str {
    match h {
        Health::Good => "\x1b[32m",
        Health::Warn => "\x1b[33m",
        Health::Bad => "\x1b[31m",
    }
}

fn print_json(rows: &[Row]) {
    let word = |h: Health| match h {
        Health::Good => "ok",
        Health::Warn => "warning",
        Health::Bad => "error",
    };
    let profiles: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "profile": r.name,
                "kind": r.kind,
                "account_id": r.account,
                "role": r.role,
                "session": r.session,
                "token": {"health": word(r.token.0), "state": r.token.1},
                "entry": {"health": word(r.entry.0), "state": r.entry.1, "expiration": r.expiration.map(format_utc)},
            })
        })
        .collect();
    println!("{}", json!({ "profiles": profiles }));
}
