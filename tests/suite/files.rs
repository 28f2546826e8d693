//! How the credentials file is written: symlinks, permissions, line endings,
//! lock and temp files, and a file another program holds open.

use crate::common::{Home, shown};

/// Modes are Unix's (on Windows a new file takes its folder's ACL).
#[cfg(unix)]
#[test]
fn a_new_file_is_private_in_a_private_folder() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    std::fs::remove_file(home.path(".aws/config")).unwrap();
    let mut home = home;
    home.write("cfg", crate::common::CONFIG);
    let cfg = home.path("cfg").display().to_string();
    home.env("AWS_CONFIG_FILE", &cfg);
    std::fs::remove_dir_all(home.path(".aws")).unwrap();
    home.cache_session_token("corp", crate::common::TOKEN, &crate::common::in_secs(3600));
    std::fs::set_permissions(home.path(".aws"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.mode(".aws/credentials"), 0o600);

    // A folder ssosync creates itself is 0700.
    home.env("AWS_SHARED_CREDENTIALS_FILE", "~/new/dir/credentials");
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(home.mode("new/dir/credentials"), 0o600);
    assert_eq!(home.mode("new/dir"), 0o700);
}

/// Modes are Unix's.
#[cfg(unix)]
#[test]
fn an_existing_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    home.write(".aws/credentials", "[other]\nx = 1\n");
    std::fs::set_permissions(
        home.path(".aws/credentials"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    assert_eq!(home.run(&["-p", "dev"]).code, 0);
    assert_eq!(home.mode(".aws/credentials"), 0o640);
}

/// Symlinks: Windows' need a privilege a normal user lacks.
#[cfg(unix)]
#[test]
fn a_symlinked_file_is_updated_at_its_target() {
    let home = Home::new();
    home.write("dotfiles/aws-credentials", "# in my dotfiles repo\n");
    std::os::unix::fs::symlink("../dotfiles/aws-credentials", home.path(".aws/credentials"))
        .unwrap();
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    let link = std::fs::symlink_metadata(home.path(".aws/credentials")).unwrap();
    assert!(link.file_type().is_symlink(), "the link stays a link");
    let target = home.read("dotfiles/aws-credentials");
    assert!(
        target.starts_with("# in my dotfiles repo\n\n[dev]\n"),
        "{target}"
    );
}

#[test]
fn leaves_only_a_hidden_lock_file_and_cleans_stale_temp_files() {
    let home = Home::new();
    // What a writer killed mid-write would leave behind.
    home.write(".aws/.credentials.ssosync-tmp-99999", "partial");
    assert_eq!(home.run(&["-p", "dev"]).code, 0);
    let mut names: Vec<String> = std::fs::read_dir(home.path(".aws"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".credentials.ssosync.json",
            ".credentials.ssosync.lock",
            "config",
            "credentials",
            "sso"
        ]
    );
    // The ledger of what ssosync wrote is as private as the file it describes
    // (Windows: its folder's ACL, as the credentials file).
    #[cfg(unix)]
    assert_eq!(home.mode(".aws/.credentials.ssosync.json"), 0o600);
}

#[test]
fn a_file_the_sdk_cannot_parse_is_left_alone() {
    let home = Home::new();
    let broken = "[dev]\naws_access_key_id = A\nthis line has no equals sign\n";
    home.write(".aws/credentials", broken);
    let run = home.run(&["-p", "dev", "--force"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {run:?}");
    assert!(
        run.stderr
            .contains(&shown("~/.aws/credentials line 3: expected `key = value`")),
        "{run:?}"
    );
    assert_eq!(home.credentials(), broken);
    assert_eq!(
        home.portal.request_count(),
        0,
        "checked before any network call"
    );
}

#[test]
fn concurrent_runs_each_land_their_entries() {
    let home = Home::new();
    home.write(".aws/credentials", "# shared\n");
    let runs: Vec<Vec<&str>> = (0..6)
        .map(|i| vec!["-p", if i % 2 == 0 { "dev" } else { "prod" }, "--force"])
        .collect();
    for run in home.run_all(&runs) {
        assert_eq!(run.code, 0, "{run:?}");
    }
    let creds = home.credentials();
    assert!(creds.starts_with("# shared\n"));
    assert_eq!(creds.matches("[dev]").count(), 1, "{creds}");
    assert_eq!(creds.matches("[prod]").count(), 1, "{creds}");
}

#[test]
fn a_new_file_takes_the_platforms_line_ending_and_an_existing_one_keeps_its_own() {
    let nl = if cfg!(windows) { "\r\n" } else { "\n" };
    // Created by ssosync, in a folder it creates too (`~` in the variable, with
    // the platform's separator).
    let mut home = Home::new();
    let rel = if cfg!(windows) {
        "~\\new\\dir\\credentials"
    } else {
        "~/new/dir/credentials"
    };
    home.env("AWS_SHARED_CREDENTIALS_FILE", rel);
    let run = home.run(&["-p", "dev"]);
    assert_eq!(run.code, 0, "{run:?}");
    let created = home.read("new/dir/credentials");
    let issued = home.last_issued("111111111111", "Dev");
    assert!(
        created.starts_with(&format!(
            "[dev]{nl}aws_access_key_id = {}{nl}",
            issued.access_key_id
        )),
        "{created:?}"
    );
    assert_eq!(created.matches('\n').count(), created.matches(nl).count());

    // An existing file keeps its endings, LF or CRLF, on every platform.
    for existing in ["\n", "\r\n"] {
        let home = Home::new();
        let mine = format!("# mine{existing}[other]{existing}x = 1{existing}");
        home.write(".aws/credentials", &mine);
        let run = home.run(&["-p", "dev"]);
        assert_eq!(run.code, 0, "{run:?}");
        let text = home.credentials();
        assert!(text.starts_with(&mine), "{text:?}");
        assert_eq!(
            text.matches('\n').count(),
            text.matches(existing).count(),
            "{text:?}"
        );
        assert!(
            text.contains(&format!("{existing}[dev]{existing}")),
            "{text:?}"
        );
    }
}

/// Windows refuses to rename over a file that another program holds open
/// without delete sharing (a virus scanner, a backup, some editors): ssosync
/// waits for it, and when it stays open gives up with the file unchanged.
#[cfg(windows)]
#[test]
fn a_file_held_open_by_another_program_is_waited_for_then_left_alone() {
    use std::os::windows::fs::OpenOptionsExt;
    use std::time::{Duration, Instant};
    const FILE_SHARE_READ: u32 = 1;
    let home = Home::new();
    let mine = "# mine\r\n[other]\r\nx = 1\r\n";
    home.write(".aws/credentials", mine);
    let hold = || {
        std::fs::OpenOptions::new()
            .read(true)
            .share_mode(FILE_SHARE_READ)
            .open(home.path(".aws/credentials"))
            .unwrap()
    };

    // Closed after a second: the sync waits and then writes.
    let held = hold();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        drop(held);
    });
    let run = home.run(&["-p", "dev"]);
    release.join().unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(home.credentials().contains("[dev]"));

    // Held for good: exit 1 after the bounded wait, one line, nothing changed.
    let before = home.credentials();
    let _held = hold();
    let started = Instant::now();
    let run = home.run(&["-p", "dev", "--force"]);
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(
        run.stderr.contains("cannot replace")
            && run.stderr.contains("another program keeps it open")
            && run.stderr.contains("the file was not changed"),
        "{run:?}"
    );
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(30),
        "{took:?}"
    );
    assert_eq!(home.credentials(), before);
    let mut names: Vec<String> = std::fs::read_dir(home.path(".aws"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".credentials.ssosync.json",
            ".credentials.ssosync.lock",
            "config",
            "credentials",
            "sso"
        ]
    );
}
