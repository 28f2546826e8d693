//! The SSO-OIDC side of the fake over raw TCP: RegisterClient,
//! StartDeviceAuthorization, CreateToken's three grants, the browser-side
//! authorize and verification pages, and the error format.

mod common;

use std::time::Duration;

use common::{Reply, get, now_secs, post_json, send};
use fake_portal::FakePortal;
use serde_json::{Value, json};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:43210/oauth/callback";

/// Asserts `reply` is the SSO-OIDC error `name` (without `Exception`) with
/// OAuth code `code`.
fn assert_oidc_error(reply: &Reply, status: u16, name: &str, code: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(
        reply.header("x-amzn-ErrorType"),
        Some(format!("{name}Exception").as_str()),
        "{reply:?}"
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

/// Registers a client; returns `(clientId, clientSecret)`.
fn register(portal: &FakePortal) -> (String, String) {
    let reply = post_json(
        portal,
        "/client/register",
        &json!({ "clientName": "ssosync", "clientType": "public", "scopes": ["sso:account:access"] }),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let body = reply.json();
    (
        body["clientId"].as_str().unwrap().to_owned(),
        body["clientSecret"].as_str().unwrap().to_owned(),
    )
}

/// Starts a device authorization; returns the response body.
fn start_device(portal: &FakePortal, client: &(String, String)) -> Value {
    let reply = post_json(
        portal,
        "/device_authorization",
        &json!({
            "clientId": client.0,
            "clientSecret": client.1,
            "startUrl": "https://example.awsapps.com/start",
        }),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()
}

fn poll(portal: &FakePortal, client: &(String, String), device_code: &str) -> Reply {
    post_json(
        portal,
        "/token",
        &json!({
            "clientId": client.0,
            "clientSecret": client.1,
            "grantType": DEVICE_GRANT,
            "deviceCode": device_code,
        }),
    )
}

fn refresh(portal: &FakePortal, client: &(String, String), token: &str) -> Reply {
    post_json(
        portal,
        "/token",
        &json!({
            "clientId": client.0,
            "clientSecret": client.1,
            "grantType": "refresh_token",
            "refreshToken": token,
        }),
    )
}

fn redeem_code(
    portal: &FakePortal,
    client: &(String, String),
    code: &str,
    redirect: &str,
    verifier: &str,
) -> Reply {
    post_json(
        portal,
        "/token",
        &json!({
            "clientId": client.0,
            "clientSecret": client.1,
            "grantType": "authorization_code",
            "code": code,
            "redirectUri": redirect,
            "codeVerifier": verifier,
        }),
    )
}

/// Whether `access_token` is accepted by the portal's ListAccounts.
fn portal_accepts(portal: &FakePortal, access_token: &str) -> bool {
    let reply = send(
        portal,
        "GET",
        "/assignment/accounts",
        &[("x-amz-sso_bearer_token", access_token)],
        b"",
    );
    match reply.status {
        200 => true,
        401 => false,
        other => panic!("unexpected status {other}"),
    }
}

#[test]
fn register_client_shape_and_record() {
    let portal = FakePortal::start();
    let before = now_secs();
    let reply = post_json(
        &portal,
        "/client/register",
        &json!({
            "clientName": "ssosync-test",
            "clientType": "public",
            "scopes": ["sso:account:access"],
            "grantTypes": ["authorization_code", "refresh_token"],
            "redirectUris": ["http://127.0.0.1/oauth/callback"],
            "issuerUrl": "https://identitycenter.amazonaws.com/ssoins-1",
        }),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(reply.header("x-amzn-ErrorType").is_none());
    let body = reply.json();
    let client_id = body["clientId"].as_str().unwrap();
    let secret = body["clientSecret"].as_str().unwrap();
    let issued_at = body["clientIdIssuedAt"].as_i64().unwrap();
    let expires_at = body["clientSecretExpiresAt"].as_i64().unwrap();
    assert!(client_id.starts_with("fakeClientId"));
    assert!(secret.starts_with("fakeClientSecret"));
    assert!(issued_at >= before && issued_at <= now_secs());
    assert_eq!(expires_at - issued_at, 90 * 24 * 3600);

    let registrations = portal.registrations();
    assert_eq!(registrations.len(), 1);
    let r = &registrations[0];
    assert_eq!(r.client_id, client_id);
    assert_eq!(r.client_secret, secret);
    assert_eq!(r.client_name, "ssosync-test");
    assert_eq!(r.client_type, "public");
    assert_eq!(r.scopes, ["sso:account:access"]);
    assert_eq!(r.grant_types, ["authorization_code", "refresh_token"]);
    assert_eq!(r.redirect_uris, ["http://127.0.0.1/oauth/callback"]);
    assert_eq!(
        r.issuer_url.as_deref(),
        Some("https://identitycenter.amazonaws.com/ssoins-1")
    );
    assert_eq!(r.client_id_issued_at, issued_at);
    assert_eq!(r.client_secret_expires_at, expires_at);

    // A second registration is a different client.
    let (other_id, other_secret) = register(&portal);
    assert_ne!(other_id, client_id);
    assert_ne!(other_secret, secret);

    portal.set_client_secret_ttl(Duration::from_secs(60));
    let body = post_json(
        &portal,
        "/client/register",
        &json!({ "clientName": "x", "clientType": "public" }),
    )
    .json();
    assert_eq!(
        body["clientSecretExpiresAt"].as_i64().unwrap()
            - body["clientIdIssuedAt"].as_i64().unwrap(),
        60
    );
    assert_eq!(portal.registrations().len(), 3);
}

#[test]
fn register_client_validation() {
    let portal = FakePortal::start();
    let bad = |body: &[u8]| send(&portal, "POST", "/client/register", &[], body);
    assert_oidc_error(&bad(b"not json"), 400, "InvalidRequest", "invalid_request");
    assert_oidc_error(&bad(b"[]"), 400, "InvalidRequest", "invalid_request");
    assert_oidc_error(
        &bad(br#"{"clientType":"public"}"#),
        400,
        "InvalidRequest",
        "invalid_request",
    );
    assert_oidc_error(
        &bad(br#"{"clientName":"x"}"#),
        400,
        "InvalidRequest",
        "invalid_request",
    );
    assert_oidc_error(
        &bad(br#"{"clientName":"x","clientType":"public","scopes":"nope"}"#),
        400,
        "InvalidRequest",
        "invalid_request",
    );
    assert_oidc_error(
        &bad(br#"{"clientName":"x","clientType":"confidential"}"#),
        400,
        "InvalidClientMetadata",
        "invalid_client_metadata",
    );
    assert!(portal.registrations().is_empty());
}

#[test]
fn device_flow_pending_then_token() {
    let portal = FakePortal::start();
    portal.grant("111111111111", "Admin");
    let client = register(&portal);
    let device = start_device(&portal, &client);

    let device_code = device["deviceCode"].as_str().unwrap();
    let user_code = device["userCode"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert_eq!(
        device["verificationUri"],
        format!("{}/device", portal.url()).as_str()
    );
    assert_eq!(
        device["verificationUriComplete"],
        format!("{}/device?user_code={user_code}", portal.url()).as_str()
    );
    assert_eq!(device["expiresIn"], 600);
    assert_eq!(device["interval"], 1);
    let recorded = portal.device_authorizations();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].client_id, client.0);
    assert_eq!(recorded[0].start_url, "https://example.awsapps.com/start");
    assert_eq!(recorded[0].device_code, device_code);
    assert_eq!(recorded[0].user_code, user_code);

    // Default: two `authorization_pending`, then the token.
    for _ in 0..2 {
        assert_oidc_error(
            &poll(&portal, &client, device_code),
            400,
            "AuthorizationPending",
            "authorization_pending",
        );
    }
    let reply = poll(&portal, &client, device_code);
    assert_eq!(reply.status, 200, "{reply:?}");
    let token = reply.json();
    assert_eq!(token["tokenType"], "Bearer");
    assert_eq!(token["expiresIn"], 28800);
    let access = token["accessToken"].as_str().unwrap();
    let refresh_token = token["refreshToken"].as_str().unwrap();
    assert!(access.starts_with("fakeAccessToken"));
    assert!(refresh_token.starts_with("fakeRefreshToken"));

    // The access token works on the portal.
    assert!(portal_accepts(&portal, access));
    let creds = send(
        &portal,
        "GET",
        "/federation/credentials?role_name=Admin&account_id=111111111111",
        &[("x-amz-sso_bearer_token", access)],
        b"",
    );
    assert_eq!(creds.status, 200);

    // A device code is good for one token only.
    assert_oidc_error(
        &poll(&portal, &client, device_code),
        400,
        "InvalidGrant",
        "invalid_grant",
    );

    let created = portal.created_tokens();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].client_id, client.0);
    assert_eq!(created[0].grant_type, DEVICE_GRANT);
    assert_eq!(created[0].access_token, access);
    assert_eq!(created[0].refresh_token.as_deref(), Some(refresh_token));
    assert_eq!(created[0].expires_in, 28800);

    assert_eq!(portal.count_grant(DEVICE_GRANT), 4);
    assert_eq!(portal.count_grant("device_code"), 4);
    assert_eq!(portal.count_grant("refresh_token"), 0);
}

#[test]
fn device_flow_slow_down_and_settings() {
    let portal = FakePortal::start();
    portal.set_pending_polls(1);
    portal.set_slow_down_once(true);
    portal.set_poll_interval(5);
    portal.set_device_code_ttl(Duration::from_secs(120));
    let client = register(&portal);
    let device = start_device(&portal, &client);
    assert_eq!(device["interval"], 5);
    assert_eq!(device["expiresIn"], 120);
    let code = device["deviceCode"].as_str().unwrap();

    assert_oidc_error(
        &poll(&portal, &client, code),
        400,
        "AuthorizationPending",
        "authorization_pending",
    );
    assert_oidc_error(&poll(&portal, &client, code), 400, "SlowDown", "slow_down");
    assert_eq!(poll(&portal, &client, code).status, 200);

    // No pending polls at all: the first poll gets the token.
    portal.set_pending_polls(0);
    portal.set_slow_down_once(false);
    let device = start_device(&portal, &client);
    assert_eq!(
        poll(&portal, &client, device["deviceCode"].as_str().unwrap()).status,
        200
    );
}

#[test]
fn device_flow_manual_approval_and_denial() {
    let portal = FakePortal::start();
    portal.set_auto_approve(false);
    portal.set_pending_polls(0);
    let client = register(&portal);

    let approved = start_device(&portal, &client);
    let denied = start_device(&portal, &client);
    let by_page = start_device(&portal, &client);
    let code = |d: &Value| d["deviceCode"].as_str().unwrap().to_owned();
    let user = |d: &Value| d["userCode"].as_str().unwrap().to_owned();

    // Pending for as long as nobody decides.
    for _ in 0..3 {
        assert_oidc_error(
            &poll(&portal, &client, &code(&approved)),
            400,
            "AuthorizationPending",
            "authorization_pending",
        );
    }
    assert!(portal.approve_device(&user(&approved)));
    assert_eq!(poll(&portal, &client, &code(&approved)).status, 200);
    // Already decided (and used).
    assert!(!portal.approve_device(&user(&approved)));
    assert!(!portal.approve_device("NOPE-NOPE"));

    assert!(portal.deny_device(&user(&denied)));
    for _ in 0..2 {
        assert_oidc_error(
            &poll(&portal, &client, &code(&denied)),
            400,
            "AccessDenied",
            "access_denied",
        );
    }
    assert!(!portal.approve_device(&user(&denied)));

    // The verification page approves too.
    let page = get(&portal, &format!("/device?user_code={}", user(&by_page)));
    assert_eq!(page.status, 200);
    assert_eq!(poll(&portal, &client, &code(&by_page)).status, 200);
    assert_eq!(get(&portal, "/device?user_code=NOPE-NOPE").status, 400);
}

#[test]
fn device_flow_expiry_and_client_checks() {
    let portal = FakePortal::start();
    let client = register(&portal);
    let other = register(&portal);

    portal.set_device_code_ttl(Duration::ZERO);
    let device = start_device(&portal, &client);
    let code = device["deviceCode"].as_str().unwrap();
    assert_eq!(device["expiresIn"], 0);
    assert_oidc_error(
        &poll(&portal, &client, code),
        400,
        "ExpiredToken",
        "expired_token",
    );

    portal.set_device_code_ttl(Duration::from_secs(600));
    let device = start_device(&portal, &client);
    let code = device["deviceCode"].as_str().unwrap();
    // Another client's device code, an unknown one, a missing one.
    assert_oidc_error(
        &poll(&portal, &other, code),
        400,
        "InvalidGrant",
        "invalid_grant",
    );
    assert_oidc_error(
        &poll(&portal, &client, "fakeDeviceCode-unknown"),
        400,
        "InvalidGrant",
        "invalid_grant",
    );
    let missing = post_json(
        &portal,
        "/token",
        &json!({ "clientId": client.0, "clientSecret": client.1, "grantType": DEVICE_GRANT }),
    );
    assert_oidc_error(&missing, 400, "InvalidRequest", "invalid_request");

    // Wrong secret, unknown client: 401 on both operations.
    let wrong = (client.0.clone(), "wrong".to_owned());
    assert_oidc_error(
        &poll(&portal, &wrong, code),
        401,
        "InvalidClient",
        "invalid_client",
    );
    let unknown = post_json(
        &portal,
        "/device_authorization",
        &json!({ "clientId": "nobody", "clientSecret": "x", "startUrl": "https://s" }),
    );
    assert_oidc_error(&unknown, 401, "InvalidClient", "invalid_client");
    let no_start_url = post_json(
        &portal,
        "/device_authorization",
        &json!({ "clientId": client.0, "clientSecret": client.1 }),
    );
    assert_oidc_error(&no_start_url, 400, "InvalidRequest", "invalid_request");

    // An expired client secret is an invalid client.
    portal.set_client_secret_ttl(Duration::ZERO);
    let stale = register(&portal);
    let reply = post_json(
        &portal,
        "/device_authorization",
        &json!({ "clientId": stale.0, "clientSecret": stale.1, "startUrl": "https://s" }),
    );
    assert_oidc_error(&reply, 401, "InvalidClient", "invalid_client");
}

#[test]
fn refresh_token_rotation() {
    let portal = FakePortal::start();
    let client = ("seeded-client".to_owned(), "seeded-secret".to_owned());
    portal.add_refresh_token(&client.0, &client.1, "seeded-refresh");
    assert!(portal.registrations().is_empty());

    let reply = refresh(&portal, &client, "seeded-refresh");
    assert_eq!(reply.status, 200, "{reply:?}");
    let body = reply.json();
    let access = body["accessToken"].as_str().unwrap();
    let rotated = body["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(rotated, "seeded-refresh");
    assert!(portal_accepts(&portal, access));

    // The old one is gone, the new one works (and rotates again).
    assert_oidc_error(
        &refresh(&portal, &client, "seeded-refresh"),
        400,
        "InvalidGrant",
        "invalid_grant",
    );
    let again = refresh(&portal, &client, &rotated).json();
    let newest = again["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(newest, rotated);

    // Without rotation: no refresh token back, the old one stays valid.
    portal.set_rotate_refresh_tokens(false);
    for _ in 0..2 {
        let reply = refresh(&portal, &client, &newest);
        assert_eq!(reply.status, 200);
        assert!(reply.json().get("refreshToken").is_none());
    }

    // Another client cannot use it; a wrong secret is an invalid client.
    let other = register(&portal);
    assert_oidc_error(
        &refresh(&portal, &other, &newest),
        400,
        "InvalidGrant",
        "invalid_grant",
    );
    assert_oidc_error(
        &refresh(&portal, &(client.0.clone(), "nope".into()), &newest),
        401,
        "InvalidClient",
        "invalid_client",
    );

    portal.revoke_refresh_token(&newest);
    assert_oidc_error(
        &refresh(&portal, &client, &newest),
        400,
        "InvalidGrant",
        "invalid_grant",
    );

    let created = portal.created_tokens();
    assert_eq!(created.len(), 4);
    assert!(created.iter().all(|t| t.grant_type == "refresh_token"));
    assert_eq!(created[0].refresh_token.as_deref(), Some(rotated.as_str()));
    assert_eq!(created[3].refresh_token, None);
    assert_eq!(portal.count_grant("refresh_token"), 8);
}

#[test]
fn access_token_ttl_limits_portal_use() {
    let portal = FakePortal::start();
    let client = ("c".to_owned(), "s".to_owned());
    portal.add_refresh_token(&client.0, &client.1, "r");
    portal.set_rotate_refresh_tokens(false);

    portal.set_access_token_ttl(Duration::ZERO);
    let body = refresh(&portal, &client, "r").json();
    assert_eq!(body["expiresIn"], 0);
    assert!(!portal_accepts(
        &portal,
        body["accessToken"].as_str().unwrap()
    ));

    portal.set_access_token_ttl(Duration::from_secs(3600));
    let body = refresh(&portal, &client, "r").json();
    assert_eq!(body["expiresIn"], 3600);
    let access = body["accessToken"].as_str().unwrap();
    assert!(portal_accepts(&portal, access));
    portal.revoke_token(access);
    assert!(!portal_accepts(&portal, access));
}

/// Runs `/authorize` for `client`; returns the 302's `Location`.
fn authorize(portal: &FakePortal, client_id: &str, state: &str, challenge: &str) -> Reply {
    get(
        portal,
        &format!(
            "/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT}\
             &state={state}&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess\
             &code_challenge={challenge}"
        ),
    )
}

/// The value of query parameter `name` in `url`.
fn url_param<'u>(url: &'u str, name: &str) -> Option<&'u str> {
    url.split_once('?')?
        .1
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

#[test]
fn authorization_code_with_pkce() {
    let portal = FakePortal::start();
    let client = register(&portal);
    let other = register(&portal);

    let reply = authorize(&portal, &client.0, "st%20a%2Bte", CHALLENGE);
    assert_eq!(reply.status, 302, "{reply:?}");
    let location = reply.header("location").unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "{location}"
    );
    // `state` comes back as sent, percent-encoded.
    assert_eq!(url_param(&location, "state"), Some("st%20a%2Bte"));
    let code = url_param(&location, "code").unwrap();

    // Every mismatch is an invalid grant and leaves the code usable.
    let wrong_verifier = "a".repeat(43);
    for (who, redirect, verifier) in [
        (&client, REDIRECT, wrong_verifier.as_str()),
        (&client, REDIRECT, "short"),
        (&client, "http://127.0.0.1:1/oauth/callback", VERIFIER),
        (&other, REDIRECT, VERIFIER),
    ] {
        assert_oidc_error(
            &redeem_code(&portal, who, code, redirect, verifier),
            400,
            "InvalidGrant",
            "invalid_grant",
        );
    }
    assert_oidc_error(
        &redeem_code(&portal, &client, "fakeAuthCode-unknown", REDIRECT, VERIFIER),
        400,
        "InvalidGrant",
        "invalid_grant",
    );
    let missing = post_json(
        &portal,
        "/token",
        &json!({
            "clientId": client.0, "clientSecret": client.1,
            "grantType": "authorization_code", "code": code, "redirectUri": REDIRECT,
        }),
    );
    assert_oidc_error(&missing, 400, "InvalidRequest", "invalid_request");

    let reply = redeem_code(&portal, &client, code, REDIRECT, VERIFIER);
    assert_eq!(reply.status, 200, "{reply:?}");
    let body = reply.json();
    assert!(portal_accepts(
        &portal,
        body["accessToken"].as_str().unwrap()
    ));
    assert!(body["refreshToken"].is_string());
    // Single use.
    assert_oidc_error(
        &redeem_code(&portal, &client, code, REDIRECT, VERIFIER),
        400,
        "InvalidGrant",
        "invalid_grant",
    );
    assert_eq!(portal.count_grant("authorization_code"), 8);
    assert_eq!(portal.created_tokens()[0].grant_type, "authorization_code");
}

#[test]
fn authorize_validation_and_denial() {
    let portal = FakePortal::start();
    let (client_id, _) = register(&portal);
    let target = |params: &str| format!("/authorize?{params}");
    let good = format!(
        "response_type=code&client_id={client_id}&redirect_uri={REDIRECT}\
         &code_challenge_method=S256&code_challenge={CHALLENGE}"
    );
    // Without `state` the redirect carries none.
    let reply = get(&portal, &target(&good));
    assert_eq!(reply.status, 302);
    assert!(url_param(reply.header("location").unwrap(), "state").is_none());

    for (params, name) in [
        (
            good.replace("response_type=code", "response_type=token"),
            "InvalidRequest",
        ),
        (good.replace(&client_id, "unknown-client"), "InvalidClient"),
        (
            good.replace(REDIRECT, "http://127.0.0.1:43210/elsewhere"),
            "InvalidRequest",
        ),
        (
            good.replace(REDIRECT, "http://localhost:43210/oauth/callback"),
            "InvalidRequest",
        ),
        (
            good.replace(REDIRECT, "https://evil.example/oauth/callback"),
            "InvalidRequest",
        ),
        (good.replace("S256", "plain"), "InvalidRequest"),
        (good.replace(CHALLENGE, ""), "InvalidRequest"),
    ] {
        let reply = get(&portal, &target(&params));
        assert_eq!(reply.status, 400, "{params}");
        assert_eq!(
            reply.header("x-amzn-ErrorType"),
            Some(format!("{name}Exception").as_str()),
            "{params}"
        );
        assert!(reply.header("location").is_none());
    }

    portal.set_deny_authorize(true);
    let reply = get(&portal, &target(&format!("{good}&state=xyz")));
    assert_eq!(reply.status, 302);
    assert_eq!(
        reply.header("location"),
        Some(format!("{REDIRECT}?error=access_denied&state=xyz").as_str())
    );
}

#[test]
fn unsupported_grant_and_missing_fields() {
    let portal = FakePortal::start();
    let client = register(&portal);
    let reply = post_json(
        &portal,
        "/token",
        &json!({ "clientId": client.0, "clientSecret": client.1, "grantType": "password" }),
    );
    assert_oidc_error(
        &reply,
        400,
        "UnsupportedGrantType",
        "unsupported_grant_type",
    );
    let reply = post_json(
        &portal,
        "/token",
        &json!({ "clientId": client.0, "clientSecret": client.1 }),
    );
    assert_oidc_error(&reply, 400, "InvalidRequest", "invalid_request");
    assert_eq!(portal.count_grant("password"), 1);
}

#[test]
fn faults_apply_in_oidc_format() {
    let portal = FakePortal::start();
    let client = register(&portal);
    portal.fail_next(1, 500, "InternalServerException");
    portal.fail_next(1, 400, "SlowDown");
    let reply = refresh(&portal, &client, "whatever");
    assert_oidc_error(&reply, 500, "InternalServer", "server_error");
    assert_eq!(
        reply.json()["error_description"],
        "Injected fault: InternalServerException"
    );
    let reply = post_json(
        &portal,
        "/client/register",
        &json!({ "clientName": "x", "clientType": "public" }),
    );
    assert_oidc_error(&reply, 400, "SlowDown", "slow_down");
    // Faults are used up; both faulted calls are recorded.
    assert_eq!(portal.count_grant("refresh_token"), 1);
    assert_eq!(portal.count_path("/client/register"), 2);
    assert_eq!(portal.registrations().len(), 1);
}

#[test]
fn portal_routes_and_records_survive_alongside() {
    let portal = FakePortal::start();
    portal.add_token("static-token");
    let client = register(&portal);
    start_device(&portal, &client);
    assert!(portal_accepts(&portal, "static-token"));
    // Unknown paths are still the portal's 404.
    let reply = post_json(&portal, "/client/registerx", &json!({}));
    assert_eq!(reply.status, 404);

    portal.reset_counters();
    assert!(portal.registrations().is_empty());
    assert!(portal.device_authorizations().is_empty());
    assert!(portal.created_tokens().is_empty());
    assert_eq!(portal.request_count(), 0);
    // The client itself is kept.
    start_device(&portal, &client);
}
