//! The prompt hook in real shells: it never stalls a prompt (the foreground is
//! the no-network check; a sync that needs the network runs detached), what the
//! user must do shows once at a later prompt, and the bash snippet is bash 3.2
//! (macOS) syntax. zsh and fish come from Debian's packages (.ci/run installs
//! them); without them, outside CI, their tests say they skipped. PowerShell is
//! not packaged here: its snippet is parsed by tree-sitter's PowerShell grammar
//! (`interop_powershell.rs`), and what it runs, `ssosync prompt` with
//! its output read through a pipe, is tested on every platform (under Wine too).
//! The real-shell tests are `#[cfg(unix)]`: the Windows build under Wine has no
//! Unix shell to start.

#[cfg(unix)]
use std::io::Write;
#[cfg(unix)]
use std::process::Stdio;
use std::time::Duration;

#[cfg(unix)]
use crate::common::Run;
#[cfg(unix)]
use crate::common::Start;
use crate::common::{Home, TOKEN, in_secs};

/// dev and prod of one session only: every profile can be synced.
const SMALL_CONFIG: &str = "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\
[profile dev]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Dev\n\
[profile prod]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = Admin\n";

fn small_home() -> Home {
    let home = Home::new();
    home.write(".aws/config", SMALL_CONFIG);
    home
}

/// Whether `program` is installed; outside CI a missing one skips the test
/// visibly, in CI it fails it.
#[cfg(unix)]
fn have(program: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} is needed for this test in CI (.ci/run installs it)"
        );
        eprintln!(
            "skipped: {program} is not installed (.ci/run installs it from Debian's packages)"
        );
    }
    found
}

/// Runs `program args` with `script` on stdin, in the home's environment, the
/// ssosync under test first on PATH.
#[cfg(unix)]
fn shell(home: &Home, program: &str, args: &[&str], script: &str) -> Run {
    let cmd = home.command(&[]);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_ssosync"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = std::process::Command::new(program)
        .args(args)
        .env_clear()
        .envs(
            cmd.get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        )
        .env("PATH", path)
        .current_dir(home.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .start();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    Run::from(child.wait_with_output().unwrap())
}

/// What a script printed on stderr after `--- NAME` and before the next marker.
#[cfg(unix)]
fn after_marker<'a>(run: &'a Run, name: &str) -> Vec<&'a str> {
    let mut lines = run.stderr.lines();
    for line in lines.by_ref() {
        if line == format!("--- {name}") {
            break;
        }
    }
    lines.take_while(|l| !l.starts_with("--- ")).collect()
}

#[cfg(unix)]
fn took_us(run: &Run) -> u64 {
    let line = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("took-us "))
        .unwrap_or_else(|| panic!("no timing: {run:?}"));
    line.trim()
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("timing {line:?}: {run:?}"))
}

/// The portal hangs (every answer 30 s late): the first prompt returns at once,
/// the background sync gives up on its own (3 × `--timeout 1s`), and the next
/// prompt shows why, once, in one line.
#[cfg(unix)]
fn hanging_portal_case(program: &str, args: &[&str], script: &str) {
    if !have(program) {
        return;
    }
    let home = small_home();
    home.portal.set_latency(Duration::from_secs(30));
    let run = shell(&home, program, args, script);
    assert_eq!(run.code, 0, "{run:?}");
    let took = took_us(&run);
    eprintln!("{program}: the hook returned in {took} µs with a hanging portal");
    assert!(
        took < 100_000,
        "{program}: the hook took {took} µs with a hanging portal: {run:?}"
    );
    assert!(
        after_marker(&run, "prompt 1").is_empty(),
        "the first prompt prints nothing: {run:?}"
    );
    let second = after_marker(&run, "prompt 2");
    assert_eq!(second.len(), 1, "one line at a later prompt: {run:?}");
    assert!(
        second[0].starts_with("ssosync: profile dev: ") && second[0].contains("in time"),
        "{run:?}"
    );
    assert!(second[0].contains("(and 1 more"), "{run:?}");
    assert!(
        after_marker(&run, "prompt 3").is_empty(),
        "said once: {run:?}"
    );
    assert!(
        !run.stderr.contains("Done") && !run.stderr.contains("[1]"),
        "no job-control noise: {run:?}"
    );
    assert!(!home.path(".aws/credentials").exists());
}

