//! The layers of a network and their hand-written backward passes: a dense (fully connected) layer
//! `y = x·W + b` whose input may be sparse rows, the element-wise activations, and L2 normalisation of
//! rows. Each backward pass is checked against finite differences in the tests below.

use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::matrix::{gemm, sparse_dense, sparse_t_dense, Matrix, Op, SparseRows};
use crate::models::HeapBytes;

/// Values per parallel block of [`Activation::backward`].
const BLOCK: usize = 16_384;

/// An element-wise activation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// `y = x`.
    Identity,
    /// `y = max(x, 0)`.
    Relu,
    /// `y = tanh(κ·x)`, the scaled tanh of hashing networks (κ may be annealed upward in training).
    Tanh(f32),
}

impl Activation {
    /// Applies the activation to every value of `x` in place.
    pub fn forward(self, x: &mut [f32]) {
        match self {
            Activation::Identity => {}
            Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
            Activation::Tanh(k) => x.iter_mut().for_each(|v| *v = (k * *v).tanh()),
        }
    }

    /// Turns `d` (the gradient at the output `y`) into the gradient at the input, given the output `y`
    /// the forward pass produced (each of these activations' derivatives is a function of its output).
    /// Blocks of values in parallel; every value is written (a select, not a conditional store), so
    /// that the loop vectorises.
    pub fn backward(self, y: &[f32], d: &mut [f32]) {
        let blocks = d.par_chunks_mut(BLOCK).zip(y.par_chunks(BLOCK));
        match self {
            Activation::Identity => {}
            Activation::Relu => blocks.for_each(|(d, y)| {
                d.iter_mut().zip(y).for_each(|(g, &y)| *g = if y <= 0.0 { 0.0 } else { *g })
            }),
            Activation::Tanh(k) => {
                blocks.for_each(|(d, y)| d.iter_mut().zip(y).for_each(|(g, &y)| *g *= k * (1.0 - y * y)))
            }
        }
    }
}

/// The input of a layer: dense rows, or sparse rows that enter through a sparse-dense product.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A dense batch, one example per row.
    Dense(&'a Matrix),
    /// A sparse batch, one example per row.
    Sparse(SparseRows<'a>),
}

impl Input<'_> {
    /// Number of examples.
    pub fn rows(&self) -> usize {
        match self {
            Input::Dense(m) => m.rows(),
            Input::Sparse(s) => s.rows(),
        }
    }
}

/// A fully connected layer `y = x·W + b`, with `W` stored `inputs × outputs` row by row (so a sparse
/// input row picks rows of `W`).
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// The weights, `inputs × outputs`.
    pub weight: Matrix,
    /// The biases, `outputs` long.
    pub bias: Vec<f32>,
}

impl HeapBytes for Dense {
    fn heap_bytes(&self) -> usize {
        self.weight.heap_bytes() + self.bias.heap_bytes()
    }
}

/// The gradients of a dense layer's parameters, shaped like them.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseGrad {
    /// Gradient of the weights.
    pub weight: Matrix,
    /// Gradient of the biases.
    pub bias: Vec<f32>,
}

impl Dense {
    /// A layer of `inputs × outputs` weights drawn uniformly from `±√(gain · 6 / (inputs + outputs))`
    /// (Glorot's range scaled by `gain`: 1 before a linear or tanh output, 2 before a ReLU, He's
    /// choice), and zero biases.
    pub fn new(inputs: usize, outputs: usize, gain: f32, rng: &mut Xoshiro256PlusPlus) -> Dense {
        let limit = (gain * 6.0 / (inputs + outputs).max(1) as f32).sqrt();
        let mut weight = Matrix::zeros(inputs, outputs);
        weight.as_mut_slice().iter_mut().for_each(|w| *w = (rng.random::<f32>() * 2.0 - 1.0) * limit);
        Dense { weight, bias: vec![0.0; outputs] }
    }

    /// Number of inputs.
    pub fn inputs(&self) -> usize {
        self.weight.rows()
    }

    /// Number of outputs.
    pub fn outputs(&self) -> usize {
        self.weight.cols()
    }

    /// `x·W + b`, one row per example.
    pub fn forward(&self, x: Input<'_>) -> Matrix {
        let mut y = Matrix::zeros(x.rows(), self.outputs());
        match x {
            Input::Dense(x) => gemm(&mut y, x, Op::N, &self.weight, Op::N, false),
            Input::Sparse(x) => sparse_dense(x, &self.weight, &mut y),
        }
        let cols = self.outputs().max(1);
        y.as_mut_slice()
            .chunks_exact_mut(cols)
            .for_each(|r| r.iter_mut().zip(&self.bias).for_each(|(a, b)| *a += b));
        y
    }

