//! Byte tests on eight bytes at once ("SIMD within a register"): the scanner and
//! the comment rules look for a few ASCII bytes in every line of big files, and a
//! word at a time beats a byte at a time without the `unsafe` of SIMD intrinsics.

pub(super) const ONES: u64 = 0x0101_0101_0101_0101;
const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
pub(super) const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `v` that is zero, and no other bit.
#[inline]
pub(super) fn zero_bytes(v: u64) -> u64 {
    !(((v & LOWS).wrapping_add(LOWS)) | v | LOWS)
}

/// The high bit of every byte of `v` equal to `b`.
#[inline]
pub(super) fn bytes_equal(v: u64, b: u8) -> u64 {
    zero_bytes(v ^ (ONES * u64::from(b)))
}

/// Eight bytes of `bytes` from `at` as one word (the first byte lowest), or
/// `None` when fewer than eight are left.
#[inline]
pub(super) fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    let word = bytes.get(at..)?.first_chunk::<8>()?;
    Some(u64::from_le_bytes(*word))
}

/// Nonzero when some byte of `v` is zero (exact as a yes/no; use [`zero_bytes`]
/// for where).
#[inline]
pub(super) fn has_zero_byte(v: u64) -> bool {
    v.wrapping_sub(ONES) & !v & HIGHS != 0
}
