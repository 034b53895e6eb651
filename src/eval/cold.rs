//! The cold-start protocols (docs/evaluation.md §9b): a list of items, or of users, is hidden from
//! training entirely (`TRAIN ... WITH (hold_out_items = 'path')`, or `hold_out_users`), and every
//! interaction with them is a test interaction.
//!
//! - **Items** (`EVALUATE ... COLD ITEMS FROM 'path'`): each user with such interactions ranks the cold
//!   items only, from its training items (its items minus the cold ones). Beside the models, two
//!   baselines rank the same lists: a seeded random order, and tag match (an item scores the sum, over
//!   its tags, of the user's training items carrying that tag; the genre-match baseline of
//!   `models/twotower.md` C.4 with the `genre:` tags).
//! - **Users** (`EVALUATE ... COLD USERS FROM 'path'`): each listed user with interactions ranks every
//!   item with no history at all (a feature model places it from its profile tags). Beside the models,
//!   popularity (by training users) and a seeded random order rank the same lists.
//!
//! A model that cannot score a user with no training items ([`Model::scores_user`]) ranks it by
//! popularity, as RECOMMEND serves such a user. Equal scores rank in a seeded random order per user,
//! for every column: ties are frequent (whole-number sums; a model that cannot score an unseen item
//! ties them all), and the id order would favour the items imported first, often the popular ones.

use std::collections::BTreeMap;
use std::path::Path;

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use recodb_storage::{Key, Side, Snapshot, Store};

use super::metrics::{user_metrics, Summary};
use super::protocol::{Metrics, Report};
use super::test_set::TestUser;
use crate::error::{Error, Result};
use crate::models::topk::rank_order;
use crate::models::{fingerprint, Model};

/// The entities of one side that a cold-start file lists and the database knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColdList {
    /// Items or users.
    pub side: Side,
    /// Their ids, ascending, without repeats.
    pub ids: Vec<u32>,
    /// Keys of the file the database has no entity of the side for (left out).
    pub unknown: usize,
}

impl ColdList {
    /// Reads `path`: one `side` key per line (an unsigned integer, or text), blank lines skipped.
    pub fn read(store: &Store, side: Side, path: &Path) -> Result<ColdList> {
        let what = match side {
            Side::Item => "the cold items file",
            Side::User => "the cold users file",
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid(what, "a readable text file", format!("{}: {e}", path.display())))?;
        let (mut ids, mut unknown) = (Vec::new(), 0);
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match store.id_of(side, &Key::parse_field(line))? {
                Some(id) => ids.push(id),
                None => unknown += 1,
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ColdList { side, ids, unknown })
    }

    /// The fingerprint a model trained with these entities held out records (see
    /// [`crate::training::fingerprint_param`]).
    pub fn fingerprint(&self) -> String {
        format!("{:016x}", fingerprint(&self.ids))
    }

    /// Whether `id` is listed.
    pub fn contains(&self, id: u32) -> bool {
        self.ids.binary_search(&id).is_ok()
    }

    /// `snapshot` without any interaction of the listed entities (the id bounds and the tags kept: the
    /// entities stay known, with no interaction).
    pub fn remove_from(&self, snapshot: Snapshot) -> Snapshot {
        let mut indptr = Vec::with_capacity(snapshot.indptr.len());
        let mut indices = Vec::with_capacity(snapshot.indices.len());
        let mut weights = snapshot.weights.as_ref().map(|w| Vec::with_capacity(w.len()));
        indptr.push(0);
        for u in 0..snapshot.n_users {
            if !(self.side == Side::User && self.contains(u)) {
                let row_weights = snapshot.row_weights(u);
                for (at, &item) in snapshot.row(u).iter().enumerate() {
                    if !(self.side == Side::Item && self.contains(item)) {
                        indices.push(item);
                        if let (Some(w), Some(rw)) = (weights.as_mut(), row_weights) {
                            w.push(rw[at]);
                        }
                    }
                }
            }
            indptr.push(indices.len());
        }
        Snapshot { indptr, indices, weights, ..snapshot }
    }
}

