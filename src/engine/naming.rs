//! How `populate` names the profiles it writes: a template with fields
//! (`{account_name}.{role_name}` by default), each value normalised to the
//! characters every SDK accepts in a profile name, and names that two accounts
//! share made unique with the account id. A pure function of the listing, so
//! the same listing always gives the same names.
//!
//! The Rust SDK ignores a profile whose name has a character outside
//! `[A-Za-z0-9_\-/.%@:+]`; botocore splits `[profile NAME]` with shlex, so
//! whitespace and quotes would break it too. Names use only that set, and never
//! start with `-` (the AWS CLI would read `--profile -x` as an option).

use std::collections::{BTreeMap, BTreeSet};

/// The template `--template` defaults to.
pub const DEFAULT_TEMPLATE: &str = "{account_name}.{role_name}";

/// What a template field stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    AccountName,
    AccountId,
    AccountEmail,
    RoleName,
    Session,
}

const FIELDS: [(&str, Field); 5] = [
    ("account_name", Field::AccountName),
    ("account_id", Field::AccountId),
    ("account_email", Field::AccountEmail),
    ("role_name", Field::RoleName),
    ("session", Field::Session),
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(Field),
}

/// A parsed `--template`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// One (account, role) to name.
#[derive(Clone, Debug)]
pub struct Assignment<'a> {
    pub account_id: &'a str,
    pub account_name: &'a str,
    pub account_email: &'a str,
    pub role_name: &'a str,
    /// The sso-session's name; for a legacy sign-in, its start URL's first host label.
    pub session: &'a str,
}

