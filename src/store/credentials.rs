//! Entries in `~/.aws/credentials`: whether one is fresh, and how a new set of
//! role credentials is written into it without touching anything else.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use crate::aws::RoleCredentials;
use crate::config::profile_file::{FileKind, ParseError, ProfileFile, Section, SectionName};
use crate::store::apply::Document;
use crate::timefmt::{format_utc, parse_timestamp};

pub const ACCESS_KEY_ID: &str = "aws_access_key_id";
pub const SECRET_ACCESS_KEY: &str = "aws_secret_access_key";
pub const SESSION_TOKEN: &str = "aws_session_token";
/// The name older SDKs (boto 2, some Java/PHP versions) read.
pub const SECURITY_TOKEN: &str = "aws_security_token";
pub const EXPIRATION: &str = "aws_credential_expiration";
/// yawsso's name for the expiry; read for freshness and kept in step when present.
pub const YAWSSO_EXPIRATION: &str = "aws_session_expiration";

/// The value a dry run shows for each key a fetch would bring: the keys and their
/// expiration are known only once the portal issues them.
pub const PLACEHOLDER: &str = "<not-fetched-in-a-dry-run>";

/// Keys whose values are secret and are redacted whenever we show the file.
pub const SECRET_KEYS: [&str; 3] = [SECRET_ACCESS_KEY, SESSION_TOKEN, SECURITY_TOKEN];

/// The state of one entry before a sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryState {
    Absent,
    /// Expires later than now plus the minimum lifetime.
    Fresh(DateTime<Utc>),
    /// Short-lived keys that expire soon, expired, or of unknown age.
    Stale,
    /// An access key without a session token: someone's long-term keys.
    LongTerm,
}

/// The credentials file as a document we can query and edit.
#[derive(Clone, Debug)]
pub struct CredentialsFile {
    doc: ProfileFile,
}