/// One cold test user: its training items and its test items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColdUser {
    /// The user's id.
    pub user: u32,
    /// Its training items, ascending (none for a cold user).
    pub seen: Vec<u32>,
    /// Its test interactions, ascending.
    pub tests: Vec<u32>,
}

/// The test users of `cold`, in user id order. For items: every user with an interaction with a cold
/// item in the store (held out or not) or in `file` (a test file's users), with those items as its
/// tests and its visible items in `train` minus the cold ones as its training items. For users: every
/// listed user with an interaction in the store (held out or not) or in `file`, with all of them as its
/// tests and no training items.
pub fn test_users(
    store: &Store,
    cold: &ColdList,
    train: &Snapshot,
    file: &[TestUser],
) -> Result<Vec<ColdUser>> {
    let mut tests: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    match cold.side {
        Side::Item => {
            for &item in &cold.ids {
                for user in store.neighbours(Side::Item, item)?.unwrap_or_default() {
                    tests.entry(user).or_default().push(item);
                }
            }
        }
        Side::User => {
            for &user in &cold.ids {
                tests
                    .entry(user)
                    .or_default()
                    .extend(store.neighbours(Side::User, user)?.unwrap_or_default());
            }
        }
    }
    for t in file {
        let Some(user) = t.user else { continue };
        let listed = |i: u32| match cold.side {
            Side::Item => cold.contains(i),
            Side::User => cold.contains(user),
        };
        let items = t.items.iter().flatten().copied().filter(|&i| listed(i));
        tests.entry(user).or_default().extend(items);
    }
    Ok(tests
        .into_iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(user, mut items)| {
            items.sort_unstable();
            items.dedup();
            let seen = match cold.side {
                Side::Item => train.row(user).iter().copied().filter(|&i| !cold.contains(i)).collect(),
                Side::User => Vec::new(),
            };
            ColdUser { user, seen, tests: items }
        })
        .collect())
}

/// What orders a user's candidate items.
#[derive(Clone, Copy)]
pub enum Ranker<'a> {
    /// A model's scores ([`Model::score_items`]; an item it does not know scores `-inf`), popularity's
    /// for a user it cannot score.
    Model(&'a dyn Model),
    /// A random order: every item ties, so the seeded order of ties decides.
    Random,
    /// Popularity: an item scores its number of training users.
    Popularity,
    /// Tag match: `tags[i]` are the (baseline) tags of item `i`, numbered from 0.
    TagMatch(&'a [Vec<u32>]),
}

/// The generator of `user`'s random order under `seed`.
fn user_rng(seed: u64, user: u32) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed ^ u64::from(user).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// How many of `seen` (a user's training items) carry each tag, by `tags[i]`, the tags of item `i`
/// (items past its end have none).
pub(super) fn tag_counts(tags: &[Vec<u32>], seen: &[u32]) -> BTreeMap<u32, f32> {
    let mut counts: BTreeMap<u32, f32> = BTreeMap::new();
    for t in seen.iter().flat_map(|&i| tags.get(i as usize).map_or(&[][..], Vec::as_slice)) {
        *counts.entry(*t).or_default() += 1.0;
    }
    counts
}

/// The ids of `scored` (id, score) best first: by score ([`rank_order`]), equal scores in the random
/// order of `user`'s generator under `seed` rather than by id.
pub(super) fn ranked_with_seeded_ties(
    scored: impl Iterator<Item = (u32, f32)>,
    seed: u64,
    user: u32,
) -> Vec<u32> {
    let mut rng = user_rng(seed, user);
    // (id, score, tie order): ranked by score, then by the drawn tie order.
    let mut ranked: Vec<(u32, f32, u32)> = scored.map(|(i, s)| (i, s, rng.random::<u32>())).collect();
    ranked.sort_unstable_by(|a, b| rank_order(&(a.2, a.1), &(b.2, b.1)));
    ranked.into_iter().map(|p| p.0).collect()
}

impl Ranker<'_> {
    /// Scores of `cold` for `u`, one per item, with `popularity` the training users of each item.
    fn scores(&self, u: &ColdUser, cold: &[u32], popularity: impl Fn(u32) -> u64) -> Result<Vec<f32>> {
        let mut out = vec![0.0f32; cold.len()];
        match *self {
            Ranker::Model(model) if model.scores_user(u.user, &u.seen) => {
                model.score_items(u.user, &u.seen, cold, &mut out)?
            }
            Ranker::Model(_) | Ranker::Popularity => {
                out.iter_mut().zip(cold).for_each(|(s, &i)| *s = popularity(i) as f32)
            }
            Ranker::Random => {}
            Ranker::TagMatch(tags) => {
                let counts = tag_counts(tags, &u.seen);
                let of = |i: u32| tags.get(i as usize).map_or(&[][..], Vec::as_slice);
                for (s, &i) in out.iter_mut().zip(cold) {
                    *s = of(i).iter().map(|t| counts.get(t).copied().unwrap_or(0.0)).sum();
                }
            }
        }
        Ok(out)
    }
}

