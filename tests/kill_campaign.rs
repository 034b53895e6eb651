//! The kill campaign (issue 19, item 2): a child process runs a seeded random stream of writing
//! statements (IMPORT, INSERT, ADD, DELETE of interactions, users and items, SPLIT, TRAIN in the
//! foreground and BACKGROUND, WAIT JOB, DROP MODEL) against an on-disk database while a second thread
//! of the child runs RECOMMEND in a loop; the parent SIGKILLs it at a random moment, reopens the
//! database (timing the open), runs the integrity check and compares what it reads with the replay of
//! the child's log of acknowledged statements over a small in-memory model (users, items, labels, tags,
//! interactions with weights and times, held-out counts, model names and versions, job records). The
//! statement in flight at the kill may be applied wholly or not at all, never partly.
//!
//! Odd rounds make every write of more than 16 sled entries a large write (a journal, then chunks of
//! 16; `recodb-storage`'s `journal` module), so kills also land inside those.
//!
//! The child appends `start N <statement>` to its log before running a statement and `ack N <info>`
//! (or `err N <kind>`) after it returns, each line fsynced, so an `ack` line means the statement was
//! acknowledged to the caller before the kill.
//!
//! The full campaign is ignored by default (it takes minutes); run it with
//!
//! ```text
//! RECODB_KILLS=200 RECODB_KILL_SEED=1 cargo nextest run --run-ignored only -E 'binary(kill_campaign)' --no-capture
//! ```
//!
//! `a_few_kills` runs the same campaign with six kills in the ordinary test run.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use recodb::{Database, ErrorKind, Key, Side, Value};

const CHILD_DIR_ENV: &str = "RECODB_KILL_CHILD_DIR";
const CHILD_SEED_ENV: &str = "RECODB_KILL_CHILD_SEED";
const CHILD_ROUND_ENV: &str = "RECODB_KILL_CHILD_ROUND";

/// Users are integer keys `0..USERS`, items string keys `i0..`, tags `g:0..`.
const USERS: u64 = 40;
const ITEMS: u64 = 60;
const TAGS: u64 = 6;
/// Import files of interactions, and one each of users and items.
const INTERACTION_FILES: usize = 4;
const LINES_PER_FILE: usize = 300;
/// Names that foreground TRAIN and DROP MODEL use, with the statement that trains each.
const FOREGROUND_MODELS: [(&str, &str); 4] = [
    ("p", "TRAIN pop AS p"),
    ("e", "TRAIN ease AS e WITH (lambda = 20)"),
    ("b", "TRAIN bpr AS b WITH (factors = 8, epochs = 20, seed = 3)"),
    ("a", "TRAIN als AS a WITH (factors = 8, iterations = 4, seed = 3)"),
];
/// Names that BACKGROUND TRAIN uses, with the statement that trains each.
const BACKGROUND_MODELS: [(&str, &str); 2] =
    [("bgp", "TRAIN pop AS bgp BACKGROUND"), ("bge", "TRAIN ease AS bge WITH (lambda = 30) BACKGROUND")];

/// A small, seeded generator (splitmix64): the campaign is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn item(i: u64) -> String {
    format!("i{i}")
}

fn interaction_file(dir: &Path, n: usize) -> PathBuf {
    dir.join(format!("interactions{n}.tsv"))
}

/// Writes the import files into `dir` (the same for every seed).
fn write_import_files(dir: &Path) {
    let mut rng = Rng(77);
    for n in 0..INTERACTION_FILES {
        let mut text = String::new();
        for _ in 0..LINES_PER_FILE {
            let weight = (1 + rng.below(10)) as f64 / 2.0;
            let time = 1_600_000_000 + rng.below(1_000_000);
            text.push_str(&format!("{}\t{}\t{weight}\t{time}\n", rng.below(USERS), item(rng.below(ITEMS))));
        }
        std::fs::write(interaction_file(dir, n), text).expect("write import file");
    }
    let mut users = String::new();
    for u in (0..USERS).step_by(3) {
        users.push_str(&format!("{u}\tg:{}\tg:{}\n", u % TAGS, (u + 1) % TAGS));
    }
    std::fs::write(dir.join("users.tsv"), users).expect("write users");
    let mut items = String::new();
    for i in (0..ITEMS).step_by(4) {
        items.push_str(&format!("{}\tTitle {i}\tg:{}\n", item(i), i % TAGS));
    }
    std::fs::write(dir.join("items.tsv"), items).expect("write items");
}

// ---------------------------------------------------------------------------------------------------
// The child.

/// Appends fsynced lines to the log.
struct Log(File);

impl Log {
    fn line(&mut self, text: &str) {
        self.unsynced(text);
        self.0.sync_data().expect("fsync the log");
    }

    /// A line that is not fsynced: a SIGKILL does not lose what the kernel already holds, so the
    /// `start` lines need no fsync (which keeps the time between statements short).
    fn unsynced(&mut self, text: &str) {
        writeln!(self.0, "{}", text.replace('\n', " ")).expect("append to the log");
    }
}

