//! Unit tests of corml: the learned matrix's invariants, the ADMM's residual, block-diagonal
//! learning, scoring against the formula, blob validation and the parameters' errors.

use super::*;
use crate::error::ErrorKind;
use crate::models::blobs::in_memory;
use crate::models::testing::snapshot;
use crate::progress::{NoProgress, Progress};
use crate::synth::{generate, SynthConfig};
use crate::value::Value;
use faer::linalg::solvers::DenseSolveCore;

/// 300 synthetic users in 4 taste clusters over 60 items.
fn data() -> Snapshot {
    let config = SynthConfig {
        users: 300,
        items: 60,
        interactions_per_user: 10,
        clusters: 4,
        taste_strength: 0.8,
        zipf_exponent: 0.8,
        seed: 3,
    };
    let synth = generate(&config);
    let mut rows = vec![Vec::new(); config.users as usize];
    for &(u, i) in &synth.interactions {
        rows[u as usize].push(i);
    }
    rows.iter_mut().for_each(|r| {
        r.sort_unstable();
        r.dedup();
    });
    let refs: Vec<&[u32]> = rows.iter().map(|r| &r[..]).collect();
    snapshot(&refs, config.items)
}

fn settings(given: &[(&str, Value)], items: u32) -> Result<Settings> {
    let given: Vec<(String, Value)> = given.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
    Settings::read(&CORML.check(&given)?, items)
}

fn small(budget: i64) -> Settings {
    settings(&[("k", Value::Int(8)), ("budget", Value::Int(budget))], 60).expect("settings")
}

#[test]
fn the_learned_matrix_is_symmetric_non_negative_with_a_zero_diagonal() {
    let model = learn(&data(), &small(0), &NoProgress).expect("train");
    let h = &model.learned;
    assert!(h.values.len() > 100, "{} entries learned", h.values.len());
    for i in 0..h.rows() {
        let (columns, values) = h.row(i);
        for (&j, &v) in columns.iter().zip(values) {
            assert_ne!(i, j as usize, "no diagonal entry");
            assert!(v >= 5e-4, "kept entries reach the threshold: {v}");
            let (back, back_values) = h.row(j as usize);
            let at = back.binary_search(&(i as u32)).expect("the transposed entry");
            assert_eq!(back_values[at], v, "H[{i}][{j}] = H[{j}][{i}]");
        }
    }
}

#[test]
fn the_budget_bounds_the_stored_numbers() {
    let free = learn(&data(), &small(0), &NoProgress).expect("train");
    // (300 users + 60 items) · 1 numbers: 2·nnz + 61 < 360, so at most 149 upper-triangle entries.
    let tight = learn(&data(), &small(1), &NoProgress).expect("train");
    let (all, kept) = (free.learned.values.len() / 2, tight.learned.values.len() / 2);
    assert!(all > 149 && kept <= 149 && kept > 100, "{all} entries without a budget, {kept} with");
    let smallest_kept = tight.learned.values.iter().copied().fold(f32::INFINITY, f32::min);
    let dropped = free.learned.values.iter().filter(|&&v| v < smallest_kept).count();
    assert_eq!(dropped / 2, all - kept, "the budget drops the smallest entries");
}

