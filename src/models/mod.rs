//! Models: the [`Algorithm`] trait every training algorithm implements, the [`Model`] trait of what
//! training produces, the registry of algorithms, and the catalog of trained models in the database.

pub mod catalog;
pub mod ease;
pub mod pop;
pub mod topk;

use recodb_storage::rkyv::util::AlignedVec;
use recodb_storage::Snapshot;

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::value::Value;

/// A trained model: scores items for a user.
pub trait Model: Send + Sync {
    /// Number of items the model knows: item ids below it have scores.
    fn n_items(&self) -> u32;

    /// Writes a score for every item the model knows into `scores` (`n_items` long) for `user`, whose
    /// visible interactions are `seen` (sorted item ids). Higher is better.
    fn score(&self, user: u32, seen: &[u32], scores: &mut [f32]);

    /// The model's data as named blobs (rkyv archives), to be stored with its record.
    fn blobs(&self) -> Result<Vec<(&'static str, AlignedVec)>>;
}

/// A training algorithm: validates parameters, trains on a snapshot, loads what it saved.
pub trait Algorithm: Sync {
    /// The name `TRAIN` uses.
    fn name(&self) -> &'static str;

    /// The parameters `WITH (...)` accepts, with their meaning and default.
    fn parameters(&self) -> &'static [Parameter];

    /// Trains on the visible interactions of `data`. `progress` may cancel (then an error is returned).
    fn train(
        &self,
        data: &Snapshot,
        params: &[(String, Value)],
        progress: &dyn Progress,
    ) -> Result<Box<dyn Model>>;

    /// Rebuilds a model from its blobs (`blob(name)` reads one; read archives are validated).
    fn load(&self, blob: &dyn Fn(&str) -> Result<AlignedVec>) -> Result<Box<dyn Model>>;
}

/// A documented parameter of an algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameter {
    /// Its name in `WITH (...)`.
    pub name: &'static str,
    /// What it does, its type and its default.
    pub doc: &'static str,
}

/// Every algorithm this build can train.
pub static ALGORITHMS: &[&dyn Algorithm] = &[&ease::Ease, &pop::Pop];

/// The algorithm called `name`, or an error listing the available ones.
pub fn algorithm(name: &str) -> Result<&'static dyn Algorithm> {
    ALGORITHMS.iter().copied().find(|a| a.name().eq_ignore_ascii_case(name)).ok_or_else(|| {
        let names: Vec<&str> = ALGORITHMS.iter().map(|a| a.name()).collect();
        Error::Invalid(format!("unknown algorithm '{name}'; available: {}", names.join(", ")))
    })
}

/// Checks that every given parameter is one `algorithm` accepts; a clear error lists the valid ones.
pub fn check_parameters(algorithm: &dyn Algorithm, params: &[(String, Value)]) -> Result<()> {
    for (name, _) in params {
        if !algorithm.parameters().iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            let valid: Vec<&str> = algorithm.parameters().iter().map(|p| p.name).collect();
            return Err(Error::Invalid(format!(
                "unknown parameter '{name}' for {}; valid parameters: {}",
                algorithm.name(),
                if valid.is_empty() { "none".to_string() } else { valid.join(", ") }
            )));
        }
    }
    Ok(())
}
