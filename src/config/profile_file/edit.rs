//! Edits: setting and removing keys and appending sections, each touching only
//! the lines of the keys it changes, so that the rest of the user's file (layout,
//! comments, line endings, a missing final newline) stays exactly as it was, and
//! keeping the header list and the section index in step with the moved lines.

use super::document::{Eol, Line, ProfileFile, Text, line_text};
use super::index::name_hash;
use super::syntax::{Key, LineKind, WHITESPACE, key_text, trim_start_ws, trim_ws};

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
        if exact.is_empty() {
            self.append_section(header, &[(key, value)]);
        } else {
            self.set_in(&exact, key, value);
        }
        for s in look_alikes {
            self.remove_in(s, key);
        }
    }

    /// Sets `key = value` in the profile read from `sections` (section numbers in
    /// file order, e.g. from [`ProfileFile::profile_section_numbers`]): the value
    /// is replaced where the key last occurs (the occurrence the SDKs read, across
    /// duplicate sections), else the key is added after the last property of the
    /// last section. Section numbers stay valid.
    pub fn set_in(&mut self, sections: &[usize], key: &str, value: &str) {
        let Some(&last) = sections.last() else {
            return;
        };
        if let Some(i) = self.last_property(sections, key) {
            self.replace_value(i, value);
            return;
        }
        let section = self.section(last);
        if section.header >= self.lines.len() {
            return;
        }
        let after = last_content_line(&section);
        // Spaced like the key it follows (`k=v` gets `key=value`).
        let separator = self.separator_before(section.header, after);
        let text = format!("{key}{separator}{value}");
        let kind = LineKind::Property {
            key: Key::Span(0..key.len()),
            value: key.len() + separator.len()..text.len(),
        };
        self.insert_lines(after, vec![text], vec![kind]);
    }

    /// Removes section number `s` whole: its header, its keys and whatever lies
    /// among them, with the blank line that set it apart (the single blank line
    /// before it, or after it when it opens the file), which is what
    /// [`ProfileFile::append_section`] added. Comments and blank lines after its last key stay: they may be about
    /// the next section. The sections after it are renumbered (one less).
    pub fn remove_section(&mut self, s: usize) {
        let section = self.section(s);
        let header = section.header;
        if header >= self.lines.len() {
            return;
        }
        let last = last_content_line(&section);
        let blank = |i: usize| {
            self.lines
                .get(i)
                .is_some_and(|l| trim_ws(line_text(&self.source, l)).is_empty())
        };
        // One blank line between it and the line before: that one (more than
        // one: the user's spacing, kept). First in the file: the one after it.
        let (from, to) = if header >= 2 && blank(header - 1) && !blank(header - 2) {
            (header - 1, last + 1)
        } else if header == 0 && last + 1 < section.end && blank(last + 1) {
            (header, last + 2)
        } else {
            (header, last + 1)
        };
        // Keep a missing final newline missing, but never by erasing a blank
        // line's newline: it is all there is of that line.
        let unterminated = to == self.lines.len()
            && self.lines.last().is_some_and(|l| l.eol == Eol::None)
            && from > 0
            && !blank(from - 1);
        self.lines.drain(from..to);
        if unterminated && let Some(before) = self.lines.get_mut(from - 1) {
            before.eol = Eol::None;
        }
        if s < self.headers.len() {
            self.headers.remove(s);
        }
        let removed = to - from;
        for h in self.headers.get_mut(s..).unwrap_or_default() {
            *h -= removed;
        }
        // Section numbers moved: the index is rebuilt on its next use.
        self.index = std::sync::OnceLock::new();
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
            self.remove_emptied_section(s);
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

    /// Removes an emptied section `s` (its header and every line up to the next
    /// one) and, when it ends the file, one blank line before it.
    fn remove_emptied_section(&mut self, s: usize) {
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

/// The last line of `section` that is its header or one of its keys (or a
/// key's continuation): where a new key goes, and where the section ends for
/// removal.
fn last_content_line(section: &super::document::Section<'_>) -> usize {
    section
        .body()
        .iter()
        .rposition(|l| matches!(l.kind, LineKind::Property { .. } | LineKind::Continuation))
        .map_or(section.header, |n| section.header + 1 + n)
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
mod tests;
