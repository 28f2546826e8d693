//! The profiles `ssosync populate` owns in the config file, and the rules for
//! changing them. A managed profile carries `ssosync_populated_from = NAME`
//! (its sso-session, or its start URL), a key the SDKs ignore. Only those are
//! ever changed: a profile of the same name without the marker (or with
//! another sign-in's) is a conflict and is left as it is. A managed profile is
//! updated in place, key by key, so keys and comments the user added to it
//! stay; new profiles are appended in name order, each after one blank line;
//! stale ones are removed only when asked, with the blank line they came with.

use std::collections::HashSet;

use crate::config::profile_file::{FileKind, ParseError, ProfileFile};
use crate::store::apply::Document;

/// The key that marks a profile as populate's.
pub const MARKER: &str = "ssosync_populated_from";

/// One key of a wanted profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WantedKey {
    pub key: &'static str,
    pub value: String,
    /// Whether an existing profile is brought in line with it (`false`: only a
    /// new profile gets it, e.g. `region` without `--region`).
    pub kept_in_step: bool,
}

/// A profile populate wants in the config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WantedProfile {
    pub name: String,
    /// The marker's value: the sign-in it comes from.
    pub from: String,
    /// In the order a new profile gets them; the marker comes last.
    pub keys: Vec<WantedKey>,
}

/// A managed profile of the file that no wanted profile has the name of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unwanted {
    pub name: String,
    pub from: String,
    pub account_id: Option<String>,
    pub role_name: Option<String>,
}

/// What happened (or, in a dry run, would happen) to one profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Added,
    Updated,
    Unchanged,
    /// Managed, no longer reached; kept (no `--prune`, or pruning was unsafe).
    Stale,
    Pruned,
    /// A profile of that name that populate does not own; left alone. Why.
    Conflict(String),
}

/// The plan's result for one profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub name: String,
    pub change: Change,
    /// For stale and pruned profiles: what the file says of them.
    pub unwanted: Option<Unwanted>,
}

/// Brings `doc` in line with `wanted` (sorted by name, names unique): adds,
/// updates, and leaves conflicts alone. A managed profile of a sign-in in
/// `populating` that is not wanted goes to `is_stale`: when that says it is
/// stale, it is removed if `prune`, else kept and reported. The result is in
/// name order.
pub fn plan(
    doc: &mut ProfileFile,
    wanted: &[WantedProfile],
    populating: &HashSet<String>,
    mut is_stale: impl FnMut(&Unwanted) -> bool,
    prune: bool,
) -> Vec<Planned> {
    let sections = doc.profile_section_numbers(FileKind::Config);
    let merged = doc.profile_set(FileKind::Config);
    let mut planned = Vec::with_capacity(wanted.len());
    let mut to_add = Vec::new();
    for w in wanted {
        let (Some(numbers), Some(props)) = (sections.get(&w.name), merged.profiles.get(&w.name))
        else {
            to_add.push(w);
            planned.push(Planned {
                name: w.name.clone(),
                change: Change::Added,
                unwanted: None,
            });
            continue;
        };
        let change = match props.get(MARKER) {
            None => Change::Conflict(format!(
                "a profile of that name exists without {MARKER}, so ssosync leaves it alone; rename it, or add `{MARKER} = {}` to hand it over",
                w.from
            )),
            Some(other) if other != w.from => Change::Conflict(format!(
                "a profile of that name was populated from {other}, not {}, so ssosync leaves it alone",
                w.from
            )),
            Some(_) => {
                let mut changed = false;
                for k in w.keys.iter().filter(|k| k.kept_in_step) {
                    if props.get(k.key) != Some(k.value.as_str()) {
                        doc.set_in(numbers, k.key, &k.value);
                        changed = true;
                    }
                }
                if changed {
                    Change::Updated
                } else {
                    Change::Unchanged
                }
            }
        };
        planned.push(Planned {
            name: w.name.clone(),
            change,
            unwanted: None,
        });
    }

    let names: HashSet<&str> = wanted.iter().map(|w| w.name.as_str()).collect();
    let mut unwanted: Vec<Unwanted> = merged
        .profiles
        .iter()
        .filter(|(name, _)| !names.contains(name.as_str()))
        .filter_map(|(name, props)| {
            let from = props.get(MARKER).filter(|f| populating.contains(*f))?;
            Some(Unwanted {
                name: name.clone(),
                from: from.to_string(),
                account_id: props.get("sso_account_id").map(str::to_string),
                role_name: props.get("sso_role_name").map(str::to_string),
            })
        })
        .collect();
    unwanted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut doomed: Vec<usize> = Vec::new();
    for u in unwanted {
        if !is_stale(&u) {
            continue;
        }
        let change = if prune {
            doomed.extend(sections.get(&u.name).into_iter().flatten());
            Change::Pruned
        } else {
            Change::Stale
        };
        planned.push(Planned {
            name: u.name.clone(),
            change,
            unwanted: Some(u),
        });
    }
    // Last first: a removal renumbers the sections after it.
    doomed.sort_unstable();
    doomed.dedup();
    for s in doomed.into_iter().rev() {
        doc.remove_section(s);
    }
    for w in to_add {
        let mut entries: Vec<(&str, &str)> =
            w.keys.iter().map(|k| (k.key, k.value.as_str())).collect();
        entries.push((MARKER, &w.from));
        doc.append_section(&format!("profile {}", w.name), &entries);
    }
    planned.sort_by(|a, b| a.name.cmp(&b.name));
    planned
}

