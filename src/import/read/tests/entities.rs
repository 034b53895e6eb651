//! tsv and csv users and items, with tags.

use super::*;

#[test]
fn csv_items_with_a_tag_separator() {
    let dir = tempfile::tempdir().unwrap();
    // CRLF line ends, as Windows tools write them.
    let text = "movieId,title,genres\r\n1,\"Toy Story, The (1995)\",Adventure|Animation|Children\r\n\
                2,Jumanji (1995),\r\n\r\n3,\"Heat\",\"Action| |Crime\"\r\n";
    let path = write(dir.path(), "movies.csv", text.as_bytes());
    let options = [("tags", "genres".into()), ("tag_separator", "|".into())];
    let (got, stats) = entities(&path, Target::Items, None, &options).unwrap();
    assert_eq!(
        got,
        vec![
            entity(1, &["genres:Adventure", "genres:Animation", "genres:Children"]),
            entity(2, &[]),
            entity(3, &["genres:Action", "genres:Crime"]),
        ]
    );
    assert_eq!(stats, ReadStats { lines: 5, records: 3, skipped: 0, unread: Vec::new() });
}

#[test]
fn a_label_column_gives_titles_and_is_no_tag() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "movies.csv",
        b"movieId,title,year
1,\"Toy Story, The\",1995
2,,1995
",
    );
    let (got, _) = entities(&path, Target::Items, None, &[("label", "title".into())]).unwrap();
    assert_eq!(
        got,
        vec![
            Entity { key: Key::Int(1), label: Some("Toy Story, The".into()), tags: vec!["year:1995".into()] },
            Entity { key: Key::Int(2), label: None, tags: vec!["year:1995".into()] },
        ],
        "a named label column implies the header; an empty label is none"
    );
    let err = entities(&path, Target::Items, None, &[("label", "name".into())]).unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");
}

#[test]
fn every_other_column_is_a_tag_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "users.tsv", b"gender\tid\tage\nF\t7\t25\n\t8\t\nM\tu9\t56\n");
    let (got, _) =
        entities(&path, Target::Users, None, &[("header", true.into()), ("key", "id".into())]).unwrap();
    assert_eq!(
        got,
        vec![
            entity(7, &["gender:F", "age:25"]),
            entity(8, &[]),
            Entity {
                key: Key::Str("u9".into()),
                label: None,
                tags: vec!["gender:M".into(), "age:56".into()]
            },
        ]
    );
}

#[test]
fn without_a_header_a_tag_is_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "items.tsv", b"1\tred,blue\tx\n2\tgreen\n");
    let (got, _) =
        entities(&path, Target::Items, None, &[("tags", Value::Int(1)), ("tag_separator", ",".into())])
            .unwrap();
    assert_eq!(got, vec![entity(1, &["red", "blue"]), entity(2, &["green"])]);
    let (got, _) = entities(&path, Target::Items, None, &[]).unwrap();
    assert_eq!(got, vec![entity(1, &["red,blue", "x"]), entity(2, &["green"])]);
}

#[test]
fn several_tag_columns_by_name_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "items.csv", b"id,a,b,c\n1,x,y,z\n");
    let (got, _) = entities(&path, Target::Items, None, &[("tags", "c, 1".into())]).unwrap();
    assert_eq!(got, vec![entity(1, &["c:z", "a:x"])]);
}
