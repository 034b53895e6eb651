//! Helpers for the models' unit tests.

use recodb_storage::Snapshot;

/// A snapshot of user rows (sorted item ids; user `u` is `rows[u]`) over `n_items` items.
pub(crate) fn snapshot(rows: &[&[u32]], n_items: u32) -> Snapshot {
    let mut indptr = vec![0];
    let mut indices = Vec::new();
    for r in rows {
        indices.extend_from_slice(r);
        indptr.push(indices.len());
    }
    Snapshot {
        n_users: rows.len() as u32,
        n_items,
        indptr,
        indices,
        weights: None,
        data_version: 1,
        user_tags: Default::default(),
        item_tags: Default::default(),
    }
}
