//! Dense symmetric positive definite inverses (EASE's Gram matrix, CoRML's `A`) and products in blocks
//! of columns, so that a long computation (minutes at 20,000 items) reports progress and can be
//! cancelled between blocks.
//!
//! `G = L Lᵀ` is factored in place by a right-looking blocked Cholesky (faer's kernels for each
//! diagonal block, panel solve and trailing update). Then, as faer's own inverse does, `L⁻¹` and
//! `P = G⁻¹ = L⁻ᵀ L⁻¹`, each one block of columns `c0..c1` at a time and only from row `c0` down:
//! column `j` of `L⁻¹` is zero above row `j`, and the trailing part of `L⁻¹` is the inverse of the
//! trailing part of `L`, so `L⁻¹`'s columns are a forward solve with `L[c0.., c0..]` over the
//! identity's columns, and `P`'s rows `c0..` of them a product of `L⁻¹`'s rows `c0..` only. That is
//! `n³/2` multiply-adds in all, as for faer's inverse, and the upper part is then mirrored from the
//! lower. Block widths follow the remaining size (a fixed amount of work per block), never the clock,
//! so the result does not depend on the machine's speed.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::prelude::{Reborrow, ReborrowMut};
use faer::{Accum, MatMut, MatRef};

use crate::error::{Error, Result};
use crate::progress::Progress;

/// Multiply-adds of one block (about a tenth of a second on two cores) where that is at least the
/// narrowest block: the work between two progress reports.
pub const BLOCK_WORK: f64 = 2e9;

/// The narrowest and widest blocks: narrower ones leave faer's kernels memory-bound (at 8,000 items,
/// 32 columns took 1.7 times as long as faer's inverse, 128 columns 1.2 times), wider ones gain
/// nothing. At 20,000 items a block of 128 columns is some 2.6·10¹⁰ multiply-adds, about a second.
const WIDTH: (usize, usize) = (128, 512);

/// The width of a block whose columns cost `per_column` multiply-adds each, for `work` per block, with
/// `left` columns left.
pub fn width(per_column: f64, work: f64, left: usize) -> usize {
    ((work / per_column.max(1.0)) as usize).clamp(WIDTH.0, WIDTH.1).min(left)
}

/// Reports `done` of `total` work as `phase` to `progress`, in thousandths; a cancelled error when it
/// says stop.
pub fn report(progress: &dyn Progress, phase: &str, done: f64, total: f64) -> Result<()> {
    let permille = if total > 0.0 { (1000.0 * done / total).round().min(1000.0) as u64 } else { 1000 };
    if progress.update(phase, permille, 1000) {
        Ok(())
    } else {
        Err(Error::cancelled("training"))
    }
}

