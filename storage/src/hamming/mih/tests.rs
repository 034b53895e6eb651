//! The driver against brute force in every layout, and the layouts against each other.

use roaring::RoaringBitmap;

use super::*;
use crate::hamming::codes::last_word_mask;

#[test]
fn binomials() {
    assert_eq!([binomial(16, 0), binomial(16, 2), binomial(32, 16)], [1, 120, 601_080_390]);
}

#[test]
fn estimates_bound_the_bytes_built() {
    let data: Vec<u64> = (0..5000u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (i % 3)).collect();
    for bits in [64u32, 24] {
        let codes = CodeStore::from_words(bits, data.iter().map(|v| v & last_word_mask(bits)).collect())
            .expect("valid");
        for layout in [Layout::Arena, Layout::Inline, Layout::Packed] {
            for m in [1, 2, 4, 7] {
                let built = Mih::build(&codes, m, layout).bytes();
                let estimate = Mih::estimate_bytes(bits, 5000, m, layout);
                assert!(
                    built <= estimate && estimate < built * 2,
                    "{bits} bits {layout:?} m {m}: {built} {estimate}"
                );
            }
        }
    }
}

#[test]
fn layouts_find_the_same_buckets() {
    let data: Vec<u64> = (0..3000u64).map(|i| ((i % 7) * 0x0101_0101) ^ (i << 40)).collect();
    let codes = CodeStore::from_words(64, data).expect("valid");
    let members: Vec<u32> = codes.ids().collect();
    for len in [8u32, 20] {
        let cut = Cut::new(64, 0, len);
        let arena = ArenaTable::build(&codes, &members, 0, cut);
        let inline = InlineTable::build(&codes, &members, 0, cut);
        let packed = PackedTable::build(&codes, &members, 0, cut);
        for key in 0..(1u32 << len).min(300) {
            let want = arena.bucket_ids(key);
            assert_eq!(inline.bucket_ids(key), want, "key {key} len {len}");
            assert_eq!(packed.bucket_ids(key), want, "key {key} len {len}");
        }
    }
}

/// Every radius and table, without the fall-back to a scan, against brute force: codes with many ties
/// and duplicates, filters, and `k` past the number of codes.
#[test]
fn probing_without_fallback_matches_brute_force() {
    use crate::hamming::{brute_force, Allowed};
    let mut seed = 3u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        seed ^ (seed >> 29)
    };
    for bits in [16u32, 64, 128] {
        let words = bits.div_ceil(64) as usize;
        let mask = last_word_mask(bits);
        let bases: Vec<u64> = (0..4).map(|_| next()).collect();
        let mut data = Vec::new();
        for i in 0..700 {
            for w in 0..words {
                let flips = next() & next() & next();
                let v = bases[(i + w) % 4] ^ if i % 3 == 0 { next() } else { flips };
                data.push(if w == words - 1 { v & mask } else { v });
            }
        }
        let mut codes = CodeStore::from_words(bits, data).expect("valid");
        for id in (0..700).step_by(9) {
            codes.remove(id);
        }
        let allowed = Allowed::new((0..700).filter(|i| i % 4 != 1).collect());
        let excluded: RoaringBitmap = (0..700).step_by(5).collect();
        let filters = [
            Filter::NONE,
            Filter { allowed: Some(&allowed), excluded: None },
            Filter { allowed: Some(&allowed), excluded: Some(&excluded) },
        ];
        for layout in [Layout::Arena, Layout::Inline, Layout::Packed] {
            // Substrings of at most 12 bits, so that enumerating whole tables stays cheap.
            let m0 = bits.div_ceil(12) as usize;
            for m in [m0, m0 + 1, m0 + 3] {
                let mut mih = Mih::build(&codes, m, layout);
                mih.scan_codes = u64::MAX;
                let (mut top, mut sc) = (TopK::default(), Scratch::default());
                for _ in 0..6 {
                    let query: Vec<u64> = (0..words)
                        .map(|w| (bases[w % 4] ^ (next() & next())) & if w == words - 1 { mask } else { !0 })
                        .collect();
                    for filter in &filters {
                        for k in [1, 10, 800] {
                            top.reset(k);
                            mih.search(&codes, Kernel::best(), &query, filter, &mut top, &mut sc);
                            let want = brute_force(&codes, &query, k, filter);
                            assert_eq!(top.take_sorted(), want, "bits {bits} {layout:?} m {m} k {k}");
                        }
                    }
                }
            }
        }
    }
}

/// The rounds give way to a scan once the rounds so far and the next would cost more than one: at 256
/// bits, for hundreds of hits among random codes, within radius 2 (their look-ups alone would cost more:
/// before the first round); for one hit near a stored code, never. Either way the answer is brute force's.
#[test]
fn the_search_scans_once_probing_would_cost_more_and_answers_the_same() {
    use crate::hamming::brute_force;

    let mut seed = 11u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        seed ^ (seed >> 29)
    };
    let data: Vec<u64> = (0..4 * 20_000).map(|_| next()).collect();
    let codes = CodeStore::from_words(256, data.clone()).expect("valid");
    let mih = Mih::build(&codes, 16, Layout::Packed);
    let (mut top, mut sc) = (TopK::default(), Scratch::default());
    let far: Vec<u64> = (0..4).map(|_| next()).collect();
    let mut near = data[4 * 77..4 * 78].to_vec();
    near[0] ^= 1;
    for (query, k, scans) in [(&far, 400, true), (&near, 1, false)] {
        top.reset(k);
        let stats = mih.search(&codes, Kernel::best(), query, &Filter::NONE, &mut top, &mut sc);
        assert_eq!(stats.radius == 256, scans, "k {k}: radius {}", stats.radius);
        if scans {
            // Radius 2 of all 16 tables (2,192 buckets) would already cost more than the scan of 20,000.
            assert!(stats.buckets < 16 * (1 + 16 + 120), "k {k}: {} buckets probed first", stats.buckets);
        }
        assert_eq!(top.take_sorted(), brute_force(&codes, query, k, &Filter::NONE), "k {k}");
    }
}

/// The look-ups a packed search is expected to make count before the first round: for 10 hits among
/// 20,000 64-bit codes they alone would cost more than a scan (30 look-ups against 20,000 words), so the
/// packed search scans without probing a bucket, while the inline layout, whose entries carry their ids,
/// probes and finds the hits within radius 1. Either way the answer is brute force's.
#[test]
fn look_ups_count_against_probing_and_answers_stay_the_same() {
    use crate::hamming::brute_force;

    let mut seed = 5u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        seed ^ (seed >> 29)
    };
    let query = next();
    // 40 codes one bit from the query, the rest random.
    let data: Vec<u64> =
        (0..20_000u64).map(|i| if i % 500 == 7 { query ^ (1 << (i % 64)) } else { next() }).collect();
    let codes = CodeStore::from_words(64, data).expect("valid");
    let (mut top, mut sc) = (TopK::default(), Scratch::default());
    for (layout, probes) in [(Layout::Packed, false), (Layout::Inline, true)] {
        let mih = Mih::build(&codes, 4, layout);
        top.reset(10);
        let stats = mih.search(&codes, Kernel::best(), &[query], &Filter::NONE, &mut top, &mut sc);
        assert_eq!(stats.buckets > 0, probes, "{layout:?}: {} buckets", stats.buckets);
        assert_eq!(stats.radius == 64, !probes, "{layout:?}: radius {}", stats.radius);
        assert_eq!(top.take_sorted(), brute_force(&codes, &[query], 10, &Filter::NONE), "{layout:?}");
    }
}
