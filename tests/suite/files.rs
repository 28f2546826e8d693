//! How the credentials file is written: symlinks, permissions, lock and temp files.

use std::os::unix::fs::PermissionsExt;

use crate::common::Home;

#[test]
fn a_new_file_is_private_in_a_private_folder() {
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

#[test]
fn an_existing_file_keeps_its_mode() {
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
    // The ledger of what ssosync wrote is as private as the file it describes.
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
            .contains("~/.aws/credentials line 3: expected `key = value`"),
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
