//! `ssosync populate`: which sign-ins (`--sso-session`, `-p`, or every
//! sso-session of the config), the run itself (`engine::populate`), and what it
//! shows: a line per profile that changed and a summary, a JSON report, or the
//! diff of a dry run.

use std::io::Write;

use chrono::Utc;
use serde_json::{Value, json};

use crate::cli::PopulateArgs;
use crate::commands::report::{kind_name, redacted_diff_of};
use crate::config;
use crate::config::environment::Environment;
use crate::config::profile_file::FileKind;
use crate::config::sign_in::{self, SignInChoice};
use crate::engine::populate::{PopulateOptions, PopulateReport, Populator, Source};
use crate::exit::{Exit, Fatal};
use crate::logging;
use crate::progress::Progress;
use crate::store::populated::Change;

pub fn run(args: &PopulateArgs, env: &Environment) -> Result<Exit, Fatal> {
    logging::init(args.verbose, env.no_color());
    let options = PopulateOptions::try_from(args)?;
    let sources = sources(args, env)?;
    let progress = Progress::on_stderr(
        !args.json && !args.quiet && !logging::enabled(),
        "accounts listed",
    );
    let populator = Populator {
        env,
        options: &options,
        now: Utc::now(),
        progress: &progress,
    };
    let report = populator.run(&sources)?;
    drop(progress);
    let exit = report.exit();
    if args.json {
        print_json(&report, exit);
    } else {
        let shown = env.display_path(&env.config_path()?);
        print_human(&report, &shown, args.quiet);
    }
    Ok(exit)
}

/// The sign-ins to list: each `--sso-session`, the one of `-p`, or else every
/// `[sso-session]` of the config, in name order; each once.
fn sources(args: &PopulateArgs, env: &Environment) -> Result<Vec<Source>, Fatal> {
    let mut choices: Vec<SignInChoice> = args
        .sso_sessions
        .iter()
        .map(|name| SignInChoice {
            sso_session: Some(name.clone()),
            profile: None,
        })
        .collect();
    if let Some(profile) = &args.profile {
        choices.push(SignInChoice {
            sso_session: None,
            profile: Some(profile.clone()),
        });
    }
    if choices.is_empty() {
        let file = config::read(env)?;
        let mut names: Vec<String> = file
            .profile_set(FileKind::Config)
            .sso_sessions
            .into_keys()
            .collect();
        names.sort_unstable();
        if names.is_empty() {
            return Err(Fatal::Usage(format!(
                "{} has no [sso-session] to populate from; add one (`aws configure sso-session`), or name a legacy SSO profile with -p PROFILE",
                env.display_path(&env.config_path()?)
            )));
        }
        choices = names
            .into_iter()
            .map(|name| SignInChoice {
                sso_session: Some(name),
                profile: None,
            })
            .collect();
    }
    let mut sources: Vec<Source> = Vec::new();
    for choice in choices {
        let target = sign_in::resolve(&choice, env)?;
        if sources.iter().any(|s| s.sign_in == target.sign_in) {
            continue;
        }
        sources.push(Source {
            profile: choice
                .profile
                .unwrap_or_else(|| target.sign_in.cache_identifier().to_string()),
            sign_in: target.sign_in,
            label: target.label,
        });
    }
    Ok(sources)
}

fn status(change: &Change, dry: bool) -> &'static str {
    match (change, dry) {
        (Change::Added, false) => "added",
        (Change::Added, true) => "would add",
        (Change::Updated, false) => "updated",
        (Change::Updated, true) => "would update",
        (Change::Unchanged, _) => "unchanged",
        (Change::Stale, _) => "stale",
        (Change::Pruned, false) => "pruned",
        (Change::Pruned, true) => "would prune",
        (Change::Conflict(_), _) => "conflict",
    }
}

/// The status as JSON names it (the same in a dry run: `dry_run` says so).
fn json_status(change: &Change) -> &'static str {
    match change {
        Change::Added => "added",
        Change::Updated => "updated",
        Change::Unchanged => "unchanged",
        Change::Stale => "stale",
        Change::Pruned => "pruned",
        Change::Conflict(_) => "conflict",
    }
}

const STALE: &str = "populated before, but this run does not make it (its account or role is gone, or the template changed); --prune removes it";

