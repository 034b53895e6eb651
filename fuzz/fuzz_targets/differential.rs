//! Fuzz target `differential`: the input bytes decode into a short sequence of operations over small
//! key spaces (ADD USER/ITEM with labels and tags, INSERT INTERACTION with weights and times, DELETE
//! INTERACTION/USER/ITEM, SPLIT HOLDOUT/CLEAR, TRAIN pop AS a few names, DROP MODEL, DESCRIBE, and a
//! simulated crash). Each operation runs as statement text (`Database::execute`) against a real
//! database in a fresh directory, and is applied to a tiny in-memory model of what the documentation
//! says the database holds (users and items with labels and tags, interactions with weights, times
//! and held-out marks, model names with versions). Each statement's outcome must match the model's: its
//! result row, or an error of the expected kind that leaves the state unchanged. After every statement
//! the visible state must agree: SHOW STATS's counts (through `Database::stats`), every key's
//! DESCRIBE (label, tags, counts), every user's interactions with their weights and times, every
//! user's held-out items, and SHOW MODELS.
//!
//! The crash: durability is `full` (the default), so every acknowledged statement is on disk when it
//! returns and the files as they are now are what a SIGKILL would leave. The database directory is
//! copied while open, optionally with garbage appended to the copy's newest log file (a torn write of
//! a statement never acknowledged: past the last synced byte), and the copy is opened, checked with
//! `check_integrity` and compared with the model; the sequence then continues on the copy or on the
//! original, as the input says. A clean close and reopen is checked the same way.
//!
//! The SPLIT HOLDOUT draw is the database's own (seeded by internal ids): the model checks its shape
//! (who is split, how many are held out, only their own interactions) and adopts the marks.
//!
//! Databases live under a per-process scratch directory (`scratch.rs`), on `/dev/shm` when it exists.
//! `cargo fuzz run --sanitizer none differential fuzz/corpus/differential -- -max_total_time=60`

#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use recodb::{Database, ErrorKind, Key, Object, ResultSet, Side, Value};

#[path = "scratch.rs"]
mod scratch;

/// The most operations one input runs.
const MAX_OPS: usize = 40;

/// Users and items are drawn from these keys (`3` and `'3'` are different keys).
fn key(b: u8) -> Key {
    match b % 8 {
        n @ 0..=5 => Key::Int(u64::from(n)),
        6 => Key::Str("3".into()),
        _ => Key::Str("x".into()),
    }
}

/// Every key the operations can name.
fn all_keys() -> impl Iterator<Item = Key> {
    (0..8).map(key)
}

const TAGS: [&str; 4] = ["a", "b", "o'k", "é"];
const LABELS: [&str; 2] = ["L", "it's"];
const WEIGHTS: [Option<f32>; 6] = [None, Some(1.0), Some(0.5), Some(2.0), Some(-1.5), Some(0.0)];
const TIMES: [Option<i64>; 7] =
    [None, Some(0), Some(1), Some(-5), Some(1_700_000_000), Some(i64::MAX), Some(i64::MIN)];
/// Fractions as written, with their value (some out of range).
const FRACTIONS: [(&str, f64); 6] =
    [("0.2", 0.2), ("0.5", 0.5), ("0.75", 0.75), ("0", 0.0), ("1", 1.0), ("1.5", 1.5)];
/// Model names as written after AS, with the name they give.
const NAMES: [(&str, &str); 3] = [("pop", "pop"), ("m1", "m1"), ("\"My M\"", "My M")];

/// Where the split's defaults and thresholds come from (`src/eval/split.rs`).
const DEFAULT_SEED: u64 = 42;
const MIN_INTERACTIONS_TO_SPLIT: usize = 5;

