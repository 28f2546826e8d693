//! Properties of the profile-file model over generated inputs.

use std::collections::BTreeMap;

use proptest::prelude::*;
use ssosync::profile_file::ProfileFile;

use crate::common::{our_view_of, sdk_view_of};

/// Lines built from the pieces that matter to the parsers: headers, properties,
/// comments, continuations, odd spacing, `#`/`;` in values, CRLF and missing newlines.
fn line() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec![
        "dev",
        "prod",
        "default",
        " dev ",
        "profile dev",
        "a.b",
        "x y",
    ]);
    let key = prop::sample::select(vec![
        "aws_access_key_id",
        "AWS_Session_Token",
        "region",
        "note",
        "k",
    ]);
    let value = prop::sample::select(vec![
        "v",
        "",
        "a#b",
        "a #b",
        "a ;b",
        "C:\\tools\\x.exe",
        "é",
        "x=y",
    ]);
    let ws = prop::sample::select(vec!["", " ", "  ", "\t"]);
    prop_oneof![
        (name.clone(), ws.clone()).prop_map(|(n, w)| format!("[{n}]{w}")),
        name.prop_map(|n| format!("[{n}] # c")),
        (key, ws.clone(), value.clone(), ws.clone())
            .prop_map(|(k, a, v, b)| format!("{k}{a}={b}{v}")),
        prop::sample::select(vec!["# comment", "; comment", "", "   "]).prop_map(str::to_string),
        (ws, value).prop_map(|(w, v)| format!("{w}  cont = {v}")),
    ]
}

fn document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((line(), prop::sample::select(vec!["\n", "\r\n"])), 0..24),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, bom, final_newline)| {
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            for (l, eol) in &lines {
                text.push_str(l);
                text.push_str(eol);
            }
            if !final_newline && text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            text
        })
}

/// The keys the views compare.
const KEYS: [&str; 6] = [
    "aws_access_key_id",
    "aws_session_token",
    "region",
    "note",
    "k",
    "cont",
];

fn our_view(file: &ProfileFile) -> BTreeMap<String, BTreeMap<String, String>> {
    our_view_of(file, &KEYS)
}

/// Whether the SDK's merge order is defined for this text: `[dev]` and `[ dev ]`
/// both present merge in an unspecified order, so skip value comparisons there.
fn has_ambiguous_duplicates(text: &str) -> bool {
    text.contains("[ dev ]") && text.lines().any(|l| l.starts_with("[dev]"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("SSOSYNC_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn parse_then_render_is_the_identity(text in document()) {
        if let Ok(file) = ProfileFile::parse(&text) {
            prop_assert_eq!(file.render(), text);
        }
    }

    #[test]
    fn we_accept_exactly_what_the_sdk_accepts_and_read_the_same_values(text in document()) {
        let text = text.trim_start_matches('\u{feff}').to_string();
        let ours = ProfileFile::parse(&text);
        let sdk = sdk_view(&text);
        prop_assert_eq!(ours.is_ok(), sdk.is_some(), "disagree on accepting:\n{}", text);
        if let (Ok(file), Some(sdk)) = (ours, sdk)
            && !has_ambiguous_duplicates(&text)
        {
            prop_assert_eq!(our_view(&file), sdk, "\n{}", text);
        }
    }

    #[test]
    fn setting_a_key_changes_only_that_key(text in document(), value in "[A-Za-z0-9+/=]{1,20}") {
        let Ok(mut file) = ProfileFile::parse(&text) else { return Ok(()); };
        let before = our_view(&file);
        let existed = before.contains_key("dev");
        file.set("dev", "aws_session_token", &value);
        let rendered = file.render();
        let reparsed = ProfileFile::parse(&rendered).expect("our edit keeps the file parseable");
        let after = our_view(&reparsed);
        // Every other profile and key is exactly as before.
        for (name, props) in &before {
            for (k, v) in props {
                if !(name == "dev" && k == "aws_session_token") {
                    prop_assert_eq!(after.get(name).and_then(|p| p.get(k)), Some(v), "{} {}\n{}", name, k, rendered);
                }
            }
        }
        if existed || !text.contains("[dev]") {
            prop_assert_eq!(after.get("dev").and_then(|p| p.get("aws_session_token")), Some(&value), "\n{}", rendered);
        }
        // Lines outside the edit are kept: the original is a subsequence of the result
        // once the edited key's lines are removed from both.
        let strip = |t: &str| -> Vec<String> {
            t.trim_start_matches('\u{feff}').split_inclusive('\n').map(|l| l.trim_end_matches(['\n', '\r']).to_string())
                .filter(|l| !l.to_ascii_lowercase().replace([' ', '\t'], "").starts_with("aws_session_token="))
                .collect()
        };
        let (old, new) = (strip(&text), strip(&rendered));
        let mut it = new.iter();
        for l in &old {
            prop_assert!(l.starts_with([' ', '\t']) || it.any(|n| n == l), "lost line {:?}\n{}", l, rendered);
        }
    }
}

/// The SDK's view of a credentials file's text (BOM-free: the SDK rejects a BOM).
fn sdk_view(text: &str) -> Option<BTreeMap<String, BTreeMap<String, String>>> {
    sdk_view_of(text, &KEYS)
}
