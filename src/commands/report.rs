//! What a sync shows: one line per profile, a JSON report, or a redacted diff;
//! and what `watch` logs of each round. Failures that share one cause (the
//! profiles of one expired sign-in) are one line naming them all. Colours only
//! on a terminal, never with `NO_COLOR` ([`Paint`]).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::config::environment::Environment;
use crate::engine::outcome::{Failure, ProfileResult};
use crate::engine::{FailureKind, Outcome, SyncReport};
use crate::exit::Exit;
use crate::options::Style;
use crate::store::credentials::{ACCESS_KEY_ID, PLACEHOLDER, SECRET_KEYS};
use crate::timefmt::{describe_duration, describe_expiry, format_utc};

/// Colours for one output stream: on only when it is a terminal and `NO_COLOR`
/// is not set. Every coloured word ssosync prints goes through this.
#[derive(Clone, Copy, Debug)]
pub struct Paint {
    on: bool,
}

impl Paint {
    pub fn stdout(env: &Environment) -> Paint {
        Paint {
            on: !env.no_color() && std::io::stdout().is_terminal(),
        }
    }

    pub fn stderr(env: &Environment) -> Paint {
        Paint {
            on: !env.no_color() && std::io::stderr().is_terminal(),
        }
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn good(self, text: &str) -> String {
        self.wrap("32", text)
    }

    pub fn warn(self, text: &str) -> String {
        self.wrap("33", text)
    }

    pub fn bad(self, text: &str) -> String {
        self.wrap("31", text)
    }
}

/// Prints `report` in `style`; its exit code.
pub fn show(report: &SyncReport, style: Style, env: &Environment) -> Exit {
    let exit = report.exit();
    if style.json {
        print_json(report, exit);
    } else {
        print_human(report, style.quiet, Paint::stdout(env), Paint::stderr(env));
    }
    exit
}

/// Human output: results on stdout, failures and warnings on stderr.
fn print_human(report: &SyncReport, quiet: bool, out_paint: Paint, err_paint: Paint) {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    if !quiet {
        for w in &report.warnings {
            let _ = writeln!(err, "ssosync: {} {w}", err_paint.warn("warning:"));
        }
    }
    if let Some((before, after)) = &report.preview {
        let _ = out.write_all(redacted_diff(before, after).as_bytes());
    }
    let width = report
        .results
        .iter()
        .map(|r| label(&r.target.source, &r.target.target).chars().count())
        .max()
        .unwrap_or(0);
    let groups = failure_groups(&report.results);
    for (i, r) in report.results.iter().enumerate() {
        if let Outcome::Failed(_) = &r.outcome {
            // Said once, where the first profile of its group comes.
            if let Some(group) = groups.iter().find(|g| g.first == i) {
                let _ = writeln!(err, "ssosync: {}", group.line(err_paint));
            }
            continue;
        }
        if quiet {
            // Not printed: no need to describe it (nor to read the local time zone).
            continue;
        }
        let name = label(&r.target.source, &r.target.target);
        let pad = width - name.chars().count();
        let line = match &r.outcome {
            Outcome::Fresh(t) => format!(
                "{}    until {}",
                out_paint.good("fresh"),
                describe_expiry(*t, report.now)
            ),
            Outcome::Written(t) => format!(
                "{}  until {}",
                out_paint.good("written"),
                describe_expiry(*t, report.now)
            ),
            Outcome::WouldWrite => {
                format!("{} (fetched on a real run)", out_paint.warn("would write"))
            }
            Outcome::NeedsNetwork => format!(
                "{}    needs the network (run without --no-network)",
                out_paint.warn("stale")
            ),
            Outcome::WouldRefresh => format!(
                "{} the SSO token, then write",
                out_paint.warn("would refresh")
            ),
            Outcome::Fetched(t) => format!(
                "{}  until {}",
                out_paint.good("fetched"),
                describe_expiry(*t, report.now)
            ),
            Outcome::Failed(_) => continue,
        };
        let _ = writeln!(out, "{name}{:pad$}  {line}", "");
    }
}

/// Failed profiles that make one line: those of one sign-in that needs a login
/// share it; every other failure has a line of its own.
struct FailureGroup<'a> {
    /// Index of its first profile in the results.
    first: usize,
    names: Vec<String>,
    /// The message of a single profile; the shared cause of several.
    message: &'a str,
}

