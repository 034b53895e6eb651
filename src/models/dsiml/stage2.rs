//! Stage 2, alternating majorise-minimise updates of the codes (dsiml.md §5-6): for a triplet set fixed
//! during an outer iteration, every user's block (item codes fixed, dsiml.md §5.4) is bounded at the current
//! codes and solved by coordinate descent with accept-if-better, users in parallel; then every item's
//! block (both its positive and its negative role, dsiml.md §5.5) likewise, items one after another in id
//! order (Gauss-Seidel), each built from the current codes, so the objective on the triplet set never
//! rises. After each outer iteration the objective on a fixed monitoring set (one negative per positive,
//! drawn once) decides whether to go on. A last user pass against the final item codes ends the stage,
//! so that trained users are what fold-in computes.

use std::ops::Range;

use rayon::prelude::*;

use super::bound::{Block, Objective};
use super::bqp;
use super::codes::{hamming, CodeBook};
use super::triplets::{generator, negative, sample_user, ItemIndex, Triplets};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Stream of the monitoring set's generators.
const MONITOR_STREAM: u64 = 0x4d4f_4e00;
/// Stream of outer iteration `t`'s triplets is this plus `t`.
const TRAIN_STREAM: u64 = 0x5452_0000;
/// Stream of fold-in triplets.
const FOLD_STREAM: u64 = 0x464f_4c44;
/// Stream of item fold-in negatives.
const FOLD_ITEM_STREAM: u64 = 0x4649_544d;
/// Most rounds (bound, solve) of a fold-in.
pub const FOLD_ROUNDS: usize = 10;
/// Triplets (in either role, for the item pass) between progress reports and cancellation checks in
/// the user and item passes: a few tenths of a second's work at most on MovieLens-1M (the item pass
/// reported every 256 items, up to seconds apart among the popular items).
const REPORT_TRIPLETS: usize = 1 << 16;

/// Stage-2 settings.
#[derive(Debug, Clone, Copy)]
pub struct Stage2 {
    /// The objective on codes (with the temperature `S`).
    pub objective: Objective,
    /// Negatives per positive.
    pub negatives: usize,
    /// Most outer iterations.
    pub iterations: usize,
    /// Stop when the monitoring objective falls by less than this fraction.
    pub tolerance: f64,
    /// Seed.
    pub seed: u64,
}

/// Reusable buffers of one block solve.
struct Work {
    block: Block,
    c: Vec<f32>,
}

impl Work {
    fn new(bits: usize) -> Self {
        Work { block: Block::new(bits), c: Vec::new() }
    }

    /// Solves the built block from `v`; returns whether `v` changed.
    fn solve(&mut self, v: &mut [f32]) -> bool {
        if self.block.is_empty() {
            return false;
        }
        self.block.matrix(&mut self.c);
        bqp::solve(&self.c, &self.block.linear, v)
    }
}

/// The `±1` inner product of two packed codes of `bits` bits.
#[inline]
fn ip(bits: usize, a: &[u64], b: &[u64]) -> f64 {
    bits as f64 - 2.0 * f64::from(hamming(a, b))
}

/// Adds to `block` the bounds of a user's triplets `(j, k)`, at its current code `packed` (dsiml.md §5.4).
fn user_block(
    o: &Objective,
    packed: &[u64],
    items: &CodeBook,
    pairs: impl Iterator<Item = (u32, u32)>,
    block: &mut Block,
) {
    let (r, s) = (o.bits, o.scale);
    let (g2, g1) = o.angular_coefficients();
    let rf = o.rank_factor();
    block.clear();
    for (j, k) in pairs {
        let (dj, dk) = (items.signs(j), items.signs(k));
        let (uj, uk) = (ip(r, packed, items.code(j)), ip(r, packed, items.code(k)));
        let jk = items.dot(j, items, k) as f64;
        let (zx, zy) = o.variables(uj, uk, jk);
        block.add(1.0, zx, 0.0, &[(rf, dk), (-rf, dj)]);
        block.add(o.lambda, zy, s * (g2 * jk + o.offset), &[(s * g2, dk), (-s * g1, dj)]);
    }
}

