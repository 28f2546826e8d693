//! Writing a user's file without ever leaving it half-written.
//!
//! Order: lock → read → plan → temp file (0600, same folder) → fsync → rename →
//! fsync the folder. The lock is a separate hidden file beside the target
//! (`.NAME.ssosync.lock`), because the rename swaps the target's inode; it is never
//! deleted, so two processes can never hold locks on different inodes.
//!
//! Windows: no mode bits (a new file takes the ACL of its folder, which in the
//! user's profile is the user's own, as the AWS CLI relies on) and no folder fsync
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
        private::set_access(&file, target, access)
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
/// `patience` has passed since the first try, waiting 10 ms (doubling up to
/// 100 ms) between tries. The last error is returned.
fn retry_while_busy<T>(
    patience: Duration,
    busy: impl Fn(&std::io::Error) -> bool,
    mut op: impl FnMut() -> std::io::Result<T>,
) -> std::io::Result<T> {
    let deadline = Instant::now() + patience;
    let mut pause = Duration::from_millis(10);
    loop {
        match op() {
            Err(e) if busy(&e) && Instant::now() < deadline => {
                let left = deadline.saturating_duration_since(Instant::now());
                std::thread::sleep(pause.min(left));
                pause = (pause * 2).min(Duration::from_millis(100));
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
/// the ACL of its folder (in the profile, the user's own), as the AWS CLI's do.
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
    pub fn set_access(file: &File, target: &Path, access: Access) -> std::io::Result<()> {
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

    /// Nothing to do: the file already has its folder's ACL.
    #[cfg(not(unix))]
    pub fn set_access(_: &File, _: &Path, _: Access) -> std::io::Result<()> {
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
mod tests {
    use super::*;

    /// Modes and symlinks: Unix only (Windows has no modes, and its symlinks need
    /// a privilege a normal user lacks).
    #[cfg(unix)]
    #[test]
    fn replaces_atomically_keeping_mode_and_following_symlinks() {
        use std::fs::Permissions;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("real", &link).unwrap();

        let target = resolve_target(&link).unwrap();
        assert_eq!(target, real);
        let _lock = lock(&target, Duration::from_secs(1)).unwrap();
        stage(&target, "new").unwrap().commit().unwrap();
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "new");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );
        // Token caches are private whatever mode the file had.
        stage_private(&target, "secret").unwrap().commit().unwrap();
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    /// Modes and symlinks: Unix only, as above.
    #[cfg(unix)]
    #[test]
    fn new_files_are_private_and_loops_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub").join("credentials");
        ensure_parent(&target).unwrap();
        stage(&target, "x").unwrap().commit().unwrap();
        assert_eq!(
            std::fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(target.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );

        let a = dir.path().join("a");
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        assert!(
            resolve_target(&a)
                .unwrap_err()
                .to_string()
                .contains("symlink loop")
        );
    }

    #[test]
    fn a_staged_file_replaces_the_target_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub").join("credentials");
        ensure_parent(&target).unwrap();
        let _lock = lock(&target, Duration::from_secs(1)).unwrap();
        stage(&target, "one").unwrap().commit().unwrap();
        stage(&target, "two").unwrap().commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "two");
        let left = stage(&target, "three").unwrap().commit_while(&mut || false);
        assert_eq!(left.unwrap(), Renamed::TargetChanged);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "two");
        let names: Vec<String> = std::fs::read_dir(target.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.contains(TEMP_MARKER)), "{names:?}");
    }

    #[test]
    fn a_second_lock_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        let _held = lock(&target, Duration::from_secs(1)).unwrap();
        let err = lock(&target, Duration::from_millis(50)).err().unwrap();
        assert!(err.to_string().contains("another ssosync"));
    }

    fn busy() -> std::io::Error {
        std::io::Error::other("busy")
    }

    fn is_busy(e: &std::io::Error) -> bool {
        e.to_string() == "busy"
    }

    #[test]
    fn a_busy_rename_is_tried_again_until_it_succeeds() {
        let mut tries = 0;
        let result = retry_while_busy(Duration::from_secs(5), is_busy, || {
            tries += 1;
            if tries < 4 { Err(busy()) } else { Ok(tries) }
        });
        assert_eq!(result.unwrap(), 4);
    }

    #[test]
    fn a_rename_that_stays_busy_gives_up_after_its_patience() {
        let started = Instant::now();
        let mut tries = 0;
        let result: std::io::Result<()> =
            retry_while_busy(Duration::from_millis(300), is_busy, || {
                tries += 1;
                Err(busy())
            });
        let took = started.elapsed();
        assert!(is_busy(&result.unwrap_err()));
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
        // Backing off: 10, 20, 40, 80, 100, 50 ms (the rest), not a busy loop.
        assert!((4..=10).contains(&tries), "{tries} tries");
    }

    #[test]
    fn another_failure_is_not_tried_again() {
        let mut tries = 0;
        let result: std::io::Result<()> = retry_while_busy(Duration::from_secs(5), is_busy, || {
            tries += 1;
            Err(std::io::Error::from(std::io::ErrorKind::NotFound))
        });
        assert_eq!(result.unwrap_err().kind(), std::io::ErrorKind::NotFound);
        assert_eq!(tries, 1);
    }

    /// A target that changed before the rename is left alone, on every platform.
    #[test]
    fn a_target_that_changed_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("credentials");
        std::fs::write(&target, "old").unwrap();
        let mut asked = 0;
        let renamed = stage(&target, "new")
            .unwrap()
            .commit_while(&mut || {
                asked += 1;
                false
            })
            .unwrap();
        assert_eq!((renamed, asked), (Renamed::TargetChanged, 1));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["credentials"], "the temp file is gone");
    }

    /// The program holding the target open writes it while the rename waits:
    /// the wait ends there, nothing replaced, so the caller plans on its text.
    #[cfg(windows)]
    #[test]
    fn a_write_by_the_program_holding_the_target_ends_the_wait() {
        use std::io::Write;
        use std::os::windows::fs::OpenOptionsExt;
        const FILE_SHARE_READ: u32 = 1;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("credentials");
        std::fs::write(&target, "old").unwrap();
        let mut held = OpenOptions::new()
            .append(true)
            .share_mode(FILE_SHARE_READ)
            .open(&target)
            .unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            held.write_all(b" and theirs").unwrap();
            held.sync_all().unwrap();
            std::thread::sleep(Duration::from_millis(700));
            drop(held);
        });
        let read = std::fs::metadata(&target).unwrap().len();
        let started = Instant::now();
        let renamed = stage(&target, "new")
            .unwrap()
            .commit_while(&mut || std::fs::metadata(&target).unwrap().len() == read)
            .unwrap();
        let waited = started.elapsed();
        writer.join().unwrap();
        assert_eq!(renamed, Renamed::TargetChanged);
        assert!(waited < Duration::from_millis(900), "{waited:?}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old and theirs");
    }

    /// A file held open without delete sharing, as a virus scanner or an editor
    /// holds it: Windows refuses the rename, so ssosync waits and then gives up.
    #[cfg(windows)]
    #[test]
    fn a_target_held_open_by_another_program_is_waited_for_then_left_alone() {
        use std::os::windows::fs::OpenOptionsExt;
        const FILE_SHARE_READ: u32 = 1;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("credentials");
        std::fs::write(&target, "old").unwrap();
        let hold = || {
            OpenOptions::new()
                .read(true)
                .share_mode(FILE_SHARE_READ)
                .open(&target)
                .unwrap()
        };

        // Released after a moment: the write goes through.
        let held = hold();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(700));
            drop(held);
        });
        stage(&target, "new").unwrap().commit().unwrap();
        release.join().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");

        // Held for good: a clear error after the patience, the file unchanged.
        let _held = hold();
        let started = Instant::now();
        let err = stage(&target, "newer").unwrap().commit().unwrap_err();
        assert!(started.elapsed() >= RENAME_PATIENCE);
        let message = format!("{err:#}");
        assert!(
            message.contains("another program keeps it open"),
            "{message}"
        );
        assert!(message.contains("the file was not changed"), "{message}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["credentials"]);
    }
}