impl FailureGroup<'_> {
    fn line(&self, paint: Paint) -> String {
        let who = match self.names.as_slice() {
            [one] => format!("profile {one}:"),
            many => format!("profiles {}:", many.join(", ")),
        };
        format!("{} {}", paint.bad(&who), self.message)
    }
}

fn failure_groups<'a>(results: &'a [ProfileResult]) -> Vec<FailureGroup<'a>> {
    let mut groups: Vec<FailureGroup<'a>> = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let Outcome::Failed(f) = &r.outcome else {
            continue;
        };
        let name = label(&r.target.source, &r.target.target);
        let shared = groups.iter_mut().find(|g| {
            f.kind == FailureKind::Login
                && results
                    .get(g.first)
                    .is_some_and(|first| shares_cause(&first.outcome, f))
        });
        match shared {
            Some(group) => {
                group.names.push(name);
                group.message = f.cause();
            }
            None => groups.push(FailureGroup {
                first: i,
                names: vec![name],
                message: &f.message,
            }),
        }
    }
    groups
}

fn shares_cause(outcome: &Outcome, f: &Failure) -> bool {
    matches!(outcome, Outcome::Failed(g) if g.kind == FailureKind::Login && g.cause() == f.cause())
}

/// What `watch` says: human lines on stderr (`-q`: failures only), or with
/// `--json` one JSON object per event on stdout (JSON Lines), each flushed.
pub struct WatchLog {
    style: Style,
    paint: Paint,
}

impl WatchLog {
    pub fn new(style: Style, env: &Environment) -> Self {
        WatchLog {
            style,
            paint: Paint::stderr(env),
        }
    }

    pub fn started(&self, min_ttl: Duration) {
        self.event(
            false,
            json!({"event": "started", "min_ttl_seconds": min_ttl.as_secs()}),
            || {
                format!(
                    "watching; entries are rotated {} before they expire",
                    describe_duration(min_ttl)
                )
            },
        );
    }

    pub fn stopping(&self) {
        self.event(false, json!({"event": "stopped"}), || "stopping".into());
    }

    pub fn warning(&self, warning: &str) {
        self.event(
            false,
            json!({"event": "warning", "message": warning}),
            || format!("{} {warning}", self.paint.warn("warning:")),
        );
    }

    /// A round that failed as a whole (the config, a file).
    pub fn problem(&self, message: &str) {
        self.event(true, json!({"event": "error", "message": message}), || {
            self.paint.bad(message)
        });
    }

    pub fn rotated(&self, r: &ProfileResult, expiration: DateTime<Utc>, now: DateTime<Utc>) {
        self.event(
            false,
            json!({
                "event": "rotated",
                "profile": r.target.source,
                "target": r.target.target,
                "expiration": format_utc(expiration),
                "rotate_at": r.rotate_at.map(format_utc),
            }),
            || {
                format!(
                    "{}: {}, valid until {}",
                    r.target.target,
                    self.paint.good("rotated"),
                    describe_expiry(expiration, now)
                )
            },
        );
    }

    pub fn recovered(&self, r: &ProfileResult) {
        self.event(
            false,
            json!({"event": "recovered", "profile": r.target.source, "target": r.target.target}),
            || format!("{}: {}", r.target.target, self.paint.good("recovered")),
        );
    }

