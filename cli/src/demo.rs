//! `recodb --demo`: builds a database from the built-in synthetic data set and walks through it with
//! real statements, printing each one before its result.

use std::process::ExitCode;

use recodb::synth::{generate, SynthConfig};

use crate::run::Session;

/// Generates the demo data, imports it through the query language and shows the database.
pub fn run(session: &mut Session) -> ExitCode {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot create a temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = SynthConfig::demo();
    println!(
        "Generating synthetic implicit feedback: {} users in {} taste clusters, {} items with long-tailed popularity (seed {}).",
        config.users, config.clusters, config.items, config.seed
    );
    let data = generate(&config);
    let interactions = dir.path().join("interactions.tsv");
    let tags = dir.path().join("item_tags.tsv");
    if let Err(e) = data.write_tsv(&interactions).and_then(|()| data.write_item_tags_tsv(&tags)) {
        eprintln!("error: cannot write the demo files: {e}");
        return ExitCode::FAILURE;
    }
    let quote = |p: &std::path::Path| p.display().to_string().replace('\'', "''");
    let steps = [
        (
            "Load who interacted with what, and the items' tags.",
            format!("IMPORT INTERACTIONS FROM '{}';", quote(&interactions)),
        ),
        ("", format!("IMPORT ITEMS FROM '{}' WITH (header = true);", quote(&tags))),
        ("What the database holds.", "SHOW STATS;".to_string()),
        ("", "SHOW TAGS LIMIT 5;".to_string()),
        ("", "DESCRIBE USER 0;".to_string()),
        (
            "Hold out a fifth of each user's interactions to measure models against.",
            "SPLIT HOLDOUT 0.2 SEED 7;".to_string(),
        ),
        ("Two baselines: popularity, and EASE (a closed-form item-item model).", "TRAIN pop;".to_string()),
        ("", "TRAIN ease WITH (lambda = 100);".to_string()),
        (
            "DSIML learns a 32-bit binary code for every user and item, inside the database.",
            "TRAIN dsiml AS taste WITH (bits = 32, keep_real = true);".to_string(),
        ),
        (
            "Recommendations by Hamming distance between codes, searched exactly by multi-index hashing.",
            "RECOMMEND user 0 TOP 5 USING taste;".to_string(),
        ),
        ("How the Hamming engine answered.", "EXPLAIN RECOMMEND user 0 TOP 5 USING taste;".to_string()),
        (
            "Filters are bitmap algebra applied before any distance is computed.",
            "RECOMMEND user 0 TOP 5 USING taste WHERE TAG = 'cluster:3';".to_string(),
        ),
        (
            "Two stages: retrieve 100 candidates by code, rank them with EASE.",
            "RECOMMEND user 0 TOP 5 USING taste RERANK 100 USING ease;".to_string(),
        ),
        ("Users with codes near user 0's.", "SIMILAR user 0 TOP 3 USING taste;".to_string()),
        ("Full-ranking evaluation against the holdout.", "EVALUATE pop AT 10;".to_string()),
        ("", "EVALUATE ease AT 10;".to_string()),
        ("", "EVALUATE taste AT 10;".to_string()),
        ("", "EVALUATE taste RERANK 100 USING ease AT 10;".to_string()),
    ];
    for (note, step) in &steps {
        if !note.is_empty() {
            println!("\n-- {note}");
        }
        println!("recodb> {step}");
        if session.run_script(step) != crate::run::Flow::Continue {
            return ExitCode::FAILURE;
        }
    }
    println!("\nThe database above is temporary. Open a file-backed one with `recodb mydb` and type .help.");
    ExitCode::SUCCESS
}