#[cfg(unix)]
#[test]
fn bash_hook_never_stalls_a_prompt() {
    hanging_portal_case(
        "bash",
        &["-s"],
        "eval \"$(ssosync hook bash --timeout 1s)\"\n\
         echo '--- prompt 1' >&2\n\
         t0=$EPOCHREALTIME; __ssosync_hook; t1=$EPOCHREALTIME\n\
         echo \"took-us $(( ${t1/./} - ${t0/./} ))\"\n\
         i=0; while [ ! -e \"$__ssosync_notice\" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n\
         echo '--- prompt 2' >&2\n\
         __ssosync_hook\n\
         echo '--- prompt 3' >&2\n\
         __ssosync_hook\n\
         echo '--- end' >&2\n",
    );
}

#[cfg(unix)]
#[test]
fn zsh_hook_never_stalls_a_prompt() {
    hanging_portal_case(
        "zsh",
        &["-f", "-s"],
        "zmodload zsh/datetime\n\
         eval \"$(ssosync hook zsh --timeout 1s)\"\n\
         echo '--- prompt 1' >&2\n\
         t0=$EPOCHREALTIME; __ssosync_hook; t1=$EPOCHREALTIME\n\
         printf 'took-us %d\\n' $(( (t1 - t0) * 1000000 ))\n\
         i=0; while [[ ! -e $__ssosync_notice ]] && (( i < 300 )); do sleep 0.1; (( i++ )); done\n\
         echo '--- prompt 2' >&2\n\
         __ssosync_hook\n\
         echo '--- prompt 3' >&2\n\
         __ssosync_hook\n\
         echo '--- end' >&2\n",
    );
}

#[cfg(unix)]
#[test]
fn fish_hook_never_stalls_a_prompt() {
    hanging_portal_case(
        "fish",
        &["--no-config"],
        "ssosync hook fish --timeout 1s | source\n\
         echo '--- prompt 1' >&2\n\
         set t0 (date +%s%N); emit fish_prompt; set t1 (date +%s%N)\n\
         echo took-us (math \"($t1 - $t0) / 1000\")\n\
         set i 0\n\
         while not test -e $__ssosync_notice; and test $i -lt 300; sleep 0.1; set i (math $i + 1); end\n\
         echo '--- prompt 2' >&2\n\
         emit fish_prompt\n\
         echo '--- prompt 3' >&2\n\
         emit fish_prompt\n\
         echo '--- end' >&2\n",
    );
}

/// The background sync writes the entries; a login the user must do is said
/// once, however many background syncs meet it, and again after it was fixed
/// and broke anew. The hook keeps `$?` for the user's prompt.
#[cfg(unix)]
#[test]
fn the_hook_syncs_in_the_background_and_says_a_needed_login_once() {
    let home = small_home();
    let script = "eval \"$(ssosync hook bash --interval 0)\"\n\
         wait_for() { i=0; while ! eval \"$1\" && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; }\n\
         ask() { printf x > ~/\"$1\"; wait_for \"[ ! -e ~/$1 ]\"; }\n\
         false; __ssosync_hook; echo \"status $?\"\n\
         wait_for '[ \"$(grep -c aws_session_token ~/.aws/credentials 2>/dev/null)\" = 2 ]'\n\
         echo '--- synced' >&2\n\
         __ssosync_hook\n\
         ask revoke; rm -f ~/.aws/credentials\n\
         __ssosync_hook\n\
         wait_for '[ -e \"$__ssosync_notice\" ]'\n\
         echo '--- login 1' >&2\n\
         __ssosync_hook\n\
         sleep 1\n\
         echo '--- login 2' >&2\n\
         __ssosync_hook\n\
         sleep 1\n\
         __ssosync_hook\n\
         ask restore\n\
         __ssosync_hook\n\
         wait_for '[ \"$(grep -c aws_session_token ~/.aws/credentials 2>/dev/null)\" = 2 ]'\n\
         echo '--- fixed' >&2\n\
         __ssosync_hook\n\
         ask revoke; rm -f ~/.aws/credentials\n\
         __ssosync_hook\n\
         wait_for '[ -e \"$__ssosync_notice\" ]'\n\
         echo '--- login again' >&2\n\
         __ssosync_hook\n\
         echo '--- end' >&2\n";
    // The test plays the administrator: it revokes and restores the session
    // when the script asks.
    let done = std::sync::atomic::AtomicBool::new(false);
    let run = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if std::fs::remove_file(home.path("revoke")).is_ok() {
                    home.portal.revoke_token(TOKEN);
                }
                if std::fs::remove_file(home.path("restore")).is_ok() {
                    home.portal.add_token(TOKEN);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let run = shell(&home, "bash", &["-s"], script);
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        run
    });
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("status 1"), "$? kept: {run:?}");
    assert!(
        after_marker(&run, "synced").is_empty(),
        "a good sync says nothing: {run:?}"
    );
    let first = after_marker(&run, "login 1");
    assert_eq!(first.len(), 1, "{run:?}");
    assert!(
        first[0].starts_with("ssosync: profile dev: the SSO token was rejected")
            && first[0].contains("login --sso-session corp"),
        "{run:?}"
    );
    assert!(
        after_marker(&run, "login 2").is_empty(),
        "the same notice is not said again: {run:?}"
    );
    assert!(
        after_marker(&run, "fixed").is_empty(),
        "a good sync says nothing: {run:?}"
    );
    let again = after_marker(&run, "login again");
    assert_eq!(again, first, "said again once it broke anew: {run:?}");
}

