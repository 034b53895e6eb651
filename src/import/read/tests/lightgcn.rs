//! The lightgcn `user item item ...` format.

use super::*;

#[test]
fn one_user_per_line_any_number_of_items() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "train.txt", b"0 5 7 9\n1\n\n2 5  11 \r\n");
    let (got, stats) = interactions(&path, Some("lightgcn"), &[]).unwrap();
    assert_eq!(
        got,
        vec![
            pair(0, 5, None, None),
            pair(0, 7, None, None),
            pair(0, 9, None, None),
            pair(2, 5, None, None),
            pair(2, 11, None, None)
        ]
    );
    assert_eq!(stats, ReadStats { lines: 4, records: 5, skipped: 0, unread: Vec::new() });
    let (got, _) = interactions(&path, Some("lightgcn"), &[("keys", "string".into())]).unwrap();
    assert_eq!(got[0].user, Key::Str("0".into()));
}

#[test]
fn lightgcn_takes_no_other_options_and_no_entities() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "train.txt", b"0 1\n");
    let err = interactions(&path, Some("lightgcn"), &[("header", true.into())]).unwrap_err();
    assert_eq!(
        err.message,
        "unknown option 'header' for FORMAT lightgcn interactions; the valid options are: keys, encoding"
    );
    let err = entities(&path, Target::Items, Some("lightgcn"), &[]).unwrap_err();
    assert_eq!(err.kind, super::super::ImportErrorKind::Option);
}