/// A triplet set with what the item blocks need: the user of each triplet and the items' roles.
struct Roles<'a> {
    triplets: &'a Triplets,
    users_of: Vec<u32>,
    index: ItemIndex,
}

impl<'a> Roles<'a> {
    fn new(triplets: &'a Triplets, n_items: usize) -> Self {
        Roles { triplets, users_of: triplets.users(), index: ItemIndex::new(triplets, n_items) }
    }
}

/// Adds to `block` the bounds of item `i`'s triplets, in both roles, at the current codes (dsiml.md §5.5).
fn item_block(o: &Objective, i: u32, roles: &Roles, users: &CodeBook, items: &CodeBook, block: &mut Block) {
    let Roles { triplets: t, users_of, index } = roles;
    let (r, s) = (o.bits, o.scale);
    let (g2, g1) = o.angular_coefficients();
    let rf = o.rank_factor();
    block.clear();
    let di = items.code(i);
    for &id in index.as_positive(i as usize) {
        add_positive(o, di, users, users_of[id as usize], items, t.neg[id as usize], block);
    }
    for &id in index.as_negative(i as usize) {
        let (u, j) = (users_of[id as usize], t.pos[id as usize]);
        let (bu, dj) = (users.signs(u), items.signs(j));
        let (uj, ui) = (users.dot(u, items, j) as f64, ip(r, users.code(u), di));
        let ji = ip(r, items.code(j), di);
        let (zx, zy) = o.variables(uj, ui, ji);
        block.add(1.0, zx, -rf * uj, &[(rf, bu)]);
        block.add(o.lambda, zy, s * (o.offset - g1 * uj), &[(s * g2, bu), (s * g2, dj)]);
    }
}

/// Adds to `block` the bound of the triplet `(u, i, k)` in which item `i`, whose current code is `di`,
/// is the positive (the first half of dsiml.md §5.5).
fn add_positive(
    o: &Objective,
    di: &[u64],
    users: &CodeBook,
    u: u32,
    items: &CodeBook,
    k: u32,
    block: &mut Block,
) {
    let (r, s) = (o.bits, o.scale);
    let (g2, g1) = o.angular_coefficients();
    let rf = o.rank_factor();
    let (bu, dk) = (users.signs(u), items.signs(k));
    let (ui, uk) = (ip(r, users.code(u), di), users.dot(u, items, k) as f64);
    let ik = ip(r, di, items.code(k));
    let (zx, zy) = o.variables(ui, uk, ik);
    block.add(1.0, zx, rf * uk, &[(-rf, bu)]);
    block.add(o.lambda, zy, s * (g2 * uk + o.offset), &[(s * g2, dk), (-s * g1, bu)]);
}

/// The objective summed over the triplets `t` (summed per user, then in user order: the same for any
/// thread count).
pub fn triplet_loss(o: &Objective, users: &CodeBook, items: &CodeBook, t: &Triplets) -> f64 {
    let per_user: Vec<f64> = (0..t.user_ptr.len() - 1)
        .into_par_iter()
        .map(|u| {
            t.of_user(u)
                .map(|at| {
                    let (j, k) = (t.pos[at], t.neg[at]);
                    let u = u as u32;
                    o.loss(
                        users.dot(u, items, j) as f64,
                        users.dot(u, items, k) as f64,
                        items.dot(j, items, k) as f64,
                    )
                })
                .sum()
        })
        .collect();
    per_user.iter().sum()
}

/// Consecutive ranges of users holding at least `per_range` triplets each (the last may hold fewer).
fn user_ranges(t: &Triplets, per_range: usize) -> Vec<Range<usize>> {
    let n = t.user_ptr.len() - 1;
    let mut ranges = Vec::new();
    let mut start = 0;
    for u in 0..n {
        if t.user_ptr[u + 1] - t.user_ptr[start] >= per_range {
            ranges.push(start..u + 1);
            start = u + 1;
        }
    }
    if start < n {
        ranges.push(start..n);
    }
    ranges
}

