//! The synthetic data generator.
