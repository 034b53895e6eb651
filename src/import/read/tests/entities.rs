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

#[test]
fn a_headerless_file_names_its_columns_and_its_tags_get_those_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "items.tsv", b"1\tHeat\tAction\t1995\n2\tBabe\tChildren\t1995\textra\n");
    let options = [("columns", "id, title, genre, year".into()), ("label", "title".into())];
    let (got, stats) = entities(&path, Target::Items, None, &options).unwrap();
    let tags = |t: &[&str]| t.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            Entity {
                key: Key::Int(1),
                label: Some("Heat".into()),
                tags: tags(&["genre:Action", "year:1995"])
            },
            // A column past the named ones is still a tag, without a name.
            Entity {
                key: Key::Int(2),
                label: Some("Babe".into()),
                tags: tags(&["genre:Children", "year:1995", "extra"])
            },
        ]
    );
    assert_eq!(stats.lines, 2, "no line was taken as a header");
    // With header = true the file's header line is skipped and its names replaced.
    let path = write(dir.path(), "named.csv", b"a,b\n7,Drama\n");
    let options = [("columns", "movie,genre".into()), ("header", true.into()), ("key", "movie".into())];
    let (got, _) = entities(&path, Target::Items, None, &options).unwrap();
    assert_eq!(got, vec![entity(7, &["genre:Drama"])]);
    let err =
        entities(&path, Target::Items, None, &[("columns", "movie,genre".into()), ("key", "id".into())])
            .unwrap_err();
    assert_eq!(err.message, "no column named 'id'; option 'columns' names: movie, genre");
}

#[test]
fn named_columns_pick_an_interactions_file_s_weight_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "r.tsv", b"1\t10\t4\t99\n2\t10\t5\t98\n");
    let options =
        [("columns", "user,item,rating,ts".into()), ("weight", "rating".into()), ("time", "ts".into())];
    let (got, _) = interactions(&path, None, &options).unwrap();
    assert_eq!(got, vec![pair(1, 10, Some(4.0), Some(99)), pair(2, 10, Some(5.0), Some(98))]);
}

#[test]
fn a_latin1_file_reads_with_encoding_and_names_the_byte_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "items.csv", b"id,title\n1,Caf\xe9 Society\n");
    let (got, _) =
        entities(&path, Target::Items, None, &[("label", "title".into()), ("encoding", "latin1".into())])
            .unwrap();
    assert_eq!(got[0].label.as_deref(), Some("Café Society"));
    let err = entities(&path, Target::Items, None, &[("label", "title".into())]).unwrap_err();
    assert_eq!(err.line, Some(2));
    assert_eq!(
        err.message,
        "invalid UTF-8 in column 'title': byte 0xE9 after 'Caf'; if the file is Latin-1 or Windows-1252, add \
         encoding = 'latin1'"
    );
}
