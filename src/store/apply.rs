//! The one way ssosync changes a profile file: lock → read → plan → stage → check
//! → commit. Sync and `logout --clean` go through [`apply`]; nothing else in the
//! crate stages a profile file.
//!
//! The plan is a closure over the parsed document, so a run can plan again on a
//! fresh read: a writer that takes no lock (`aws configure set`, `>>` from a
//! script) may change the file at any moment, so the file's stamp (device,
//! inode, size, mtime, ctime) is checked again right before the rename, and a
//! change means read, plan and stage again (bounded). A write that lands in the
//! instant between that check and the rename is caught afterwards, on the
//! replaced file kept open (once no other program has it open for writing,
//! `store::writers`), and planned on too. Where a rename over an open file is
//! refused (Wine, FAT, older Windows), the handle is closed after the first
//! refusal and a second name for the file (a hard link, `SecondName`) keeps it
//! reachable instead; where there are no hard links (FAT), the check before
//! each try is the last one.
//! `--dry-run` runs the same plan on the file as read and stops before the lock.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use crate::config::environment::{Environment, decode_text, read_optional};
use crate::config::profile_file::ParseError;
use crate::store::access;
use crate::store::safe_write::{self, NoSecondName, Renamed, SecondName};
use crate::store::stamp::Stamp;
use crate::store::writers;

/// How long a run waits for another ssosync holding the file's lock.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Plans made on a file that kept changing before giving up.
const ATTEMPTS: usize = 5;

/// Set once a rename was refused while this process held the file open
/// (Wine, FAT, Windows before 10 refuse a rename over any open file): later
/// attempts give the file a second name and close their handle before the
/// first try. Never set on Unix.
static RENAME_OVER_OPEN_REFUSED: AtomicBool = AtomicBool::new(false);

/// Whether [`RENAME_OVER_OPEN_REFUSED`] is set (or, in a test, set for its
/// thread alone).
fn rename_over_open_refused() -> bool {
    #[cfg(test)]
    if tests::RENAME_OVER_OPEN_REFUSED_HERE.get() {
        return true;
    }
    RENAME_OVER_OPEN_REFUSED.load(Ordering::Relaxed)
}

/// The same, while the plan is on a text recovered from a replaced file.
const RECOVERED_ATTEMPTS: usize = 50;

/// A lossless document of a profile file: what [`apply`] reads, plans on and writes.
pub trait Document: Sized {
    fn parse_owned(text: String) -> Result<Self, ParseError>;
    /// The document of a file that does not exist yet.
    fn empty() -> Self;
    /// The text it was parsed from, whatever was edited since.
    fn text(&self) -> &str;
    /// Whether the edits left the text as it was read.
    fn is_unchanged(&self) -> bool;
    /// The edited text.
    fn render(&self) -> String;
    /// The edited text, streamed (a big file need not be one string again).
    fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()>;
}

/// A user's file to edit: the path through any symlinks, and how messages name it.
pub struct UserFile {
    pub path: PathBuf,
    pub shown: String,
}

impl UserFile {
    /// `path` resolved through symlinks (a write goes to the link's target).
    pub fn at(env: &Environment, path: &Path) -> Result<Self> {
        let path = safe_write::resolve_target(path)?;
        let shown = env.display_path(&path);
        Ok(UserFile { path, shown })
    }

    /// A warning when the file exists and others may read it (Unix: its
    /// group or other mode bits; Windows: its access list): ssosync keeps a
    /// file's permissions, but the keys it writes there are secrets.
    pub fn exposure_warning(&self) -> Option<String> {
        access::exposure_warning(&self.path, &self.shown)
    }

    /// The document as the file holds it now; a missing file is an empty one.
    pub fn read<D: Document>(&self) -> Result<D> {
        match read_optional(&self.path, &self.shown)? {
            Some(text) => parse(self, text),
            None => Ok(D::empty()),
        }
    }
}

