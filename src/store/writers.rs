//! Whether another program may still write a file that ssosync has just
//! replaced. A program that opened the file before the rename (`aws configure
//! set`, `>>` from a script) writes into the replaced file, and its write is
//! lost unless `apply` sees it there; it can see it only once that program is
//! done, so it waits while the replaced file is open for writing elsewhere.

use std::fs::File;

/// Linux: a read lease can be taken only while no process has the file open
/// for writing (fcntl(2), F_SETLEASE), so taking one and giving it back at once
/// answers the question. Where leases are refused for another reason (a file
/// system without them, a file of another owner), the answer is no: the check
/// right after the rename stays the last one.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn open_for_writing_elsewhere(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor `file` owns and keeps open for the call;
    // F_SETLEASE takes an int argument and touches no memory of ours.
    let taken = unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) };
    if taken == 0 {
        // SAFETY: as above; this gives the lease back.
        unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
        return false;
    }
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN)
}

/// Elsewhere there is no cheap way to ask (macOS has no leases; Windows does
/// not rename over an open file, see `apply`): the check right after the
/// rename is the last one.
#[cfg(not(target_os = "linux"))]
pub fn open_for_writing_elsewhere(_file: &File) -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_writer_elsewhere_shows_and_readers_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "x").unwrap();
        let ours = File::open(&path).unwrap();
        assert!(!open_for_writing_elsewhere(&ours));
        let reader = File::open(&path).unwrap();
        assert!(!open_for_writing_elsewhere(&ours), "a reader is no writer");
        let writer = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        assert!(open_for_writing_elsewhere(&ours));
        drop(writer);
        assert!(!open_for_writing_elsewhere(&ours));
        // The replaced file: the path now names another, the writer keeps the old.
        let writer = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::fs::write(dir.path().join("g"), "y").unwrap();
        std::fs::rename(dir.path().join("g"), &path).unwrap();
        assert!(open_for_writing_elsewhere(&ours));
        drop((writer, reader));
        assert!(!open_for_writing_elsewhere(&ours));
    }
}