/// Updates every user's code against the fixed items, in parallel; returns how many changed. Calls
/// `progress` before each range of users holding [`REPORT_TRIPLETS`] triplets; a cancelled error when
/// it says stop.
pub fn user_pass(
    o: &Objective,
    users: &mut CodeBook,
    items: &CodeBook,
    t: &Triplets,
    progress: &mut dyn FnMut() -> bool,
) -> Result<usize> {
    user_pass_by(o, users, items, t, REPORT_TRIPLETS, progress)
}

/// [`user_pass`], reporting before each range of `per_report` triplets. Users are independent given
/// the items, so the ranges change nothing but the reports.
fn user_pass_by(
    o: &Objective,
    users: &mut CodeBook,
    items: &CodeBook,
    t: &Triplets,
    per_report: usize,
    progress: &mut dyn FnMut() -> bool,
) -> Result<usize> {
    let bits = o.bits;
    let mut changed = 0;
    for range in user_ranges(t, per_report) {
        if !progress() {
            return Err(Error::cancelled("training"));
        }
        changed += users
            .rows_mut()
            .enumerate()
            .skip(range.start)
            .take(range.len())
            .map_init(
                || Work::new(bits),
                |work, (u, (signs, packed))| {
                    let pairs = t.of_user(u).map(|at| (t.pos[at], t.neg[at]));
                    user_block(o, packed, items, pairs, &mut work.block);
                    let changed = work.solve(signs);
                    if changed {
                        super::codes::pack(signs, packed);
                    }
                    usize::from(changed)
                },
            )
            .sum::<usize>();
    }
    Ok(changed)
}

/// Updates every item's code in id order, each against the current codes; returns how many changed.
/// Calls `progress` (with the next item) before the first item and after each [`REPORT_TRIPLETS`]
/// triplets that name the items passed; a cancelled error when it says stop.
pub fn item_pass(
    o: &Objective,
    users: &CodeBook,
    items: &mut CodeBook,
    t: &Triplets,
    progress: &mut dyn FnMut(usize) -> bool,
) -> Result<usize> {
    item_pass_by(o, users, items, t, REPORT_TRIPLETS, progress)
}

/// [`item_pass`], reporting after each `per_report` triplets.
fn item_pass_by(
    o: &Objective,
    users: &CodeBook,
    items: &mut CodeBook,
    t: &Triplets,
    per_report: usize,
    progress: &mut dyn FnMut(usize) -> bool,
) -> Result<usize> {
    let roles = Roles::new(t, items.rows());
    let mut work = Work::new(o.bits);
    let mut v = vec![0f32; o.bits];
    let mut changed = 0;
    // Each item counts one besides its triplets, so that a run of items without any still reports.
    let mut since = per_report;
    for i in 0..items.rows() {
        if since >= per_report {
            if !progress(i) {
                return Err(Error::cancelled("training"));
            }
            since = 0;
        }
        since += 1 + roles.index.as_positive(i).len() + roles.index.as_negative(i).len();
        item_block(o, i as u32, &roles, users, items, &mut work.block);
        v.copy_from_slice(items.signs(i as u32));
        if work.solve(&mut v) {
            items.set(i as u32, &v);
            changed += 1;
        }
    }
    Ok(changed)
}