/// Whether [`apply`] writes, or only shows what it would write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commit {
    Write,
    DryRun,
}

/// What [`apply`] did.
pub struct Applied<T> {
    /// What the plan returned on the document that was (or, dry, would be) written.
    pub planned: T,
    /// `--dry-run`: the text before and after the plan.
    pub preview: Option<(String, String)>,
    /// The file's lock, still held (not for a dry run) until this is dropped, so
    /// that what records the write (the ledger) changes in step with the file.
    pub lock: Option<safe_write::FileLock>,
}

/// Runs `plan` on `file`'s document and writes the result safely. `earlier` is
/// the document as the caller read it before deciding to write (it is used again
/// when the file has not changed since). A plan that changes nothing writes
/// nothing.
///
/// Right before the rename, the file's [`Stamp`] must still be the one it had
/// when it was read, or the run reads, plans and stages again. A writer that
/// takes no lock can still write in the moment between that check and the
/// rename, into the file being replaced: the file read is kept open, and if it
/// changed by the time the rename is durable, its new text (with anything since
/// appended to ours) is planned on and written again.
pub fn apply<D: Document, T>(
    file: &UserFile,
    earlier: Option<D>,
    commit: Commit,
    mut plan: impl FnMut(&mut D) -> T,
) -> Result<Applied<T>> {
    if commit == Commit::DryRun {
        let mut doc = match earlier {
            Some(doc) => doc,
            None => file.read()?,
        };
        let planned = plan(&mut doc);
        let preview = Some((doc.text().to_string(), doc.render()));
        return Ok(Applied {
            planned,
            preview,
            lock: None,
        });
    }
    // Refused before the lock: a read-only file gets no lock file beside it and
    // no wait. Callers whose plan may change nothing plan a dry run first.
    refuse_read_only(file)?;
    let lock = safe_write::lock(&file.path, LOCK_WAIT)?;
    safe_write::remove_stale_temp_files(&file.path);
    let mut earlier = earlier;
    let mut next: Option<Snapshot<D>> = None;
    let mut attempts = 0;
    loop {
        attempts += 1;
        // A recovered text holds another program's write that is nowhere else
        // now (the file it was in was replaced): it is not given up on as soon.
        let recovered = next.as_ref().is_some_and(|n| n.seen.is_some());
        if recovered && attempts > RECOVERED_ATTEMPTS {
            return Err(anyhow!(
                "{} kept changing while ssosync was writing it, and a change another program \
                 made to it meanwhile could not be kept; check the file, then run ssosync again",
                file.shown
            ));
        }
        if !recovered && attempts > ATTEMPTS {
            break;
        }
        let mut snapshot = match (next.take(), earlier.take()) {
            (Some(snapshot), _) => snapshot,
            // Unchanged since the caller's read (the usual case), it is not parsed again.
            (None, Some(doc)) => match Snapshot::reuse(file, doc)? {
                Some(snapshot) => snapshot,
                None => Snapshot::read(file)?,
            },
            (None, None) => Snapshot::read(file)?,
        };
        let planned = plan(&mut snapshot.doc);
        // A recovered text is written even when the plan changes nothing in
        // it: the file lacks what was recovered.
        if snapshot.doc.is_unchanged() && snapshot.seen.is_none() {
            return Ok(Applied {
                planned,
                preview: None,
                lock: Some(lock),
            });
        }
        let staged = safe_write::stage_by(&file.path, &mut |out| snapshot.doc.write_to(out))?;
        let ours = staged.stamp()?;
        // Checked before each try of the rename (Windows tries again while
        // another program holds the file open, and that program may write it).
        // Where a rename over an open file is refused (Wine, FAT, Windows
        // before 10), our own handle on the file read is one such holder: it is
        // closed after the first refusal, once a second name for the file (a
        // hard link) keeps it reachable for the check after the rename. While
        // another program holds the file so that no name could be removed
        // again, the handle is kept (the rename is refused anyway), so a write
        // that program makes is never out of sight.
        let read = snapshot.stamp;
        let mut held = snapshot.held.take();
        let mut second: Option<SecondName> = None;
        let mut tries = 0;
        let renamed = staged.commit_while(&mut || {
            tries += 1;
            if tries > 1 && held.is_some() {
                RENAME_OVER_OPEN_REFUSED.store(true, Ordering::Relaxed);
            }
            if held.is_some() && rename_over_open_refused() {
                match SecondName::of(&file.path) {
                    Ok(name) => {
                        second = Some(name);
                        held = None;
                    }
                    Err(NoSecondName::HeldElsewhere) => {}
                    Err(NoSecondName::Unsupported) => held = None,
                }
            }
            let unchanged = match (stamp_of(file), read) {
                // On Unix a second name changes the status-change time, nothing
                // else (Windows' stamp has none: there it changes nothing).
                (Ok(Some(now)), Some(read)) if cfg!(unix) && second.is_some() => {
                    now.same_contents(&read)
                }
                (Ok(now), read) => now == read,
                (Err(_), _) => false,
            };
            #[cfg(test)]
            tests::after_check(&file.path);
            unchanged
        })?;
        if renamed == Renamed::TargetChanged {
            // A text recovered from a replaced file is more than the file
            // holds: it is carried over, with what was added since.
            if let Some(seen) = snapshot.seen.take() {
                next = Some(Snapshot::extended(file, &seen, &snapshot.doc)?);
            }
            continue;
        }
        // The replaced file: still open, or reached through its second name.
        let held = match (held, &second) {
            (Some(held), _) => Some(held),
            (None, Some(second)) => second.open().ok(),
            (None, None) => None,
        };
        let (Some(held), Some(read)) = (held, snapshot.stamp) else {
            return Ok(Applied {
                planned,
                preview: None,
                lock: Some(lock),
            });
        };
        let after =
            stamp_once_written(&held).with_context(|| format!("cannot check {}", file.shown))?;
        if after.same_contents(&read) {
            return Ok(Applied {
                planned,
                preview: None,
                lock: Some(lock),
            });
        }
        tracing::debug!(
            file = %file.shown,
            "another program wrote to the file while it was being replaced; planning again on its text"
        );
        let seen = snapshot.seen.take();
        let seen = seen.as_deref().unwrap_or(snapshot.doc.text());
        next = Some(Snapshot::recover(file, &held, seen, &snapshot.doc, ours)?);
    }
    Err(anyhow!(
        "{} kept changing while ssosync was writing it; try again",
        file.shown
    ))
}