impl Template {
    /// Parses `text`; the error says what is wrong and lists the fields.
    pub fn parse(text: &str) -> Result<Template, String> {
        let known = || {
            FIELDS
                .iter()
                .map(|(name, _)| format!("{{{name}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            let (before, from) = rest.split_at(open);
            if !before.is_empty() {
                parts.push(Part::Text(before.to_string()));
            }
            if from.starts_with('}') {
                return Err(format!(
                    "template `{text}` has a `}}` without its `{{`; the fields are {}",
                    known()
                ));
            }
            let Some(close) = from.find('}') else {
                return Err(format!(
                    "template `{text}` has a `{{` without its `}}`; the fields are {}",
                    known()
                ));
            };
            let name = from.get(1..close).unwrap_or_default();
            let Some((_, field)) = FIELDS.iter().find(|(n, _)| *n == name) else {
                return Err(format!(
                    "template `{text}` names an unknown field `{{{name}}}`; the fields are {}",
                    known()
                ));
            };
            parts.push(Part::Field(*field));
            rest = from.get(close + 1..).unwrap_or_default();
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        if !parts.iter().any(|p| matches!(p, Part::Field(_))) {
            return Err(format!(
                "template `{text}` has no field, so every profile would get the same name; use some of {}",
                known()
            ));
        }
        Ok(Template { parts })
    }

    /// The name of one assignment, before duplicates are resolved.
    fn apply(&self, a: &Assignment<'_>) -> String {
        let mut name = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => push_normalised(&mut name, text),
                Part::Field(field) => {
                    let value = match field {
                        Field::AccountName => a.account_name,
                        Field::AccountId => a.account_id,
                        Field::AccountEmail => a.account_email,
                        Field::RoleName => a.role_name,
                        Field::Session => a.session,
                    };
                    let mut normal = normalise(value);
                    // An account name of nothing but characters no SDK takes
                    // (`開発`) is named by its id instead.
                    if normal.is_empty() && *field == Field::AccountName {
                        normal = normalise(a.account_id);
                    }
                    push_normalised(&mut name, &normal);
                }
            }
        }
        let name = name.trim_start_matches('-');
        if name.is_empty() {
            normalise(&format!("{}.{}", a.account_id, a.role_name))
        } else {
            name.to_string()
        }
    }
}

/// Names for `assignments`, in their order, and a warning per name that
/// several of them shared. Two accounts giving the same name both get
/// `-ACCOUNT_ID` appended; names still shared after that (two roles of one
/// account, or one account reached twice) get `-2`, `-3`, … in order.
pub fn name_all(template: &Template, assignments: &[Assignment<'_>]) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<String> = assignments.iter().map(|a| template.apply(a)).collect();
    let mut warnings = Vec::new();
    for (name, members) in groups(&names) {
        let accounts: BTreeSet<&str> = members
            .iter()
            .filter_map(|&i| assignments.get(i).map(|a| a.account_id))
            .collect();
        if accounts.len() < 2 {
            continue;
        }
        let listed: Vec<String> = members
            .iter()
            .filter_map(|&i| assignments.get(i))
            .map(|a| format!("{} ({})", a.account_name, a.account_id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        warnings.push(format!(
            "accounts {} all give the profile name `{name}`; each of their profiles gets its account id appended",
            listed.join(", ")
        ));
        for &i in &members {
            if let (Some(n), Some(a)) = (names.get_mut(i), assignments.get(i)) {
                n.push('-');
                n.push_str(&normalise(a.account_id));
            }
        }
    }
    // Still shared (or now shared with another name): numbered, until unique.
    for _ in 0..4 {
        let shared = groups(&names);
        if shared.is_empty() {
            break;
        }
        for (name, members) in shared {
            warnings.push(format!(
                "{} roles give the profile name `{name}` (the template `{}` does not tell them apart); they are numbered `{name}-1` to `{name}-{}`",
                members.len(),
                template.text(),
                members.len()
            ));
            for (k, &i) in members.iter().enumerate() {
                if let Some(n) = names.get_mut(i) {
                    n.push_str(&format!("-{}", k + 1));
                }
            }
        }
    }
    (names, warnings)
}

impl Template {
    /// The template as it was written.
    pub fn text(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Field(f) => FIELDS
                    .iter()
                    .find(|(_, g)| g == f)
                    .map(|(n, _)| format!("{{{n}}}"))
                    .unwrap_or_default(),
            })
            .collect()
    }
}

/// Names that more than one index shares, with those indexes in order.
fn groups(names: &[String]) -> Vec<(String, Vec<usize>)> {
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        by_name.entry(name).or_default().push(i);
    }
    by_name
        .into_iter()
        .filter(|(_, members)| members.len() > 1)
        .map(|(name, members)| (name.to_string(), members))
        .collect()
}

/// `value` in the characters every SDK accepts: accented Latin letters lose
/// their accents, each run of other characters becomes one `-` (merged with a
/// `-` beside it), and no `-` is left at either end.
pub fn normalise(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_normalised(&mut out, value);
    out.trim_matches('-').to_string()
}

/// Appends `text` normalised (but not trimmed) to `out`.
fn push_normalised(out: &mut String, text: &str) {
    // Whether the last character pushed stands for characters replaced.
    let mut replaced = out.ends_with('-');
    for c in text.chars() {
        let mut buf = [0; 4];
        let folded: &str = if c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c) {
            c.encode_utf8(&mut buf)
        } else {
            fold(c)
        };
        if folded.is_empty() {
            if !out.ends_with('-') {
                out.push('-');
            }
            replaced = true;
            continue;
        }
        for f in folded.chars() {
            if f == '-' && replaced && out.ends_with('-') {
                continue;
            }
            out.push(f);
            replaced = false;
        }
    }
}

