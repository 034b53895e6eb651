//! Hamming distance kernels, chosen at run time.
//!
//! The default x86-64 target has no `popcnt`, so `count_ones` compiles to a slow bit-twiddling sequence.
//! Each [`Kernel`] is compiled with `#[target_feature]` for its instruction set and used only after
//! `is_x86_feature_detected!` says the CPU has it, so one binary runs on any x86-64 and is fast on a new one.
//! [`Kernel::best`] takes the first available kernel in [`PREFERENCE`], an order measured by
//! `cargo bench -p recodb-storage --bench hamming` (see BENCHMARKS.md): AVX-512 VPOPCNTDQ, then AVX2 (the
//! nibble-LUT `pshufb` method with `psadbw` sums), then the scalar kernels. On other architectures the
//! portable kernel is used (on aarch64 `count_ones` already compiles to NEON `cnt`).
//!
//! Three operations: [`Kernel::scan`] runs over a contiguous block of codes and emits `(distance, id)` for
//! each code closer than a limit (the bounded top-k of a scan raises the bar as it fills, so few codes are
//! emitted), [`Kernel::gather`] computes the distances of a list of ids (the candidates of MIH's arena
//! layouts), and `Kernel::scan_packed` does what `scan` does over the byte-packed remainders of MIH's packed
//! layout. Codes of 1, 2 and 4 words, and remainders of up to 8 bytes, have specialised paths.

use std::ops::Range;
use std::sync::OnceLock;

use super::cut::{Cut, PADDING};

/// A distance kernel: an instruction set the distance computation is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `u64::count_ones`, compiled for the baseline target.
    Portable,
    /// The scalar loop compiled with the `popcnt` instruction.
    Popcnt,
    /// AVX2: byte popcounts by a nibble lookup (`vpshufb`), summed per code with `vpsadbw`.
    Avx2,
    /// AVX-512 VPOPCNTDQ: one `vpopcntq` per eight words (1-word codes; longer codes use the AVX2 path).
    Avx512,
}

/// Kernels from fastest to slowest, as measured on 64-bit codes (BENCHMARKS.md, "Hamming engine").
pub const PREFERENCE: [Kernel; 4] = [Kernel::Avx512, Kernel::Avx2, Kernel::Popcnt, Kernel::Portable];

impl Kernel {
    /// Every kernel, available or not.
    pub const ALL: [Kernel; 4] = [Kernel::Portable, Kernel::Popcnt, Kernel::Avx2, Kernel::Avx512];

    /// A short name for tables and `EXPLAIN`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Popcnt => "popcnt",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512-vpopcntdq",
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn is_available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            let popcnt = std::arch::is_x86_feature_detected!("popcnt");
            match self {
                Kernel::Portable => true,
                Kernel::Popcnt => popcnt,
                Kernel::Avx2 => popcnt && std::arch::is_x86_feature_detected!("avx2"),
                Kernel::Avx512 => {
                    popcnt
                        && std::arch::is_x86_feature_detected!("avx2")
                        && std::arch::is_x86_feature_detected!("avx512f")
                        && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Kernel::Portable
        }
    }

    /// The kernels this CPU can run.
    pub fn available() -> Vec<Kernel> {
        Kernel::ALL.into_iter().filter(|k| k.is_available()).collect()
    }

    /// The fastest available kernel (detected once).
    pub fn best() -> Kernel {
        static BEST: OnceLock<Kernel> = OnceLock::new();
        *BEST.get_or_init(|| PREFERENCE.into_iter().find(|k| k.is_available()).unwrap_or(Kernel::Portable))
    }

    /// This kernel if the CPU has it, else the portable one: what the unsafe dispatch may rely on.
    fn checked(self) -> Kernel {
        if self.is_available() {
            self
        } else {
            Kernel::Portable
        }
    }

