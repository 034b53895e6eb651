//! The fuzz target's seed corpus (`fuzz/corpus/parse/`) holds one example per statement form: each one
//! (except the `seed_error_*` files, which must fail) parses and round-trips, as the fuzz target checks.

use recodb_query::{format_script, parse_script};

#[test]
fn seeds_parse_and_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/parse");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    };
    let mut checked = 0;
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_owned();
        if !name.starts_with("seed_") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable seed");
        let parsed = parse_script(&text);
        if name.starts_with("seed_error_") {
            assert!(parsed.is_err(), "{name} should fail");
            continue;
        }
        let statements = parsed.unwrap_or_else(|error| panic!("{name}: {error}\n{}", error.render(&text)));
        assert!(!statements.is_empty(), "{name}");
        assert_eq!(parse_script(&format_script(&statements)), Ok(statements), "{name}");
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} seeds");
}