/// `--no-network` is the hook's check: no request, an exit code per case.
#[test]
fn no_network_says_what_a_sync_would_need_without_asking_anyone() {
    let home = small_home();
    let run = home.run(&["--no-network"]);
    assert_eq!(run.code, 4, "stale entries need the network: {run:?}");
    assert!(run.stdout.contains("needs the network"), "{run:?}");
    let json = home.run(&["--no-network", "--json"]);
    assert!(json.stdout.contains("\"needs_network\""), "{json:?}");
    assert_eq!(home.portal.request_count(), 0);
    assert!(!home.path(".aws/credentials").exists(), "nothing written");

    assert_eq!(home.run(&[]).code, 0);
    let fresh = home.run(&["--no-network"]);
    assert_eq!(fresh.code, 0, "{fresh:?}");

    // Expired, not refreshable: a login, known from the files alone.
    let before = home.portal.request_count();
    home.cache_session_token("corp", TOKEN, &in_secs(-60));
    let login = home.run(&["--no-network", "--force"]);
    assert_eq!(login.code, 3, "{login:?}");
    assert!(login.stderr.contains("aws sso login --sso-session corp"));
    assert_eq!(home.portal.request_count(), before);
    assert_eq!(
        home.run(&["--no-network", "--dry-run"]).code,
        2,
        "the two do not mix"
    );
}

/// Constructs bash 3.2 (macOS's) does not have, each with the version that
/// brought it: the snippet must use none of them.
#[cfg(unix)]
const NOT_IN_BASH_3_2: &[(&str, &str)] = &[
    ("%(", "printf's %(...)T, bash 4.2"),
    ("declare -A", "associative arrays, bash 4.0"),
    ("local -A", "associative arrays, bash 4.0"),
    ("typeset -A", "associative arrays, bash 4.0"),
    ("declare -n", "namerefs, bash 4.3"),
    ("local -n", "namerefs, bash 4.3"),
    ("declare -g", "declare -g, bash 4.2"),
    ("mapfile", "mapfile, bash 4.0"),
    ("readarray", "readarray, bash 4.0"),
    ("coproc", "coproc, bash 4.0"),
    ("[[ -v", "[[ -v ]], bash 4.2"),
    ("&>>", "&>>, bash 4.0"),
    ("|&", "|&, bash 4.0"),
    (";;&", ";;&, bash 4.0"),
    (";&", ";&, bash 4.0"),
    (",,}", "case conversion, bash 4.0"),
    ("^^}", "case conversion, bash 4.0"),
    ("@Q}", "${x@Q}, bash 4.4"),
    ("EPOCHREALTIME", "EPOCHREALTIME, bash 5.0"),
    ("BASHPID", "BASHPID, bash 4.0"),
    ("globstar", "globstar, bash 4.0"),
    ("wait -n", "wait -n, bash 4.3"),
    ("PROMPT_COMMAND=(", "PROMPT_COMMAND arrays, bash 5.1"),
];

/// Each construct of [`NOT_IN_BASH_3_2`] in `script`, and `$EPOCHSECONDS`
/// (bash 5.0) unless only as `${EPOCHSECONDS:-}` with a fallback.
#[cfg(unix)]
fn bash_4_only(script: &str) -> Vec<&'static str> {
    let mut found: Vec<&str> = NOT_IN_BASH_3_2
        .iter()
        .filter(|(needle, _)| script.contains(needle))
        .map(|(_, what)| *what)
        .collect();
    let bare = script.matches("EPOCHSECONDS").count();
    let guarded = script.matches("${EPOCHSECONDS:-}").count();
    if bare != guarded || (guarded > 0 && !script.contains("date +%s")) {
        found.push("$EPOCHSECONDS without a fallback, bash 5.0");
    }
    found
}

