//! The write loop's tests: a foreign write before the check, into the replaced
//! file, and late into it.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;

use super::*;
use crate::store::credentials::CredentialsFile;

/// What a test runs where `apply` has made its last check.
type Hook = Box<dyn FnMut(&Path)>;

thread_local! {
    /// `apply` on this thread acts as where a rename over an open file is
    /// refused (Wine, FAT, Windows before 10), whatever the platform.
    pub static RENAME_OVER_OPEN_REFUSED_HERE: Cell<bool> = const { Cell::new(false) };
    /// Run by `apply` on this thread between its last check and the rename.
    static AFTER_CHECK: RefCell<Option<Hook>> = const { RefCell::new(None) };
}

/// Called by `apply` right after its check before each try of the rename.
pub fn after_check(path: &Path) {
    AFTER_CHECK.with_borrow_mut(|hook| {
        if let Some(hook) = hook {
            hook(path);
        }
    });
}

/// The moment no check can close: another program opened the file before
/// the rename and writes into it after. Its text is what is planned on next,
/// with anything appended to ours since. (Unix: on Windows the rename
/// itself would be refused while the other program has the file open.)
#[cfg(unix)]
#[test]
fn a_write_into_the_replaced_file_is_planned_on_again() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = credentials_in(&dir);
    let mut snapshot: Snapshot<CredentialsFile> = Snapshot::read(&file).unwrap();
    let read = snapshot.stamp.unwrap();
    let mut foreign = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();

    snapshot
        .doc
        .write_entry("dev", &creds("ASIAEXAMPLE000000001"), None);
    let staged = safe_write::stage(&path, &snapshot.doc.render()).unwrap();
    let ours = staged.stamp().unwrap();
    staged.commit().unwrap();
    foreign.write_all(b"\n[foreign]\nnote = kept\n").unwrap();

    let held = snapshot.held.as_ref().unwrap();
    assert!(!Stamp::of_file(held).unwrap().same_contents(&read));
    let seen = snapshot.doc.text().to_string();
    let again = Snapshot::recover(&file, held, &seen, &snapshot.doc, ours).unwrap();
    assert_eq!(again.doc.text(), "[a]\nk = 1\n\n[foreign]\nnote = kept\n");
    assert_eq!(Stamp::of_path(&path).unwrap(), again.stamp);

    // Ours got an append too (after the rename): both are kept.
    let mut late = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    late.write_all(b"\n[late]\nnote = kept too\n").unwrap();
    let mut again = Snapshot::recover(&file, held, &seen, &snapshot.doc, ours).unwrap();
    assert_eq!(
        again.doc.text(),
        "[a]\nk = 1\n\n[foreign]\nnote = kept\n\n[late]\nnote = kept too\n"
    );

    // The recovered text is written; a program that had ours open writes into
    // it after that rename too: nothing found so far is lost.
    let mut third = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    again
        .doc
        .write_entry("dev", &creds("ASIAEXAMPLE000000002"), None);
    let staged = safe_write::stage(&path, &again.doc.render()).unwrap();
    let ours = staged.stamp().unwrap();
    staged.commit().unwrap();
    third
        .write_all(b"\n[third]\nnote = kept as well\n")
        .unwrap();
    let seen = again.seen.clone().unwrap();
    let held = again.held.as_ref().unwrap();
    let last = Snapshot::recover(&file, held, &seen, &again.doc, ours).unwrap();
    assert_eq!(
        last.doc.text(),
        "[a]\nk = 1\n\n[foreign]\nnote = kept\n\n[late]\nnote = kept too\n\n[third]\nnote = kept as well\n"
    );

    // And one that changes the file before a rename of the recovered text:
    // the recovered text is carried over with the addition.
    let mut fourth = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    fourth.write_all(b"\n[fourth]\nnote = kept too\n").unwrap();
    let seen = last.seen.clone().unwrap();
    let carried = Snapshot::extended(&file, &seen, &last.doc).unwrap();
    assert_eq!(
        carried.doc.text(),
        format!("{}\n[fourth]\nnote = kept too\n", last.doc.text())
    );
}

