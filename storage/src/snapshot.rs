//! Consistent snapshots of the visible interactions as a CSR matrix, for training and evaluation.

use crate::error::Result;
use crate::format::{self, meta, tree};
use crate::read::{read_meta_u32, read_meta_u64, read_next_id};
use crate::row::{Row, DEFAULT_WEIGHT};
use crate::store::Store;
use crate::Side;

/// The interactions of every user as a compressed sparse row matrix: row `u` holds user `u`'s item ids
/// in ascending order (`indices[indptr[u]..indptr[u + 1]]`) and, when any weight was stored, their
/// weights. Rows are indexed by user id up to [`Snapshot::n_users`] (deleted or empty users have empty
/// rows); item ids are below [`Snapshot::n_items`].
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// One past the largest user id.
    pub n_users: u32,
    /// One past the largest item id.
    pub n_items: u32,
    /// Row offsets, `n_users + 1` of them.
    pub indptr: Vec<usize>,
    /// Item ids, row by row.
    pub indices: Vec<u32>,
    /// Weights aligned with `indices`; `None` when every weight is the default 1.0.
    pub weights: Option<Vec<f32>>,
    /// The database's data version when the snapshot was taken.
    pub data_version: u64,
    /// The users' tags (rows by user id), taken with the interactions.
    pub user_tags: TagRows,
    /// The items' tags (rows by item id), taken with the interactions.
    pub item_tags: TagRows,
}

/// The tags of every entity of one side as a sparse matrix: row `id` holds the entity's tag ids in
/// ascending order (`indices[indptr[id]..indptr[id + 1]]`). Tag ids are the store's, below
/// [`TagRows::n_tags`]; rows go up to the side's id bound (an entity without tags has an empty row, and
/// an empty `TagRows`, the default, has no rows at all).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagRows {
    /// One past the largest tag id of the side.
    pub n_tags: u32,
    /// Row offsets: one more than the rows (or empty when there are none).
    pub indptr: Vec<usize>,
    /// Tag ids, row by row.
    pub indices: Vec<u32>,
}

impl TagRows {
    /// The tag ids of entity `id` (empty if it has none or is out of range).
    pub fn row(&self, id: u32) -> &[u32] {
        let id = id as usize;
        if id + 1 >= self.indptr.len() {
            return &[];
        }
        &self.indices[self.indptr[id]..self.indptr[id + 1]]
    }

    /// The rows of `rows` (each a sorted list of tag ids, row `id` for entity `id`) over `n_tags` tags.
    pub fn from_rows(rows: &[&[u32]], n_tags: u32) -> TagRows {
        let mut indptr = vec![0];
        let mut indices = Vec::new();
        for r in rows {
            indices.extend_from_slice(r);
            indptr.push(indices.len());
        }
        TagRows { n_tags, indptr, indices }
    }
}

/// Every user's and item's tag ids at one data version (see [`Store::tags_now`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TagSnapshot {
    /// The data version they were read at.
    pub data_version: u64,
    /// Users' tag ids, one row per user id below the id bound.
    pub users: TagRows,
    /// Items' tag ids, one row per item id below the id bound.
    pub items: TagRows,
}

/// Which interactions a snapshot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotPart {
    /// The visible interactions: everything but the holdout (what models train on).
    Visible,
    /// Only the held-out interactions (what evaluation tests against).
    Holdout,
}

impl Snapshot {
    /// The items of user `u` (empty if out of range).
    pub fn row(&self, u: u32) -> &[u32] {
        let u = u as usize;
        if u + 1 >= self.indptr.len() {
            return &[];
        }
        &self.indices[self.indptr[u]..self.indptr[u + 1]]
    }

    /// The weights of user `u`'s items, if the snapshot has weights.
    pub fn row_weights(&self, u: u32) -> Option<&[f32]> {
        let u = u as usize;
        let w = self.weights.as_ref()?;
        if u + 1 >= self.indptr.len() {
            return Some(&[]);
        }
        Some(&w[self.indptr[u]..self.indptr[u + 1]])
    }

    /// Number of interactions.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
}