/// Inverts the symmetric positive definite `n × n` matrix `gram` (column-major; its lower triangle is
/// read) in place: the full inverse, column-major, with one more `n × n` buffer meanwhile. `work` is
/// the work per block (see [`BLOCK_WORK`]); between blocks `progress` hears how far the inversion is,
/// as `phase` in thousandths, and may cancel it. A matrix that is not positive definite is an internal
/// error naming `what`.
pub fn inverse(
    gram: &mut [f32],
    n: usize,
    work: f64,
    progress: &dyn Progress,
    phase: &str,
    what: &str,
) -> Result<()> {
    let par = faer::get_global_parallelism();
    let m3 = |m: usize| (m as f64).powi(3) / 3.0;
    // Factoring, L⁻¹ and L⁻ᵀL⁻¹ cost n³/6 multiply-adds each.
    let total = 3.0 * m3(n);
    let mut done = 0.0;
    report(progress, phase, done, total)?;
    let mut l = MatMut::from_column_major_slice_mut(gram, n, n);
    let mut stack = MemBuffer::new(cholesky_in_place_scratch::<f32>(WIDTH.1, par, Default::default()));
    let mut c0 = 0;
    while c0 < n {
        let m = n - c0;
        let b = width((m * m) as f64, work, m);
        let (mut a11, _, mut a21, a22) = l.rb_mut().submatrix_mut(c0, c0, m, m).split_at_mut(b, b);
        cholesky_in_place(
            a11.rb_mut(),
            Default::default(),
            par,
            MemStack::new(&mut stack),
            Default::default(),
        )
        .map_err(|e| Error::internal(format!("{what} is not positive definite ({e:?})")))?;
        solve_lower_triangular_in_place(a11.rb(), a21.rb_mut().transpose_mut(), par);
        matmul(
            a22,
            BlockStructure::TriangularLower,
            Accum::Add,
            a21.rb(),
            BlockStructure::Rectangular,
            a21.rb().transpose(),
            BlockStructure::Rectangular,
            -1.0,
            par,
        );
        c0 += b;
        done += m3(m) - m3(n - c0);
        report(progress, phase, done, total)?;
    }
    // L⁻¹ into `lower`, a block of columns at a time: its columns c0.. are zero above row c0 and
    // solve L[c0.., c0..] X = the identity's columns.
    let mut lower = vec![0f32; n * n];
    let mut x = MatMut::from_column_major_slice_mut(&mut lower, n, n);
    let l = MatRef::from_column_major_slice(gram, n, n);
    let mut c0 = 0;
    while c0 < n {
        let m = n - c0;
        let b = width((m * m) as f64, work, m);
        let mut columns = x.rb_mut().submatrix_mut(c0, c0, m, b);
        for j in 0..b {
            columns[(j, j)] = 1.0;
        }
        solve_lower_triangular_in_place(l.submatrix(c0, c0, m, m), columns, par);
        c0 += b;
        done += m3(m) - m3(n - c0);
        report(progress, phase, done, total)?;
    }
    // P = L⁻ᵀL⁻¹ over L, rows c0.. of a block of columns at a time: only L⁻¹'s rows c0.. meet there.
    let x = MatRef::from_column_major_slice(&lower, n, n);
    let mut p = MatMut::from_column_major_slice_mut(gram, n, n);
    let mut c0 = 0;
    while c0 < n {
        let m = n - c0;
        let b = width((m * m) as f64, work, m);
        matmul(
            p.rb_mut().submatrix_mut(c0, c0, m, b),
            BlockStructure::Rectangular,
            Accum::Replace,
            x.submatrix(c0, c0, m, m).transpose(),
            BlockStructure::TriangularUpper,
            x.submatrix(c0, c0, m, b),
            BlockStructure::Rectangular,
            1.0,
            par,
        );
        c0 += b;
        done += m3(m) - m3(n - c0);
        report(progress, phase, done, total)?;
    }
    drop(lower);
    mirror_lower(gram, n);
    Ok(())
}

/// `dst += alpha · a · b` for column-major `n × n` matrices, a block of columns of `dst` and `b` at a
/// time (faer's product for each; `work` per block, see [`BLOCK_WORK`]), calling `between` with the
/// columns done before each block: a report that may cancel the product with its error.
pub fn multiply_add(
    dst: &mut [f32],
    (a, b): (&[f32], &[f32]),
    n: usize,
    alpha: f32,
    work: f64,
    between: &mut dyn FnMut(usize) -> Result<()>,
) -> Result<()> {
    let a = MatRef::from_column_major_slice(a, n, n);
    let mut c0 = 0;
    while c0 < n {
        between(c0)?;
        let w = width((n * n) as f64, work, n - c0);
        let columns = MatMut::from_column_major_slice_mut(&mut dst[c0 * n..(c0 + w) * n], n, w);
        let from = MatRef::from_column_major_slice(&b[c0 * n..(c0 + w) * n], n, w);
        faer::linalg::matmul::matmul(columns, Accum::Add, a, from, alpha, faer::get_global_parallelism());
        c0 += w;
    }
    Ok(())
}

