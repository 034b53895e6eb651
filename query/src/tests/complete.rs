//! `is_complete` and `completeness`, the shell's line validator and prompt.

use crate::{completeness, is_complete, Completeness};

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

#[test]
fn unterminated_texts_name_what_is_open() {
    assert_eq!(completeness("SET x = 'a;"), Completeness::Unterminated("'"));
    assert_eq!(completeness("SET x = 'it''s"), Completeness::Unterminated("'"));
    assert_eq!(completeness("DROP MODEL \"a;"), Completeness::Unterminated("\""));
    assert_eq!(completeness("SHOW USERS; /* open"), Completeness::Unterminated("/*"));
    assert_eq!(completeness("SHOW USERS"), Completeness::Incomplete);
    assert_eq!(completeness("SHOW USERS;"), Completeness::Complete);
}