/// How long a run waits after its rename for another program to finish
/// writing the file it replaced.
const WRITER_WAIT: Duration = Duration::from_millis(500);

/// The replaced file's stamp once no other program has it open for writing
/// (or after [`WRITER_WAIT`]): a program that opened it before the rename has
/// then written all it was going to write there.
fn stamp_once_written(replaced: &File) -> std::io::Result<Stamp> {
    let deadline = std::time::Instant::now() + WRITER_WAIT;
    let mut waited = false;
    while writers::open_for_writing_elsewhere(replaced) && std::time::Instant::now() < deadline {
        waited = true;
        std::thread::sleep(Duration::from_millis(1));
    }
    if waited {
        tracing::debug!("waited for another program to close the replaced file");
    }
    Stamp::of_file(replaced)
}

/// How often a read is repeated when the file changes while it is read, at
/// least, and for how long: a writer that takes no lock is usually done in
/// microseconds, but on a busy machine (or under Wine, where each file call
/// costs milliseconds) several reads in a row can each overlap one of a
/// script's appends, so the retries are spread over up to a second.
const READ_ATTEMPTS: usize = 5;
const READ_WAIT: Duration = Duration::from_secs(1);

/// The pause before read retry `attempt` (0 for the first): none, then 1 ms
/// doubling up to 50 ms.
fn read_pause(attempt: u32) -> Duration {
    match attempt {
        0 => Duration::ZERO,
        n => Duration::from_millis((1u64 << (n - 1).min(6)).min(50)),
    }
}