    /// Profiles that failed, or fail differently, this round: one line per
    /// cause, as for a sync (one JSON event per profile).
    pub fn failed(&self, results: &[ProfileResult]) {
        if self.style.json {
            for r in results {
                if let Outcome::Failed(f) = &r.outcome {
                    self.event(
                        true,
                        json!({
                            "event": "failed",
                            "profile": r.target.source,
                            "target": r.target.target,
                            "error": {"kind": kind_name(f.kind), "message": f.message},
                        }),
                        String::new,
                    );
                }
            }
            return;
        }
        for group in failure_groups(results) {
            let login = results.get(group.first).is_some_and(
                |r| matches!(&r.outcome, Outcome::Failed(f) if f.kind == FailureKind::Login),
            );
            let wait = if login { " (waiting for a login)" } else { "" };
            self.event(true, Value::Null, || {
                format!("{}{wait}", group.line(self.paint))
            });
        }
    }

    /// Says one event: an error always, anything else unless `-q`.
    fn event(&self, error: bool, mut doc: Value, line: impl FnOnce() -> String) {
        if self.style.quiet && !error {
            return;
        }
        let now = format_utc(Utc::now());
        if self.style.json {
            if let Some(fields) = doc.as_object_mut() {
                fields.insert("time".into(), Value::String(now));
            }
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{doc}").and_then(|()| out.flush());
        } else {
            eprintln!("{now} ssosync: {}", line());
        }
    }
}

fn label(source: &str, target: &str) -> String {
    if source == target {
        source.to_string()
    } else {
        format!("{source} → {target}")
    }
}

fn print_json(report: &SyncReport, exit: Exit) {
    let profiles: Vec<Value> = report
        .results
        .iter()
        .map(|r| {
            let (status, expiration, error) = match &r.outcome {
                Outcome::Fresh(t) => ("fresh", Some(*t), None),
                Outcome::Written(t) => ("written", Some(*t), None),
                Outcome::WouldWrite => ("would_write", None, None),
                Outcome::WouldRefresh => ("would_refresh", None, None),
                Outcome::NeedsNetwork => ("needs_network", None, None),
                Outcome::Fetched(t) => ("fetched", Some(*t), None),
                Outcome::Failed(f) => ("failed", None, Some(f)),
            };
            json!({
                "profile": r.target.source,
                "target": r.target.target,
                "status": status,
                "expiration": expiration.map(format_utc),
                "error": error.map(|f| json!({"kind": kind_name(f.kind), "message": f.message})),
            })
        })
        .collect();
    let mut doc = json!({
        "profiles": profiles,
        "warnings": report.warnings,
        "exit_code": exit.code(),
    });
    if let (Some((before, after)), Some(fields)) = (&report.preview, doc.as_object_mut()) {
        fields.insert("diff".into(), Value::String(redacted_diff(before, after)));
    }
    let _ = writeln!(std::io::stdout(), "{doc}");
}

pub fn kind_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Login => "login_required",
        FailureKind::Config => "config",
        FailureKind::NoAccess => "no_access",
        FailureKind::Protected => "long_term_keys",
        FailureKind::Portal => "portal",
    }
}

/// A unified diff of the credentials file with every secret value hidden.
pub fn redacted_diff(before: &str, after: &str) -> String {
    redacted_diff_of("credentials", before, after)
}

/// [`redacted_diff`] of the file `label` names (`credentials`, `config`).
pub fn redacted_diff_of(label: &str, before: &str, after: &str) -> String {
    let diff = similar::TextDiff::from_lines(before, after);
    let mut out = String::new();
    if before == after {
        return out;
    }
    out.push_str(&format!("--- {label}\n+++ {label} (after ssosync)\n"));
    let (old_secret, new_secret) = (secret_continuations(before), secret_continuations(after));
    for group in diff.grouped_ops(3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old = first.old_range().start..last.old_range().end;
        let new = first.new_range().start..last.new_range().end;
        out.push_str(&format!(
            "@@ -{},{} +{},{} @@\n",
            old.start + 1,
            old.len(),
            new.start + 1,
            new.len()
        ));
        for op in &group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                let text = change.value().trim_end_matches(['\n', '\r']);
                let continues_a_secret = match (change.old_index(), change.new_index()) {
                    (Some(i), _) if change.tag() != similar::ChangeTag::Insert => {
                        old_secret.get(i).copied().unwrap_or(false)
                    }
                    (_, Some(i)) => new_secret.get(i).copied().unwrap_or(false),
                    _ => false,
                };
                out.push(sign);
                if continues_a_secret {
                    let indent = text.len() - text.trim_start().len();
                    out.push_str(text.get(..indent).unwrap_or_default());
                    out.push_str("<redacted>");
                } else {
                    out.push_str(&redact_line(text));
                }
                out.push('\n');
            }
        }
    }
    out
}

