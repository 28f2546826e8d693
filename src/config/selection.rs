//! Which profiles a run syncs, and under which names: `-p SRC[:DST]`, globs, defaults.

use std::collections::BTreeMap;

use anyhow::anyhow;

use crate::config::environment::Environment;
use crate::config::profile_file::is_valid_identifier;
use crate::config::profiles::{ProfileConfig, ProfileKind};
use crate::exit::Fatal;

/// One entry to produce: config profile `source` written as `[target]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub source: String,
    pub target: String,
}

/// A `--profile` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileSpec {
    pub pattern: String,
    pub rename: Option<String>,
}

impl ProfileSpec {
    /// `SRC` or `SRC:DST`. A whole argument that names a config profile is taken as
    /// that name, since `:` is legal in profile names.
    pub fn parse(arg: &str, config: &ProfileConfig) -> Self {
        if config.get(arg).is_some() {
            return ProfileSpec {
                pattern: arg.to_string(),
                rename: None,
            };
        }
        match arg.split_once(':') {
            Some((src, dst)) => ProfileSpec {
                pattern: src.to_string(),
                rename: Some(dst.to_string()),
            },
            None => ProfileSpec {
                pattern: arg.to_string(),
                rename: None,
            },
        }
    }

    fn is_glob(&self) -> bool {
        self.pattern.contains(['*', '?'])
    }
}

/// Selection errors are usage errors (exit 2): nothing is synced.
/// `-p` arguments to targets; none means every SSO and chained profile. A
/// selection that finds no profile at all is an error naming the config file.
pub fn resolve(
    profiles: &[String],
    config: &ProfileConfig,
    env: &Environment,
) -> Result<Vec<Target>, Fatal> {
    let specs: Vec<ProfileSpec> = profiles
        .iter()
        .map(|p| ProfileSpec::parse(p, config))
        .collect();
    let targets = select(&specs, config).map_err(Fatal::Usage)?;
    if targets.is_empty() {
        let shown = env.display_path(&env.config_path()?);
        return Err(Fatal::Other(anyhow!(
            "no SSO profiles in {shown}; add them with `ssosync populate` or `aws configure sso`"
        )));
    }
    Ok(targets)
}

pub fn select(specs: &[ProfileSpec], config: &ProfileConfig) -> Result<Vec<Target>, String> {
    if specs.is_empty() {
        return Ok(config
            .sso_names()
            .map(|n| Target {
                source: n.to_string(),
                target: n.to_string(),
            })
            .collect());
    }
    // target name → target, so two sources for one destination are caught.
    let mut chosen: BTreeMap<String, Target> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for spec in specs {
        let matches: Vec<(String, String)> = if spec.is_glob() {
            if spec.rename.is_some() {
                return Err(format!(
                    "`{}:{}`: a glob cannot be renamed; name one profile to use `:DST`",
                    spec.pattern,
                    spec.rename.as_deref().unwrap_or_default()
                ));
            }
            let found: Vec<_> = config
                .sso_names()
                .filter(|n| glob_match(&spec.pattern, n))
                .map(|n| (n.to_string(), n.to_string()))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "no SSO profile matches `{}`; `ssosync status` lists them",
                    spec.pattern
                ));
            }
            found
        } else {
            match config.get(&spec.pattern) {
                None => {
                    return Err(format!(
                        "profile `{}` is not in the config file; `ssosync status` lists the SSO profiles",
                        spec.pattern
                    ));
                }
                Some(ProfileKind::Other(_)) | Some(ProfileKind::TokenOnly) => {
                    // Named explicitly: reported per profile, not a usage error.
                }
                Some(_) => {}
            }
            let target = spec.rename.clone().unwrap_or_else(|| spec.pattern.clone());
            if !is_valid_identifier(&target) {
                return Err(format!(
                    "`{target}` is not a valid credentials profile name (letters, digits and _-/.%@:+ only)"
                ));
            }
            vec![(spec.pattern.clone(), target)]
        };
        for (source, target) in matches {
            match chosen.get(&target) {
                Some(existing) if existing.source != source => {
                    return Err(format!(
                        "profiles `{}` and `{source}` would both be written as [{target}]; rename one with SRC:DST",
                        existing.source
                    ));
                }
                Some(_) => {}
                None => {
                    order.push(target.clone());
                    chosen.insert(target.clone(), Target { source, target });
                }
            }
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|t| chosen.remove(&t))
        .collect())
}

/// `*` matches any run of characters, `?` any one character: all `-p` needs, so
/// no glob crate (their `[…]` classes and path rules would surprise here).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while let Some(&c) = n.get(ni) {
        let at = p.get(pi).copied();
        if at == Some('?') || at == Some(c) {
            pi += 1;
            ni += 1;
        } else if at == Some('*') {
            backtrack = Some((pi, ni));
            pi += 1;
        } else if let Some((bp, bn)) = backtrack {
            pi = bp + 1;
            ni = bn + 1;
            backtrack = Some((bp, bn + 1));
        } else {
            return false;
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::profile_file::ProfileFile;

    fn config() -> ProfileConfig {
        let mut text =
            String::from("[profile plain]\nregion = x\n[profile a:b]\nsso_session = s\n");
        for name in ["lab1", "lab2", "prod", "dev"] {
            text.push_str(&format!(
                "[profile {name}]\nsso_start_url = https://x\nsso_region = r\nsso_account_id = 1\nsso_role_name = R\n"
            ));
        }
        ProfileConfig::from_file(&ProfileFile::parse(&text).unwrap())
    }

    fn names(targets: &[Target]) -> Vec<String> {
        targets
            .iter()
            .map(|t| format!("{}>{}", t.source, t.target))
            .collect()
    }

    fn run(args: &[&str]) -> Result<Vec<String>, String> {
        let c = config();
        let specs: Vec<_> = args.iter().map(|a| ProfileSpec::parse(a, &c)).collect();
        select(&specs, &c).map(|t| names(&t))
    }

    #[test]
    fn selects_all_globs_and_renames() {
        // `a:b` is misconfigured (undefined session): selected, so it gets reported.
        assert_eq!(
            run(&[]).unwrap(),
            ["a:b>a:b", "dev>dev", "lab1>lab1", "lab2>lab2", "prod>prod"]
        );
        assert_eq!(
            run(&["lab*", "prod"]).unwrap(),
            ["lab1>lab1", "lab2>lab2", "prod>prod"]
        );
        assert_eq!(run(&["dev:default"]).unwrap(), ["dev>default"]);
        assert_eq!(run(&["lab?", "lab1"]).unwrap(), ["lab1>lab1", "lab2>lab2"]);
        assert_eq!(run(&["a:b"]).unwrap(), ["a:b>a:b"]);
        assert_eq!(run(&["plain"]).unwrap(), ["plain>plain"]);
    }

    #[test]
    fn rejects_bad_selections() {
        assert!(run(&["nope"]).unwrap_err().contains("`nope`"));
        assert!(run(&["zz*"]).unwrap_err().contains("`zz*`"));
        assert!(run(&["lab*:x"]).unwrap_err().contains("cannot be renamed"));
        assert!(
            run(&["dev:x", "prod:x"])
                .unwrap_err()
                .contains("both be written as [x]")
        );
        assert!(run(&["dev:profile x"]).unwrap_err().contains("not a valid"));
    }

    #[test]
    fn globs() {
        assert!(glob_match("lab*", "lab"));
        assert!(glob_match("*-prod", "eu-prod"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b", "ac"));
        assert!(glob_match("?", "x"));
        assert!(!glob_match("?", ""));
    }
}
