//! Old files stay readable: a database written by recodb before model blobs were versioned (blob format
//! 1, positional tuples) and while blobs were chunks inside sled (storage format 1) opens, its blobs move
//! into blob files and its models are migrated to the current format once, and every model —
//! pop, ease, als, bpr, dsiml (binary, with kept vectors) and dsiml (real stage, hybrid index layout) —
//! recommends exactly what it recommended before. See `tests/fixtures/README.md`.

use std::io::Read;
use std::path::{Path, PathBuf};

use recodb::{Database, Key, Value};

const MODELS: [&str; 6] = ["popular", "e", "a", "b", "d", "d2"];

/// The fixture database unpacked into `dir`.
fn unpack(dir: &Path) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models-v1");
    let db = dir.join("db");
    std::fs::create_dir_all(db.join("blobs")).expect("create");
    for entry in std::fs::read_dir(&fixture).expect("fixture") {
        let path = entry.expect("entry").path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".gz")) else {
            continue;
        };
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("open"))
            .read_to_end(&mut bytes)
            .expect("gunzip");
        std::fs::write(db.join(name), bytes).expect("write");
    }
    db
}

/// What the old recodb answered: per model, the two lists of `(item, score)`.
fn expected() -> Vec<Vec<Vec<(String, f64)>>> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models-v1/expected.tsv"),
    )
    .expect("expected answers");
    let mut lists: Vec<Vec<(String, f64)>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("rank") {
            lists.push(Vec::new());
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let item = fields[1].trim_matches('\'').to_string();
        lists.last_mut().expect("a header first").push((item, fields[2].parse().expect("score")));
    }
    lists.chunks(2).map(<[_]>::to_vec).collect()
}

fn answers(db: &Database, model: &str) -> Vec<Vec<(String, f64)>> {
    [(Value::Int(7), 5), (Value::from("ann"), 3)]
        .into_iter()
        .map(|(user, top)| {
            let set = db
                .query(&format!("RECOMMEND user ? TOP {top} USING {model}"), &[user])
                .unwrap_or_else(|e| panic!("{model}: {e}"));
            let keys = set.column::<Key>("item").expect("keys");
            let scores = set.column::<f64>("score").expect("scores");
            keys.iter().map(|k| Value::Key(k.clone()).to_string()).zip(scores).collect()
        })
        .collect()
}