#[test]
fn the_primal_residual_falls_and_disconnected_groups_learn_block_by_block() {
    // Users 0-149 only use items 0-29, users 150-299 only items 30-59.
    let base = data();
    let rows: Vec<Vec<u32>> = (0..300u32)
        .map(|u| base.row(u).iter().map(|&i| if u < 150 { i % 30 } else { 30 + i % 30 }).collect())
        .map(|mut r: Vec<u32>| {
            r.sort_unstable();
            r.dedup();
            r
        })
        .collect();
    let refs: Vec<&[u32]> = rows.iter().map(|r| &r[..]).collect();
    let data = snapshot(&refs, 60);
    let s = small(0);
    let degrees = item_degrees(&data);
    let all: Vec<u32> = (0..60).collect();
    let op = spectral::Normalised::new(&data, &all, &degrees);
    let vectors =
        spectral::top_eigenvectors(&op, s.k, spectral::PRODUCTS, 1, &NoProgress, "test").expect("eigen");
    let shared =
        admm::Shared { data: &data, degrees: &degrees, user_weights: None, vectors: &vectors, settings: &s };
    let whole = admm::solve(&shared, &all, &NoProgress, "test").expect("solve");
    let r = &whole.residuals;
    assert_eq!(r.len(), 30, "the default iterations");
    assert!(r[29] < 0.05 * r[0] && r[29] < r[10], "residuals {r:?}");
    let mut parts = Vec::new();
    for group in [&all[..30], &all[30..]] {
        parts.extend(admm::solve(&shared, group, &NoProgress, "test").expect("solve").entries);
    }
    let mut whole = whole.entries;
    assert!(whole.iter().all(|&(i, j, _)| (i < 30) == (j < 30)), "nothing learned across the groups");
    whole.sort_by_key(|e| (e.0, e.1));
    parts.sort_by_key(|e| (e.0, e.1));
    assert_eq!(whole.len(), parts.len());
    for (a, b) in whole.iter().zip(&parts) {
        assert_eq!((a.0, a.1), (b.0, b.1));
        assert!((a.2 - b.2).abs() <= 1e-4 * a.2.max(1.0), "{a:?} vs {b:?}");
    }
}

/// Equal up to the rounding of the product kernels (a single user's and a batch's sum in different
/// orders).
fn close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-6 * x.abs().max(1.0), "{what}: {x} vs {y}");
    }
}

#[test]
fn the_iterations_start_from_a_inverse_times_b0_computed_the_long_way() {
    let data = data();
    let given = [
        ("k", Value::Int(8)),
        ("t_u", Value::Float(0.5)),
        ("epsilon", Value::Float(0.5)),
        ("theta", Value::Float(1.0)),
    ];
    let s = settings(&given, 60).expect("settings");
    let degrees = item_degrees(&data);
    let all: Vec<u32> = (0..60).collect();
    let op = spectral::Normalised::new(&data, &all, &degrees);
    let vectors =
        spectral::top_eigenvectors(&op, s.k, spectral::PRODUCTS, 1, &NoProgress, "test").expect("eigen");
    let weights = user_weights(&data, s.t_u).expect("t_u > 0 weighs users");
    let shared = admm::Shared {
        data: &data,
        degrees: &degrees,
        user_weights: Some(weights.clone()),
        vectors: &vectors,
        settings: &s,
    };
    // A block of 40 items, not the whole catalogue.
    let block: Vec<u32> = (0..60).filter(|i| i % 3 != 1).collect();
    struct Phases(std::sync::Mutex<Vec<String>>);
    impl Progress for Phases {
        fn update(&self, phase: &str, _done: u64, _total: u64) -> bool {
            let mut seen = self.0.lock().expect("lock");
            if seen.last().is_none_or(|last| last != phase) {
                seen.push(phase.to_string());
            }
            true
        }
    }
    let phases = Phases(Default::default());
    let start = admm::start(&shared, &block, &phases, "start").expect("start");
    assert_eq!(phases.0.into_inner().expect("lock"), ["start: inverse", "start: product"], "both report");

    // In f64 from the definitions: P, Q, G_c, A and B₀, then A⁻¹ and A⁻¹B₀ by faer.
    let n = block.len();
    let d: Vec<f64> = block.iter().map(|&i| f64::from(degrees[i as usize])).collect();
    let (t, lambda, eps) = (f64::from(s.t), f64::from(s.lambda), f64::from(s.epsilon));
    let c = 1.0 / lambda - 1.0;
    let (mut p, mut q) = (faer::Mat::<f64>::zeros(n, n), faer::Mat::<f64>::zeros(n, n));
    for u in 0..data.n_users {
        let items: Vec<usize> =
            data.row(u).iter().filter_map(|&i| block.iter().position(|&b| b == i)).collect();
        for &a in &items {
            for &b in &items {
                let v = (d[a] * d[b]).powf(-t);
                p[(a, b)] += v;
                q[(a, b)] += f64::from(weights[u as usize]) * v;
            }
        }
    }
    let k = s.k;
    let gc = faer::Mat::<f64>::from_fn(n, n, |i, j| {
        let (a, b) = (block[i] as usize, block[j] as usize);
        let dot: f64 = (0..k).map(|l| f64::from(vectors[a * k + l]) * f64::from(vectors[b * k + l])).sum();
        if i == j {
            0.0
        } else {
            -d[i].powf(t - 0.5) * dot.max(0.0) * d[j].powf(0.5 - t)
        }
    });
    let a = faer::Mat::<f64>::from_fn(n, n, |i, j| {
        eps * q[(i, j)] + if i == j { f64::from(s.theta) * d[i] + f64::from(s.rho) } else { 0.0 }
    });
    let b0 = faer::Mat::<f64>::from_fn(n, n, |i, j| {
        p[(i, j)] / (2.0 * lambda) + eps * c * (0..n).map(|l| q[(i, l)] * gc[(l, j)]).sum::<f64>()
    });
    let inverse = a.llt(faer::Side::Lower).expect("A is positive definite").inverse();
    let hb = faer::Mat::<f64>::from_fn(n, n, |i, j| (0..n).map(|l| inverse[(i, l)] * b0[(l, j)]).sum());
    let largest = (0..n * n).map(|e| hb[(e % n, e / n)].abs()).fold(0.0, f64::max);
    assert!(largest > 1e-3, "a non-trivial H_b: {largest}");
    for j in 0..n {
        for i in 0..n {
            let (got, want) = (f64::from(start.hb[j * n + i]), hb[(i, j)]);
            assert!((got - want).abs() <= 1e-4 * largest, "H_b[{i}][{j}]: {got} vs {want}");
            let (got, want) = (f64::from(start.ainv[j * n + i]), inverse[(i, j)]);
            assert!((got - want).abs() <= 1e-5, "A⁻¹[{i}][{j}]: {got} vs {want}");
        }
        assert_eq!(start.diagonal[j], start.ainv[j * n + j]);
    }
}

