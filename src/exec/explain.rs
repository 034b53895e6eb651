//! What EXPLAIN prints of a search by the Hamming engine: one `(property, value)` row per figure.

use std::time::Duration;

use recodb_storage::hamming::{Explain, HammingIndex};

use crate::error::Error;
use crate::models::catalog::Loaded;
use crate::models::BinaryCodes;

/// The properties of one Hamming search by `loaded` in `index` that returned `results` rows: model and
/// code length, path and why, how the index was built, kernel, tables and substring bits, radius
/// reached, buckets probed, candidates examined, ids looked up, candidates filtered, results, time.
pub(super) fn plan(
    loaded: &Loaded,
    index: &HammingIndex,
    e: &Explain,
    results: usize,
) -> Vec<(&'static str, String)> {
    vec![
        ("model", format!("{} ({} bits)", loaded.record.name, index.codes().bits())),
        ("path", e.path.name().to_string()),
        ("reason", e.reason.to_string()),
        ("index", index.build_reason().to_string()),
        ("kernel", e.kernel.name().to_string()),
        ("tables", e.tables.to_string()),
        ("substring_bits", e.substring_bits.to_string()),
        ("radius", e.radius.to_string()),
        ("buckets_probed", e.buckets_probed.to_string()),
        ("candidates", e.candidates.to_string()),
        ("ids_looked_up", e.lookups.to_string()),
        ("gave_way_to_scan", e.gave_way.to_string()),
        ("filtered", e.filtered.to_string()),
        ("results", results.to_string()),
        ("microseconds", micros(e.elapsed)),
    ]
}

/// The row saying how the Hamming candidates of a search for `wanted` results were re-ranked by the
/// model's exact scores, for codes that approximate them (none otherwise).
pub(super) fn refined(codes: &dyn BinaryCodes, wanted: usize) -> Option<(&'static str, String)> {
    let candidates = codes.candidates(wanted)?;
    Some(("exact_rerank", format!("the {candidates} nearest codes re-ranked by the model's exact scores")))
}

/// A duration in microseconds with one decimal.
pub(super) fn micros(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

/// The error for EXPLAIN of a model that has no binary codes to search.
pub(super) fn not_binary(loaded: &Loaded) -> Error {
    Error::unsupported(format!(
        "EXPLAIN shows a Hamming-index search plan; '{}' ({}) has no binary codes and scores every item",
        loaded.record.name, loaded.record.algorithm
    ))
}