/// Runs stage 2 on codes initialised from the signs of stage 0; `rows(u)` gives user `u`'s positives.
pub fn train<'a>(
    s: &Stage2,
    users: &mut CodeBook,
    items: &mut CodeBook,
    rows: &(dyn Fn(u32) -> &'a [u32] + Sync),
    progress: &dyn Progress,
) -> Result<()> {
    let o = &s.objective;
    let (n_users, n_items) = (users.rows(), items.rows());
    let monitor = Triplets::sample(n_users, n_items, rows, 1, s.seed, MONITOR_STREAM);
    let per = |l: f64| l / monitor.count().max(1) as f64;
    let mut previous = triplet_loss(o, users, items, &monitor);
    let total = s.iterations as u64;
    let mut last = None;
    for iteration in 0..s.iterations {
        let phase = format!("dsiml stage 2: iteration {}, objective {:.4}", iteration + 1, per(previous));
        if !progress.update(&phase, iteration as u64, total) {
            return Err(Error::cancelled("training"));
        }
        let t =
            Triplets::sample(n_users, n_items, rows, s.negatives, s.seed, TRAIN_STREAM + iteration as u64);
        let mut changed =
            user_pass(o, users, items, &t, &mut || progress.update(&phase, iteration as u64, total))?;
        changed += item_pass(o, users, items, &t, &mut |_| progress.update(&phase, iteration as u64, total))?;
        let now = triplet_loss(o, users, items, &monitor);
        last = Some(t);
        let done = changed == 0 || previous - now < s.tolerance * previous.abs();
        previous = now;
        if done {
            break;
        }
    }
    if let Some(t) = last {
        let phase = format!("dsiml stage 2: last user pass, objective {:.4}", per(previous));
        user_pass(o, users, items, &t, &mut || progress.update(&phase, total, total))?;
    }
    let phase = format!("dsiml stage 2: done, objective {:.4}", per(triplet_loss(o, users, items, &monitor)));
    progress.update(&phase, total, total);
    Ok(())
}

/// The code of a user whose positives are `seen` (sorted ids below `items.rows()`), with the item codes
/// fixed: triplets drawn from a generator seeded by `seed` and `key`, a start from the signs of the sum
/// of the items' codes, then up to [`FOLD_ROUNDS`] rounds of bounding at the current code and solving.
pub fn fold_in(
    o: &Objective,
    items: &CodeBook,
    seen: &[u32],
    negatives: usize,
    seed: u64,
    key: u64,
) -> Vec<u64> {
    let r = o.bits;
    let pairs = sample_user(&mut generator(seed, FOLD_STREAM, key), items.rows(), seen, negatives);
    let mut sum = vec![0f32; r];
    for &j in seen {
        sum.iter_mut().zip(items.signs(j)).for_each(|(a, b)| *a += b);
    }
    let mut code = CodeBook::from_values(&sum, r);
    let mut v = code.signs(0).to_vec();
    let mut work = Work::new(r);
    for _ in 0..FOLD_ROUNDS {
        user_block(o, code.code(0), items, pairs.iter().copied(), &mut work.block);
        if !work.solve(&mut v) {
            break;
        }
        code.set(0, &v);
    }
    code.into_packed()
}

