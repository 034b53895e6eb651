//! The code store of one side: binary codes of 8 to 512 bits packed little-endian into `u64` words, one
//! flat array with a stride of `bits.div_ceil(64)` words, indexed by dense entity id, with a presence set
//! ([`IdSet`]).
//!
//! Bit `i` of a code is bit `i % 64` of word `i / 64` (and bit `i % 8` of byte `i / 8` in the raw export,
//! the layout FAISS binary indexes read). Padding bits past `bits` are always zero; ids without a code hold
//! an all-zero code and are absent from the presence bitset.
//!
//! Serialised layout ([`CodeStore::to_bytes`]), all little-endian: magic `RHC1`, `bits: u32`, `slots: u32`,
//! `count: u32`, the presence bitset (`slots.div_ceil(64)` words) and then `slots × words` code words.
//! [`CodeStore::from_bytes`] checks every field, the padding bits and the count.

use super::idset::IdSet;
use crate::error::{corrupt, Result, StorageError};

/// The longest code the store accepts, in bits.
pub const MAX_BITS: u32 = 512;

const MAGIC: &[u8; 4] = b"RHC1";
const HEADER: usize = 16;

/// Binary codes of one side, indexed by dense `u32` id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeStore {
    bits: u32,
    words: usize,
    data: Vec<u64>,
    /// The ids that have a code, one bit per slot.
    present: IdSet,
    count: u32,
}

fn check_bits(bits: u32) -> Result<()> {
    if bits == 0 || bits > MAX_BITS || !bits.is_multiple_of(8) {
        return Err(StorageError::Limit(format!(
            "code length of {bits} bits: must be a multiple of 8 between 8 and {MAX_BITS}"
        )));
    }
    Ok(())
}

/// The mask of the valid bits of the last word of a `bits`-long code.
pub(crate) fn last_word_mask(bits: u32) -> u64 {
    match bits % 64 {
        0 => u64::MAX,
        r => (1u64 << r) - 1,
    }
}

impl CodeStore {
    /// An empty store for codes of `bits` bits (a multiple of 8 in `8..=512`).
    pub fn new(bits: u32) -> Result<CodeStore> {
        check_bits(bits)?;
        Ok(CodeStore {
            bits,
            words: bits.div_ceil(64) as usize,
            data: Vec::new(),
            present: IdSet::default(),
            count: 0,
        })
    }

    /// A store holding one code per id `0..n`, from `n × words` packed words (padding bits must be zero).
    pub fn from_words(bits: u32, data: Vec<u64>) -> Result<CodeStore> {
        let mut store = CodeStore::new(bits)?;
        if !data.len().is_multiple_of(store.words) {
            return Err(StorageError::Limit(format!(
                "{} words do not divide into {}-word codes",
                data.len(),
                store.words
            )));
        }
        let n = data.len() / store.words;
        let n32 = u32::try_from(n).map_err(|_| StorageError::Limit(format!("{n} codes: too many")))?;
        let mask = last_word_mask(bits);
        if data.chunks_exact(store.words).any(|c| c[store.words - 1] & !mask != 0) {
            return Err(StorageError::Limit(format!("a code has bits set past bit {bits}")));
        }
        store.data = data;
        store.present = IdSet::all_below(n);
        store.count = n32;
        Ok(store)
    }

    /// The code length in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The stride: `u64` words per code.
    pub fn words(&self) -> usize {
        self.words
    }

    /// The number of id slots (one past the highest id ever set, or as imported).
    pub fn slots(&self) -> u32 {
        (self.data.len() / self.words) as u32
    }

    /// The number of ids that have a code.
    pub fn len(&self) -> u32 {
        self.count
    }

    /// Whether no id has a code.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether `id` has a code.
    #[inline]
    pub fn contains(&self, id: u32) -> bool {
        self.present.contains(id)
    }

    /// The ids that have a code, as a dense set.
    pub(crate) fn presence(&self) -> &IdSet {
        &self.present
    }

    /// The code of `id`, if it has one.
    pub fn get(&self, id: u32) -> Option<&[u64]> {
        self.contains(id).then(|| self.code(id))
    }

    /// The code slot of `id` (all zero when absent); `id` must be below [`slots`](Self::slots).
    #[inline]
    pub(crate) fn code(&self, id: u32) -> &[u64] {
        let start = id as usize * self.words;
        &self.data[start..start + self.words]
    }