/// A document to plan on, and the file it was read from.
struct Snapshot<D> {
    doc: D,
    /// What the path named when `doc` was read (`None`: nothing).
    stamp: Option<Stamp>,
    /// The file `doc` was read from, kept open to see writes into it after
    /// it was replaced.
    held: Option<File>,
    /// What `held` held when `doc` was planned on, where that is not the
    /// text `doc` was parsed from (after a recovery: the text is the replaced
    /// file's with what was added to ours). `None`: the same.
    seen: Option<String>,
}

impl<D: Document> Snapshot<D> {
    /// The file as it is now, read through one open handle whose stamp is the
    /// same before and after the read and is what the path still names.
    fn read(file: &UserFile) -> Result<Self> {
        let started = std::time::Instant::now();
        for attempt in 0u32.. {
            if attempt as usize >= READ_ATTEMPTS && started.elapsed() >= READ_WAIT {
                break;
            }
            std::thread::sleep(read_pause(attempt));
            match std::fs::metadata(&file.path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok(Snapshot {
                        doc: D::empty(),
                        stamp: None,
                        held: None,
                        seen: None,
                    });
                }
                // Not a regular file, or unreadable: the usual read says so.
                Ok(meta) if !meta.is_file() => return file.read().map(Snapshot::unheld),
                Err(_) => return file.read().map(Snapshot::unheld),
                Ok(_) => {}
            }
            let held = match File::open(&file.path) {
                Ok(held) => held,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.shown)),
            };
            let before = Stamp::of_file(&held)?;
            let bytes =
                read_from_start(&held).with_context(|| format!("cannot read {}", file.shown))?;
            let after = Stamp::of_file(&held)?;
            if before != after || stamp_of(file)? != Some(after) {
                continue;
            }
            let doc = parse(file, decode_text(bytes, &file.shown)?)?;
            return Ok(Snapshot {
                doc,
                stamp: Some(after),
                held: Some(held),
                seen: None,
            });
        }
        Err(anyhow!(
            "{} kept changing while ssosync was reading it; try again",
            file.shown
        ))
    }

    fn unheld(doc: D) -> Self {
        Snapshot {
            doc,
            stamp: None,
            held: None,
            seen: None,
        }
    }

    /// `doc`, read earlier, when the file still holds exactly its text.
    fn reuse(file: &UserFile, doc: D) -> Result<Option<Self>> {
        let meta = match std::fs::metadata(&file.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(doc.text().is_empty().then(|| Snapshot::unheld(doc)));
            }
            Ok(meta) if meta.is_file() => meta,
            _ => return Ok(None),
        };
        if meta.len() != doc.text().len() as u64 {
            return Ok(None);
        }
        let Ok(mut held) = File::open(&file.path) else {
            return Ok(None);
        };
        let before = Stamp::of_file(&held)?;
        if !holds(&mut held, doc.text()) {
            return Ok(None);
        }
        let after = Stamp::of_file(&held)?;
        if before != after || stamp_of(file)? != Some(after) {
            return Ok(None);
        }
        Ok(Some(Snapshot {
            doc,
            stamp: Some(after),
            held: Some(held),
            seen: None,
        }))
    }

    /// After a rename that another program's write into the replaced file
    /// (`replaced`) raced: the base to plan on again is the text planned on
    /// (`written`'s) with what was added to the replaced file beyond what it
    /// held then (`seen`), plus anything written into ours (`written`, whose
    /// temp file had the stamp `ours`) since the rename. A replaced file that
    /// was rewritten rather than added to is the base as it is.
    fn recover(
        file: &UserFile,
        replaced: &File,
        seen: &str,
        written: &D,
        ours: Stamp,
    ) -> Result<Self> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let now = decode_text(
                read_from_start(replaced).with_context(|| format!("cannot read {}", file.shown))?,
                &file.shown,
            )?;
            let base = match now.strip_prefix(seen) {
                Some(added) => format!("{}{added}", written.text()),
                None => now,
            };
            let held =
                File::open(&file.path).with_context(|| format!("cannot read {}", file.shown))?;
            let stamp = Stamp::of_file(&held)?;
            let (text, holds) = if stamp.same_contents(&ours) {
                (base, written.render())
            } else {
                let current = decode_text(read_from_start(&held)?, &file.shown)?;
                match current.strip_prefix(written.render().as_str()) {
                    Some(appended) => (base + appended, current.clone()),
                    None => (current.clone(), current),
                }
            };
            match parse(file, text) {
                Ok(doc) => {
                    return Ok(Snapshot {
                        doc,
                        stamp: Some(stamp),
                        held: Some(held),
                        seen: Some(holds),
                    });
                }
                // The other program may still be in the middle of its write.
                Err(_) if attempts < READ_ATTEMPTS => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A recovered `doc` (planned on while the file held `seen`) on the file
    /// as it is now: what was added to the file since is added to its text;
    /// a file rewritten meanwhile is read as it is.
    fn extended(file: &UserFile, seen: &str, doc: &D) -> Result<Self> {
        let fresh: Snapshot<D> = Snapshot::read(file)?;
        let Some(added) = fresh.doc.text().strip_prefix(seen) else {
            return Ok(fresh);
        };
        let text = format!("{}{added}", doc.text());
        Ok(Snapshot {
            doc: parse(file, text)?,
            stamp: fresh.stamp,
            seen: Some(fresh.doc.text().to_string()),
            held: fresh.held,
        })
    }
}

