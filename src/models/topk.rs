//! Bounded top-k selection with recodb's tie rule: higher score first, and equal scores in ascending
//! item id order (so results are deterministic and equal to a full sort's).
//!
//! One pass over the scores keeps a buffer of the best so far. Once the buffer has been cut to the `k`
//! best, an item costs one compare against the k-th of them; only an item that beats it is asked
//! whether it may be ranked at all (`keep`, e.g. "not already seen"). Items come in ascending id order,
//! so an item whose score equals the k-th kept one never beats it (the kept one has the lower id),
//! which is the tie rule.

use std::cmp::Ordering;

/// The order of `(item, score)` pairs: score descending, then id ascending. NaN scores sort last.
pub fn rank_order(a: &(u32, f32), b: &(u32, f32)) -> Ordering {
    b.1.partial_cmp(&a.1).unwrap_or_else(|| a.1.is_nan().cmp(&b.1.is_nan())).then(a.0.cmp(&b.0))
}

/// The `k` best items among those `keep` accepts, best first, whatever the order of the scores: a
/// floor from an evenly spaced sample rules out most items at once, a vectorised test per chunk of
/// scores passes over those below it, and the rest run against the k-th best so far (`keep` is asked
/// only of an item that would enter), plus O(k log k) at the end.
pub fn top_k(scores: &[f32], k: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
    if k == 0 {
        return Vec::new();
    }
    let sampled = sampled_floor(scores, k, &keep);
    let capacity = (4 * k).max(64).min(scores.len());
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(capacity);
    // The k-th best of the items seen so far, once `best` has been cut to `k`: a later item (higher
    // id) must score strictly above it to enter. Until then, an item must reach the sampled floor.
    let mut running: Option<f32> = None;
    for (chunk_at, chunk) in scores.chunks(SKIP_CHUNK).enumerate() {
        let none_pass = match (running, sampled) {
            (Some(f), _) if !f.is_nan() => !chunk.iter().fold(false, |any, &s| any | (s > f)),
            (None, Some(f)) => !chunk.iter().fold(false, |any, &s| any | (s >= f)),
            _ => false,
        };
        if none_pass {
            continue;
        }
        for (at, &s) in chunk.iter().enumerate() {
            let i = (chunk_at * SKIP_CHUNK + at) as u32;
            let reaches = match running {
                None => sampled.is_none_or(|f| s >= f),
                floor => enters(s, floor),
            };
            if !reaches || !keep(i) {
                continue;
            }
            if best.len() == capacity {
                best.select_nth_unstable_by_key(k - 1, rank_key);
                best.truncate(k);
                running = Some(best[k - 1].1);
                if !enters(s, running) {
                    continue;
                }
            }
            best.push((i, s));
        }
    }
    best_of(best, k)
}

/// Scores per vectorised test of [`top_k`]'s skip.
const SKIP_CHUNK: usize = 16;

/// Items sampled per item wanted by [`sampled_floor`] (at least [`MIN_SAMPLE`]).
const SAMPLE_PER_K: usize = 16;

/// The fewest items [`sampled_floor`] samples.
const MIN_SAMPLE: usize = 256;

/// A score at most the k-th best of the items `keep` accepts, so that no item below it can be among
/// the `k` best: the k-th best number of an evenly spaced sample of the kept items. `None` when
/// `scores` is too short to gain from a sample, or the sample holds fewer than `k` kept numbers.
fn sampled_floor(scores: &[f32], k: usize, keep: &impl Fn(u32) -> bool) -> Option<f32> {
    let size = (SAMPLE_PER_K * k).max(MIN_SAMPLE);
    if scores.len() < 4 * size {
        return None;
    }
    let sample: Vec<(u32, f32)> = (0..scores.len())
        .step_by(scores.len() / size)
        .map(|i| (i as u32, scores[i]))
        .filter(|&(i, s)| !s.is_nan() && keep(i))
        .collect();
    if sample.len() < k {
        return None;
    }
    best_of(sample, k).last().map(|&(_, s)| s)
}

/// Whether score `s` beats the running k-th best `floor` of [`top_k`] (any score beats no floor; a
/// number beats a NaN).
fn enters(s: f32, floor: Option<f32>) -> bool {
    match floor {
        None => true,
        Some(f) if f.is_nan() => !s.is_nan(),
        Some(f) => s > f,
    }
}

/// A key whose ascending order is [`rank_order`]: one integer compare instead of a float compare, a
/// NaN test and an id compare. Equal scores (`0.0` and `-0.0` among them) tie on the key's score half,
/// NaN lowest of all, and the id half breaks ties towards the lower id.
fn rank_key(pair: &(u32, f32)) -> u64 {
    let score = pair.1 + 0.0; // -0.0 becomes 0.0
    let bits = score.to_bits();
    let ordered = match () {
        _ if score.is_nan() => u32::MAX,
        _ if bits >> 31 == 1 => bits,
        _ => !bits & 0x7fff_ffff,
    };
    (u64::from(ordered) << 32) | u64::from(pair.0)
}