impl CredentialsFile {
    #[cfg(test)]
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Ok(CredentialsFile {
            doc: ProfileFile::parse(text)?,
        })
    }

    /// [`CredentialsFile::parse`] keeping `text` itself; see [`CredentialsFile::text`].
    pub fn parse_owned(text: String) -> Result<Self, ParseError> {
        Ok(CredentialsFile {
            doc: ProfileFile::parse_owned(text)?,
        })
    }

    /// The text the file was parsed from (empty for [`CredentialsFile::empty`]),
    /// whatever has been written into it since.
    pub fn text(&self) -> &str {
        self.doc.text_as_parsed()
    }

    pub fn empty() -> Self {
        CredentialsFile {
            doc: ProfileFile::empty(),
        }
    }

    pub fn render(&self) -> String {
        self.doc.render()
    }

    /// See [`ProfileFile::write_to`].
    pub fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.doc.write_to(out)
    }

    /// Whether the edits left the text as it was read.
    pub fn is_unchanged(&self) -> bool {
        self.doc.renders_as(self.doc.text_as_parsed())
    }

    pub fn has_bom(&self) -> bool {
        self.doc.has_bom()
    }

    /// The merged view the SDKs would have of profile `name`: every section that
    /// reads as it, in file order (none: no such profile).
    fn merged(&self, name: &str) -> Option<Merged<'_>> {
        let sections: Vec<Section<'_>> = self
            .doc
            .profile_sections(FileKind::Credentials, name)
            .collect();
        (!sections.is_empty()).then_some(Merged { sections })
    }

    pub fn state(&self, name: &str, fresh_after: DateTime<Utc>) -> EntryState {
        let Some(props) = self.merged(name) else {
            return EntryState::Absent;
        };
        let has = |k| props.value(k).is_some_and(|v| !v.is_empty());
        if !has(ACCESS_KEY_ID) {
            return EntryState::Absent;
        }
        if !has(SESSION_TOKEN) && !has(SECURITY_TOKEN) {
            return EntryState::LongTerm;
        }
        let expiry = props
            .value(EXPIRATION)
            .or_else(|| props.value(YAWSSO_EXPIRATION))
            .and_then(|v| parse_timestamp(&v));
        match expiry {
            Some(t) if t > fresh_after => EntryState::Fresh(t),
            _ => EntryState::Stale,
        }
    }

    /// When the short-lived keys under `name` expire (none for an absent entry,
    /// long-term keys, or keys of unknown age).
    pub fn expiration(&self, name: &str) -> Option<DateTime<Utc>> {
        match self.state(name, DateTime::<Utc>::MIN_UTC) {
            EntryState::Fresh(t) => Some(t),
            _ => None,
        }
    }

    /// The short-lived credentials stored under `name`, when complete.
    pub fn entry(&self, name: &str) -> Option<RoleCredentials> {
        let props = self.merged(name)?;
        let get = |k| {
            props
                .value(k)
                .filter(|v| !v.is_empty())
                .map(Cow::into_owned)
        };
        let token = get(SESSION_TOKEN).or_else(|| get(SECURITY_TOKEN))?;
        let expiration = get(EXPIRATION)
            .or_else(|| get(YAWSSO_EXPIRATION))
            .and_then(|v| parse_timestamp(&v))?;
        Some(RoleCredentials {
            access_key_id: get(ACCESS_KEY_ID)?,
            secret_access_key: crate::secret::Secret::new(get(SECRET_ACCESS_KEY)?),
            session_token: crate::secret::Secret::new(token),
            expiration,
        })
    }

    /// Writes `creds` as profile `name`, in place when the section exists.
    pub fn write_entry(&mut self, name: &str, creds: &RoleCredentials, region: Option<&str>) {
        let expiration = format_utc(creds.expiration);
        let values = [
            creds.access_key_id.as_str(),
            creds.secret_access_key.expose(),
            creds.session_token.expose(),
            expiration.as_str(),
        ];
        self.write_values(name, values, region);
    }

    /// What [`CredentialsFile::write_entry`] would change, with [`PLACEHOLDER`] for
    /// every value a fetch brings (a dry run fetches nothing).
    pub fn write_placeholder_entry(&mut self, name: &str, region: Option<&str>) {
        self.write_values(name, [PLACEHOLDER; 4], region);
    }

    /// The entry's keys: access key id, secret key, session token, expiration.
    fn write_values(
        &mut self,
        name: &str,
        [id, secret, token, expiration]: [&str; 4],
        region: Option<&str>,
    ) {
        let mut entries = vec![
            (ACCESS_KEY_ID, id),
            (SECRET_ACCESS_KEY, secret),
            (SESSION_TOKEN, token),
            (SECURITY_TOKEN, token),
            (EXPIRATION, expiration),
        ];
        let existing = self
            .merged(name)
            .map(|p| p.value(YAWSSO_EXPIRATION).is_some());
        if existing == Some(true) {
            entries.push((YAWSSO_EXPIRATION, expiration));
        }
        if let Some(region) = region {
            entries.push(("region", region));
        }
        if existing.is_none() {
            self.doc.append_section(name, &entries);
            return;
        }
        for (key, value) in entries {
            self.doc.set(name, key, value);
        }
    }

    /// The access key id of profile `name`, as the SDKs would read it.
    pub fn access_key_id(&self, name: &str) -> Option<String> {
        self.merged(name)?
            .value(ACCESS_KEY_ID)
            .filter(|v| !v.is_empty())
            .map(Cow::into_owned)
    }

    /// Removes ssosync's keys from profile `name` when `recorded` (the ledger says
    /// ssosync wrote the entry) or its merged entry looks like one ssosync wrote (a
    /// session token and `aws_credential_expiration`); anything else (long-term
    /// keys, other tools' entries, other keys, comments) stays. A section left
    /// with nothing in it goes too, with the blank line ssosync put before it.
    /// Whether it removed them.
    pub fn remove_ours(&mut self, name: &str, recorded: bool) -> bool {
        let wanted = SectionName::Profile(name.to_string());
        let props: Vec<(String, String)> = self
            .doc
            .sections()
            .filter(|s| s.name(FileKind::Credentials) == wanted)
            .flat_map(|s| s.properties())
            .collect();
        let has = |key: &str| props.iter().any(|(k, v)| k == key && !v.is_empty());
        let ours = recorded || ((has(SESSION_TOKEN) || has(SECURITY_TOKEN)) && has(EXPIRATION));
        ours && self.doc.remove_keys(name, &OUR_KEYS)
    }
}

/// Keys ssosync writes into an entry (`region` is left: people set it too).
const OUR_KEYS: [&str; 6] = [
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    SESSION_TOKEN,
    SECURITY_TOKEN,
    EXPIRATION,
    YAWSSO_EXPIRATION,
];

impl Document for CredentialsFile {
    fn parse_owned(text: String) -> Result<Self, ParseError> {
        CredentialsFile::parse_owned(text)
    }
    fn empty() -> Self {
        CredentialsFile::empty()
    }
    fn text(&self) -> &str {
        CredentialsFile::text(self)
    }
    fn is_unchanged(&self) -> bool {
        CredentialsFile::is_unchanged(self)
    }
    fn render(&self) -> String {
        CredentialsFile::render(self)
    }
    fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        CredentialsFile::write_to(self, out)
    }
}

/// The sections of one profile, read as the SDKs merge them.
struct Merged<'a> {
    sections: Vec<Section<'a>>,
}

impl<'a> Merged<'a> {
    /// The value of `key`: its last occurrence across the sections.
    fn value(&self, key: &str) -> Option<Cow<'a, str>> {
        self.sections.iter().rev().find_map(|s| s.value(key))
    }
}

