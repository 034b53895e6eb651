//! Adam (Kingma and Ba, ICLR 2015): per-value first and second moment estimates with bias correction.
//! The update is element-wise, so it runs in parallel chunks and gives the same values for any number
//! of threads.

use rayon::prelude::*;

/// Adam's state for a list of parameter tensors.
#[derive(Debug, Clone)]
pub struct Adam {
    learning_rate: f32,
    steps: i32,
    moments: Vec<(Vec<f32>, Vec<f32>)>,
}

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPSILON: f32 = 1e-8;
/// Values per parallel task of an update.
const CHUNK: usize = 16_384;

impl Adam {
    /// Adam with step size `learning_rate` for tensors of the lengths `sizes`.
    pub fn new(learning_rate: f32, sizes: &[usize]) -> Adam {
        Adam {
            learning_rate,
            steps: 0,
            moments: sizes.iter().map(|&n| (vec![0.0; n], vec![0.0; n])).collect(),
        }
    }

    /// One step: every tensor of `params` moves against its gradient in `grads` (same order and
    /// lengths as given to [`Adam::new`]; a tensor beyond them is left alone).
    pub fn step(&mut self, params: Vec<&mut [f32]>, grads: &[&[f32]]) {
        self.steps = self.steps.saturating_add(1);
        let t = self.steps;
        let lr = step_size(self.learning_rate, t);
        for ((p, g), (m, v)) in params.into_iter().zip(grads).zip(&mut self.moments) {
            p.par_chunks_mut(CHUNK)
                .zip(g.par_chunks(CHUNK))
                .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
                .for_each(|((p, g), (m, v))| update(p, g, m, v, lr));
        }
    }
}

impl Adam {
    /// One step like [`Adam::step`], except that the first tensor (the weights of a layer with sparse
    /// inputs, `width` values per input row) moves only at its rows `rows`, whose moments alone are
    /// updated ("lazy" Adam: a row a batch did not use keeps its moments and its value). The step count,
    /// and with it the bias correction, is shared by every tensor. Every gradient the step reads is set
    /// to zero in the same pass (the first tensor's at `rows`; its other rows, which a sparse batch
    /// leaves at zero, are not read), so `grads` are ready for the next batch.
    pub fn step_rows(
        &mut self,
        mut params: Vec<&mut [f32]>,
        mut grads: Vec<&mut [f32]>,
        rows: &[u32],
        width: usize,
    ) {
        if params.is_empty() || grads.is_empty() || self.moments.is_empty() {
            return;
        }
        self.steps = self.steps.saturating_add(1);
        let t = self.steps;
        let lr = step_size(self.learning_rate, t);
        let (first, rest) = params.split_at_mut(1);
        let (first_grad, rest_grads) = grads.split_at_mut(1);
        let (p, g, (m, v)) = (&mut *first[0], &mut *first_grad[0], &mut self.moments[0]);
        let width = width.max(1);
        let mut used = vec![false; p.len() / width];
        for &r in rows {
            if let Some(u) = used.get_mut(r as usize) {
                *u = true;
            }
        }
        p.par_chunks_exact_mut(width)
            .zip(g.par_chunks_exact_mut(width))
            .zip(m.par_chunks_exact_mut(width).zip(v.par_chunks_exact_mut(width)))
            .zip(used.par_iter())
            .filter(|(_, &u)| u)
            .for_each(|(((p, g), (m, v)), _)| update_clearing(p, g, m, v, lr));
        for ((p, g), (m, v)) in rest.iter_mut().zip(rest_grads.iter_mut()).zip(&mut self.moments[1..]) {
            p.par_chunks_mut(CHUNK)
                .zip(g.par_chunks_mut(CHUNK))
                .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
                .for_each(|((p, g), (m, v))| update_clearing(p, g, m, v, lr));
        }
    }
}

/// Adam's step size at step `t` (from 1): `learning_rate` with both bias corrections folded in.
pub(crate) fn step_size(learning_rate: f32, t: i32) -> f32 {
    learning_rate * (1.0 - BETA2.powi(t)).sqrt() / (1.0 - BETA1.powi(t))
}

/// Adam's element-wise update of values `p` with gradients `g` and moments `m`, `v` at step size `lr`
/// (bias correction included).
pub(crate) fn update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], lr: f32) {
    // Equal lengths up front, so the loop has no bounds checks and vectorises.
    let n = p.len().min(g.len()).min(m.len()).min(v.len());
    let (p, g, m, v) = (&mut p[..n], &g[..n], &mut m[..n], &mut v[..n]);
    for k in 0..n {
        update_one(&mut p[k], g[k], &mut m[k], &mut v[k], lr);
    }
}