    /// Appends `(distance, base + i)` to `out` for every code `i` of `codes` (packed with a stride of
    /// `query.len()` words) whose distance to `query` is below `limit`, in id order. An unavailable kernel
    /// falls back to the portable one.
    pub fn scan(self, query: &[u64], codes: &[u64], base: u32, limit: u32, out: &mut Vec<(u32, u32)>) {
        if query.is_empty() {
            return;
        }
        match self.checked() {
            Kernel::Portable => scan_scalar(query, codes, base, limit, out),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `checked` returned Popcnt only because the CPU has popcnt.
            Kernel::Popcnt => unsafe { x86::scan_popcnt(query, codes, base, limit, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `checked` returned Avx2 only because the CPU has AVX2 and popcnt.
            Kernel::Avx2 => unsafe { x86::scan_avx2(query, codes, base, limit, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `checked` returned Avx512 only because the CPU has AVX-512F, VPOPCNTDQ, AVX2, popcnt.
            Kernel::Avx512 => unsafe { x86::scan_avx512(query, codes, base, limit, out) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => scan_scalar(query, codes, base, limit, out),
        }
    }

    /// Pushes the distance of each code `ids[i]` of `codes` (stride `query.len()`) to `query` onto `out`.
    /// Every id must be a slot of `codes` (else this panics: ids come from the index, not from users).
    pub fn gather(self, query: &[u64], codes: &[u64], ids: &[u32], out: &mut Vec<u32>) {
        if query.is_empty() {
            return;
        }
        match self.checked() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: every kernel but Portable is returned by `checked` only if the CPU has popcnt.
            Kernel::Popcnt | Kernel::Avx2 | Kernel::Avx512 => unsafe {
                x86::gather_popcnt(query, codes, ids, out)
            },
            _ => gather_scalar(query, codes, ids, out),
        }
    }

    /// Emits `(base + distance, position)` for each packed remainder at positions `lo..hi` of the
    /// table's entries whose distance to the query's remainder `q`, plus `base`, is below `limit` (see
    /// [`Cut::scan`](super::cut::Cut::scan)).
    pub(crate) fn scan_packed(
        self,
        PackedEntries { cut, entries }: PackedEntries<'_>,
        Range { start: lo, end: hi }: Range<usize>,
        q: &[u64],
        base: u32,
        limit: u32,
        out: &mut Vec<(u32, u32)>,
    ) {
        match self.checked() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: Popcnt is returned by `checked` only if the CPU has popcnt.
            Kernel::Popcnt => unsafe { x86::scan_packed_popcnt(cut, entries, lo..hi, q, base, limit, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: Avx2 and Avx512 are returned by `checked` only if the CPU has AVX2 and popcnt.
            Kernel::Avx2 | Kernel::Avx512 => unsafe {
                x86::scan_packed_avx2(cut, entries, lo..hi, q, base, limit, out)
            },
            _ => cut.scan(entries, lo..hi, q, base, limit, out),
        }
    }
}

/// The packed remainders of one MIH table and the cut that reads them.
#[derive(Clone, Copy)]
pub(crate) struct PackedEntries<'a> {
    /// How a table's entries are cut from the codes.
    pub cut: &'a Cut,
    /// The entries, `cut.stride()` bytes each, then padding.
    pub entries: &'a [u8],
}

/// The distance of two codes of `W` words.
#[inline(always)]
fn dist_fixed<const W: usize>(q: &[u64; W], c: &[u64]) -> u32 {
    let mut d = 0;
    for w in 0..W {
        d += (q[w] ^ c[w]).count_ones();
    }
    d
}

/// The distance of two codes of any length.
#[inline(always)]
fn dist_dyn(q: &[u64], c: &[u64]) -> u32 {
    q.iter().zip(c).map(|(a, b)| (a ^ b).count_ones()).sum()
}

#[inline(always)]
fn scan_fixed<const W: usize>(q: &[u64], codes: &[u64], base: u32, limit: u32, out: &mut Vec<(u32, u32)>) {
    let Ok(q) = <&[u64; W]>::try_from(q) else { return };
    for (i, c) in codes.chunks_exact(W).enumerate() {
        let d = dist_fixed(q, c);
        if d < limit {
            out.push((d, base + i as u32));
        }
    }
}

/// The scalar scan; inlined into each `#[target_feature]` wrapper, so it compiles once per instruction set.
#[inline(always)]
fn scan_scalar(q: &[u64], codes: &[u64], base: u32, limit: u32, out: &mut Vec<(u32, u32)>) {
    match q.len() {
        1 => scan_fixed::<1>(q, codes, base, limit, out),
        2 => scan_fixed::<2>(q, codes, base, limit, out),
        4 => scan_fixed::<4>(q, codes, base, limit, out),
        w => {
            for (i, c) in codes.chunks_exact(w).enumerate() {
                let d = dist_dyn(q, c);
                if d < limit {
                    out.push((d, base + i as u32));
                }
            }
        }
    }
}

#[inline(always)]
fn gather_fixed<const W: usize>(q: &[u64], codes: &[u64], ids: &[u32], out: &mut Vec<u32>) {
    let Ok(q) = <&[u64; W]>::try_from(q) else { return };
    out.extend(ids.iter().map(|&id| dist_fixed(q, &codes[id as usize * W..id as usize * W + W])));
}

/// The scalar gather, inlined like [`scan_scalar`].
#[inline(always)]
fn gather_scalar(q: &[u64], codes: &[u64], ids: &[u32], out: &mut Vec<u32>) {
    match q.len() {
        1 => gather_fixed::<1>(q, codes, ids, out),
        2 => gather_fixed::<2>(q, codes, ids, out),
        4 => gather_fixed::<4>(q, codes, ids, out),
        w => out.extend(ids.iter().map(|&id| dist_dyn(q, &codes[id as usize * w..id as usize * w + w]))),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The `#[target_feature]` kernels. Every function here is `unsafe` only because the CPU must have the
    //! features it is compiled for; [`Kernel::scan`](super::Kernel::scan) checks that before calling.
    //! Loads are unaligned and stay inside the slices (the loops run while a whole block remains).

    use std::arch::x86_64::*;

    use super::{gather_scalar, scan_scalar, Cut, Range, PADDING};

    /// # Safety
    /// The CPU must have popcnt.
    #[target_feature(enable = "popcnt")]
    pub(super) unsafe fn scan_popcnt(
        q: &[u64],
        codes: &[u64],
        base: u32,
        limit: u32,
        out: &mut Vec<(u32, u32)>,
    ) {
        scan_scalar(q, codes, base, limit, out)
    }

    /// # Safety
    /// The CPU must have popcnt.
    #[target_feature(enable = "popcnt")]
    pub(super) unsafe fn gather_popcnt(q: &[u64], codes: &[u64], ids: &[u32], out: &mut Vec<u32>) {
        gather_scalar(q, codes, ids, out)
    }

    /// # Safety
    /// The CPU must have popcnt.
    #[target_feature(enable = "popcnt")]
    pub(super) unsafe fn scan_packed_popcnt(
        cut: &Cut,
        entries: &[u8],
        Range { start: lo, end: hi }: Range<usize>,
        q: &[u64],
        base: u32,
        limit: u32,
        out: &mut Vec<(u32, u32)>,
    ) {
        cut.scan(entries, lo..hi, q, base, limit, out)
    }

    /// The popcounts of entries `p..p + 4` (at most 8 bytes each, `st` bytes apart) against `qv`, as `u64`
    /// lanes: each 128-bit lane loads two entries and the byte shuffle `order` moves each into its own
    /// 64-bit lane, zero-extended.
    ///
    /// # Safety
    /// `(p + 2)·st + 16 <= entries.len()`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn packed_lanes(entries: &[u8], p: usize, st: usize, order: __m256i, qv: __m256i) -> __m256i {
        debug_assert!((p + 2) * st + 16 <= entries.len());
        // SAFETY: both 16-byte loads lie inside `entries` (the caller's bound); they are unaligned.
        let v = unsafe {
            let at = entries.as_ptr();
            _mm256_loadu2_m128i(at.add((p + 2) * st) as *const __m128i, at.add(p * st) as *const __m128i)
        };
        popcnt_lanes(_mm256_shuffle_epi8(v, order), qv)
    }

    /// [`Cut::scan`] for entries of at most 8 bytes, eight at a time; the last group of a run reads past
    /// its end (into the next bucket or the padding) and ignores those lanes.
    ///
    /// # Safety
    /// The CPU must have AVX2 and popcnt.
    #[target_feature(enable = "avx2,popcnt")]
    pub(super) unsafe fn scan_packed_avx2(
        cut: &Cut,
        entries: &[u8],
        Range { start: lo, end: hi }: Range<usize>,
        q: &[u64],
        base: u32,
        limit: u32,
        out: &mut Vec<(u32, u32)>,
    ) {
        let st = cut.stride();
        // A group starting before `hi` loads up to (hi + 5)·st + 16 <= hi·st + PADDING bytes.
        if st > 8 || limit <= base || entries.len() < hi * st + PADDING {
            return cut.scan(entries, lo..hi, q, base, limit, out);
        }
        // SAFETY: the shuffle is 32 bytes; the load is unaligned.
        let order = unsafe { _mm256_loadu_si256(cut.spread().as_ptr() as *const __m256i) };
        let q0 = q.first().copied().unwrap_or(0) & if st == 8 { u64::MAX } else { (1u64 << (8 * st)) - 1 };
        let qv = _mm256_set1_epi64x(q0 as i64);
        let lim = _mm256_set1_epi32((limit - base).min(1 << 20) as i32);
        let mut p = lo;
        while p < hi {
            // SAFETY: p < hi, so both groups' loads end by (hi + 5)·st + 16, inside `entries` (checked above).
            let (a, b) = unsafe {
                (packed_lanes(entries, p, st, order, qv), packed_lanes(entries, p + 4, st, order, qv))
            };
            // u32 lane 2j holds entry p + j, lane 2j + 1 entry p + 4 + j.
            let x = _mm256_or_si256(a, _mm256_slli_epi64::<32>(b));
            let mut lanes = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(lim, x))) as u32;
            if lanes != 0 {
                // The entries below the limit, in order: entry j is lane 2j for j < 4, lane 2(j - 4) + 1 after.
                let mut below = 0u32;
                while lanes != 0 {
                    let l = lanes.trailing_zeros();
                    below |= 1 << ((l % 2) * 4 + l / 2);
                    lanes &= lanes - 1;
                }
                below &= (1u32 << (hi - p).min(8)) - 1;
                let mut tmp = [0u32; 8];
                // SAFETY: `tmp` is 32 bytes; the store is unaligned.
                unsafe { _mm256_storeu_si256(tmp.as_mut_ptr() as *mut __m256i, x) };
                while below != 0 {
                    let j = below.trailing_zeros() as usize;
                    out.push((base + tmp[(j % 4) * 2 + j / 4], (p + j) as u32));
                    below &= below - 1;
                }
            }
            p += 8;
        }
    }

    /// Byte-wise popcounts of `v` by the nibble lookup.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn popcnt_bytes(v: __m256i) -> __m256i {
        let lut = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
        );
        let low = _mm256_set1_epi8(0x0f);
        let lo = _mm256_and_si256(v, low);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
        _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi))
    }

    /// Popcounts of the four 64-bit lanes of `a ^ b`, as `u64` lanes.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn popcnt_lanes(a: __m256i, b: __m256i) -> __m256i {
        _mm256_sad_epu8(popcnt_bytes(_mm256_xor_si256(a, b)), _mm256_setzero_si256())
    }

    /// Loads four words at `codes[i..i + 4]`.
    ///
    /// # Safety
    /// `i + 4 <= codes.len()`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn load(codes: &[u64], i: usize) -> __m256i {
        debug_assert!(i + 4 <= codes.len());
        // SAFETY: the caller keeps `i + 4` within the slice; the load is unaligned.
        unsafe { _mm256_loadu_si256(codes.as_ptr().add(i) as *const __m256i) }
    }

    /// Emits the distances in `d` (eight codes from id `base + first`) that are below the limit.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn emit8(d: __m256i, lim: __m256i, base: u32, first: usize, out: &mut Vec<(u32, u32)>) {
        let mut mask = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(lim, d))) as u32;
        if mask != 0 {
            let mut tmp = [0u32; 8];
            // SAFETY: `tmp` is 32 bytes; the store is unaligned.
            unsafe { _mm256_storeu_si256(tmp.as_mut_ptr() as *mut __m256i, d) };
            while mask != 0 {
                let j = mask.trailing_zeros() as usize;
                out.push((tmp[j], base + (first + j) as u32));
                mask &= mask - 1;
            }
        }
    }

    /// Like [`emit8`] for eight 1-word codes whose distances are interleaved: lane `2j` holds code `j`,
    /// lane `2j + 1` code `j + 4`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn emit_interleaved(d: __m256i, lim: __m256i, base: u32, first: usize, out: &mut Vec<(u32, u32)>) {
        let mask = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(lim, d))) as u32;
        if mask != 0 {
            let mut tmp = [0u32; 8];
            // SAFETY: `tmp` is 32 bytes; the store is unaligned.
            unsafe { _mm256_storeu_si256(tmp.as_mut_ptr() as *mut __m256i, d) };
            for j in 0..8 {
                let p = (j % 4) * 2 + j / 4;
                if mask >> p & 1 == 1 {
                    out.push((tmp[p], base + (first + j) as u32));
                }
            }
        }
    }

    /// # Safety
    /// The CPU must have AVX2 and popcnt.
    #[target_feature(enable = "avx2,popcnt")]
    pub(super) unsafe fn scan_avx2(
        q: &[u64],
        codes: &[u64],
        base: u32,
        limit: u32,
        out: &mut Vec<(u32, u32)>,
    ) {
        let w = q.len();
        let n = codes.len() / w;
        // Distances are at most 512, so the limit fits a signed 32-bit compare.
        let lim = _mm256_set1_epi32(limit.min(1 << 20) as i32);
        let mut i = 0;
        match w {
            1 => {
                let qv = _mm256_set1_epi64x(q[0] as i64);
                while i + 16 <= n {
                    // SAFETY: i + 16 <= n words.
                    let (a, b, c, d) = unsafe {
                        (load(codes, i), load(codes, i + 4), load(codes, i + 8), load(codes, i + 12))
                    };
                    // u32 lane 2j holds code j of the first vector, lane 2j + 1 code j of the second.
                    let x =
                        _mm256_or_si256(popcnt_lanes(a, qv), _mm256_slli_epi64::<32>(popcnt_lanes(b, qv)));
                    let y =
                        _mm256_or_si256(popcnt_lanes(c, qv), _mm256_slli_epi64::<32>(popcnt_lanes(d, qv)));
                    let below = _mm256_or_si256(_mm256_cmpgt_epi32(lim, x), _mm256_cmpgt_epi32(lim, y));
                    if _mm256_testz_si256(below, below) == 0 {
                        emit_interleaved(x, lim, base, i, out);
                        emit_interleaved(y, lim, base, i + 8, out);
                    }
                    i += 16;
                }
            }
            2 => {
                let qv = _mm256_setr_epi64x(q[0] as i64, q[1] as i64, q[0] as i64, q[1] as i64);
                let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
                while i + 8 <= n {
                    // SAFETY: codes i..i + 8 span words 2i..2i + 16 <= 2n.
                    let (a, b, c, d) = unsafe {
                        (
                            load(codes, 2 * i),
                            load(codes, 2 * i + 4),
                            load(codes, 2 * i + 8),
                            load(codes, 2 * i + 12),
                        )
                    };
                    let (a, b, c, d) =
                        (popcnt_lanes(a, qv), popcnt_lanes(b, qv), popcnt_lanes(c, qv), popcnt_lanes(d, qv));
                    let h = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
                    emit8(_mm256_permutevar8x32_epi32(h, order), lim, base, i, out);
                    i += 8;
                }
            }
            4 => {
                // SAFETY: q has four words.
                let qv = unsafe { load(q, 0) };
                while i + 8 <= n {
                    // SAFETY: codes i..i + 8 span words 4i..4i + 32 <= 4n.
                    let at = 4 * i;
                    let (a, b, c, d) = unsafe {
                        (load(codes, at), load(codes, at + 4), load(codes, at + 8), load(codes, at + 12))
                    };
                    let (a, b, c, d) =
                        (popcnt_lanes(a, qv), popcnt_lanes(b, qv), popcnt_lanes(c, qv), popcnt_lanes(d, qv));
                    let lo = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
                    // SAFETY: as above.
                    let (a, b, c, d) = unsafe {
                        (
                            load(codes, at + 16),
                            load(codes, at + 20),
                            load(codes, at + 24),
                            load(codes, at + 28),
                        )
                    };
                    let (a, b, c, d) =
                        (popcnt_lanes(a, qv), popcnt_lanes(b, qv), popcnt_lanes(c, qv), popcnt_lanes(d, qv));
                    let hi = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
                    let d = _mm256_add_epi32(
                        _mm256_permute2x128_si256::<0x20>(lo, hi),
                        _mm256_permute2x128_si256::<0x31>(lo, hi),
                    );
                    emit8(d, lim, base, i, out);
                    i += 8;
                }
            }
            _ => {}
        }
        scan_scalar(q, &codes[i * w..], base + i as u32, limit, out);
    }

    /// # Safety
    /// The CPU must have AVX-512F, AVX-512 VPOPCNTDQ, AVX2 and popcnt.
    #[target_feature(enable = "avx512f,avx512vpopcntdq,avx2,popcnt")]
    pub(super) unsafe fn scan_avx512(
        q: &[u64],
        codes: &[u64],
        base: u32,
        limit: u32,
        out: &mut Vec<(u32, u32)>,
    ) {
        if q.len() != 1 {
            // SAFETY: the caller guarantees AVX2 and popcnt.
            return unsafe { scan_avx2(q, codes, base, limit, out) };
        }
        let n = codes.len();
        let qv = _mm512_set1_epi64(q[0] as i64);
        let lim = _mm512_set1_epi64(i64::from(limit));
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n words; the load is unaligned.
            let v = unsafe { _mm512_loadu_si512(codes.as_ptr().add(i) as *const __m512i) };
            let d = _mm512_popcnt_epi64(_mm512_xor_si512(v, qv));
            let mut mask = u32::from(_mm512_cmplt_epu64_mask(d, lim));
            if mask != 0 {
                let mut tmp = [0u64; 8];
                // SAFETY: `tmp` is 64 bytes; the store is unaligned.
                unsafe { _mm512_storeu_si512(tmp.as_mut_ptr() as *mut __m512i, d) };
                while mask != 0 {
                    let j = mask.trailing_zeros() as usize;
                    out.push((tmp[j] as u32, base + (i + j) as u32));
                    mask &= mask - 1;
                }
            }
            i += 8;
        }
        scan_scalar(q, &codes[i..], base + i as u32, limit, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed ^ (*seed >> 29)
    }

    #[test]
    fn every_available_kernel_matches_the_portable_one() {
        let mut seed = 7;
        for words in 1..=8 {
            let n = 203;
            let codes: Vec<u64> = (0..n * words).map(|_| lcg(&mut seed)).collect();
            let q: Vec<u64> = (0..words).map(|_| lcg(&mut seed)).collect();
            let ids: Vec<u32> = (0..50).map(|_| (lcg(&mut seed) % n as u64) as u32).collect();
            for limit in [0, words as u32 * 30, u32::MAX] {
                let mut want = Vec::new();
                Kernel::Portable.scan(&q, &codes, 5, limit, &mut want);
                let mut want_g = Vec::new();
                Kernel::Portable.gather(&q, &codes, &ids, &mut want_g);
                for k in Kernel::ALL {
                    if !k.is_available() {
                        eprintln!("skipping kernel {}: this CPU lacks its features", k.name());
                        continue;
                    }
                    let mut got = Vec::new();
                    k.scan(&q, &codes, 5, limit, &mut got);
                    assert_eq!(got, want, "{} words={words} limit={limit}", k.name());
                    let mut got_g = Vec::new();
                    k.gather(&q, &codes, &ids, &mut got_g);
                    assert_eq!(got_g, want_g, "{} gather words={words}", k.name());
                }
            }
        }
    }

    #[test]
    fn every_available_packed_kernel_matches_the_portable_one() {
        let mut seed = 11;
        for (bits, len) in [(64, 64), (64, 32), (64, 16), (64, 13), (64, 9), (128, 16), (256, 30), (24, 16)] {
            let cut = Cut::new(bits, 3.min(bits - len), len);
            let words = bits.div_ceil(64) as usize;
            let tail = if bits % 64 == 0 { u64::MAX } else { (1 << (bits % 64)) - 1 };
            let random = |seed: &mut u64| -> Vec<u64> {
                let mut c: Vec<u64> = (0..words).map(|_| lcg(seed)).collect();
                c[words - 1] &= tail;
                c
            };
            let mut entries = Vec::new();
            let mut rem = vec![0; cut.words()];
            for _ in 0..77 {
                cut.remainder(&random(&mut seed), &mut rem);
                cut.push_entry(&rem, &mut entries);
            }
            entries.extend([0; PADDING]);
            let mut q = vec![0; cut.words()];
            cut.remainder(&random(&mut seed), &mut q);
            for (lo, hi) in [(0, 77), (3, 40), (60, 77), (5, 5)] {
                for (base, limit) in [(0, u32::MAX), (2, 2 + (bits - len) / 2), (1, 1), (4, 2)] {
                    let mut want = Vec::new();
                    Kernel::Portable.scan_packed(
                        PackedEntries { cut: &cut, entries: &entries },
                        lo..hi,
                        &q,
                        base,
                        limit,
                        &mut want,
                    );
                    for k in Kernel::available() {
                        let mut got = vec![(9, 9)];
                        k.scan_packed(
                            PackedEntries { cut: &cut, entries: &entries },
                            lo..hi,
                            &q,
                            base,
                            limit,
                            &mut got,
                        );
                        assert_eq!(
                            got[1..],
                            want,
                            "{} bits {bits} len {len} {lo}..{hi} limit {limit}",
                            k.name()
                        );
                    }
                    if limit == u32::MAX {
                        assert_eq!(want.len(), hi - lo);
                    }
                }
            }
        }
    }

    #[test]
    fn best_is_available() {
        assert!(Kernel::best().is_available());
        assert!(Kernel::available().contains(&Kernel::Portable));
    }
}
