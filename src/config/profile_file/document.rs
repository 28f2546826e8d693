//! The document: a profile file kept as its original lines, each a span of the
//! text it was parsed from (only edited lines own their text), so that rendering
//! gives back the input byte for byte and a big file costs one copy of its text.
//! Sections are found here, by position or by name through the index.

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use super::index::{Index, NONE, name_hash};
use super::scan::{LineScan, count_newlines};
use super::syntax::{
    BOM, ClassifyState, FileKind, LineKind, SectionName, is_valid_identifier, key_text,
    section_name, trim_ws,
};

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
pub(super) enum Eol {
    Lf,
    CrLf,
    /// The last line of a file without a final newline.
    None,
}

impl Eol {
    /// What a new file gets: CRLF on Windows, LF elsewhere.
    pub(super) const NATIVE: Eol = if cfg!(windows) { Eol::CrLf } else { Eol::Lf };

    fn as_str(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::CrLf => "\r\n",
            Eol::None => "",
        }
    }
}

/// A line's text: a span of the parsed source, or its own after an edit.
#[derive(Clone, Debug)]
pub(super) enum Text {
    Source(Range<usize>),
    Owned(String),
}

#[derive(Clone, Debug)]
pub(super) struct Line {
    pub(super) text: Text,
    pub(super) eol: Eol,
    pub(super) kind: LineKind,
}

/// A parsed profile file that renders back byte for byte.
#[derive(Clone, Debug)]
pub struct ProfileFile {
    pub(super) bom: bool,
    /// The text as parsed (BOM included); unedited lines are spans of it.
    pub(super) source: String,
    pub(super) lines: Vec<Line>,
    /// The index of every header line, ascending: section `s` runs from
    /// `headers[s]` up to the next header (or the end of the file).
    pub(super) headers: Vec<usize>,
    /// Sections by trimmed header text, built on first use.
    pub(super) index: OnceLock<Index>,
}

/// One `[header]` and the lines up to the next header.
#[derive(Clone, Copy, Debug)]
pub struct Section<'a> {
    pub(super) file: &'a ProfileFile,
    /// Index of the header line.
    pub(super) header: usize,
    /// One past the section's last line.
    pub(super) end: usize,
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
                true if body
                    .as_bytes()
                    .get(..scanned.end)
                    .is_some_and(|b| b.ends_with(b"\r")) =>
                {
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

    /// The text of line `i`, without its line ending (empty past the last line).
    #[inline]
    pub(super) fn text(&self, i: usize) -> &str {
        self.lines.get(i).map_or("", |l| line_text(&self.source, l))
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

    /// Section number `s` (in file order). Past the last section, an empty one
    /// at the end of the file, with no header and no lines.
    #[inline]
    pub(super) fn section(&self, s: usize) -> Section<'_> {
        let end_of_file = self.lines.len();
        Section {
            file: self,
            header: self.headers.get(s).copied().unwrap_or(end_of_file),
            end: self.headers.get(s + 1).copied().unwrap_or(end_of_file),
        }
    }

    /// Sections in file order, duplicates included.
    pub fn sections(&self) -> impl Iterator<Item = Section<'_>> {
        (0..self.headers.len()).map(move |s| self.section(s))
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let mut index = Index::with_capacity(self.headers.len());
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
    pub(super) fn sections_named<'a, 'b>(
        &'a self,
        trimmed: &'b str,
    ) -> impl Iterator<Item = usize> + use<'a, 'b> {
        let index = self.index();
        let mut next = index.first(name_hash(trimmed));
        std::iter::from_fn(move || {
            while next != NONE {
                let s = next;
                next = index.after(s);
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

    #[inline]
    pub(super) fn property_key(&self, i: usize) -> Option<&str> {
        let line = self.lines.get(i)?;
        match &line.kind {
            LineKind::Property { key, .. } => Some(key_text(line_text(&self.source, line), key)),
            _ => None,
        }
    }

    /// Number of lines (for tests and diagnostics).
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }
}

#[inline]
pub(super) fn line_text<'a>(source: &'a str, line: &'a Line) -> &'a str {
    match &line.text {
        Text::Source(range) => &source[range.clone()],
        Text::Owned(text) => text,
    }
}

impl<'a> Section<'a> {
    /// The raw text between the brackets, with header comments removed (empty
    /// for a section past the last one, which has no header).
    #[inline]
    pub fn header_text(&self) -> &'a str {
        let Some(line) = self.file.lines.get(self.header) else {
            return "";
        };
        match &line.kind {
            LineKind::Header { name } => &line_text(&self.file.source, line)[name.clone()],
            _ => "",
        }
    }

    /// 1-based line number of the header.
    pub fn line_number(&self) -> usize {
        self.header + 1
    }

    pub fn name(&self, kind: FileKind) -> SectionName {
        section_name(self.header_text(), kind)
    }

    /// The lines after the header, up to the next section.
    #[inline]
    pub(super) fn body(&self) -> &'a [Line] {
        self.file
            .lines
            .get(self.header + 1..self.end)
            .unwrap_or_default()
    }

    #[inline]
    pub(super) fn property_lines(self) -> impl Iterator<Item = usize> + 'a {
        let first = self.header + 1;
        self.body()
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(l.kind, LineKind::Property { .. }))
            .map(move |(n, _)| first + n)
    }
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
    fn keeps_the_text_it_was_parsed_from() {
        let text = "\u{feff}[a]\r\nk = 1\r\n";
        let mut file = ProfileFile::parse_owned(text.to_string()).unwrap();
        file.set("a", "k", "2");
        assert_eq!(file.text_as_parsed(), text);
        assert_eq!(file.render(), "\u{feff}[a]\r\nk = 2\r\n");
    }
}