#[derive(Debug, Clone)]
enum Op {
    Add {
        side: Side,
        key: Key,
        label: Option<&'static str>,
        tags: Vec<&'static str>,
    },
    Insert {
        user: Key,
        item: Key,
        weight: Option<f32>,
        time: Option<i64>,
    },
    DeleteInteraction {
        user: Key,
        item: Key,
    },
    Delete {
        side: Side,
        key: Key,
    },
    SplitHoldout {
        fraction: (&'static str, f64),
        seed: Option<u64>,
    },
    SplitClear,
    /// TRAIN of `pop` (or of an algorithm that does not exist), with or without AS.
    Train {
        algorithm: &'static str,
        name: Option<(&'static str, &'static str)>,
    },
    DropModel {
        name: (&'static str, &'static str),
    },
    Describe {
        side: Side,
        key: Key,
    },
    /// A simulated crash; continue on the copy or the original; garbage for a torn write.
    Crash {
        on_copy: bool,
        torn: Option<Vec<u8>>,
    },
    /// A clean close and reopen of the same directory.
    Reopen,
}

fn side_word(side: Side) -> &'static str {
    match side {
        Side::User => "USER",
        Side::Item => "ITEM",
    }
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Op {
    /// The statement text (none for a crash).
    fn text(&self) -> Option<String> {
        Some(match self {
            Op::Add { side, key, label, tags } => {
                let mut s = format!("ADD {} {key}", side_word(*side));
                if let Some(l) = label {
                    s += &format!(" LABEL {}", quoted(l));
                }
                if !tags.is_empty() {
                    let tags: Vec<String> = tags.iter().map(|t| quoted(t)).collect();
                    s += &format!(" TAGS ({})", tags.join(", "));
                }
                s
            }
            Op::Insert { user, item, weight, time } => {
                let mut s = format!("INSERT INTERACTION USER {user} ITEM {item}");
                if let Some(w) = weight {
                    s += &format!(" WEIGHT {w:?}");
                }
                if let Some(t) = time {
                    s += &format!(" AT {t}");
                }
                s
            }
            Op::DeleteInteraction { user, item } => format!("DELETE INTERACTION USER {user} ITEM {item}"),
            Op::Delete { side, key } => format!("DELETE {} {key}", side_word(*side)),
            Op::SplitHoldout { fraction, seed } => match seed {
                Some(seed) => format!("SPLIT HOLDOUT {} SEED {seed}", fraction.0),
                None => format!("SPLIT HOLDOUT {}", fraction.0),
            },
            Op::SplitClear => "SPLIT CLEAR".into(),
            Op::Train { algorithm, name } => match name {
                Some((written, _)) => format!("TRAIN {algorithm} AS {written}"),
                None => format!("TRAIN {algorithm}"),
            },
            Op::DropModel { name } => format!("DROP MODEL {}", name.0),
            Op::Describe { side, key } => format!("DESCRIBE {} {key}", side_word(*side)),
            Op::Crash { .. } | Op::Reopen => return None,
        })
    }
}

/// Reads the input bytes as operations; stops when they run out.
fn decode(data: &[u8]) -> Vec<Op> {
    let mut bytes = data.iter().copied();
    let mut ops = Vec::new();
    while ops.len() < MAX_OPS {
        let Some(tag) = bytes.next() else { break };
        let mut next = || bytes.next().unwrap_or(0);
        let side = if tag & 0x80 == 0 { Side::User } else { Side::Item };
        let op = match tag % 32 {
            0..=3 => {
                let (k, flags) = (next(), next());
                let label = (flags & 0x10 != 0).then(|| LABELS[usize::from(flags >> 5) % LABELS.len()]);
                let tags = (0..TAGS.len()).filter(|t| flags & (1 << t) != 0).map(|t| TAGS[t]).collect();
                Op::Add { side, key: key(k), label, tags }
            }
            4..=13 => {
                let (u, i, attrs) = (next(), next(), next());
                Op::Insert {
                    user: key(u),
                    item: key(i),
                    weight: WEIGHTS[usize::from(attrs % 8) % WEIGHTS.len()],
                    time: TIMES[usize::from(attrs / 8) % TIMES.len()],
                }
            }
            14..=16 => Op::DeleteInteraction { user: key(next()), item: key(next()) },
            17..=18 => Op::Delete { side, key: key(next()) },
            19..=20 => {
                let f = next();
                let fraction = FRACTIONS[usize::from(f % 8) % FRACTIONS.len()];
                Op::SplitHoldout { fraction, seed: (f & 0x80 != 0).then(|| u64::from(next())) }
            }
            21 => Op::SplitClear,
            22..=24 => {
                let n = next();
                let algorithm = if n & 0x80 != 0 { "nosuch" } else { "pop" };
                let name = (n & 0x40 == 0).then(|| NAMES[usize::from(n % 4) % NAMES.len()]);
                Op::Train { algorithm, name }
            }
            25..=26 => Op::DropModel { name: NAMES[usize::from(next()) % NAMES.len()] },
            27..=28 => Op::Describe { side, key: key(next()) },
            _ => {
                let flags = next();
                if flags & 4 != 0 {
                    ops.push(Op::Reopen);
                    continue;
                }
                let torn = (flags & 2 != 0).then(|| {
                    let n = usize::from(next() % 64) + 1;
                    (0..n).map(|_| next()).collect()
                });
                Op::Crash { on_copy: flags & 1 != 0, torn }
            }
        };
        ops.push(op);
    }
    ops
}

/// A user or item as the model keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
struct Entity {
    label: Option<String>,
    tags: BTreeSet<String>,
}

/// An interaction as the model keeps it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pair {
    weight: f32,
    time: Option<i64>,
    held: bool,
}

