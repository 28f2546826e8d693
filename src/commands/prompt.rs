//! `ssosync prompt`: what the shell hook runs, built so that it never stalls a
//! prompt. The foreground part is the no-network check (a few milliseconds:
//! two files read, no socket). When an entry needs the network, the sync runs
//! in a detached process of its own (`prompt --background`): no job of the
//! shell, so no job-control noise and nothing for the prompt to wait for.
//!
//! What the user must do (a login, a network that stays down) is a notice: one
//! line in a file beside the credentials file, shown at a later prompt
//! (`prompt --show`, which the hook runs only when that file exists) and said
//! once: the same notice is not shown again until a sync succeeds.
//!
//! Any shell can follow this design: call `ssosync prompt` at most once per
//! interval and `ssosync prompt --show` when the notice file exists.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::anyhow;

use crate::cli::PromptArgs;
use crate::commands::sync::run_sync;
use crate::config::environment::Environment;
use crate::engine::outcome::{FailureKind, Outcome, SyncReport};
use crate::engine::{Mode, SyncOptions};
use crate::exit::{Exit, Fatal};
use crate::options::{DEFAULT_CONCURRENCY, DEFAULT_MIN_TTL};
use crate::progress::Progress;
use crate::store::safe_write;

/// The hook's files, hidden beside the credentials file.
pub struct PromptFiles {
    /// The notice waiting to be shown.
    pub notice: PathBuf,
    /// The last notice shown or queued, so it is said once.
    said: PathBuf,
    /// Held by the background sync, so one runs at a time.
    lock: PathBuf,
}

impl PromptFiles {
    pub fn new(env: &Environment) -> Result<Self, Fatal> {
        let credentials = safe_write::resolve_target(&env.credentials_path()?)?;
        let name = credentials
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| anyhow!("{} has no usable file name", credentials.display()))?
            .to_string();
        let beside = |suffix: &str| credentials.with_file_name(format!(".{name}.ssosync-{suffix}"));
        Ok(PromptFiles {
            notice: beside("notice"),
            said: beside("notice-said"),
            lock: beside("prompt.lock"),
        })
    }
}

pub fn run(args: &PromptArgs, env: &Environment) -> Result<Exit, Fatal> {
    let files = PromptFiles::new(env)?;
    if args.background {
        background(args, env, &files);
        return Ok(Exit::Ok);
    }
    show_pending(&files);
    if args.show {
        return Ok(Exit::Ok);
    }
    let options = sync_options(Mode::NoNetwork, args);
    match run_sync(env, &[], &options, &Progress::off()) {
        Err(fatal) => tell_now(&files, &fatal_line(&fatal)),
        Ok(report)
            if report
                .results
                .iter()
                .any(|r| r.outcome == Outcome::NeedsNetwork) =>
        {
            if !background_running(&files)
                && let Err(e) = start_background(args, env)
            {
                tell_now(
                    &files,
                    &format!("ssosync: cannot start the background sync: {e}"),
                );
            }
        }
        Ok(report) => match summary(&report) {
            Some(line) => tell_now(&files, &line),
            None => forget(&files),
        },
    }
    Ok(Exit::Ok)
}

/// The quiet sync the old hook ran, with the prompt's `--timeout`.
fn sync_options(mode: Mode, args: &PromptArgs) -> SyncOptions {
    SyncOptions {
        force: false,
        min_ttl: DEFAULT_MIN_TTL,
        write_region: false,
        mode,
        timeout: args.timeout,
        concurrency: DEFAULT_CONCURRENCY.into(),
    }
}

/// The detached sync: one at a time; its outcome becomes a notice.
fn background(args: &PromptArgs, env: &Environment, files: &PromptFiles) {
    let Some(_running) = try_lock(&files.lock) else {
        return;
    };
    let line = match run_sync(env, &[], &sync_options(Mode::Write, args), &Progress::off()) {
        Err(fatal) => Some(fatal_line(&fatal)),
        Ok(report) => summary(&report),
    };
    match line {
        Some(line) if said(files).as_deref() != Some(line.as_str()) => {
            remember(files, &line);
            let _ = safe_write::stage_private(&files.notice, &format!("{line}\n"))
                .and_then(|staged| staged.commit());
        }
        Some(_) => {}
        None => {
            forget(files);
            let _ = std::fs::remove_file(&files.notice);
        }
    }
}

/// Starts `ssosync prompt --background`, detached from the terminal and the
/// shell: no inherited stdio, its own process group, not waited for.
fn start_background(args: &PromptArgs, env: &Environment) -> std::io::Result<()> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args([
            "prompt",
            "--background",
            "--timeout",
            &format!("{}s", args.timeout.as_secs()),
        ])
        .env_clear()
        .envs(env.vars())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    detach(&mut command);
    // Not waited for: it outlives this process, which the prompt is waiting for.
    command.spawn().map(drop)
}

