//! Edits: setting and removing keys and appending sections, each touching only
//! the lines of the keys it changes, so that the rest of the user's file (layout,
//! comments, line endings, a missing final newline) stays exactly as it was, and
//! keeping the header list and the section index in step with the moved lines.

use super::document::{Eol, Line, ProfileFile, Text, line_text};
use super::index::name_hash;
use super::syntax::{Key, LineKind, WHITESPACE, key_text, trim_start_ws, trim_ws};

impl ProfileFile {
    /// The line ending new lines should use: the file's first one, else `\n`.
    fn preferred_eol(&self) -> Eol {
        self.lines
            .iter()
            .map(|l| l.eol)
            .find(|e| *e != Eol::None)
            .unwrap_or(Eol::Lf)
    }

    /// Moves the headers after line `line` by `delta` lines (lines were inserted
    /// or removed there).
    fn shift_headers(&mut self, line: usize, delta: isize) {
        let first = self.headers.partition_point(|&h| h <= line);
        for h in self.headers.get_mut(first..).unwrap_or_default() {
            *h = h.wrapping_add_signed(delta);
        }
    }

    /// Inserts `lines` after line `after`, keeping a missing final newline missing.
    fn insert_lines(&mut self, after: usize, texts: Vec<String>, kinds: Vec<LineKind>) {
        let eol = self.preferred_eol();
        let at = after + 1;
        let Some(line) = self.lines.get_mut(after) else {
            return;
        };
        let ending = ending_after(&self.source, line, eol);
        let moved_eol = std::mem::replace(&mut line.eol, ending);
        let count = texts.len();
        let new_lines = texts
            .into_iter()
            .zip(kinds)
            .enumerate()
            .map(|(n, (text, kind))| Line {
                text: Text::Owned(text),
                // The last inserted line inherits the ending of the line it follows,
                // so a file without a final newline stays that way.
                eol: if n + 1 == count { moved_eol } else { eol },
                kind,
            });
        self.lines.splice(at..at, new_lines);
        self.shift_headers(after, count as isize);
    }

    /// The last property line with `key` in the sections named `header` (the
    /// occurrence the SDKs read).
    fn last_property(&self, sections: &[usize], key: &str) -> Option<usize> {
        sections.iter().rev().find_map(|&s| {
            let section = self.section(s);
            (section.header + 1..section.end)
                .rev()
                .find(|&i| self.property_key(i) == Some(key))
        })
    }

    /// Sets `key = value` under the exact header `[header]` (the last such section),
    /// replacing the value where the key already is and appending the key to the
    /// section otherwise; without such a section, appends one. Padded look-alikes
    /// (`[ header ]`), which botocore reads as another profile, lose `key`.
    pub fn set(&mut self, header: &str, key: &str, value: &str) {
        let mut exact = Vec::new();
        let mut look_alikes = Vec::new();
        for s in self.sections_named(trim_ws(header)) {
            let text = self.section(s).header_text();
            if text == header {
                exact.push(s);
            } else if trim_ws(text) == header {
                look_alikes.push(s);
            }
        }
        match exact.last() {
            None => self.append_section(header, &[(key, value)]),
            // The last occurrence across duplicate sections is the one the SDKs read.
            Some(&last) => match self.last_property(&exact, key) {
                Some(i) => self.replace_value(i, value),
                None => {
                    let section = self.section(last);
                    let after = section
                        .body()
                        .iter()
                        .rposition(|l| {
                            matches!(l.kind, LineKind::Property { .. } | LineKind::Continuation)
                        })
                        .map_or(section.header, |n| section.header + 1 + n);
                    // Spaced like the key it follows (`k=v` gets `key=value`).
                    let separator = self.separator_before(section.header, after);
                    let text = format!("{key}{separator}{value}");
                    let kind = LineKind::Property {
                        key: Key::Span(0..key.len()),
                        value: key.len() + separator.len()..text.len(),
                    };
                    self.insert_lines(after, vec![text], vec![kind]);
                }
            },
        }
        for s in look_alikes {
            self.remove_in(s, key);
        }
    }

