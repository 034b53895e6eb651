//! The test users an evaluation ranks for: the database's held-out interactions, or the pairs of a test
//! file mapped onto the database's ids. Test items the database does not know stay in the test set
//! (they count in `|T_u|` but can never be hit), and so do test users without training data.

use std::collections::HashMap;

use recodb_storage::{Key, Side, SnapshotPart, Store};

use crate::error::{Error, Result};
use crate::import::read::{read_interactions, ImportSpec};

/// One test user: its internal id (`None` when the database has no such user) and its test items
/// (`None` for items the database does not know).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestUser {
    /// The user's id.
    pub user: Option<u32>,
    /// The user's test items, sorted by key and without repeats for a file.
    pub items: Vec<Option<u32>>,
}

/// Every user with held-out interactions and those interactions; a conflict error when nothing is
/// held out.
pub fn from_holdout(store: &Store) -> Result<Vec<TestUser>> {
    let held = store.snapshot(SnapshotPart::Holdout)?;
    let users: Vec<TestUser> = (0..held.n_users)
        .filter(|&u| !held.row(u).is_empty())
        .map(|u| TestUser { user: Some(u), items: held.row(u).iter().map(|&i| Some(i)).collect() })
        .collect();
    if users.is_empty() {
        return Err(Error::conflict(
            "nothing to evaluate against: SPLIT HOLDOUT first, or EVALUATE ... AGAINST 'file'",
        ));
    }
    Ok(users)
}

/// The users of the interactions file `spec`, in the order they first appear, each with its items.
pub fn from_file(store: &Store, spec: &ImportSpec) -> Result<Vec<TestUser>> {
    let mut by_user: HashMap<Key, Vec<Key>> = HashMap::new();
    let mut order = Vec::new();
    read_interactions(spec, &mut |_, _| true, &mut |r| {
        let items = by_user.entry(r.user.clone()).or_insert_with(|| {
            order.push(r.user.clone());
            Vec::new()
        });
        items.push(r.item);
    })?;
    order
        .into_iter()
        .map(|user| {
            let mut items = by_user.remove(&user).unwrap_or_default();
            items.sort();
            items.dedup();
            let items = items.iter().map(|i| store.id_of(Side::Item, i)).collect::<Result<Vec<_>, _>>()?;
            Ok(TestUser { user: store.id_of(Side::User, &user)?, items })
        })
        .collect()
}
