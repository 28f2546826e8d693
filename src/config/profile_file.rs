//! A lossless model of an AWS profile file (`~/.aws/config` or `~/.aws/credentials`).
//!
//! The file is kept as its original lines, each with its own line ending, and is read
//! with the same line rules as the AWS SDKs' parsers (comments, continuation lines,
//! sub-properties, duplicate sections). Rendering an unedited document gives back the
//! exact input; an edit touches only the lines of the keys it changes.
//!
//! Big files stay cheap: parsing keeps one copy of the text and gives each line a
//! span of it (only edited lines own their text), the header lines are listed once,
//! and sections are found by name through an index (built on first use and kept
//! up to date by every edit), so one lookup or edit costs the size of the sections
//! it touches, not the size of the file.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::ops::Range;
use std::sync::OnceLock;

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

/// A property's key, ASCII-lowercased: a span of the line when it is written in
/// lowercase already (the usual case), else its own lowercased copy.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Key {
    Span(Range<usize>),
    Lowered(Box<str>),
}

/// What a line is. Ranges are byte ranges of the line's own text.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LineKind {
    /// Empty, whitespace only, or a `#`/`;` comment in column 0.
    Trivia,
    /// `[name]`; `name` is the text between the brackets (untrimmed).
    Header { name: Range<usize> },
    /// `key = value`; `value` excludes a comment and surrounding whitespace.
    Property { key: Key, value: Range<usize> },
    /// An indented line that extends the previous property's value.
    Continuation,
}

/// A line's text: a span of the parsed source, or its own after an edit.
#[derive(Clone, Debug)]
enum Text {
    Source(Range<usize>),
    Owned(String),
}

#[derive(Clone, Debug)]
struct Line {
    text: Text,
    eol: Eol,
    kind: LineKind,
}

/// No section: the end of a chain in [`Index`].
const NONE: usize = usize::MAX;

/// Sections by trimmed header text. Each section links to the next one with the
/// same hash, so the index costs no allocation per section; lookups compare names.
#[derive(Clone, Debug, Default)]
struct Index {
    /// Hash of a trimmed header → (first, last) section with that hash.
    chains: HashMap<u64, (usize, usize), FxBuildHasher>,
    /// Per section: the next section with the same hash, or [`NONE`].
    next: Vec<usize>,
}

impl Index {
    fn push(&mut self, hash: u64) {
        let section = self.next.len();
        self.next.push(NONE);
        match self.chains.get_mut(&hash) {
            Some((_, last)) => {
                self.next[*last] = section;
                *last = section;
            }
            None => {
                self.chains.insert(hash, (section, section));
            }
        }
    }
}

fn name_hash(name: &str) -> u64 {
    let mut hasher = FxHasher::default();
    name.hash(&mut hasher);
    hasher.finish()
}

