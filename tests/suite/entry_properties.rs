//! Properties of credentials-entry edits through the public `ProfileFile` API:
//! random credentials files, random sequences of `set` / `remove` /
//! `append_section` and of whole-entry writes (the five keys ssosync writes,
//! in place when the profile exists, else appended, as `credentials.rs` does).
//!
//! After every step: the text still parses (ours and the SDK's), both parsers
//! read exactly the model (the previous view with only that edit applied), no
//! line outside the edit is lost or reordered, CRLF files stay CRLF, and
//! writing the same entry twice changes nothing the second time.
//!
//! Case count: `SSOSYNC_PROPTEST_CASES` (default 512), as in properties.rs.

use std::collections::BTreeMap;

use proptest::prelude::*;
use ssosync::profile_file::{FileKind, ProfileFile};

use crate::common::{our_view_of, sdk_view_of};

const NAMES: [&str; 5] = ["dev", "prod", "default", "a.b", "new"];
const KEYS: [&str; 8] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "aws_credential_expiration",
    "region",
    "note",
    "k",
];
const ENTRY_KEYS: [&str; 5] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "aws_credential_expiration",
];

type View = BTreeMap<String, BTreeMap<String, String>>;

fn line() -> impl Strategy<Value = String> {
    let header = prop::sample::select(vec![
        "[dev]",
        "[prod]",
        "[default]",
        "[ dev ]",
        "[\tprod]",
        "[profile dev]",
        "[a.b]",
        "[x y]",
        "[dev] # a comment",
        "[prod];c",
    ]);
    let key = prop::sample::select(vec![
        "aws_access_key_id",
        "AWS_Secret_Access_Key",
        "aws_session_token",
        "aws_security_token",
        "aws_credential_expiration",
        "region",
        "note",
        "k",
    ]);
    let value = prop::sample::select(vec![
        "ASIAOLD",
        "",
        "old#x",
        "old # comment",
        "v ;c",
        "C:\\tmp\\x",
        "é",
        "a=b",
        "2020-01-01T00:00:00Z",
    ]);
    let ws = prop::sample::select(vec!["", " ", "\t"]);
    prop_oneof![
        3 => header.prop_map(str::to_string),
        6 => (key, ws.clone(), ws.clone(), value.clone())
            .prop_map(|(k, a, b, v)| format!("{k}{a}={b}{v}")),
        2 => prop::sample::select(vec!["# comment", "; comment", "", "  ", "#"]).prop_map(str::to_string),
        1 => (ws, value).prop_map(|(w, v)| format!("{w}  sub = {v}")),
    ]
}

fn document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(line(), 0..20),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, final_newline, bom)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            for l in &lines {
                text.push_str(l);
                text.push_str(eol);
            }
            if !final_newline && !lines.is_empty() {
                text.truncate(text.len() - eol.len());
            }
            text
        })
}

/// Values as ssosync writes them: visible ASCII, never starting with a comment
/// character (after `= ` that would start a comment).
fn stored_value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/=][A-Za-z0-9+/=#;\\[\\]:.-]{0,30}"
}

#[derive(Clone, Debug)]
enum Op {
    Set(&'static str, &'static str, String),
    Remove(&'static str, &'static str),
    Append(&'static str, Vec<(&'static str, String)>),
    WriteEntry(&'static str, Vec<String>),
}

fn op() -> impl Strategy<Value = Op> {
    let name = prop::sample::select(NAMES.to_vec());
    let key = prop::sample::select(KEYS.to_vec());
    prop_oneof![
        3 => (name.clone(), key.clone(), stored_value()).prop_map(|(n, k, v)| Op::Set(n, k, v)),
        1 => (name.clone(), key.clone()).prop_map(|(n, k)| Op::Remove(n, k)),
        1 => (name.clone(), prop::collection::vec((key, stored_value()), 0..4))
            .prop_map(|(n, e)| Op::Append(n, e)),
        3 => (name, prop::collection::vec(stored_value(), 5)).prop_map(|(n, v)| Op::WriteEntry(n, v)),
    ]
}

fn our_view(file: &ProfileFile) -> View {
    our_view_of(file, &KEYS)
}

/// `[dev]` and `[ dev ]` (or `[\tprod]`) both present: the Rust SDK merges them
/// in an unspecified order, so its values cannot be compared there.
fn ambiguous(text: &str) -> bool {
    let headers: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start_matches('\u{feff}').strip_prefix('['))
        .filter_map(|l| l.split(['#', ';']).next()?.trim_end().strip_suffix(']'))
        .collect();
    NAMES.iter().any(|n| {
        let spellings: std::collections::BTreeSet<&&str> =
            headers.iter().filter(|h| h.trim() == *n).collect();
        spellings.len() > 1
    })
}