/// [`update`], setting each gradient to zero once it is read (the same values, one pass).
fn update_clearing(p: &mut [f32], g: &mut [f32], m: &mut [f32], v: &mut [f32], lr: f32) {
    let n = p.len().min(g.len()).min(m.len()).min(v.len());
    let (p, g, m, v) = (&mut p[..n], &mut g[..n], &mut m[..n], &mut v[..n]);
    for k in 0..n {
        update_one(&mut p[k], std::mem::take(&mut g[k]), &mut m[k], &mut v[k], lr);
    }
}

/// One value's Adam update.
#[inline(always)]
fn update_one(p: &mut f32, g: f32, m: &mut f32, v: &mut f32, lr: f32) {
    *m = BETA1 * *m + (1.0 - BETA1) * g;
    *v = BETA2 * *v + (1.0 - BETA2) * g * g;
    *p -= lr * *m / (v.sqrt() + EPSILON);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_finds_the_minimum_of_a_quadratic() {
        // f(x) = Σ_k c_k (x_k − t_k)², minimum at t, with very different curvatures.
        let (c, t) = ([0.01f32, 1.0, 100.0], [3.0f32, -2.0, 0.5]);
        let mut x = vec![0f32; 3];
        let mut adam = Adam::new(0.05, &[3]);
        for _ in 0..2_000 {
            let g: Vec<f32> = (0..3).map(|k| 2.0 * c[k] * (x[k] - t[k])).collect();
            adam.step(vec![&mut x], &[&g]);
        }
        for k in 0..3 {
            assert!((x[k] - t[k]).abs() < 1e-2, "coordinate {k}: {} against {}", x[k], t[k]);
        }
        // The first step moves every coordinate by the step size, whatever its gradient's scale.
        let mut y = vec![0f32; 2];
        Adam::new(0.1, &[2]).step(vec![&mut y], &[&[1e-3, -50.0]]);
        assert!((y[0] + 0.1).abs() < 1e-4 && (y[1] - 0.1).abs() < 1e-4, "{y:?}");
    }

    #[test]
    fn a_row_step_equals_the_full_step_on_its_rows_and_leaves_the_others() {
        // Two tensors: 3 rows of width 2, then a bias of 2; two steps, so the moments carry over.
        let grads: [[f32; 6]; 2] = [[0.5, -1.0, 2.0, 0.25, -3.0, 1.0], [-0.75, 2.5, 0.0, 0.0, 1e-3, 4.0]];
        let biases: [[f32; 2]; 2] = [[0.1, -0.2], [0.3, 1e-4]];
        let (mut full_w, mut full_b) = (vec![1.0f32; 6], vec![0.0f32; 2]);
        let mut full = Adam::new(0.01, &[6, 2]);
        let (mut rows_w, mut rows_b) = (vec![1.0f32; 6], vec![0.0f32; 2]);
        let mut lazy = Adam::new(0.01, &[6, 2]);
        for (g, b) in grads.iter().zip(&biases) {
            full.step(vec![&mut full_w, &mut full_b], &[g, b]);
            // Row 1 unused: its gradient is zero, as a sparse batch leaves it.
            let (mut gw, mut gb) = (g.to_vec(), b.to_vec());
            gw[2..4].fill(0.0);
            lazy.step_rows(vec![&mut rows_w, &mut rows_b], vec![&mut gw, &mut gb], &[0, 2], 2);
            assert!(gw.iter().chain(&gb).all(|&x| x == 0.0), "the gradients read are cleared: {gw:?} {gb:?}");
        }
        assert_eq!(&rows_w[..2], &full_w[..2], "bit for bit");
        assert_eq!(&rows_w[2..4], &[1.0, 1.0], "row 1 was not used");
        assert_eq!(&rows_w[4..], &full_w[4..]);
        assert_eq!(rows_b, full_b);
        // A row past the tensor is ignored, and an unused row's gradient is not read.
        let (mut gw, mut gb) = (vec![7.0f32; 6], vec![0.0f32; 2]);
        lazy.step_rows(vec![&mut rows_w, &mut rows_b], vec![&mut gw, &mut gb], &[9], 2);
        assert_eq!(&rows_w[2..4], &[1.0, 1.0]);
        assert_eq!(gw, vec![7.0; 6]);
    }
}
