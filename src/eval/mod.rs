//! Evaluation: the ranking metrics of docs/evaluation.md computed per user and averaged, the test sets
//! they are measured on, and the protocols that rank (full ranking, sampled, two-stage, item and user
//! cold start, tag recommendation).

pub mod cold;
pub mod metrics;
pub mod protocol;
pub mod sampled;
pub mod split;
pub mod tags;
pub mod test_set;
