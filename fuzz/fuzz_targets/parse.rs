//! Any bytes: if they are UTF-8, `parse_script` must not panic, `is_complete` must not panic, and when
//! parsing succeeds, the printed script must parse back to the same statements (spans aside; `?`
//! numbering runs across the script, so the whole script is printed and reparsed at once). Each statement
//! printed alone must also parse alone to a statement that prints the same way.
//!
//! `cargo fuzz run --sanitizer none parse fuzz/corpus/parse -- -max_total_time=60`

#![no_main]

use libfuzzer_sys::fuzz_target;
use recodb_query::{format_script, is_complete, parse_script, parse_statement};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = is_complete(text);
    let Ok(statements) = parse_script(text) else {
        return;
    };
    let printed = format_script(&statements);
    assert_eq!(parse_script(&printed).as_ref(), Ok(&statements), "script round trip of {printed:?}");
    for statement in &statements {
        let alone = statement.to_string();
        let reparsed = parse_statement(&alone).unwrap_or_else(|error| panic!("{alone:?}: {error}"));
        assert_eq!(reparsed.to_string(), alone, "statement round trip");
        assert_eq!(reparsed.param_count(), statement.param_count());
    }
});
