//! The editor's unit tests: each edit touches only its lines, keeps every other
//! byte, and reads back as the SDKs would read it.

use super::*;
use crate::config::profile_file::FileKind;

#[test]
fn replaces_values_in_place_keeping_format() {
    let mut file =
        ProfileFile::parse("[a]\r\nAWS_Access_Key_Id=OLD # note\r\nother = 1\r\n").unwrap();
    file.set("a", "aws_access_key_id", "NEW");
    assert_eq!(
        file.render(),
        "[a]\r\n# note\r\nAWS_Access_Key_Id=NEW\r\nother = 1\r\n"
    );
}

#[test]
fn appends_missing_keys_after_the_last_property() {
    let mut file = ProfileFile::parse("[a]\nk = v\n\n# about b\n[b]\nx = 1").unwrap();
    file.set("a", "new", "1");
    file.set("b", "new", "2");
    assert_eq!(
        file.render(),
        "[a]\nk = v\nnew = 1\n\n# about b\n[b]\nx = 1\nnew = 2"
    );
}

#[test]
fn added_keys_are_spaced_like_the_key_they_follow() {
    let mut file =
        ProfileFile::parse("[a]\nk=v\n[b]\nk\t=  v\n[c]\nk =\n[d]\nK = v\nj=\n").unwrap();
    for section in ["a", "b", "c", "d"] {
        file.set(section, "new", "1");
    }
    assert_eq!(
        file.render(),
        "[a]\nk=v\nnew=1\n[b]\nk\t=  v\nnew\t=  1\n[c]\nk =\nnew = 1\n[d]\nK = v\nj=\nnew = 1\n"
    );
    // The inserted line reads back as that key and value.
    let set = file.profile_set(FileKind::Credentials);
    assert_eq!(set.profiles["b"].get("new"), Some("1"));
    assert_eq!(set.profiles["a"].get("new"), Some("1"));
}

#[test]
fn appends_new_sections_with_one_blank_line() {
    let mut file = ProfileFile::parse("[a]\nk = v").unwrap();
    file.append_section("b", &[("x", "1")]);
    assert_eq!(file.render(), "[a]\nk = v\n\n[b]\nx = 1\n");

    let mut file = ProfileFile::parse("[a]\nk = v\n\n").unwrap();
    file.append_section("b", &[("x", "1")]);
    assert_eq!(file.render(), "[a]\nk = v\n\n[b]\nx = 1\n");

    // A new file takes the platform's line ending; an existing one keeps its own.
    let mut file = ProfileFile::empty();
    file.append_section("b", &[("x", "1")]);
    let nl = if cfg!(windows) { "\r\n" } else { "\n" };
    assert_eq!(file.render(), format!("[b]{nl}x = 1{nl}"));
    let mut file = ProfileFile::parse("[a]").unwrap();
    file.append_section("b", &[("x", "1")]);
    assert_eq!(file.render(), format!("[a]{nl}{nl}[b]{nl}x = 1{nl}"));
    for nl in ["\n", "\r\n"] {
        let mut file = ProfileFile::parse(&format!("[a]{nl}k = v")).unwrap();
        file.append_section("b", &[("x", "1")]);
        assert_eq!(
            file.render(),
            format!("[a]{nl}k = v{nl}{nl}[b]{nl}x = 1{nl}")
        );
    }

    // A new file takes the platform's line ending.
    let native = if cfg!(windows) { "\r\n" } else { "\n" };
    let mut file = ProfileFile::empty();
    file.append_section("b", &[("x", "1")]);
    assert_eq!(file.render(), format!("[b]{native}x = 1{native}"));
}

#[test]
fn edits_the_last_duplicate_section() {
    let mut file = ProfileFile::parse("[a]\nk = 1\n[b]\n[a]\nj = 2\n").unwrap();
    file.set("a", "k", "9");
    assert_eq!(file.render(), "[a]\nk = 9\n[b]\n[a]\nj = 2\n");
    let mut file = ProfileFile::parse("[a]\nk = 1\n[b]\n[a]\nj = 2\n").unwrap();
    file.set("a", "new", "3");
    assert_eq!(file.render(), "[a]\nk = 1\n[b]\n[a]\nj = 2\nnew = 3\n");
}

#[test]
fn writes_under_the_exact_header_and_clears_padded_look_alikes() {
    let mut file = ProfileFile::parse("[ a ]\nk = 1\nj = 2\n").unwrap();
    file.set("a", "k", "9");
    assert_eq!(file.render(), "[ a ]\nj = 2\n\n[a]\nk = 9\n");
}