/// A non-ASCII letter without its accent (`é` → `e`, `ß` → `ss`); nothing for
/// any other character.
fn fold(c: char) -> &'static str {
    match c {
        'À'..='Å' => "A",
        'Æ' => "AE",
        'Ç' => "C",
        'È'..='Ë' => "E",
        'Ì'..='Ï' => "I",
        'Ð' => "D",
        'Ñ' => "N",
        'Ò'..='Ö' | 'Ø' => "O",
        'Ù'..='Ü' => "U",
        'Ý' => "Y",
        'Þ' => "TH",
        'ß' => "ss",
        'à'..='å' => "a",
        'æ' => "ae",
        'ç' => "c",
        'è'..='ë' => "e",
        'ì'..='ï' => "i",
        'ð' => "d",
        'ñ' => "n",
        'ò'..='ö' | 'ø' => "o",
        'ù'..='ü' => "u",
        'ý' | 'ÿ' => "y",
        'þ' => "th",
        'Ā' | 'Ă' | 'Ą' => "A",
        'ā' | 'ă' | 'ą' => "a",
        'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
        'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'Ď' | 'Đ' => "D",
        'ď' | 'đ' => "d",
        'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => "E",
        'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "G",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'Ĥ' | 'Ħ' => "H",
        'ĥ' | 'ħ' => "h",
        'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "I",
        'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'Ĵ' => "J",
        'ĵ' => "j",
        'Ķ' => "K",
        'ķ' => "k",
        'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "L",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'Ń' | 'Ņ' | 'Ň' => "N",
        'ń' | 'ņ' | 'ň' => "n",
        'Ō' | 'Ŏ' | 'Ő' => "O",
        'ō' | 'ŏ' | 'ő' => "o",
        'Œ' => "OE",
        'œ' => "oe",
        'Ŕ' | 'Ŗ' | 'Ř' => "R",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'Ś' | 'Ŝ' | 'Ş' | 'Š' => "S",
        'ś' | 'ŝ' | 'ş' | 'š' => "s",
        'Ţ' | 'Ť' | 'Ŧ' => "T",
        'ţ' | 'ť' | 'ŧ' => "t",
        'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => "U",
        'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'Ŵ' => "W",
        'ŵ' => "w",
        'Ŷ' | 'Ÿ' => "Y",
        'ŷ' => "y",
        'Ź' | 'Ż' | 'Ž' => "Z",
        'ź' | 'ż' | 'ž' => "z",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::profile_file::is_valid_identifier;

    /// A name populate could have produced: allowed characters only, no leading `-`.
    fn is_generated_shape(name: &str) -> bool {
        is_valid_identifier(name) && !name.starts_with('-')
    }

    fn a<'x>(id: &'x str, name: &'x str, role: &'x str) -> Assignment<'x> {
        Assignment {
            account_id: id,
            account_name: name,
            account_email: "ops+aws@example.com",
            role_name: role,
            session: "corp",
        }
    }

    #[test]
    fn normalises_to_what_every_sdk_accepts() {
        for (raw, want) in [
            ("Prod EU", "Prod-EU"),
            ("Prod - EU (old)", "Prod-EU-old"),
            ("Zürich Dév", "Zurich-Dev"),
            ("Straße", "Strasse"),
            ("開発", ""),
            ("a/b.c@d:e+f%g_h", "a/b.c@d:e+f%g_h"),
            ("--x--", "x"),
            ("quote\"s and 'ticks'", "quote-s-and-ticks"),
            ("tab\there", "tab-here"),
            ("a--b", "a--b"),
        ] {
            let got = normalise(raw);
            assert_eq!(got, want, "{raw:?}");
            assert!(got.is_empty() || is_generated_shape(&got), "{got:?}");
        }
    }

    #[test]
    fn applies_templates() {
        let t = Template::parse(DEFAULT_TEMPLATE).unwrap();
        let (names, warnings) = name_all(
            &t,
            &[a("111", "Prod EU", "Admin"), a("222", "開発", "ReadOnly")],
        );
        assert_eq!(names, ["Prod-EU.Admin", "222.ReadOnly"]);
        assert!(warnings.is_empty());
        let t = Template::parse("{session}/{account_id} {role_name}@{account_email}").unwrap();
        let (names, _) = name_all(&t, &[a("111", "x", "Dev")]);
        assert_eq!(names, ["corp/111-Dev@ops+aws@example.com"]);
        assert_eq!(
            t.text(),
            "{session}/{account_id} {role_name}@{account_email}"
        );
        for bad in ["{nope}", "{account_name", "x}", "plain", ""] {
            let err = Template::parse(bad).unwrap_err();
            assert!(err.contains("{account_name}"), "{bad}: {err}");
        }
    }

    #[test]
    fn shared_names_get_the_account_id_then_a_number() {
        let t = Template::parse(DEFAULT_TEMPLATE).unwrap();
        let list = [
            a("111", "Sandbox", "Dev"),
            a("222", "Sandbox", "Dev"),
            a("222", "Sandbox", "Admin"),
            a("333", "Other", "Dev Ops"),
            a("333", "Other", "Dev-Ops"),
        ];
        let (names, warnings) = name_all(&t, &list);
        assert_eq!(
            names,
            [
                "Sandbox.Dev-111",
                "Sandbox.Dev-222",
                "Sandbox.Admin",
                "Other.Dev-Ops-1",
                "Other.Dev-Ops-2"
            ]
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("Sandbox (111), Sandbox (222)"),
            "{warnings:?}"
        );
        // The same listing, the same names.
        assert_eq!(name_all(&t, &list).0, names);
    }
}
