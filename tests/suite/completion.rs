//! Completion of profile and session names in real shells: bash, zsh and fish
//! load the script `ssosync completions SHELL` prints and complete `-p` and
//! `--sso-session` of every command from the config. A shell that is not
//! installed is skipped, visibly (`.ci/run` installs all three).

// The real shells' tests are Unix-only; their helpers have no other user there.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

use crate::common::{Home, skip};

/// Two sessions; SSO profiles `dev`, `prod` and a chain `admin`; `plain` has
/// nothing to sync and is never offered.
const CONFIG: &str = "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\
[sso-session lab]\nsso_start_url = https://lab.awsapps.com/start\nsso_region = eu-west-1\n\
[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Dev\n\
[profile prod]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = Admin\n\
[profile admin]\nrole_arn = arn:aws:iam::444444444444:role/Admin\nsource_profile = dev\n\
[profile plain]\nregion = us-west-2\n";

const PROFILES: &[&str] = &["admin", "dev", "prod"];
const SESSIONS: &[&str] = &["corp", "lab"];

/// Command lines to complete at their end, and what they must offer.
fn cases() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut cases: Vec<(&str, Vec<&str>)> = vec![
        ("ssosync -p ", PROFILES.to_vec()),
        ("ssosync --profile ", PROFILES.to_vec()),
        ("ssosync -p d", vec!["dev"]),
        ("ssosync sync -p ", PROFILES.to_vec()),
        ("ssosync export -p ", PROFILES.to_vec()),
        ("ssosync process --profile p", vec!["prod"]),
        ("ssosync status -p ", PROFILES.to_vec()),
        ("ssosync watch -p a", vec!["admin"]),
        ("ssosync login -p ", PROFILES.to_vec()),
        ("ssosync logout -p ", PROFILES.to_vec()),
        ("ssosync login --sso-session ", SESSIONS.to_vec()),
        ("ssosync logout --sso-session l", vec!["lab"]),
    ];
    cases.sort();
    cases
}

fn home() -> Home {
    let home = Home::bare();
    home.write(".aws/config", CONFIG);
    home
}

#[cfg(unix)]
fn installed(shell: &str) -> bool {
    std::process::Command::new(shell)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_names_come_from_the_config_without_the_network() {
    let home = home();
    let run = home.run(&["__complete", "profiles"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "admin\ndev\nprod\n"),
        "{run:?}"
    );
    let run = home.run(&["__complete", "sessions"]);
    assert_eq!(run.stdout, "corp\nlab\n");
    assert_eq!(home.portal.request_count(), 0);
    // No config: nothing to offer, and nothing to complain about.
    let bare = Home::bare();
    let run = bare.run(&["__complete", "profiles"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
}

// The real bash from Debian's packages: Unix.
#[cfg(unix)]
#[test]
fn bash_completes_profile_and_session_names() {
    if !installed("bash") {
        return skip(
            "bash_completes_profile_and_session_names",
            "bash is not installed",
        );
    }
    let home = home();
    for (line, want) in cases() {
        // What bash does on TAB: the words so far, the one being completed last.
        let script = format!(
            "source <(ssosync completions bash)\n\
             read -ra COMP_WORDS <<< {line:?}\n\
             [[ {line:?} == *' ' ]] && COMP_WORDS+=('')\n\
             COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n\
             COMP_LINE={line:?}; COMP_POINT=${{#COMP_LINE}}\n\
             _ssosync ssosync \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"\n"
        );
        let (code, out, err) = home.shell("bash", &[], &script);
        assert_eq!(code, 0, "{line}: {err}");
        let mut got: Vec<&str> = out.lines().collect();
        got.sort_unstable();
        assert_eq!(got, want, "bash: `{line}<TAB>`: {err}");
    }
}

// The real fish from Debian's packages: Unix.
#[cfg(unix)]
#[test]
fn fish_completes_profile_and_session_names() {
    if !installed("fish") {
        return skip(
            "fish_completes_profile_and_session_names",
            "fish is not installed (apt-get install fish)",
        );
    }
    let home = home();
    let mut script = String::from("ssosync completions fish | source\n");
    for (line, _) in cases() {
        script.push_str(&format!("echo '== {line}'; complete -C '{line}'\n"));
    }
    let (code, out, err) = home.shell("fish", &["--no-config"], &script);
    assert_eq!(code, 0, "{err}");
    for (line, want) in cases() {
        let block = out
            .split(&format!("== {line}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("{out}"));
        let mut got: Vec<&str> = block
            .lines()
            .take_while(|l| !l.starts_with("== "))
            .map(|l| l.split('\t').next().unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, want, "fish: `{line}<TAB>`: {out}");
    }
}

/// Drives an interactive zsh in a pseudo-terminal (zsh's own `zpty`): loads
/// compinit and the script, presses TAB after the line, and prints every
/// candidate compsys adds, one `CAND:` line each.
const ZSH_CAPTURE: &str = r#"
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PROMPT=''; RPROMPT=''"
zpty -w z "fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi; local -a hits; builtin compadd -A hits "$@"; (( $#hits )) && print -rl -- "" "CAND:"${^hits}; builtin compadd "$@" }'
zpty -w z "print READY"
zpty -r z line '*READY*'
zpty -w -n z "$2"$'\t'
sleep 0.5
zpty -w z $'\C-u'"print DONE"
out=""
while zpty -r -t z chunk || sleep 0.1; do
  out+=$chunk
  [[ $out == *DONE*DONE* ]] && break
done
print -r -- "$out" | tr -d '\r' | sed -n 's/^CAND://p'
zpty -d z
"#;

// The real zsh from Debian's packages: Unix.
#[cfg(unix)]
#[test]
fn zsh_completes_profile_and_session_names() {
    if !installed("zsh") {
        return skip(
            "zsh_completes_profile_and_session_names",
            "zsh is not installed (apt-get install zsh)",
        );
    }
    let home = home();
    let run = home.run(&["completions", "zsh"]);
    home.write("zfunc/_ssosync", &run.stdout);
    home.write("capture.zsh", ZSH_CAPTURE);
    let zfunc = home.path("zfunc");
    let capture = home.path("capture.zsh");
    for (line, want) in cases() {
        let script = format!(
            "timeout 20 zsh -f {} {} {line:?}\n",
            capture.display(),
            zfunc.display()
        );
        let (code, out, err) = home.shell("bash", &[], &script);
        assert_eq!(code, 0, "{line}: {err}");
        let mut got: Vec<&str> = out.lines().collect();
        got.sort_unstable();
        got.dedup();
        assert_eq!(got, want, "zsh: `{line}<TAB>`: {out}{err}");
    }
}
