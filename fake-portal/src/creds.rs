//! Minting of realistic-looking, unique, obviously fake credential values.
//!
//! No `rand` dependency: values come from a SplitMix64 generator keyed by a
//! per-portal seed (time, process id, an in-process instance counter) and the
//! issue counter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Prefix of every minted access key id (temporary keys start with `ASIA`).
pub(crate) const ACCESS_KEY_PREFIX: &str = "ASIA";
/// Prefix of every minted secret access key.
pub(crate) const SECRET_PREFIX: &str = "fakeSecret";
/// Prefix of every minted session token.
pub(crate) const SESSION_TOKEN_PREFIX: &str = "FakeSessionToken";

/// Upper-case letters and digits.
pub(crate) const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Length of an access key id, prefix included.
const ACCESS_KEY_LEN: usize = 20;
/// Length of a secret access key, prefix included.
const SECRET_LEN: usize = 40;
/// Number of base64-alphabet characters after the session token prefix
/// (a `=` pad follows them).
const SESSION_TOKEN_BODY_LEN: usize = 299;

/// Odd constant of SplitMix64; multiplying by it is a bijection on `u64`.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser: a bijection on `u64` with good avalanche.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A SplitMix64 stream.
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    fn push_chars(&mut self, out: &mut String, alphabet: &[u8], count: usize) {
        for _ in 0..count {
            let pick = (self.next() % alphabet.len() as u64) as usize;
            out.push(char::from(alphabet[pick]));
        }
    }
}

/// One minted credential triple.
pub(crate) struct Minted {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
}

/// Hands out credential triples that never repeat within one portal.
pub(crate) struct Mint {
    seed: u64,
    issued: u64,
}

impl Mint {
    /// A mint with a fresh seed.
    pub(crate) fn new() -> Mint {
        static INSTANCES: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let seed = mix(nanos)
            ^ mix(u64::from(std::process::id()).wrapping_add(GOLDEN))
            ^ mix(instance.wrapping_mul(GOLDEN).wrapping_add(1));
        Mint { seed, issued: 0 }
    }

    /// A value that differs for every call on this mint.
    fn next_unique(&mut self) -> u64 {
        self.issued += 1;
        // `seed + n * GOLDEN` is injective in `n`, and `mix` is a bijection,
        // so the result differs for every issue of this mint.
        mix(self.seed.wrapping_add(self.issued.wrapping_mul(GOLDEN)))
    }

    /// The next credential triple.
    pub(crate) fn mint(&mut self) -> Minted {
        let unique = self.next_unique();
        let mut stream = Stream(mix(unique ^ 0x5EED_5EED_5EED_5EED));

        let mut access_key_id = String::with_capacity(ACCESS_KEY_LEN);
        access_key_id.push_str(ACCESS_KEY_PREFIX);
        // 36^13 > 2^64: thirteen base-36 digits hold `unique` exactly.
        let mut rest = unique;
        for _ in 0..13 {
            access_key_id.push(char::from(UPPER_ALNUM[(rest % 36) as usize]));
            rest /= 36;
        }
        let filler = ACCESS_KEY_LEN - access_key_id.len();
        stream.push_chars(&mut access_key_id, UPPER_ALNUM, filler);

        let mut secret_access_key = String::with_capacity(SECRET_LEN);
        secret_access_key.push_str(SECRET_PREFIX);
        stream.push_chars(
            &mut secret_access_key,
            BASE64,
            SECRET_LEN - SECRET_PREFIX.len(),
        );

        let mut session_token =
            String::with_capacity(SESSION_TOKEN_PREFIX.len() + SESSION_TOKEN_BODY_LEN + 1);
        session_token.push_str(SESSION_TOKEN_PREFIX);
        stream.push_chars(&mut session_token, BASE64, SESSION_TOKEN_BODY_LEN);
        session_token.push('=');

        Minted {
            access_key_id,
            secret_access_key,
            session_token,
        }
    }
}

/// Alphabet of opaque URL-safe values (tokens, codes, client ids).
pub(crate) const URL_SAFE: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// Alphabet of device-flow user codes: consonants only, nothing to misread.
pub(crate) const USER_CODE: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

impl Mint {
    /// `prefix` followed by `len` characters of `alphabet` (at least two
    /// symbols). When `len` is long enough to spell a 64-bit number in that
    /// alphabet (13 characters for 36 symbols, 11 for 64), the value never
    /// repeats within this mint; shorter values are merely random.
    pub(crate) fn opaque(&mut self, prefix: &str, alphabet: &[u8], len: usize) -> String {
        let base = alphabet.len() as u64;
        debug_assert!(base >= 2);
        let unique = self.next_unique();
        let mut stream = Stream(mix(unique ^ 0x0DDB_A110_DDBA_1100));
        let mut out = String::with_capacity(prefix.len() + len);
        out.push_str(prefix);
        // Spell `unique` in a fixed number of digits (injective), then fill
        // up at random.
        let mut digits = 0;
        let mut capacity: u128 = 1;
        while capacity <= u128::from(u64::MAX) {
            capacity *= u128::from(base);
            digits += 1;
        }
        let spelled = digits.min(len);
        let mut rest = unique;
        for _ in 0..spelled {
            out.push(char::from(alphabet[(rest % base) as usize]));
            rest /= base;
        }
        stream.push_chars(&mut out, alphabet, len - spelled);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn shapes_and_uniqueness() {
        let mut mint = Mint::new();
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let m = mint.mint();
            assert_eq!(m.access_key_id.len(), ACCESS_KEY_LEN);
            assert!(m.access_key_id.starts_with(ACCESS_KEY_PREFIX));
            assert!(m.access_key_id.bytes().all(|b| UPPER_ALNUM.contains(&b)));
            assert_eq!(m.secret_access_key.len(), SECRET_LEN);
            assert!(m.secret_access_key.starts_with(SECRET_PREFIX));
            assert!(m.secret_access_key.bytes().all(|b| BASE64.contains(&b)));
            assert!(m.session_token.starts_with(SESSION_TOKEN_PREFIX));
            assert!(m.session_token.len() > 300);
            let body = m.session_token.strip_suffix('=').unwrap();
            assert!(body.bytes().all(|b| BASE64.contains(&b)));
            assert!(seen.insert(m.access_key_id));
            assert!(seen.insert(m.secret_access_key));
            assert!(seen.insert(m.session_token));
        }
    }

    #[test]
    fn opaque_values_are_unique_and_shaped() {
        let mut mint = Mint::new();
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let v = mint.opaque("pre", URL_SAFE, 20);
            assert_eq!(v.len(), 23);
            assert!(v.starts_with("pre"));
            assert!(v[3..].bytes().all(|b| URL_SAFE.contains(&b)));
            assert!(seen.insert(v));
            let short = mint.opaque("", USER_CODE, 8);
            assert_eq!(short.len(), 8);
            assert!(short.bytes().all(|b| USER_CODE.contains(&b)));
        }
    }

    #[test]
    fn two_mints_differ() {
        let a = Mint::new().mint();
        let b = Mint::new().mint();
        assert_ne!(a.access_key_id, b.access_key_id);
        assert_ne!(a.session_token, b.session_token);
    }
}
