//! The Hamming engine's benchmark: kernels, MIH against the scan and `mih-rs`, filters, uniform codes,
//! long codes, bucket layouts and batch search. Prints a table of medians.
//!
//! `cargo bench -p recodb-storage --bench hamming` (set `HAMMING_10M=1` to add 10M codes,
//! `HAMMING_QUICK=1` for a smoke run at 100k codes, `HAMMING_ONLY64=1` to skip uniform and long codes,
//! `HAMMING_MSWEEP=1` to time MIH at m = 3 to 6, `HAMMING_PROFILE=secs` to only loop MIH searches on the
//! 1M clustered codes, for a profiler).
//!
//! Clustered codes, as learned codes look: the sign of `bits` random projections of points from a mixture
//! of 1,000 Gaussian clusters in 64 dimensions (centres N(0,1), points centre + 0.7·N(0,1)). Two query
//! sets: *fresh* queries are further points of the same mixture (their nearest codes are ~10 bits away),
//! *member* queries are codes of indexed items (the similar-item case, and a stand-in for learned user
//! codes, which lie near their items). Everything is seeded.

use std::hint::black_box;
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use recodb_storage::hamming::{
    brute_force, Allowed, CodeStore, Filter, HammingIndex, Hit, IndexOptions, Kernel, Layout, Path,
};
use recodb_storage::RoaringBitmap;

const DIM: usize = 64;
const CLUSTERS: usize = 1000;
const K: usize = 10;

fn gaussian(rng: &mut Xoshiro256PlusPlus) -> f32 {
    let u1 = rng.random::<f64>().max(1e-300);
    let u2 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// The mixture and the projections of one code length.
struct Generator {
    centres: Vec<f32>,
    proj: Vec<f32>,
    bits: usize,
}

impl Generator {
    fn new(bits: usize, seed: u64) -> Generator {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let centres = (0..CLUSTERS * DIM).map(|_| gaussian(&mut rng)).collect();
        let proj = (0..bits * DIM).map(|_| gaussian(&mut rng)).collect();
        Generator { centres, proj, bits }
    }

    /// `n` packed codes, generated in parallel from seeded chunks.
    fn codes(&self, n: usize, seed: u64) -> Vec<u64> {
        let words = self.bits.div_ceil(64);
        let chunk = 8192;
        let mut out = vec![0u64; n * words];
        out.par_chunks_mut(chunk * words).enumerate().for_each(|(c, block)| {
            let mut rng =
                Xoshiro256PlusPlus::seed_from_u64(seed ^ (c as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut x = [0f32; DIM];
            for code in block.chunks_exact_mut(words) {
                let centre = &self.centres[rng.random_range(0..CLUSTERS) * DIM..][..DIM];
                for (xi, ci) in x.iter_mut().zip(centre) {
                    *xi = ci + 0.7 * gaussian(&mut rng);
                }
                for (b, p) in self.proj.chunks_exact(DIM).enumerate() {
                    let s: f32 = p.iter().zip(&x).map(|(a, b)| a * b).sum();
                    if s > 0.0 {
                        code[b / 64] |= 1 << (b % 64);
                    }
                }
            }
        });
        out
    }
}

fn uniform(n: usize, words: usize, seed: u64) -> Vec<u64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n * words).map(|_| rng.random::<u64>()).collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median queries per second over `reps` passes of `f` over `queries` (packed `words` apart).
fn qps(queries: &[u64], words: usize, reps: usize, mut f: impl FnMut(&[u64])) -> f64 {
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                for q in queries.chunks_exact(words) {
                    f(q);
                }
                (queries.len() / words) as f64 / t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn take(queries: &[u64], words: usize, n: usize) -> &[u64] {
    &queries[..(n * words).min(queries.len())]
}

/// Random `count` ids of `0..n`, one set per query.
fn random_sets(n: u32, count: usize, sets: usize, seed: u64) -> Vec<RoaringBitmap> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..sets).map(|_| (0..count).map(|_| rng.random_range(0..n)).collect()).collect()
}

fn row(name: &str, cells: &[String]) {
    println!("| {name} | {} |", cells.join(" | "));
}

fn bench_kernels(codes: &[u64], words: usize, queries: &[u64]) {
    let n = codes.len() / words;
    let mut buf = Vec::new();
    // Each query's limit is its true 10th distance, as in the steady state of a top-10 scan.
    let limits: Vec<u32> = take(queries, words, 10)
        .chunks_exact(words)
        .map(|q| {
            buf.clear();
            Kernel::best().scan(q, codes, 0, u32::MAX, &mut buf);
            let mut d: Vec<u32> = buf.iter().map(|&(d, _)| d).collect();
            *d.select_nth_unstable(K - 1).1 + 1
        })
        .collect();
    for k in Kernel::available() {
        let ns: Vec<f64> = (0..7)
            .map(|_| {
                let t = Instant::now();
                for (q, &limit) in take(queries, words, 10).chunks_exact(words).zip(&limits) {
                    buf.clear();
                    k.scan(q, codes, 0, limit, &mut buf);
                    black_box(&buf);
                }
                t.elapsed().as_secs_f64() * 1e9 / (10 * n) as f64
            })
            .collect();
        row(&format!("kernel {} ({} bits)", k.name(), words * 64), &[format!("{:.3} ns/code", median(ns))]);
    }
}

/// `n` codes of members of `store` (ids drawn at random, seeded): queries whose own code is indexed, the
/// similar-item case and a stand-in for learned user codes, which lie near their items.
fn member_queries(store: &CodeStore, n: usize, seed: u64) -> Vec<u64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let slots = store.slots();
    let mut out = Vec::with_capacity(n * store.words());
    while out.len() < n * store.words() {
        if let Some(code) = store.get(rng.random_range(0..slots)) {
            out.extend_from_slice(code);
        }
    }
    out
}

