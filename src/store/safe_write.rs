//! Writing a user's file without ever leaving it half-written.
//!
//! Order: lock → read → plan → temp file (0600, same folder) → fsync → rename →
//! fsync the folder. The lock is a separate hidden file beside the target
//! (`.NAME.ssosync.lock`), because the rename swaps the target's inode; it is never
//! deleted, so two processes can never hold locks on different inodes.
//!
//! Hand-written rather than `tempfile`: its `persist` is a bare rename (no fsync of
//! the file or the folder) and replaces a symlink instead of writing through it.

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
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

/// Creates the target's folder (0700) when missing.
pub fn ensure_parent(target: &Path) -> Result<()> {
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create folder {}", dir.display()))?;
    }
    Ok(())
}

/// Takes the lock for `target`, waiting up to `wait` for another writer.
pub fn lock(target: &Path, wait: Duration) -> Result<FileLock> {
    ensure_parent(target)?;
    let path = sibling(target, ".", ".ssosync.lock")?;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
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
    let mode = match std::fs::metadata(target) {
        Ok(meta) => meta.permissions().mode() & 0o7777,
        Err(_) => 0o600,
    };
    stage_with_mode_by(target, mode, write)
}

/// As [`stage`], with the file's mode given (token caches are always 0600).
pub fn stage_with_mode(target: &Path, contents: &str, mode: u32) -> Result<StagedFile> {
    stage_with_mode_by(target, mode, &mut |out| out.write_all(contents.as_bytes()))
}

fn stage_with_mode_by(
    target: &Path,
    mode: u32,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<StagedFile> {
    let temp = sibling(target, ".", &format!("{TEMP_MARKER}{}", std::process::id()))?;
    let result = (|| -> Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .with_context(|| {
                format!("cannot create a temp file in {}", dir_of(target).display())
            })?;
        let mut buffered = std::io::BufWriter::with_capacity(64 * 1024, &mut file);
        write(&mut buffered)
            .and_then(|()| buffered.flush())
            .with_context(|| format!("cannot write {}", temp.display()))?;
        drop(buffered);
        if mode != 0o600 {
            file.set_permissions(Permissions::from_mode(mode))
                .with_context(|| format!("cannot set permissions on {}", temp.display()))?;
        }
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

    /// Renames the temp file over the target and syncs the folder.
    pub fn commit(self) -> Result<()> {
        std::fs::rename(&self.temp, &self.target).with_context(|| {
            let _ = std::fs::remove_file(&self.temp);
            format!("cannot replace {}", self.target.display())
        })?;
        let dir = dir_of(&self.target);
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync folder {}", dir.display()))?;
        Ok(())
    }

    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.temp);
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

    #[test]
    fn replaces_atomically_keeping_mode_and_following_symlinks() {
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
    }

    #[test]
    fn new_files_are_private_and_loops_are_refused() {
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
    fn a_second_lock_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        let _held = lock(&target, Duration::from_secs(1)).unwrap();
        let err = lock(&target, Duration::from_millis(50)).err().unwrap();
        assert!(err.to_string().contains("another ssosync"));
    }
}