impl Store {
    /// Takes a consistent snapshot of the visible (or only the held-out) interactions.
    pub fn snapshot(&self, part: SnapshotPart) -> Result<Snapshot> {
        let _consistent = self.consistent();
        let n_users = read_next_id(&self.engine, Side::User)?;
        let n_items = read_next_id(&self.engine, Side::Item)?;
        let data_version = read_meta_u64(&self.engine, meta::DATA_VERSION)?;
        let expected = read_meta_u64(&self.engine, meta::INTERACTIONS)? as usize;
        let mut indptr = Vec::with_capacity(n_users as usize + 1);
        let mut indices: Vec<u32> = Vec::with_capacity(expected);
        let mut weights: Option<Vec<f32>> = None;
        indptr.push(0);

        let mut holdout = self.engine.scan(tree::HOLDOUT).peekable();
        for entry in self.engine.scan(tree::USER_ITEMS) {
            let (k, v) = entry?;
            let user = format::decode_u32(&k, "user id")?;
            let held = match holdout.next_if(|h| h.as_ref().is_ok_and(|(hk, _)| hk.as_ref() <= k.as_ref())) {
                Some(h) => h.and_then(|(hk, hv)| {
                    (hk == k).then(|| format::decode_bitmap(&hv, "holdout")).transpose()
                })?,
                None => None,
            };
            let row = Row::decode_value(&v, "user row")?;
            while indptr.len() <= user as usize {
                indptr.push(indices.len());
            }
            if row.weights.is_some() && weights.is_none() {
                weights = Some(vec![DEFAULT_WEIGHT; indices.len()]);
            }
            for (at, item) in row.items.iter().enumerate() {
                let keep = match (&held, part) {
                    (Some(h), SnapshotPart::Visible) => !h.contains(item),
                    (None, SnapshotPart::Visible) => true,
                    (Some(h), SnapshotPart::Holdout) => h.contains(item),
                    (None, SnapshotPart::Holdout) => false,
                };
                if keep {
                    indices.push(item);
                    if let Some(w) = &mut weights {
                        w.push(row.weights.as_ref().map_or(DEFAULT_WEIGHT, |rw| rw[at]));
                    }
                }
            }
        }
        while indptr.len() <= n_users as usize {
            indptr.push(indices.len());
        }
        let user_tags = self.tag_rows(Side::User, n_users)?;
        let item_tags = self.tag_rows(Side::Item, n_items)?;
        Ok(Snapshot { n_users, n_items, indptr, indices, weights, data_version, user_tags, item_tags })
    }

    /// The tag ids of every user and item now, read in one consistent view, with the data version
    /// they belong to: what a model that serves entities from their tags needs of the store's current
    /// state (interactions are not read).
    pub fn tags_now(&self) -> Result<TagSnapshot> {
        let _consistent = self.consistent();
        let data_version = read_meta_u64(&self.engine, meta::DATA_VERSION)?;
        let users = self.tag_rows(Side::User, read_next_id(&self.engine, Side::User)?)?;
        let items = self.tag_rows(Side::Item, read_next_id(&self.engine, Side::Item)?)?;
        Ok(TagSnapshot { data_version, users, items })
    }

    /// The tags of every entity of `side` below `bound`, read in id order (the caller holds the
    /// consistency guard).
    fn tag_rows(&self, side: Side, bound: u32) -> Result<TagRows> {
        let n_tags = read_meta_u32(&self.engine, format::next_tag_id_key(side))?;
        let mut indptr = Vec::with_capacity(bound as usize + 1);
        let mut indices = Vec::new();
        indptr.push(0);
        for entry in self.engine.scan_prefix(tree::ENTITY_TAGS, &[side.byte()]) {
            let (k, v) = entry?;
            let id = format::decode_u32(&k[1..], "entity id")?;
            if id >= bound {
                break;
            }
            while indptr.len() <= id as usize {
                indptr.push(indices.len());
            }
            indices.extend(format::decode_bitmap(&v, "entity tags")?.iter().filter(|&t| t < n_tags));
        }
        while indptr.len() <= bound as usize {
            indptr.push(indices.len());
        }
        Ok(TagRows { n_tags, indptr, indices })
    }
}