/// Copies the strict lower triangle of the column-major `n × n` matrix `p` onto its upper triangle,
/// in square tiles so that both sides are read and written a cache line at a time.
fn mirror_lower(p: &mut [f32], n: usize) {
    const TILE: usize = 64;
    for ct in (0..n).step_by(TILE) {
        for rt in (0..=ct).step_by(TILE) {
            for i in ct..(ct + TILE).min(n) {
                for r in rt..(rt + TILE).min(i) {
                    p[i * n + r] = p[r * n + i];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use faer::linalg::solvers::DenseSolveCore;
    use faer::Side;

    use super::*;
    use crate::error::ErrorKind;
    use crate::progress::NoProgress;

    const PHASE: &str = "inverse";
    const WHAT: &str = "the test matrix";

    /// A symmetric positive definite `n × n` matrix, column-major: a Gram matrix of pseudo-random
    /// 0/1 rows plus `lambda` on the diagonal.
    fn gram(n: usize, lambda: f32) -> Vec<f32> {
        let rows: Vec<Vec<usize>> =
            (0..3 * n).map(|u| (0..n).filter(|i| (u * 7 + i * 13 + u * i) % 5 == 0).collect()).collect();
        let mut g = vec![0f32; n * n];
        for row in &rows {
            for &a in row {
                for &b in row {
                    g[a * n + b] += 1.0;
                }
            }
        }
        (0..n).for_each(|i| g[i * n + i] += lambda);
        g
    }

    /// Records the reports and stops after `stop_after` of them.
    struct Record {
        seen: Mutex<Vec<(String, u64, u64)>>,
        stop_after: usize,
    }

    impl Progress for Record {
        fn update(&self, phase: &str, done: u64, total: u64) -> bool {
            let mut seen = self.seen.lock().expect("lock");
            seen.push((phase.to_string(), done, total));
            seen.len() < self.stop_after
        }
    }

    #[test]
    fn blocks_of_any_width_give_faers_inverse() {
        for n in [1, 5, 70, 300, 700] {
            let g = gram(n, 3.0);
            let expected = MatRef::from_column_major_slice(&g, n, n).llt(Side::Lower).expect("llt").inverse();
            // Work for one column per block (the narrowest), a few, and everything at once.
            for work in [1.0, 1e7, 1e12] {
                let mut got = g.clone();
                inverse(&mut got, n, work, &NoProgress, PHASE, WHAT).expect("inverse");
                for j in 0..n {
                    for i in 0..n {
                        let (a, b) = (got[j * n + i], expected[(i, j)]);
                        assert!(
                            (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                            "n {n} work {work} ({i}, {j}): {a} vs {b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn reports_each_block_and_stops_when_cancelled() {
        let n = 300;
        let record = Record { seen: Mutex::new(Vec::new()), stop_after: usize::MAX };
        inverse(&mut gram(n, 3.0), n, 1.0, &record, PHASE, WHAT).expect("inverse");
        let seen = record.seen.into_inner().expect("lock");
        // 128 columns per block (128, 128, 44): three blocks to factor, three of L⁻¹, three of the
        // product, and the report before them.
        assert_eq!(seen.len(), 10, "{seen:?}");
        assert!(seen.iter().all(|(phase, _, total)| phase == PHASE && *total == 1000));
        assert_eq!((seen[0].1, seen[9].1), (0, 1000));
        assert!(seen.windows(2).all(|w| w[0].1 <= w[1].1), "never moves back: {seen:?}");

        let stop = Record { seen: Mutex::new(Vec::new()), stop_after: 4 };
        let err = inverse(&mut gram(n, 3.0), n, 1.0, &stop, PHASE, WHAT).expect_err("cancelled");
        assert!(matches!(err.kind(), ErrorKind::Cancelled(_)), "{err}");
        assert_eq!(stop.seen.into_inner().expect("lock").len(), 4, "no block after the refusal");
    }

    #[test]
    fn products_in_blocks_match_one_product_and_stop_when_told() {
        let n = 300;
        let (a, b) = (gram(n, 1.0), gram(n, 2.0));
        let mut dst: Vec<f32> = (0..n * n).map(|x| (x % 7) as f32).collect();
        let mut expected = faer::Mat::<f32>::from_fn(n, n, |i, j| dst[j * n + i]);
        let (ma, mb) = (MatRef::from_column_major_slice(&a, n, n), MatRef::from_column_major_slice(&b, n, n));
        faer::linalg::matmul::matmul(expected.as_mut(), Accum::Add, ma, mb, 0.5, faer::Par::Seq);
        let mut starts = Vec::new();
        multiply_add(&mut dst, (&a, &b), n, 0.5, 1.0, &mut |c0| {
            starts.push(c0);
            Ok(())
        })
        .expect("product");
        assert_eq!(starts, [0, 128, 256], "a report before each block of 128 columns");
        for j in 0..n {
            for i in 0..n {
                let (got, want) = (dst[j * n + i], expected[(i, j)]);
                assert!((got - want).abs() <= 1e-5 * want.abs().max(1.0), "({i}, {j}): {got} vs {want}");
            }
        }
        let stop = multiply_add(&mut dst, (&a, &b), n, 1.0, 1.0, &mut |c0| {
            if c0 == 0 {
                Ok(())
            } else {
                Err(Error::cancelled("training"))
            }
        });
        assert!(matches!(stop.map_err(|e| e.kind().code()), Err("cancelled")));
    }

    #[test]
    fn a_matrix_that_is_not_positive_definite_is_an_error() {
        let mut g = vec![1.0, 2.0, 2.0, 1.0];
        let err = inverse(&mut g, 2, BLOCK_WORK, &NoProgress, PHASE, WHAT).expect_err("refused");
        assert!(err
            .message()
            .ends_with("the test matrix is not positive definite (NonPositivePivot { index: 1 })"));
    }
}
