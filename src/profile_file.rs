//! A lossless model of an AWS profile file (`~/.aws/config` or `~/.aws/credentials`).
//!
//! The file is kept as its original lines, each with its own line ending, and is read
//! with the same line rules as the AWS SDKs' parsers (comments, continuation lines,
//! sub-properties, duplicate sections). Rendering an unedited document gives back the
//! exact input; an edit touches only the lines of the keys it changes.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

const BOM: &str = "\u{feff}";
const WHITESPACE: &[char] = &[' ', '\t'];

/// Which file a document came from: the two differ in how sections are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Config,
    Credentials,
}

/// A line the SDKs would reject, so we refuse to read or edit the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Eol {
    Lf,
    CrLf,
    /// The last line of a file without a final newline.
    None,
}

impl Eol {
    fn as_str(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::CrLf => "\r\n",
            Eol::None => "",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum LineKind {
    /// Empty, whitespace only, or a `#`/`;` comment in column 0.
    Trivia,
    /// `[name]`; `name` is the text between the brackets, trimmed.
    Header { name: String },
    /// `key = value`; `key` is ASCII-lowercased, `value` the byte range of the
    /// value in the line's text (comment and surrounding whitespace excluded).
    Property { key: String, value: Range<usize> },
    /// An indented line that extends the previous property's value.
    Continuation,
}

#[derive(Clone, Debug)]
struct Line {
    text: String,
    eol: Eol,
    kind: LineKind,
}

/// A parsed profile file that renders back byte for byte.
#[derive(Clone, Debug)]
pub struct ProfileFile {
    bom: bool,
    lines: Vec<Line>,
}

/// One `[header]` and the lines up to the next header.
#[derive(Clone, Copy, Debug)]
pub struct Section<'a> {
    file: &'a ProfileFile,
    /// Index of the header line.
    header: usize,
    /// One past the section's last line.
    end: usize,
}

/// What a section name means in its file, by the SDKs' rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionName {
    /// `[default]` / `[profile NAME]` in config, `[NAME]` in credentials.
    Profile(String),
    /// `[sso-session NAME]` (config only).
    SsoSession(String),
    /// Anything the SDKs ignore for profiles (`[services x]`, bare `[x]` in config,
    /// `[profile x]` in credentials, invalid names).
    Other,
}

/// Merged view of a file's profiles and sso-sessions, as the SDKs see it.
#[derive(Clone, Debug, Default)]
pub struct ProfileSet {
    pub profiles: HashMap<String, Properties>,
    pub sso_sessions: HashMap<String, Properties>,
}

/// The merged keys of one profile or session: the last occurrence of a key wins.
#[derive(Clone, Debug, Default)]
pub struct Properties {
    values: HashMap<String, String>,
}

impl Properties {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }
}

/// Whether `name` is a profile name the Rust SDK accepts.
pub fn is_valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

