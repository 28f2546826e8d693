//! Exercises the fake portal over raw TCP, the way a plain HTTP/1.1 client
//! would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fake_portal::FakePortal;
use serde_json::Value;

const TOKEN: &str = "test-access-token";
const SUFFIX: &str = ":http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/";

/// A parsed response.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts this is the portal's error `name` with `message`.
    fn assert_error(&self, status: u16, name: &str, message: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("x-amzn-ErrorType"),
            Some(format!("{name}{SUFFIX}").as_str())
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.json()["message"], message);
    }
}

/// One client connection.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(portal: &FakePortal) -> Conn {
        let stream = TcpStream::connect(portal.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Conn {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, raw: &str) {
        self.writer.write_all(raw.as_bytes()).unwrap();
    }

    /// Reads one response, or `None` if the server closed the connection.
    fn read(&mut self) -> Option<Reply> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).unwrap() == 0 {
            return None;
        }
        let mut parts = line.trim_end().splitn(3, ' ');
        assert_eq!(parts.next(), Some("HTTP/1.1"), "status line {line:?}");
        let status = parts.next().unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let l = line.trim_end_matches(['\r', '\n']);
            if l.is_empty() {
                break;
            }
            let (n, v) = l.split_once(':').unwrap();
            headers.push((n.to_owned(), v.trim().to_owned()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .expect("every response has a Content-Length")
            .1
            .parse()
            .unwrap();
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        Some(Reply {
            status,
            headers,
            body,
        })
    }

    /// True if the server has closed its side.
    fn at_eof(&mut self) -> bool {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).unwrap();
        rest.is_empty()
    }
}

/// A GET on a fresh connection, with the bearer header if `token` is given.
fn get(portal: &FakePortal, target: &str, token: Option<&str>) -> Reply {
    let mut conn = Conn::open(portal);
    let auth = token.map_or(String::new(), |t| {
        format!("x-amz-sso_bearer_token: {t}\r\n")
    });
    conn.send(&format!(
        "GET {target} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    ));
    let reply = conn.read().expect("a response");
    assert!(conn.at_eof(), "Connection: close must be honoured");
    reply
}

fn creds_target(account: &str, role: &str) -> String {
    format!("/federation/credentials?role_name={role}&account_id={account}")
}

/// A portal with `TOKEN` valid and `111111111111:Admin` granted.
fn portal() -> FakePortal {
    let portal = FakePortal::start();
    portal.add_token(TOKEN);
    portal.grant("111111111111", "Admin");
    portal
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn url_points_at_loopback() {
    let portal = FakePortal::start();
    assert_eq!(
        portal.url(),
        format!("http://127.0.0.1:{}", portal.addr().port())
    );
}

#[test]
fn get_role_credentials_shape() {
    let portal = portal();
    let before = now_ms();
    let reply = get(&portal, &creds_target("111111111111", "Admin"), Some(TOKEN));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("x-amzn-ErrorType"), None);

    let body = reply.json();
    let creds = body["roleCredentials"].as_object().unwrap();
    assert_eq!(creds.len(), 4);
    let key = creds["accessKeyId"].as_str().unwrap();
    let secret = creds["secretAccessKey"].as_str().unwrap();
    let session = creds["sessionToken"].as_str().unwrap();
    let expiration = creds["expiration"].as_i64().expect("integer epoch millis");

    assert!(key.starts_with("ASIA") && key.len() == 20, "{key}");
    assert!(
        key[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    );
    assert!(
        secret.starts_with("fakeSecret") && secret.len() == 40,
        "{secret}"
    );
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    );
    assert!(session.starts_with("FakeSessionToken"));
    assert!(session.len() >= 300);
    assert!(
        session
            .trim_end_matches('=')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    );
    let hour = 3_600_000;
    assert!(expiration >= before + hour && expiration <= now_ms() + hour);

    let issued = portal.issued();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].account_id, "111111111111");
    assert_eq!(issued[0].role_name, "Admin");
    assert_eq!(issued[0].access_key_id, key);
    assert_eq!(issued[0].secret_access_key, secret);
    assert_eq!(issued[0].session_token, session);
    assert_eq!(issued[0].expiration_ms, expiration);
}

