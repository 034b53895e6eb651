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
        format!("IMPORT INTERACTIONS FROM '{}';", quote(&interactions)),
        format!("IMPORT ITEMS FROM '{}' WITH (header = true);", quote(&tags)),
        "SHOW STATS;".to_string(),
        "SHOW TAGS LIMIT 5;".to_string(),
        "DESCRIBE USER 0;".to_string(),
        "SHOW ITEMS LIMIT 3;".to_string(),
        "SPLIT HOLDOUT 0.2 SEED 7;".to_string(),
        "TRAIN pop;".to_string(),
        "TRAIN ease WITH (lambda = 100);".to_string(),
        "RECOMMEND user 0 TOP 5 USING pop;".to_string(),
        "RECOMMEND user 0 TOP 5 USING ease;".to_string(),
        "RECOMMEND user 0 TOP 5 USING ease WHERE TAG = 'cluster:3';".to_string(),
        "EVALUATE pop AT 10;".to_string(),
        "EVALUATE ease AT 10;".to_string(),
    ];
    for step in &steps {
        println!("\nrecodb> {step}");
        if !session.run_script(step) {
            return ExitCode::FAILURE;
        }
    }
    println!("\nThe database above is temporary. Open a file-backed one with `recodb mydb` and type .help.");
    ExitCode::SUCCESS
}