#[cfg(unix)]
#[test]
fn the_bash_hook_is_bash_3_2_and_posix_mode_syntax() {
    // The check can fail: the old snippet (`printf -v now '%(%s)T' -1`) fails it.
    assert_eq!(
        bash_4_only("local now\nprintf -v now '%(%s)T' -1\n"),
        ["printf's %(...)T, bash 4.2"]
    );
    assert!(!bash_4_only("now=$EPOCHSECONDS\n").is_empty());
    let home = small_home();
    let snippet = home.run(&["hook", "bash"]);
    assert_eq!(snippet.code, 0, "{snippet:?}");
    assert_eq!(
        bash_4_only(&snippet.stdout),
        Vec::<&str>::new(),
        "{}",
        snippet.stdout
    );

    // It parses and runs in POSIX mode, on both clocks ($EPOCHSECONDS loses its
    // magic when unset, as on bash 3.2).
    assert_eq!(home.run(&[]).code, 0, "entries fresh first");
    for clock in ["", "unset EPOCHSECONDS\n"] {
        let run = shell(
            &home,
            "bash",
            &["--posix", "-s"],
            &format!(
                "set -u\n{clock}eval \"$(ssosync hook bash)\"\n\
                 __ssosync_hook\n\
                 echo \"last $__SSOSYNC_LAST now $(date +%s)\"\n"
            ),
        );
        assert_eq!(run.code, 0, "{clock:?}: {run:?}");
        assert!(run.stderr.is_empty(), "{clock:?}: {run:?}");
        let words: Vec<i64> = run
            .stdout
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        assert!(
            words.len() == 2 && (words[1] - words[0]).abs() <= 2,
            "{clock:?}: the interval clock is the wall clock: {run:?}"
        );
    }
}

/// What the PowerShell hook runs, as it runs it: `ssosync prompt` with its
/// output read through a pipe. With the portal hanging, it returns while the
/// background sync is still waiting (the background sync must not hold the
/// pipe open: on Windows a child inherits every inheritable handle, not just
/// its stdio), the notice comes later, and `prompt --show` says it once.
#[test]
fn the_prompt_check_returns_before_the_background_sync_it_starts() {
    let home = small_home();
    home.portal.set_latency(Duration::from_secs(30));
    let started = std::time::Instant::now();
    let run = home.run(&["prompt", "--timeout", "1s"]);
    let returned = started.elapsed();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        (run.stdout.as_str(), run.stderr.as_str()),
        ("", ""),
        "{run:?}"
    );
    let notice = home.path(".aws/.credentials.ssosync-notice");
    while !notice.exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let noticed = started.elapsed();
    assert!(notice.exists(), "no notice after {noticed:?}");
    eprintln!(
        "prompt returned after {returned:?}; the background sync's notice came after {noticed:?}"
    );
    // The background sync waits out three tries of a second each.
    assert!(
        noticed >= Duration::from_secs(3) && returned + Duration::from_secs(1) < noticed,
        "the prompt check waited for the background sync: returned after {returned:?}, notice after {noticed:?}"
    );
    let show = home.run(&["prompt", "--show"]);
    let lines: Vec<&str> = show.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{show:?}");
    assert!(
        lines[0].starts_with("ssosync: profile dev: ") && lines[0].contains("in time"),
        "{show:?}"
    );
    assert_eq!(
        show.stdout, "",
        "the notice is on stderr, not in a prompt string"
    );
    let again = home.run(&["prompt", "--show"]);
    assert_eq!(again.stderr, "", "said once: {again:?}");
    assert!(!home.path(".aws/credentials").exists());
}

/// Before there is a `~/.aws` at all, the prompt says why once, not at every
/// prompt.
#[test]
fn a_home_without_aws_files_hears_it_once() {
    let home = Home::bare();
    let first = home.run(&["prompt"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first.stderr.contains("no AWS config file") && first.stderr.lines().count() == 1,
        "{first:?}"
    );
    let second = home.run(&["prompt"]);
    assert_eq!((second.code, second.stderr.as_str()), (0, ""), "{second:?}");
}