/// The code of an item the model has none for (it arrived after training), from the users who have it,
/// `(user, its positives)` (sorted ids below `items.rows()`), every other code fixed: the item is the
/// positive of triplets `(u, item, k)` with `negatives` items `k` per user drawn from a generator
/// seeded by `seed` and `key`; a start from the signs of the sum of its users' codes, then up to
/// [`FOLD_ROUNDS`] rounds of bounding at the current code and solving.
pub fn fold_in_item(
    o: &Objective,
    users: &CodeBook,
    items: &CodeBook,
    its_users: &[(u32, &[u32])],
    negatives: usize,
    seed: u64,
    key: u64,
) -> Vec<u64> {
    let r = o.bits;
    let mut rng = generator(seed, FOLD_ITEM_STREAM, key);
    let mut triplets = Vec::with_capacity(its_users.len() * negatives);
    let mut sum = vec![0f32; r];
    for &(u, seen) in its_users {
        sum.iter_mut().zip(users.signs(u)).for_each(|(a, b)| *a += b);
        triplets
            .extend((0..negatives).filter_map(|_| negative(&mut rng, items.rows(), seen).map(|k| (u, k))));
    }
    let mut code = CodeBook::from_values(&sum, r);
    let mut v = code.signs(0).to_vec();
    let mut work = Work::new(r);
    for _ in 0..FOLD_ROUNDS {
        work.block.clear();
        for &(u, k) in &triplets {
            add_positive(o, code.code(0), users, u, items, k, &mut work.block);
        }
        if !work.solve(&mut v) {
            break;
        }
        code.set(0, &v);
    }
    code.into_packed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::dsiml::bound::bound;

    /// 30 users in 3 groups, each with 6 of its group's 12 items (40 items in all).
    fn rows() -> Vec<Vec<u32>> {
        (0..30u32)
            .map(|u| (0..6).map(|t| (u % 3) * 12 + (u / 3 + t * 2) % 12).collect::<Vec<u32>>())
            .map(|mut r| {
                r.sort_unstable();
                r.dedup();
                r
            })
            .collect()
    }

    fn book(rows: usize, bits: usize, seed: u64) -> CodeBook {
        let mut rng = generator(seed, 9, 9);
        let v: Vec<f32> =
            (0..rows * bits).map(|_| super::super::triplets::below(&mut rng, 2) as f32 - 0.5).collect();
        CodeBook::from_values(&v, bits)
    }

    fn objective(bits: usize) -> Objective {
        Objective { bits, gamma: 1.0, lambda: 1.0, scale: 2.0 / bits as f64, rank_scale: 3.0, offset: 0.0 }
    }

    /// `v` as the `bits` low bits of `m`.
    fn code_of(m: u32, bits: usize) -> Vec<f32> {
        (0..bits).map(|t| if m >> t & 1 == 1 { 1.0 } else { -1.0 }).collect()
    }

    /// The bound of every triplet of `t` expanded at `at` (the codes the blocks were built from),
    /// evaluated at the codes `users`, `items`.
    fn surrogate(
        o: &Objective,
        at: (&CodeBook, &CodeBook),
        now: (&CodeBook, &CodeBook),
        t: &Triplets,
    ) -> f64 {
        let users_of = t.users();
        (0..t.count())
            .map(|id| {
                let (u, j, k) = (users_of[id], t.pos[id], t.neg[id]);
                let vars = |(b, d): (&CodeBook, &CodeBook)| {
                    o.variables(b.dot(u, d, j) as f64, b.dot(u, d, k) as f64, d.dot(j, d, k) as f64)
                };
                let ((x0, y0), (x, y)) = (vars(at), vars(now));
                bound(x, x0) + o.lambda * bound(y, y0)
            })
            .sum()
    }

    #[test]
    fn each_block_is_the_summed_bound_up_to_a_constant_on_all_codes() {
        let bits = 6;
        let o = objective(bits);
        let rows = rows();
        let get = |u: u32| &rows[u as usize][..];
        let t = Triplets::sample(30, 40, &get, 3, 5, 1);
        let (users, items) = (book(30, bits, 1), book(40, bits, 2));
        let mut block = Block::new(bits);
        let mut c = Vec::new();
        // User 4's block: other users' terms do not depend on b_4.
        user_block(&o, users.code(4), &items, t.of_user(4).map(|at| (t.pos[at], t.neg[at])), &mut block);
        block.matrix(&mut c);
        let mut diffs = Vec::new();
        for m in 0..64 {
            let v = code_of(m, bits);
            let mut now = users.clone();
            now.set(4, &v);
            diffs.push(
                surrogate(&o, (&users, &items), (&now, &items), &t) - bqp::quadratic(&c, &block.linear, &v),
            );
        }
        assert!(diffs.iter().all(|d| (d - diffs[0]).abs() < 1e-4), "user block: {diffs:?}");
        // Item 13's block, in both roles.
        let roles = Roles::new(&t, 40);
        assert!(!roles.index.as_positive(13).is_empty() && !roles.index.as_negative(13).is_empty());
        item_block(&o, 13, &roles, &users, &items, &mut block);
        block.matrix(&mut c);
        diffs.clear();
        for m in 0..64 {
            let v = code_of(m, bits);
            let mut now = items.clone();
            now.set(13, &v);
            diffs.push(
                surrogate(&o, (&users, &items), (&users, &now), &t) - bqp::quadratic(&c, &block.linear, &v),
            );
        }
        assert!(diffs.iter().all(|d| (d - diffs[0]).abs() < 1e-4), "item block: {diffs:?}");
    }

    #[test]
    fn the_objective_never_rises_across_block_updates() {
        let bits = 16;
        let rows = rows();
        let get = |u: u32| &rows[u as usize][..];
        for o in [objective(bits), Objective { scale: 1.0, rank_scale: 1.0, gamma: 0.7, ..objective(bits) }] {
            let (mut users, mut items) = (book(30, bits, 3), book(40, bits, 4));
            let t = Triplets::sample(30, 40, &get, 5, 5, 2);
            let mut last = triplet_loss(&o, &users, &items, &t);
            let start = last;
            for _ in 0..3 {
                user_pass(&o, &mut users, &items, &t, &mut || true).expect("user pass");
                let after_users = triplet_loss(&o, &users, &items, &t);
                assert!(after_users <= last + 1e-9 * last, "users: {last} → {after_users}");
                item_pass(&o, &users, &mut items, &t, &mut |_| true).expect("item pass");
                last = triplet_loss(&o, &users, &items, &t);
                assert!(last <= after_users + 1e-9 * after_users, "items: {after_users} → {last}");
            }
            assert!(last < 0.9 * start, "the objective fell: {start} → {last}");
        }
    }

    #[test]
    fn passes_report_after_each_stretch_of_triplets_and_give_the_same_codes() {
        let (bits, rows) = (16, rows());
        let get = |u: u32| &rows[u as usize][..];
        let t = Triplets::sample(30, 40, &get, 5, 5, 2);
        let o = objective(bits);
        let mut once = (book(30, bits, 3), book(40, bits, 4));
        let mut often = once.clone();
        let mut reports = (0, 0);
        let changed = user_pass_by(&o, &mut once.0, &once.1, &t, usize::MAX, &mut || true).expect("users");
        let again = user_pass_by(&o, &mut often.0, &often.1, &t, 20, &mut || {
            reports.0 += 1;
            true
        });
        assert_eq!(again.expect("users"), changed);
        item_pass_by(&o, &once.0, &mut once.1, &t, usize::MAX, &mut |_| true).expect("items");
        item_pass_by(&o, &often.0, &mut often.1, &t, 20, &mut |_| {
            reports.1 += 1;
            true
        })
        .expect("items");
        assert_eq!(
            (once.0.into_packed(), once.1.into_packed()),
            (often.0.into_packed(), often.1.into_packed())
        );
        // Every user has triplets, 5 per positive: one range per user of 4 or more positives.
        let users_reports = user_ranges(&t, 20).len();
        assert_eq!(reports.0, users_reports);
        assert!(users_reports > 10, "{users_reports} ranges");
        // Each item's triplets in both roles, one more per item: 2 · count + 40 units, 20 or more a report.
        assert!(reports.1 > 10 && reports.1 <= (2 * t.count() + 40).div_ceil(20), "{} reports", reports.1);
        let stop = user_pass_by(&o, &mut book(30, bits, 3), &book(40, bits, 4), &t, 20, &mut || false);
        assert!(matches!(stop.map_err(|e| e.kind().code()), Err("cancelled")));
    }

    #[test]
    fn users_are_cut_into_ranges_of_enough_triplets() {
        let t = Triplets { user_ptr: vec![0, 3, 3, 4, 9, 10], pos: vec![0; 10], neg: vec![0; 10] };
        assert_eq!(user_ranges(&t, 4), vec![0..3, 3..4, 4..5]);
        assert_eq!(
            user_ranges(&t, 1),
            vec![0..1, 1..3, 3..4, 4..5],
            "a user without triplets joins the next"
        );
    }

    #[test]
    fn cancelling_the_item_pass_is_an_error() {
        let rows = rows();
        let get = |u: u32| &rows[u as usize][..];
        let t = Triplets::sample(30, 40, &get, 1, 5, 2);
        let (users, mut items) = (book(30, 8, 3), book(40, 8, 4));
        let r = item_pass(&objective(8), &users, &mut items, &t, &mut |_| false);
        assert!(matches!(r.map_err(|e| e.kind().code()), Err("cancelled")));
    }
}
