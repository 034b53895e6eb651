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
    assert_eq!(stats, ReadStats { lines: 4, records: 3, skipped: 0 });
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
fn movies_get_genre_tags_and_latin1_titles_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    // "Bossa Nova" titles in movies.dat hold ISO-8859-1 bytes such as 0xe9 (é).
    let bytes = b"1::Toy Story (1995)::Animation|Children's|Comedy\n\
                  73::Mis\xe9rables, Les (1995)::Drama|War\n\
                  99::Untitled::\n";
    let path = write(dir.path(), "movies.dat", bytes);
    let spec = ImportSpec::new(&path, Target::Items, None, &[]).unwrap();
    assert_eq!(spec.format, Format::Movielens);
    let (got, stats) = entities(&path, Target::Items, None, &[]).unwrap();
    assert_eq!(
        got,
        vec![
            entity(1, &["genre:Animation", "genre:Children's", "genre:Comedy"]),
            entity(73, &["genre:Drama", "genre:War"]),
            entity(99, &[]),
        ]
    );
    assert_eq!(stats.records, 3);
}