#[test]
fn relaxation_reaches_the_same_optimum_as_plain_admm() {
    // Run long, both converge to the optimum of the same convex problem; at the default iterations the
    // relaxed run is closer to it than the plain one.
    let data = data();
    let model = |given: &[(&str, Value)]| {
        let mut all = vec![("k", Value::Int(8)), ("budget", Value::Int(0)), ("threshold", Value::Float(0.0))];
        all.extend(given.iter().cloned());
        let s = settings(&all, 60).expect("settings");
        learn(&data, &s, &NoProgress).expect("train").learned
    };
    let optimum = model(&[("iterations", Value::Int(2000)), ("relaxation", Value::Float(1.0))]);
    let relaxed_long = model(&[("iterations", Value::Int(2000))]);
    let distance = |h: &sparse::Csr| -> f64 {
        let dense = |m: &sparse::Csr| {
            let mut out = vec![0f64; 60 * 60];
            for i in 0..60 {
                let (columns, values) = m.row(i);
                for (&j, &v) in columns.iter().zip(values) {
                    out[i * 60 + j as usize] = f64::from(v);
                }
            }
            out
        };
        let (a, b) = (dense(h), dense(&optimum));
        let diff: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
        (diff / b.iter().map(|y| y * y).sum::<f64>()).sqrt()
    };
    assert!(distance(&relaxed_long) < 1e-3, "relaxed, run long: {}", distance(&relaxed_long));
    let relaxed = distance(&model(&[]));
    let plain = distance(&model(&[("relaxation", Value::Float(1.0))]));
    assert!(relaxed < plain, "after 30 iterations: relaxed {relaxed}, plain {plain}");
}