    /// The text between key and value (`=`, ` = `, `\t= `) of the last property
    /// line with a value from line `last` back to header line `header`; ` = `
    /// when there is none. New keys are spaced like their neighbours.
    fn separator_before(&self, header: usize, last: usize) -> String {
        let found = (header + 1..=last).rev().find_map(|i| {
            let line = self.lines.get(i)?;
            let LineKind::Property { key, value } = &line.kind else {
                return None;
            };
            let text = line_text(&self.source, line);
            // A property line starts with its key (indented lines continue values).
            let separator = text.get(key_text(text, key).len()..value.start)?;
            let spacing_only = separator
                .bytes()
                .all(|b| b == b'=' || b == b' ' || b == b'\t')
                && separator.bytes().filter(|&b| b == b'=').count() == 1;
            (!value.is_empty() && spacing_only).then(|| separator.to_string())
        });
        found.unwrap_or_else(|| " = ".to_string())
    }

    /// Removes every occurrence of `key` in sections named `header`.
    pub fn remove(&mut self, header: &str, key: &str) {
        let sections: Vec<usize> = self.sections_named(header).collect();
        for s in sections {
            self.remove_in(s, key);
        }
    }

    /// Removes every occurrence of each of `keys` in the sections named `header`,
    /// then each of those sections that held one of them and is left with
    /// nothing but blank lines (no key, no comment, none on its header line): the
    /// section had only those keys, so it goes too, and with it the blank line
    /// before it when it ends the file (the one [`ProfileFile::append_section`]
    /// put there). Whether anything was removed.
    pub fn remove_keys(&mut self, header: &str, keys: &[&str]) -> bool {
        let holding: Vec<usize> = self
            .sections_named(header)
            .filter(|&s| {
                self.section(s)
                    .property_lines()
                    .any(|i| self.property_key(i).is_some_and(|k| keys.contains(&k)))
            })
            .collect();
        for key in keys {
            self.remove(header, key);
        }
        // Removing lines moves no header across another: the numbers still hold.
        let emptied: Vec<usize> = holding
            .iter()
            .copied()
            .filter(|&s| self.is_blank_section(s))
            .collect();
        for &s in emptied.iter().rev() {
            self.remove_section(s);
        }
        !holding.is_empty()
    }

    /// Whether section `s` has no line but blank ones, and no comment on its header.
    fn is_blank_section(&self, s: usize) -> bool {
        let section = self.section(s);
        let header_line = self.text(section.header);
        let bare = trim_ws(header_line)
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some();
        bare && (section.header + 1..section.end).all(|i| trim_ws(self.text(i)).is_empty())
    }

    /// Removes section `s` (its header and every line up to the next one) and, when
    /// it ends the file, one blank line before it.
    fn remove_section(&mut self, s: usize) {
        let section = self.section(s);
        let (mut first, end) = (section.header, section.end);
        if end == self.lines.len() && first > 0 && trim_ws(self.text(first - 1)).is_empty() {
            first -= 1;
        }
        if end != self.lines.len() || first == 0 {
            self.lines.drain(first..end);
        } else {
            // The new last line ends the file as the old last line did.
            let eol = self.lines.get(end - 1).map(|l| l.eol);
            self.lines.drain(first..end);
            if let (Some(eol), Some(last)) = (eol, self.lines.last_mut()) {
                last.eol = eol;
            }
        }
        if s < self.headers.len() {
            self.headers.remove(s);
        }
        self.shift_headers(first, -((end - first) as isize));
        // Section numbers after `s` moved down: rebuild the index on next use.
        self.index = std::sync::OnceLock::new();
    }

    /// Removes every occurrence of `key` (and its continuation lines) in section `s`.
    fn remove_in(&mut self, s: usize, key: &str) {
        let doomed: Vec<usize> = self
            .section(s)
            .property_lines()
            .filter(|&i| self.property_key(i) == Some(key))
            .collect();
        for i in doomed.into_iter().rev() {
            let mut lines = vec![i];
            lines.extend(self.continuation_lines(i));
            self.remove_line_set(&lines);
        }
    }

