//! Loading what the readers produce into the store: every record of a file in one atomic write.
//!
//! Interactions are first read into memory with keys interned to local indices (no store access while
//! parsing), then one write maps keys to ids, groups the records by user and merges each user's row.
//! If the file has a bad line, the write never starts and the database is unchanged.

use recodb_storage::{Key, PairAttrs, Side, StorageError, Store};
use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::import::read::{
    read_entities, read_interactions, Entity, ImportSpec, ReadStats, Target, UnreadColumn,
};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportSummary {
    /// Lines read from the file.
    pub lines: u64,
    /// Records (interactions or entities) read.
    pub records: u64,
    /// Records skipped by a filter (`min_weight`).
    pub skipped: u64,
    /// Users created.
    pub new_users: u64,
    /// Items created.
    pub new_items: u64,
    /// Interactions added (repeats of a stored or earlier pair are merged, not added).
    pub new_interactions: u64,
    /// Tags given to entities that did not have them.
    pub new_tags: u64,
    /// Display labels given or changed.
    pub labels: u64,
    /// Columns of a csv or tsv interactions file that no option named (see [`UnreadColumn`]).
    pub unread: Vec<UnreadColumn>,
}

/// Interns keys to dense local indices in order of first appearance. Files are often sorted by user,
/// so the last key is checked before the hash map.
#[derive(Default)]
struct Interner {
    index: FxHashMap<Key, u32>,
    keys: Vec<Key>,
    last: Option<(Key, u32)>,
}

impl Interner {
    fn intern(&mut self, key: Key) -> u32 {
        if let Some((last, id)) = &self.last {
            if *last == key {
                return *id;
            }
        }
        let next = self.keys.len() as u32;
        let id = *self.index.entry(key.clone()).or_insert_with_key(|k| {
            self.keys.push(k.clone());
            next
        });
        self.last = Some((key, id));
        id
    }
}

/// Reads the file of `spec` and loads it into `store` in one atomic write. `progress(bytes_done,
/// bytes_total)` follows the reading and can cancel it (by returning `false`); `committed(done,
/// total)` follows the commit, which cannot be cancelled once it has started.
pub fn import(
    store: &Store,
    spec: &ImportSpec,
    progress: &mut dyn FnMut(u64, u64) -> bool,
    committed: &mut dyn FnMut(u64, u64),
) -> Result<ImportSummary> {
    match spec.target {
        Target::Interactions => import_interactions(store, spec, progress, committed),
        Target::Users => import_entities(store, spec, Side::User, progress, committed),
        Target::Items => import_entities(store, spec, Side::Item, progress, committed),
    }
}

fn summary_of(stats: ReadStats) -> ImportSummary {
    let ReadStats { lines, records, skipped, unread } = stats;
    ImportSummary { lines, records, skipped, unread, ..Default::default() }
}

fn import_interactions(
    store: &Store,
    spec: &ImportSpec,
    progress: &mut dyn FnMut(u64, u64) -> bool,
    committed: &mut dyn FnMut(u64, u64),
) -> Result<ImportSummary> {
    let mut pairs = Pairs::default();
    let stats = read_interactions(spec, progress, &mut |r| {
        pairs.push(r.user, r.item, PairAttrs { weight: r.weight, time: r.time })
    })?;
    let mut summary = summary_of(stats);
    pairs.load(store, &mut summary, committed)?;
    Ok(summary)
}

/// Interactions gathered in memory with their keys interned, to be loaded in one write.
#[derive(Default)]
struct Pairs {
    users: Interner,
    items: Interner,
    records: Vec<(u32, u32, PairAttrs)>,
}

impl Pairs {
    /// Adds the interaction of `user` with `item`; a later repeat of a pair replaces its attributes.
    fn push(&mut self, user: Key, item: Key, attrs: PairAttrs) {
        let user = self.users.intern(user);
        let item = self.items.intern(item);
        self.records.push((user, item, attrs));
    }