/// Where a rename over an open file is refused (Wine, FAT, Windows before
/// 10), the file read cannot stay open across the rename: its second name
/// keeps it reachable, and a write that landed in the instant between the
/// last check and the rename is seen there after it. The name goes when
/// dropped, and one a killed run left goes with the stale temp files.
#[test]
fn a_write_just_before_the_rename_is_seen_through_the_second_name() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = credentials_in(&dir);
    let mut snapshot: Snapshot<CredentialsFile> = Snapshot::read(&file).unwrap();
    let read = snapshot.stamp.unwrap();
    drop(snapshot.held.take());
    let second = SecondName::of(&path).expect("a hard link in a temp folder");

    snapshot
        .doc
        .write_entry("dev", &creds("ASIAEXAMPLE000000001"), None);
    let staged = safe_write::stage(&path, &snapshot.doc.render()).unwrap();
    let ours = staged.stamp().unwrap();
    // The foreign write, after the check and before the rename.
    let mut foreign = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    foreign.write_all(b"\n[foreign]\nnote = kept\n").unwrap();
    drop(foreign);
    staged.commit().unwrap();

    let replaced = second.open().unwrap();
    assert!(!Stamp::of_file(&replaced).unwrap().same_contents(&read));
    let seen = snapshot.doc.text().to_string();
    let again = Snapshot::recover(&file, &replaced, &seen, &snapshot.doc, ours).unwrap();
    assert_eq!(again.doc.text(), "[a]\nk = 1\n\n[foreign]\nnote = kept\n");
    // Windows lists a removed name until the last handle on the file closes.
    drop((replaced, again));
    let names = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(names().len(), 2, "{:?}", names());
    drop(second);
    assert_eq!(names(), ["credentials"]);

    std::mem::forget(SecondName::of(&path).unwrap());
    assert_eq!(names().len(), 2, "{:?}", names());
    safe_write::remove_stale_temp_files(&path);
    assert_eq!(names(), ["credentials"]);
}

/// The whole loop where the file read cannot stay open across the rename:
/// another program appends after the last check, before the rename. The
/// run gives the file a second name before that check, sees the append there
/// after the rename, plans again on it, and leaves no second name behind.
#[test]
fn an_append_after_the_last_check_is_kept_where_the_file_read_cannot_stay_open() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = credentials_in(&dir);
    let (checks, named) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(false)));
    let hook = {
        let (checks, named, dir) = (checks.clone(), named.clone(), dir.path().to_path_buf());
        move |path: &Path| {
            checks.set(checks.get() + 1);
            if checks.get() > 1 {
                return;
            }
            named.set(std::fs::read_dir(&dir).unwrap().any(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.starts_with(".credentials.ssosync-tmp-") && name.contains("-kept")
            }));
            let mut foreign = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            foreign.write_all(b"\n[foreign]\nnote = kept\n").unwrap();
        }
    };
    RENAME_OVER_OPEN_REFUSED_HERE.set(true);
    AFTER_CHECK.set(Some(Box::new(hook)));
    let creds = creds("ASIAEXAMPLE000000001");
    let mut plans = 0;
    let applied = apply::<CredentialsFile, _>(&file, None, Commit::Write, |doc| {
        plans += 1;
        doc.write_entry("dev", &creds, None);
    });
    AFTER_CHECK.set(None);
    RENAME_OVER_OPEN_REFUSED_HERE.set(false);
    drop(applied.unwrap());

    assert!(named.get(), "a second name before the check");
    assert_eq!(plans, 2, "planned again on the append");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\n[foreign]\nnote = kept\n"), "{text}");
    assert_eq!(text.matches("[dev]").count(), 1, "{text}");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [".credentials.ssosync.lock", "credentials"]);
}

