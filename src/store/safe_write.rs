//! Writing a user's file without ever leaving it half-written.
//!
//! Order: lock → read → plan → temp file (0600, same folder) → fsync → rename →
//! fsync the folder. The lock is a separate hidden file beside the target
//! (`.NAME.ssosync.lock`), because the rename swaps the target's inode; it is never
//! deleted, so two processes can never hold locks on different inodes.
//!
//! Windows: no mode bits (a new file takes the ACL of its folder, which in the
//! user's profile is the user's own, as the AWS CLI relies on; a replaced file
//! keeps its own ACL, copied onto the temp file) and no folder fsync
//! (NTFS journals the rename). A rename over a file another program holds open (an
//! editor, a backup or virus scanner) is refused there, so it is tried again for a
//! while ([`RENAME_PATIENCE`]) before the write fails with the file unchanged.
//!
//! Hand-written rather than `tempfile`: its `persist` is a bare rename (no fsync of
//! the file or the folder) and replaces a symlink instead of writing through it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::store::stamp::Stamp;

const TEMP_MARKER: &str = ".ssosync-tmp-";

/// The file a path finally names, following symlinks (even dangling ones, whose
/// target we will create), so writes go through a link to its target.
pub fn resolve_target(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)
                    .with_context(|| format!("cannot read symlink {}", current.display()))?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            Ok(meta) if meta.is_dir() => {
                bail!(
                    "{} is a directory, not a file; move it away",
                    current.display()
                )
            }
            _ => return Ok(current),
        }
    }
    Err(anyhow!(
        "{} is a symlink loop; point it at a real file",
        path.display()
    ))
}

/// An exclusive advisory lock, released on drop.
pub struct FileLock {
    _file: File,
}

fn sibling(target: &Path, prefix: &str, suffix: &str) -> Result<PathBuf> {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("{} has no usable file name", target.display()))?;
    Ok(target.with_file_name(format!("{prefix}{name}{suffix}")))
}

/// Creates the target's folder (0700 on Unix) when missing.
pub fn ensure_parent(target: &Path) -> Result<()> {
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        private::create_folder(dir)
            .with_context(|| format!("cannot create folder {}", dir.display()))?;
    }
    Ok(())
}

/// Takes the lock for `target`, waiting up to `wait` for another writer.
pub fn lock(target: &Path, wait: Duration) -> Result<FileLock> {
    ensure_parent(target)?;
    let path = sibling(target, ".", ".ssosync.lock")?;
    let file = private::options(OpenOptions::new().create(true).truncate(false).write(true))
        .open(&path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(FileLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "another ssosync is still writing {} (lock {}); try again",
                target.display(),
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
    }
}

/// Temp files a killed writer left behind; safe to remove while holding the lock.
pub fn remove_stale_temp_files(target: &Path) {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name().and_then(|n| n.to_str()))
    else {
        return;
    };
    let prefix = format!(".{name}{TEMP_MARKER}");
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&prefix))
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// A second name (a hard link) for the file a path names, removed on drop.
/// Where a rename over an open file is refused (Wine, FAT, Windows before 10),
/// `apply` cannot keep the file it read open across its rename; this name
/// keeps that file reachable instead, so a write that lands in it between the
/// last check and the rename is still seen. It starts like a temp file's name,
/// so one a killed run left is removed with them.
pub struct SecondName {
    path: PathBuf,
}

impl SecondName {
    /// A new second name for what `target` names now.
    pub fn of(target: &Path) -> Result<SecondName, NoSecondName> {
        // Windows: a name could not be removed again while another program
        // holds the file without delete sharing; the rename is refused until
        // it lets go anyway.
        if !private::deletable(target) {
            return Err(NoSecondName::HeldElsewhere);
        }
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = sibling(
            target,
            ".",
            &format!("{TEMP_MARKER}{}-kept{n}", std::process::id()),
        )
        .map_err(|_| NoSecondName::Unsupported)?;
        match std::fs::hard_link(target, &path) {
            Ok(()) => Ok(SecondName { path }),
            Err(e) => {
                tracing::debug!(error = %e, "no second name for the file; a write in the instant before the rename may go unseen");
                Err(NoSecondName::Unsupported)
            }
        }
    }

