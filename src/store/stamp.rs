//! What identifies a file's state without reading it: on Unix its device, inode,
//! size, and modification and status-change times in nanoseconds. `apply`
//! compares stamps right before its rename, so a writer that takes no lock
//! (`aws configure set`, `>>` from a script) is noticed however late it wrote.

use std::fs::{File, Metadata};
use std::path::Path;

/// A file's identity and state, as far as metadata tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Device and inode: which file the path names (a rename-into-place by
    /// another program changes them). Zero where the platform has none.
    id: (u64, u64),
    len: u64,
    /// Modification time, nanoseconds since the epoch.
    modified: i128,
    /// Status change time (Unix `ctime`), nanoseconds since the epoch: a
    /// same-size rewrite within one mtime tick, or a `touch -m` back to the old
    /// time, still changes it.
    changed: i128,
}

impl Stamp {
    #[cfg(unix)]
    fn from_metadata(meta: &Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        Stamp {
            id: (meta.dev(), meta.ino()),
            len: meta.size(),
            modified: ns(meta.mtime(), meta.mtime_nsec()),
            changed: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    #[cfg(not(unix))]
    fn from_metadata(meta: &Metadata) -> Stamp {
        let ns = |t: std::io::Result<std::time::SystemTime>| {
            t.ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
        };
        // No inode in stable std here: a replaced file still shows as a new
        // creation time.
        Stamp {
            id: (0, 0),
            len: meta.len(),
            modified: ns(meta.modified()),
            changed: ns(meta.created()),
        }
    }

    /// The stamp of what `path` names now (following symlinks); `None` when
    /// nothing is there.
    pub fn of_path(path: &Path) -> std::io::Result<Option<Stamp>> {
        match std::fs::metadata(path) {
            Ok(meta) => Ok(Some(Stamp::from_metadata(&meta))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The stamp of an open file, wherever its path now points.
    pub fn of_file(file: &File) -> std::io::Result<Stamp> {
        file.metadata().map(|meta| Stamp::from_metadata(&meta))
    }

    /// The same file with the same contents as far as metadata tells, ignoring
    /// the status-change time (a rename or the last link going away changes it
    /// without touching the contents).
    pub fn same_contents(&self, other: &Stamp) -> bool {
        self.id == other.id && self.len == other.len && self.modified == other.modified
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_write_a_rename_and_a_missing_file_all_show() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert_eq!(Stamp::of_path(&path).unwrap(), None);
        std::fs::write(&path, "a").unwrap();
        let first = Stamp::of_path(&path).unwrap().unwrap();
        assert_eq!(Stamp::of_path(&path).unwrap(), Some(first));

        // An append, however soon after.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"b").unwrap();
        let appended = Stamp::of_path(&path).unwrap().unwrap();
        assert_ne!(appended, first);
        assert!(!appended.same_contents(&first));
        assert_eq!(Stamp::of_file(&file).unwrap(), appended);
        // Windows renames nothing over an open file.
        drop(file);

        // Another file renamed over it: same size, another inode.
        let other = dir.path().join("g");
        std::fs::write(&other, "xy").unwrap();
        std::fs::rename(&other, &path).unwrap();
        let replaced = Stamp::of_path(&path).unwrap().unwrap();
        assert_eq!(replaced.len, appended.len);
        #[cfg(unix)]
        assert!(!replaced.same_contents(&appended));
    }
}
