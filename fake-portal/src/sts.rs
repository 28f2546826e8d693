//! STS AssumeRole (`sts.{region}.amazonaws.com`) on the same listener as the
//! portal, in the AWS Query protocol: a form-encoded `POST /`, XML answers.
//!
//! The SigV4 signature is not verified, but the access key id in the
//! `Authorization` header must be one this fake issued (by GetRoleCredentials
//! or AssumeRole), unexpired, with its session token in
//! `X-Amz-Security-Token`.

use std::collections::{HashMap, HashSet};

use crate::creds::UPPER_ALNUM;
use crate::http::{Response, parse_query};
use crate::{FakePortal, RecordedRequest, State, lock, now_ms, sha256};

/// The API version and XML namespace of STS.
const VERSION: &str = "2011-06-15";
const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Default `DurationSeconds`.
const DEFAULT_DURATION: u32 = 3600;
/// Allowed `DurationSeconds`.
const DURATION_RANGE: std::ops::RangeInclusive<u32> = 900..=43_200;
/// Longest session allowed when role chaining (see
/// [`FakePortal::set_role_chaining_limit`]).
const CHAINING_LIMIT: u32 = 3600;

/// One successful AssumeRole call.
#[derive(Clone, Debug)]
pub struct AssumedRole {
    /// `RoleArn` as sent.
    pub role_arn: String,
    /// `RoleSessionName` as sent.
    pub session_name: String,
    /// `DurationSeconds` as sent, or the default 3600.
    pub duration_seconds: u32,
    /// `ExternalId` as sent.
    pub external_id: Option<String>,
    /// Access key id from the `Credential=` part of the request's
    /// `Authorization` header.
    pub signed_with: String,
    /// Region from the `Credential=` scope.
    pub signing_region: String,
    /// `AssumedRoleUser.AssumedRoleId`: `AROA…:<session name>`.
    pub assumed_role_id: String,
    /// `AssumedRoleUser.Arn`:
    /// `arn:<partition>:sts::<account>:assumed-role/<role>/<session>`.
    pub assumed_role_arn: String,
    /// `ASIA` followed by 16 characters of `[A-Z0-9]`.
    pub access_key_id: String,
    /// 40 characters of `[A-Za-z0-9+/]`, starting with `fakeSecret`.
    pub secret_access_key: String,
    /// `FakeSessionToken` followed by about 300 base64 characters.
    pub session_token: String,
    /// Expiry as milliseconds since the Unix epoch (sent as ISO 8601).
    pub expiration_ms: i64,
}

/// STS settings and records.
pub(crate) struct StsState {
    allowed: HashSet<String>,
    /// Role ARN -> the external id it requires.
    external_ids: HashMap<String, String>,
    chaining_limit: bool,
    assumed: Vec<AssumedRole>,
}

impl StsState {
    pub(crate) fn new() -> StsState {
        StsState {
            allowed: HashSet::new(),
            external_ids: HashMap::new(),
            chaining_limit: false,
            assumed: Vec::new(),
        }
    }

    pub(crate) fn clear_records(&mut self) {
        self.assumed.clear();
    }
}

/// Test controls and records of the STS side.
impl FakePortal {
    /// Lets AssumeRole assume `role_arn` (exact match). Any other role gets
    /// 403 `AccessDenied`.
    pub fn allow_assume(&self, role_arn: &str) {
        lock(&self.shared.state)
            .sts
            .allowed
            .insert(role_arn.to_owned());
    }

    /// AssumeRole on `role_arn` must carry `ExternalId=external_id`;
    /// otherwise (absent or different) it gets 403 `AccessDenied`.
    pub fn require_external_id(&self, role_arn: &str, external_id: &str) {
        lock(&self.shared.state)
            .sts
            .external_ids
            .insert(role_arn.to_owned(), external_id.to_owned());
    }

    /// When on, AssumeRole rejects `DurationSeconds` over 3600 with
    /// `ValidationError`, as real STS does for role chaining (every key this
    /// fake issues is a role session). Off by default.
    pub fn set_role_chaining_limit(&self, on: bool) {
        lock(&self.shared.state).sts.chaining_limit = on;
    }

    /// Every successful AssumeRole, in order.
    pub fn assumed(&self) -> Vec<AssumedRole> {
        lock(&self.shared.state).sts.assumed.clone()
    }
}

/// Escapes text for an XML element body.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn xml_response(status: u16, body: String) -> Response {
    Response {
        status,
        headers: vec![("Content-Type", "text/xml".to_owned())],
        body: body.into_bytes(),
    }
}

/// An STS error document. `code` is e.g. `AccessDenied`; anything after a
/// `:` is dropped. Status 5xx is the receiver's fault, anything else the
/// sender's.
pub(crate) fn error(status: u16, code: &str, message: &str, request_id: &str) -> Response {
    let code = code.split(':').next().unwrap_or(code);
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    xml_response(
        status,
        format!(
            "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>{kind}</Type><Code>{}</Code>\
             <Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            xml_escape(code),
            xml_escape(message),
            xml_escape(request_id),
        ),
    )
}