    /// The flat array of all code slots, `slots × words` words (absent ids hold zeros).
    pub fn as_words(&self) -> &[u64] {
        &self.data
    }

    /// The ids that have a code, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.present.iter()
    }

    /// Checks that `code` is one valid code of this store (length and padding bits).
    pub fn check_code(&self, code: &[u64]) -> Result<()> {
        if code.len() != self.words {
            return Err(StorageError::Limit(format!(
                "a code of {} words where {}-bit codes have {}",
                code.len(),
                self.bits,
                self.words
            )));
        }
        if code[self.words - 1] & !last_word_mask(self.bits) != 0 {
            return Err(StorageError::Limit(format!("a code has bits set past bit {}", self.bits)));
        }
        Ok(())
    }

    /// Sets (inserts or replaces) the code of `id`, growing the store as needed.
    pub fn set(&mut self, id: u32, code: &[u64]) -> Result<()> {
        self.check_code(code)?;
        if id == u32::MAX {
            return Err(StorageError::Limit("id u32::MAX cannot hold a code".into()));
        }
        let slots = self.slots();
        if id >= slots {
            let new_len = (id as usize + 1) * self.words;
            let too_large = |_| StorageError::Limit(format!("cannot grow the code store to id {id}"));
            self.data.try_reserve(new_len - self.data.len()).map_err(too_large)?;
            self.data.resize(new_len, 0);
            self.present.try_grow(id as usize + 1).map_err(too_large)?;
        }
        let start = id as usize * self.words;
        self.data[start..start + self.words].copy_from_slice(code);
        if self.present.insert(id) {
            self.count += 1;
        }
        Ok(())
    }

    /// Sets the code of `id` from `bits / 8` little-endian packed bytes.
    pub fn set_bytes(&mut self, id: u32, bytes: &[u8]) -> Result<()> {
        let code = self.words_of_bytes(bytes)?;
        self.set(id, &code)
    }

    fn words_of_bytes(&self, bytes: &[u8]) -> Result<Vec<u64>> {
        let nbytes = self.bits as usize / 8;
        if bytes.len() != nbytes {
            return Err(StorageError::Limit(format!("a code of {} bytes; expected {nbytes}", bytes.len())));
        }
        let mut code = vec![0u64; self.words];
        for (i, &b) in bytes.iter().enumerate() {
            code[i / 8] |= u64::from(b) << (8 * (i % 8));
        }
        Ok(code)
    }

    /// Removes the code of `id`; returns whether it had one.
    pub fn remove(&mut self, id: u32) -> bool {
        if !self.present.remove(id) {
            return false;
        }
        self.count -= 1;
        let start = id as usize * self.words;
        self.data[start..start + self.words].fill(0);
        true
    }

    /// Serialises the store (layout in the module documentation), e.g. to keep it as a blob.
    pub fn to_bytes(&self) -> Vec<u8> {
        let presence = self.present.as_words();
        let mut out = Vec::with_capacity(HEADER + 8 * (presence.len() + self.data.len()));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.bits.to_le_bytes());
        out.extend_from_slice(&self.slots().to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        for w in presence.iter().chain(&self.data) {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Reads a store written by [`to_bytes`](Self::to_bytes), validating every field.
    pub fn from_bytes(bytes: &[u8]) -> Result<CodeStore> {
        let bad = |what: &str| corrupt(format!("code store: {what}"));
        if bytes.len() < HEADER || &bytes[..4] != MAGIC {
            return Err(bad("bad header"));
        }
        let u32_at = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let (bits, slots, count) = (u32_at(4), u32_at(8), u32_at(12));
        let mut store = CodeStore::new(bits).map_err(|_| bad("bad code length"))?;
        let pwords = (slots as usize).div_ceil(64);
        let total = (slots as usize).checked_mul(store.words).and_then(|w| w.checked_add(pwords));
        if total.and_then(|t| t.checked_mul(8)).and_then(|t| t.checked_add(HEADER)) != Some(bytes.len()) {
            return Err(bad("length does not match the header"));
        }
        let mut words =
            bytes[HEADER..].chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        store.present = IdSet::from_words(words.by_ref().take(pwords).collect(), slots as usize)
            .ok_or_else(|| bad("presence bits past the last slot"))?;
        store.data = words.collect();
        if store.present.len() != count as usize {
            return Err(bad("count does not match the presence bitset"));
        }
        store.count = count;
        let mask = last_word_mask(bits);
        for id in 0..slots {
            let code = store.code(id);
            if code[store.words - 1] & !mask != 0 || (!store.contains(id) && code.iter().any(|&w| w != 0)) {
                return Err(bad("stray bits in a code"));
            }
        }
        Ok(store)
    }

    /// Exports every slot as `slots × bits/8` little-endian packed bytes (absent ids as zero codes), the
    /// layout FAISS binary indexes read.
    pub fn export_raw(&self) -> Vec<u8> {
        let nbytes = self.bits as usize / 8;
        let mut out = Vec::with_capacity(self.slots() as usize * nbytes);
        for code in self.data.chunks_exact(self.words) {
            out.extend(code.iter().flat_map(|w| w.to_le_bytes()).take(nbytes));
        }
        out
    }

    /// Imports `n × bits/8` little-endian packed bytes as codes of ids `0..n`, all present.
    pub fn import_raw(bits: u32, bytes: &[u8]) -> Result<CodeStore> {
        let store = CodeStore::new(bits)?;
        let nbytes = bits as usize / 8;
        if !bytes.len().is_multiple_of(nbytes) {
            return Err(StorageError::Limit(format!("{} bytes are not whole {bits}-bit codes", bytes.len())));
        }
        let mut data = Vec::with_capacity(bytes.len() / nbytes * store.words);
        for code in bytes.chunks_exact(nbytes) {
            data.extend(store.words_of_bytes(code)?);
        }
        CodeStore::from_words(bits, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_lengths() {
        for bits in [0, 7, 12, 520] {
            assert!(CodeStore::new(bits).is_err(), "{bits}");
        }
        let mut s = CodeStore::new(24).expect("valid");
        assert!(s.set(0, &[1 << 24]).is_err(), "padding bit");
        assert!(s.set(0, &[1, 2]).is_err(), "too many words");
        assert!(s.set(u32::MAX, &[1]).is_err());
    }

    #[test]
    fn set_replace_remove_and_round_trip() {
        let mut s = CodeStore::new(72).expect("valid");
        s.set(5, &[7, 0xff]).expect("set");
        s.set(2, &[1, 1]).expect("set");
        s.set(5, &[9, 0x1]).expect("replace");
        assert_eq!((s.len(), s.slots()), (2, 6));
        assert_eq!(s.get(5), Some(&[9u64, 1][..]));
        assert_eq!(s.get(3), None);
        assert_eq!(s.ids().collect::<Vec<_>>(), vec![2, 5]);
        assert!(s.remove(2) && !s.remove(2));
        let back = CodeStore::from_bytes(&s.to_bytes()).expect("round trip");
        assert_eq!(back, s);
        let mut bytes = s.to_bytes();
        bytes[HEADER + 8] ^= 1; // a bit in an absent code
        assert!(CodeStore::from_bytes(&bytes).is_err());
        assert!(CodeStore::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(CodeStore::from_bytes(b"RHC1").is_err());
    }

    #[test]
    fn serialised_layout_is_fixed() {
        let mut s = CodeStore::new(16).expect("valid");
        s.set(0, &[0xaaaa]).expect("set");
        s.set(2, &[0x1234]).expect("set");
        let mut want = b"RHC1".to_vec();
        for v in [16u32, 3, 2] {
            want.extend(v.to_le_bytes());
        }
        for w in [0b101u64, 0xaaaa, 0, 0x1234] {
            want.extend(w.to_le_bytes());
        }
        assert_eq!(s.to_bytes(), want);
        let mut stray = want.clone();
        stray[HEADER] |= 1 << 3; // presence of slot 3, past the last
        assert!(CodeStore::from_bytes(&stray).is_err());
    }

    #[test]
    fn raw_export_is_little_endian_packed() {
        let s = CodeStore::from_words(16, vec![0x0201, 0xbeef]).expect("valid");
        assert_eq!(s.export_raw(), vec![1, 2, 0xef, 0xbe]);
        assert_eq!(CodeStore::import_raw(16, &s.export_raw()).expect("import"), s);
        assert!(CodeStore::import_raw(16, &[1, 2, 3]).is_err());
        let mut t = CodeStore::new(16).expect("valid");
        t.set_bytes(1, &[0xef, 0xbe]).expect("set");
        assert_eq!(t.get(1), Some(&[0xbeefu64][..]));
    }
}