/// Per line of `text`: whether it continues the value of a secret key (an
/// indented line after `aws_secret_access_key = …`, as the SDKs read it), so the
/// diff hides it too.
fn secret_continuations(text: &str) -> Vec<bool> {
    let mut in_secret = false;
    text.lines()
        .map(|line| {
            let indented = line.starts_with([' ', '\t']);
            if indented && !line.trim().is_empty() {
                return in_secret;
            }
            if !indented {
                in_secret = line.split_once('=').is_some_and(|(key, _)| {
                    SECRET_KEYS.contains(&key.trim().to_ascii_lowercase().as_str())
                });
            }
            false
        })
        .collect()
}

/// `aws_secret_access_key = abc` → `aws_secret_access_key = <redacted>`; access key
/// ids keep their last four characters, as `aws configure list` shows them. The
/// line's own spacing and any trailing comment are kept.
pub fn redact_line(line: &str) -> String {
    let Some(eq) = line.find('=') else {
        return line.to_string();
    };
    let name = line[..eq].trim().to_ascii_lowercase();
    let rest = &line[eq + 1..];
    let start = eq + 1 + (rest.len() - rest.trim_start().len());
    let end = line[start..]
        .find(char::is_whitespace)
        .map_or(line.len(), |i| start + i);
    let value = &line[start..end];
    let shown = if value.is_empty() {
        return line.to_string();
    } else if SECRET_KEYS.contains(&name.as_str()) {
        "<redacted>".to_string()
    } else if name == ACCESS_KEY_ID && value != PLACEHOLDER && value.chars().count() > 4 {
        let tail: String = value.chars().skip(value.chars().count() - 4).collect();
        format!("****************{tail}")
    } else {
        return line.to_string();
    };
    format!("{}{shown}{}", &line[..start], &line[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_hides_secrets_but_shows_change() {
        let before = "# keep\n[a]\naws_secret_access_key = OLDSECRET\nx = 1\n";
        let after = "# keep\n[a]\naws_secret_access_key = NEWSECRET\nx = 1\naws_access_key_id = ASIAABCDWXYZ\n";
        let d = redacted_diff(before, after);
        assert!(!d.contains("SECRET"), "{d}");
        assert!(!d.contains("ASIAABCD"), "{d}");
        assert!(d.contains("-aws_secret_access_key = <redacted>"), "{d}");
        assert!(
            d.contains("+aws_access_key_id = ****************WXYZ"),
            "{d}"
        );
        assert!(d.contains(" # keep"), "{d}");
        assert_eq!(redacted_diff(before, before), "");
        assert_eq!(
            redact_line("AWS_Session_Token=abc  # c"),
            "AWS_Session_Token=<redacted>  # c"
        );
        assert_eq!(redact_line("note = abc"), "note = abc");
        // A secret's continuation lines are hidden too.
        let before = "[a]\naws_secret_access_key = abc\n    CONTINUEDSECRET\nx = 1\n    shown\n";
        let d = redacted_diff(before, "[a]\nx = 1\n    shown\n");
        assert!(!d.contains("CONTINUEDSECRET"), "{d}");
        assert!(
            d.contains("-    <redacted>") && d.contains("     shown"),
            "{d}"
        );
    }
}