/// A value we are about to write must read back as itself: no whitespace, control
/// characters or comment markers that an INI reader would cut or split.
pub fn is_storable(value: &str) -> bool {
    // After `key = `, a leading `#` or `;` would start a comment: the SDKs would
    // read an empty value.
    !value.is_empty()
        && !value.starts_with(['#', ';'])
        && value.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use chrono::TimeZone;

    fn creds(id: &str) -> RoleCredentials {
        RoleCredentials {
            access_key_id: id.into(),
            secret_access_key: Secret::new("sk"),
            session_token: Secret::new("st"),
            expiration: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn classifies_entries() {
        let file = CredentialsFile::parse(
            "[keys]\naws_access_key_id = AKIA\naws_secret_access_key = x\n\
             [fresh]\naws_access_key_id = ASIA\naws_session_token = t\naws_credential_expiration = 2030-01-01T00:00:00Z\n\
             [yawsso]\naws_access_key_id = ASIA\naws_session_token = t\naws_session_expiration = 2030-01-01T00:00:00+0000\n\
             [old]\naws_access_key_id = ASIA\naws_session_token = t\naws_credential_expiration = 2020-01-01T00:00:00Z\n\
             [unknown]\naws_access_key_id = ASIA\naws_security_token = t\n\
             [profile nope]\naws_access_key_id = AKIA\n",
        )
        .unwrap();
        let now = Utc.with_ymd_and_hms(2029, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(file.state("keys", now), EntryState::LongTerm);
        assert!(matches!(file.state("fresh", now), EntryState::Fresh(_)));
        assert!(matches!(file.state("yawsso", now), EntryState::Fresh(_)));
        assert_eq!(file.state("old", now), EntryState::Stale);
        assert_eq!(file.state("unknown", now), EntryState::Stale);
        assert_eq!(file.state("nope", now), EntryState::Absent);
        assert_eq!(file.state("missing", now), EntryState::Absent);
    }

    #[test]
    fn writes_new_and_existing_entries() {
        let mut file = CredentialsFile::parse(
            "# mine\n[dev]\naws_access_key_id = OLD\naws_session_expiration = x\n",
        )
        .unwrap();
        file.write_entry("dev", &creds("NEW"), None);
        file.write_entry("new", &creds("N2"), Some("eu-west-1"));
        assert_eq!(
            file.render(),
            "# mine\n[dev]\naws_access_key_id = NEW\naws_session_expiration = 2030-01-01T00:00:00Z\n\
             aws_secret_access_key = sk\naws_session_token = st\naws_security_token = st\n\
             aws_credential_expiration = 2030-01-01T00:00:00Z\n\
             \n[new]\naws_access_key_id = N2\naws_secret_access_key = sk\naws_session_token = st\n\
             aws_security_token = st\naws_credential_expiration = 2030-01-01T00:00:00Z\nregion = eu-west-1\n"
        );
    }

    #[test]
    fn refuses_values_an_ini_reader_would_change() {
        assert!(is_storable("ASIA123+/="));
        for bad in ["", "a b", "a\nb", "a #b", "x\r", "\u{e9}", "#abc", ";abc"] {
            assert!(!is_storable(bad), "{bad:?}");
        }
    }

    #[test]
    fn cleans_only_entries_that_look_like_ours() {
        let mut file = CredentialsFile::parse(
            "# keep me\n[dev]\nregion = eu-west-1\naws_access_key_id = ASIA1\naws_secret_access_key = s\n\
             aws_session_token = t\naws_security_token = t\naws_credential_expiration = 2030-01-01T00:00:00Z\n\
             \n[prod]\naws_access_key_id = AKIA\naws_secret_access_key = s\n\
             \n[other]\naws_access_key_id = ASIA2\naws_session_token = t\n",
        )
        .unwrap();
        let cleaned: Vec<&str> = ["dev", "prod", "other", "absent"]
            .into_iter()
            .filter(|name| file.remove_ours(name, false))
            .collect();
        assert_eq!(cleaned, ["dev"]);
        assert_eq!(
            file.render(),
            "# keep me\n[dev]\nregion = eu-west-1\n\
             \n[prod]\naws_access_key_id = AKIA\naws_secret_access_key = s\n\
             \n[other]\naws_access_key_id = ASIA2\naws_session_token = t\n"
        );
    }

    #[test]
    fn cleaning_removes_the_sections_it_empties() {
        let text = "[keep]\nx = 1\n";
        let mut file = CredentialsFile::parse(text).unwrap();
        file.write_entry("dev", &creds("ASIA1"), None);
        file.write_entry("renamed", &creds("ASIA2"), None);
        let mut file = CredentialsFile::parse(&file.render()).unwrap();
        assert!(file.remove_ours("dev", false));
        assert!(file.remove_ours("renamed", true));
        assert_eq!(file.render(), text, "back to the file before ssosync wrote");
        // Recorded or not, a section without our keys is left alone.
        assert!(!file.remove_ours("keep", true));
        assert_eq!(file.render(), text);
    }
}
