//! Evaluation: the ranking metrics of DESIGN §8, computed per user and averaged.

pub mod metrics;
pub mod sampled;