#[test]
fn credential_ttl_and_uniqueness() {
    let portal = portal();
    portal.set_credential_ttl(Duration::from_secs(60));
    let before = now_ms();
    let a = get(&portal, &creds_target("111111111111", "Admin"), Some(TOKEN)).json();
    let b = get(&portal, &creds_target("111111111111", "Admin"), Some(TOKEN)).json();
    let exp = a["roleCredentials"]["expiration"].as_i64().unwrap();
    assert!(exp >= before + 60_000 && exp <= now_ms() + 60_000);
    for field in ["accessKeyId", "secretAccessKey", "sessionToken"] {
        assert_ne!(a["roleCredentials"][field], b["roleCredentials"][field]);
    }
    assert_eq!(portal.issued().len(), 2);
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let portal = portal();
    let mut conn = Conn::open(&portal);
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nx-amz-sso_bearer_token: {TOKEN}\r\n\r\n",
        creds_target("111111111111", "Admin")
    );

    // One after the other.
    conn.send(&request);
    assert_eq!(conn.read().unwrap().status, 200);
    conn.send(&request);
    assert_eq!(conn.read().unwrap().status, 200);

    // Pipelined: three requests written before any response is read.
    conn.send(&format!(
        "{request}{request}GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
    ));
    assert_eq!(conn.read().unwrap().status, 200);
    assert_eq!(conn.read().unwrap().status, 200);
    assert_eq!(conn.read().unwrap().status, 404);

    assert_eq!(portal.request_count(), 5);
    assert_eq!(portal.issued().len(), 4);

    // The client may simply go away; the server must carry on.
    drop(conn);
    assert_eq!(
        get(&portal, &creds_target("111111111111", "Admin"), Some(TOKEN)).status,
        200
    );
}