fn parse<D: Document>(file: &UserFile, text: String) -> Result<D> {
    D::parse_owned(text).map_err(|e| {
        anyhow!(
            "{} {e}; fix that line (ssosync changes nothing until the file parses)",
            file.shown
        )
    })
}

fn stamp_of(file: &UserFile) -> Result<Option<Stamp>> {
    Stamp::of_path(&file.path).with_context(|| format!("cannot check {}", file.shown))
}

/// The whole file, from its first byte, through an open handle.
fn read_from_start(mut file: &File) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(0))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A file the user made read-only says "do not change me": respect it.
#[cfg(unix)]
pub fn refuse_read_only(file: &UserFile) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(&file.path) {
        Ok(meta) if meta.permissions().mode() & 0o222 == 0 => Err(anyhow!(
            "{shown} is read-only (mode {:o}); allow writing with `chmod u+w {shown}` to let ssosync update it",
            meta.permissions().mode() & 0o777,
            shown = file.shown,
        )),
        _ => Ok(()),
    }
}

/// A file the user made read-only says "do not change me": respect it.
#[cfg(not(unix))]
pub fn refuse_read_only(file: &UserFile) -> Result<()> {
    match std::fs::metadata(&file.path) {
        Ok(meta) if meta.permissions().readonly() => Err(anyhow!(
            "{} is read-only; clear its read-only attribute to let ssosync update it",
            file.shown
        )),
        _ => Ok(()),
    }
}

/// Whether the open file holds exactly `text`, compared a block at a time so a
/// big file is not read into memory again.
fn holds(file: &mut File, text: &str) -> bool {
    let mut block = vec![0; 64 * 1024];
    let mut rest = text.as_bytes();
    loop {
        let n = match file.read(&mut block) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        if n == 0 {
            return rest.is_empty();
        }
        let (Some(read), Some((expected, after))) = (block.get(..n), rest.split_at_checked(n))
        else {
            return false;
        };
        if read != expected {
            return false;
        }
        rest = after;
    }
}

#[cfg(test)]
mod tests;
