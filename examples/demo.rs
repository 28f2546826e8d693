//! `cargo run --example demo`: ssosync against the in-repo fake SSO portal.
//!
//! Copies `fixtures/demo/` into a temp HOME, caches a token as `aws sso login`
//! would, and runs ssosync: a dry run, a real sync, a second sync that finds
//! everything fresh and makes no network call, a rename, and `status`.

// A demo, not shipped: it stops at the first thing that goes wrong.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use fake_portal::FakePortal;
use ssosync::Environment;

fn main() {
    let portal = FakePortal::start();
    portal.add_token("demo-access-token");
    for (account, role) in [
        ("111111111111", "Developer"),
        ("222222222222", "ReadOnly"),
        ("333333333333", "Admin"),
    ] {
        portal.grant(account, role);
    }

    let home = tempfile::tempdir().expect("temp dir");
    let aws = home.path().join(".aws");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    std::fs::create_dir_all(aws.join("sso/cache")).unwrap();
    std::fs::copy(fixtures.join("config"), aws.join("config")).unwrap();
    std::fs::copy(fixtures.join("credentials"), aws.join("credentials")).unwrap();
    // Where `aws sso login --sso-session corp` leaves its token: sha1("corp").json.
    let expires = (chrono::Utc::now() + chrono::Duration::hours(8))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let token = serde_json::json!({
        "startUrl": "https://corp.awsapps.com/start",
        "region": "eu-west-1",
        "accessToken": "demo-access-token",
        "expiresAt": expires,
    });
    let cache_name = format!("{}.json", sha1_smol::Sha1::from("corp").hexdigest());
    std::fs::write(aws.join("sso/cache").join(cache_name), token.to_string()).unwrap();

    let env = Environment::from_vars([
        ("HOME", home.path().display().to_string()),
        ("AWS_ENDPOINT_URL_SSO", portal.url()),
    ]);
    let step = |title: &str, args: &[&str]| {
        println!("\n=== $ ssosync {}   ({title})", args.join(" "));
        let before = portal.request_count();
        let exit = ssosync::run(std::iter::once("ssosync").chain(args.iter().copied()), &env);
        println!(
            "=== exit code {}, {} portal request(s)",
            exit.code(),
            portal.request_count() - before
        );
    };

    println!(
        "fake SSO portal at {}; HOME={}",
        portal.url(),
        home.path().display()
    );
    println!(
        "\n=== ~/.aws/credentials before:\n{}",
        std::fs::read_to_string(aws.join("credentials")).unwrap()
    );
    step("what would change, secrets hidden", &["--dry-run"]);
    step("sync every SSO profile", &[]);
    step("again: everything is fresh, no network", &[]);
    step("one profile under another name", &["-p", "lab1:default"]);
    step("what is where, from the files alone", &["status"]);
    println!("\n=== ~/.aws/credentials after (secret values masked here):");
    for line in std::fs::read_to_string(aws.join("credentials"))
        .unwrap()
        .lines()
    {
        let secret = [
            "aws_secret_access_key",
            "aws_session_token",
            "aws_security_token",
        ]
        .iter()
        .any(|k| line.starts_with(k));
        if secret && !line.contains("EXAMPLE") {
            let key = line.split('=').next().unwrap_or_default().trim_end();
            println!("{key} = ****");
        } else {
            println!("{line}");
        }
    }
}