    /// The file it names, opened for reading.
    pub fn open(&self) -> std::io::Result<File> {
        File::open(&self.path)
    }
}

/// Why [`SecondName::of`] made none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoSecondName {
    /// Another program holds the file open without delete sharing (Windows).
    HeldElsewhere,
    /// No hard links here (FAT, some shares), or nothing to link.
    Unsupported,
}

impl Drop for SecondName {
    /// Where another program opened the file meanwhile without delete sharing,
    /// the name stays until the next run on the file removes it with the
    /// stale temp files.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A fully written and synced temp file, ready to replace the target.
pub struct StagedFile {
    temp: PathBuf,
    target: PathBuf,
}

/// Writes `contents` to a temp file beside `target` (0600, or the target's mode
/// when it exists) and syncs it to disk.
#[cfg(test)]
pub fn stage(target: &Path, contents: &str) -> Result<StagedFile> {
    stage_by(target, &mut |out| out.write_all(contents.as_bytes()))
}

/// As [`stage`], the contents written by `write` (through a buffer), so a big
/// file need not be in memory as one string.
pub fn stage_by(
    target: &Path,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<StagedFile> {
    stage_as(target, private::Access::LikeTarget, write)
}

/// As [`stage`], but private whatever the target's mode (token caches hold secrets).
pub fn stage_private(target: &Path, contents: &str) -> Result<StagedFile> {
    stage_as(target, private::Access::Private, &mut |out| {
        out.write_all(contents.as_bytes())
    })
}

fn stage_as(
    target: &Path,
    access: private::Access,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<StagedFile> {
    let temp = sibling(target, ".", &format!("{TEMP_MARKER}{}", std::process::id()))?;
    let result = (|| -> Result<()> {
        let mut file = private::options(OpenOptions::new().write(true).create_new(true))
            .open(&temp)
            .with_context(|| {
                format!("cannot create a temp file in {}", dir_of(target).display())
            })?;
        let mut buffered = std::io::BufWriter::with_capacity(64 * 1024, &mut file);
        write(&mut buffered)
            .and_then(|()| buffered.flush())
            .with_context(|| format!("cannot write {}", temp.display()))?;
        drop(buffered);
        private::set_access(&file, &temp, target, access)
            .with_context(|| format!("cannot set permissions on {}", temp.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot sync {} to disk", temp.display()))?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    Ok(StagedFile {
        temp,
        target: target.to_path_buf(),
    })
}

impl StagedFile {
    /// The temp file's stamp: the target's after the rename (but for the
    /// status-change time the rename sets).
    pub fn stamp(&self) -> Result<Stamp> {
        Stamp::of_path(&self.temp)
            .ok()
            .flatten()
            .ok_or_else(|| anyhow!("cannot check {}", self.temp.display()))
    }

    /// Renames the temp file over the target and syncs the folder. A target that
    /// another program holds open is tried again for up to [`RENAME_PATIENCE`];
    /// when the rename fails the target is as it was and the temp file is gone.
    pub fn commit(self) -> Result<()> {
        self.commit_while(&mut || true).map(drop)
    }

    /// As [`commit`](Self::commit), asking `unchanged` before each try whether
    /// the target is still what the staged text was planned on: while Windows
    /// refuses the rename, the program holding the file open may write it. When
    /// it has changed, the temp file is removed, the target is left as it is,
    /// and the answer is [`Renamed::TargetChanged`], to read and plan again.
    pub fn commit_while(self, unchanged: &mut dyn FnMut() -> bool) -> Result<Renamed> {
        let renamed = retry_while_busy(RENAME_PATIENCE, held_open, || {
            if !unchanged() {
                return Ok(Renamed::TargetChanged);
            }
            std::fs::rename(&self.temp, &self.target).map(|()| Renamed::Yes)
        });
        if let Ok(Renamed::TargetChanged) = renamed {
            let _ = std::fs::remove_file(&self.temp);
            return Ok(Renamed::TargetChanged);
        }
        if let Err(e) = renamed {
            let _ = std::fs::remove_file(&self.temp);
            let target = self.target.display();
            if held_open(&e) {
                bail!(
                    "cannot replace {target}: another program keeps it open ({e}); close it \
                     (an editor, or wait for a backup or virus scan) and run ssosync again; \
                     the file was not changed"
                );
            }
            return Err(e).with_context(|| format!("cannot replace {target}"));
        }
        sync_folder(&dir_of(&self.target)).map(|()| Renamed::Yes)
    }
}

/// What [`StagedFile::commit_while`] came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renamed {
    /// The staged text replaced the target.
    Yes,
    /// The target changed before the rename: nothing was replaced.
    TargetChanged,
}

/// How long a rename over a file held open by another program is tried again.
pub const RENAME_PATIENCE: Duration = Duration::from_secs(5);

/// Runs `op` until it succeeds, fails for a reason `busy` does not accept, or
/// `patience` has passed since the first try: tried again at once, then after
/// 10 ms doubling up to 100 ms. The last error is returned.
fn retry_while_busy<T>(
    patience: Duration,
    busy: impl Fn(&std::io::Error) -> bool,
    mut op: impl FnMut() -> std::io::Result<T>,
) -> std::io::Result<T> {
    let deadline = Instant::now() + patience;
    // The first try again is at once (the caller may have let go of a handle
    // of its own), then 10 ms doubling to 100 ms.
    let mut pause = Duration::ZERO;
    loop {
        match op() {
            Err(e) if busy(&e) && Instant::now() < deadline => {
                let left = deadline.saturating_duration_since(Instant::now());
                std::thread::sleep(pause.min(left));
                pause = (pause * 2).clamp(Duration::from_millis(10), Duration::from_millis(100));
            }
            result => return result,
        }
    }
}

/// Whether a rename failed because another program has the target open without
/// sharing it for deletion: a sharing violation (32), a lock violation (33), a
/// mapped file (1224), or the access denied (5) that a pending delete or a
/// scanner's handle gives. Never on Unix, where a rename replaces open files.
#[cfg(windows)]
fn held_open(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(5 | 32 | 33 | 1224))
}

/// Whether a rename failed because another program has the target open: never
/// on Unix, where a rename replaces a file that is open.
#[cfg(not(windows))]
fn held_open(_: &std::io::Error) -> bool {
    false
}

/// Makes the rename durable: fsync the folder that holds the new name.
#[cfg(unix)]
fn sync_folder(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync folder {}", dir.display()))
}

/// Windows cannot fsync a folder (opening one for that is access denied);
/// NTFS journals the rename itself.
#[cfg(not(unix))]
fn sync_folder(_: &Path) -> Result<()> {
    Ok(())
}

/// Who may read what ssosync creates: on Unix the owner only (0600 files, 0700
/// folders), a replaced file keeping its own mode; on Windows a new file takes
/// the ACL of its folder (in the profile, the user's own), as the AWS CLI's do,
/// and a replaced file keeps its own.
mod private {
    use std::fs::{File, OpenOptions};
    use std::path::Path;

    /// The permissions a staged file gets.
    #[derive(Clone, Copy)]
    pub enum Access {
        /// The owner's only, whatever the target had (token caches).
        Private,
        /// The target's own when it exists, else the owner's only.
        LikeTarget,
    }

    #[cfg(unix)]
    pub fn create_folder(dir: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }

    #[cfg(not(unix))]
    pub fn create_folder(dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    /// `options` creating the file 0600.
    #[cfg(unix)]
    pub fn options(options: &mut OpenOptions) -> &mut OpenOptions {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600)
    }

    #[cfg(not(unix))]
    pub fn options(options: &mut OpenOptions) -> &mut OpenOptions {
        options
    }

    /// Gives `file` (created by [`options`]) the mode `access` asks for.
    #[cfg(unix)]
    pub fn set_access(file: &File, _: &Path, target: &Path, access: Access) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let mode = match (access, std::fs::metadata(target)) {
            (Access::LikeTarget, Ok(meta)) => meta.permissions().mode() & 0o7777,
            _ => 0o600,
        };
        if mode == 0o600 {
            return Ok(());
        }
        file.set_permissions(std::fs::Permissions::from_mode(mode))
    }

    /// Windows: a replaced file keeps its own access list (the rename would
    /// otherwise leave it with the one the temp file took from the folder,
    /// undoing what its owner set); a new file, or a private one, keeps the
    /// folder's. The list is copied by path: `file` was not opened to change it.
    /// Where lists cannot be read or set (FAT, some shares), the temp file
    /// keeps its folder's, as every write did before: never a failed write.
    #[cfg(windows)]
    #[allow(unsafe_code)]
    pub fn set_access(_: &File, temp: &Path, target: &Path, access: Access) -> std::io::Result<()> {
        use std::os::windows::ffi::OsStrExt;
        use std::ptr::null_mut;
        use windows_sys::Win32::Security::Authorization::{SE_FILE_OBJECT, SetNamedSecurityInfoW};
        use windows_sys::Win32::Security::{
            DACL_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION,
            UNPROTECTED_DACL_SECURITY_INFORMATION,
        };
        const ERROR_FILE_NOT_FOUND: u32 = 2;
        const ERROR_PATH_NOT_FOUND: u32 = 3;
        if matches!(access, Access::Private) {
            return Ok(());
        }
        let acl = match crate::store::access::windows_acl::FileAcl::read(target) {
            Ok(acl) => acl,
            Err(ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND) => return Ok(()),
            // A file system without access lists (FAT, some network shares) or
            // a list ssosync may not read: the file is written as it was before
            // ssosync kept lists, with its folder's.
            Err(code) => {
                tracing::debug!(
                    error = %std::io::Error::from_raw_os_error(code.cast_signed()),
                    "cannot read the access list of the file replaced; the new one has its folder's"
                );
                return Ok(());
            }
        };
        // A protected list (inheritance turned off) stays so; an unprotected one
        // gets the folder's inherited entries again, as the file had.
        let protection = if acl.protected() {
            PROTECTED_DACL_SECURITY_INFORMATION
        } else {
            UNPROTECTED_DACL_SECURITY_INFORMATION
        };
        let temp: Vec<u16> = temp.as_os_str().encode_wide().chain(Some(0)).collect();
        // SAFETY: `temp` is a NUL-terminated path; the list lives in `acl`,
        // alive until the end of this function. (Null when the file had no
        // list: the temp file then has none either, as the file had, which
        // lets everyone open it; the exposure warning says so.)
        let status = unsafe {
            SetNamedSecurityInfoW(
                temp.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | protection,
                null_mut(),
                null_mut(),
                acl.dacl(),
                null_mut(),
            )
        };
        if status != 0 {
            tracing::debug!(
                error = %std::io::Error::from_raw_os_error(status.cast_signed()),
                "cannot give the temp file the replaced file's access list; it has its folder's"
            );
        }
        Ok(())
    }

    /// Windows: whether a name of the file could be removed now, which every
    /// open handle must allow (delete sharing): opening it for deletion asks.
    /// (For that instant, as during the rename's own open, a program opening
    /// the file without delete sharing is refused.)
    #[cfg(windows)]
    pub fn deletable(path: &Path) -> bool {
        use std::os::windows::fs::OpenOptionsExt;
        const DELETE: u32 = 0x0001_0000;
        const SHARE_ALL: u32 = 0x7;
        OpenOptions::new()
            .access_mode(DELETE)
            .share_mode(SHARE_ALL)
            .open(path)
            .is_ok()
    }

    /// Elsewhere any name of a file can be removed while it is open.
    #[cfg(not(windows))]
    pub fn deletable(_: &Path) -> bool {
        true
    }

    /// Nothing to do: no permissions here beyond what the platform gives.
    #[cfg(not(any(unix, windows)))]
    pub fn set_access(_: &File, _: &Path, _: &Path, _: Access) -> std::io::Result<()> {
        Ok(())
    }
}

fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests;