/// The config file is edited as it is, through the same write path as the
/// credentials file.
impl Document for ProfileFile {
    fn parse_owned(text: String) -> Result<Self, ParseError> {
        ProfileFile::parse_owned(text)
    }
    fn empty() -> Self {
        ProfileFile::empty()
    }
    fn text(&self) -> &str {
        self.text_as_parsed()
    }
    fn is_unchanged(&self) -> bool {
        self.renders_as(self.text_as_parsed())
    }
    fn render(&self) -> String {
        ProfileFile::render(self)
    }
    fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        ProfileFile::write_to(self, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(name: &str, account: &str, role: &str) -> WantedProfile {
        WantedProfile {
            name: name.into(),
            from: "corp".into(),
            keys: vec![
                WantedKey {
                    key: "sso_session",
                    value: "corp".into(),
                    kept_in_step: true,
                },
                WantedKey {
                    key: "sso_account_id",
                    value: account.into(),
                    kept_in_step: true,
                },
                WantedKey {
                    key: "sso_role_name",
                    value: role.into(),
                    kept_in_step: true,
                },
                WantedKey {
                    key: "region",
                    value: "eu-west-1".into(),
                    kept_in_step: false,
                },
            ],
        }
    }

    fn changes(planned: &[Planned]) -> Vec<(&str, &Change)> {
        planned
            .iter()
            .map(|p| (p.name.as_str(), &p.change))
            .collect()
    }

    #[test]
    fn adds_updates_and_leaves_conflicts_alone() {
        let text = "# mine\r\n[profile hand]\r\nregion = x\r\n\r\n[profile b]\r\nsso_session = corp\r\nsso_account_id = 1\r\nsso_role_name = Old\r\noutput = json\r\nregion = us-east-2\r\nssosync_populated_from = corp\r\n";
        let mut doc = ProfileFile::parse(text).unwrap();
        let populating = HashSet::from(["corp".to_string()]);
        let planned = plan(
            &mut doc,
            &[
                wanted("a", "1", "Dev"),
                wanted("b", "1", "New"),
                wanted("hand", "2", "Dev"),
            ],
            &populating,
            |_| true,
            false,
        );
        assert!(matches!(
            changes(&planned)[..],
            [
                ("a", Change::Added),
                ("b", Change::Updated),
                ("hand", Change::Conflict(_))
            ]
        ));
        assert_eq!(
            doc.render(),
            "# mine\r\n[profile hand]\r\nregion = x\r\n\r\n[profile b]\r\nsso_session = corp\r\nsso_account_id = 1\r\nsso_role_name = New\r\noutput = json\r\nregion = us-east-2\r\nssosync_populated_from = corp\r\n\
             \r\n[profile a]\r\nsso_session = corp\r\nsso_account_id = 1\r\nsso_role_name = Dev\r\nregion = eu-west-1\r\nssosync_populated_from = corp\r\n"
        );
        // Again: nothing to do.
        let mut again = ProfileFile::parse(&doc.render()).unwrap();
        let planned = plan(
            &mut again,
            &[
                wanted("a", "1", "Dev"),
                wanted("b", "1", "New"),
                wanted("hand", "2", "Dev"),
            ],
            &populating,
            |_| true,
            false,
        );
        assert!(matches!(
            changes(&planned)[..],
            [
                ("a", Change::Unchanged),
                ("b", Change::Unchanged),
                ("hand", Change::Conflict(_))
            ]
        ));
        assert!(Document::is_unchanged(&again));
    }

    #[test]
    fn prunes_only_the_stale_profiles_of_the_sign_ins_populated() {
        let base = "[default]\nregion = x\n";
        let mut doc = ProfileFile::parse(base).unwrap();
        let populating = HashSet::from(["corp".to_string()]);
        let all = [
            wanted("a", "1", "Dev"),
            wanted("b", "2", "Dev"),
            wanted("c", "3", "Dev"),
        ];
        plan(&mut doc, &all, &populating, |_| true, false);
        let mut text = doc.render();
        text.push_str(
            "\n[profile other]\nsso_account_id = 9\nssosync_populated_from = elsewhere\n",
        );
        // b and c are gone; only c is judged stale.
        let mut doc = ProfileFile::parse(&text).unwrap();
        let planned = plan(&mut doc, &all[..1], &populating, |u| u.name == "c", false);
        assert!(matches!(
            changes(&planned)[..],
            [("a", Change::Unchanged), ("c", Change::Stale)]
        ));
        assert_eq!(
            planned[1].unwanted.as_ref().unwrap().account_id.as_deref(),
            Some("3")
        );
        assert!(Document::is_unchanged(&doc));
        let planned = plan(&mut doc, &all[..1], &populating, |u| u.name != "a", true);
        assert!(matches!(
            changes(&planned)[..],
            [
                ("a", Change::Unchanged),
                ("b", Change::Pruned),
                ("c", Change::Pruned)
            ]
        ));
        let (mut want, _) = (ProfileFile::parse(base).unwrap(), ());
        plan(&mut want, &all[..1], &populating, |_| true, false);
        let mut want = want.render();
        want.push_str(
            "\n[profile other]\nsso_account_id = 9\nssosync_populated_from = elsewhere\n",
        );
        assert_eq!(doc.render(), want);
    }
}
