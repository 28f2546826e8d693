//! The merged views: what the SDKs make of a file's values, one section's
//! properties or every profile and sso-session merged by name. Read-only, built
//! on the document, with as few copies of the values as the callers allow.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::document::{ProfileFile, Section, line_text};
use super::syntax::{FileKind, LineKind, SectionName, is_valid_identifier, key_text, trim_ws};

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
        let lines = section.body();
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
        for line in lines {
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

impl ProfileFile {
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
        let has_profile_default = self.has_profile_default(kind);
        for section in self.sections() {
            let target = match section.name(kind) {
                SectionName::Profile(name) => {
                    if has_profile_default && is_shadowed_default(&section, &name) {
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
}

impl ProfileFile {
    /// Every profile of a file of `kind`, with the numbers of the sections it is
    /// read from in file order (`[default]` left out where `[profile default]`
    /// shadows it, as in [`ProfileFile::profile_set`]), in one pass over the
    /// headers: what a plan of many edits at once looks its sections up in. Key
    /// edits and appended sections keep these numbers; removing a section
    /// renumbers the ones after it.
    pub fn profile_section_numbers(&self, kind: FileKind) -> HashMap<String, Vec<usize>> {
        let has_profile_default = self.has_profile_default(kind);
        let mut numbers: HashMap<String, Vec<usize>> = HashMap::with_capacity(self.headers.len());
        for (s, section) in self.sections().enumerate() {
            if let SectionName::Profile(name) = section.name(kind) {
                if has_profile_default && is_shadowed_default(&section, &name) {
                    continue;
                }
                numbers.entry(name).or_default().push(s);
            }
        }
        numbers
    }

    /// Whether a config has `[profile default]`, which takes priority over `[default]`.
    fn has_profile_default(&self, kind: FileKind) -> bool {
        kind == FileKind::Config
            && self.sections().any(|s| {
                let mut words = s.header_text().split_whitespace();
                words.next() == Some("profile")
                    && words.next() == Some("default")
                    && words.next().is_none()
            })
    }
}

/// Whether `section` (read as profile `name`) is a `[default]` that a
/// `[profile default]` in the same config shadows.
fn is_shadowed_default(section: &Section<'_>, name: &str) -> bool {
    name == "default" && section.header_text().trim() == "default"
}

impl<'a> Section<'a> {
    /// Calls `f` with each `(key, value)` pair in file order; values include
    /// continuation lines joined with `\n`, as the SDKs read them.
    fn for_each_property(&self, mut f: impl FnMut(&'a str, String)) {
        let file = self.file;
        let mut pending: Option<(&'a str, String)> = None;
        for line in self.body() {
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
        let source = &self.file.source;
        let lines = self.body();
        let (n, text, range) = lines.iter().enumerate().rev().find_map(|(n, line)| {
            let LineKind::Property { key: k, value } = &line.kind else {
                return None;
            };
            let text = line_text(source, line);
            (key_text(text, k) == key).then_some((n, text, value))
        })?;
        let mut value = Cow::Borrowed(&text[range.clone()]);
        for line in lines.iter().skip(n + 1) {
            match &line.kind {
                LineKind::Property { .. } | LineKind::Header { .. } => break,
                LineKind::Continuation => {
                    let joined = value.to_mut();
                    joined.push('\n');
                    joined.push_str(trim_ws(line_text(source, line)));
                }
                LineKind::Trivia => {}
            }
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
