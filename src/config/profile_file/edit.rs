//! Edits: setting and removing keys and appending sections, each touching only
//! the lines of the keys it changes, so that the rest of the user's file (layout,
//! comments, line endings, a missing final newline) stays exactly as it was, and
//! keeping the header list and the section index in step with the moved lines.

use super::document::{Eol, Line, ProfileFile, Text, line_text};
use super::index::name_hash;
use super::syntax::{Key, LineKind, WHITESPACE, trim_start_ws, trim_ws};

impl ProfileFile {
    /// The line ending new lines should use: the file's first one, else the
    /// platform's (`\r\n` on Windows, where Notepad and the AWS CLI write it).
    fn preferred_eol(&self) -> Eol {
        self.lines
            .iter()
            .map(|l| l.eol)
            .find(|e| *e != Eol::None)
            .unwrap_or(Eol::NATIVE)
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
                    let text = format!("{key} = {value}");
                    let kind = LineKind::Property {
                        key: Key::Span(0..key.len()),
                        value: key.len() + 3..text.len(),
                    };
                    self.insert_lines(after, vec![text], vec![kind]);
                }
            },
        }
        for s in look_alikes {
            self.remove_in(s, key);
        }
    }

    /// Removes every occurrence of `key` in sections named `header`.
    pub fn remove(&mut self, header: &str, key: &str) {
        let sections: Vec<usize> = self.sections_named(header).collect();
        for s in sections {
            self.remove_in(s, key);
        }
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
    fn removes_keys_keeping_a_missing_final_newline() {
        let mut file = ProfileFile::parse("[a]\nk = 1\nj = 2").unwrap();
        file.remove("a", "j");
        assert_eq!(file.render(), "[a]\nk = 1");
    }
}
