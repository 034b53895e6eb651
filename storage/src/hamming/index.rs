//! The Hamming index of one side's codes: build (with `m` and the path chosen by timing sample queries;
//! tables whose sample searches mostly give way to a scan are not kept), single searches through a
//! reusable [`Searcher`], and batch search in parallel across queries.

use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::codes::CodeStore;
use super::filter::{Allowed, Filter};
use super::kernels::Kernel;
use super::mih::{Layout, Mih, Scratch};
use super::plan::{Explain, Path, Plan};
use super::scan::{scan_all, scan_ids, Hit, ScanScratch, TopK};
use crate::error::{Result, StorageError};

/// Below this many codes the index never builds tables: a scan takes microseconds.
const MIN_MIH_CODES: u32 = 1024;
/// Sample queries timed at build time.
const SAMPLE: usize = 64;
/// The `k` of the sample queries.
const SAMPLE_K: usize = 10;
/// When `m` is chosen, only numbers of tables whose index is estimated to take at most this many times the
/// bytes of the codes are timed (all are, if none is).
const MEMORY_BUDGET: usize = 4;

/// How to build an index; the defaults let the index choose.
#[derive(Debug, Clone, Copy, Default)]
pub struct IndexOptions {
    /// The number of MIH tables (`WITH (m = ...)`); `None` times `bits / log2 n` and the next two (on
    /// clustered codes the best `m` lies above `bits / log2 n`: buckets are uneven), skips those whose index
    /// could take more than four times the bytes of the codes (unless all could), and keeps the fastest.
    pub m: Option<usize>,
    /// Force a path: `Some(Path::Mih)` always builds tables, a scan path never does.
    pub path: Option<Path>,
    /// How buckets are stored.
    pub layout: Layout,
    /// The distance kernel; `None` (or an unavailable one) takes [`Kernel::best`].
    pub kernel: Option<Kernel>,
}

/// An exact Hamming k-nearest index over one side's codes.
#[derive(Debug)]
pub struct HammingIndex {
    codes: CodeStore,
    kernel: Kernel,
    mih: Option<Mih>,
    plan: Plan,
    build_time: Duration,
}

/// The codes of up to `n` present ids spread evenly over the store.
fn sample_queries(codes: &CodeStore, n: usize) -> Vec<Vec<u64>> {
    let step = (codes.len() as usize / n.max(1)).max(1);
    codes.ids().step_by(step).take(n).map(|id| codes.code(id).to_vec()).collect()
}

/// What timing MIH on the sample queries found.
enum Timed {
    /// Seconds per query.
    Seconds(f64),
    /// The total passed the budget.
    TooSlow,
    /// More than half the searches gave way to a scan: MIH would only add rounds before the scan (and a
    /// search for more than [`SAMPLE_K`] hits gives way sooner still).
    GaveWay,
}

/// Times MIH over `queries` against `budget` seconds in all; unless MIH is `forced`, stops as soon as
/// more than half the searches gave way to a scan.
fn time_mih(index: &HammingIndex, queries: &[Vec<u64>], budget: f64, forced: bool) -> Timed {
    let mut s = index.searcher();
    let t = Instant::now();
    let mut gave_way = 0;
    for q in queries {
        s.run(Path::Mih, "", q, SAMPLE_K, &Filter::NONE);
        gave_way += usize::from(s.explain().gave_way);
        if !forced && 2 * gave_way > queries.len() {
            return Timed::GaveWay;
        }
        if t.elapsed().as_secs_f64() > budget {
            return Timed::TooSlow;
        }
    }
    Timed::Seconds(t.elapsed().as_secs_f64() / queries.len().max(1) as f64)
}