/// Averages of what MIH did over `queries`: radius reached, buckets probed, candidates, 10th distance.
fn explain_averages(index: &HammingIndex, queries: &[u64]) -> String {
    let words = index.codes().words();
    let mut s = index.searcher();
    let (mut radius, mut buckets, mut cands, mut tenth, mut nq) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut lookups = 0u64;
    for q in queries.chunks_exact(words) {
        let hits = s.search_with(Path::Mih, q, K, &Filter::NONE).expect("valid");
        let e = s.explain();
        radius += u64::from(e.radius);
        buckets += e.buckets_probed;
        cands += e.candidates;
        lookups += e.lookups;
        tenth += hits.last().map_or(0, |h| u64::from(h.distance));
        nq += 1;
    }
    let nq = nq.max(1) as f64;
    format!(
        "MIH avg: radius {:.1}, {:.0} buckets, {:.0} candidates, {:.0} id look-ups, 10th distance {:.2}",
        radius as f64 / nq,
        buckets as f64 / nq,
        cands as f64 / nq,
        lookups as f64 / nq,
        tenth as f64 / nq
    )
}

/// MIH, scan and (for 64-bit codes) mih-rs on the same codes, for each named query set.
fn bench_growth(label: &str, store: CodeStore, sets: &[(&str, &[u64])], mihrs: bool) -> HammingIndex {
    let words = store.words();
    let n = store.len();
    let code_bytes = store.as_words().len() * 8;
    let raw = store.as_words().to_vec();
    let index = HammingIndex::build(store, &IndexOptions::default());
    let mut s = index.searcher();
    // mih-rs at its own choice of m and at ours (and one more), built once for every query set.
    let mut others = Vec::new();
    if mihrs && words == 1 {
        let t = Instant::now();
        let other = mih_rs::Index::new(raw.clone()).expect("mih-rs builds");
        let built = t.elapsed().as_secs_f64();
        let mut ms = vec![index.tables(), index.tables() + 1];
        ms.retain(|&m| m >= 2 && m != other.num_blocks());
        ms.dedup();
        others.push((other.num_blocks(), built, other));
        for m in ms {
            let t = Instant::now();
            let idx = mih_rs::Index::with_blocks(raw.clone(), m).expect("mih-rs builds");
            others.push((m, t.elapsed().as_secs_f64(), idx));
        }
    }
    drop(raw);
    for &(set, queries) in sets {
        // Exactness on the benchmark's own queries.
        for q in take(queries, words, 50).chunks_exact(words) {
            let mih = s.search_with(Path::Mih, q, K, &Filter::NONE).expect("valid");
            let scan = s.search_with(Path::Scan, q, K, &Filter::NONE).expect("valid");
            assert_eq!(mih, scan);
        }
        let mih = qps(queries, words, 5, |q| {
            black_box(s.search_with(Path::Mih, q, K, &Filter::NONE).expect("valid"));
        });
        let planned = qps(queries, words, 5, |q| {
            black_box(s.search(q, K, &Filter::NONE).expect("valid"));
        });
        let scan = qps(take(queries, words, 100), words, 5, |q| {
            black_box(s.search_with(Path::Scan, q, K, &Filter::NONE).expect("valid"));
        });
        let mut cells = vec![
            format!("n={n}"),
            format!("m={} ({})", index.tables(), if index.uses_mih() { "MIH" } else { "scan" }),
            format!("build {:.3} s", index.build_time().as_secs_f64()),
            format!("index {:.2}x code bytes", index.index_bytes() as f64 / code_bytes as f64),
            format!("MIH {mih:.0} q/s"),
            format!("planner {planned:.0} q/s"),
            format!("scan {scan:.0} q/s ({:.3} ns/code)", 1e9 / (scan * f64::from(index.codes().slots()))),
        ];
        if others.is_empty() {
            cells.push("mih-rs n/a (u64 codes only)".into());
        } else {
            let mut best = (0.0, 0, 0.0);
            for (m, built, idx) in &others {
                let mut ts = idx.topk_searcher();
                let q = qps(take(queries, 1, 500), 1, 3, |q| {
                    black_box(ts.run(q[0], K));
                });
                if q > best.0 {
                    best = (q, *m, *built);
                }
            }
            cells.push(format!("mih-rs {:.0} q/s (m={}, build {:.2} s)", best.0, best.1, best.2));
            cells.push(format!("MIH/mih-rs {:.1}x", mih / best.0));
        }
        cells.push(format!("MIH/scan {:.1}x", mih / scan));
        if index.uses_mih() {
            cells.push(explain_averages(&index, queries));
        }
        row(&format!("{label}, {set} queries"), &cells);
    }
    drop(s);
    index
}

