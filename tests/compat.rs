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