#[test]
fn scores_follow_the_formula_and_survive_the_blob() {
    let model = learn(&data(), &small(0), &NoProgress).expect("train");
    let (n, k) = (model.n, model.k);
    let seen = [2u32, 7, 31];
    let mut scores = vec![0f32; n];
    model.score(0, &seen, &mut scores);
    let d = &model.degrees;
    let v = |i: usize, l: usize| model.vectors[i * k + l];
    let c = 1.0 / 0.9 - 1.0;
    for j in 0..n {
        let mut spectral = 0f64;
        for &i in &seen {
            let i = i as usize;
            if i != j {
                let dot: f64 = (0..k).map(|l| f64::from(v(i, l) * v(j, l))).sum();
                spectral += dot * f64::from(d[j].sqrt() / d[i].sqrt());
            }
        }
        let mut learned = 0f64;
        for &i in &seen {
            let (columns, values) = model.learned.row(i as usize);
            if let Ok(at) = columns.binary_search(&(j as u32)) {
                learned += f64::from(values[at] * (d[j] / d[i as usize]).powf(0.2));
            }
        }
        let expected = c * spectral.max(0.0) + learned;
        assert!((f64::from(scores[j]) - expected).abs() < 1e-4, "item {j}: {} vs {expected}", scores[j]);
    }
    let mut similar = vec![0f32; n];
    model.similar_items(7, &mut similar).expect("similar");
    let mut one = vec![0f32; n];
    model.score(5, &[7], &mut one);
    close(&similar, &one, "similar to an item = the scores of a user with only that item");
    assert!(similar[7].abs() < 1e-6, "an item is not similar to itself (up to rounding): {}", similar[7]);

    let saved = model.blobs().expect("blobs");
    let read = in_memory(&saved);
    let loaded = (CORML.load)(&Blobs::new(&read)).expect("load");
    let mut again = vec![0f32; n];
    loaded.score(99, &seen, &mut again);
    close(&again, &scores, "the loaded model scores the same");
    let users: Vec<(u32, &[u32])> = vec![(0, &seen[..]), (1, &[7][..]), (2, &[][..])];
    let mut batch = vec![f32::NAN; 3 * n];
    loaded.score_batch(&users, &mut batch);
    close(&batch[..n], &scores, "a batch scores as one user at a time");
    close(&batch[n..2 * n], &one, "a batch scores as one user at a time");
    assert!(batch[2 * n..].iter().all(|&s| s == 0.0), "no items, no scores");
}

#[test]
fn the_screened_top_items_are_the_full_passes() {
    let data = data();
    let settings = settings(&[("k", Value::Int(32)), ("budget", Value::Int(8))], 60).expect("settings");
    let model = learn(&data, &settings, &NoProgress).expect("train");
    let mut scores = vec![0f32; model.n];
    let mut screened_out = 0;
    for user in 0..data.n_users {
        let seen = data.row(user);
        model.score(user, seen, &mut scores);
        let unseen = |j: u32| seen.binary_search(&j).is_err();
        let odd_unseen = |j: u32| j % 2 == 1 && unseen(j);
        let filters: [&dyn Fn(u32) -> bool; 3] = [&|_| true, &unseen, &odd_unseen];
        for (f, keep) in filters.iter().enumerate() {
            for wanted in [1, 3, 10, 59, 100] {
                let full = top_k(&scores, wanted, keep);
                let best = model.best_items(user, seen, wanted, keep).expect("a screened answer");
                assert_eq!(best, full, "user {user}, filter {f}, top {wanted}");
                screened_out += usize::from(wanted == 3 && f == 1 && full.len() == 3);
            }
        }
    }
    assert!(screened_out > 250, "most users have 3 unseen items to recommend: {screened_out}");
    assert_eq!(model.best_items(0, data.row(0), 0, &|_| true), None, "nothing wanted: no screen");
}