#[test]
fn connection_close_is_honoured_on_keep_alive_connection() {
    let portal = portal();
    let mut conn = Conn::open(&portal);
    conn.send("POST /logout HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(conn.read().unwrap().status, 401);
    conn.send("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let reply = conn.read().unwrap();
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(conn.at_eof());
}

#[test]
fn unauthorized_without_valid_token() {
    let portal = portal();
    let target = creds_target("111111111111", "Admin");
    let message = "Session token not found or invalid";

    get(&portal, &target, None).assert_error(401, "UnauthorizedException", message);
    get(&portal, &target, Some("")).assert_error(401, "UnauthorizedException", message);
    get(&portal, &target, Some("someone-else")).assert_error(401, "UnauthorizedException", message);

    // 401 beats 403: an unknown token on an unassigned role.
    get(
        &portal,
        &creds_target("999999999999", "Nope"),
        Some("someone-else"),
    )
    .assert_error(401, "UnauthorizedException", message);

    portal.revoke_token(TOKEN);
    get(&portal, &target, Some(TOKEN)).assert_error(401, "UnauthorizedException", message);
    assert!(portal.issued().is_empty());
}

#[test]
fn bearer_header_name_is_case_insensitive() {
    let portal = portal();
    let mut conn = Conn::open(&portal);
    conn.send(&format!(
        "GET {} HTTP/1.1\r\nHOST: x\r\nX-Amz-SSO_Bearer_Token: {TOKEN}\r\n\r\n",
        creds_target("111111111111", "Admin")
    ));
    assert_eq!(conn.read().unwrap().status, 200);
    let recorded = &portal.requests()[0];
    assert_eq!(recorded.header("x-amz-sso_bearer_token"), Some(TOKEN));
    assert_eq!(recorded.header("X-AMZ-SSO_BEARER_TOKEN"), Some(TOKEN));
    assert!(
        recorded
            .headers
            .iter()
            .all(|(n, _)| *n == n.to_ascii_lowercase())
    );
}

#[test]
fn logout_revokes_the_token() {
    let portal = portal();
    let mut conn = Conn::open(&portal);
    conn.send(&format!(
        "POST /logout HTTP/1.1\r\nHost: x\r\nx-amz-sso_bearer_token: {TOKEN}\r\nContent-Length: 0\r\n\r\n"
    ));
    let reply = conn.read().unwrap();
    assert_eq!(reply.status, 200);
    assert!(reply.body.is_empty());
    assert_eq!(reply.header("content-length"), Some("0"));

    get(&portal, &creds_target("111111111111", "Admin"), Some(TOKEN)).assert_error(
        401,
        "UnauthorizedException",
        "Session token not found or invalid",
    );
    assert_eq!(portal.count_path("/logout"), 1);
}

#[test]
fn unassigned_role_is_forbidden_or_not_found() {
    let portal = portal();
    get(
        &portal,
        &creds_target("111111111111", "ReadOnly"),
        Some(TOKEN),
    )
    .assert_error(403, "ForbiddenException", "No access");
    get(&portal, &creds_target("222222222222", "Admin"), Some(TOKEN)).assert_error(
        403,
        "ForbiddenException",
        "No access",
    );

    portal.set_unassigned_status(404);
    get(
        &portal,
        &creds_target("111111111111", "ReadOnly"),
        Some(TOKEN),
    )
    .assert_error(404, "ResourceNotFoundException", "Could not find Role");
    assert!(portal.issued().is_empty());
}

#[test]
fn missing_parameters_are_invalid_requests() {
    let portal = portal();
    for target in [
        "/federation/credentials?account_id=111111111111",
        "/federation/credentials?role_name=Admin",
        "/federation/credentials?role_name=&account_id=111111111111",
        "/federation/credentials?role_name=Admin&account_id=",
        "/federation/credentials",
        "/assignment/roles",
    ] {
        let reply = get(&portal, target, Some(TOKEN));
        assert_eq!(reply.status, 400, "{target}");
        assert_eq!(
            reply.header("x-amzn-ErrorType"),
            Some(format!("InvalidRequestException{SUFFIX}").as_str())
        );
        assert!(
            reply.json()["message"]
                .as_str()
                .unwrap()
                .contains("is required")
        );
    }
    get(&portal, "/assignment/accounts?max_result=0", Some(TOKEN)).assert_error(
        400,
        "InvalidRequestException",
        "max_result must be between 1 and 100",
    );
    get(
        &portal,
        "/assignment/accounts?next_token=bogus",
        Some(TOKEN),
    )
    .assert_error(400, "InvalidRequestException", "Invalid next token");
}

#[test]
fn unknown_route_is_unknown_operation() {
    let portal = portal();
    for target in ["/", "/federation/credential", "/federation/credentials/x"] {
        let reply = get(&portal, target, Some(TOKEN));
        assert_eq!(reply.status, 404);
        assert_eq!(
            reply.header("x-amzn-ErrorType"),
            Some(format!("UnknownOperationException{SUFFIX}").as_str())
        );
    }
    // Known path, wrong method.
    let mut conn = Conn::open(&portal);
    conn.send("GET /logout HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(conn.read().unwrap().status, 404);
}

#[test]
fn a_rate_limit_throttles_what_exceeds_it_and_admits_a_client_that_slows_down() {
    let portal = portal();
    portal.set_rate_limit(Some(2));
    let target = creds_target("111111111111", "Admin");
    // A full bucket: 2 at once, then 429s in AWS's shape (the bucket refills at
    // 2 a second: the third request would need half a second to pass first).
    assert_eq!(get(&portal, &target, Some(TOKEN)).status, 200);
    assert_eq!(get(&portal, &target, Some(TOKEN)).status, 200);
    get(&portal, &target, Some(TOKEN)).assert_error(
        429,
        "TooManyRequestsException",
        "Rate exceeded",
    );
    // Slowing down gets through.
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(get(&portal, &target, Some(TOKEN)).status, 200);
    portal.set_rate_limit(None);
    for _ in 0..10 {
        assert_eq!(get(&portal, &target, Some(TOKEN)).status, 200);
    }
}

#[test]
fn fail_next_is_consumed_in_order() {
    let portal = portal();
    portal.fail_next(2, 429, "TooManyRequestsException");
    portal.fail_next(1, 500, "InternalServerException");
    let target = creds_target("111111111111", "Admin");

    let first = get(&portal, &target, Some(TOKEN));
    first.assert_error(
        429,
        "TooManyRequestsException",
        "Injected fault: TooManyRequestsException",
    );
    // Faults come before the token check and apply to any route.
    let second = get(&portal, "/assignment/accounts", None);
    assert_eq!(second.status, 429);
    let third = get(&portal, "/nowhere", Some(TOKEN));
    third.assert_error(
        500,
        "InternalServerException",
        "Injected fault: InternalServerException",
    );
    assert_eq!(get(&portal, &target, Some(TOKEN)).status, 200);

    // Failed requests are recorded too.
    assert_eq!(portal.request_count(), 4);
    assert_eq!(portal.issued().len(), 1);
}

#[test]
fn garbage_mode_answers_200_with_non_json() {
    let portal = portal();
    portal.set_garbage(true);
    let reply = get(&portal, &creds_target("111111111111", "Admin"), Some(TOKEN));
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_slice::<Value>(&reply.body).is_err());
    assert!(portal.issued().is_empty());
    portal.set_garbage(false);
    assert!(
        get(&portal, &creds_target("111111111111", "Admin"), Some(TOKEN))
            .json()
            .get("roleCredentials")
            .is_some()
    );
}

#[test]
fn latency_is_applied() {
    let portal = portal();
    portal.set_latency(Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(
        get(&portal, "/assignment/accounts", Some(TOKEN)).status,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    portal.set_latency(Duration::ZERO);
    let started = Instant::now();
    assert_eq!(
        get(&portal, "/assignment/accounts", Some(TOKEN)).status,
        200
    );
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[test]
fn requests_are_counted_and_query_values_decoded() {
    let portal = portal();
    portal.grant("333333333333", "Dev+Ops Role@x");
    let reply = get(
        &portal,
        "/federation/credentials?role_name=Dev%2BOps%20Role%40x&account_id=333333333333",
        Some(TOKEN),
    );
    assert_eq!(reply.status, 200);
    // `+` is a space in a query string; a lone `%` stays literal.
    get(
        &portal,
        "/assignment/roles?account_id=a+b%zz%4",
        Some(TOKEN),
    );
    get(&portal, "/assignment/accounts", None);

    let requests = portal.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(portal.request_count(), 3);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/federation/credentials");
    assert_eq!(requests[0].query_param("role_name"), Some("Dev+Ops Role@x"));
    assert_eq!(requests[0].query_param("account_id"), Some("333333333333"));
    assert_eq!(
        requests[0].query,
        vec![
            ("role_name".to_owned(), "Dev+Ops Role@x".to_owned()),
            ("account_id".to_owned(), "333333333333".to_owned()),
        ]
    );
    assert_eq!(requests[0].header("x-amz-sso_bearer_token"), Some(TOKEN));
    assert_eq!(requests[1].query_param("account_id"), Some("a b%zz%4"));
    assert_eq!(requests[2].header("x-amz-sso_bearer_token"), None);

    assert_eq!(portal.count_path("/federation/credentials"), 1);
    assert_eq!(portal.count_path("/assignment/roles"), 1);
    assert_eq!(portal.count_path("/assignment/accounts"), 1);
    assert_eq!(portal.count_path("/logout"), 0);
    assert_eq!(portal.issued()[0].role_name, "Dev+Ops Role@x");

    portal.reset_counters();
    assert_eq!(portal.request_count(), 0);
    assert!(portal.requests().is_empty());
    assert!(portal.issued().is_empty());
    // Grants and tokens survive a reset.
    assert_eq!(
        get(&portal, &creds_target("111111111111", "Admin"), Some(TOKEN)).status,
        200
    );
    assert_eq!(portal.request_count(), 1);
}

#[test]
fn request_body_is_recorded() {
    let portal = portal();
    let mut conn = Conn::open(&portal);
    conn.send("POST /logout HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    assert_eq!(conn.read().unwrap().status, 401);
    conn.send(
        "POST /somewhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
         3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n",
    );
    assert_eq!(conn.read().unwrap().status, 404);
    let requests = portal.requests();
    assert_eq!(requests[0].body, b"hello");
    assert_eq!(requests[1].body, b"abcde");
}

#[test]
fn list_accounts_paginates() {
    let portal = FakePortal::start();
    portal.add_token(TOKEN);
    portal.grant("333333333333", "Admin");
    portal.grant("111111111111", "Admin");
    portal.grant("222222222222", "ReadOnly");
    portal.grant("111111111111", "ReadOnly");

    let page1 = get(&portal, "/assignment/accounts?max_result=2", Some(TOKEN));
    assert_eq!(page1.status, 200);
    assert_eq!(page1.header("content-type"), Some("application/json"));
    let page1 = page1.json();
    let list = page1["accountList"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        list[0],
        serde_json::json!({
            "accountId": "111111111111",
            "accountName": "account-111111111111",
            "emailAddress": "111111111111@example.com",
        })
    );
    assert_eq!(list[1]["accountId"], "222222222222");
    let next = page1["nextToken"].as_str().unwrap();

    let page2 = get(
        &portal,
        &format!("/assignment/accounts?max_result=2&next_token={next}"),
        Some(TOKEN),
    )
    .json();
    assert_eq!(page2["accountList"].as_array().unwrap().len(), 1);
    assert_eq!(page2["accountList"][0]["accountId"], "333333333333");
    assert!(page2.get("nextToken").is_none());

    // Default page size holds everything.
    let all = get(&portal, "/assignment/accounts", Some(TOKEN)).json();
    assert_eq!(all["accountList"].as_array().unwrap().len(), 3);
    assert!(all.get("nextToken").is_none());
}

#[test]
fn list_account_roles() {
    let portal = portal();
    portal.grant("111111111111", "ReadOnly");
    portal.grant("222222222222", "Other");

    let page = get(
        &portal,
        "/assignment/roles?account_id=111111111111&max_result=1",
        Some(TOKEN),
    )
    .json();
    assert_eq!(
        page["roleList"],
        serde_json::json!([{ "roleName": "Admin", "accountId": "111111111111" }])
    );
    let next = page["nextToken"].as_str().unwrap();
    let page = get(
        &portal,
        &format!("/assignment/roles?account_id=111111111111&max_result=1&next_token={next}"),
        Some(TOKEN),
    )
    .json();
    assert_eq!(
        page["roleList"],
        serde_json::json!([{ "roleName": "ReadOnly", "accountId": "111111111111" }])
    );
    assert!(page.get("nextToken").is_none());

    let none = get(
        &portal,
        "/assignment/roles?account_id=999999999999",
        Some(TOKEN),
    )
    .json();
    assert_eq!(none, serde_json::json!({ "roleList": [] }));
}

#[test]
fn accounts_have_names_and_lose_their_roles() {
    let portal = portal();
    portal.set_account("222222222222", "Zürich Dév", "ops+zh@example.com");
    portal.set_account("333333333333", "Empty", "e@example.com");
    portal.grant("222222222222", "Dev");
    let all = get(&portal, "/assignment/accounts", Some(TOKEN)).json();
    assert_eq!(
        all["accountList"],
        serde_json::json!([
            { "accountId": "111111111111", "accountName": "account-111111111111", "emailAddress": "111111111111@example.com" },
            { "accountId": "222222222222", "accountName": "Zürich Dév", "emailAddress": "ops+zh@example.com" },
            { "accountId": "333333333333", "accountName": "Empty", "emailAddress": "e@example.com" },
        ])
    );
    let roles = |account: &str| {
        get(
            &portal,
            &format!("/assignment/roles?account_id={account}"),
            Some(TOKEN),
        )
        .json()["roleList"]
            .clone()
    };
    assert_eq!(roles("333333333333"), serde_json::json!([]));
    // A role removed; an unnamed account whose last role goes is no longer listed.
    portal.ungrant("222222222222", "Dev");
    portal.ungrant("111111111111", "Admin");
    let all = get(&portal, "/assignment/accounts", Some(TOKEN)).json();
    let ids: Vec<&str> = all["accountList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["accountId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["222222222222", "333333333333"]);
    assert_eq!(roles("222222222222"), serde_json::json!([]));
}

#[test]
fn one_accounts_roles_can_keep_failing() {
    let portal = portal();
    portal.grant("222222222222", "Dev");
    portal.fail_roles_of("111111111111", 500, "InternalServerException");
    for _ in 0..3 {
        get(
            &portal,
            "/assignment/roles?account_id=111111111111",
            Some(TOKEN),
        )
        .assert_error(
            500,
            "InternalServerException",
            "Injected fault for account 111111111111: InternalServerException",
        );
    }
    assert_eq!(
        get(
            &portal,
            "/assignment/roles?account_id=222222222222",
            Some(TOKEN)
        )
        .status,
        200
    );
    // Still only after the token check.
    assert_eq!(
        get(&portal, "/assignment/roles?account_id=111111111111", None).status,
        401
    );
    portal.reset_failing_roles();
    assert_eq!(
        get(
            &portal,
            "/assignment/roles?account_id=111111111111",
            Some(TOKEN)
        )
        .status,
        200
    );
}

#[test]
fn the_rate_limit_throttles_the_listings_too() {
    let portal = portal();
    portal.set_rate_limit(Some(2));
    let statuses: Vec<u16> = (0..4)
        .map(|i| {
            let target = if i % 2 == 0 {
                "/assignment/accounts".to_string()
            } else {
                "/assignment/roles?account_id=111111111111".to_string()
            };
            get(&portal, &target, Some(TOKEN)).status
        })
        .collect();
    assert_eq!(statuses, [200, 200, 429, 429]);
}

#[test]
fn the_binary_generates_and_names_accounts_at_scale() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-portal"))
        .args([
            "--token",
            TOKEN,
            "--generate",
            "250:3",
            "--account",
            "100000000001=Prod EU",
            "--limit",
            "1000",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let port: u16 = line
        .trim_end()
        .strip_prefix("listening on http://127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    let fetch = |target: &str| -> Value {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "GET {target} HTTP/1.1\r\nHost: x\r\nx-amz-sso_bearer_token: {TOKEN}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap()
    };
    let page = fetch("/assignment/accounts?max_result=100");
    let list = page["accountList"].as_array().unwrap();
    assert_eq!(list.len(), 100);
    assert_eq!(list[0]["accountName"], "Team 0001 Prod");
    assert_eq!(list[1]["accountName"], "Prod EU");
    assert_eq!(list[2]["accountName"], "Team 0003 Test");
    assert!(page["nextToken"].is_string());
    let roles = fetch("/assignment/roles?account_id=100000000249");
    assert_eq!(roles["roleList"].as_array().unwrap().len(), 3);
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn malformed_request_gets_400_and_close() {
    let portal = portal();
    let mut conn = Conn::open(&portal);
    conn.send("NONSENSE\r\n\r\n");
    let reply = conn.read().unwrap();
    assert_eq!(reply.status, 400);
    assert!(conn.at_eof());
    assert_eq!(portal.request_count(), 0);
}

#[test]
fn drop_stops_the_server() {
    let portal = portal();
    let addr = portal.addr();
    let mut idle = Conn::open(&portal);
    idle.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(idle.read().unwrap().status, 404);
    drop(portal);
    assert!(idle.at_eof(), "open connections are closed on drop");
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err());
}

#[test]
fn many_concurrent_connections() {
    let portal = portal();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let mut conn = Conn::open(&portal);
                for _ in 0..10 {
                    conn.send(&format!(
                        "GET {} HTTP/1.1\r\nHost: x\r\nx-amz-sso_bearer_token: {TOKEN}\r\n\r\n",
                        creds_target("111111111111", "Admin")
                    ));
                    assert_eq!(conn.read().unwrap().status, 200);
                }
            });
        }
    });
    assert_eq!(portal.request_count(), 80);
    let issued = portal.issued();
    let mut keys: Vec<_> = issued.iter().map(|c| c.access_key_id.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 80);
}

#[test]
fn binary_serves_and_counts() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-portal"))
        .args([
            "--token",
            TOKEN,
            "--grant",
            "111111111111:Admin",
            "--ttl-secs=120",
            "--latency-ms",
            "0",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let addr = url.strip_prefix("http://127.0.0.1:").unwrap();
    let port: u16 = addr.parse().unwrap();

    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {} HTTP/1.1\r\nHost: x\r\nx-amz-sso_bearer_token: {TOKEN}\r\nConnection: close\r\n\r\n",
        creds_target("111111111111", "Admin")
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let body: Value = serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let exp = body["roleCredentials"]["expiration"].as_i64().unwrap();
    assert!((exp - now_ms() - 120_000).abs() < 10_000);

    writeln!(stdin, "count").unwrap();
    stdin.flush().unwrap();
    line.clear();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "1");

    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success());
}

#[test]
fn binary_rejects_bad_arguments() {
    for args in [
        &["--port"][..],
        &["--grant", "nocolon"],
        &["--bogus"],
        &["--account", "noequals"],
        &["--generate", "5"],
        &["--generate", "x:y"],
        &["--limit", "fast"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_fake-portal"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
    }
}