/// A script appending in a tight loop for a moment (every read overlaps one
/// of its writes): the read waits it out instead of giving up, and sees the
/// file whole.
#[test]
fn a_file_that_changes_through_every_read_for_a_moment_is_read_once_it_settles() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = credentials_in(&dir);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let (started, writing) = std::sync::mpsc::channel();
    let writer = std::thread::spawn(move || {
        let until = std::time::Instant::now() + Duration::from_millis(300);
        let mut n = 0;
        started.send(()).unwrap();
        while std::time::Instant::now() < until {
            f.write_all(b"# x\n").unwrap();
            n += 1;
        }
        n
    });
    writing.recv().unwrap();
    let snapshot: Snapshot<CredentialsFile> = Snapshot::read(&file).unwrap();
    let appended = writer.join().unwrap();
    let lines = snapshot.doc.text().matches("# x\n").count();
    assert!(lines <= appended, "{lines} of {appended}");
    assert!(snapshot.doc.text().starts_with("[a]\nk = 1\n"));
}

/// `[a]` with one key, in a file of its own, as `apply` is given it.
fn credentials_in(dir: &tempfile::TempDir) -> (std::path::PathBuf, UserFile) {
    let path = dir.path().join("credentials");
    std::fs::write(&path, "[a]\nk = 1\n").unwrap();
    let file = UserFile {
        path: path.clone(),
        shown: "~/.aws/credentials".into(),
    };
    (path, file)
}

fn creds(key: &str) -> crate::aws::RoleCredentials {
    crate::aws::RoleCredentials {
        access_key_id: key.into(),
        secret_access_key: crate::secret::Secret::new("s"),
        session_token: crate::secret::Secret::new("t"),
        expiration: chrono::Utc::now(),
    }
}

/// A program that opened the file before the rename and writes a moment
/// after it (a thread here, slow to write): the run waits for it to close
/// the replaced file, then plans again on what it wrote.
#[cfg(target_os = "linux")]
#[test]
fn a_late_write_into_the_replaced_file_is_waited_for_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = credentials_in(&dir);
    let creds = creds("ASIAEXAMPLE000000001");
    let mut late = None;
    let mut plans = 0;
    apply::<CredentialsFile, _>(&file, None, Commit::Write, |doc| {
        plans += 1;
        if plans == 1 {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            late = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                f.write_all(b"\n[late]\nnote = kept\n").unwrap();
            }));
        }
        doc.write_entry("dev", &creds, None);
    })
    .unwrap();
    late.unwrap().join().unwrap();
    assert_eq!(plans, 2, "planned again on the late write");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\n[late]\nnote = kept\n"), "{text}");
    assert_eq!(text.matches("[dev]").count(), 1, "{text}");
}

#[test]
fn apply_keeps_what_another_program_wrote_before_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = credentials_in(&dir);
    let creds = creds("ASIAEXAMPLE000000001");
    let earlier: CredentialsFile = file.read().unwrap();
    let mut plans = 0;
    apply::<CredentialsFile, _>(&file, Some(earlier), Commit::Write, |doc| {
        plans += 1;
        // The first plan is made on the text read before a foreign append.
        if plans == 1 {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(b"\n[foreign]\nnote = kept\n").unwrap();
        }
        doc.write_entry("dev", &creds, None);
    })
    .unwrap();
    assert_eq!(plans, 2, "planned again on the new text");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("[a]\nk = 1\n\n[foreign]\nnote = kept\n\n[dev]\n"),
        "{text}"
    );
}

/// A program that writes into the replaced file after every rename, more
/// times than a run plans on a changing file: each write was recovered, so
/// the run keeps going until the last one is in (giving up after a rename
/// would leave it in a file nobody can reach).
#[cfg(target_os = "linux")]
#[test]
fn writes_recovered_from_replaced_files_are_never_given_up_on() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = credentials_in(&dir);
    const LATE: usize = ATTEMPTS + 2;
    let mut writers = Vec::new();
    let mut plans = 0;
    apply::<CredentialsFile, _>(&file, None, Commit::Write, |doc| {
        plans += 1;
        if plans <= LATE {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            let n = plans;
            writers.push(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(60));
                f.write_all(format!("\n[late-{n}]\nnote = kept\n").as_bytes())
                    .unwrap();
            }));
        }
        doc.write_entry("dev", &creds("ASIAEXAMPLE000000001"), None);
    })
    .unwrap();
    for w in writers {
        w.join().unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    for n in 1..=LATE {
        assert!(
            text.contains(&format!("\n[late-{n}]\n")),
            "late-{n}: {text}"
        );
    }
    assert_eq!(plans, LATE + 1, "{text}");
}
