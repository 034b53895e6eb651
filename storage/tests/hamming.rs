//! The Hamming engine against brute force: every path (MIH in each bucket layout, the scan, the scan of
//! the allowed ids, the planner's choice) returns exactly the brute-force top k, id for id.

use proptest::prelude::*;
use recodb_storage::hamming::{
    brute_force, Allowed, CodeStore, Filter, HammingIndex, IndexOptions, Kernel, Layout, Path,
};
use recodb_storage::RoaringBitmap;

const BITS: [u32; 7] = [8, 16, 24, 32, 64, 128, 256];

fn next(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let x = *seed;
    (x ^ (x >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (x >> 17)
}

/// `n` codes of `bits` bits: uniform, or heavily tied (a few base codes with 0-2 flipped bits, so many
/// duplicates and equal distances); with `holes`, every fifth id has no code.
fn make_codes(bits: u32, n: u32, seed: u64, tied: bool, holes: bool) -> CodeStore {
    let mut seed = seed;
    let words = bits.div_ceil(64) as usize;
    let mask = if bits.is_multiple_of(64) { u64::MAX } else { (1u64 << (bits % 64)) - 1 };
    let random_code = |seed: &mut u64| {
        let mut c: Vec<u64> = (0..words).map(|_| next(seed)).collect();
        c[words - 1] &= mask;
        c
    };
    let bases: Vec<Vec<u64>> = (0..3).map(|_| random_code(&mut seed)).collect();
    let mut store = CodeStore::new(bits).expect("valid length");
    for id in 0..n {
        let code = if tied {
            let mut c = bases[(next(&mut seed) % 3) as usize].clone();
            for _ in 0..next(&mut seed) % 3 {
                let b = (next(&mut seed) % u64::from(bits)) as usize;
                c[b / 64] ^= 1 << (b % 64);
            }
            c
        } else {
            random_code(&mut seed)
        };
        store.set(id, &code).expect("valid code");
    }
    if holes {
        for id in (0..n).step_by(5) {
            store.remove(id);
        }
    }
    store
}

fn some_ids(n: u32, mode: u8, seed: u64) -> Option<RoaringBitmap> {
    let mut seed = seed;
    match mode {
        0 => None,
        1 => Some(RoaringBitmap::new()),
        2 => Some((0..n + 2).collect()),
        _ => Some((0..n).filter(|_| next(&mut seed).is_multiple_of(3)).collect()),
    }
}

#[allow(clippy::too_many_arguments)]
fn check(
    bits: u32,
    n: u32,
    seed: u64,
    tied: bool,
    holes: bool,
    k_pick: u8,
    allow: u8,
    exclude: u8,
    m: usize,
) {
    let codes = make_codes(bits, n, seed, tied, holes);
    let k = [0, 1, 3, 10, n as usize, n as usize + 7][k_pick as usize % 6];
    let allowed = some_ids(n, allow, seed ^ 1).map(Allowed::new);
    let excluded = some_ids(n, exclude, seed ^ 2);
    let filter = Filter { allowed: allowed.as_ref(), excluded: excluded.as_ref() };
    let queries = make_codes(bits, 4, seed ^ 3, tied, false);
    for layout in [Layout::Arena, Layout::Inline, Layout::Packed] {
        let opts = IndexOptions { m: Some(m), path: Some(Path::Mih), layout, kernel: None };
        let index = HammingIndex::build(codes.clone(), &opts);
        let mut s = index.searcher();
        for id in 0..4 {
            let q = queries.get(id).expect("present");
            let want = brute_force(&codes, q, k, &filter);
            for path in [Path::Mih, Path::Scan, Path::ScanAllowed] {
                let got = s.search_with(path, q, k, &filter).expect("valid query");
                assert_eq!(got, want, "{path:?} {layout:?} bits={bits} n={n} k={k} m={m}");
            }
            assert_eq!(s.search(q, k, &filter).expect("valid query"), want, "planner");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_path_equals_brute_force(
        bits in prop::sample::select(BITS.to_vec()),
        n in 0u32..260,
        seed in any::<u64>(),
        tied in any::<bool>(),
        holes in any::<bool>(),
        k_pick in 0u8..6,
        allow in 0u8..4,
        exclude in 0u8..4,
        m in 1usize..10,
    ) {
        check(bits, n, seed, tied, holes, k_pick, allow, exclude, m);
    }
}

#[test]
fn empty_and_full_cases() {
    for bits in BITS {
        for n in [0, 1, 70] {
            for allow in 0..4 {
                check(bits, n, 42, true, false, 4, allow, 2, 3);
                check(bits, n, 43, false, true, 5, allow, 1, 2);
            }
        }
    }
}

#[test]
fn default_build_chooses_a_path_and_stays_exact() {
    let codes = make_codes(64, 5000, 9, true, true);
    let index = HammingIndex::build(codes.clone(), &IndexOptions::default());
    assert!(!index.build_reason().is_empty());
    let q = codes.get(1).expect("present").to_vec();
    let (hits, explain) = index.search(&q, 10, &Filter::NONE).expect("valid");
    assert_eq!(hits, brute_force(&codes, &q, 10, &Filter::NONE));
    assert!(!explain.to_string().is_empty());
}

#[test]
fn unsafe_kernels_match_the_portable_one() {
    let mut seed = 5;
    for k in Kernel::ALL {
        if !k.is_available() {
            println!("skipping kernel {}: this CPU lacks its features", k.name());
            continue;
        }
        for words in [1usize, 2, 3, 4, 5, 8] {
            let codes: Vec<u64> = (0..1037 * words).map(|_| next(&mut seed)).collect();
            let q: Vec<u64> = (0..words).map(|_| next(&mut seed)).collect();
            for limit in [0, 20 * words as u32, u32::MAX] {
                let (mut want, mut got) = (Vec::new(), Vec::new());
                Kernel::Portable.scan(&q, &codes, 3, limit, &mut want);
                k.scan(&q, &codes, 3, limit, &mut got);
                assert_eq!(got, want, "{} words={words} limit={limit}", k.name());
            }
        }
    }
}