    /// Adds the gradients of the parameters for the output gradient `dy` at input `x` into `grad`, and
    /// returns the gradient at a dense input (`None` for a sparse one, which has no gradient to pass on).
    pub fn backward(&self, x: Input<'_>, dy: &Matrix, grad: &mut DenseGrad) -> Option<Matrix> {
        for row in dy.as_slice().chunks_exact(self.outputs().max(1)) {
            grad.bias.iter_mut().zip(row).for_each(|(g, d)| *g += d);
        }
        match x {
            Input::Dense(x) => {
                gemm(&mut grad.weight, x, Op::T, dy, Op::N, true);
                let mut dx = Matrix::zeros(x.rows(), self.inputs());
                gemm(&mut dx, dy, Op::N, &self.weight, Op::T, false);
                Some(dx)
            }
            Input::Sparse(x) => {
                sparse_t_dense(x, dy, &mut grad.weight);
                None
            }
        }
    }

    /// Zero gradients of this layer's shape.
    pub fn zero_grad(&self) -> DenseGrad {
        DenseGrad { weight: Matrix::zeros(self.inputs(), self.outputs()), bias: vec![0.0; self.outputs()] }
    }
}

/// Scales every row of `x` to unit L2 norm in place (a zero row stays zero) and returns the rows' norms
/// before scaling, which [`l2_normalize_backward`] needs.
pub fn l2_normalize(x: &mut Matrix) -> Vec<f32> {
    let cols = x.cols().max(1);
    x.as_mut_slice()
        .chunks_exact_mut(cols)
        .map(|r| {
            let norm = r.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                r.iter_mut().for_each(|v| *v /= norm);
            }
            norm
        })
        .collect()
}

/// Turns `d` (the gradient at the normalised rows `y`) into the gradient at the rows before, given the
/// norms [`l2_normalize`] returned: `(d − y·(yᵀd)) / ‖x‖` per row (zero for a zero row).
pub fn l2_normalize_backward(y: &Matrix, norms: &[f32], d: &mut Matrix) {
    let cols = y.cols().max(1);
    for ((yr, dr), &n) in
        y.as_slice().chunks_exact(cols).zip(d.as_mut_slice().chunks_exact_mut(cols)).zip(norms)
    {
        if n > 0.0 {
            unit_row_backward(yr, dr, n);
        } else {
            dr.iter_mut().for_each(|g| *g = 0.0);
        }
    }
}

/// The backward pass of one row scaled to unit norm from norm `n` (> 0): `d ← (d − y·(yᵀd)) / n`.
fn unit_row_backward(y: &[f32], d: &mut [f32], n: f32) {
    let dot: f32 = y.iter().zip(d.iter()).map(|(a, b)| a * b).sum();
    d.iter_mut().zip(y).for_each(|(g, &y)| *g = (*g - y * dot) / n);
}

/// Scales every row of `x` whose L2 norm exceeds 1 back onto the unit sphere (`x ← x / max(‖x‖, 1)`,
/// the projection onto the unit ball) and returns the rows' norms before, which
/// [`clip_to_unit_ball_backward`] needs.
pub fn clip_to_unit_ball(x: &mut Matrix) -> Vec<f32> {
    let cols = x.cols().max(1);
    x.as_mut_slice()
        .chunks_exact_mut(cols)
        .map(|r| {
            let norm = r.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 1.0 {
                r.iter_mut().for_each(|v| *v /= norm);
            }
            norm
        })
        .collect()
}

