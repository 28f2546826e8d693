//! Byte-for-byte fixtures: only the synced keys change.

use crate::common::Home;
use fake_portal::IssuedCredentials;

fn expiry(c: &IssuedCredentials) -> String {
    chrono::DateTime::from_timestamp_millis(c.expiration_ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn fill(template: &str, profile: &str, c: &IssuedCredentials) -> String {
    template
        .replace(&format!("{{{profile}.akid}}"), &c.access_key_id)
        .replace(&format!("{{{profile}.secret}}"), &c.secret_access_key)
        .replace(&format!("{{{profile}.token}}"), &c.session_token)
        .replace(&format!("{{{profile}.exp}}"), &expiry(c))
}

#[test]
fn every_fixture_changes_only_the_synced_keys() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/format");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("before") {
            continue;
        }
        cases += 1;
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let before = std::fs::read(&path).unwrap();
        let template = std::fs::read_to_string(path.with_extension("after")).unwrap();
        let home = Home::new();
        if !before.is_empty() {
            home.write(".aws/credentials", &before);
        }
        let run = home.run(&["-p", "dev", "-p", "prod"]);
        assert_eq!(run.code, 0, "{name}: {run:?}");
        let dev = home.last_issued("111111111111", "Dev");
        let prod = home.last_issued("222222222222", "Admin");
        let mut want = fill(&fill(&template, "dev", &dev), "prod", &prod);
        // A file without a line ending of its own gets the platform's.
        if cfg!(windows) && !before.contains(&b'\n') {
            want = want.replace('\n', "\r\n");
        }
        let got = home.credentials();
        assert_eq!(got, want, "fixture {name}: got\n{got}");
    }
    assert!(cases >= 6, "fixtures missing: found {cases}");
}
