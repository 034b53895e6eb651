//! `is_complete`, the shell's line validator.

use crate::is_complete;

#[test]
fn complete_texts() {
    for text in [
        "",
        "   \n",
        "-- a comment",
        "/* a block */",
        "SHOW USERS;",
        "SHOW USERS;  -- done",
        "SHOW USERS; /* done */ \n",
        "ADD USER 1;\nADD USER 2;",
        "SET x = 'a;b';",
        "SHOW USERS #;",
        "SHOW ';' ;",
    ] {
        assert!(is_complete(text), "{text:?}");
    }
}

#[test]
fn incomplete_texts() {
    for text in [
        "SHOW USERS",
        "SHOW USERS -- comment ;",
        "SHOW USERS /* ; */",
        "SET x = 'a;",
        "SET x = 'it''s;",
        "DROP MODEL \"a;",
        "SHOW USERS; /* still open ;",
        "ADD USER 1;\nADD USER 2",
        ";",
        ";;",
        "SHOW USERS # 'open;",
    ] {
        assert!(!is_complete(text), "{text:?}");
    }
}