impl HammingIndex {
    /// Builds an index over the present codes of `codes`.
    pub fn build(codes: CodeStore, options: &IndexOptions) -> HammingIndex {
        let start = Instant::now();
        let kernel = options.kernel.filter(|k| k.is_available()).unwrap_or_else(Kernel::best);
        let plan = Plan { mih: false, reason: "", mih_s: 0.0, scan_s: 0.0, gather_s: 0.0 };
        let mut index = HammingIndex { codes, kernel, mih: None, plan, build_time: Duration::ZERO };
        index.calibrate_scans();
        let n = index.codes.len();
        let bits = index.codes.bits();
        index.plan.reason = match options.path {
            Some(Path::Scan | Path::ScanAllowed) => "the index was built to scan",
            Some(Path::Mih) => "the index was built for MIH",
            None if n < MIN_MIH_CODES => "few codes: a scan takes microseconds",
            None => "",
        };
        let wants_mih = options.path == Some(Path::Mih) || (options.path.is_none() && n >= MIN_MIH_CODES);
        if wants_mih {
            let m0 = (f64::from(bits) / f64::from(n.max(2)).log2()).round().max(1.0) as usize;
            let candidates = match options.m {
                Some(m) => vec![m],
                None => vec![m0, m0 + 1, m0 + 2],
            };
            let queries = sample_queries(&index.codes, SAMPLE);
            let scan_per_query = index.plan.scan_s * f64::from(index.codes.slots());
            // Keep to the tables estimated to fit the memory budget, where any do.
            let (n, words) = (index.codes.len() as usize, index.codes.words());
            let fitting: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&m| Mih::estimate_bytes(bits, n, m, options.layout) <= MEMORY_BUDGET * n * words * 8)
                .collect();
            let candidates = if fitting.is_empty() { candidates } else { fitting };
            let mut best: Option<(f64, Mih)> = None;
            let mut gave_way = false;
            for m in candidates {
                index.mih = Some(Mih::build(&index.codes, m, options.layout));
                // Stop timing once this candidate cannot win.
                let limit = match (&best, options.path) {
                    (Some((t, _)), _) => t * queries.len() as f64,
                    (None, Some(Path::Mih)) => f64::INFINITY,
                    (None, _) => scan_per_query * queries.len() as f64,
                };
                let timed = time_mih(&index, &queries, limit, options.path == Some(Path::Mih));
                match (timed, index.mih.take()) {
                    (Timed::Seconds(t), Some(mih)) if best.as_ref().is_none_or(|(b, _)| t < *b) => {
                        best = Some((t, mih));
                    }
                    (Timed::GaveWay, _) => gave_way = true,
                    _ => {}
                }
            }
            if let Some((t, mih)) = best {
                index.plan.mih_s = t;
                index.mih = Some(mih);
                index.plan.mih = true;
                if options.path.is_none() {
                    index.plan.reason = "MIH beat the scan on sample queries at build time";
                }
            } else if gave_way {
                index.plan.reason = "MIH's sample searches gave way to the scan at build time";
            } else {
                index.plan.reason = "the scan beat MIH on sample queries at build time";
            }
        }
        index.build_time = start.elapsed();
        index
    }

    /// Times the full scan and the scan over listed ids on sample queries.
    fn calibrate_scans(&mut self) {
        let queries = sample_queries(&self.codes, 4);
        let slots = f64::from(self.codes.slots().max(1));
        let mut s = self.searcher();
        let t = Instant::now();
        for q in &queries {
            s.run(Path::Scan, "", q, SAMPLE_K, &Filter::NONE);
        }
        let scan_s = t.elapsed().as_secs_f64() / (queries.len().max(1) as f64 * slots);
        // A scan of every eighth id stands for an allowed set: roaring iteration, gather and top-k included.
        let allowed = Allowed::new(self.codes.ids().step_by(8).collect());
        let filter = Filter { allowed: Some(&allowed), excluded: None };
        let t = Instant::now();
        for q in &queries {
            s.run(Path::ScanAllowed, "", q, SAMPLE_K, &filter);
        }
        let gather_s = t.elapsed().as_secs_f64() / ((queries.len() as u64 * allowed.len()).max(1) as f64);
        self.plan.scan_s = scan_s;
        self.plan.gather_s = gather_s;
    }

    /// The indexed codes.
    pub fn codes(&self) -> &CodeStore {
        &self.codes
    }

    /// The distance kernel in use.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// The number of MIH tables, 0 if the index scans.
    pub fn tables(&self) -> usize {
        self.mih.as_ref().map_or(0, Mih::m)
    }

    /// Whether the index kept MIH tables (else every search scans).
    pub fn uses_mih(&self) -> bool {
        self.plan.mih
    }

    /// Why the index hashes or scans.
    pub fn build_reason(&self) -> &'static str {
        self.plan.reason
    }

    /// Bytes of the MIH tables, not counting the codes.
    pub fn index_bytes(&self) -> usize {
        self.mih.as_ref().map_or(0, Mih::bytes)
    }

    /// How long [`build`](Self::build) took, sample timings included.
    pub fn build_time(&self) -> Duration {
        self.build_time
    }

    /// A searcher with its own work space, for many searches on one thread.
    pub fn searcher(&self) -> Searcher<'_> {
        Searcher {
            index: self,
            top: TopK::default(),
            scratch: Scratch::default(),
            scan: ScanScratch::default(),
            ids: Vec::new(),
            dist: Vec::new(),
            explain: Explain::new(Path::Scan, "", self.kernel),
        }
    }

    /// The exact `k` nearest codes to `query` that pass `filter`, and what the search did.
    pub fn search(&self, query: &[u64], k: usize, filter: &Filter<'_>) -> Result<(Vec<Hit>, Explain)> {
        let mut s = self.searcher();
        let hits = s.search(query, k, filter)?;
        Ok((hits, s.explain))
    }

    /// Searches many queries (packed `words` apart) in parallel; `filter(i)` gives query `i`'s filter.
    pub fn search_batch<'f, F>(&self, queries: &[u64], k: usize, filter: F) -> Result<Vec<Vec<Hit>>>
    where
        F: Fn(usize) -> Filter<'f> + Sync,
    {
        let w = self.codes.words();
        if !queries.len().is_multiple_of(w) {
            return Err(StorageError::Limit(format!(
                "{} words are not whole {w}-word queries",
                queries.len()
            )));
        }
        queries
            .par_chunks(w)
            .enumerate()
            .map_init(|| self.searcher(), |s, (i, q)| s.search(q, k, &filter(i)))
            .collect()
    }
}

