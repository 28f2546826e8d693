//! The authorization request of the PKCE flow (RFC 7636): a random verifier and
//! state, the S256 challenge, and the authorize URL with its parameters in the
//! order the AWS CLI sends them. Encoding uses the `base64` and
//! `percent-encoding` crates the HTTP stack links already.

use anyhow::{Result, anyhow};
use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::aws::network::Route;
use crate::secret::Secret;

/// PKCE code verifier length and alphabet (RFC 7636 unreserved characters).
const VERIFIER_LEN: usize = 64;
const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// Everything but RFC 3986 unreserved characters is percent-encoded.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where the browser goes to sign in: SSO-OIDC's endpoint for the region as the
/// SDK resolves it (so every partition: `oidc.cn-north-1.amazonaws.com.cn`), or
/// the endpoint override the OIDC client uses.
pub fn oidc_endpoint(route: &Route) -> String {
    route.endpoint.url.trim_end_matches('/').to_string()
}

/// The authorize URL, with the parameters in the order the AWS CLI sends them.
pub fn authorize_url(
    endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    scopes: &[String],
    challenge: &str,
) -> String {
    let params = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("code_challenge_method", "S256"),
        ("scopes", &scopes.join(" ")),
        ("code_challenge", challenge),
    ];
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NOT_UNRESERVED)))
        .collect();
    format!("{endpoint}/authorize?{}", query.join("&"))
}

/// A fresh code verifier: 64 characters from the unreserved set (RFC 7636).
pub fn verifier() -> Result<Secret> {
    random_text(VERIFIER_LEN, UNRESERVED).map(Secret::new)
}

/// A fresh `state`: 32 letters and digits.
pub fn state() -> Result<String> {
    random_text(32, UNRESERVED.get(..62).unwrap_or(UNRESERVED))
}

/// The S256 code challenge: base64url (no padding) of the verifier's SHA-256.
pub fn challenge(verifier: &Secret) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.expose().as_bytes());
    base64url(digest.as_ref())
}

/// `len` characters drawn uniformly from `alphabet` with the system's CSPRNG.
fn random_text(len: usize, alphabet: &[u8]) -> Result<String> {
    use ring::rand::SecureRandom;
    let rng = ring::rand::SystemRandom::new();
    // Bytes at or above the largest multiple of the alphabet's size are dropped,
    // so every character is equally likely.
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rng.fill(&mut buf)
            .map_err(|_| anyhow!("the system's random generator failed"))?;
        for &b in &buf {
            if usize::from(b) < limit
                && out.len() < len
                && let Some(&c) = alphabet.get(usize::from(b) % alphabet.len())
            {
                out.push(char::from(c));
            }
        }
    }
    Ok(out)
}

/// base64url without padding (RFC 4648 section 5), as PKCE wants it.
fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc_7636() {
        // RFC 7636 appendix B.
        let verifier = Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            challenge(&verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn base64url_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn verifiers_are_long_random_and_unreserved() {
        let a = random_text(VERIFIER_LEN, UNRESERVED).ok().unwrap();
        let b = random_text(VERIFIER_LEN, UNRESERVED).ok().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| UNRESERVED.contains(&c)));
    }

    #[test]
    fn the_sign_in_page_is_in_the_regions_partition() {
        use crate::aws::endpoints::{Endpoint, Service, default_url};
        for (region, host) in [
            ("eu-west-1", "oidc.eu-west-1.amazonaws.com"),
            ("cn-north-1", "oidc.cn-north-1.amazonaws.com.cn"),
            ("us-gov-west-1", "oidc.us-gov-west-1.amazonaws.com"),
        ] {
            let route = Route {
                service: Service::SsoOidc,
                endpoint: Endpoint::parse(&default_url(Service::SsoOidc, region)).unwrap(),
                proxy: None,
                timeout: std::time::Duration::from_secs(10),
            };
            let url = authorize_url(&oidc_endpoint(&route), "cid", "r", "s", &[], "c");
            assert!(
                url.starts_with(&format!("https://{host}/authorize?response_type=code")),
                "{region}: {url}"
            );
        }
    }

    #[test]
    fn authorize_url_like_the_cli() {
        let url = authorize_url(
            "http://127.0.0.1:9",
            "cid",
            "http://127.0.0.1:4321/oauth/callback",
            "st",
            &["sso:account:access".into(), "x:y".into()],
            "ch",
        );
        assert_eq!(
            url,
            "http://127.0.0.1:9/authorize?response_type=code&client_id=cid\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A4321%2Foauth%2Fcallback&state=st\
             &code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess%20x%3Ay&code_challenge=ch"
        );
    }
}