/// A process group of its own: a Ctrl-C at the prompt does not reach it, and
/// no shell counts it as a job.
#[cfg(unix)]
fn detach(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

/// No console and a process group of its own (DETACHED_PROCESS,
/// CREATE_NEW_PROCESS_GROUP), so a PowerShell prompt does not wait or show it.
///
/// Windows gives a child every inheritable handle this process has, not only
/// the stdio it was told to use: the pipes this process was started with (a
/// PowerShell prompt or a status-line tool reading its output) would stay open
/// in the background sync, and the reader would wait for it to end. So this
/// process's own stdio handles stop being inheritable first; it goes on using
/// them, and nothing else it starts needs them.
#[cfg(windows)]
#[allow(unsafe_code)]
fn detach(command: &mut Command) {
    use std::os::windows::io::AsRawHandle;
    use std::os::windows::process::CommandExt;
    use windows_sys::Win32::Foundation::{HANDLE_FLAG_INHERIT, SetHandleInformation};
    use windows_sys::Win32::System::Threading::{CREATE_NEW_PROCESS_GROUP, DETACHED_PROCESS};
    let handles = [
        std::io::stdin().as_raw_handle(),
        std::io::stdout().as_raw_handle(),
        std::io::stderr().as_raw_handle(),
    ];
    for handle in handles.into_iter().filter(|h| !h.is_null()) {
        // SAFETY: the handle is this process's own standard handle, open for
        // its whole life; the call changes only its inherit flag, and a handle
        // that is not valid makes it fail, which is ignored (then there is
        // nothing to hold open).
        unsafe {
            SetHandleInformation(handle, HANDLE_FLAG_INHERIT, 0);
        }
    }
    command.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
}

#[cfg(not(any(unix, windows)))]
fn detach(_command: &mut Command) {}

fn try_lock(path: &Path) -> Option<std::fs::File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ok()?;
    file.try_lock().ok()?;
    Some(file)
}

fn background_running(files: &PromptFiles) -> bool {
    match OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&files.lock)
    {
        Ok(file) => matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
        Err(_) => false,
    }
}

/// Prints the waiting notice, once: it is moved away before it is read, so a
/// notice written meanwhile waits for the next prompt.
fn show_pending(files: &PromptFiles) {
    let taken = files
        .notice
        .with_extension(format!("shown-{}", std::process::id()));
    if std::fs::rename(&files.notice, &taken).is_err() {
        return;
    }
    if let Ok(text) = std::fs::read_to_string(&taken)
        && let Some(line) = text.lines().next()
    {
        eprintln!("{line}");
    }
    let _ = std::fs::remove_file(&taken);
}

/// Shows `line` now, unless it was said already.
fn tell_now(files: &PromptFiles, line: &str) {
    if said(files).as_deref() != Some(line) {
        eprintln!("{line}");
        remember(files, line);
    }
}

fn said(files: &PromptFiles) -> Option<String> {
    std::fs::read_to_string(&files.said).ok()
}

/// Remembers `line` as said. Without the folder (no `~/.aws` yet) it is made
/// (0700), or the same notice would show at every prompt.
fn remember(files: &PromptFiles, line: &str) {
    let _ = safe_write::ensure_parent(&files.said);
    let _ = std::fs::write(&files.said, line);
}

/// Everything is fine again: the next problem is worth saying.
fn forget(files: &PromptFiles) {
    let _ = std::fs::remove_file(&files.said);
}

/// The one line a run's failures come down to: a login first (that is what
/// the user can fix), else the first failure; how many more there are.
fn summary(report: &SyncReport) -> Option<String> {
    let failed: Vec<(&str, &crate::engine::outcome::Failure)> = report
        .results
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Failed(f) => Some((r.target.target.as_str(), f)),
            _ => None,
        })
        .collect();
    let (name, first) = failed
        .iter()
        .find(|(_, f)| f.kind == FailureKind::Login)
        .or_else(|| failed.first())?;
    let more = match failed.len() - 1 {
        0 => String::new(),
        n => format!(" (and {n} more; run `ssosync` to see them)"),
    };
    Some(one_line(&format!(
        "ssosync: profile {name}: {}{more}",
        first.message
    )))
}

fn fatal_line(fatal: &Fatal) -> String {
    one_line(&match fatal {
        Fatal::Usage(m) | Fatal::NotSignedIn(m) => format!("ssosync: {m}"),
        Fatal::Other(e) => format!("ssosync: {e:#}"),
    })
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