fn bench_filters(index: &HammingIndex, set: &str, queries: &[u64]) {
    let n = index.codes().slots();
    let nq = queries.len();
    let seen = random_sets(n, 200, nq, 11);
    let allowed = Allowed::new(random_sets(n, (n / 10) as usize, 1, 12).remove(0));
    let mut s = index.searcher();
    let mut i = 0;
    let mut run = |path: Option<Path>, with_allowed: bool, s: &mut recodb_storage::hamming::Searcher<'_>| {
        let count = if path == Some(Path::Scan) || path == Some(Path::ScanAllowed) { 100 } else { nq };
        qps(take(queries, 1, count), 1, 5, |q| {
            let f = Filter { allowed: with_allowed.then_some(&allowed), excluded: Some(&seen[i % nq]) };
            i += 1;
            let hits = match path {
                None => s.search(q, K, &f),
                Some(p) => s.search_with(p, q, K, &f),
            };
            black_box(hits.expect("valid"));
        })
    };
    // Exactness under filters.
    for (j, q) in take(queries, 1, 30).iter().enumerate() {
        let f = Filter { allowed: Some(&allowed), excluded: Some(&seen[j]) };
        let want = brute_force(index.codes(), &[*q], K, &f);
        for p in [Path::Mih, Path::Scan, Path::ScanAllowed] {
            assert_eq!(s.search_with(p, &[*q], K, &f).expect("valid"), want);
        }
    }
    let planner = run(None, false, &mut s);
    let mih = run(Some(Path::Mih), false, &mut s);
    let scan = run(Some(Path::Scan), false, &mut s);
    row(
        &format!("exclude 200 (1M, {set} queries)"),
        &[format!("planner {planner:.0} q/s"), format!("MIH {mih:.0}"), format!("scan {scan:.0}")],
    );
    // What MIH does under both filters, averaged over the first 200 queries.
    let (mut cands, mut looked, mut radius) = (0u64, 0u64, 0u64);
    for (j, q) in take(queries, 1, 200).iter().enumerate() {
        let f = Filter { allowed: Some(&allowed), excluded: Some(&seen[j]) };
        black_box(s.search_with(Path::Mih, &[*q], K, &f).expect("valid"));
        let e = s.explain();
        (cands, looked, radius) = (cands + e.candidates, looked + e.lookups, radius + u64::from(e.radius));
    }
    let planner = run(None, true, &mut s);
    let chosen = s.explain().path;
    let mih = run(Some(Path::Mih), true, &mut s);
    let scan = run(Some(Path::Scan), true, &mut s);
    let scan_ids = run(Some(Path::ScanAllowed), true, &mut s);
    let best = mih.max(scan).max(scan_ids);
    row(
        &format!("exclude 200 + allow 10% (1M, {set} queries)"),
        &[
            format!("planner {planner:.0} q/s ({})", chosen.name()),
            format!("MIH {mih:.0}"),
            format!("scan {scan:.0}"),
            format!("scan allowed ids {scan_ids:.0}"),
            format!("best/planner {:.2}x", best / planner),
            format!(
                "MIH avg: radius {:.1}, {:.0} candidates, {:.0} id look-ups",
                radius as f64 / 200.0,
                cands as f64 / 200.0,
                looked as f64 / 200.0
            ),
        ],
    );
}

