//! The line rules, as the AWS SDKs' parsers read a profile file: what makes a
//! line a comment, a header, a property or a continuation, where an inline
//! comment starts, and what a section name means in each kind of file. Kept
//! apart so that every reader and editor above agrees with the SDKs in one place.

use std::ops::Range;

use super::swar::bytes_equal;

pub(super) const BOM: &str = "\u{feff}";
pub(super) const WHITESPACE: &[char] = &[' ', '\t'];

/// Which file a document came from: the two differ in how sections are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Config,
    Credentials,
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

/// Whether `name` is a profile name the Rust SDK accepts.
#[inline]
pub fn is_valid_identifier(name: &str) -> bool {
    // Every allowed character is ASCII, so bytes can be checked one by one.
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'_' | b'-' | b'/' | b'.' | b'%' | b'@' | b':' | b'+')
        })
}

/// What a header means, following the SDKs' normalisation rules.
#[inline]
pub(super) fn section_name(header: &str, kind: FileKind) -> SectionName {
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

/// A property's key, ASCII-lowercased: a span of the line when it is written in
/// lowercase already (the usual case), else its own lowercased copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Key {
    Span(Range<usize>),
    Lowered(Box<str>),
}

#[inline]
pub(super) fn key_text<'a>(text: &'a str, key: &'a Key) -> &'a str {
    match key {
        Key::Span(range) => &text[range.clone()],
        Key::Lowered(lowered) => lowered,
    }
}

/// What a line is. Ranges are byte ranges of the line's own text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum LineKind {
    /// Empty, whitespace only, or a `#`/`;` comment in column 0.
    Trivia,
    /// `[name]`; `name` is the text between the brackets (untrimmed).
    Header { name: Range<usize> },
    /// `key = value`; `value` excludes a comment and surrounding whitespace.
    Property { key: Key, value: Range<usize> },
    /// An indented line that extends the previous property's value.
    Continuation,
}

/// What the line rules need to know about the lines before: whether we are inside
/// a section, and whether the last property (if any) had an empty value (its
/// continuation lines must then be sub-properties).
#[derive(Default)]
pub(super) struct ClassifyState {
    in_section: bool,
    last_property: Option<bool>,
}

impl ClassifyState {
    /// The kind of the next line, `text`, enforcing the SDK parser's errors. `mark`
    /// is the first `#` or `;` in it, if any.
    #[inline]
    pub(super) fn classify(
        &mut self,
        text: &str,
        mark: Option<usize>,
    ) -> Result<LineKind, &'static str> {
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

/// `[name] # comment` → the byte range of `name` (untrimmed inside the brackets,
/// as the SDKs keep it).
#[inline]
fn parse_header(text: &str) -> Option<Range<usize>> {
    let cut = text.find(['#', ';']).map_or(text, |i| &text[..i]);
    let trimmed = trim_ws(cut);
    let start = cut.len() - trim_start_ws(cut).len();
    let inner = trimmed.strip_prefix('[')?.strip_suffix(']')?;
    Some(start + 1..start + 1 + inner.len())
}

/// `key = value # comment` → (byte range of the key as written, byte range of
/// `value`), both in `text`. `first_mark` is the first `#` or `;` in `text`.
#[inline]
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

/// Where an inline comment starts: the first `#`/`;` after `leading` (the end of
/// the indentation) whose preceding character is whitespace. `first` is the
/// first `#`/`;` in the text, if any.
#[inline]
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
        next = text
            .as_bytes()
            .get(mark + 1..)
            .and_then(find_mark)
            .map(|p| mark + 1 + p);
    }
    None
}

/// The first `#` or `;` in `bytes`, looked for eight bytes at a time.
#[inline]
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

/// `s` without leading spaces and tabs. These are ASCII, so cutting bytes keeps
/// the text valid UTF-8 (and is much cheaper than a `char` pattern).
#[inline]
pub(super) fn trim_start_ws(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| b == b' ' || b == b'\t').count();
    &s[n..]
}

/// `s` without trailing spaces and tabs.
#[inline]
fn trim_end_ws(s: &str) -> &str {
    let n = s
        .bytes()
        .rev()
        .take_while(|&b| b == b' ' || b == b'\t')
        .count();
    &s[..s.len() - n]
}

/// `s` without leading or trailing spaces and tabs.
#[inline]
pub(super) fn trim_ws(s: &str) -> &str {
    trim_end_ws(trim_start_ws(s))
}
