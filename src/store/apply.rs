//! The one way ssosync changes a profile file: lock → read → plan → stage → check
//! → commit. Sync and `logout --clean` go through [`apply`]; nothing else in the
//! crate stages a profile file.
//!
//! The plan is a closure over the parsed document, so a run can plan again on a
//! fresh read: a writer that takes no lock (`aws configure set`, `>>` from a
//! script) may change the file at any moment, so the file is checked again right
//! before the rename, and a change means read, plan and stage again (bounded).
//! `--dry-run` runs the same plan on the file as read and stops before the lock.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, anyhow};

use crate::config::environment::{Environment, read_optional};
use crate::config::profile_file::ParseError;
use crate::store::safe_write;

/// How long a run waits for another ssosync holding the file's lock.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Plans made on a file that kept changing before giving up.
const ATTEMPTS: usize = 5;

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

    /// The document as the file holds it now; a missing file is an empty one.
    pub fn read<D: Document>(&self) -> Result<D> {
        match read_optional(&self.path, &self.shown)? {
            Some(text) => D::parse_owned(text).map_err(|e| {
                anyhow!(
                    "{} {e}; fix that line (ssosync changes nothing until the file parses)",
                    self.shown
                )
            }),
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
    for _ in 0..ATTEMPTS {
        // Unchanged since the caller's read (the usual case), it is not parsed again.
        let mut doc = match earlier.take() {
            Some(doc) if unchanged(file, doc.text())? => doc,
            _ => file.read()?,
        };
        let planned = plan(&mut doc);
        if !doc.is_unchanged() {
            let staged = safe_write::stage_by(&file.path, &mut |out| doc.write_to(out))?;
            // The text as read: the plan's edits leave it as it was.
            if !unchanged(file, doc.text())? {
                staged.discard();
                continue;
            }
            staged.commit()?;
        }
        return Ok(Applied {
            planned,
            preview: None,
            lock: Some(lock),
        });
    }
    Err(anyhow!(
        "{} kept changing while ssosync was writing it; try again",
        file.shown
    ))
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

/// Whether the file still holds exactly `text` (a missing file holds "").
fn unchanged(file: &UserFile, text: &str) -> Result<bool> {
    match still_holds(&file.path, text) {
        Some(same) => Ok(same),
        None => Ok(read_optional(&file.path, &file.shown)?.unwrap_or_default() == text),
    }
}

/// [`unchanged`] without reading a big file into memory again: the size first,
/// then the bytes a block at a time. `None` when that cannot be told this way (not
/// a regular file, an I/O error): the caller reads the file as usual, which
/// reports the problem.
fn still_holds(path: &Path, text: &str) -> Option<bool> {
    use std::io::Read;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(text.is_empty()),
        Err(_) => return None,
    };
    if !meta.is_file() {
        return None;
    }
    if meta.len() != text.len() as u64 {
        return Some(false);
    }
    let mut file = std::fs::File::open(path).ok()?;
    let mut block = vec![0; 64 * 1024];
    let mut rest = text.as_bytes();
    loop {
        let n = match file.read(&mut block) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        if n == 0 {
            return Some(rest.is_empty());
        }
        let (Some(read), Some((expected, after))) = (block.get(..n), rest.split_at_checked(n))
        else {
            return Some(false);
        };
        if read != expected {
            return Some(false);
        }
        rest = after;
    }
}