    /// Appends `[header]` with `entries` at the end, one blank line before it.
    pub fn append_section(&mut self, header: &str, entries: &[(&str, &str)]) {
        let eol = self.preferred_eol();
        if let Some(last) = self.lines.last_mut() {
            last.eol = ending_after(&self.source, last, eol);
        }
        let needs_blank = self
            .lines
            .last()
            .is_some_and(|l| !trim_ws(line_text(&self.source, l)).is_empty());
        if needs_blank {
            self.lines.push(Line {
                text: Text::Owned(String::new()),
                eol,
                kind: LineKind::Trivia,
            });
        }
        self.headers.push(self.lines.len());
        if let Some(index) = self.index.get_mut() {
            index.push(name_hash(trim_ws(header)));
        }
        self.lines.push(Line {
            text: Text::Owned(format!("[{header}]")),
            eol,
            kind: LineKind::Header {
                name: 1..1 + header.len(),
            },
        });
        for (key, value) in entries {
            let text = format!("{key} = {value}");
            self.lines.push(Line {
                kind: LineKind::Property {
                    key: Key::Span(0..key.len()),
                    value: key.len() + 3..text.len(),
                },
                text: Text::Owned(text),
                eol,
            });
        }
    }

    /// The continuation lines of property line `i`. The SDKs skip comment and blank
    /// lines, so an indented line after them still continues the value.
    fn continuation_lines(&self, i: usize) -> Vec<usize> {
        self.lines
            .iter()
            .enumerate()
            .skip(i + 1)
            .take_while(|(_, l)| {
                !matches!(l.kind, LineKind::Property { .. } | LineKind::Header { .. })
            })
            .filter(|(_, l)| l.kind == LineKind::Continuation)
            .map(|(j, _)| j)
            .collect()
    }

    /// Removes lines (given in ascending order, none of them a header), keeping a
    /// missing final newline missing.
    fn remove_line_set(&mut self, doomed: &[usize]) {
        for &j in doomed.iter().rev() {
            // Keep a missing final newline missing, but never by erasing a blank
            // line of the user's: its newline is all there is of it.
            if j + 1 == self.lines.len()
                && j > 0
                && !self.text(j - 1).trim_matches(WHITESPACE).is_empty()
                && let [.., before, last] = self.lines.as_mut_slice()
            {
                before.eol = last.eol;
            }
            self.lines.remove(j);
            self.shift_headers(j, -1);
        }
    }

    /// Replaces the value of property line `i` (and drops its continuation lines),
    /// keeping the key's spelling and the spacing around `=`. A trailing comment
    /// moves to its own line just above: botocore and the AWS CLI read an inline
    /// comment as part of the value. (A line that is no property has no value to
    /// replace.)
    fn replace_value(&mut self, i: usize, value: &str) {
        let continuations = self.continuation_lines(i);
        self.remove_line_set(&continuations);
        let Some(line) = self.lines.get(i) else {
            return;
        };
        let LineKind::Property { key, value: range } = &line.kind else {
            return;
        };
        let old = line_text(&self.source, line);
        let mut prefix = old[..range.start].to_string();
        let suffix = &old[range.end..];
        if range.is_empty() && !prefix.ends_with(WHITESPACE) {
            prefix.push(' ');
        }
        // After the value come only spaces and tabs, then possibly a comment.
        let comment = trim_start_ws(suffix);
        let (text, comment) = if comment.is_empty() {
            (format!("{prefix}{value}{suffix}"), None)
        } else {
            (format!("{prefix}{value}"), Some(comment.to_string()))
        };
        // The key lies in the prefix, which keeps its offsets.
        let kind = LineKind::Property {
            key: key.clone(),
            value: prefix.len()..prefix.len() + value.len(),
        };
        let Some(line) = self.lines.get_mut(i) else {
            return;
        };
        line.kind = kind;
        line.text = Text::Owned(text);
        if let Some(comment) = comment {
            let eol = self.preferred_eol();
            self.lines.insert(
                i,
                Line {
                    text: Text::Owned(comment),
                    eol,
                    kind: LineKind::Trivia,
                },
            );
            self.shift_headers(i - 1, 1);
        }
    }
}

/// The ending to give `line` when a line follows it: `eol`, except that a line
/// ending in a bare `\r` (only possible as the unterminated last line, where the
/// `\r` is part of its text) gets `\r\n`, so that `\r` stays in its text and is
/// not read back as half of a CRLF. A line that has its ending keeps it.
fn ending_after(source: &str, line: &Line, eol: Eol) -> Eol {
    match line.eol {
        Eol::None if line_text(source, line).ends_with('\r') => Eol::CrLf,
        Eol::None => eol,
        kept => kept,
    }
}

#[cfg(test)]
mod tests {
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

        let mut file = ProfileFile::empty();
        file.append_section("b", &[("x", "1")]);
        assert_eq!(file.render(), "[b]\nx = 1\n");
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
}