/// The parts of a SigV4 `Authorization` header this fake looks at.
#[derive(Debug, PartialEq)]
struct Signature {
    access_key_id: String,
    region: String,
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
/// SignedHeaders=…, Signature=…`.
fn parse_authorization(header: &str) -> Option<Signature> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let mut credential = None;
    let mut signed_headers = false;
    let mut signature = false;
    for part in rest.split(',') {
        let (key, value) = part.trim().split_once('=')?;
        match key {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = !value.is_empty(),
            "Signature" => signature = !value.is_empty(),
            _ => {}
        }
    }
    if !signed_headers || !signature {
        return None;
    }
    let scope: Vec<&str> = credential?.split('/').collect();
    match scope[..] {
        [akid, date, region, service, "aws4_request"]
            if !akid.is_empty()
                && date.len() == 8
                && date.bytes().all(|b| b.is_ascii_digit())
                && !region.is_empty()
                && !service.is_empty() =>
        {
            Some(Signature {
                access_key_id: akid.to_owned(),
                region: region.to_owned(),
            })
        }
        _ => None,
    }
}

/// `(partition, account, role name)` of `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
fn parse_role_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let path = resource.strip_prefix("role/")?;
    let name = path.rsplit('/').next()?;
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    (!partition.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && name_ok)
        .then_some((partition, account, name))
}

/// Whether `name` is a valid `RoleSessionName`: 2 to 64 of `[\w+=,.@-]`.
fn valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// A stable `AROA…` role id for `role_arn`.
fn role_id(role_arn: &str) -> String {
    let digest = sha256::sha256(role_arn.as_bytes());
    let mut id = String::from("AROA");
    id.extend(
        digest[..17]
            .iter()
            .map(|b| char::from(UPPER_ALNUM[usize::from(*b) % UPPER_ALNUM.len()])),
    );
    id
}

/// `secs` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn iso8601(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian), after
    // Howard Hinnant's `civil_from_days`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// `POST /`: the Query protocol entry point; only AssumeRole is known.
pub(crate) fn query(state: &mut State, request: &RecordedRequest, request_id: &str) -> Response {
    query_inner(state, request, request_id).unwrap_or_else(|e| e)
}