    /// Loads every interaction into `store` in one atomic write, counting what was new in `summary`
    /// and reporting the commit's progress to `committed`.
    fn load(
        self,
        store: &Store,
        summary: &mut ImportSummary,
        committed: &mut dyn FnMut(u64, u64),
    ) -> Result<()> {
        let Pairs { users, items, records } = self;
        // Group by local user with a counting sort that keeps file order within a user, so that for a
        // repeated pair the later line wins.
        let mut starts = vec![0usize; users.keys.len() + 1];
        for r in &records {
            starts[r.0 as usize + 1] += 1;
        }
        for u in 0..users.keys.len() {
            starts[u + 1] += starts[u];
        }
        let mut fill = starts.clone();
        let mut grouped = vec![(0u32, PairAttrs::default()); records.len()];
        for (u, i, a) in records {
            grouped[fill[u as usize]] = (i, a);
            fill[u as usize] += 1;
        }

        store.write_reporting(
            |txn| -> Result<(), Error> {
                let mut item_ids = Vec::with_capacity(items.keys.len());
                for key in &items.keys {
                    let (id, new) = txn.ensure(Side::Item, key)?;
                    item_ids.push(id);
                    summary.new_items += u64::from(new);
                }
                for (u, key) in users.keys.iter().enumerate() {
                    let (user, new) = txn.ensure(Side::User, key)?;
                    summary.new_users += u64::from(new);
                    let entries = &mut grouped[starts[u]..starts[u + 1]];
                    for e in entries.iter_mut() {
                        e.0 = item_ids[e.0 as usize];
                    }
                    summary.new_interactions += txn.add_interactions(user, entries)?;
                }
                Ok(())
            },
            committed,
        )
    }
}

fn import_entities(
    store: &Store,
    spec: &ImportSpec,
    side: Side,
    progress: &mut dyn FnMut(u64, u64) -> bool,
    committed: &mut dyn FnMut(u64, u64),
) -> Result<ImportSummary> {
    let mut entities = Vec::new();
    let stats = read_entities(spec, progress, &mut |e| entities.push(e))?;
    let mut summary = summary_of(stats);
    load_entities(store, side, &entities, &mut summary, committed)?;
    Ok(summary)
}

/// Adds the users or items of `entities`, each with its tags, in one atomic write, counting what was
/// new in `summary` and reporting the commit's progress to `committed`.
pub(crate) fn load_entities(
    store: &Store,
    side: Side,
    entities: &[Entity],
    summary: &mut ImportSummary,
    committed: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    store.write_reporting(
        |txn| -> Result<(), StorageError> {
            for entity in entities {
                let (id, new) = txn.ensure(side, &entity.key)?;
                match side {
                    Side::User => summary.new_users += u64::from(new),
                    Side::Item => summary.new_items += u64::from(new),
                }
                for tag in &entity.tags {
                    summary.new_tags += u64::from(txn.add_tag(side, id, tag)?);
                }
                if let Some(label) = &entity.label {
                    summary.labels += u64::from(txn.set_label(side, id, label)?);
                }
            }
            Ok(())
        },
        committed,
    )?;
    Ok(())
}

/// Inserts the interactions `users[i]` × `items[i]` (with `weights[i]` and `times[i]` when given) in one
/// atomic write; columns of different lengths or a weight that is not finite are refused.
pub(crate) fn load_columns(
    store: &Store,
    users: &[Key],
    items: &[Key],
    weights: Option<&[f32]>,
    times: Option<&[i64]>,
) -> Result<ImportSummary> {
    let n = users.len();
    let lengths = [
        ("items", Some(items.len())),
        ("weights", weights.map(<[f32]>::len)),
        ("times", times.map(<[i64]>::len)),
    ];
    for (name, len) in lengths {
        if let Some(len) = len.filter(|&len| len != n) {
            return Err(Error::invalid(name, format!("{n} values, one per user"), len.to_string()));
        }
    }
    if let Some(w) = weights.and_then(|w| w.iter().find(|w| !w.is_finite())) {
        return Err(Error::invalid("weights", "finite numbers", w.to_string()));
    }
    for &t in times.unwrap_or_default() {
        crate::data::check_time("times", t)?;
    }
    let mut pairs = Pairs::default();
    for (i, (user, item)) in users.iter().zip(items).enumerate() {
        let attrs = PairAttrs { weight: weights.map(|w| w[i]), time: times.map(|t| t[i]) };
        pairs.push(user.clone(), item.clone(), attrs);
    }
    let mut summary = ImportSummary { records: n as u64, ..ImportSummary::default() };
    pairs.load(store, &mut summary, &mut |_, _| {})?;
    Ok(summary)
}
