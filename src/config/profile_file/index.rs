//! Finding sections by name without reading the whole file: a hash of each
//! trimmed header, chained per hash so that the index costs no allocation per
//! section, and a hasher much cheaper than the standard one on short names.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// No section: the end of a chain in [`Index`].
pub(super) const NONE: usize = usize::MAX;

/// Sections by trimmed header text. Each section links to the next one with the
/// same hash, so the index costs no allocation per section; lookups compare names.
#[derive(Clone, Debug, Default)]
pub(super) struct Index {
    /// Hash of a trimmed header → (first, last) section with that hash.
    chains: HashMap<u64, (usize, usize), FxBuildHasher>,
    /// Per section: the next section with the same hash, or [`NONE`].
    next: Vec<usize>,
}

impl Index {
    /// An empty index with room for `sections` sections.
    pub(super) fn with_capacity(sections: usize) -> Self {
        Index {
            chains: HashMap::with_capacity_and_hasher(sections, Default::default()),
            next: Vec::with_capacity(sections),
        }
    }

    /// The first section with hash `hash`, or [`NONE`].
    #[inline]
    pub(super) fn first(&self, hash: u64) -> usize {
        self.chains.get(&hash).map_or(NONE, |&(first, _)| first)
    }

    /// The next section after `s` with the same hash, or [`NONE`].
    #[inline]
    pub(super) fn after(&self, s: usize) -> usize {
        self.next.get(s).copied().unwrap_or(NONE)
    }

    /// Adds the next section, whose hash is `hash`.
    #[inline]
    pub(super) fn push(&mut self, hash: u64) {
        let section = self.next.len();
        self.next.push(NONE);
        match self.chains.get_mut(&hash) {
            Some((_, last)) => {
                if let Some(next) = self.next.get_mut(*last) {
                    *next = section;
                }
                *last = section;
            }
            None => {
                self.chains.insert(hash, (section, section));
            }
        }
    }
}

#[inline]
pub(super) fn name_hash(name: &str) -> u64 {
    let mut hasher = FxHasher::default();
    name.hash(&mut hasher);
    hasher.finish()
}

/// FxHash (the hasher rustc uses: a multiply and a rotate per eight bytes) with a
/// finalizer, much cheaper than SipHash on short keys. Keys come from the user's
/// own files, so there is no one to mount a collision attack.
#[derive(Clone, Copy, Debug, Default)]
struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            if let Some(head) = word.get_mut(..rest.len()) {
                head.copy_from_slice(rest);
            }
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn write_u64(&mut self, word: u64) {
        self.add(word);
    }

    #[inline]
    fn write_usize(&mut self, word: usize) {
        self.add(word as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits depending on the low bits of the input
        // only, and hash tables pick buckets by the low bits: fold the high bits in
        // (the murmur3 finalizer).
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

type FxBuildHasher = BuildHasherDefault<FxHasher>;
