//! Role chains through source_profile, assumed with STS from fresh SSO credentials.

use crate::common::{CONFIG, Home};

const CHAINS: &str = "
[profile hop1]
role_arn = arn:aws:iam::444444444444:role/Hop1
source_profile = dev
role_session_name = me-at-work
external_id = ext-123

[profile hop2]
role_arn = arn:aws:iam::555555555555:role/Hop2
source_profile = hop1
duration_seconds = 900

[profile hop3]
role_arn = arn:aws:iam::666666666666:role/Hop3
source_profile = hop2
region = us-west-2

[profile sibling]
role_arn = arn:aws:iam::777777777777:role/Sibling
source_profile = dev
";

fn chain_home() -> Home {
    let home = Home::new();
    home.write(".aws/config", format!("{CONFIG}{CHAINS}"));
    for role in [
        "arn:aws:iam::444444444444:role/Hop1",
        "arn:aws:iam::555555555555:role/Hop2",
        "arn:aws:iam::666666666666:role/Hop3",
        "arn:aws:iam::777777777777:role/Sibling",
    ] {
        home.portal.allow_assume(role);
    }
    home.portal
        .require_external_id("arn:aws:iam::444444444444:role/Hop1", "ext-123");
    home
}

#[test]
fn a_chain_of_depth_three_signs_each_hop_with_the_previous_one() {
    let mut home = chain_home();
    home.env("AWS_ENDPOINT_URL_STS", &home.portal.url());
    let run = home.run(&["-p", "hop3", "-p", "sibling"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        home.portal.count_path("/federation/credentials"),
        1,
        "the shared root is fetched once"
    );
    let root = home.last_issued("111111111111", "Dev");
    let assumed = home.portal.assumed();
    let by_role = |suffix: &str| {
        assumed
            .iter()
            .find(|a| a.role_arn.ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} not assumed: {assumed:?}"))
            .clone()
    };
    let (h1, h2, h3, sib) = (
        by_role("/Hop1"),
        by_role("/Hop2"),
        by_role("/Hop3"),
        by_role("/Sibling"),
    );
    assert_eq!(assumed.len(), 4, "each hop assumed once: {assumed:?}");
    assert_eq!(
        h1.signed_with, root.access_key_id,
        "hop 1 signed with the SSO role credentials"
    );
    assert_eq!(h2.signed_with, h1.access_key_id);
    assert_eq!(h3.signed_with, h2.access_key_id);
    assert_eq!(sib.signed_with, root.access_key_id);
    assert_eq!(h1.session_name, "me-at-work");
    assert!(
        h2.session_name.starts_with("ssosync-"),
        "{}",
        h2.session_name
    );
    assert_eq!(h1.external_id.as_deref(), Some("ext-123"));
    assert_eq!(h2.duration_seconds, 900);
    assert_eq!(h3.duration_seconds, 3600);

    let sdk = crate::common::sdk_profiles(None, &home.path(".aws/credentials"));
    assert_eq!(sdk["hop3"]["aws_access_key_id"], h3.access_key_id);
    assert_eq!(sdk["hop3"]["aws_secret_access_key"], h3.secret_access_key);
    assert_eq!(sdk["hop3"]["aws_session_token"], h3.session_token);
    assert_eq!(sdk["sibling"]["aws_access_key_id"], sib.access_key_id);
    assert!(
        !sdk.contains_key("hop1") && !sdk.contains_key("dev"),
        "only selected profiles are written"
    );
    for s in home
        .secrets()
        .iter()
        .chain(assumed.iter().map(|a| &a.secret_access_key))
    {
        assert!(!run.all_output().contains(s.as_str()), "leaked: {run:?}");
    }
}

#[test]
fn chains_never_start_from_keys_in_the_credentials_file() {
    let mut home = chain_home();
    home.env("AWS_ENDPOINT_URL_STS", &home.portal.url());
    // Stale keys under the root's name: the SDKs' chain resolver would sign with these.
    home.write(".aws/credentials", "[dev]\naws_access_key_id = ASIASTALESTALESTALE\naws_secret_access_key = stale\naws_session_token = stale\naws_credential_expiration = 2099-01-01T00:00:00Z\n");
    let run = home.run(&["-p", "hop1"]);
    assert_eq!(run.code, 0, "{run:?}");
    let root = home.last_issued("111111111111", "Dev");
    assert_eq!(home.portal.assumed()[0].signed_with, root.access_key_id);
}

#[test]
fn chained_profiles_are_synced_by_default_and_can_be_renamed() {
    let mut home = chain_home();
    home.env("AWS_ENDPOINT_URL_STS", &home.portal.url());
    home.cache_legacy_token(
        "https://legacy.awsapps.com/start",
        "us-east-2",
        "tok-legacy",
        &crate::common::in_secs(3600),
    );
    home.portal.add_token("tok-legacy");
    let run = home.run(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    for name in ["dev", "prod", "legacy", "hop1", "hop2", "hop3", "sibling"] {
        assert!(
            home.credentials().contains(&format!("[{name}]")),
            "{name}: {run:?}"
        );
    }
    let run = home.run(&["-p", "hop2:default", "--force"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("hop2 → default"), "{run:?}");
}

#[test]
fn broken_chains_are_reported_per_profile_and_others_sync() {
    let mut home = chain_home();
    home.env("AWS_ENDPOINT_URL_STS", &home.portal.url());
    home.write(
        ".aws/config",
        format!(
            "{CONFIG}{CHAINS}
[profile cyc1]
role_arn = arn:aws:iam::1:role/C
source_profile = cyc2
[profile cyc2]
role_arn = arn:aws:iam::1:role/C
source_profile = cyc1
[profile orphan]
role_arn = arn:aws:iam::1:role/O
source_profile = gone
[profile needs-mfa]
role_arn = arn:aws:iam::444444444444:role/Hop1
source_profile = dev
mfa_serial = arn:aws:iam::111111111111:mfa/me
[profile on-ec2]
role_arn = arn:aws:iam::1:role/E
credential_source = Ec2InstanceMetadata
"
        ),
    );
    let run = home.run(&[
        "-p",
        "cyc1",
        "-p",
        "orphan",
        "-p",
        "needs-mfa",
        "-p",
        "on-ec2",
        "-p",
        "hop1",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("profile cyc1: source_profile chain loops: cyc1 → cyc2 → cyc1"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("profile orphan: source_profile `gone`"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("profile needs-mfa: profile needs-mfa sets mfa_serial"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("profile on-ec2: profile on-ec2 uses credential_source"),
        "{run:?}"
    );
    assert!(
        home.credentials().contains("[hop1]"),
        "the good chain still syncs"
    );

    // Not allowed to assume: a per-profile error naming the role.
    let home2 = chain_home();
    let mut home2 = home2;
    home2.env("AWS_ENDPOINT_URL_STS", &home2.portal.url());
    home2.write(".aws/config", format!("{CONFIG}[profile denied]\nrole_arn = arn:aws:iam::888888888888:role/Nope\nsource_profile = dev\n"));
    let run = home2.run(&["-p", "denied", "-p", "dev"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("profile denied: cannot assume arn:aws:iam::888888888888:role/Nope (profile denied): AccessDenied"), "{run:?}");
    assert!(home2.credentials().contains("[dev]"));

    // A root that needs a login stops its chains with the login command.
    let mut home3 = chain_home();
    home3.env("AWS_ENDPOINT_URL_STS", &home3.portal.url());
    home3.cache_session_token("corp", crate::common::TOKEN, "2020-01-01T00:00:00Z");
    let run = home3.run(&["-p", "hop2"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .contains("profile hop2: source profile dev: the SSO token expired"),
        "{run:?}"
    );
}
