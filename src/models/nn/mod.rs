//! A small neural-network core for the models that learn encoders (`ccsr`, and the dual-tower model
//! after it): dense row-major `f32` batches ([`Matrix`]) multiplied with faer, sparse input rows that
//! enter the first layer as a sparse-dense product ([`SparseRows`], never a dense one-hot matrix),
//! dense layers with ReLU, identity or scaled-tanh activations and L2 normalisation of rows
//! ([`layers`]), multilayer perceptrons with a forward tape and a hand-written backward pass ([`Mlp`]),
//! and [`Adam`]. Weights are drawn from a seeded generator, and every operation gives the same values
//! for a seed and a thread count.
//!
//! A training step reads:
//!
//! ```text
//! let tape = mlp.forward(Input::Sparse(batch));            // batch: SparseRows of interaction rows
//! let d_out = /* ∂loss/∂output, one row per example */;
//! grads.clear();
//! mlp.backward(Input::Sparse(batch), &tape, d_out, &mut grads);
//! adam.step(mlp.parameters_mut(), &grads.slices());
//! ```
//!
//! Why not a framework crate: recodb needs a few layers on CPU with sparse first layers and exact
//! determinism, and the crates that do this (candle, burn, dfdx) each bring far more dependencies and
//! compile time than these few hundred lines.

pub mod adam;
pub mod layers;
pub mod matrix;
pub mod mlp;

#[cfg(test)]
pub(crate) mod testing;

pub use adam::Adam;
pub use layers::{
    clip_to_unit_ball, clip_to_unit_ball_backward, l2_normalize, l2_normalize_backward, Activation, Dense,
    DenseGrad, Input,
};
pub use matrix::{gemm, sparse_dense, sparse_t_dense, Matrix, Op, SparseRows};
pub use mlp::{Grads, Mlp, Tape};