/// FxHash (the hasher rustc uses: a multiply and a rotate per eight bytes) with a
/// finalizer, much cheaper than SipHash on short keys. Keys come from the user's
/// own files, so there is no one to mount a collision attack.
#[derive(Clone, Copy, Debug, Default)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_u64(&mut self, word: u64) {
        self.add(word);
    }

    fn write_usize(&mut self, word: usize) {
        self.add(word as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the low bits depending on the low bits of the input
        // only, and hash tables pick buckets by the low bits: fold the high bits in
        // (the murmur3 finalizer).
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

type FxBuildHasher = BuildHasherDefault<FxHasher>;

/// A parsed profile file that renders back byte for byte.
#[derive(Clone, Debug)]
pub struct ProfileFile {
    bom: bool,
    /// The text as parsed (BOM included); unedited lines are spans of it.
    source: String,
    lines: Vec<Line>,
    /// The index of every header line, ascending: section `s` runs from
    /// `headers[s]` up to the next header (or the end of the file).
    headers: Vec<usize>,
    /// Sections by trimmed header text, built on first use.
    index: OnceLock<Index>,
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
    /// Every key and value in file order, one after the other (two allocations
    /// per profile, however many keys it has).
    text: String,
    /// (key, value) ranges of `text`, in file order.
    entries: Vec<(Range<usize>, Range<usize>)>,
}

impl Properties {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| &self.text[k.clone()] == key)
            .map(|(_, v)| &self.text[v.clone()])
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Adds the properties of `section` whose keys are valid identifiers.
    fn extend_from(&mut self, section: &Section<'_>) {
        let file = section.file;
        // Room for everything at once: keys, values and joined continuation
        // lines take no more than the lines they come from.
        let lines = &file.lines[section.header + 1..section.end];
        self.text
            .reserve(lines.iter().map(|l| line_text(&file.source, l).len()).sum());
        self.entries.reserve(
            lines
                .iter()
                .filter(|l| matches!(l.kind, LineKind::Property { .. }))
                .count(),
        );
        // Whether the last property was kept (its continuation lines join it).
        let mut keeping = false;
        for line in &file.lines[section.header + 1..section.end] {
            let text = line_text(&file.source, line);
            match &line.kind {
                LineKind::Property { key, value } => {
                    let key = key_text(text, key);
                    keeping = is_valid_identifier(key);
                    if keeping {
                        let k = self.push(key);
                        let v = self.push(&text[value.clone()]);
                        self.entries.push((k, v));
                    }
                }
                LineKind::Continuation if keeping => {
                    self.text.push('\n');
                    self.text.push_str(trim_ws(text));
                    if let Some((_, v)) = self.entries.last_mut() {
                        v.end = self.text.len();
                    }
                }
                _ => {}
            }
        }
    }

    fn push(&mut self, s: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(s);
        start..self.text.len()
    }
}

/// Whether `name` is a profile name the Rust SDK accepts.
pub fn is_valid_identifier(name: &str) -> bool {
    // Every allowed character is ASCII, so bytes can be checked one by one.
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'_' | b'-' | b'/' | b'.' | b'%' | b'@' | b':' | b'+')
        })
}