/// The next statement of the child: a random one, or `WAIT JOB` for a name whose background job is
/// still outstanding when the statement would train or drop that name.
fn next_statement(rng: &mut Rng, dir: &Path, outstanding: &mut BTreeMap<String, u64>) -> String {
    let u = rng.below(USERS);
    let i = item(rng.below(ITEMS));
    let tag = format!("g:{}", rng.below(TAGS));
    let roll = rng.below(100);
    let touch = |name: &str, statement: String, outstanding: &mut BTreeMap<String, u64>| match outstanding
        .remove(name)
    {
        Some(job) => format!("WAIT JOB {job}"),
        None => statement,
    };
    match roll {
        0..=24 => {
            let weight = if rng.below(2) == 0 {
                format!(" WEIGHT {}", (1 + rng.below(10)) as f64 / 2.0)
            } else {
                String::new()
            };
            let at = if rng.below(3) == 0 {
                format!(" AT {}", 1_700_000_000 + rng.below(1000))
            } else {
                String::new()
            };
            format!("INSERT INTERACTION user {u} item '{i}'{weight}{at}")
        }
        25..=29 => {
            let label =
                if rng.below(2) == 0 { format!(" LABEL 'user {}'", rng.below(100)) } else { String::new() };
            format!("ADD USER {u}{label} TAGS ('{tag}')")
        }
        30..=34 => {
            let label =
                if rng.below(2) == 0 { format!(" LABEL 'item {}'", rng.below(100)) } else { String::new() };
            format!("ADD ITEM '{i}'{label} TAGS ('{tag}')")
        }
        35..=44 => format!("DELETE INTERACTION user {u} item '{i}'"),
        45..=46 => format!("DELETE USER {u}"),
        47..=48 => format!("DELETE ITEM '{i}'"),
        49..=56 => {
            let file = interaction_file(dir, rng.below(INTERACTION_FILES as u64) as usize);
            format!("IMPORT INTERACTIONS FROM '{}' WITH (weight = 2, time = 3)", file.display())
        }
        57..=58 => format!("IMPORT USERS FROM '{}'", dir.join("users.tsv").display()),
        59..=60 => format!("IMPORT ITEMS FROM '{}' WITH (label = 1)", dir.join("items.tsv").display()),
        61..=64 => format!("SPLIT HOLDOUT 0.25 SEED {}", rng.below(5)),
        65..=66 => "SPLIT CLEAR".to_string(),
        67..=80 => {
            let (name, statement) = FOREGROUND_MODELS[rng.below(FOREGROUND_MODELS.len() as u64) as usize];
            touch(name, statement.to_string(), outstanding)
        }
        81..=86 => {
            let (name, _) = FOREGROUND_MODELS[rng.below(FOREGROUND_MODELS.len() as u64) as usize];
            touch(name, format!("DROP MODEL {name}"), outstanding)
        }
        87..=94 => {
            let (name, statement) = BACKGROUND_MODELS[rng.below(BACKGROUND_MODELS.len() as u64) as usize];
            touch(name, statement.to_string(), outstanding)
        }
        _ => {
            let (name, _) = BACKGROUND_MODELS[rng.below(BACKGROUND_MODELS.len() as u64) as usize];
            touch(name, format!("DROP MODEL {name}"), outstanding)
        }
    }
}

/// What an acknowledged statement's result says that the replay needs: the job id of a BACKGROUND
/// TRAIN, the version a TRAIN or WAIT JOB published.
fn ack_info(statement: &str, set: &recodb::ResultSet) -> String {
    let first = |column: &str| set.rows().next().and_then(|r| r.get::<i64>(column).ok());
    if statement.ends_with("BACKGROUND") {
        format!("job {}", first("job").unwrap_or(-1))
    } else if statement.starts_with("TRAIN") || statement.starts_with("WAIT") {
        format!("version {}", first("version").unwrap_or(-1))
    } else {
        String::new()
    }
}

/// Errors a statement of the stream may legitimately end with (a model or job that is not there, too
/// little data to train); anything else is recorded as unexpected.
fn expected_error(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::NotFound { .. }
            | ErrorKind::Conflict(_)
            | ErrorKind::JobFailed { .. }
            | ErrorKind::InvalidArgument { .. }
            | ErrorKind::Unsupported(_)
    )
}