/// Evaluates `ranker` on `users` at `cutoffs`: each user's ranking is every item of `candidates` (the
/// cold items, or every item for cold users), best first (equal scores in the random order of `seed`
/// and the user), measured with the full protocol's metrics; coverage is relative to the candidates,
/// and popularity and novelty count the users of `train`.
pub fn evaluate(
    ranker: Ranker<'_>,
    users: &[ColdUser],
    candidates: &[u32],
    train: &Snapshot,
    cutoffs: &[usize],
    seed: u64,
) -> Result<Report> {
    let mut popularity = vec![0u64; train.n_items as usize];
    for &i in &train.indices {
        popularity[i as usize] += 1;
    }
    let popularity = |i: u32| popularity.get(i as usize).copied().unwrap_or(0);
    let n_users = u64::from(train.n_users);
    let sums = users
        .par_iter()
        .try_fold(
            || vec![Summary::default(); cutoffs.len()],
            |mut sums, u| {
                let scores = ranker.scores(u, candidates, popularity)?;
                let ranked = ranked_with_seeded_ties(candidates.iter().copied().zip(scores), seed, u.user);
                for (summary, &k) in sums.iter_mut().zip(cutoffs) {
                    let m = user_metrics(&ranked, |i| u.tests.binary_search(&i).is_ok(), u.tests.len(), k);
                    summary.add(&ranked, k, &m, popularity, n_users);
                }
                Ok::<_, Error>(sums)
            },
        )
        .try_reduce(
            || vec![Summary::default(); cutoffs.len()],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| x.merge(y));
                Ok(a)
            },
        )?;
    let averages = sums.iter().map(|s| s.averages(candidates.len())).collect();
    Ok(Report { metrics: Metrics::Full(averages), users: users.len(), users_without_training_data: 0 })
}

/// The item tags whose names start with a prefix, numbered from 0 in name order, and which items
/// carry them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemTags {
    /// The tags' names, in name order: tag `k` is `names[k]`.
    pub names: Vec<String>,
    /// The tags (numbers) of every item below the bound asked for, ascending.
    pub rows: Vec<Vec<u32>>,
}

/// The tags carried by at least one item whose name starts with `prefix`, with those of every item
/// below `n_items`: what the tag-match baseline counts, and the tags EVALUATE ... TAGS ranks.
pub fn item_tags(store: &Store, prefix: &str, n_items: u32) -> Result<ItemTags> {
    let mut rows = vec![Vec::new(); n_items as usize];
    let mut names = Vec::new();
    for (name, _) in store.tags(Side::Item)?.into_iter().filter(|(name, _)| name.starts_with(prefix)) {
        for item in store.tag_members(Side::Item, &name)?.unwrap_or_default() {
            if let Some(row) = rows.get_mut(item as usize) {
                row.push(names.len() as u32);
            }
        }
        names.push(name);
    }
    Ok(ItemTags { names, rows })
}