/// The `k` best of `pairs`, best first (by [`rank_order`]), in O(n) plus O(k log k).
pub fn best_of(mut pairs: Vec<(u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    if k == 0 {
        return Vec::new();
    }
    if pairs.len() > k {
        pairs.select_nth_unstable_by_key(k - 1, rank_key);
        pairs.truncate(k);
    }
    pairs.sort_unstable_by_key(rank_key);
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_lower_id_and_filters_apply() {
        let scores = [1.0, 3.0, 3.0, 2.0, 3.0];
        assert_eq!(top_k(&scores, 3, |_| true), vec![(1, 3.0), (2, 3.0), (4, 3.0)]);
        assert_eq!(top_k(&scores, 2, |i| i != 1), vec![(2, 3.0), (4, 3.0)]);
        assert_eq!(top_k(&scores, 10, |i| i % 2 == 0).len(), 3);
        assert!(top_k(&scores, 0, |_| true).is_empty());
        let with_nan = top_k(&[f32::NAN, 0.5], 2, |_| true);
        assert_eq!(with_nan[0], (1, 0.5));
        assert!(with_nan[1].0 == 0 && with_nan[1].1.is_nan(), "NaN sorts last");
    }

    /// The selection equals filtering then sorting everything, on scores with many ties and NaNs.
    #[test]
    fn equals_filtering_and_a_full_sort_with_ties_and_nans() {
        for seed in 0..40u32 {
            let scores: Vec<f32> = (0..300u32)
                .map(|i| match (i.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503)) % 17 {
                    0 => f32::NAN,
                    r => (r % 6) as f32 - 2.0,
                })
                .collect();
            let keep = |i: u32| !(i + seed).is_multiple_of(5);
            let mut full: Vec<(u32, f32)> =
                scores.iter().enumerate().map(|(i, &s)| (i as u32, s)).filter(|p| keep(p.0)).collect();
            full.sort_by(rank_order);
            for k in [1, 2, 7, 50, 239, 240, 241, 400] {
                let got = top_k(&scores, k, keep);
                let want = &full[..k.min(full.len())];
                let same = got.len() == want.len()
                    && got.iter().zip(want).all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits());
                assert!(same, "seed {seed}, k = {k}: {got:?} != {want:?}");
            }
        }
    }

    /// Long enough for the sampled floor: rising, falling and shuffled scores with ties, NaNs, infinities
    /// and a filter that drops whole runs, against filtering and a full sort.
    #[test]
    fn long_inputs_in_any_order_equal_a_full_sort() {
        let n = 6000u32;
        type Shape = Box<dyn Fn(u32) -> f32>;
        let shapes: [(&str, Shape); 4] = [
            ("rising", Box::new(|i| (i / 4) as f32)),
            ("falling", Box::new(move |i| ((n - i) / 4) as f32)),
            ("shuffled", Box::new(|i| (i.wrapping_mul(2_654_435_761) % 97) as f32 - 40.0)),
            (
                "odd",
                Box::new(|i| match i % 11 {
                    0 => f32::NAN,
                    1 => f32::NEG_INFINITY,
                    2 => -0.0,
                    _ => (i.wrapping_mul(40_503) % 13) as f32,
                }),
            ),
        ];
        for (name, shape) in &shapes {
            let scores: Vec<f32> = (0..n).map(shape).collect();
            for keep_every in [1u32, 3] {
                let keep = |i: u32| i.is_multiple_of(keep_every) && !(1000..3000).contains(&i);
                let mut full: Vec<(u32, f32)> =
                    scores.iter().enumerate().map(|(i, &s)| (i as u32, s)).filter(|p| keep(p.0)).collect();
                full.sort_by(rank_order);
                for k in [1, 10, 20, 64, 300, 2999, 5000] {
                    let got = top_k(&scores, k, keep);
                    let want = &full[..k.min(full.len())];
                    let same = got.len() == want.len()
                        && got.iter().zip(want).all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits());
                    assert!(same, "{name}, every {keep_every}, k = {k}");
                }
            }
        }
    }

    #[test]
    fn the_key_orders_as_rank_order() {
        let scores = [f32::NAN, f32::NEG_INFINITY, -1.5, -0.0, 0.0, 1e-30, 2.0, f32::INFINITY, -f32::NAN];
        for (a, &sa) in scores.iter().enumerate() {
            for (b, &sb) in scores.iter().enumerate() {
                let (pa, pb) = ((a as u32, sa), (b as u32, sb));
                assert_eq!(rank_key(&pa).cmp(&rank_key(&pb)), rank_order(&pa, &pb), "{pa:?} against {pb:?}");
            }
        }
    }

    #[test]
    fn equals_a_full_sort() {
        let scores: Vec<f32> = (0..500u32).map(|i| ((i * 7919) % 13) as f32).collect();
        let mut full: Vec<(u32, f32)> = scores.iter().enumerate().map(|(i, &s)| (i as u32, s)).collect();
        full.sort_by(rank_order);
        for k in [1, 5, 13, 31, 100, 499, 500, 600] {
            assert_eq!(top_k(&scores, k, |_| true), full[..k.min(500)].to_vec(), "k = {k}");
        }
        // Rising scores replace the running best again and again; NaNs and filters on the way.
        let rising: Vec<f32> =
            (0..2000u32).map(|i| if i % 97 == 0 { f32::NAN } else { (i / 3) as f32 }).collect();
        let keep = |i: u32| !i.is_multiple_of(5);
        let mut full: Vec<(u32, f32)> =
            rising.iter().enumerate().map(|(i, &s)| (i as u32, s)).filter(|&(i, _)| keep(i)).collect();
        full.sort_by(rank_order);
        for k in [1, 7, 40, 1000, 1599, 1600, 5000] {
            let got = top_k(&rising, k, keep);
            assert_eq!(got.len(), k.min(full.len()), "k = {k}");
            for (g, f) in got.iter().zip(&full) {
                assert!(
                    g.0 == f.0 && (g.1 == f.1 || g.1.is_nan() && f.1.is_nan()),
                    "k = {k}: {g:?} against {f:?}"
                );
            }
        }
    }
}