/// The bucket layouts at the default index's `m` (and the inline layout also at `m + 1`), their passes
/// interleaved so that a change in the machine's speed hits them alike; medians of 5 passes.
fn bench_layouts(store: &CodeStore, m: usize, queries: &[u64]) {
    let code_bytes = store.as_words().len() * 8;
    let configs = [(Layout::Arena, m), (Layout::Inline, m), (Layout::Inline, m + 1), (Layout::Packed, m)];
    let indexes: Vec<HammingIndex> = configs
        .iter()
        .map(|&(layout, m)| {
            let opts = IndexOptions { m: Some(m), path: Some(Path::Mih), layout, kernel: None };
            HammingIndex::build(store.clone(), &opts)
        })
        .collect();
    let mut searchers: Vec<_> = indexes.iter().map(HammingIndex::searcher).collect();
    let mut passes = vec![Vec::new(); indexes.len()];
    for _ in 0..5 {
        for (s, times) in searchers.iter_mut().zip(&mut passes) {
            times.push(qps(queries, 1, 1, |q| {
                black_box(s.search_with(Path::Mih, q, K, &Filter::NONE).expect("valid"));
            }));
        }
    }
    for (((layout, m), index), times) in configs.iter().zip(&indexes).zip(passes) {
        row(
            &format!("layout {layout:?} (1M, m={m}, fresh queries)"),
            &[
                format!("{:.0} q/s", median(times)),
                format!("index {:.2}x code bytes", index.index_bytes() as f64 / code_bytes as f64),
            ],
        );
    }
}