impl ProfileFile {
    pub fn empty() -> Self {
        ProfileFile {
            bom: false,
            source: String::new(),
            lines: Vec::new(),
            headers: Vec::new(),
            index: OnceLock::new(),
        }
    }

    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Self::parse_owned(text.to_string())
    }

    /// [`ProfileFile::parse`] keeping `text` itself (no copy of a big file); see
    /// [`ProfileFile::text_as_parsed`].
    pub fn parse_owned(text: String) -> Result<Self, ParseError> {
        let bom = text.starts_with(BOM);
        // Line spans are offsets in `text`, after the BOM if there is one.
        let base = if bom { BOM.len() } else { 0 };
        let body = &text[base..];
        // Exact sizes up front: no regrowth (and no copying) of big vectors.
        // (A little room to spare for the lines an edit adds.)
        let mut lines = Vec::with_capacity(count_newlines(body.as_bytes()) + 16);
        let mut headers = Vec::new();
        let mut state = ClassifyState::default();
        for (i, scanned) in LineScan::new(body.as_bytes()).enumerate() {
            let (len, eol) = match scanned.newline {
                true if body.as_bytes()[..scanned.end].ends_with(b"\r") => {
                    (scanned.end - scanned.start - 1, Eol::CrLf)
                }
                true => (scanned.end - scanned.start, Eol::Lf),
                false => (scanned.end - scanned.start, Eol::None),
            };
            let range = scanned.start..scanned.start + len;
            let mark = scanned.mark.map(|m| m - scanned.start).filter(|&m| m < len);
            let kind = state
                .classify(&body[range.clone()], mark)
                .map_err(|message| ParseError {
                    line: i + 1,
                    message: message.to_string(),
                })?;
            if matches!(kind, LineKind::Header { .. }) {
                headers.push(i);
            }
            lines.push(Line {
                text: Text::Source(base + range.start..base + range.end),
                eol,
                kind,
            });
        }
        Ok(ProfileFile {
            bom,
            source: text,
            lines,
            headers,
            index: OnceLock::new(),
        })
    }

    /// The text this document was parsed from, byte for byte (edits do not
    /// change it; [`ProfileFile::render`] gives the edited text).
    pub fn text_as_parsed(&self) -> &str {
        &self.source
    }

    /// The text of line `i`, without its line ending.
    fn text(&self, i: usize) -> &str {
        line_text(&self.source, &self.lines[i])
    }

    /// The file's text, byte for byte as parsed plus any edits.
    pub fn render(&self) -> String {
        let len: usize = self.pieces().map(str::len).sum();
        let mut out = String::with_capacity(len);
        self.pieces().for_each(|p| out.push_str(p));
        out
    }

    /// [`ProfileFile::render`] into `out`, without the whole text in memory at once.
    pub fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.pieces().try_for_each(|p| out.write_all(p.as_bytes()))
    }

    /// Whether [`ProfileFile::render`] would give `text`, without rendering.
    pub fn renders_as(&self, text: &str) -> bool {
        let mut rest = text.as_bytes();
        for piece in self.pieces() {
            match rest.strip_prefix(piece.as_bytes()) {
                Some(after) => rest = after,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// The rendered text in order: the BOM, then each line and its ending.
    fn pieces(&self) -> impl Iterator<Item = &str> {
        self.bom.then_some(BOM).into_iter().chain(
            self.lines
                .iter()
                .flat_map(|l| [line_text(&self.source, l), l.eol.as_str()]),
        )
    }

    pub fn has_bom(&self) -> bool {
        self.bom
    }

    /// Section number `s` (in file order).
    fn section(&self, s: usize) -> Section<'_> {
        Section {
            file: self,
            header: self.headers[s],
            end: self.headers.get(s + 1).copied().unwrap_or(self.lines.len()),
        }
    }

    /// Sections in file order, duplicates included.
    pub fn sections(&self) -> impl Iterator<Item = Section<'_>> {
        (0..self.headers.len()).map(move |s| self.section(s))
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let mut index = Index {
                chains: HashMap::with_capacity_and_hasher(self.headers.len(), Default::default()),
                next: Vec::with_capacity(self.headers.len()),
            };
            for s in 0..self.headers.len() {
                index.push(name_hash(self.trimmed_header(s)));
            }
            index
        })
    }

    /// The header text of section `s`, trimmed of spaces and tabs.
    fn trimmed_header(&self, s: usize) -> &str {
        trim_ws(self.section(s).header_text())
    }

    /// Numbers of the sections whose header, trimmed of spaces and tabs, is
    /// `trimmed`, in file order.
    fn sections_named<'a, 'b>(
        &'a self,
        trimmed: &'b str,
    ) -> impl Iterator<Item = usize> + use<'a, 'b> {
        let index = self.index();
        let mut next = index
            .chains
            .get(&name_hash(trimmed))
            .map_or(NONE, |&(first, _)| first);
        std::iter::from_fn(move || {
            while next != NONE {
                let s = next;
                next = index.next[s];
                if self.trimmed_header(s) == trimmed {
                    return Some(s);
                }
            }
            None
        })
    }

    /// The sections the SDKs read as profile `name` in a file of `kind`, in file
    /// order: those whose [`Section::name`] is `SectionName::Profile(name)`.
    pub fn profile_sections<'a, 'b>(
        &'a self,
        kind: FileKind,
        name: &'b str,
    ) -> impl Iterator<Item = Section<'a>> + use<'a, 'b> {
        // In credentials such a section's trimmed header is the name itself, so
        // the index finds it; config headers (`profile NAME`, any spacing) are scanned.
        let indexed = (kind == FileKind::Credentials && is_valid_identifier(name))
            .then(|| self.sections_named(name).map(|s| self.section(s)));
        let scanned = (kind == FileKind::Config).then(|| {
            let wanted = SectionName::Profile(name.to_string());
            self.sections()
                .filter(move |s| s.name(FileKind::Config) == wanted)
        });
        indexed
            .into_iter()
            .flatten()
            .chain(scanned.into_iter().flatten())
    }

    /// Every profile and sso-session, merged as the SDKs merge them.
    pub fn profile_set(&self, kind: FileKind) -> ProfileSet {
        self.merge_profiles(kind, self.headers.len(), |_| true)
    }

    /// Like [`ProfileFile::profile_set`], keeping only the profiles named in `names`
    /// (every sso-session is kept): what a run for a few named profiles needs of a
    /// big config.
    pub fn profile_set_of(&self, kind: FileKind, names: &HashSet<String>) -> ProfileSet {
        self.merge_profiles(kind, names.len(), |name| names.contains(name))
    }

    fn merge_profiles(
        &self,
        kind: FileKind,
        capacity: usize,
        keep: impl Fn(&str) -> bool,
    ) -> ProfileSet {
        let mut set = ProfileSet {
            profiles: HashMap::with_capacity(capacity),
            sso_sessions: HashMap::new(),
        };
        let has_profile_default = kind == FileKind::Config
            && self.sections().any(|s| {
                let mut words = s.header_text().split_whitespace();
                words.next() == Some("profile")
                    && words.next() == Some("default")
                    && words.next().is_none()
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
                    if !keep(&name) {
                        continue;
                    }
                    set.profiles.entry(name).or_default()
                }
                SectionName::SsoSession(name) => set.sso_sessions.entry(name).or_default(),
                SectionName::Other => continue,
            };
            target.extend_from(&section);
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

    /// The ending to give line `line` when a line follows it: `eol`, except that a
    /// line ending in a bare `\r` (only possible as the unterminated last line, where
    /// the `\r` is part of its text) gets `\r\n`, so that `\r` stays in its text
    /// and is not read back as half of a CRLF.
    fn ending_after(&self, line: usize, eol: Eol) -> Eol {
        let l = &self.lines[line];
        match l.eol {
            Eol::None if line_text(&self.source, l).ends_with('\r') => Eol::CrLf,
            Eol::None => eol,
            kept => kept,
        }
    }

    /// Moves the headers after line `line` by `delta` lines (lines were inserted
    /// or removed there).
    fn shift_headers(&mut self, line: usize, delta: isize) {
        let first = self.headers.partition_point(|&h| h <= line);
        for h in &mut self.headers[first..] {
            *h = h.wrapping_add_signed(delta);
        }
    }

    /// Inserts `lines` after line `after`, keeping a missing final newline missing.
    fn insert_lines(&mut self, after: usize, texts: Vec<String>, kinds: Vec<LineKind>) {
        let eol = self.preferred_eol();
        let at = after + 1;
        let ending = self.ending_after(after, eol);
        let moved_eol = std::mem::replace(&mut self.lines[after].eol, ending);
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
                    let Section {
                        header: start, end, ..
                    } = self.section(last);
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
        if let Some(last) = self.lines.len().checked_sub(1)
            && self.lines[last].eol == Eol::None
        {
            self.lines[last].eol = self.ending_after(last, eol);
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

    fn property_key(&self, i: usize) -> Option<&str> {
        let line = &self.lines[i];
        match &line.kind {
            LineKind::Property { key, .. } => Some(key_text(line_text(&self.source, line), key)),
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

    /// Removes lines (given in ascending order, none of them a header), keeping a
    /// missing final newline missing.
    fn remove_line_set(&mut self, doomed: &[usize]) {
        for &j in doomed.iter().rev() {
            // Keep a missing final newline missing, but never by erasing a blank
            // line of the user's: its newline is all there is of it.
            if j + 1 == self.lines.len()
                && j > 0
                && !self.text(j - 1).trim_matches(WHITESPACE).is_empty()
            {
                self.lines[j - 1].eol = self.lines[j].eol;
            }
            self.lines.remove(j);
            self.shift_headers(j, -1);
        }
    }

    /// Replaces the value of property line `i` (and drops its continuation lines),
    /// keeping the key's spelling and the spacing around `=`. A trailing comment
    /// moves to its own line just above: botocore and the AWS CLI read an inline
    /// comment as part of the value.
    fn replace_value(&mut self, i: usize, value: &str) {
        let continuations = self.continuation_lines(i);
        self.remove_line_set(&continuations);
        let old = self.text(i);
        let LineKind::Property { key, value: range } = &self.lines[i].kind else {
            unreachable!("replace_value on a non-property line");
        };
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
        let line = &mut self.lines[i];
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

    /// Number of lines (for tests and diagnostics).
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }
}

fn line_text<'a>(source: &'a str, line: &'a Line) -> &'a str {
    match &line.text {
        Text::Source(range) => &source[range.clone()],
        Text::Owned(text) => text,
    }
}

fn key_text<'a>(text: &'a str, key: &'a Key) -> &'a str {
    match key {
        Key::Span(range) => &text[range.clone()],
        Key::Lowered(lowered) => lowered,
    }
}

/// What the line rules need to know about the lines before: whether we are inside
/// a section, and whether the last property (if any) had an empty value (its
/// continuation lines must then be sub-properties).
#[derive(Default)]
struct ClassifyState {
    in_section: bool,
    last_property: Option<bool>,
}

impl ClassifyState {
    /// The kind of the next line, `text`, enforcing the SDK parser's errors. `mark`
    /// is the first `#` or `;` in it, if any.
    fn classify(&mut self, text: &str, mark: Option<usize>) -> Result<LineKind, &'static str> {
        // The first byte decides (all the characters looked for are ASCII).
        let first = text.as_bytes().first().copied();
        let kind = if matches!(first, Some(b'#' | b';')) || trim_ws(text).is_empty() {
            LineKind::Trivia
        } else if first == Some(b'[') {
            let name = parse_header(text)
                .ok_or("a section header must look like `[name]`; add the closing `]`")?;
            self.in_section = true;
            self.last_property = None;
            LineKind::Header { name }
        } else if matches!(first, Some(b' ' | b'\t')) {
            if !self.in_section {
                return Err("an indented line comes before any `[section]` header");
            }
            match self.last_property {
                None => {
                    return Err(
                        "an indented line continues no property; remove its leading whitespace",
                    );
                }
                Some(true) => {
                    let inner = trim_ws(text);
                    if parse_property(inner, find_mark(inner.as_bytes())).is_err() {
                        return Err(
                            "a sub-property must look like `key = value` (it follows an empty value)",
                        );
                    }
                }
                Some(false) => {}
            }
            LineKind::Continuation
        } else {
            if !self.in_section {
                return Err("a property comes before any `[section]` header");
            }
            let (key, value) = parse_property(text, mark)?;
            self.last_property = Some(value.is_empty());
            let key = if text[key.clone()].bytes().any(|b| b.is_ascii_uppercase()) {
                Key::Lowered(text[key].to_ascii_lowercase().into_boxed_str())
            } else {
                Key::Span(key)
            };
            LineKind::Property { key, value }
        };
        Ok(kind)
    }
}

/// One line as [`LineScan`] finds it: byte offsets, whether a `\n` ends it, and
/// where its first `#` or `;` is.
struct ScannedLine {
    start: usize,
    /// The offset of the `\n`, or of the end of the text.
    end: usize,
    newline: bool,
    mark: Option<usize>,
}

/// Splits text into lines and finds each line's first comment mark in the same
/// pass, eight bytes at a time.
struct LineScan<'a> {
    bytes: &'a [u8],
    pos: usize,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `v` that is zero, and no other bit.
fn zero_bytes(v: u64) -> u64 {
    !(((v & LOWS).wrapping_add(LOWS)) | v | LOWS)
}

/// The high bit of every byte of `v` equal to `b`.
fn bytes_equal(v: u64, b: u8) -> u64 {
    zero_bytes(v ^ (ONES * u64::from(b)))
}

impl<'a> LineScan<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineScan { bytes, pos: 0 }
    }
}

/// Eight bytes of `bytes` from `at` as one word (the first byte lowest).
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Nonzero when some byte of `v` is zero (exact as a yes/no; use [`zero_bytes`]
/// for where).
fn has_zero_byte(v: u64) -> bool {
    v.wrapping_sub(ONES) & !v & HIGHS != 0
}

impl Iterator for LineScan<'_> {
    type Item = ScannedLine;

    fn next(&mut self) -> Option<ScannedLine> {
        let bytes = self.bytes;
        let start = self.pos;
        if start >= bytes.len() {
            return None;
        }
        let newline = ONES * u64::from(b'\n');
        let hash = ONES * u64::from(b'#');
        let semi = ONES * u64::from(b';');
        let mut mark = None;
        let mut at = start;
        let mut end = None;
        // Until the first comment mark: look for a newline or a mark.
        while at + 8 <= bytes.len() {
            let v = word_at(bytes, at);
            // One branch for the three tests.
            let (n, h, m) = (v ^ newline, v ^ hash, v ^ semi);
            let any = (n.wrapping_sub(ONES) & !n)
                | (h.wrapping_sub(ONES) & !h)
                | (m.wrapping_sub(ONES) & !m);
            if any & HIGHS != 0 {
                let newlines = zero_bytes(v ^ newline);
                let marks = zero_bytes(v ^ hash) | zero_bytes(v ^ semi);
                let first_newline = newlines.trailing_zeros() as usize / 8; // 8: none
                let first_mark = marks.trailing_zeros() as usize / 8;
                if first_mark < first_newline {
                    mark = Some(at + first_mark);
                }
                if first_newline < 8 {
                    end = Some(at + first_newline);
                } else {
                    at += 8;
                }
                break;
            }
            at += 8;
        }
        // After it: only the newline matters.
        if end.is_none() && mark.is_some() {
            while at + 8 <= bytes.len() {
                let v = word_at(bytes, at) ^ newline;
                if has_zero_byte(v) {
                    end = Some(at + zero_bytes(v).trailing_zeros() as usize / 8);
                    break;
                }
                at += 8;
            }
        }
        if end.is_none() {
            for (i, &b) in bytes.iter().enumerate().skip(at) {
                match b {
                    b'\n' => {
                        end = Some(i);
                        break;
                    }
                    b'#' | b';' if mark.is_none() => mark = Some(i),
                    _ => {}
                }
            }
        }
        let (end, newline) = match end {
            Some(e) => (e, true),
            None => (bytes.len(), false),
        };
        self.pos = end + 1;
        Some(ScannedLine {
            start,
            end,
            newline,
            mark,
        })
    }
}

/// How many `\n` bytes `bytes` holds, eight bytes at a time.
fn count_newlines(bytes: &[u8]) -> usize {
    let mut chunks = bytes.chunks_exact(8);
    let mut count = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        count += bytes_equal(u64::from_le_bytes(word), b'\n').count_ones() as usize;
    }
    count + chunks.remainder().iter().filter(|&&b| b == b'\n').count()
}