#[test]
fn models_saved_before_versioned_blobs_migrate_and_answer_as_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = unpack(dir.path());
    let expected = expected();
    assert_eq!(expected.len(), MODELS.len());
    for round in 0..2 {
        // The second opening finds nothing left to migrate and answers the same.
        let db = Database::open(&path).expect("an old database opens");
        for (model, before) in MODELS.iter().zip(&expected) {
            let now = answers(&db, model);
            for (list, old) in now.iter().zip(before) {
                let items: Vec<&String> = list.iter().map(|p| &p.0).collect();
                let old_items: Vec<&String> = old.iter().map(|p| &p.0).collect();
                assert_eq!(items, old_items, "{model}, round {round}");
                for ((_, score), (_, old_score)) in list.iter().zip(old) {
                    assert!(
                        (score - old_score).abs() <= 1e-6 * old_score.abs().max(1.0),
                        "{model}: {score} {old_score}"
                    );
                }
            }
        }
        let names = db.store().blob_names("model/d/v1/").expect("blob names");
        assert_eq!(names, ["model/d/v1/dsiml", "model/d/v1/format"], "the old blobs were replaced");
        assert_eq!(db.store().blob_names("model/popular/").expect("names").len(), 2, "version 2 only");
        let report = db.check_integrity().expect("consistent: no chunk is left in sled");
        assert_eq!(report.blobs, 2 * MODELS.len() as u64, "one blob and its format blob per model");
        let usage = db.store().disk_usage().expect("usage");
        assert_eq!(usage.blob_files, report.blobs, "every blob is a file");
        assert_eq!(usage.unreferenced_files, 0, "the files of the rewritten blobs are gone");
        let described = db.query("DESCRIBE MODEL d2", &[]).expect("describe");
        let layout = described.rows().find(|r| r.get::<String>("property").expect("p") == "parameters");
        assert!(
            layout.expect("parameters row").get::<String>("value").expect("v").contains("index_layout"),
            "the record keeps the parameters given"
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// A database written by this release (recodb 0.1, storage format 2, blob layouts as of this commit),
// opened by every later one: its contents and every model's answers, recorded when it was written, must
// read back exactly. A format change without a migration fails here. See `tests/fixtures/README.md`.

/// The fixture's directory: the database's files, each gzipped under `db/`, and `expected.txt`.
const RELEASE_FIXTURE: &str = "tests/fixtures/v0.1-storage2";

/// The models of the fixture, in the order `fixture_contents` asks them.
const RELEASE_MODELS: [&str; 6] = ["popular", "e", "a", "b", "d", "c"];

/// The statements that build the fixture after the interactions of `data.tsv` (in `dir`) are imported.
const RELEASE_SCRIPT: &str = "\
    ADD USER 1 LABEL 'Ann' TAGS ('age:25', 'gender:F');\
    ADD USER 2 TAGS ('age:35');\
    ADD USER 'zoe' LABEL 'Zoe' TAGS ('age:18', 'gender:F');\
    INSERT INTERACTION user 'zoe' item 'i3' WEIGHT 4.5 AT 1700000999;\
    INSERT INTERACTION user 'zoe' item 'i5';\
    INSERT INTERACTION user 'zoe' item 'i17' WEIGHT 2;\
    ADD ITEM 'i0' LABEL 'Dune (1965)' TAGS ('genre:scifi', 'year:1965');\
    ADD ITEM 'i3' LABEL 'Emma (1815)' TAGS ('genre:romance');\
    ADD ITEM 'i9' TAGS ('genre:crime');\
    DELETE INTERACTION user 4 item 'i1';\
    SPLIT HOLDOUT 0.2 SEED 7;\
    TRAIN pop AS popular;\
    TRAIN pop AS popular;\
    TRAIN ease AS e WITH (lambda = 10);\
    TRAIN als AS a WITH (factors = 4, iterations = 5, seed = 1);\
    TRAIN bpr AS b WITH (factors = 4, epochs = 20, seed = 1);\
    TRAIN dsiml AS d WITH (bits = 16, epochs = 5, iterations = 1, seed = 1);\
    TRAIN ccsr AS c WITH (epochs = 2, bits = 16, hidden = 16, seed = 1);\
    TRAIN pop AS dropped;\
    DROP MODEL dropped;";

/// The fixture's interactions: 30 users in three taste groups over 24 items, with weights and times.
fn release_data() -> String {
    let mut text = String::new();
    for u in 0..30u64 {
        let group = u % 3;
        for k in 0..6u64 {
            let i = group * 8 + (u + k) % 8;
            text.push_str(&format!("{u}\ti{i}\t{}\t{}\n", 1 + (u + i) % 5, 1_700_000_000 + u * 1_000 + i));
        }
        let other = ((group + 1) % 3) * 8 + u % 8;
        text.push_str(&format!("{u}\ti{other}\t1\t{}\n", 1_700_100_000 + u));
    }
    text
}

/// Everything the fixture test compares, as text: counts, some users' and items' labels, tags and
/// interactions, the models and jobs, and each model's answers (scores to four decimals).
fn fixture_contents(db: &Database) -> String {
    let mut out = String::new();
    let r = db.check_integrity().expect("the fixture is sound");
    out.push_str(&format!(
        "integrity users {} items {} interactions {} held_out {} tags {} blobs {}\n",
        r.users, r.items, r.interactions, r.holdout, r.tags, r.blobs
    ));
    let s = db.stats().expect("stats");
    out.push_str(&format!(
        "stats users {} items {} interactions {} held_out {} user_tags {} item_tags {}\n",
        s.users, s.items, s.interactions, s.held_out, s.user_tags, s.item_tags
    ));
    for (side, key) in [
        (recodb::Side::User, Key::Int(1)),
        (recodb::Side::User, Key::Int(2)),
        (recodb::Side::User, Key::Str("zoe".into())),
        (recodb::Side::User, Key::Int(4)),
        (recodb::Side::Item, Key::Str("i0".into())),
        (recodb::Side::Item, Key::Str("i3".into())),
        (recodb::Side::Item, Key::Str("i9".into())),
    ] {
        let info = db.describe(side, &key).expect("describe").expect("a known key");
        out.push_str(&format!(
            "{side:?} {} label {:?} tags {:?} interactions {} held_out {}\n",
            Value::Key(key.clone()),
            info.label,
            info.tags,
            info.interactions,
            info.held_out
        ));
        if side == recodb::Side::User {
            for x in db.interactions_of(&key).expect("interactions").expect("a known user") {
                out.push_str(&format!("  {} {} {:?}\n", Value::Key(x.item), x.weight, x.time));
            }
        }
    }
    let models = db.query("SHOW MODELS", &[]).expect("SHOW MODELS");
    for row in models.rows() {
        out.push_str(&format!(
            "model {} {} version {} interactions {}\n",
            row.get::<String>("name").expect("name"),
            row.get::<String>("algorithm").expect("algorithm"),
            row.get::<i64>("version").expect("version"),
            row.get::<i64>("interactions").expect("interactions"),
        ));
    }
    let jobs = db.query("SHOW JOBS", &[]).expect("SHOW JOBS");
    for row in jobs.rows() {
        out.push_str(&format!(
            "job {} {} {} {} {}\n",
            row.get::<i64>("id").expect("id"),
            row.get::<String>("model").expect("model"),
            row.get::<String>("algorithm").expect("algorithm"),
            row.get::<String>("state").expect("state"),
            row.get::<String>("message").unwrap_or_default(),
        ));
    }
    for model in RELEASE_MODELS {
        for (user, top) in [(Value::Int(1), 5), (Value::from("zoe"), 3)] {
            let set = db
                .query(&format!("RECOMMEND user ? TOP {top} USING {model}"), std::slice::from_ref(&user))
                .unwrap_or_else(|e| panic!("{model}: {e}"));
            let keys = set.column::<Key>("item").expect("keys");
            let scores = set.column::<f64>("score").expect("scores");
            let answer: Vec<String> =
                keys.into_iter().zip(scores).map(|(k, s)| format!("{} {s:.4}", Value::Key(k))).collect();
            out.push_str(&format!("recommend {model} {user} top {top}: {}\n", answer.join(", ")));
        }
    }
    out
}

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files_under(&path, base, out);
        } else {
            out.push(path.strip_prefix(base).expect("under base").to_path_buf());
        }
    }
}