#[test]
fn replacing_drops_continuation_lines_and_fills_empty_values() {
    let mut file =
        ProfileFile::parse("[a]\nk =\n  x = 1\n# kept\n  y = 2\nz=\nc = #note\n").unwrap();
    file.set("a", "k", "v");
    file.set("a", "z", "w");
    file.set("a", "c", "x");
    assert_eq!(file.render(), "[a]\nk = v\n# kept\nz= w\n#note\nc = x\n");
}

#[test]
fn finds_sections_by_name_after_edits_move_them() {
    let mut file =
        ProfileFile::parse("[a]\nk = 1\n[b]\nk = 2\n[ b ]\nx = 1\n[c]\nk = 3\n").unwrap();
    // Build the index, then insert lines before [b] and [c] and remove one after.
    assert_eq!(file.profile_sections(FileKind::Credentials, "c").count(), 1);
    file.set("a", "new", "1");
    file.set("a", "other", "2");
    file.remove("b", "x");
    file.append_section("d", &[("k", "4")]);
    file.set("c", "k", "9");
    file.set("d", "j", "5");
    assert_eq!(
        file.render(),
        "[a]\nk = 1\nnew = 1\nother = 2\n[b]\nk = 2\n[ b ]\n[c]\nk = 9\n\n[d]\nk = 4\nj = 5\n"
    );
    let lines = |name| {
        file.profile_sections(FileKind::Credentials, name)
            .map(|s| s.line_number())
            .collect::<Vec<_>>()
    };
    assert_eq!(lines("b"), [5, 7]);
    assert_eq!(lines("c"), [8]);
    assert_eq!(lines("d"), [11]);
    assert_eq!(lines("e"), Vec::<usize>::new());
}

#[test]
fn removes_sections_the_removed_keys_left_blank() {
    let cases = [
        // Appended at the end: goes with the blank line before it.
        ("[a]\nk = v\n\n[dev]\nx = 1\ny = 2\n", "[a]\nk = v\n"),
        ("[a]\r\nk = v\r\n\r\n[dev]\r\nx = 1\r\n", "[a]\r\nk = v\r\n"),
        ("[a]\nk = v\n\n[dev]\nx = 1", "[a]\nk = v"),
        // Between sections: the blank lines that separate the others stay.
        (
            "[a]\nk = v\n\n[dev]\nx = 1\n\n[b]\nj = 2\n",
            "[a]\nk = v\n\n[b]\nj = 2\n",
        ),
        ("[dev]\nx = 1\n[b]\nj = 2\n", "[b]\nj = 2\n"),
        ("[dev]\nx = 1\n", ""),
        // Duplicates and look-alikes that held the keys go; others stay.
        ("[dev]\nx = 1\n[a]\nk = 1\n[ dev ]\ny = 2\n", "[a]\nk = 1\n"),
        ("[dev]\n[a]\nk = 1\n[dev]\nx = 1\n", "[dev]\n[a]\nk = 1\n"),
        // Anything else in the section keeps it: a key, a comment, a header comment.
        ("[dev]\nx = 1\nregion = r\n", "[dev]\nregion = r\n"),
        ("[dev]\n# mine\nx = 1\n", "[dev]\n# mine\n"),
        ("[dev] ; mine\nx = 1\n", "[dev] ; mine\n"),
        // Nothing to remove: nothing changes.
        ("[a]\nk = v\n\n[dev]\n", "[a]\nk = v\n\n[dev]\n"),
    ];
    for (before, after) in cases {
        let mut file = ProfileFile::parse(before).unwrap();
        // Build the index first: removal must keep lookups right.
        assert!(file.profile_sections(FileKind::Credentials, "a").count() <= 1);
        let removed = file.remove_keys("dev", &["x", "y"]);
        assert_eq!(file.render(), after, "{before:?}");
        assert_eq!(removed, before.contains("x = 1"), "{before:?}");
        let reparsed = ProfileFile::parse(&file.render()).unwrap();
        for name in ["a", "b", "dev"] {
            let lines = |f: &ProfileFile| {
                f.profile_sections(FileKind::Credentials, name)
                    .map(|s| s.line_number())
                    .collect::<Vec<_>>()
            };
            assert_eq!(lines(&file), lines(&reparsed), "{before:?}: [{name}]");
        }
        // Still editable where the index says.
        file.set("a", "k", "9");
        assert!(
            file.render().contains("k = 9") || !before.contains("[a]"),
            "{before:?}"
        );
    }
}

