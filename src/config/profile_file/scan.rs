//! Splitting a file into lines, the one pass over every byte of a big file: it
//! finds each line's end and its first comment mark together, eight bytes at a
//! time, so that parsing a large config costs little more than reading it.

use super::swar::{HIGHS, ONES, bytes_equal, has_zero_byte, word_at, zero_bytes};

/// One line as [`LineScan`] finds it: byte offsets, whether a `\n` ends it, and
/// where its first `#` or `;` is.
pub(super) struct ScannedLine {
    pub(super) start: usize,
    /// The offset of the `\n`, or of the end of the text.
    pub(super) end: usize,
    pub(super) newline: bool,
    pub(super) mark: Option<usize>,
}

/// Splits text into lines and finds each line's first comment mark in the same
/// pass, eight bytes at a time.
pub(super) struct LineScan<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> LineScan<'a> {
    #[inline]
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        LineScan { bytes, pos: 0 }
    }
}

impl Iterator for LineScan<'_> {
    type Item = ScannedLine;

    #[inline]
    fn next(&mut self) -> Option<ScannedLine> {
        let bytes = self.bytes;
        let start = self.pos;
        if start >= bytes.len() {
            return None;
        }
        let newline = ONES * u64::from(b'\n');
        let hash = ONES * u64::from(b'#');
        let semi = ONES * u64::from(b';');
        let mut mark = None;
        let mut at = start;
        let mut end = None;
        // Until the first comment mark: look for a newline or a mark.
        while let Some(v) = word_at(bytes, at) {
            // One branch for the three tests.
            let (n, h, m) = (v ^ newline, v ^ hash, v ^ semi);
            let any = (n.wrapping_sub(ONES) & !n)
                | (h.wrapping_sub(ONES) & !h)
                | (m.wrapping_sub(ONES) & !m);
            if any & HIGHS != 0 {
                let newlines = zero_bytes(v ^ newline);
                let marks = zero_bytes(v ^ hash) | zero_bytes(v ^ semi);
                let first_newline = newlines.trailing_zeros() as usize / 8; // 8: none
                let first_mark = marks.trailing_zeros() as usize / 8;
                if first_mark < first_newline {
                    mark = Some(at + first_mark);
                }
                if first_newline < 8 {
                    end = Some(at + first_newline);
                } else {
                    at += 8;
                }
                break;
            }
            at += 8;
        }
        // After it: only the newline matters.
        if end.is_none() && mark.is_some() {
            while let Some(word) = word_at(bytes, at) {
                let v = word ^ newline;
                if has_zero_byte(v) {
                    end = Some(at + zero_bytes(v).trailing_zeros() as usize / 8);
                    break;
                }
                at += 8;
            }
        }
        if end.is_none() {
            for (i, &b) in bytes.iter().enumerate().skip(at) {
                match b {
                    b'\n' => {
                        end = Some(i);
                        break;
                    }
                    b'#' | b';' if mark.is_none() => mark = Some(i),
                    _ => {}
                }
            }
        }
        let (end, newline) = match end {
            Some(e) => (e, true),
            None => (bytes.len(), false),
        };
        self.pos = end + 1;
        Some(ScannedLine {
            start,
            end,
            newline,
            mark,
        })
    }
}

/// How many `\n` bytes `bytes` holds, eight bytes at a time.
#[inline]
pub(super) fn count_newlines(bytes: &[u8]) -> usize {
    let mut chunks = bytes.chunks_exact(8);
    let mut count = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        count += bytes_equal(u64::from_le_bytes(word), b'\n').count_ones() as usize;
    }
    count + chunks.remainder().iter().filter(|&&b| b == b'\n').count()
}