/// The child's role: runs only when the parent sets `CHILD_DIR_ENV`.
#[test]
fn kill_child_role() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else { return };
    let dir = PathBuf::from(dir);
    let seed: u64 = std::env::var(CHILD_SEED_ENV).ok().and_then(|s| s.parse().ok()).expect("seed");
    let round: u64 = std::env::var(CHILD_ROUND_ENV).ok().and_then(|s| s.parse().ok()).expect("round");
    if round % 2 == 1 {
        // Odd rounds commit every write of more than 16 entries through the journal, in chunks of 16,
        // so that kills land between a large write's chunks too.
        recodb_storage::set_commit_chunk_entries(16);
    }
    let db = std::sync::Arc::new(Database::open(dir.join("db")).expect("the child opens"));
    let open_log = |name: String| {
        Log(OpenOptions::new().create(true).append(true).open(dir.join(name)).expect("open the log"))
    };
    let mut log = open_log(format!("round{round}.log"));
    let mut readers = open_log(format!("round{round}.readers"));
    // The concurrent reader: RECOMMEND with every model name in turn; an error other than "not found"
    // or "nothing to recommend from" is recorded, and so are the answers (one line per 50).
    let reader = {
        let db = db.clone();
        std::thread::spawn(move || {
            let names: Vec<&str> =
                FOREGROUND_MODELS.iter().chain(&BACKGROUND_MODELS).map(|(name, _)| *name).collect();
            let mut rng = Rng(seed ^ 0xABCD);
            let mut answered = 0u64;
            loop {
                let name = names[rng.below(names.len() as u64) as usize];
                let user = Value::Key(Key::Int(rng.below(USERS)));
                match db.query(&format!("RECOMMEND user ? TOP 5 USING {name}"), &[user]) {
                    Ok(_) => {
                        answered += 1;
                        if answered.is_multiple_of(50) {
                            readers.line(&format!("answered {answered}"));
                        }
                    }
                    Err(e) if expected_error(e.kind()) => {}
                    Err(e) => readers.line(&format!("error {name}: {} {e}", e.kind().code())),
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    println!("ready");
    std::io::stdout().flush().expect("flush");
    let mut rng = Rng(seed);
    let mut outstanding: BTreeMap<String, u64> = BTreeMap::new();
    for n in 0u64.. {
        let statement = next_statement(&mut rng, &dir, &mut outstanding);
        log.unsynced(&format!("start {n} {statement}"));
        match db.query(&statement, &[]) {
            Ok(set) => {
                let info = ack_info(&statement, &set);
                if let Some(job) = info.strip_prefix("job ") {
                    let name = statement.split_whitespace().nth(3).expect("TRAIN x AS name");
                    outstanding.insert(name.to_string(), job.parse().expect("job id"));
                }
                log.line(&format!("ack {n} {info}"));
            }
            Err(e) => {
                let expected = if expected_error(e.kind()) { "expected" } else { "unexpected" };
                log.line(&format!("err {n} {expected} {}: {e}", e.kind().code()));
            }
        }
    }
    drop(reader);
}

// ---------------------------------------------------------------------------------------------------
// The model the parent replays.

#[derive(Debug, Clone, Default, PartialEq)]
struct Entity {
    label: Option<String>,
    tags: BTreeSet<String>,
}

/// What the parent knows of a model name.
#[derive(Debug, Clone, PartialEq)]
enum ModelState {
    Absent,
    /// Published, at this version when known.
    Present(Option<u64>),
    /// A BACKGROUND job (this id) was acknowledged for it and not waited for: it may have published, or
    /// not, leaving the state before it.
    Pending(u64, Box<ModelState>),
}

#[derive(Debug, Clone, Default)]
struct State {
    users: BTreeMap<u64, Entity>,
    items: BTreeMap<String, Entity>,
    interactions: BTreeMap<(u64, String), (f32, Option<i64>)>,
    /// Per user, the least and most held-out interactions it can have.
    held: BTreeMap<u64, (u64, u64)>,
    models: BTreeMap<String, ModelState>,
}

/// The interactions files as the parent reads them: `(user, item, weight, time)` lines.
type Imports = Vec<Vec<(u64, String, f32, i64)>>;

fn read_imports(dir: &Path) -> Imports {
    (0..INTERACTION_FILES)
        .map(|n| {
            std::fs::read_to_string(interaction_file(dir, n))
                .expect("read import file")
                .lines()
                .map(|line| {
                    let f: Vec<&str> = line.split('\t').collect();
                    (
                        f[0].parse().expect("u"),
                        f[1].to_string(),
                        f[2].parse().expect("w"),
                        f[3].parse().expect("t"),
                    )
                })
                .collect()
        })
        .collect()
}

fn quoted(s: &str) -> String {
    let start = s.find('\'').expect("a quote") + 1;
    let end = start + s[start..].find('\'').expect("a closing quote");
    s[start..end].to_string()
}

impl State {
    fn user_count(&self, u: u64) -> u64 {
        self.interactions.keys().filter(|(user, _)| *user == u).count() as u64
    }

    fn insert(&mut self, u: u64, i: &str, weight: Option<f32>, time: Option<i64>) {
        self.users.entry(u).or_default();
        self.items.entry(i.to_string()).or_default();
        self.held.entry(u).or_insert((0, 0));
        let entry = self.interactions.entry((u, i.to_string())).or_insert((1.0, None));
        if let Some(w) = weight {
            entry.0 = w;
        }
        if time.is_some() {
            entry.1 = time;
        }
    }

    fn delete_interaction(&mut self, u: u64, i: &str) {
        if self.interactions.remove(&(u, i.to_string())).is_some() {
            let n = self.user_count(u);
            let held = self.held.entry(u).or_insert((0, 0));
            *held = (held.0.saturating_sub(1), held.1.min(n));
        }
    }

    /// Applies statement `s`, acknowledged with `info`.
    fn apply(&mut self, s: &str, info: &str, imports: &Imports, dir: &Path) {
        let words: Vec<&str> = s.split_whitespace().collect();
        let version = info.strip_prefix("version ").and_then(|v| v.parse::<u64>().ok());
        match (words[0], words[1]) {
            ("INSERT", _) => {
                let u = words[3].parse().expect("user");
                let i = quoted(s);
                let weight =
                    words.iter().position(|w| *w == "WEIGHT").map(|p| words[p + 1].parse().expect("w"));
                let time = words.iter().position(|w| *w == "AT").map(|p| words[p + 1].parse().expect("t"));
                self.insert(u, &i, weight, time);
            }
            ("ADD", "USER") => {
                let u: u64 = words[2].parse().expect("user");
                let entity = self.users.entry(u).or_default();
                self.held.entry(u).or_insert((0, 0));
                if words[3] == "LABEL" {
                    entity.label = Some(quoted(s));
                }
                entity.tags.insert(quoted(&s[s.find("TAGS").expect("TAGS")..]));
            }
            ("ADD", "ITEM") => {
                let i = quoted(s);
                let rest = &s[s.find('\'').expect("quote") + i.len() + 2..];
                let entity = self.items.entry(i).or_default();
                if rest.trim_start().starts_with("LABEL") {
                    entity.label = Some(quoted(rest));
                }
                entity.tags.insert(quoted(&s[s.find("TAGS").expect("TAGS")..]));
            }
            ("DELETE", "INTERACTION") => self.delete_interaction(words[3].parse().expect("user"), &quoted(s)),
            ("DELETE", "USER") => {
                let u: u64 = words[2].parse().expect("user");
                self.users.remove(&u);
                self.held.remove(&u);
                self.interactions.retain(|(user, _), _| *user != u);
            }
            ("DELETE", "ITEM") => {
                let i = quoted(s);
                if self.items.remove(&i).is_some() {
                    let users: Vec<u64> =
                        self.interactions.keys().filter(|(_, it)| *it == i).map(|(u, _)| *u).collect();
                    for u in users {
                        self.delete_interaction(u, &i);
                    }
                }
            }
            ("IMPORT", "INTERACTIONS") => {
                let path = PathBuf::from(quoted(s));
                let n =
                    (0..INTERACTION_FILES).find(|n| interaction_file(dir, *n) == path).expect("a known file");
                for (u, i, w, t) in &imports[n] {
                    self.insert(*u, i, Some(*w), Some(*t));
                }
            }
            ("IMPORT", "USERS") => {
                for u in (0..USERS).step_by(3) {
                    let entity = self.users.entry(u).or_default();
                    entity.tags.insert(format!("g:{}", u % TAGS));
                    entity.tags.insert(format!("g:{}", (u + 1) % TAGS));
                    self.held.entry(u).or_insert((0, 0));
                }
            }
            ("IMPORT", "ITEMS") => {
                for i in (0..ITEMS).step_by(4) {
                    let entity = self.items.entry(item(i)).or_default();
                    entity.label = Some(format!("Title {i}"));
                    entity.tags.insert(format!("g:{}", i % TAGS));
                }
            }
            ("SPLIT", "HOLDOUT") => {
                let fraction: f64 = words[2].parse().expect("fraction");
                for u in self.users.keys().copied().collect::<Vec<_>>() {
                    let n = self.user_count(u);
                    let k = if n < 5 { 0 } else { ((fraction * n as f64).round() as u64).clamp(1, n - 1) };
                    self.held.insert(u, (k, k));
                }
            }
            ("SPLIT", "CLEAR") => {
                for held in self.held.values_mut() {
                    *held = (0, 0);
                }
            }
            ("TRAIN", _) => {
                let name = words[3].to_string();
                let state = if s.ends_with("BACKGROUND") {
                    let job = info.strip_prefix("job ").and_then(|j| j.parse().ok()).expect("a job id");
                    let before = self.models.get(&name).cloned().unwrap_or(ModelState::Absent);
                    ModelState::Pending(job, Box::new(before))
                } else {
                    ModelState::Present(version)
                };
                self.models.insert(name, state);
            }
            ("WAIT", "JOB") => {
                let job: u64 = words[2].parse().expect("job");
                for state in self.models.values_mut() {
                    if matches!(state, ModelState::Pending(j, _) if *j == job) {
                        *state = ModelState::Present(version);
                    }
                }
            }
            ("DROP", "MODEL") => {
                self.models.insert(words[2].to_string(), ModelState::Absent);
            }
            _ => panic!("the replay does not know {s}"),
        }
    }

    /// A failed `WAIT JOB` (the job failed): the model is as before the job.
    fn job_failed(&mut self, s: &str) {
        if let Some(job) = s.strip_prefix("WAIT JOB ").and_then(|j| j.parse::<u64>().ok()) {
            for state in self.models.values_mut() {
                if let ModelState::Pending(j, before) = state {
                    if *j == job {
                        *state = (**before).clone();
                    }
                }
            }
        }
    }
}

/// The data read back from a database, in the model's terms.
#[derive(Debug, PartialEq)]
struct Observed {
    users: BTreeMap<u64, Entity>,
    items: BTreeMap<String, Entity>,
    interactions: BTreeMap<(u64, String), (f32, Option<i64>)>,
    held: BTreeMap<u64, u64>,
    held_total: u64,
    counts: (u64, u64, u64),
}

fn observe(db: &Database) -> Observed {
    let mut users = BTreeMap::new();
    let mut held = BTreeMap::new();
    let mut interactions = BTreeMap::new();
    for u in 0..USERS {
        let key = Key::Int(u);
        if let Some(info) = db.describe(Side::User, &key).expect("describe user") {
            users.insert(u, Entity { label: info.label, tags: info.tags.into_iter().collect() });
            held.insert(u, info.held_out);
            for x in db.interactions_of(&key).expect("interactions").expect("a known user") {
                let Key::Str(i) = x.item else { panic!("an integer item key") };
                interactions.insert((u, i), (x.weight, x.time));
            }
        }
    }
    let mut items = BTreeMap::new();
    for i in 0..ITEMS {
        if let Some(info) = db.describe(Side::Item, &Key::Str(item(i))).expect("describe item") {
            items.insert(item(i), Entity { label: info.label, tags: info.tags.into_iter().collect() });
        }
    }
    let stats = db.stats().expect("stats");
    Observed {
        users,
        items,
        interactions,
        held,
        held_total: stats.held_out,
        counts: (stats.users, stats.items, stats.interactions),
    }
}

/// Where `observed` and `state`'s data differ, or `None` when they agree.
fn data_difference(observed: &Observed, state: &State) -> Option<String> {
    if observed.users != state.users {
        return Some(format!("users: {:?} but replay {:?}", observed.users, state.users));
    }
    if observed.items != state.items {
        return Some(format!("items: {:?} but replay {:?}", observed.items, state.items));
    }
    if observed.interactions != state.interactions {
        let extra: Vec<_> =
            observed.interactions.iter().filter(|(k, v)| state.interactions.get(k) != Some(v)).collect();
        let missing: Vec<_> =
            state.interactions.iter().filter(|(k, v)| observed.interactions.get(k) != Some(v)).collect();
        return Some(format!(
            "interactions: read but not replayed {extra:?}; replayed but not read {missing:?}"
        ));
    }
    let expected_counts =
        (state.users.len() as u64, state.items.len() as u64, state.interactions.len() as u64);
    if observed.counts != expected_counts {
        return Some(format!("counts {:?} but replay {expected_counts:?}", observed.counts));
    }
    for (u, held) in &observed.held {
        let (lo, hi) = state.held.get(u).copied().unwrap_or((0, 0));
        if *held < lo || *held > hi {
            return Some(format!("user {u} holds out {held}, the replay {lo}..={hi}"));
        }
    }
    if observed.held_total != observed.held.values().sum::<u64>() {
        return Some(format!("held out in all {} but per user {:?}", observed.held_total, observed.held));
    }
    None
}

// ---------------------------------------------------------------------------------------------------
// The parent.

/// What the campaign counted.
#[derive(Debug, Default)]
struct Figures {
    kills: u64,
    kills_before_ready: u64,
    acknowledged: u64,
    in_flight_applied: u64,
    in_flight_not_applied: u64,
    lost: u64,
    opens_refused: u64,
    integrity_failures: u64,
    half_published: u64,
    jobs_left_running: u64,
    interrupted_jobs: u64,
    unexpected_errors: u64,
    reader_errors: u64,
    reader_answers: u64,
    in_flight: BTreeMap<String, u64>,
    acknowledged_by_kind: BTreeMap<String, u64>,
    /// Statements that ended with an expected error (a model that is not there), by kind.
    refused_by_kind: BTreeMap<String, u64>,
    reopen_ms: Vec<f64>,
    problems: Vec<String>,
}

/// The kind of a statement, for the histogram of what was in flight: `INSERT`, `TRAIN BACKGROUND`, ...
fn kind(statement: &str) -> String {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let kind = match words[0] {
        "TRAIN" if statement.ends_with("BACKGROUND") => "TRAIN BACKGROUND".to_string(),
        "TRAIN" => format!("TRAIN {}", words[1]),
        "INSERT" | "CHECK" => words[0].to_string(),
        _ => format!("{} {}", words[0], words[1]),
    };
    kind
}

/// Checks the models after a reopen against the replay; returns the states read (every name definite).
fn check_models(
    db: &Database,
    state: &State,
    figures: &mut Figures,
    round: u64,
) -> BTreeMap<String, ModelState> {
    let problem = |figures: &mut Figures, text: String| {
        figures.half_published += 1;
        figures.problems.push(format!("round {round}: {text}"));
    };
    let shown = db.query("SHOW MODELS", &[]).expect("SHOW MODELS");
    let mut listed: BTreeMap<String, u64> = BTreeMap::new();
    for row in shown.rows() {
        listed.insert(
            row.get::<String>("name").expect("name"),
            row.get::<i64>("version").expect("version") as u64,
        );
    }
    let jobs = db.query("SHOW JOBS", &[]).expect("SHOW JOBS");
    let mut records: BTreeMap<u64, (String, String)> = BTreeMap::new();
    for row in jobs.rows() {
        let id = row.get::<i64>("id").expect("id") as u64;
        let job_state = row.get::<String>("state").expect("state");
        let message = row.get::<String>("message").unwrap_or_default();
        if job_state == "running" {
            figures.jobs_left_running += 1;
            figures.problems.push(format!("round {round}: job {id} still running after the reopen"));
        }
        records.insert(id, (job_state, message));
    }
    let some_user = (0..USERS).find(|u| db.describe(Side::User, &Key::Int(*u)).ok().flatten().is_some());
    let names: BTreeSet<String> = state.models.keys().chain(listed.keys()).cloned().collect();
    let mut read = BTreeMap::new();
    for name in names {
        let now = match listed.get(&name) {
            Some(v) => ModelState::Present(Some(*v)),
            None => ModelState::Absent,
        };
        // Whole: every blob of the name belongs to the listed version, and it recommends.
        let blobs = db.store().blob_names(&format!("model/{name}/")).expect("blob names");
        match &now {
            ModelState::Present(Some(v)) => {
                let prefix = format!("model/{name}/v{v}/");
                if blobs.is_empty() || blobs.iter().any(|b| !b.starts_with(&prefix)) {
                    problem(figures, format!("model {name} v{v} has blobs {blobs:?}"));
                }
                if let Some(u) = some_user {
                    let answer = db.query(&format!("RECOMMEND user {u} TOP 5 USING {name}"), &[]);
                    if let Err(e) = answer {
                        if !expected_error(e.kind()) || matches!(e.kind(), ErrorKind::JobFailed { .. }) {
                            problem(figures, format!("model {name} v{v} is listed but RECOMMEND fails: {e}"));
                        }
                    }
                }
            }
            _ if !blobs.is_empty() => {
                problem(figures, format!("model {name} is not listed but has blobs {blobs:?}"))
            }
            _ => {}
        }
        let expected = state.models.get(&name).cloned().unwrap_or(ModelState::Absent);
        let allowed = |candidate: &ModelState| match (candidate, &now) {
            (ModelState::Absent, ModelState::Absent) => true,
            (ModelState::Present(None), ModelState::Present(_)) => true,
            (ModelState::Present(Some(a)), ModelState::Present(Some(b))) => a == b,
            _ => false,
        };
        match &expected {
            ModelState::Pending(job, before) => {
                let record = records.get(job);
                match record.map(|(s, m)| (s.as_str(), m.as_str())) {
                    Some(("done", _)) => {
                        if !matches!(now, ModelState::Present(_)) {
                            problem(figures, format!("job {job} is done but model {name} is {now:?}"));
                        }
                    }
                    Some(("failed", message)) => {
                        if message.contains("interrupted") {
                            figures.interrupted_jobs += 1;
                        }
                        if !allowed(before) {
                            problem(
                                figures,
                                format!("job {job} failed but model {name} is {now:?}, was {before:?}"),
                            );
                        }
                    }
                    other => {
                        if other.is_some() || !(allowed(before) || matches!(now, ModelState::Present(_))) {
                            problem(figures, format!("job {job} of {name} reads {other:?}, model {now:?}"));
                        }
                    }
                }
            }
            definite => {
                if !allowed(definite) {
                    problem(figures, format!("model {name} is {now:?} but the replay says {definite:?}"));
                }
            }
        }
        read.insert(name, now);
    }
    read
}

/// One round's log: the acknowledged statements with their info, the one in flight, and the failed ones.
struct RoundLog {
    steps: Vec<(String, Result<String, String>)>,
    in_flight: Option<String>,
}

fn read_log(path: &Path) -> RoundLog {
    let mut steps = Vec::new();
    let mut in_flight: Option<String> = None;
    let Ok(file) = File::open(path) else { return RoundLog { steps, in_flight } };
    for line in BufReader::new(file).lines() {
        let line = line.expect("read the log");
        let mut parts = line.splitn(3, ' ');
        let (tag, _n, rest) = (parts.next().unwrap_or(""), parts.next(), parts.next().unwrap_or(""));
        match tag {
            "start" => in_flight = Some(rest.to_string()),
            "ack" => steps.push((in_flight.take().expect("a started statement"), Ok(rest.to_string()))),
            "err" => steps.push((in_flight.take().expect("a started statement"), Err(rest.to_string()))),
            // A line torn by the kill: the statement is still in flight.
            _ => {}
        }
    }
    RoundLog { steps, in_flight }
}

fn run_campaign(kills: u64, seed: u64, max_delay_ms: u64) -> Figures {
    let dir = tempfile::tempdir().expect("tempdir");
    write_import_files(dir.path());
    let imports = read_imports(dir.path());
    let db_path = dir.path().join("db");
    let mut state = State::default();
    let mut figures = Figures::default();
    let mut rng = Rng(seed);
    for round in 0..kills {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "kill_child_role", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR_ENV, dir.path())
            .env(CHILD_SEED_ENV, (seed.wrapping_mul(1_000_003) ^ round).to_string())
            .env(CHILD_ROUND_ENV, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the child");
        // One kill in twenty lands while the child opens the database; the others a random time after
        // it is ready.
        let early = rng.below(20) == 0;
        let delay = Duration::from_millis(rng.below(max_delay_ms + 1));
        if early {
            std::thread::sleep(Duration::from_millis(rng.below(60)));
            figures.kills_before_ready += 1;
        } else {
            let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
            let ready = lines.by_ref().map_while(Result::ok).any(|l| l.ends_with("ready"));
            assert!(ready, "round {round}: the child did not start (see {})", dir.path().display());
            std::thread::sleep(delay);
        }
        child.kill().expect("SIGKILL the child");
        child.wait().expect("reap the child");
        figures.kills += 1;

        let log = read_log(&dir.path().join(format!("round{round}.log")));
        for (statement, outcome) in &log.steps {
            match outcome {
                Ok(info) => {
                    figures.acknowledged += 1;
                    *figures.acknowledged_by_kind.entry(kind(statement)).or_default() += 1;
                    state.apply(statement, info, &imports, dir.path());
                }
                Err(why) => {
                    *figures.refused_by_kind.entry(kind(statement)).or_default() += 1;
                    if why.starts_with("unexpected") {
                        figures.unexpected_errors += 1;
                        figures.problems.push(format!("round {round}: {statement}: {why}"));
                    }
                    state.job_failed(statement);
                }
            }
        }
        if let Ok(text) = std::fs::read_to_string(dir.path().join(format!("round{round}.readers"))) {
            for line in text.lines() {
                if line.starts_with("error") {
                    figures.reader_errors += 1;
                    figures.problems.push(format!("round {round}: reader {line}"));
                }
            }
            if let Some(last) = text.lines().rev().find_map(|l| l.strip_prefix("answered ")) {
                figures.reader_answers += last.parse::<u64>().unwrap_or(0);
            }
        }
        let in_flight = log.in_flight.clone();
        let in_flight_kind = match in_flight.as_deref() {
            Some(statement) => kind(statement),
            None if early => "(the child's open)".to_string(),
            None => "(between statements: writing the log)".to_string(),
        };
        *figures.in_flight.entry(in_flight_kind).or_default() += 1;

        let started = Instant::now();
        let db = match Database::open(&db_path) {
            Ok(db) => db,
            Err(e) => {
                figures.opens_refused += 1;
                figures.problems.push(format!("round {round}: the open was refused: {e}"));
                break;
            }
        };
        figures.reopen_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        if let Err(e) = db.check_integrity() {
            figures.integrity_failures += 1;
            figures.problems.push(format!("round {round}: integrity: {e}"));
        }
        let usage = db.store().disk_usage().expect("disk usage");
        if usage.unreferenced_files != 0 {
            figures.integrity_failures += 1;
            figures
                .problems
                .push(format!("round {round}: {} stray files after the open", usage.unreferenced_files));
        }

        let observed = observe(&db);
        let without = data_difference(&observed, &state);
        let mut with_state = None;
        if without.is_some() {
            if let Some(statement) = &in_flight {
                // Applied wholly: the acknowledgement's info (a version, a job id) is unknown.
                let mut applied = state.clone();
                if !statement.starts_with("TRAIN") && !statement.starts_with("WAIT") {
                    applied.apply(statement, "", &imports, dir.path());
                }
                if data_difference(&observed, &applied).is_none() {
                    with_state = Some(applied);
                }
            }
        }
        match (without, with_state) {
            (None, _) => {
                if in_flight.is_some() {
                    figures.in_flight_not_applied += 1;
                }
            }
            (Some(_), Some(applied)) => {
                figures.in_flight_applied += 1;
                state.users = applied.users;
                state.items = applied.items;
                state.interactions = applied.interactions;
            }
            (Some(difference), None) => {
                figures.lost += 1;
                figures.problems.push(format!("round {round} (in flight: {in_flight:?}): {difference}"));
                // Go on from what the database holds, so that one finding does not hide the others.
                state.users = observed.users.clone();
                state.items = observed.items.clone();
                state.interactions = observed.interactions.clone();
            }
        }
        // The exact held-out counts read are within the replay's bounds: keep them.
        state.held = observed.held.iter().map(|(u, h)| (*u, (*h, *h))).collect();
        // A TRAIN in flight may have published (checked as a job without a record: as before, or
        // published); a DROP MODEL in flight may have dropped (as before, or absent).
        let name_in_flight =
            |s: &str, position: usize| s.split_whitespace().nth(position).map(str::to_string);
        let touched = match in_flight.as_deref() {
            Some(s) if s.starts_with("TRAIN") => name_in_flight(s, 3).map(|n| (n, false)),
            Some(s) if s.starts_with("DROP") => name_in_flight(s, 2).map(|n| (n, true)),
            _ => None,
        };
        if let Some((name, dropping)) = touched {
            let before = state.models.get(&name).cloned().unwrap_or(ModelState::Absent);
            if !matches!(before, ModelState::Pending(..)) {
                let before = if dropping { ModelState::Absent } else { before };
                state.models.insert(name, ModelState::Pending(u64::MAX, Box::new(before)));
            }
        }
        state.models = check_models(&db, &state, &mut figures, round);
        state.models.retain(|_, m| *m != ModelState::Absent);
        drop(db);
    }
    figures
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return 0.0;
    }
    values[values.len() / 2]
}

fn report(figures: &mut Figures) -> String {
    let max = figures.reopen_ms.iter().copied().fold(0.0, f64::max);
    let median = median(&mut figures.reopen_ms);
    let mut text = format!(
        "kills {} ({} during the child's open)\nacknowledged statements {}\nin flight at the kill: applied \
         {}, not applied {}\nacknowledged statements lost (or a statement half applied) {}\nopens refused \
         {}\nintegrity failures {}\nhalf-published models seen {}\njobs left running {}\nbackground jobs \
         reported interrupted {}\nunexpected statement errors {}\nconcurrent RECOMMEND answers {}, \
         unexpected errors {}\ntime to reopen: median {median:.1} ms, max {max:.1} ms\nin flight:\n",
        figures.kills,
        figures.kills_before_ready,
        figures.acknowledged,
        figures.in_flight_applied,
        figures.in_flight_not_applied,
        figures.lost,
        figures.opens_refused,
        figures.integrity_failures,
        figures.half_published,
        figures.jobs_left_running,
        figures.interrupted_jobs,
        figures.unexpected_errors,
        figures.reader_answers,
        figures.reader_errors,
    );
    for (kind, n) in &figures.in_flight {
        text.push_str(&format!("  {kind}: {n}\n"));
    }
    text.push_str("acknowledged (ended with an expected error, such as DROP MODEL of a model not there):\n");
    let kinds: BTreeSet<&String> =
        figures.acknowledged_by_kind.keys().chain(figures.refused_by_kind.keys()).collect();
    for kind in kinds {
        let n = figures.acknowledged_by_kind.get(kind).copied().unwrap_or(0);
        let refused = figures.refused_by_kind.get(kind).copied().unwrap_or(0);
        text.push_str(&format!("  {kind}: {n} ({refused})\n"));
    }
    for problem in &figures.problems {
        text.push_str(&format!("PROBLEM {problem}\n"));
    }
    text
}

fn assert_clean(figures: &mut Figures) {
    let text = report(figures);
    println!("{text}");
    assert!(figures.problems.is_empty(), "{text}");
    assert_eq!(
        (figures.lost, figures.opens_refused, figures.half_published, figures.integrity_failures),
        (0, 0, 0, 0)
    );
}

/// Six kills: the campaign's machinery in the ordinary test run.
#[cfg(unix)]
#[test]
fn a_few_kills() {
    let mut figures = run_campaign(6, 1, 400);
    assert_clean(&mut figures);
    assert_eq!(figures.kills, 6);
}

/// The campaign: `RECODB_KILLS` kills (default 200) from seed `RECODB_KILL_SEED` (default 1), each a
/// random moment up to `RECODB_KILL_MAX_DELAY_MS` (default 1500) after the child is ready.
#[cfg(unix)]
#[test]
#[ignore = "minutes: the kill campaign, run by hand (see the file's documentation)"]
fn kill_campaign() {
    let env =
        |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let (kills, seed, delay) =
        (env("RECODB_KILLS", 200), env("RECODB_KILL_SEED", 1), env("RECODB_KILL_MAX_DELAY_MS", 1500));
    let started = Instant::now();
    let mut figures = run_campaign(kills, seed, delay);
    println!("seed {seed}, max delay {delay} ms, {:.0} s", started.elapsed().as_secs_f64());
    assert_clean(&mut figures);
}

/// The comparison is not blind: a replayed statement that the database lacks, or a half-applied
/// import, is reported.
#[test]
fn the_replay_notices_a_lost_or_partial_statement() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_import_files(dir.path());
    let imports = read_imports(dir.path());
    let db = Database::open_temporary().expect("open");
    let mut state = State::default();
    let statements = [
        "INSERT INTERACTION user 1 item 'i2' WEIGHT 2.5 AT 1700000001".to_string(),
        "ADD USER 3 LABEL 'user 3' TAGS ('g:1')".to_string(),
        format!(
            "IMPORT INTERACTIONS FROM '{}' WITH (weight = 2, time = 3)",
            interaction_file(dir.path(), 0).display()
        ),
        "SPLIT HOLDOUT 0.25 SEED 1".to_string(),
    ];
    for statement in &statements {
        db.query(statement, &[]).expect(statement);
        state.apply(statement, "", &imports, dir.path());
        assert_eq!(data_difference(&observe(&db), &state), None, "{statement}");
    }
    let mut lost = state.clone();
    lost.apply("DELETE USER 3", "", &imports, dir.path());
    assert!(data_difference(&observe(&db), &lost).is_some(), "a lost DELETE USER");
    // Half of an import: its first line only.
    let (u, i, w, t) = imports[1][0].clone();
    db.insert_interaction(Key::Int(u), i.as_str(), Some(w), Some(t)).expect("insert");
    let mut whole = state.clone();
    whole.apply(&statements[2].replace("interactions0", "interactions1"), "", &imports, dir.path());
    assert!(data_difference(&observe(&db), &state).is_some(), "part of an import is not nothing");
    assert!(data_difference(&observe(&db), &whole).is_some(), "part of an import is not all of it");
}