/// Writes the fixture (run by hand with `RECODB_WRITE_FIXTURE=1`, see `tests/fixtures/README.md`):
/// builds the database in a temporary directory, closes it, and stores each of its files gzipped with
/// the contents it reads back.
#[test]
#[ignore = "writes tests/fixtures/v0.1-storage2; run by hand when making the fixture"]
fn write_release_fixture() {
    if std::env::var("RECODB_WRITE_FIXTURE").is_err() {
        eprintln!("set RECODB_WRITE_FIXTURE=1 to rewrite {RELEASE_FIXTURE}");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data.tsv");
    std::fs::write(&data, release_data()).expect("data");
    let db_dir = dir.path().join("db");
    {
        let db = Database::open(&db_dir).expect("create");
        db.execute(&format!("IMPORT INTERACTIONS FROM '{}' WITH (weight = 2, time = 3)", data.display()))
            .expect("import");
        db.execute(RELEASE_SCRIPT).expect("the fixture script");
    }
    let contents = fixture_contents(&Database::open(&db_dir).expect("reopen"));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join(RELEASE_FIXTURE);
    if fixture.exists() {
        std::fs::remove_dir_all(&fixture).expect("remove the old fixture");
    }
    let mut files = Vec::new();
    files_under(&db_dir, &db_dir, &mut files);
    for relative in files {
        let mut name = fixture.join("db").join(&relative).into_os_string();
        name.push(".gz");
        let target = PathBuf::from(name);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("create");
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&target).expect("create"),
            flate2::Compression::best(),
        );
        std::io::Write::write_all(&mut gz, &std::fs::read(db_dir.join(&relative)).expect("read"))
            .expect("gzip");
        gz.finish().expect("finish");
    }
    std::fs::write(fixture.join("expected.txt"), contents).expect("expected");
}

/// The release fixture's database unpacked into `dir`.
fn unpack_release(dir: &Path) -> PathBuf {
    let stored = Path::new(env!("CARGO_MANIFEST_DIR")).join(RELEASE_FIXTURE).join("db");
    let mut files = Vec::new();
    files_under(&stored, &stored, &mut files);
    let db = dir.join("db");
    for relative in files {
        let text = relative.to_str().expect("a UTF-8 name");
        let Some(name) = text.strip_suffix(".gz") else { continue };
        let target = db.join(name);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("create");
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(stored.join(&relative)).expect("open"))
            .read_to_end(&mut bytes)
            .expect("gunzip");
        std::fs::write(target, bytes).expect("write");
    }
    db
}

#[test]
fn a_database_written_by_release_0_1_reads_back_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = unpack_release(dir.path());
    let expected = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(RELEASE_FIXTURE).join("expected.txt"),
    )
    .expect("expected contents");
    for round in 0..2 {
        // The second opening reads what the first one (and any migration it ran) left.
        let db = Database::open(&path).expect("a database of release 0.1 opens");
        let now = fixture_contents(&db);
        for (line, (got, want)) in now.lines().zip(expected.lines()).enumerate() {
            assert_eq!(got, want, "round {round}, line {} of expected.txt", line + 1);
        }
        assert_eq!(now.lines().count(), expected.lines().count(), "round {round}");
        assert_eq!(db.inspect_integrity().expect("readable").problems, Vec::<String>::new());
        let usage = db.store().disk_usage().expect("usage");
        assert_eq!(usage.unreferenced_files, 0, "round {round}");
    }
}