/// Searches one index from one thread, reusing its work space; keeps the [`Explain`] of the last search.
#[derive(Debug)]
pub struct Searcher<'a> {
    index: &'a HammingIndex,
    top: TopK,
    scratch: Scratch,
    scan: ScanScratch,
    ids: Vec<u32>,
    dist: Vec<u32>,
    explain: Explain,
}

impl Searcher<'_> {
    /// The exact `k` nearest codes to `query` that pass `filter`, by the path the planner picks.
    pub fn search(&mut self, query: &[u64], k: usize, filter: &Filter<'_>) -> Result<Vec<Hit>> {
        self.index.codes.check_code(query)?;
        let allowed = filter.allowed.map(|a| a.len());
        let (path, reason) = self.index.plan.choose(self.index.codes.slots(), allowed);
        Ok(self.run(path, reason, query, k, filter))
    }

    /// Like [`search`](Self::search) on a given path (MIH scans if the index has no tables; a scan of the
    /// allowed ids scans everything if there is no allowed set).
    pub fn search_with(
        &mut self,
        path: Path,
        query: &[u64],
        k: usize,
        filter: &Filter<'_>,
    ) -> Result<Vec<Hit>> {
        self.index.codes.check_code(query)?;
        Ok(self.run(path, "path forced", query, k, filter))
    }

    /// What the last search did.
    pub fn explain(&self) -> &Explain {
        &self.explain
    }

    /// Runs one search of a checked query.
    fn run(
        &mut self,
        path: Path,
        reason: &'static str,
        query: &[u64],
        k: usize,
        filter: &Filter<'_>,
    ) -> Vec<Hit> {
        let start = Instant::now();
        let index = self.index;
        let path = match (path, &index.mih, filter.allowed) {
            (Path::Mih, None, _) => Path::Scan,
            (Path::ScanAllowed, _, None) => Path::Scan,
            (p, _, _) => p,
        };
        let mut e = Explain::new(path, reason, index.kernel);
        self.top.reset(k);
        let hits = match (path, &index.mih) {
            (Path::Mih, Some(mih)) => {
                let st =
                    mih.search(&index.codes, index.kernel, query, filter, &mut self.top, &mut self.scratch);
                e.tables = mih.m();
                e.substring_bits = mih.substring_bits();
                e.radius = st.radius;
                e.buckets_probed = st.buckets;
                e.candidates = st.candidates;
                e.filtered = st.filtered;
                e.lookups = st.lookups;
                e.gave_way = st.gave_way;
                self.top.take_sorted()
            }
            (Path::ScanAllowed, _) => {
                e.candidates = scan_ids(
                    index.kernel,
                    &index.codes,
                    query,
                    filter,
                    &mut self.top,
                    &mut self.ids,
                    &mut self.dist,
                );
                self.top.take_sorted()
            }
            _ => {
                let mut hits = Vec::new();
                e.candidates =
                    scan_all(index.kernel, &index.codes, query, k, filter, &mut self.scan, &mut hits);
                hits
            }
        };
        e.elapsed = start.elapsed();
        self.explain = e;
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hamming::brute_force;
    use roaring::RoaringBitmap;

    fn codes(n: u64, bits: u32) -> CodeStore {
        let w = bits.div_ceil(64) as u64;
        let mask = super::super::codes::last_word_mask(bits);
        let data = (0..n * w)
            .map(|i| {
                let v = (i / w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left((i % w) as u32 * 7) >> 3;
                if i % w == w - 1 {
                    v & mask
                } else {
                    v
                }
            })
            .collect();
        CodeStore::from_words(bits, data).expect("valid")
    }

    #[test]
    fn chosen_tables_fit_the_memory_budget() {
        // 300k 64-bit codes: of the candidates m = 4, 5, 6, only four packed tables fit in four times the
        // code bytes (6-byte entries; 7 bytes from m = 5 on).
        let n = 300_000;
        let store = codes(n, 64);
        let code_bytes = n as usize * 8;
        let packed =
            HammingIndex::build(store.clone(), &IndexOptions { path: Some(Path::Mih), ..Default::default() });
        assert_eq!(packed.tables(), 4);
        assert!(packed.index_bytes() <= MEMORY_BUDGET * code_bytes, "{}", packed.index_bytes());
        // No inline index fits: every candidate is timed.
        let opts = IndexOptions { path: Some(Path::Mih), layout: Layout::Inline, ..Default::default() };
        let inline = HammingIndex::build(store, &opts);
        assert!((4..=6).contains(&inline.tables()));
        assert!(inline.index_bytes() > MEMORY_BUDGET * code_bytes);
    }

    #[test]
    fn every_path_matches_brute_force() {
        let codes = codes(3000, 32);
        let index =
            HammingIndex::build(codes.clone(), &IndexOptions { path: Some(Path::Mih), ..Default::default() });
        assert!(index.tables() > 0 && index.index_bytes() > 0);
        let allowed = Allowed::new((0..3000).step_by(3).collect());
        let excluded: RoaringBitmap = (0..3000).step_by(7).collect();
        let mut s = index.searcher();
        for q in [0u64, 0xdead_beef, 0x1234_5678] {
            for filter in [
                Filter::NONE,
                Filter { allowed: Some(&allowed), excluded: Some(&excluded) },
                Filter { allowed: None, excluded: Some(&excluded) },
            ] {
                let want = brute_force(&codes, &[q], 17, &filter);
                for path in [Path::Mih, Path::Scan, Path::ScanAllowed] {
                    assert_eq!(s.search_with(path, &[q], 17, &filter).expect("valid"), want, "{path:?}");
                }
                assert_eq!(s.search(&[q], 17, &filter).expect("valid"), want);
            }
        }
        assert!(s.search(&[1 << 40], 3, &Filter::NONE).is_err());
        let batch = index.search_batch(&[0, 0xdead_beef], 5, |_| Filter::NONE).expect("valid");
        assert_eq!(batch[1], brute_force(&codes, &[0xdead_beef], 5, &Filter::NONE));
        assert!(index.search_batch(&[0, 1], 5, |_| Filter::NONE).is_ok());
    }

    #[test]
    fn an_index_whose_sample_searches_give_way_to_the_scan_keeps_no_tables() {
        // 5,000 scattered 256-bit codes: finding even ten hits would take id look-ups costing more than a
        // scan of 20,000 words, so every search gives way before its first round.
        let store = codes(5000, 256);
        let chosen = HammingIndex::build(store.clone(), &IndexOptions::default());
        assert!(!chosen.uses_mih() && chosen.tables() == 0);
        assert_eq!(chosen.build_reason(), "MIH's sample searches gave way to the scan at build time");
        let forced =
            HammingIndex::build(store.clone(), &IndexOptions { path: Some(Path::Mih), ..Default::default() });
        assert!(forced.uses_mih(), "a forced MIH index keeps its tables");
        let query = store.code(7).to_vec();
        let (hits, explain) = forced.search(&query, 10, &Filter::NONE).expect("valid");
        assert!(explain.gave_way && explain.buckets_probed == 0, "{explain:?}");
        assert_eq!(hits, brute_force(&store, &query, 10, &Filter::NONE));
    }

    #[test]
    fn few_codes_are_scanned() {
        let index = HammingIndex::build(codes(100, 64), &IndexOptions::default());
        assert!(!index.uses_mih() && index.tables() == 0);
        let (hits, explain) = index.search(&[5], 3, &Filter::NONE).expect("valid");
        assert_eq!(hits.len(), 3);
        assert_eq!(explain.path, Path::Scan);
    }
}
