//! The ledger: which entries of a credentials file ssosync wrote, from which
//! profile, and how long the credentials the portal gave for them last. It is
//! a small JSON file beside the credentials file (`.credentials.ssosync.json`,
//! 0600), written with the safe write while the credentials file's own lock is
//! held, so it changes in step with the file.
//!
//! Why a file of our own rather than a marker key in each entry: the SDKs
//! tolerate unknown keys, but every tool that reads `~/.aws/credentials` would
//! show ours, and a copied section would carry a claim that is no longer true.
//! A record names the access key id it was written with, and is believed only
//! while the entry still holds that key: an entry someone else rewrote is not
//! ours any more, whatever the ledger says. A missing or unreadable ledger only
//! costs what it adds (renamed entries for `logout --clean`, lifetimes for
//! `--min-ttl`); nothing depends on it for safety.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, anyhow};
use serde_json::{Map, Value, json};

use crate::config::environment::read_optional;
use crate::store::apply::UserFile;
use crate::store::credentials::CredentialsFile;
use crate::store::safe_write::{self, FileLock};

const VERSION: u64 = 1;

/// One entry ssosync wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The config profile it came from (`dev` for `-p dev:default`).
    pub profile: String,
    /// The access key id written; the record holds while the entry has it.
    pub access_key_id: String,
    /// How long the credentials lasted when issued.
    pub lifetime: Option<Duration>,
}

/// The records of one credentials file, by target section name.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    entries: BTreeMap<String, Record>,
}

/// Where the ledger of the credentials file `credentials` lives.
pub fn path_of(credentials: &Path) -> Result<PathBuf> {
    let name = credentials
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("{} has no usable file name", credentials.display()))?;
    Ok(credentials.with_file_name(format!(".{name}.ssosync.json")))
}

impl Ledger {
    /// The ledger of `file` as it is on disk: empty when there is none. One that
    /// cannot be read is empty too, with a warning saying what it costs.
    pub fn read(file: &UserFile, warnings: &mut Vec<String>) -> Ledger {
        let Ok(path) = path_of(&file.path) else {
            return Ledger::default();
        };
        let shown = shown(file);
        match read_optional(&path, &shown) {
            Ok(Some(text)) => match Ledger::parse(&text) {
                Some(ledger) => ledger,
                None => {
                    warnings.push(format!(
                        "{shown} is not a ledger ssosync can read; it is rewritten on the next write (until then `logout --clean` finds only entries under their own names)"
                    ));
                    Ledger::default()
                }
            },
            Ok(None) => Ledger::default(),
            Err(e) => {
                warnings.push(format!("{e:#}; ssosync goes on without its ledger"));
                Ledger::default()
            }
        }
    }

    fn parse(text: &str) -> Option<Ledger> {
        let doc: Value = serde_json::from_str(text).ok()?;
        if doc.get("version")?.as_u64()? != VERSION {
            return None;
        }
        let mut entries = BTreeMap::new();
        for (target, record) in doc.get("entries")?.as_object()? {
            let text = |key: &str| record.get(key).and_then(Value::as_str).map(str::to_string);
            let (Some(profile), Some(access_key_id)) = (text("profile"), text("access_key_id"))
            else {
                continue;
            };
            let lifetime = record
                .get("lifetime_seconds")
                .and_then(Value::as_u64)
                .map(Duration::from_secs);
            entries.insert(
                target.clone(),
                Record {
                    profile,
                    access_key_id,
                    lifetime,
                },
            );
        }
        Some(Ledger { entries })
    }

    fn render(&self) -> String {
        let entries: Map<String, Value> = self
            .entries
            .iter()
            .map(|(target, r)| {
                let mut record = json!({
                    "profile": r.profile,
                    "access_key_id": r.access_key_id,
                });
                if let (Some(lifetime), Some(fields)) = (r.lifetime, record.as_object_mut()) {
                    fields.insert("lifetime_seconds".into(), json!(lifetime.as_secs()));
                }
                (target.clone(), record)
            })
            .collect();
        format!(
            "{}\n",
            json!({"version": VERSION, "entries": Value::Object(entries)})
        )
    }

    /// The record of `target`, if it still describes the entry in `file`.
    pub fn record(&self, target: &str, file: &CredentialsFile) -> Option<&Record> {
        let record = self.entries.get(target)?;
        (file.access_key_id(target).as_deref() == Some(record.access_key_id.as_str()))
            .then_some(record)
    }

    /// The targets written from profile `profile` under another name, whose
    /// entries in `file` are still the ones written.
    pub fn renamed_from<'a>(
        &'a self,
        profile: &'a str,
        file: &'a CredentialsFile,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(target, r)| {
                r.profile == profile
                    && target.as_str() != profile
                    && self.record(target, file).is_some()
            })
            .map(|(target, _)| target.as_str())
    }

    pub fn set(&mut self, target: &str, record: Record) {
        self.entries.insert(target.to_string(), record);
    }

    pub fn forget(&mut self, target: &str) {
        self.entries.remove(target);
    }

    /// Writes the ledger of `file` safely. `_held` is `file`'s own lock: the
    /// ledger changes only while the credentials file cannot.
    pub fn write(&self, file: &UserFile, _held: &FileLock) -> Result<()> {
        let path = path_of(&file.path)?;
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            return Err(anyhow!(
                "{} is not a regular file; move it away",
                shown(file)
            ));
        }
        safe_write::remove_stale_temp_files(&path);
        safe_write::stage_private(&path, &self.render())?.commit()
    }
}

/// How messages name the ledger of `file`: `~/.aws/.credentials.ssosync.json`.
pub fn shown(file: &UserFile) -> String {
    path_of(Path::new(&file.shown)).map_or_else(|_| file.shown.clone(), |p| p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_writes_and_believes_only_matching_entries() {
        let mut ledger = Ledger::default();
        ledger.set(
            "default",
            Record {
                profile: "dev".into(),
                access_key_id: "ASIA1".into(),
                lifetime: Some(Duration::from_secs(3600)),
            },
        );
        ledger.set(
            "dev",
            Record {
                profile: "dev".into(),
                access_key_id: "ASIA2".into(),
                lifetime: None,
            },
        );
        let back = Ledger::parse(&ledger.render()).unwrap();
        assert_eq!(back.entries, ledger.entries);

        let file = CredentialsFile::parse(
            "[default]\naws_access_key_id = ASIA1\n[dev]\naws_access_key_id = OTHER\n",
        )
        .unwrap();
        assert!(back.record("default", &file).is_some());
        assert!(
            back.record("dev", &file).is_none(),
            "rewritten by someone else"
        );
        assert_eq!(
            back.renamed_from("dev", &file).collect::<Vec<_>>(),
            ["default"]
        );
        for bad in [
            "",
            "[]",
            "{\"version\":2,\"entries\":{}}",
            "{\"version\":1}",
        ] {
            assert!(Ledger::parse(bad).is_none(), "{bad}");
        }
    }
}