fn query_inner(
    state: &mut State,
    request: &RecordedRequest,
    request_id: &str,
) -> Result<Response, Response> {
    let form = parse_query(&String::from_utf8_lossy(&request.body));
    let param = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let fail = |status: u16, code: &str, message: &str| error(status, code, message, request_id);
    let validation = |message: String| fail(400, "ValidationError", &message);

    match param("Action") {
        Some("AssumeRole") => {}
        Some(other) => {
            return Err(fail(
                400,
                "InvalidAction",
                &format!("Could not find operation {other} for version {VERSION}"),
            ));
        }
        None => return Err(fail(400, "InvalidAction", "Action is required")),
    }

    let Some(authorization) = request.header("authorization") else {
        return Err(fail(
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ));
    };
    let Some(signature) = parse_authorization(authorization) else {
        return Err(fail(
            400,
            "IncompleteSignature",
            "Authorization header is not a valid AWS4-HMAC-SHA256 signature",
        ));
    };
    let invalid_token = || {
        fail(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    };
    let Some(key) = state.keys.get(&signature.access_key_id) else {
        return Err(invalid_token());
    };
    if request.header("x-amz-security-token") != Some(key.session_token.as_str()) {
        return Err(invalid_token());
    }
    if key.expiration_ms <= now_ms() {
        return Err(fail(
            400,
            "ExpiredToken",
            "The security token included in the request is expired",
        ));
    }

    let null = |member: &str| {
        validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy \
             constraint: Member must not be null"
        ))
    };
    let role_arn = param("RoleArn")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| null("roleArn"))?;
    let Some((partition, account, role_name)) = parse_role_arn(role_arn) else {
        return Err(validation(format!("{role_arn} is invalid")));
    };
    let session_name = param("RoleSessionName")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| null("roleSessionName"))?;
    if !valid_session_name(session_name) {
        return Err(validation(format!(
            "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed \
             to satisfy constraint: Member must have length between 2 and 64 and match \
             [\\w+=,.@-]*"
        )));
    }
    let duration_seconds = match param("DurationSeconds") {
        None => DEFAULT_DURATION,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if n < *DURATION_RANGE.start() => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{n}' at 'durationSeconds' failed to \
                     satisfy constraint: Member must have value greater than or equal to 900"
                )));
            }
            Ok(n) if n > *DURATION_RANGE.end() => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{n}' at 'durationSeconds' failed to \
                     satisfy constraint: Member must have value less than or equal to 43200"
                )));
            }
            Ok(n) => n,
            Err(_) => return Err(validation(format!("Invalid DurationSeconds: {raw}"))),
        },
    };
    if state.sts.chaining_limit && duration_seconds > CHAINING_LIMIT {
        return Err(validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles \
             assumed by role chaining."
                .to_owned(),
        ));
    }
    let external_id = param("ExternalId");

    let denied = || {
        fail(
            403,
            "AccessDenied",
            &format!(
                "Access key {} is not authorized to perform: sts:AssumeRole on resource: \
                 {role_arn}",
                signature.access_key_id
            ),
        )
    };
    if !state.sts.allowed.contains(role_arn) {
        return Err(denied());
    }
    if let Some(required) = state.sts.external_ids.get(role_arn)
        && external_id != Some(required.as_str())
    {
        return Err(denied());
    }

    let expiration_ms = now_ms().saturating_add(i64::from(duration_seconds) * 1000);
    let minted = state.mint.mint();
    let assumed_role_id = format!("{}:{session_name}", role_id(role_arn));
    let assumed_role_arn =
        format!("arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}");
    let body = format!(
        "<AssumeRoleResponse xmlns=\"{XMLNS}\"><AssumeRoleResult><Credentials>\
         <AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
         <SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials>\
         <AssumedRoleUser><AssumedRoleId>{}</AssumedRoleId><Arn>{}</Arn></AssumedRoleUser>\
         </AssumeRoleResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata>\
         </AssumeRoleResponse>",
        xml_escape(&minted.access_key_id),
        xml_escape(&minted.secret_access_key),
        xml_escape(&minted.session_token),
        iso8601(expiration_ms.div_euclid(1000)),
        xml_escape(&assumed_role_id),
        xml_escape(&assumed_role_arn),
        xml_escape(request_id),
    );
    state.keys.insert(
        minted.access_key_id.clone(),
        crate::SessionKey {
            session_token: minted.session_token.clone(),
            expiration_ms,
        },
    );
    state.sts.assumed.push(AssumedRole {
        role_arn: role_arn.to_owned(),
        session_name: session_name.to_owned(),
        duration_seconds,
        external_id: external_id.map(str::to_owned),
        signed_with: signature.access_key_id,
        signing_region: signature.region,
        assumed_role_id,
        assumed_role_arn,
        access_key_id: minted.access_key_id,
        secret_access_key: minted.secret_access_key,
        session_token: minted.session_token,
        expiration_ms,
    });
    Ok(xml_response(200, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(iso8601(1_795_435_200), "2026-11-23T12:00:00Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59Z");
        assert_eq!(iso8601(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn authorization_header() {
        let sig = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20260101/eu-west-1/sts/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=abc123",
        );
        assert_eq!(
            sig,
            Some(Signature {
                access_key_id: "ASIAEXAMPLE".into(),
                region: "eu-west-1".into(),
            })
        );
        for bad in [
            "",
            "Bearer x",
            "AWS4-HMAC-SHA256Credential=A/20260101/r/sts/aws4_request, SignedHeaders=h, Signature=s",
            "AWS4-HMAC-SHA256 Credential=A/20260101/r/sts/aws4_request, SignedHeaders=h",
            "AWS4-HMAC-SHA256 Credential=A/20260101/r/sts, SignedHeaders=h, Signature=s",
            "AWS4-HMAC-SHA256 Credential=/20260101/r/sts/aws4_request, SignedHeaders=h, Signature=s",
            "AWS4-HMAC-SHA256 Credential=A/2026/r/sts/aws4_request, SignedHeaders=h, Signature=s",
            "AWS4-HMAC-SHA256 garbage",
        ] {
            assert_eq!(parse_authorization(bad), None, "{bad}");
        }
    }

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/Deploy"),
            Some(("aws", "123456789012", "Deploy"))
        );
        assert_eq!(
            parse_role_arn("arn:aws-cn:iam::123456789012:role/path/to/Deploy"),
            Some(("aws-cn", "123456789012", "Deploy"))
        );
        for bad in [
            "Deploy",
            "arn:aws:iam::12345:role/Deploy",
            "arn:aws:iam::123456789012:user/Deploy",
            "arn:aws:sts::123456789012:role/Deploy",
            "arn:aws:iam:us-east-1:123456789012:role/Deploy",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/Bad Name",
        ] {
            assert_eq!(parse_role_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn session_names_and_role_ids() {
        assert!(valid_session_name("ab"));
        assert!(valid_session_name("user@example.com,+=._-"));
        assert!(!valid_session_name("a"));
        assert!(!valid_session_name(&"a".repeat(65)));
        assert!(!valid_session_name("has space"));
        let id = role_id("arn:aws:iam::123456789012:role/Deploy");
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AROA"));
        assert_eq!(id, role_id("arn:aws:iam::123456789012:role/Deploy"));
        assert_ne!(id, role_id("arn:aws:iam::123456789012:role/Other"));
    }

    #[test]
    fn xml_is_escaped() {
        assert_eq!(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
    }
}