#[test]
fn removes_keys_keeping_a_missing_final_newline() {
    let mut file = ProfileFile::parse("[a]\nk = 1\nj = 2").unwrap();
    file.remove("a", "j");
    assert_eq!(file.render(), "[a]\nk = 1");
}

fn numbers(file: &ProfileFile, name: &str) -> Vec<usize> {
    file.profile_section_numbers(FileKind::Config)
        .remove(name)
        .unwrap_or_default()
}

#[test]
fn sets_keys_in_a_config_profile_by_its_sections() {
    let text = "[profile  a ]\r\nk = 1 # old\r\n[profile b]\r\nx = 1\r\n\r\n# about c\r\n[profile a]\r\nj = 2\r\n";
    let mut file = ProfileFile::parse(text).unwrap();
    let a = numbers(&file, "a");
    assert_eq!(a, [0, 2]);
    file.set_in(&a, "k", "9");
    file.set_in(&a, "new", "3");
    file.set_in(&numbers(&file, "b"), "y", "2");
    assert_eq!(
        file.render(),
        "[profile  a ]\r\n# old\r\nk = 9\r\n[profile b]\r\nx = 1\r\ny = 2\r\n\r\n# about c\r\n[profile a]\r\nj = 2\r\nnew = 3\r\n"
    );
    // The numbers still name the same sections.
    assert_eq!(numbers(&file, "a"), a);
    // `[default]` is shadowed by `[profile default]`, as the SDKs shadow it.
    let file = ProfileFile::parse("[default]\nk = 1\n[profile default]\nk = 2\n").unwrap();
    assert_eq!(numbers(&file, "default"), [1]);
}

#[test]
fn removing_an_appended_section_gives_back_the_file() {
    for text in [
        "",
        "[profile a]\nk = 1\n",
        "# top\n[profile a]\nk = 1\n\n# about b\n[profile b]\nx = 1\n",
        "[default]\r\nregion = eu-west-1\r\n",
        "[profile a]\nk = 1\n\n\n",
    ] {
        let mut file = ProfileFile::parse(text).unwrap();
        file.append_section("profile new", &[("sso_session", "corp"), ("x", "1")]);
        file.append_section("profile newer", &[("y", "2")]);
        let appended = file.render();
        // Last first, as a plan removes them.
        let newer = numbers(&file, "newer");
        file.remove_section(newer[0]);
        let new = numbers(&file, "new");
        assert_eq!(new.len(), 1, "{appended:?}");
        file.remove_section(new[0]);
        assert_eq!(
            file.render(),
            text,
            "after appending to {text:?}: {appended:?}"
        );
    }
}

#[test]
fn removes_a_section_keeping_what_is_about_its_neighbours() {
    let cases = [
        // The blank line before it goes; the comment about the next stays.
        (
            "[profile a]\nk = 1\n\n[profile x]\n# mine\nx = 1\n  cont\n\n# about b\n[profile b]\n",
            "[profile a]\nk = 1\n\n# about b\n[profile b]\n",
        ),
        // First in the file: the blank line after it goes.
        ("[profile x]\nx = 1\n\n[profile b]\n", "[profile b]\n"),
        // No blank line around it: only the section.
        (
            "[profile a]\n[profile x]\nx = 1\n[profile b]\n",
            "[profile a]\n[profile b]\n",
        ),
        // Last, without a final newline: still none.
        (
            "[profile a]\nk = 1\n\n[profile x]\nx = 1",
            "[profile a]\nk = 1",
        ),
        // A header alone.
        ("[profile a]\n\n[profile x]\n", "[profile a]\n"),
    ];
    for (text, want) in cases {
        let mut file = ProfileFile::parse(text).unwrap();
        let x = numbers(&file, "x");
        file.remove_section(x[0]);
        assert_eq!(file.render(), want, "{text:?}");
        // Headers and the index follow.
        let reparsed = ProfileFile::parse(want).unwrap();
        assert_eq!(
            file.profile_section_numbers(FileKind::Config),
            reparsed.profile_section_numbers(FileKind::Config),
            "{text:?}"
        );
        assert_eq!(file.sections().count(), reparsed.sections().count());
    }
    // Removing one of several keeps the others editable by name.
    let mut file = ProfileFile::parse("[a]\nk = 1\n\n[x]\nk = 2\n\n[b]\nk = 3\n").unwrap();
    assert_eq!(file.profile_sections(FileKind::Credentials, "b").count(), 1);
    file.remove_section(1);
    file.set("b", "k", "9");
    assert_eq!(file.render(), "[a]\nk = 1\n\n[b]\nk = 9\n");
}
