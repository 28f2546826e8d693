//! `ssosync status`: every SSO and chained profile (or those `-p` names), its
//! token and its entry, and the entries written from it under other names (from
//! the ledger), from the files alone: no network, no writes.

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::auth::token_cache::{TokenCache, TokenProblem};
use crate::cli::StatusArgs;
use crate::commands::report::Paint;
use crate::config::environment::Environment;
use crate::config::profiles::{ProfileKind, SignIn, SsoProfile};
use crate::config::selection::glob_match;
use crate::exit::{Exit, Fatal};
use crate::store::apply::UserFile;
use crate::store::credentials::{CredentialsFile, EntryState};
use crate::store::ledger::Ledger;
use crate::timefmt::{add_saturating, describe_expiry, format_utc};

/// One row of the table: a profile, or an entry written from it under another
/// name (`dev → [default]`).
struct Row {
    name: String,
    /// The section its entry is in.
    target: String,
    kind: &'static str,
    account: String,
    role: String,
    session: String,
    token: State,
    entry: State,
}

/// How something stands: its health, in words, and when it expires.
#[derive(Clone)]
struct State {
    health: Health,
    text: String,
    expiration: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Health {
    Good,
    Warn,
    Bad,
}

fn state(health: Health, text: impl Into<String>, expiration: Option<DateTime<Utc>>) -> State {
    State {
        health,
        text: text.into(),
        expiration,
    }
}

pub fn run(args: &StatusArgs, env: &Environment) -> Result<Exit, Fatal> {
    let config = crate::config::load(env, &[])?;
    let now = Utc::now();
    let file = UserFile::at(env, &env.credentials_path()?)?;
    let creds: CredentialsFile = file.read()?;
    let mut warnings = Vec::new();
    let ledger = Ledger::read(&file, &mut warnings);
    let mut cache = TokenCache::new(env.sso_cache_dir()?);
    let mut tokens: HashMap<SignIn, State> = HashMap::new();
    let fresh_after = add_saturating(now, args.min_ttl);

    let names: Vec<&str> = config
        .sso_names()
        .filter(|name| {
            args.profiles.is_empty() || args.profiles.iter().any(|p| glob_match(p, name))
        })
        .collect();
    if names.is_empty() && !args.profiles.is_empty() {
        return Err(Fatal::Usage(format!(
            "no SSO profile matches {}; `ssosync status` lists them all",
            args.profiles
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    let mut rows = Vec::new();
    for name in names {
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
                Some(ProfileKind::Misconfigured(reason)) => {
                    state(Health::Bad, reason.clone(), None)
                }
                _ => state(Health::Bad, "not usable", None),
            },
        };
        let mut targets = vec![name.to_string()];
        targets.extend(ledger.renamed_from(name, &creds).map(str::to_string));
        for target in targets {
            rows.push(Row {
                name: if target == name {
                    name.to_string()
                } else {
                    format!("{name} → [{target}]")
                },
                entry: entry_state(&creds, &target, fresh_after, now),
                target,
                kind,
                account: account.clone(),
                role: role.clone(),
                session: session.clone(),
                token: token.clone(),
            });
        }
    }
    for w in &warnings {
        eprintln!("ssosync: warning: {w}");
    }
    if args.json {
        print_json(&rows);
    } else {
        print_table(&rows, Paint::stdout(env));
    }
    Ok(Exit::Ok)
}

fn entry_state(
    creds: &CredentialsFile,
    target: &str,
    fresh_after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> State {
    match creds.state(target, fresh_after) {
        EntryState::Fresh(t) => state(
            Health::Good,
            format!("fresh until {}", describe_expiry(t, now)),
            Some(t),
        ),
        EntryState::Stale => state(Health::Warn, "stale", creds.expiration(target)),
        EntryState::Absent => state(Health::Warn, "absent", None),
        EntryState::LongTerm => state(Health::Bad, "long-term keys", None),
    }
}

fn session_label(p: &SsoProfile) -> String {
    match &p.sign_in {
        SignIn::Session { name, .. } => name.clone(),
        SignIn::Legacy { start_url, .. } => start_url.clone(),
    }
}

fn token_state(cache: &mut TokenCache, root: &SsoProfile, now: DateTime<Utc>) -> State {
    match cache.token(&root.sign_in) {
        Ok(t) if t.expires_at > now => state(
            Health::Good,
            format!("valid until {}", describe_expiry(t.expires_at, now)),
            Some(t.expires_at),
        ),
        Ok(t) if t.refreshable(now) => {
            state(Health::Warn, "expired, refreshable", Some(t.expires_at))
        }
        Ok(t) => state(
            Health::Bad,
            format!(
                "expired: {}",
                root.sign_in.ssosync_login_command(&root.name)
            ),
            Some(t.expires_at),
        ),
        Err(TokenProblem::Missing) => state(
            Health::Bad,
            format!(
                "missing: {}",
                root.sign_in.ssosync_login_command(&root.name)
            ),
            None,
        ),
        Err(TokenProblem::Unreadable { reason, .. }) => {
            state(Health::Bad, format!("unreadable ({reason})"), None)
        }
    }
}

fn print_table(rows: &[Row], paint: Paint) {
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
                r.token.text.clone(),
                r.entry.text.clone(),
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
                5 => Some(row.token.health),
                6 => Some(row.entry.health),
                _ => None,
            };
            let c = match health {
                Some(Health::Good) => paint.good(c),
                Some(Health::Warn) => paint.warn(c),
                Some(Health::Bad) => paint.bad(c),
                None => c.clone(),
            };
            parts.push(format!("{c}{pad}"));
        }
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    }
}

fn print_json(rows: &[Row]) {
    let word = |h: Health| match h {
        Health::Good => "ok",
        Health::Warn => "warning",
        Health::Bad => "error",
    };
    let state = |s: &State| json!({"health": word(s.health), "state": s.text, "expiration": s.expiration.map(format_utc)});
    let profiles: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "profile": r.name.split(" → ").next().unwrap_or(&r.name),
                "target": r.target,
                "kind": r.kind,
                "account_id": r.account,
                "role": r.role,
                "session": r.session,
                "token": state(&r.token),
                "entry": state(&r.entry),
            })
        })
        .collect();
    let _ = writeln!(std::io::stdout(), "{}", json!({ "profiles": profiles }));
}
