//! The movielens `::` format: ratings, users and movies.

use super::*;
use crate::import::read::Format;

#[test]
fn ratings_with_and_without_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let path =
        write(dir.path(), "ratings.dat", b"1::1193::5::978300760\n1::661::3::978302109\r\n\n2::3068::4\n");
    let (got, stats) = interactions(&path, None, &[]).unwrap();
    assert_eq!(
        got,
        vec![
            pair(1, 1193, Some(5.0), Some(978_300_760)),
            pair(1, 661, Some(3.0), Some(978_302_109)),
            pair(2, 3068, Some(4.0), None)
        ]
    );
    assert_eq!(stats, ReadStats { lines: 4, records: 3, skipped: 0, unread: Vec::new() });
    let (got, stats) = interactions(&path, Some("movielens"), &[("min_weight", Value::Int(4))]).unwrap();
    assert_eq!(got.iter().map(|r| r.item.clone()).collect::<Vec<_>>(), vec![Key::Int(1193), Key::Int(3068)]);
    assert_eq!(stats.skipped, 1);
}

#[test]
fn users_get_gender_age_and_occupation_tags() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "users.dat", b"1::F::1::10::48067\n2::M::56::16::70072\n");
    let (got, _) = entities(&path, Target::Users, None, &[]).unwrap();
    assert_eq!(
        got,
        vec![
            entity(1, &["gender:F", "age:1", "occupation:10"]),
            entity(2, &["gender:M", "age:56", "occupation:16"])
        ]
    );
}

#[test]
fn movies_get_genre_tags_and_their_titles_as_labels_even_in_latin1() {
    let dir = tempfile::tempdir().unwrap();
    // "Bossa Nova" titles in movies.dat hold ISO-8859-1 bytes such as 0xe9 (é).
    let bytes = b"1::Toy Story (1995)::Animation|Children's|Comedy\n\
                  73::Mis\xe9rables, Les (1995)::Drama|War\n\
                  99::Untitled::\n";
    let path = write(dir.path(), "movies.dat", bytes);
    let spec = ImportSpec::new(&path, Target::Items, None, &[]).unwrap();
    assert_eq!(spec.format, Format::Movielens);
    let (got, stats) = entities(&path, Target::Items, None, &[]).unwrap();
    let labelled = |key, label: &str, tags| Entity { label: Some(label.to_string()), ..entity(key, tags) };
    assert_eq!(
        got,
        vec![
            labelled(1, "Toy Story (1995)", &["genre:Animation", "genre:Children's", "genre:Comedy"]),
            labelled(73, "Misérables, Les (1995)", &["genre:Drama", "genre:War"]),
            labelled(99, "Untitled", &[]),
        ]
    );
    assert_eq!(stats.records, 3);
}

#[test]
fn the_ml_100k_layout_reads_ratings_users_and_items_with_genre_flags() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "u.data", b"196\t242\t3\t881250949\n186\t302\t3\t891717742\n");
    assert_eq!(ImportSpec::new(&data, Target::Interactions, None, &[]).unwrap().format, Format::Movielens);
    let (got, _) = interactions(&data, None, &[]).unwrap();
    assert_eq!(
        got,
        vec![pair(196, 242, Some(3.0), Some(881250949)), pair(186, 302, Some(3.0), Some(891717742))]
    );

    let users = write(dir.path(), "u.user", b"1|24|M|technician|85711\n");
    let (got, _) = entities(&users, Target::Users, None, &[]).unwrap();
    assert_eq!(got, vec![entity(1, &["gender:M", "age:24", "occupation:technician"])]);

    let items = write(
        dir.path(),
        "u.item",
        b"1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n\
          33|Desperado (1995)|01-Jan-1995||http://y|0|1|0|0|0|0|0|0|0|0|0|0|0|0|1|0|1|0|0\n\
          1066|Mis\xe9rables (1995)|01-Jan-1995||http://z|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n",
    );
    let (got, _) = entities(&items, Target::Items, None, &[]).unwrap();
    let labelled = |key, label: &str, tags| Entity { label: Some(label.to_string()), ..entity(key, tags) };
    assert_eq!(
        got,
        vec![
            labelled(1, "Toy Story (1995)", &["genre:Animation", "genre:Children's", "genre:Comedy"]),
            labelled(33, "Desperado (1995)", &["genre:Action", "genre:Romance", "genre:Thriller"]),
            labelled(1066, "Misérables (1995)", &["genre:Drama"]),
        ]
    );
    let short = write(dir.path(), "u.item", b"1|Toy Story (1995)|01-Jan-1995\n");
    let err = entities(&short, Target::Items, None, &[]).unwrap_err();
    assert!(err.to_string().contains("line 1: expected movie id|title|"), "{err}");
    let fold = write(dir.path(), "u1.base", b"1\t1\t5\t874965758\n");
    assert_eq!(ImportSpec::new(&fold, Target::Interactions, None, &[]).unwrap().format, Format::Movielens);
}

#[test]
fn years_tags_movies_with_their_release_year_bucket() {
    use crate::import::read::movielens::year_bucket;
    let dir = tempfile::tempdir().unwrap();
    let bytes = b"1::Toy Story (1995)::Animation\n2::Metropolis (1927)::Sci-Fi\n3::Untitled::Drama\n\
                  4::Gladiator (2000)::Action\n5::Heat (1994) ::Crime\n";
    let path = write(dir.path(), "movies.dat", bytes);
    let (got, _) = entities(&path, Target::Items, None, &[("years", Value::Bool(true))]).unwrap();
    let tags: Vec<Vec<String>> = got.into_iter().map(|e| e.tags).collect();
    assert_eq!(
        tags,
        vec![
            vec!["genre:Animation".to_string(), "year:1995-96".into()],
            vec!["genre:Sci-Fi".into(), "year:<1940".into()],
            vec!["genre:Drama".into()],
            vec!["genre:Action".into(), "year:1999-00".into()],
            vec!["genre:Crime".into(), "year:1990-94".into()],
        ]
    );
    let expected = [
        ("X (1939)", Some("<1940")),
        ("X (1940)", Some("1940s")),
        ("X (1959)", Some("1950s")),
        ("X (1969)", Some("1960s")),
        ("X (1975)", Some("1970s")),
        ("X (1989)", Some("1980s")),
        ("X (1996)", Some("1995-96")),
        ("X (1997)", Some("1997-98")),
        ("X (1999)", Some("1999-00")),
        ("X (19a9)", None),
        ("X 1999", None),
    ];
    for (title, bucket) in expected {
        assert_eq!(year_bucket(title), bucket, "{title}");
    }
    let err = entities(&path, Target::Items, None, &[("years", Value::Int(1))]).unwrap_err();
    assert_eq!(err.message, "option 'years' expects true or false, got integer 1");
}
