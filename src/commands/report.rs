//! What a sync shows: one line per profile, a JSON report, or a redacted diff.

use std::io::Write;

use serde_json::{Value, json};

use crate::engine::{FailureKind, Outcome, SyncReport};
use crate::exit::Exit;
use crate::options::Style;
use crate::store::credentials::{ACCESS_KEY_ID, SECRET_KEYS};
use crate::timefmt::{describe_expiry, format_utc};

/// Prints `report` in `style`; its exit code.
pub fn show(report: &SyncReport, style: Style) -> Exit {
    let exit = report.exit();
    if style.json {
        print_json(report, exit);
    } else {
        print_human(report, style.quiet);
    }
    exit
}

/// Human output: results on stdout, failures and warnings on stderr.
pub fn print_human(report: &SyncReport, quiet: bool) {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    if !quiet {
        for w in &report.warnings {
            let _ = writeln!(err, "ssosync: warning: {w}");
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
    for r in &report.results {
        let name = label(&r.target.source, &r.target.target);
        let pad = width - name.chars().count();
        if quiet && !matches!(r.outcome, Outcome::Failed(_)) {
            // Not printed: no need to describe it (nor to read the local time zone).
            continue;
        }
        let line = match &r.outcome {
            Outcome::Fresh(t) => format!("fresh    until {}", describe_expiry(*t, report.now)),
            Outcome::Written(t) => format!("written  until {}", describe_expiry(*t, report.now)),
            Outcome::WouldWrite(t) => {
                format!("would write, until {}", describe_expiry(*t, report.now))
            }
            Outcome::WouldRefresh => "would refresh the SSO token, then write".to_string(),
            Outcome::NeedsNetwork => {
                "stale    needs the network (run without --no-network)".to_string()
            }
            Outcome::Fetched(t) => format!("fetched  until {}", describe_expiry(*t, report.now)),
            Outcome::Failed(f) => {
                let _ = writeln!(err, "ssosync: profile {name}: {}", f.message);
                continue;
            }
        };
        let _ = writeln!(out, "{name}{:pad$}  {line}", "");
    }
}

fn label(source: &str, target: &str) -> String {
    if source == target {
        source.to_string()
    } else {
        format!("{source} → {target}")
    }
}

pub fn print_json(report: &SyncReport, exit: Exit) {
    let profiles: Vec<Value> = report
        .results
        .iter()
        .map(|r| {
            let (status, expiration, error) = match &r.outcome {
                Outcome::Fresh(t) => ("fresh", Some(*t), None),
                Outcome::Written(t) => ("written", Some(*t), None),
                Outcome::WouldWrite(t) => ("would_write", Some(*t), None),
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
    println!("{doc}");
}

fn kind_name(kind: FailureKind) -> &'static str {
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
    let diff = similar::TextDiff::from_lines(before, after);
    let mut out = String::new();
    if before == after {
        return out;
    }
    out.push_str("--- credentials\n+++ credentials (after ssosync)\n");
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
                out.push(sign);
                out.push_str(&redact_line(text));
                out.push('\n');
            }
        }
    }
    out
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
    } else if name == ACCESS_KEY_ID && value.chars().count() > 4 {
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
    }
}