#[test]
fn a_corrupt_blob_is_refused_with_a_clear_error() {
    let model = learn(&data(), &small(0), &NoProgress).expect("train");
    let blob = |change: &dyn Fn(&mut CormlBlob)| {
        let mut b = CormlBlob {
            items: model.n as u32,
            k: model.k as u32,
            lambda: model.lambda,
            t: model.t,
            degrees: model.degrees.clone(),
            indptr: model.learned.indptr.iter().map(|&p| p as u64).collect(),
            indices: model.learned.indices.clone(),
            values: model.learned.values.clone(),
            vectors: model.vectors.clone(),
        };
        change(&mut b);
        let saved = [encode(CORML_BLOB, &b).expect("encode")];
        let read = in_memory(&saved);
        let loaded = (CORML.load)(&Blobs::new(&read));
        loaded.err()
    };
    assert!(blob(&|_| ()).is_none(), "the unchanged blob loads");
    type Change<'a> = &'a dyn Fn(&mut CormlBlob);
    let cases: [(Change<'_>, &str); 6] = [
        (
            &|b| b.indptr[3] = 1_000_000,
            "corml blob: the row offsets of the learned matrix do not match its entries",
        ),
        (&|b| b.indices[0] = 60, "corml blob: the learned matrix names an item past the model's items"),
        (&|b| b.degrees.truncate(59), "corml blob: 59 degrees for 60 items"),
        (&|b| b.vectors.truncate(10), "corml model: 10 spectral values for 60 items of 8"),
        (
            &|b| b.values[0] = -1.0,
            "corml model: the learned matrix has the wrong size or a negative or non-finite value",
        ),
        (&|b| b.lambda = 0.0, "corml model: λ = 0 and t = 0.2 are out of range"),
    ];
    for (change, message) in cases {
        let err = blob(change).expect(message);
        assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{err:?}");
        assert_eq!(err.message(), message);
    }
    let mut garbage = recodb_storage::rkyv::util::AlignedVec::new();
    garbage.extend_from_slice(&[7u8; 40]);
    let saved = [(CORML_BLOB, garbage)];
    let read = in_memory(&saved);
    let err = (CORML.load)(&Blobs::new(&read)).err().expect("garbage is refused");
    assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{err:?}");
}

#[test]
fn bad_parameters_name_the_parameter_and_its_range() {
    let cases = [
        (
            ("lambda", Value::Float(-0.5)),
            "lambda must be a number greater than 0 and at most 1, got -0.5 (for corml)",
        ),
        (("rho", Value::Int(0)), "rho must be a positive number, got 0 (for corml)"),
        (("k", Value::Int(0)), "k must be an integer from 1 to 4096, got 0 (for corml)"),
        (
            ("k", Value::Int(61)),
            "k must be an integer from 1 to 60 (the items in the catalogue), got 61 (for corml)",
        ),
        (
            ("relaxation", Value::Float(2.0)),
            "relaxation must be a number greater than 0 and below 2, got 2 (for corml)",
        ),
        (
            ("partition_ratio", Value::Float(1.5)),
            "partition_ratio must be a number greater than 0 and at most 1, got 1.5 (for corml)",
        ),
    ];
    for ((name, value), message) in cases {
        let err = settings(&[(name, value)], 60).err().expect(message);
        assert!(matches!(err.kind(), ErrorKind::InvalidArgument { name: n, .. } if n == name), "{err:?}");
        assert_eq!(err.message(), message);
    }
}

#[test]
fn blocks_are_sized_by_the_ratio_time_and_memory() {
    let plenty = Some(1u64 << 40);
    assert_eq!(block_limit(None, 40_981, plenty).expect("auto"), DEFAULT_BLOCK);
    assert_eq!(block_limit(None, 40_981, None).expect("auto"), DEFAULT_BLOCK);
    // Half of 80 MB holds five 1,000 × 1,000 f32 buffers.
    assert_eq!(block_limit(None, 40_981, Some(40_000_000)).expect("short"), 1000);
    assert_eq!(block_limit(Some(0.05), 40_981, plenty).expect("given"), 2049);
    assert_eq!(block_limit(Some(1.0), 3_533, plenty).expect("whole"), 3_533);
    let err = block_limit(Some(0.5), 40_981, Some(40_000_000)).expect_err("too large");
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument { name, .. } if name == "partition_ratio"));
    assert!(
        err.message().starts_with("partition_ratio must be a number greater than 0 and at most 0.0244 here"),
        "{err}"
    );
}
