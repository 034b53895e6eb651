//! Helpers for the network's unit tests: seeded random matrices and a finite-difference check of a
//! hand-written gradient.

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::matrix::Matrix;

/// A `rows × cols` matrix of values uniform in `[-1, 1)`, drawn from `seed`.
pub(crate) fn random_matrix(rows: usize, cols: usize, seed: u64) -> Matrix {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut m = Matrix::zeros(rows, cols);
    m.as_mut_slice().iter_mut().for_each(|v| *v = rng.random::<f32>() * 2.0 - 1.0);
    m
}

/// Asserts that `analytic` is the gradient of `loss` at `x`, value by value, by central differences
/// (step 1e-3; each value within 1e-2 of the difference quotient, relative to its size above 1).
pub(crate) fn check_gradient(x: &Matrix, analytic: &Matrix, loss: impl Fn(&Matrix) -> f64, what: &str) {
    const STEP: f32 = 1e-3;
    assert_eq!((x.rows(), x.cols()), (analytic.rows(), analytic.cols()), "{what}: gradient shape");
    for k in 0..x.as_slice().len() {
        let mut plus = x.clone();
        plus.as_mut_slice()[k] += STEP;
        let mut minus = x.clone();
        minus.as_mut_slice()[k] -= STEP;
        let numeric = (loss(&plus) - loss(&minus)) / (2.0 * f64::from(STEP));
        let exact = f64::from(analytic.as_slice()[k]);
        assert!(
            (numeric - exact).abs() <= 1e-2 * exact.abs().max(1.0),
            "{what}: value {k}: finite differences {numeric:.5}, backward pass {exact:.5}"
        );
    }
}