/// MIH at forced values of `m` on each query set (`HAMMING_MSWEEP=1`).
fn bench_m_sweep(label: &str, store: &CodeStore, sets: &[(&str, &[u64])]) {
    for (m, layout) in [3, 4, 5, 6].into_iter().flat_map(|m| [(m, Layout::Inline), (m, Layout::Packed)]) {
        let opts = IndexOptions { m: Some(m), path: Some(Path::Mih), layout, ..Default::default() };
        let index = HammingIndex::build(store.clone(), &opts);
        let mut s = index.searcher();
        let code_bytes = store.as_words().len() as f64 * 8.0;
        let mut cells = vec![
            format!("build {:.2} s", index.build_time().as_secs_f64()),
            format!("index {:.2}x code bytes", index.index_bytes() as f64 / code_bytes),
        ];
        for &(set, queries) in sets {
            let q = qps(queries, 1, 3, |q| {
                black_box(s.search_with(Path::Mih, q, K, &Filter::NONE).expect("valid"));
            });
            cells.push(format!("{set} {q:.0} q/s"));
        }
        row(&format!("m sweep {label}, m={m}, {layout:?}"), &cells);
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is ignored.
    let quick = std::env::var_os("HAMMING_QUICK").is_some();
    // `HAMMING_ONLY64=1` stops after the 64-bit clustered cases (for quick comparisons).
    let only64 = std::env::var_os("HAMMING_ONLY64").is_some();
    let sweep = std::env::var_os("HAMMING_MSWEEP").is_some();
    let big = if quick { 100_000 } else { 1_000_000 };
    println!(
        "Hamming engine benchmark: {} threads, kernels {:?}",
        rayon::current_num_threads(),
        Kernel::available()
    );
    println!(
        "Query sets: fresh = new points of the mixture; member = codes of indexed items (own code present)."
    );
    println!("| case | figures |\n|---|---|");
    let g64 = Generator::new(64, 1);
    let queries = g64.codes(2000, 99);
    let clustered = g64.codes(big, 2);
    if let Some(secs) = std::env::var("HAMMING_PROFILE").ok().and_then(|v| v.parse::<f64>().ok()) {
        // A loop of MIH searches on the clustered codes for a profiler, `secs` seconds long.
        let index = HammingIndex::build(
            CodeStore::from_words(64, clustered).expect("valid"),
            &IndexOptions::default(),
        );
        let mut s = index.searcher();
        let t = Instant::now();
        let mut done = 0usize;
        while t.elapsed().as_secs_f64() < secs {
            for q in queries.chunks_exact(1) {
                black_box(s.search_with(Path::Mih, q, K, &Filter::NONE).expect("valid"));
            }
            done += queries.len();
        }
        row(
            "profile loop",
            &[format!("m={}", index.tables()), format!("{:.0} q/s", done as f64 / t.elapsed().as_secs_f64())],
        );
        return;
    }
    bench_kernels(&clustered, 1, &queries);

    let small = CodeStore::from_words(64, g64.codes(100_000, 3)).expect("valid");
    let small_members = member_queries(&small, 2000, 13);
    let sets: [(&str, &[u64]); 2] = [("fresh", &queries), ("member", &small_members)];
    bench_growth("clustered 64-bit, 100k", small, &sets, true);
    let store = CodeStore::from_words(64, clustered).expect("valid");
    let members = member_queries(&store, 2000, 14);
    let sets: [(&str, &[u64]); 2] = [("fresh", &queries), ("member", &members)];
    let index = bench_growth("clustered 64-bit, 1M", store.clone(), &sets, true);
    for (set, q) in sets {
        bench_filters(&index, set, q);
    }
    let m = index.tables();
    drop(index);
    if sweep {
        bench_m_sweep("1M", &store, &sets);
    }
    bench_layouts(&store, if m == 0 { 4 } else { m }, &queries);

    let batch_index = HammingIndex::build(store, &IndexOptions::default());
    let t = Instant::now();
    let hits: Vec<Vec<Hit>> = batch_index.search_batch(&queries, K, |_| Filter::NONE).expect("valid");
    let batch = queries.len() as f64 / t.elapsed().as_secs_f64();
    row(
        "batch, 2000 fresh queries (1M)",
        &[format!("{batch:.0} q/s on {} threads", rayon::current_num_threads())],
    );
    black_box(hits);
    drop(batch_index);

    if !only64 {
        let uni = CodeStore::from_words(64, uniform(big, 1, 5)).expect("valid");
        let uq = uniform(200, 1, 6);
        bench_growth("uniform 64-bit, 1M", uni, &[("uniform", &uq)], false);

        for bits in [128usize, 256] {
            let g = Generator::new(bits, bits as u64);
            let words = bits / 64;
            let codes = g.codes(big, 7);
            let q = g.codes(1000, 8);
            bench_kernels(&codes, words, &q);
            let store = CodeStore::from_words(bits as u32, codes).expect("valid");
            let members = member_queries(&store, 1000, 15);
            let sets: [(&str, &[u64]); 2] = [("fresh", &q), ("member", &members)];
            bench_growth(&format!("clustered {bits}-bit, 1M"), store, &sets, false);
        }
    }

    if std::env::var_os("HAMMING_10M").is_some() {
        let store = CodeStore::from_words(64, g64.codes(10_000_000, 4)).expect("valid");
        let members = member_queries(&store, 2000, 16);
        let sets: [(&str, &[u64]); 2] = [("fresh", &queries), ("member", &members)];
        if sweep {
            bench_m_sweep("10M", &store, &sets);
        }
        bench_growth("clustered 64-bit, 10M", store, &sets, true);
    }
}
