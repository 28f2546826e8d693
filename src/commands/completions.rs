//! `ssosync completions SHELL`: the completion script, generated from the command
//! line, and the hidden `ssosync __complete profiles|sessions` it calls to offer
//! the names in the config for `-p`/`--profile` and `--sso-session`.
//!
//! clap_complete writes static scripts, in which a profile is any word (bash:
//! a file name). For bash, zsh and fish the script is rewritten where it
//! completes those options, to ask `ssosync __complete` instead: it reads only
//! the config file (no token, no network), so a TAB costs a few milliseconds and
//! always offers the names of the config as it is now. clap_complete's dynamic
//! completion would do the same from inside the binary, but only behind an
//! unstable feature; this keeps to the stable scripts and checks every rewrite
//! (the tests fail when a clap_complete update changes what they rewrite).

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, CompleteWhat};
use crate::config::environment::Environment;
use crate::config::profile_file::FileKind;
use crate::config::profiles::ProfileConfig;
use crate::exit::Exit;

/// `ssosync completions SHELL`: the script, generated from this command line.
pub fn print(shell: clap_complete::Shell) -> Exit {
    // A reader that stops early (`| head`) is no error.
    let _ = std::io::stdout().write_all(script(shell).as_bytes());
    Exit::Ok
}

/// `ssosync __complete profiles|sessions`: the names, one a line. Nothing (and
/// exit 0) when the config is missing or broken: a completion never complains.
pub fn names(what: CompleteWhat, env: &Environment) -> Exit {
    let Ok(file) = crate::config::read(env) else {
        return Exit::Ok;
    };
    let mut names: Vec<String> = match what {
        CompleteWhat::Profiles => ProfileConfig::from_file(&file)
            .sso_names()
            .map(str::to_string)
            .collect(),
        CompleteWhat::Sessions => file
            .profile_set(FileKind::Config)
            .sso_sessions
            .into_keys()
            .collect(),
    };
    names.sort_unstable();
    let mut out = String::new();
    for name in names {
        out.push_str(&name);
        out.push('\n');
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    Exit::Ok
}

fn script(shell: clap_complete::Shell) -> String {
    let mut command = Cli::command();
    let mut generated = Vec::new();
    clap_complete::generate(shell, &mut command, "ssosync", &mut generated);
    let generated = String::from_utf8_lossy(&generated);
    match shell {
        clap_complete::Shell::Bash => bash(&generated),
        clap_complete::Shell::Zsh => zsh(&generated),
        clap_complete::Shell::Fish => fish(&generated),
        _ => generated.into_owned(),
    }
}

const PROFILES: &str = "ssosync __complete profiles 2>/dev/null";
const SESSIONS: &str = "ssosync __complete sessions 2>/dev/null";

/// bash: each `case "${prev}"` arm of the options completes files; those of
/// `-p`, `--profile` and `--sso-session` complete the names instead.
fn bash(script: &str) -> String {
    let files = "\n                    COMPREPLY=($(compgen -f \"${cur}\"))";
    let mut out = script.to_string();
    for (arm, names) in [
        ("--profile)", PROFILES),
        ("-p)", PROFILES),
        ("--sso-session)", SESSIONS),
    ] {
        let from = format!("                {arm}{files}");
        let to = format!(
            "                {arm}\n                    COMPREPLY=($(compgen -W \"$({names})\" -- \"${{cur}}\"))"
        );
        out = out.replace(&from, &to);
    }
    out
}

/// zsh: the `_arguments` specs of those options end in `:_default`; they call a
/// function of ours that adds the names. Their message (`SRC[:DST]`) has its `:`
/// escaped, which clap_complete leaves bare (zsh then reads `DST]` as the action).
fn zsh(script: &str) -> String {
    let mut out = String::with_capacity(script.len() + 512);
    for line in script.split_inclusive('\n') {
        let spec = line.trim_start_matches('\'').trim_start_matches('*');
        let names = if spec.starts_with("-p+[") || spec.starts_with("--profile=[") {
            Some("_ssosync_profiles")
        } else if spec.starts_with("(-p --profile)--sso-session=[")
            || spec.starts_with("--sso-session=[")
        {
            Some("_ssosync_sessions")
        } else {
            None
        };
        let spec = names.and_then(|function| {
            let head = line.strip_suffix(":_default' \\\n")?;
            let (description, message) = head.rsplit_once("]:")?;
            let message = message.replace(':', "\\:");
            Some(format!("{description}]:{message}:{function}' \\\n"))
        });
        match spec {
            Some(spec) => out.push_str(&spec),
            None => out.push_str(line),
        }
        if line.starts_with("#compdef ") {
            out.push_str(&format!(
                "\n_ssosync_profiles() {{\n    local -a names\n    names=(${{(f)\"$({PROFILES})\"}})\n    compadd -a names\n}}\n\n_ssosync_sessions() {{\n    local -a names\n    names=(${{(f)\"$({SESSIONS})\"}})\n    compadd -a names\n}}\n"
            ));
        }
    }
    out
}

/// fish: the `complete` lines of those options take any word (`-r`); they get
/// the names as their arguments, and no file names.
fn fish(script: &str) -> String {
    let mut out = String::with_capacity(script.len() + 512);
    for line in script.split_inclusive('\n') {
        let names = if line.contains(" -s p -l profile ") {
            Some(PROFILES)
        } else if line.contains(" -l sso-session ") {
            Some(SESSIONS)
        } else {
            None
        };
        match names {
            Some(names) if line.trim_end().ends_with(" -r") => {
                out.push_str(line.trim_end());
                out.push_str(&format!(" -f -a \"({names})\"\n"));
            }
            _ => out.push_str(line),
        }
    }
    // Before a command (`ssosync -p <TAB>`) the conditions above cannot tell
    // where they are (fish's argparse fails on the unfinished `-p`): these can.
    out.push_str(&format!(
        "\n# The names after -p/--profile and --sso-session, wherever they come.\n\
         function __fish_ssosync_after\n    \
             set -l tokens (commandline -opc)\n    \
             contains -- $tokens[-1] $argv\n\
         end\n\
         complete -c ssosync -n \"__fish_ssosync_after -p --profile\" -f -a \"({PROFILES})\"\n\
         complete -c ssosync -n \"__fish_ssosync_after --sso-session\" -f -a \"({SESSIONS})\"\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap_complete::Shell;

    /// The commands with `-p/--profile`, and those with `--sso-session`.
    fn options() -> (usize, usize) {
        let root = Cli::command();
        let mut commands = vec![&root];
        commands.extend(root.get_subcommands());
        let has = |c: &&clap::Command, id: &str| c.get_arguments().any(|a| a.get_id() == id);
        let profile = commands
            .iter()
            .filter(|c| has(c, "profiles") || has(c, "profile"))
            .count();
        let session = commands
            .iter()
            .filter(|c| has(c, "sso_session") || has(c, "sso_sessions"))
            .count();
        (profile, session)
    }

    #[test]
    fn every_profile_and_session_option_completes_names() {
        let (profile, session) = options();
        assert_eq!(
            (profile, session),
            (9, 3),
            "ssosync, sync, status, export, process, watch, login, logout, populate; login, logout, populate"
        );
        let bash = script(Shell::Bash);
        assert_eq!(
            bash.matches(PROFILES).count(),
            2 * profile,
            "-p and --profile arms"
        );
        assert_eq!(bash.matches(SESSIONS).count(), session);
        let zsh = script(Shell::Zsh);
        assert_eq!(zsh.matches(":_ssosync_profiles'").count(), 2 * profile);
        assert_eq!(zsh.matches(":_ssosync_sessions'").count(), session);
        assert!(zsh.starts_with("#compdef ssosync\n\n_ssosync_profiles() {"));
        assert!(
            zsh.contains("]:SRC[\\:DST]:_ssosync_profiles' \\\n"),
            "{zsh}"
        );
        let fish = script(Shell::Fish);
        assert_eq!(fish.matches(PROFILES).count(), profile + 1);
        assert_eq!(fish.matches(SESSIONS).count(), session + 1);
        // The command the scripts call is no command to complete.
        for text in [&bash, &zsh, &fish] {
            assert_eq!(
                text.matches("__complete").count(),
                text.matches(PROFILES).count() + text.matches(SESSIONS).count(),
                "{text}"
            );
        }
    }
}