fn print_human(report: &PopulateReport, config: &str, quiet: bool) {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    if !quiet {
        for w in &report.warnings {
            let _ = writeln!(err, "ssosync: warning: {w}");
        }
    }
    for f in &report.failures {
        let _ = writeln!(err, "ssosync: {}", f.message);
    }
    if let Some((before, after)) = &report.preview {
        let _ = out.write_all(redacted_diff_of("config", before, after).as_bytes());
    }
    if quiet {
        return;
    }
    let width = report
        .profiles
        .iter()
        .filter(|p| p.change != Change::Unchanged)
        .map(|p| status(&p.change, report.dry_run).len())
        .max()
        .unwrap_or(0);
    for p in report
        .profiles
        .iter()
        .filter(|p| p.change != Change::Unchanged)
    {
        let label = status(&p.change, report.dry_run);
        let why = match &p.change {
            Change::Conflict(why) => format!("  ({why})"),
            Change::Stale => format!("  ({STALE})"),
            _ => String::new(),
        };
        let _ = writeln!(out, "{label:width$}  {}{why}", p.name);
    }
    for s in &report.sources {
        let _ = writeln!(
            out,
            "{}: {} account(s), {} role(s){}",
            s.label,
            s.accounts,
            s.roles,
            if s.complete {
                ""
            } else {
                " (not all could be listed: see the errors)"
            }
        );
    }
    if report.sources.is_empty() {
        return;
    }
    let count = |f: fn(&Change) -> bool| report.profiles.iter().filter(|p| f(&p.change)).count();
    let mut tally = vec![
        format!("{} added", count(|c| *c == Change::Added)),
        format!("{} updated", count(|c| *c == Change::Updated)),
        format!("{} unchanged", count(|c| *c == Change::Unchanged)),
    ];
    let conflicts = count(|c| matches!(c, Change::Conflict(_)));
    if conflicts > 0 {
        tally.push(format!("{conflicts} conflict(s)"));
    }
    let stale = count(|c| *c == Change::Stale);
    if stale > 0 {
        tally.push(format!("{stale} stale"));
    }
    let pruned = count(|c| *c == Change::Pruned);
    if pruned > 0 {
        tally.push(format!("{pruned} pruned"));
    }
    let written = report
        .profiles
        .iter()
        .any(|p| matches!(p.change, Change::Added | Change::Updated | Change::Pruned));
    let what = match (report.dry_run, written) {
        (true, _) => "dry run: nothing written",
        (false, true) => "written",
        (false, false) => "nothing to write",
    };
    let _ = writeln!(out, "{config}: {} ({what})", tally.join(", "));
}

fn print_json(report: &PopulateReport, exit: Exit) {
    let profiles: Vec<Value> = report
        .profiles
        .iter()
        .map(|p| {
            let mut v = json!({
                "name": p.name,
                "account_id": p.account_id,
                "account_name": p.account_name,
                "role_name": p.role_name,
                "status": json_status(&p.change),
            });
            let message = match &p.change {
                Change::Conflict(why) => Some(why.as_str()),
                Change::Stale => Some(STALE),
                _ => None,
            };
            if let (Some(m), Some(fields)) = (message, v.as_object_mut()) {
                fields.insert("message".into(), Value::String(m.to_string()));
            }
            v
        })
        .collect();
    let sources: Vec<Value> = report
        .sources
        .iter()
        .map(|s| {
            json!({
                "sign_in": s.label,
                "accounts": s.accounts,
                "roles": s.roles,
                "requests": s.calls,
                "throttled": s.throttled,
                "complete": s.complete,
            })
        })
        .collect();
    let errors: Vec<Value> = report
        .failures
        .iter()
        .map(|f| json!({"kind": kind_name(f.kind), "message": f.message}))
        .collect();
    let mut doc = json!({
        "profiles": profiles,
        "sign_ins": sources,
        "errors": errors,
        "warnings": report.warnings,
        "dry_run": report.dry_run,
        "exit_code": exit.code(),
    });
    if let (Some((before, after)), Some(fields)) = (&report.preview, doc.as_object_mut()) {
        fields.insert(
            "diff".into(),
            Value::String(redacted_diff_of("config", before, after)),
        );
    }
    // A closed stdout (`| head`) is not worth a panic.
    let _ = writeln!(std::io::stdout().lock(), "{doc}");
}
