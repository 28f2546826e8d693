//! STS AssumeRole on the fake over raw TCP: the Query protocol request, the
//! SigV4 access key check, XML results and errors.

mod common;

use std::time::Duration;

use common::{Reply, get, now_secs, send};
use fake_portal::FakePortal;

const TOKEN: &str = "test-access-token";
const ROLE: &str = "arn:aws:iam::222222222222:role/Deploy";
const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Credentials to sign with.
struct Keys {
    access_key_id: String,
    session_token: String,
}

/// A portal with `TOKEN`, `111111111111:Admin` granted and `ROLE` assumable.
fn portal() -> FakePortal {
    let portal = FakePortal::start();
    portal.add_token(TOKEN);
    portal.grant("111111111111", "Admin");
    portal.allow_assume(ROLE);
    portal
}

/// Role credentials from GetRoleCredentials.
fn sso_keys(portal: &FakePortal) -> Keys {
    let reply = send(
        portal,
        "GET",
        "/federation/credentials?role_name=Admin&account_id=111111111111",
        &[("x-amz-sso_bearer_token", TOKEN)],
        b"",
    );
    assert_eq!(reply.status, 200);
    let body = reply.json();
    Keys {
        access_key_id: body["roleCredentials"]["accessKeyId"]
            .as_str()
            .unwrap()
            .to_owned(),
        session_token: body["roleCredentials"]["sessionToken"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

fn authorization(akid: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={akid}/20260101/eu-west-1/sts/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, \
         Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )
}

/// A signed Query request with form body `form`.
fn query(portal: &FakePortal, keys: Option<&Keys>, form: &str) -> Reply {
    let auth = keys.map(|k| authorization(&k.access_key_id));
    let mut headers = vec![
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("X-Amz-Date", "20260101T000000Z"),
    ];
    if let (Some(auth), Some(keys)) = (&auth, keys) {
        headers.push(("Authorization", auth));
        headers.push(("X-Amz-Security-Token", &keys.session_token));
    }
    send(portal, "POST", "/", &headers, form.as_bytes())
}

fn assume_form(role: &str, session: &str, extra: &str) -> String {
    format!(
        "Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName={session}{extra}",
        role.replace(':', "%3A").replace('/', "%2F")
    )
}

/// Asserts `reply` is the STS error `code`.
fn assert_sts_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("text/xml"));
    let text = reply.text();
    assert!(
        text.starts_with(&format!(
            "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>"
        )),
        "{text}"
    );
    let request_id = reply.header("x-amzn-RequestId").unwrap();
    assert!(
        text.ends_with(&format!(
            "</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )),
        "{text}"
    );
}

#[test]
fn assume_role_success_and_record() {
    let portal = portal();
    let keys = sso_keys(&portal);
    let before = now_secs();
    let reply = query(&portal, Some(&keys), &assume_form(ROLE, "ssosync-user", ""));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("text/xml"));
    let text = reply.text();
    assert!(text.starts_with(&format!(
        "<AssumeRoleResponse xmlns=\"{XMLNS}\"><AssumeRoleResult><Credentials><AccessKeyId>"
    )));
    assert!(text.ends_with(&format!(
        "<RequestId>{}</RequestId></ResponseMetadata></AssumeRoleResponse>",
        reply.header("x-amzn-RequestId").unwrap()
    )));

    let key = reply.xml("AccessKeyId");
    let secret = reply.xml("SecretAccessKey");
    let session = reply.xml("SessionToken");
    let expiration = reply.xml("Expiration");
    assert!(key.starts_with("ASIA") && key.len() == 20);
    assert!(secret.starts_with("fakeSecret") && secret.len() == 40);
    assert!(session.starts_with("FakeSessionToken"));
    assert_ne!(key, keys.access_key_id);
    let role_id = reply.xml("AssumedRoleId");
    assert!(role_id.starts_with("AROA") && role_id.ends_with(":ssosync-user"));
    assert_eq!(
        reply.xml("Arn"),
        "arn:aws:sts::222222222222:assumed-role/Deploy/ssosync-user"
    );

    let assumed = portal.assumed();
    assert_eq!(assumed.len(), 1);
    let a = &assumed[0];
    assert_eq!(a.role_arn, ROLE);
    assert_eq!(a.session_name, "ssosync-user");
    assert_eq!(a.duration_seconds, 3600);
    assert_eq!(a.external_id, None);
    assert_eq!(a.signed_with, keys.access_key_id);
    assert_eq!(a.signing_region, "eu-west-1");
    assert_eq!(a.access_key_id, key);
    assert_eq!(a.secret_access_key, secret);
    assert_eq!(a.session_token, session);
    assert_eq!(a.assumed_role_id, role_id);
    let exp_secs = a.expiration_ms / 1000;
    assert!(exp_secs >= before + 3600 && exp_secs <= now_secs() + 3600);
    // `YYYY-MM-DDTHH:MM:SSZ`, consistent with the record.
    assert_eq!(expiration.len(), 20);
    assert!(expiration.ends_with('Z') && &expiration[10..11] == "T");

    // The assumed keys can assume again (role chaining).
    let second = Keys {
        access_key_id: key.clone(),
        session_token: session,
    };
    let reply = query(
        &portal,
        Some(&second),
        &assume_form(ROLE, "chained", "&DurationSeconds=900"),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let assumed = portal.assumed();
    assert_eq!(assumed[1].signed_with, key);
    assert_eq!(assumed[1].duration_seconds, 900);

    portal.reset_counters();
    assert!(portal.assumed().is_empty());
    // Issued keys survive a reset.
    assert_eq!(
        query(&portal, Some(&second), &assume_form(ROLE, "again", "")).status,
        200
    );
}

#[test]
fn external_id_and_form_decoding() {
    let portal = portal();
    portal.require_external_id(ROLE, "my id+1");
    let keys = sso_keys(&portal);
    // `+` is a space in a form; `%2B` a plus.
    let ok = query(
        &portal,
        Some(&keys),
        &assume_form(ROLE, "user%2Bx%40example.com", "&ExternalId=my+id%2B1"),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    let a = &portal.assumed()[0];
    assert_eq!(a.external_id.as_deref(), Some("my id+1"));
    assert_eq!(a.session_name, "user+x@example.com");

    for extra in ["", "&ExternalId=my+id+1", "&ExternalId=other"] {
        assert_sts_error(
            &query(&portal, Some(&keys), &assume_form(ROLE, "s1", extra)),
            403,
            "AccessDenied",
        );
    }
}

#[test]
fn authentication_errors() {
    let portal = portal();
    let keys = sso_keys(&portal);
    let form = assume_form(ROLE, "s1", "");

    assert_sts_error(
        &query(&portal, None, &form),
        403,
        "MissingAuthenticationToken",
    );
    let malformed = send(
        &portal,
        "POST",
        "/",
        &[("Authorization", "AWS4-HMAC-SHA256 nonsense")],
        form.as_bytes(),
    );
    assert_sts_error(&malformed, 400, "IncompleteSignature");

    let unknown = Keys {
        access_key_id: "ASIAUNKNOWNUNKNOWN00".into(),
        session_token: keys.session_token.clone(),
    };
    assert_sts_error(
        &query(&portal, Some(&unknown), &form),
        403,
        "InvalidClientTokenId",
    );
    let wrong_token = Keys {
        access_key_id: keys.access_key_id.clone(),
        session_token: "FakeSessionTokenWrong".into(),
    };
    assert_sts_error(
        &query(&portal, Some(&wrong_token), &form),
        403,
        "InvalidClientTokenId",
    );
    let no_token = send(
        &portal,
        "POST",
        "/",
        &[("Authorization", &authorization(&keys.access_key_id))],
        form.as_bytes(),
    );
    assert_sts_error(&no_token, 403, "InvalidClientTokenId");

    portal.set_credential_ttl(Duration::ZERO);
    let expired = sso_keys(&portal);
    assert_sts_error(&query(&portal, Some(&expired), &form), 400, "ExpiredToken");
    assert!(portal.assumed().is_empty());
}

#[test]
fn authorization_and_validation_errors() {
    let portal = portal();
    let keys = sso_keys(&portal);
    let call = |form: &str| query(&portal, Some(&keys), form);

    assert_sts_error(
        &call(&assume_form(
            "arn:aws:iam::222222222222:role/Other",
            "s1",
            "",
        )),
        403,
        "AccessDenied",
    );
    for form in [
        assume_form(ROLE, "s1", "&DurationSeconds=899"),
        assume_form(ROLE, "s1", "&DurationSeconds=43201"),
        assume_form(ROLE, "s1", "&DurationSeconds=ten"),
        assume_form(ROLE, "x", ""),
        assume_form(ROLE, "has+space", ""),
        assume_form("not-an-arn", "s1", ""),
        "Action=AssumeRole&Version=2011-06-15&RoleSessionName=s1".to_owned(),
        assume_form(ROLE, "", ""),
    ] {
        assert_sts_error(&call(&form), 400, "ValidationError");
    }
    for bound in [900, 43_200] {
        let reply = call(&assume_form(
            ROLE,
            "s1",
            &format!("&DurationSeconds={bound}"),
        ));
        assert_eq!(reply.status, 200, "{bound}: {}", reply.text());
    }
    assert_eq!(portal.assumed()[1].duration_seconds, 43_200);

    portal.set_role_chaining_limit(true);
    assert_sts_error(
        &call(&assume_form(ROLE, "s1", "&DurationSeconds=3601")),
        400,
        "ValidationError",
    );
    assert_eq!(
        call(&assume_form(ROLE, "s1", "&DurationSeconds=3600")).status,
        200
    );

    assert_sts_error(
        &call("Action=GetCallerIdentity&Version=2011-06-15"),
        400,
        "InvalidAction",
    );
    assert_sts_error(&call("Version=2011-06-15"), 400, "InvalidAction");
}

#[test]
fn faults_apply_in_sts_format_and_routes_do_not_clash() {
    let portal = portal();
    let keys = sso_keys(&portal);
    portal.fail_next(1, 400, "Throttling");
    let reply = query(&portal, Some(&keys), &assume_form(ROLE, "s1", ""));
    assert_sts_error(&reply, 400, "Throttling");
    assert_eq!(reply.xml("Message"), "Injected fault: Throttling");
    portal.fail_next(1, 503, "ServiceUnavailable");
    let reply = query(&portal, Some(&keys), &assume_form(ROLE, "s1", ""));
    assert_eq!(reply.status, 503);
    assert_eq!(reply.xml("Type"), "Receiver");
    assert_eq!(reply.xml("Code"), "ServiceUnavailable");
    assert_eq!(
        query(&portal, Some(&keys), &assume_form(ROLE, "s1", "")).status,
        200
    );

    // `GET /` is not STS: still the portal's unknown operation.
    assert_eq!(get(&portal, "/").status, 404);
    assert_eq!(portal.count_path("/"), 4);
}