/// What the documentation says the database holds.
#[derive(Debug, Clone, Default)]
struct Model {
    users: BTreeMap<Key, Entity>,
    items: BTreeMap<Key, Entity>,
    /// Interactions by (user, item).
    pairs: BTreeMap<(Key, Key), Pair>,
    /// Model name → (version, interactions it was trained on).
    models: BTreeMap<String, (u64, u64)>,
}

/// What a statement should do.
enum Expected {
    /// Succeed with one row of these values.
    Row(Vec<(&'static str, Value)>),
    /// Fail with an error of this kind, changing nothing.
    Error(&'static str, fn(&ErrorKind) -> bool),
    /// SPLIT HOLDOUT: checked against the database's draw (the fraction and seed).
    Split(f64, u64),
    /// DESCRIBE of an existing key: checked by the state comparison.
    Described,
}

fn int(v: impl TryInto<i64>) -> Value {
    Value::Int(v.try_into().unwrap_or(i64::MAX))
}

impl Model {
    fn side(&mut self, side: Side) -> &mut BTreeMap<Key, Entity> {
        match side {
            Side::User => &mut self.users,
            Side::Item => &mut self.items,
        }
    }

    fn side_ref(&self, side: Side) -> &BTreeMap<Key, Entity> {
        match side {
            Side::User => &self.users,
            Side::Item => &self.items,
        }
    }

    fn visible(&self) -> u64 {
        self.pairs.values().filter(|p| !p.held).count() as u64
    }

    fn held(&self) -> u64 {
        self.pairs.values().filter(|p| p.held).count() as u64
    }

    /// Applies `op` (not a crash) and says what the database should answer.
    fn apply(&mut self, op: &Op) -> Expected {
        match op {
            Op::Add { side, key, label, tags } => {
                let entities = self.side(*side);
                let new = !entities.contains_key(key);
                let entity = entities.entry(key.clone()).or_default();
                entity.tags.extend(tags.iter().map(|t| t.to_string()));
                if let Some(l) = label {
                    entity.label = Some(l.to_string());
                }
                Expected::Row(vec![("added", int(u8::from(new))), ("tags", int(tags.len()))])
            }
            Op::Insert { user, item, weight, time } => {
                if *time == Some(i64::MIN) {
                    // -2^63 marks "no time" in storage and is refused (it used to be acknowledged and
                    // read back as no time: this target's first finding).
                    return Expected::Error(
                        "invalid argument (AT)",
                        |k| matches!(k, ErrorKind::InvalidArgument { name, .. } if name == "AT"),
                    );
                }
                self.users.entry(user.clone()).or_default();
                self.items.entry(item.clone()).or_default();
                let pair = (user.clone(), item.clone());
                let new = match self.pairs.get_mut(&pair) {
                    Some(p) => {
                        p.weight = weight.unwrap_or(p.weight);
                        p.time = time.or(p.time);
                        false
                    }
                    None => {
                        let p = Pair { weight: weight.unwrap_or(1.0), time: *time, held: false };
                        self.pairs.insert(pair, p);
                        true
                    }
                };
                Expected::Row(vec![("inserted", int(u8::from(new)))])
            }
            Op::DeleteInteraction { user, item } => {
                let existed = self.pairs.remove(&(user.clone(), item.clone())).is_some();
                Expected::Row(vec![("deleted", int(u8::from(existed)))])
            }
            Op::Delete { side, key } => {
                let existed = self.side(*side).remove(key).is_some();
                self.pairs.retain(|(u, i), _| match side {
                    Side::User => u != key,
                    Side::Item => i != key,
                });
                Expected::Row(vec![("deleted", int(u8::from(existed)))])
            }
            Op::SplitHoldout { fraction: (_, f), seed } => {
                if !(*f > 0.0 && *f < 1.0) {
                    return Expected::Error("invalid argument (the fraction)", |k| {
                        matches!(k, ErrorKind::InvalidArgument { .. })
                    });
                }
                Expected::Split(*f, seed.unwrap_or(DEFAULT_SEED))
            }
            Op::SplitClear => {
                let restored = self.held();
                for p in self.pairs.values_mut() {
                    p.held = false;
                }
                Expected::Row(vec![("restored", int(restored))])
            }
            Op::Train { algorithm, name } => {
                if *algorithm != "pop" {
                    return Expected::Error("not found (the algorithm)", |k| {
                        matches!(k, ErrorKind::NotFound { what: Object::Algorithm, .. })
                    });
                }
                let name = name.map_or("pop", |n| n.1);
                let visible = self.visible();
                let version = self.models.get(name).map_or(1, |m| m.0 + 1);
                self.models.insert(name.to_string(), (version, visible));
                Expected::Row(vec![
                    ("model", Value::from(name)),
                    ("algorithm", Value::from("pop")),
                    ("version", int(version)),
                    ("interactions", int(visible)),
                ])
            }
            Op::DropModel { name: (_, name) } => {
                if self.models.remove(*name).is_none() {
                    return Expected::Error("not found (the model)", |k| {
                        matches!(k, ErrorKind::NotFound { what: Object::Model, .. })
                    });
                }
                Expected::Row(vec![("dropped", Value::from(*name))])
            }
            Op::Describe { side, key } => {
                if self.side_ref(*side).contains_key(key) {
                    return Expected::Described;
                }
                match side {
                    Side::User => Expected::Error("not found (the user)", |k| {
                        matches!(k, ErrorKind::NotFound { what: Object::User, .. })
                    }),
                    Side::Item => Expected::Error("not found (the item)", |k| {
                        matches!(k, ErrorKind::NotFound { what: Object::Item, .. })
                    }),
                }
            }
            Op::Crash { .. } | Op::Reopen => unreachable!("a crash is no statement"),
        }
    }

    /// Checks the database's split against the model's interactions and adopts its held-out marks;
    /// returns the row SPLIT HOLDOUT should have answered.
    fn adopt_split(&mut self, db: &Database, fraction: f64, seed: u64) -> Vec<(&'static str, Value)> {
        let (mut users, mut held_total) = (0u64, 0u64);
        for p in self.pairs.values_mut() {
            p.held = false;
        }
        for user in self.users.keys() {
            let mine: BTreeSet<Key> =
                self.pairs.keys().filter(|(u, _)| u == user).map(|(_, i)| i.clone()).collect();
            let held = held_items(db, user);
            let n = mine.len();
            if n < MIN_INTERACTIONS_TO_SPLIT {
                assert!(held.is_empty(), "user {user} with {n} interactions had {held:?} held out");
                continue;
            }
            let k = ((fraction * n as f64).round() as usize).clamp(1, n - 1);
            assert_eq!(held.len(), k, "user {user}: {n} interactions, fraction {fraction}");
            assert!(held.is_subset(&mine), "user {user} had {held:?} held out, not all theirs");
            users += 1;
            held_total += k as u64;
            for item in held {
                if let Some(p) = self.pairs.get_mut(&(user.clone(), item)) {
                    p.held = true;
                }
            }
        }
        vec![("users_split", int(users)), ("held_out", int(held_total)), ("seed", int(seed))]
    }
}

/// The items the database holds out for `user` (empty for an unknown user).
fn held_items(db: &Database, user: &Key) -> BTreeSet<Key> {
    let store = db.store();
    let Some(id) = store.id_of(Side::User, user).expect("id_of") else { return BTreeSet::new() };
    let Some(held) = store.holdout(id).expect("holdout") else { return BTreeSet::new() };
    held.iter()
        .map(|i| store.key_of(Side::Item, i).expect("key_of").expect("a held-out item has a key"))
        .collect()
}

/// The first row of `set` as (column, value) pairs.
fn first_row(set: &ResultSet) -> Vec<(String, Value)> {
    let row = set.row(0).expect("a row");
    set.columns().iter().map(|c| c.name.clone()).zip(row.values().iter().cloned()).collect()
}

/// Checks that the database shows exactly what the model holds.
fn compare(db: &Database, model: &Model, context: &str) {
    let stats = db.stats().expect("stats");
    let tags_in_use = |entities: &BTreeMap<Key, Entity>| {
        entities.values().flat_map(|e| e.tags.iter()).collect::<BTreeSet<_>>().len() as u64
    };
    let counts =
        (stats.users, stats.items, stats.interactions, stats.held_out, stats.user_tags, stats.item_tags);
    let expected = (
        model.users.len() as u64,
        model.items.len() as u64,
        model.pairs.len() as u64,
        model.held(),
        tags_in_use(&model.users),
        tags_in_use(&model.items),
    );
    assert_eq!(counts, expected, "{context}: (users, items, interactions, held out, user tags, item tags)");
    for side in [Side::User, Side::Item] {
        for key in all_keys() {
            let info = db.describe(side, &key).expect("describe");
            let Some(entity) = model.side_ref(side).get(&key) else {
                assert!(info.is_none(), "{context}: {side} {key} exists but should not: {info:?}");
                continue;
            };
            let info = info.unwrap_or_else(|| panic!("{context}: {side} {key} is missing"));
            let mine = |p: &(Key, Key)| match side {
                Side::User => p.0 == key,
                Side::Item => p.1 == key,
            };
            let n = model.pairs.keys().filter(|p| mine(p)).count() as u64;
            let held = match side {
                Side::User => model.pairs.iter().filter(|(p, v)| mine(p) && v.held).count() as u64,
                Side::Item => 0,
            };
            let tags: Vec<String> = entity.tags.iter().cloned().collect();
            assert_eq!(
                (&info.label, &info.tags, info.interactions, info.held_out),
                (&entity.label, &tags, n, held),
                "{context}: {side} {key}: (label, tags, interactions, held out)"
            );
        }
    }
    for user in all_keys() {
        let Some(rows) = db.interactions_of(&user).expect("interactions_of") else {
            assert!(!model.users.contains_key(&user), "{context}: user {user} has no interactions list");
            continue;
        };
        let got: BTreeMap<Key, (f32, Option<i64>)> =
            rows.into_iter().map(|r| (r.item, (r.weight, r.time))).collect();
        let expected: BTreeMap<Key, (f32, Option<i64>)> = model
            .pairs
            .iter()
            .filter(|((u, _), _)| *u == user)
            .map(|((_, i), p)| (i.clone(), (p.weight, p.time)))
            .collect();
        assert_eq!(got, expected, "{context}: user {user}'s interactions (item: weight, time)");
        let held: BTreeSet<Key> = model
            .pairs
            .iter()
            .filter(|((u, _), p)| *u == user && p.held)
            .map(|((_, i), _)| i.clone())
            .collect();
        assert_eq!(held_items(db, &user), held, "{context}: user {user}'s held-out items");
    }
    let shown = db.execute("SHOW TAGS").expect("SHOW TAGS");
    let got: BTreeSet<(String, String, i64)> = shown[0]
        .rows()
        .map(|r| {
            (r.get("side").expect("side"), r.get("tag").expect("tag"), r.get("entities").expect("entities"))
        })
        .collect();
    let mut expected = BTreeSet::new();
    for (side, entities) in [("user", &model.users), ("item", &model.items)] {
        let mut counts: BTreeMap<&String, i64> = BTreeMap::new();
        for tag in entities.values().flat_map(|e| e.tags.iter()) {
            *counts.entry(tag).or_default() += 1;
        }
        expected.extend(counts.into_iter().map(|(tag, n)| (side.to_string(), tag.clone(), n)));
    }
    assert_eq!(got, expected, "{context}: SHOW TAGS (side, tag, entities)");
    let shown = db.execute("SHOW MODELS").expect("SHOW MODELS");
    let got: BTreeMap<String, (u64, u64)> = shown[0]
        .rows()
        .map(|r| {
            let name: String = r.get("name").expect("name");
            let version: i64 = r.get("version").expect("version");
            let interactions: i64 = r.get("interactions").expect("interactions");
            (name, (version as u64, interactions as u64))
        })
        .collect();
    assert_eq!(got, model.models, "{context}: SHOW MODELS (name: version, interactions)");
}

/// Copies directory `from` into the new directory `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the database directory") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// Appends `garbage` to sled's log (the file `db`) of the copy at `dir`: bytes past the last synced
/// one, as a write that was under way when the process died would leave them.
fn tear(dir: &Path, garbage: &[u8]) {
    use std::io::Write;
    let log = dir.join("db");
    if !log.is_file() {
        return;
    }
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).expect("open the log");
    file.write_all(garbage).expect("append to the log");
}

/// A database in its own scratch directory.
struct Scratch {
    db: Option<Database>,
    dir: tempfile::TempDir,
}

impl Scratch {
    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("db")
    }

    fn db(&self) -> &Database {
        self.db.as_ref().expect("open")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // The database closes before its directory is removed.
        self.db = None;
    }
}

fn open(dir: tempfile::TempDir) -> Scratch {
    let db = Database::open(dir.path().join("db")).expect("open the database");
    Scratch { db: Some(db), dir }
}

fuzz_target!(|data: &[u8]| {
    scratch::tick();
    let ops = decode(data);
    let mut scratch = open(scratch::fresh("differential"));
    let mut model = Model::default();
    for (at, op) in ops.iter().enumerate() {
        let context = format!("after op {at} {op:?}");
        if let Op::Crash { on_copy, torn } = op {
            let copy = scratch::fresh("differential");
            copy_dir(&scratch.path(), &copy.path().join("db"));
            if let Some(garbage) = torn {
                tear(&copy.path().join("db"), garbage);
            }
            let reopened = open(copy);
            reopened.db().check_integrity().unwrap_or_else(|e| panic!("{context}: integrity: {e}"));
            compare(reopened.db(), &model, &format!("{context}, reopened"));
            if *on_copy {
                scratch = reopened;
            }
            continue;
        }
        if let Op::Reopen = op {
            let dir = std::mem::replace(&mut scratch.dir, scratch::fresh("differential"));
            drop(scratch);
            scratch = open(dir);
            scratch.db().check_integrity().unwrap_or_else(|e| panic!("{context}: integrity: {e}"));
            compare(scratch.db(), &model, &format!("{context}, reopened"));
            continue;
        }
        let text = op.text().expect("a statement");
        let outcome = scratch.db().execute(&text);
        let before = model.clone();
        match (model.apply(op), outcome) {
            (Expected::Row(expected), Ok(sets)) => {
                let got = first_row(&sets[0]);
                for (column, value) in expected {
                    let found = got.iter().find(|(c, _)| c == column).map(|(_, v)| v);
                    assert_eq!(found, Some(&value), "{context}: {text}: column {column} of {got:?}");
                }
            }
            (Expected::Split(fraction, seed), Ok(sets)) => {
                let expected = model.adopt_split(scratch.db(), fraction, seed);
                let got = first_row(&sets[0]);
                for (column, value) in expected {
                    let found = got.iter().find(|(c, _)| c == column).map(|(_, v)| v);
                    assert_eq!(found, Some(&value), "{context}: {text}: column {column} of {got:?}");
                }
            }
            (Expected::Described, Ok(_)) => {}
            (Expected::Error(what, is), Err(e)) => {
                assert!(is(e.kind()), "{context}: {text}: expected {what}, got {e:?}");
                model = before;
            }
            (Expected::Error(what, _), Ok(sets)) => {
                panic!("{context}: {text}: expected {what}, got {sets:?}")
            }
            (_, Err(e)) => panic!("{context}: {text}: unexpected error {e:?}"),
        }
        compare(scratch.db(), &model, &format!("{context}: {text}"));
    }
    scratch.db().check_integrity().expect("integrity at the end");
});