/// Turns `d` (the gradient at the clipped rows `y`) into the gradient at the rows before, given the
/// norms [`clip_to_unit_ball`] returned: unchanged for a row that was inside the ball, as for
/// [`l2_normalize`] for one that was scaled.
pub fn clip_to_unit_ball_backward(y: &Matrix, norms: &[f32], d: &mut Matrix) {
    let cols = y.cols().max(1);
    for ((yr, dr), &n) in
        y.as_slice().chunks_exact(cols).zip(d.as_mut_slice().chunks_exact_mut(cols)).zip(norms)
    {
        if n > 1.0 {
            unit_row_backward(yr, dr, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::nn::testing::{check_gradient, random_matrix};
    use rand::SeedableRng;

    /// A fixed linear functional of the output, so that its gradient is the weights `c`.
    fn weighted(y: &Matrix, c: &Matrix) -> f64 {
        y.as_slice().iter().zip(c.as_slice()).map(|(a, b)| f64::from(a * b)).sum()
    }

    #[test]
    fn activations_backward_match_finite_differences() {
        let x = random_matrix(4, 5, 1);
        let c = random_matrix(4, 5, 2);
        for act in [Activation::Identity, Activation::Relu, Activation::Tanh(1.7)] {
            let loss = |x: &Matrix| {
                let mut y = x.clone();
                act.forward(y.as_mut_slice());
                weighted(&y, &c)
            };
            let mut y = x.clone();
            act.forward(y.as_mut_slice());
            let mut d = c.clone();
            act.backward(y.as_slice(), d.as_mut_slice());
            check_gradient(&x, &d, loss, &format!("{act:?}"));
        }
    }

    #[test]
    fn dense_backward_matches_finite_differences() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut layer = Dense::new(5, 3, 2.0, &mut rng);
        layer.bias = vec![0.1, -0.2, 0.3];
        let x = random_matrix(4, 5, 4);
        let c = random_matrix(4, 3, 5);
        let mut grad = layer.zero_grad();
        let dx = layer.backward(Input::Dense(&x), &c, &mut grad).expect("dense input");
        check_gradient(&x, &dx, |x| weighted(&layer.forward(Input::Dense(x)), &c), "dense input");
        let w = layer.weight.clone();
        let at_weight = |w: &Matrix| {
            let l = Dense { weight: w.clone(), bias: layer.bias.clone() };
            weighted(&l.forward(Input::Dense(&x)), &c)
        };
        check_gradient(&w, &grad.weight, at_weight, "dense weights");
        let b = Matrix::from_vec(1, 3, layer.bias.clone()).expect("bias");
        let gb = Matrix::from_vec(1, 3, grad.bias.clone()).expect("bias");
        let at_bias = |b: &Matrix| {
            let l = Dense { weight: w.clone(), bias: b.as_slice().to_vec() };
            weighted(&l.forward(Input::Dense(&x)), &c)
        };
        check_gradient(&b, &gb, at_bias, "dense bias");
    }

    #[test]
    fn a_sparse_input_gives_the_dense_inputs_weight_gradient() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(6);
        let layer = Dense::new(6, 4, 1.0, &mut rng);
        let (indptr, indices, values) =
            ([0usize, 2, 2, 5], [1u32, 4, 0, 2, 5], [0.5f32, 2.0, 1.0, -1.0, 3.0]);
        let sparse = SparseRows { indptr: &indptr, indices: &indices, values: Some(&values) };
        let mut dense = Matrix::zeros(3, 6);
        for r in 0..3 {
            for (c, v) in sparse.row(r) {
                dense.row_mut(r)[c] = v;
            }
        }
        let dy = random_matrix(3, 4, 7);
        let y_sparse = layer.forward(Input::Sparse(sparse));
        let y_dense = layer.forward(Input::Dense(&dense));
        assert!(y_sparse.as_slice().iter().zip(y_dense.as_slice()).all(|(a, b)| (a - b).abs() < 1e-5));
        let (mut gs, mut gd) = (layer.zero_grad(), layer.zero_grad());
        assert!(layer.backward(Input::Sparse(sparse), &dy, &mut gs).is_none());
        layer.backward(Input::Dense(&dense), &dy, &mut gd);
        assert!(gs.weight.as_slice().iter().zip(gd.weight.as_slice()).all(|(a, b)| (a - b).abs() < 1e-5));
        assert_eq!(gs.bias, gd.bias);
    }

    #[test]
    fn l2_normalisation_backward_matches_finite_differences() {
        let x = random_matrix(3, 4, 8);
        let c = random_matrix(3, 4, 9);
        let loss = |x: &Matrix| {
            let mut y = x.clone();
            l2_normalize(&mut y);
            weighted(&y, &c)
        };
        let mut y = x.clone();
        let norms = l2_normalize(&mut y);
        assert!(y.as_slice().chunks(4).all(|r| (r.iter().map(|v| v * v).sum::<f32>() - 1.0).abs() < 1e-5));
        let mut d = c.clone();
        l2_normalize_backward(&y, &norms, &mut d);
        check_gradient(&x, &d, loss, "l2 normalisation");
        let mut zero = Matrix::zeros(1, 2);
        assert_eq!(l2_normalize(&mut zero), vec![0.0]);
    }

    #[test]
    fn clipping_to_the_unit_ball_backward_matches_finite_differences() {
        // Rows of norm about 0.5 (inside, left alone) and about 2 (outside, scaled onto the sphere).
        let mut x = random_matrix(4, 3, 10);
        for (r, scale) in [0.3f32, 1.5, 0.4, 2.0].into_iter().enumerate() {
            x.row_mut(r).iter_mut().for_each(|v| *v *= scale);
        }
        let c = random_matrix(4, 3, 11);
        let loss = |x: &Matrix| {
            let mut y = x.clone();
            clip_to_unit_ball(&mut y);
            weighted(&y, &c)
        };
        let mut y = x.clone();
        let norms = clip_to_unit_ball(&mut y);
        assert!(norms[0] < 1.0 && norms[3] > 1.0, "{norms:?}");
        assert_eq!(y.row(0), x.row(0), "a row inside the ball is left alone");
        assert!(y.as_slice().chunks(3).all(|r| r.iter().map(|v| v * v).sum::<f32>() <= 1.0 + 1e-5));
        let mut d = c.clone();
        clip_to_unit_ball_backward(&y, &norms, &mut d);
        assert_eq!(d.row(0), c.row(0));
        check_gradient(&x, &d, loss, "clip to the unit ball");
    }
}