impl ProfileFile {
    pub fn empty() -> Self {
        ProfileFile {
            bom: false,
            lines: Vec::new(),
        }
    }

    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let (bom, body) = match text.strip_prefix(BOM) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut lines = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let (raw, eol, next) = match rest.find('\n') {
                Some(i) if rest[..i].ends_with('\r') => (&rest[..i - 1], Eol::CrLf, &rest[i + 1..]),
                Some(i) => (&rest[..i], Eol::Lf, &rest[i + 1..]),
                None => (rest, Eol::None, ""),
            };
            lines.push(Line {
                text: raw.to_string(),
                eol,
                kind: LineKind::Trivia,
            });
            rest = next;
        }
        let mut file = ProfileFile { bom, lines };
        file.classify()?;
        Ok(file)
    }

    /// Assigns each line its kind, enforcing the SDK parser's errors.
    fn classify(&mut self) -> Result<(), ParseError> {
        // Whether we are inside a section, and whether the last property (if any)
        // had an empty value (its continuation lines must then be sub-properties).
        let mut in_section = false;
        let mut last_property: Option<bool> = None;
        for (i, line) in self.lines.iter_mut().enumerate() {
            let err = |message: &str| ParseError {
                line: i + 1,
                message: message.to_string(),
            };
            let text = line.text.as_str();
            line.kind = if text.trim_matches(WHITESPACE).is_empty() || text.starts_with(['#', ';'])
            {
                LineKind::Trivia
            } else if text.starts_with('[') {
                let name = parse_header(text).ok_or_else(|| {
                    err("a section header must look like `[name]`; add the closing `]`")
                })?;
                in_section = true;
                last_property = None;
                LineKind::Header { name }
            } else if text.starts_with(WHITESPACE) {
                if !in_section {
                    return Err(err("an indented line comes before any `[section]` header"));
                }
                match last_property {
                    None => {
                        return Err(err(
                            "an indented line continues no property; remove its leading whitespace",
                        ));
                    }
                    Some(true) => {
                        let inner = text.trim_matches(WHITESPACE);
                        if parse_property(inner).is_err() {
                            return Err(err(
                                "a sub-property must look like `key = value` (it follows an empty value)",
                            ));
                        }
                    }
                    Some(false) => {}
                }
                LineKind::Continuation
            } else {
                if !in_section {
                    return Err(err("a property comes before any `[section]` header"));
                }
                let (key, value) = parse_property(text).map_err(err)?;
                last_property = Some(value.is_empty());
                LineKind::Property { key, value }
            };
        }
        Ok(())
    }

    /// The file's text, byte for byte as parsed plus any edits.
    pub fn render(&self) -> String {
        let mut out =
            String::with_capacity(self.lines.iter().map(|l| l.text.len() + 2).sum::<usize>() + 3);
        if self.bom {
            out.push_str(BOM);
        }
        for line in &self.lines {
            out.push_str(&line.text);
            out.push_str(line.eol.as_str());
        }
        out
    }

    pub fn has_bom(&self) -> bool {
        self.bom
    }

    /// Sections in file order, duplicates included.
    pub fn sections(&self) -> impl Iterator<Item = Section<'_>> {
        let headers: Vec<usize> = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(l.kind, LineKind::Header { .. }))
            .map(|(i, _)| i)
            .collect();
        let ends: Vec<usize> = headers
            .iter()
            .skip(1)
            .copied()
            .chain(std::iter::once(self.lines.len()))
            .collect();
        headers
            .into_iter()
            .zip(ends)
            .map(move |(header, end)| Section {
                file: self,
                header,
                end,
            })
    }

    /// Every profile and sso-session, merged as the SDKs merge them.
    pub fn profile_set(&self, kind: FileKind) -> ProfileSet {
        let mut set = ProfileSet::default();
        let has_profile_default = kind == FileKind::Config
            && self.sections().any(|s| {
                s.header_text().split_whitespace().collect::<Vec<_>>() == ["profile", "default"]
            });
        for section in self.sections() {
            let target = match section.name(kind) {
                SectionName::Profile(name) => {
                    if has_profile_default
                        && name == "default"
                        && section.header_text().trim() == "default"
                    {
                        // `[profile default]` takes priority over `[default]`.
                        continue;
                    }
                    set.profiles.entry(name).or_default()
                }
                SectionName::SsoSession(name) => set.sso_sessions.entry(name).or_default(),
                SectionName::Other => continue,
            };
            for (key, value) in section.properties() {
                if is_valid_identifier(&key) {
                    target.values.insert(key, value);
                }
            }
        }
        set
    }

    /// The line ending new lines should use: the file's first one, else `\n`.
    fn preferred_eol(&self) -> Eol {
        self.lines
            .iter()
            .map(|l| l.eol)
            .find(|e| *e != Eol::None)
            .unwrap_or(Eol::Lf)
    }

    /// Inserts `lines` after line `after`, keeping a missing final newline missing.
    fn insert_lines(&mut self, after: usize, texts: Vec<String>, kinds: Vec<LineKind>) {
        let eol = self.preferred_eol();
        let at = after + 1;
        let moved_eol = std::mem::replace(&mut self.lines[after].eol, eol);
        let count = texts.len();
        let new_lines = texts
            .into_iter()
            .zip(kinds)
            .enumerate()
            .map(|(n, (text, kind))| Line {
                text,
                // The last inserted line inherits the ending of the line it follows,
                // so a file without a final newline stays that way.
                eol: if n + 1 == count { moved_eol } else { eol },
                kind,
            });
        self.lines.splice(at..at, new_lines);
    }

    /// Sets `key = value` in the last section named `header`, replacing the value
    /// where the key already is and appending the key to the section otherwise.
    /// The section must exist (see [`ProfileFile::append_section`]).
    pub fn set(&mut self, header: &str, key: &str, value: &str) {
        let section = self
            .sections()
            .filter(|s| s.header_text().trim_matches(WHITESPACE) == header)
            .last()
            .map(|s| (s.header, s.end));
        let Some((start, end)) = section else {
            self.append_section(header, &[(key, value)]);
            return;
        };
        // The last occurrence across duplicate sections is the one the SDKs read.
        let existing = self
            .sections()
            .filter(|s| s.header_text().trim_matches(WHITESPACE) == header)
            .flat_map(|s| s.property_lines())
            .filter(|&i| self.property_key(i) == Some(key))
            .last();
        match existing {
            Some(i) => self.replace_value(i, value),
            None => {
                let after = (start..end)
                    .rev()
                    .find(|&i| {
                        matches!(
                            self.lines[i].kind,
                            LineKind::Property { .. } | LineKind::Continuation
                        )
                    })
                    .unwrap_or(start);
                let text = format!("{key} = {value}");
                let kind = LineKind::Property {
                    key: key.to_string(),
                    value: key.len() + 3..text.len(),
                };
                self.insert_lines(after, vec![text], vec![kind]);
            }
        }
    }

    /// Removes every occurrence of `key` in sections named `header`.
    pub fn remove(&mut self, header: &str, key: &str) {
        let doomed: Vec<usize> = self
            .sections()
            .filter(|s| s.header_text().trim_matches(WHITESPACE) == header)
            .flat_map(|s| s.property_lines())
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
        if let Some(last) = self.lines.last_mut()
            && last.eol == Eol::None
        {
            last.eol = eol;
        }
        let needs_blank = self
            .lines
            .last()
            .is_some_and(|l| !l.text.trim_matches(WHITESPACE).is_empty());
        if needs_blank {
            self.lines.push(Line {
                text: String::new(),
                eol,
                kind: LineKind::Trivia,
            });
        }
        self.lines.push(Line {
            text: format!("[{header}]"),
            eol,
            kind: LineKind::Header {
                name: header.to_string(),
            },
        });
        for (key, value) in entries {
            let text = format!("{key} = {value}");
            self.lines.push(Line {
                kind: LineKind::Property {
                    key: key.to_string(),
                    value: key.len() + 3..text.len(),
                },
                text,
                eol,
            });
        }
    }

    fn property_key(&self, i: usize) -> Option<&str> {
        match &self.lines[i].kind {
            LineKind::Property { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The continuation lines of property line `i`. The SDKs skip comment and blank
    /// lines, so an indented line after them still continues the value.
    fn continuation_lines(&self, i: usize) -> Vec<usize> {
        (i + 1..self.lines.len())
            .take_while(|&j| {
                !matches!(
                    self.lines[j].kind,
                    LineKind::Property { .. } | LineKind::Header { .. }
                )
            })
            .filter(|&j| self.lines[j].kind == LineKind::Continuation)
            .collect()
    }

    /// Removes lines (given in ascending order), keeping a missing final newline missing.
    fn remove_line_set(&mut self, doomed: &[usize]) {
        for &j in doomed.iter().rev() {
            if j + 1 == self.lines.len() && j > 0 {
                self.lines[j - 1].eol = self.lines[j].eol;
            }
            self.lines.remove(j);
        }
    }

    /// Replaces the value of property line `i` (and drops its continuation lines),
    /// keeping the key's spelling, the spacing around `=` and any trailing comment.
    fn replace_value(&mut self, i: usize, value: &str) {
        let continuations = self.continuation_lines(i);
        self.remove_line_set(&continuations);
        let line = &mut self.lines[i];
        let LineKind::Property { key, value: range } = &line.kind else {
            unreachable!("replace_value on a non-property line");
        };
        let mut prefix = line.text[..range.start].to_string();
        let suffix = &line.text[range.end..];
        if range.is_empty() && !prefix.ends_with(WHITESPACE) {
            prefix.push(' ');
        }
        // A comment must stay separated by whitespace, or it would join the value.
        let gap = if suffix.is_empty() || suffix.starts_with(WHITESPACE) {
            ""
        } else {
            " "
        };
        let text = format!("{prefix}{value}{gap}{suffix}");
        let new_range = prefix.len()..prefix.len() + value.len();
        line.kind = LineKind::Property {
            key: key.clone(),
            value: new_range,
        };
        line.text = text;
    }

    /// Number of lines (for tests and diagnostics).
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }
}

impl<'a> Section<'a> {
    /// The raw text between the brackets, with header comments removed.
    pub fn header_text(&self) -> &'a str {
        match &self.file.lines[self.header].kind {
            LineKind::Header { name } => name,
            _ => unreachable!("section starts at a header"),
        }
    }

    /// 1-based line number of the header.
    pub fn line_number(&self) -> usize {
        self.header + 1
    }

    pub fn name(&self, kind: FileKind) -> SectionName {
        section_name(self.header_text(), kind)
    }

    fn property_lines(self) -> impl Iterator<Item = usize> + 'a {
        let file = self.file;
        (self.header + 1..self.end)
            .filter(move |&i| matches!(file.lines[i].kind, LineKind::Property { .. }))
    }

    /// `(key, value)` pairs in file order; values include continuation lines
    /// joined with `\n`, as the SDKs read them.
    pub fn properties(&self) -> Vec<(String, String)> {
        let lines = &self.file.lines;
        let mut out: Vec<(String, String)> = Vec::new();
        for line in &lines[self.header + 1..self.end] {
            match &line.kind {
                LineKind::Property { key, value } => {
                    out.push((key.clone(), line.text[value.clone()].to_string()));
                }
                LineKind::Continuation => {
                    if let Some((_, v)) = out.last_mut() {
                        v.push('\n');
                        v.push_str(line.text.trim_matches(WHITESPACE));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The value of `key` in this section (last occurrence).
    pub fn get(&self, key: &str) -> Option<String> {
        self.properties()
            .into_iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// What a header means, following the SDKs' normalisation rules.
fn section_name(header: &str, kind: FileKind) -> SectionName {
    let header = header.trim_matches(WHITESPACE);
    let (prefix, name) = match header.split_once(WHITESPACE) {
        Some((prefix, rest)) => (Some(prefix), rest.trim_matches(WHITESPACE)),
        None => (None, header),
    };
    if !is_valid_identifier(name) {
        return SectionName::Other;
    }
    match (kind, prefix) {
        (FileKind::Config, Some("profile")) => SectionName::Profile(name.to_string()),
        (FileKind::Config, Some("sso-session")) => SectionName::SsoSession(name.to_string()),
        (FileKind::Config, None) if name == "default" => SectionName::Profile(name.to_string()),
        (FileKind::Credentials, None) => SectionName::Profile(name.to_string()),
        _ => SectionName::Other,
    }
}

/// `[name] # comment` → `name` (untrimmed inside the brackets, as the SDKs keep it).
fn parse_header(text: &str) -> Option<String> {
    let cut = text.find(['#', ';']).map_or(text, |i| &text[..i]);
    let inner = cut
        .trim_matches(WHITESPACE)
        .strip_prefix('[')?
        .strip_suffix(']')?;
    Some(inner.to_string())
}

/// `key = value # comment` → (lowercased key, byte range of `value` in `text`).
fn parse_property(text: &str) -> Result<(String, Range<usize>), &'static str> {
    let leading = text.len() - text.trim_start_matches(WHITESPACE).len();
    // A comment starts at `#`/`;` preceded by whitespace.
    let mut end = text.len();
    let mut prev_ws = false;
    for (i, c) in text.char_indices().skip_while(|(i, _)| *i < leading) {
        if (c == '#' || c == ';') && prev_ws {
            end = i;
            break;
        }
        prev_ws = c.is_whitespace();
    }
    let body = &text[..end];
    let eq = body
        .find('=')
        .ok_or("expected `key = value`; add the `=` or comment the line out with `#`")?;
    let key = body[..eq].trim_matches(WHITESPACE);
    if key.is_empty() {
        return Err("a property has no name before `=`");
    }
    let after = &body[eq + 1..];
    let value_start = eq + 1 + (after.len() - after.trim_start_matches(WHITESPACE).len());
    let value_end = eq + 1 + after.trim_end_matches(WHITESPACE).len();
    let value_end = value_end.max(value_start);
    Ok((key.to_ascii_lowercase(), value_start..value_end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) {
        let file = ProfileFile::parse(text).expect("parses");
        assert_eq!(file.render(), text);
    }

    #[test]
    fn renders_unchanged_input_byte_for_byte() {
        for text in [
            "",
            "\n",
            "[a]\nk = v",
            "\u{feff}[a]\r\nk=v\r\n",
            "# c\n; c\n\n[a] ; x\n  \nk = v # c\nk2=v2;x\n",
            "[a]\ns3 =\n  max_concurrent_requests = 10\n",
            "[a]\nk = line1\n  line2\n",
        ] {
            roundtrip(text);
        }
    }

    #[test]
    fn reads_values_as_the_sdk_does() {
        let file =
            ProfileFile::parse("[profile a]\nK = v # c\nx = value#kept\ny = a ;c\nz = l1\n\tl2\n")
                .unwrap();
        let set = file.profile_set(FileKind::Config);
        let a = &set.profiles["a"];
        assert_eq!(a.get("k"), Some("v"));
        assert_eq!(a.get("x"), Some("value#kept"));
        assert_eq!(a.get("y"), Some("a"));
        assert_eq!(a.get("z"), Some("l1\nl2"));
    }

    #[test]
    fn names_sections_by_file_kind() {
        let config = "[default]\na=1\n[profile default]\na=2\n[bare]\na=3\n[sso-session s]\nb=1\n";
        let set = ProfileFile::parse(config)
            .unwrap()
            .profile_set(FileKind::Config);
        assert_eq!(set.profiles["default"].get("a"), Some("2"));
        assert!(!set.profiles.contains_key("bare"));
        assert_eq!(set.sso_sessions["s"].get("b"), Some("1"));

        let creds = "[profile x]\na=1\n[x]\na=2\n[bad name]\na=3\n";
        let set = ProfileFile::parse(creds)
            .unwrap()
            .profile_set(FileKind::Credentials);
        assert_eq!(set.profiles["x"].get("a"), Some("2"));
        assert_eq!(set.profiles.len(), 1);
    }

    #[test]
    fn rejects_what_the_sdk_rejects() {
        for (text, line) in [
            ("k = v\n", 1),
            ("[a]\nnovalue\n", 2),
            ("[a\n", 1),
            ("[a]\n = v\n", 2),
            ("[a]\n  cont\n", 2),
            ("[a]\ns3 =\n  notaproperty\n", 3),
        ] {
            let err = ProfileFile::parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err}");
        }
    }

    #[test]
    fn replaces_values_in_place_keeping_format() {
        let mut file =
            ProfileFile::parse("[a]\r\nAWS_Access_Key_Id=OLD # note\r\nother = 1\r\n").unwrap();
        file.set("a", "aws_access_key_id", "NEW");
        assert_eq!(
            file.render(),
            "[a]\r\nAWS_Access_Key_Id=NEW # note\r\nother = 1\r\n"
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
    fn replacing_drops_continuation_lines_and_fills_empty_values() {
        let mut file =
            ProfileFile::parse("[a]\nk =\n  x = 1\n# kept\n  y = 2\nz=\nc = #note\n").unwrap();
        file.set("a", "k", "v");
        file.set("a", "z", "w");
        file.set("a", "c", "x");
        assert_eq!(file.render(), "[a]\nk = v\n# kept\nz= w\nc = x #note\n");
    }

    #[test]
    fn removes_keys_keeping_a_missing_final_newline() {
        let mut file = ProfileFile::parse("[a]\nk = 1\nj = 2").unwrap();
        file.remove("a", "j");
        assert_eq!(file.render(), "[a]\nk = 1");
    }
}
