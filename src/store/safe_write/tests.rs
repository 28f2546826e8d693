//! The safe write's tests: replacement, modes and symlinks, locks, temp files,
//! the retry while a target is held open.

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
    let result: std::io::Result<()> = retry_while_busy(Duration::from_millis(300), is_busy, || {
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