impl<'a> Section<'a> {
    /// The raw text between the brackets, with header comments removed.
    pub fn header_text(&self) -> &'a str {
        let line = &self.file.lines[self.header];
        match &line.kind {
            LineKind::Header { name } => &line_text(&self.file.source, line)[name.clone()],
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

    /// Calls `f` with each `(key, value)` pair in file order; values include
    /// continuation lines joined with `\n`, as the SDKs read them.
    fn for_each_property(&self, mut f: impl FnMut(&'a str, String)) {
        let file = self.file;
        let mut pending: Option<(&'a str, String)> = None;
        for line in &file.lines[self.header + 1..self.end] {
            let text = line_text(&file.source, line);
            match &line.kind {
                LineKind::Property { key, value } => {
                    if let Some((k, v)) = pending.take() {
                        f(k, v);
                    }
                    pending = Some((key_text(text, key), text[value.clone()].to_string()));
                }
                LineKind::Continuation => {
                    if let Some((_, v)) = &mut pending {
                        v.push('\n');
                        v.push_str(trim_ws(text));
                    }
                }
                _ => {}
            }
        }
        if let Some((k, v)) = pending {
            f(k, v);
        }
    }

    /// `(key, value)` pairs in file order; values include continuation lines
    /// joined with `\n`, as the SDKs read them.
    pub fn properties(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.for_each_property(|k, v| out.push((k.to_string(), v)));
        out
    }

    /// The value of `key` in this section (last occurrence).
    pub fn get(&self, key: &str) -> Option<String> {
        self.value(key).map(Cow::into_owned)
    }

    /// [`Section::get`] without a copy when the value is on one line (the usual
    /// case): continuation lines are joined with `\n` into a new string.
    pub fn value(&self, key: &str) -> Option<Cow<'a, str>> {
        let file = self.file;
        let i = (self.header + 1..self.end)
            .rev()
            .find(|&i| file.property_key(i) == Some(key))?;
        let line = &file.lines[i];
        let text = line_text(&file.source, line);
        let LineKind::Property { value: range, .. } = &line.kind else {
            unreachable!("found a property line");
        };
        let mut value = Cow::Borrowed(&text[range.clone()]);
        for j in i + 1..self.end {
            match &file.lines[j].kind {
                LineKind::Property { .. } | LineKind::Header { .. } => break,
                LineKind::Continuation => {
                    let joined = value.to_mut();
                    joined.push('\n');
                    joined.push_str(trim_ws(line_text(&file.source, &file.lines[j])));
                }
                LineKind::Trivia => {}
            }
        }
        Some(value)
    }
}

/// What a header means, following the SDKs' normalisation rules.
fn section_name(header: &str, kind: FileKind) -> SectionName {
    let header = trim_ws(header);
    let (prefix, name) = match header.split_once(WHITESPACE) {
        Some((prefix, rest)) => (Some(prefix), trim_ws(rest)),
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

/// `[name] # comment` → the byte range of `name` (untrimmed inside the brackets,
/// as the SDKs keep it).
fn parse_header(text: &str) -> Option<Range<usize>> {
    let cut = text.find(['#', ';']).map_or(text, |i| &text[..i]);
    let trimmed = trim_ws(cut);
    let start = cut.len() - trim_start_ws(cut).len();
    let inner = trimmed.strip_prefix('[')?.strip_suffix(']')?;
    Some(start + 1..start + 1 + inner.len())
}

/// `s` without leading spaces and tabs. These are ASCII, so cutting bytes keeps
/// the text valid UTF-8 (and is much cheaper than a `char` pattern).
fn trim_start_ws(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| b == b' ' || b == b'\t').count();
    &s[n..]
}

/// `s` without trailing spaces and tabs.
fn trim_end_ws(s: &str) -> &str {
    let n = s
        .bytes()
        .rev()
        .take_while(|&b| b == b' ' || b == b'\t')
        .count();
    &s[..s.len() - n]
}

/// `s` without leading or trailing spaces and tabs.
fn trim_ws(s: &str) -> &str {
    trim_end_ws(trim_start_ws(s))
}

/// The first `#` or `;` in `bytes`, looked for eight bytes at a time.
fn find_mark(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        let found = bytes_equal(v, b'#') | bytes_equal(v, b';');
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let rest = chunks.remainder();
    rest.iter()
        .position(|&b| b == b'#' || b == b';')
        .map(|p| at + p)
}

/// Where an inline comment starts: the first `#`/`;` after `leading` (the end of
/// the indentation) whose preceding character is whitespace. `first` is the
/// first `#`/`;` in the text, if any.
fn comment_start(text: &str, leading: usize, first: Option<usize>) -> Option<usize> {
    let mut next = first;
    while let Some(mark) = next {
        if mark > leading
            && text[..mark]
                .chars()
                .next_back()
                .is_some_and(char::is_whitespace)
        {
            return Some(mark);
        }
        next = find_mark(&text.as_bytes()[mark + 1..]).map(|p| mark + 1 + p);
    }
    None
}

/// `key = value # comment` → (byte range of the key as written, byte range of
/// `value`), both in `text`. `first_mark` is the first `#` or `;` in `text`.
fn parse_property(
    text: &str,
    first_mark: Option<usize>,
) -> Result<(Range<usize>, Range<usize>), &'static str> {
    let leading = text.len() - trim_start_ws(text).len();
    // A comment starts at `#`/`;` preceded by whitespace (a character other than
    // the first after the indentation).
    let end = comment_start(text, leading, first_mark).unwrap_or(text.len());
    let body = &text[..end];
    let eq = body
        .bytes()
        .position(|b| b == b'=')
        .ok_or("expected `key = value`; add the `=` or comment the line out with `#`")?;
    let raw_key = &body[..eq];
    let key = trim_ws(raw_key);
    if key.is_empty() {
        return Err("a property has no name before `=`");
    }
    let key_start = raw_key.len() - trim_start_ws(raw_key).len();
    let after = &body[eq + 1..];
    let value_start = eq + 1 + (after.len() - trim_start_ws(after).len());
    let value_end = eq + 1 + trim_end_ws(after).len();
    let value_end = value_end.max(value_start);
    Ok((key_start..key_start + key.len(), value_start..value_end))
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
    fn keeps_the_text_it_was_parsed_from() {
        let text = "\u{feff}[a]\r\nk = 1\r\n";
        let mut file = ProfileFile::parse_owned(text.to_string()).unwrap();
        file.set("a", "k", "2");
        assert_eq!(file.text_as_parsed(), text);
        assert_eq!(file.render(), "\u{feff}[a]\r\nk = 2\r\n");
    }

    #[test]
    fn removes_keys_keeping_a_missing_final_newline() {
        let mut file = ProfileFile::parse("[a]\nk = 1\nj = 2").unwrap();
        file.remove("a", "j");
        assert_eq!(file.render(), "[a]\nk = 1");
    }
}