/// Applies `op` to the document and to the model.
fn apply(file: &mut ProfileFile, model: &mut View, op: &Op) {
    match op {
        Op::Set(name, key, value) => {
            file.set(name, key, value);
            model
                .entry(name.to_string())
                .or_default()
                .insert(key.to_string(), value.clone());
        }
        Op::Remove(name, key) => {
            file.remove(name, key);
            if let Some(p) = model.get_mut(*name) {
                p.remove(*key);
            }
        }
        Op::Append(name, entries) => {
            let borrowed: Vec<(&str, &str)> =
                entries.iter().map(|(k, v)| (*k, v.as_str())).collect();
            file.append_section(name, &borrowed);
            let p = model.entry(name.to_string()).or_default();
            for (k, v) in entries {
                p.insert(k.to_string(), v.clone());
            }
        }
        Op::WriteEntry(name, values) => {
            let entries: Vec<(&str, &str)> = ENTRY_KEYS
                .iter()
                .copied()
                .zip(values.iter().map(String::as_str))
                .collect();
            if file
                .profile_set(FileKind::Credentials)
                .profiles
                .contains_key(*name)
            {
                for (k, v) in &entries {
                    file.set(name, k, v);
                }
            } else {
                file.append_section(name, &entries);
            }
            let p = model.entry(name.to_string()).or_default();
            for (k, v) in entries {
                p.insert(k.to_string(), v.to_string());
            }
        }
    }
}

/// The keys an op may legitimately drop or change lines of.
fn touched_keys(op: &Op) -> Vec<&'static str> {
    match op {
        Op::Set(_, k, _) | Op::Remove(_, k) => vec![k],
        Op::Append(..) => vec![],
        Op::WriteEntry(..) => ENTRY_KEYS.to_vec(),
    }
}

fn lines_of(text: &str) -> Vec<&str> {
    text.trim_start_matches('\u{feff}')
        .split_inclusive('\n')
        .map(|l| l.trim_end_matches(['\n', '\r']))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        // The second property keeps only files where the key exists: many rejects.
        max_global_rejects: 1 << 24,
        ..ProptestConfig::with_cases(
            std::env::var("SSOSYNC_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
        )
    })]

    #[test]
    fn entry_edits_change_exactly_what_they_say(
        text in document(),
        ops in prop::collection::vec(op(), 1..6),
    ) {
        let Ok(mut file) = ProfileFile::parse(&text) else { return Ok(()); };
        let mut model = our_view(&file);
        let mut before = text.clone();
        for op in &ops {
            apply(&mut file, &mut model, op);
            let after = file.render();
            let reparsed = ProfileFile::parse(&after)
                .map_err(|e| TestCaseError::fail(format!("{op:?} broke the file ({e}):\n{after}")))?;
            prop_assert_eq!(&our_view(&reparsed), &model, "{:?}\n--- before\n{}\n--- after\n{}", op, before, after);
            prop_assert_eq!(reparsed.render(), after.clone());
            // What the sync writes (streamed) and how it tells an edit happened.
            let mut streamed = Vec::new();
            file.write_to(&mut streamed).unwrap();
            prop_assert_eq!(&streamed, after.as_bytes());
            prop_assert!(file.renders_as(&after));
            prop_assert_eq!(file.renders_as(&before), before == after);
            prop_assert_eq!(file.renders_as(file.text_as_parsed()), text == after);
            let longer = format!("{after} ");
            prop_assert!(!file.renders_as(&longer));
            if !after.starts_with('\u{feff}') {
                let sdk = sdk_view(&after);
                prop_assert!(sdk.is_some(), "the SDK rejects the result of {:?}:\n{}", op, after);
                if !ambiguous(&after) {
                    prop_assert_eq!(sdk.unwrap(), model.clone(), "{:?}\n{}", op, after);
                }
            }
            // A file whose line breaks are all CRLF keeps them all CRLF (judged
            // before each edit: removing a file's only line break leaves no trace).
            let all_crlf = before.contains('\n') && !before.replace("\r\n", "").contains('\n');
            if all_crlf {
                prop_assert!(!after.replace("\r\n", "").contains('\n'), "{:?} mixed line endings:\n{:?}", op, after);
            }
            // Every line that is not a line of a touched key (or indented: a
            // continuation the edit may drop) survives, in order.
            let touched = touched_keys(op);
            let mut rest = lines_of(&after).into_iter();
            for l in lines_of(&before) {
                let key = l.split('=').next().unwrap_or("").trim().to_ascii_lowercase();
                if l.starts_with([' ', '\t']) || (l.contains('=') && touched.contains(&key.as_str())) {
                    continue;
                }
                prop_assert!(rest.any(|n| n == l), "{:?} lost {:?}\n--- before\n{}\n--- after\n{}", op, l, before, after);
            }
            before = after;
        }
        // Writing the last entry again is a no-op.
        if let Some(last @ Op::WriteEntry(..)) = ops.last() {
            let mut again = file.clone();
            let mut m = model.clone();
            apply(&mut again, &mut m, last);
            prop_assert_eq!(again.render(), file.render(), "a repeated write changed the file");
        }
    }

    #[test]
    fn replacing_a_value_keeps_the_final_newline_state_and_the_line_count(
        text in document(),
        name in prop::sample::select(NAMES.to_vec()),
        key in prop::sample::select(KEYS.to_vec()),
        value in stored_value(),
    ) {
        let Ok(mut file) = ProfileFile::parse(&text) else { return Ok(()); };
        let exists = file.profile_set(FileKind::Credentials).profiles.get(name).is_some_and(|p| p.get(key).is_some());
        // Padded look-alikes (`[ dev ]`) get the key moved to the exact header.
        let padded = file.sections().any(|s| s.header_text() != name && s.header_text().trim() == name);
        let exact = file.sections().any(|s| s.header_text() == name && s.get(key).is_some());
        // Only a key set on one plain line (no continuation lines to drop).
        prop_assume!(exists && exact && !padded && !text.lines().any(|l| l.starts_with([' ', '\t'])));
        file.set(name, key, &value);
        let after = file.render();
        prop_assert_eq!(after.ends_with('\n'), text.ends_with('\n') || text.is_empty());
        // The only line that may appear is the replaced line's trailing comment,
        // moved onto its own line (botocore would read it as part of the value).
        let comments = |t: &str| t.lines().filter(|l| l.starts_with(['#', ';'])).count();
        let grew = after.lines().count() - text.lines().count();
        prop_assert!(grew <= 1, "\n{}\n---\n{}", text, after);
        prop_assert_eq!(comments(&after), comments(&text) + grew, "\n{}\n---\n{}", text, after);
    }
}

/// Found by `properties::setting_a_key_changes_only_that_key` at 100 000 cases
/// (seed saved by proptest as `text = "[dev]\n[dev]\nAWS_Session_Token=v\n\n  cont = v"`).
#[test]
fn replacing_a_value_keeps_the_blank_line_before_a_final_continuation() {
    let text = "[dev]\naws_session_token = old\n\n  more = v";
    let mut file = ProfileFile::parse(text).unwrap();
    file.set("dev", "aws_session_token", "new");
    // The continuation belongs to the replaced value and goes; the blank line
    // is the user's and stays.
    assert_eq!(file.render(), "[dev]\naws_session_token = new\n\n");
}

/// The same root cause, reached by the move to the exact header (a417fb2): found
/// by `properties::setting_a_key_changes_only_that_key` at 100 000 cases.
#[test]
fn moving_a_key_to_the_exact_header_keeps_the_blank_line_before_it() {
    let text = "[dev]\n[ dev ] # c\n\nAWS_Session_Token=v";
    let mut file = ProfileFile::parse(text).unwrap();
    file.set("dev", "aws_session_token", "new");
    let after = file.render();
    assert!(
        after.contains("[ dev ] # c\n\n"),
        "the blank line is gone: {after:?}"
    );
}

/// Found by a libFuzzer run (see RELIABILITY.md), minimized to 12 bytes.
#[test]
fn appending_after_a_final_bare_carriage_return_keeps_the_value_before_it() {
    let text = "[s]\nregion = us-east-1\r";
    let mut file = ProfileFile::parse(text).unwrap();
    let before = file.profile_set(FileKind::Credentials).profiles["s"]
        .get("region")
        .map(str::to_string);
    // Both parsers read the `\r` as part of the value (it is not a line ending).
    assert_eq!(before.as_deref(), Some("us-east-1\r"));
    assert_eq!(sdk_view(text).unwrap()["s"]["region"], "us-east-1\r");
    file.append_section("dev", &[("aws_access_key_id", "ASIANEW")]);
    let after = file.render();
    let reparsed = ProfileFile::parse(&after).unwrap();
    assert_eq!(
        reparsed.profile_set(FileKind::Credentials).profiles["s"].get("region"),
        before.as_deref(),
        "{after:?}"
    );
}

/// The same last line, when a key is added to its own section (a line inserted
/// after it rather than a section appended).
#[test]
fn inserting_after_a_final_bare_carriage_return_keeps_the_value_before_it() {
    let text = "[s]\nregion = us-east-1\r";
    let mut file = ProfileFile::parse(text).unwrap();
    file.set("s", "aws_access_key_id", "ASIANEW");
    let after = file.render();
    let reparsed = ProfileFile::parse(&after).unwrap();
    let set = reparsed.profile_set(FileKind::Credentials);
    assert_eq!(
        set.profiles["s"].get("region"),
        Some("us-east-1\r"),
        "{after:?}"
    );
    assert_eq!(set.profiles["s"].get("aws_access_key_id"), Some("ASIANEW"));
    assert_eq!(sdk_view(&after).unwrap()["s"]["region"], "us-east-1\r");
    // No final newline before, none after.
    assert!(!after.ends_with('\n'), "{after:?}");
}

fn sdk_view(text: &str) -> Option<View> {
    sdk_view_of(text, &KEYS)
}
