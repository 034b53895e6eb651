//! The real data sets in `../shared/data`, when present (never copied into the repository).

use std::path::PathBuf;
use std::time::Instant;

use super::*;

/// The shared data folder, or `None` (with a printed reason) when it is absent.
fn data(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} is absent", path.display());
        None
    }
}

fn count(path: &Path, options: &[(&str, Value)]) -> ReadStats {
    let spec = ImportSpec::new(path, Target::Interactions, None, &opts(options)).unwrap();
    let start = Instant::now();
    let stats = read_interactions(&spec, &mut |_, _| true, &mut |_| {}).unwrap();
    eprintln!("{}: {} records in {:.3} s", path.display(), stats.records, start.elapsed().as_secs_f64());
    stats
}

#[test]
fn ml_1m_ratings_and_the_standard_split() {
    let Some(ratings) = data("ml-1m/ratings.tsv.gz") else { return };
    let named = [("user", "UserID".into()), ("item", "ItemIdx".into()), ("weight", "Rating".into())];
    let stats = count(&ratings, &named);
    let movie_id = UnreadColumn { index: 2, label: "'MovieID'".into(), first: "1".into() };
    assert_eq!(stats, ReadStats { lines: 1_000_210, records: 1_000_209, skipped: 0, unread: vec![movie_id] });
    let mut with_min = named.to_vec();
    with_min.push(("min_weight", Value::Int(4)));
    let stats = count(&ratings, &with_min);
    assert_eq!((stats.records, stats.skipped), (575_281, 1_000_209 - 575_281));

    let Some(train) = data("splits/ml-1m-r4/train.tsv") else { return };
    assert_eq!(count(&train, &[]).records, 460_256);
}

#[test]
fn ml_1m_users_and_movies() {
    let (Some(users), Some(movies)) = (data("ml-1m/users.dat"), data("ml-1m/movies.dat")) else { return };
    let (got, _) = entities(&users, Target::Users, None, &[]).unwrap();
    assert_eq!(got.len(), 6040);
    assert_eq!(got[0], entity(1, &["gender:F", "age:1", "occupation:10"]));
    let (got, _) = entities(&movies, Target::Items, None, &[]).unwrap();
    assert_eq!(got.len(), 3883);
    let toy_story = Entity {
        label: Some("Toy Story (1995)".into()),
        ..entity(1, &["genre:Animation", "genre:Children's", "genre:Comedy"])
    };
    assert_eq!(got[0], toy_story);
    let latin1 = got.iter().find(|m| m.key == Key::Int(73)).and_then(|m| m.label.as_deref());
    assert_eq!(latin1, Some("Misérables, Les (1995)"), "ML-1M's titles are Latin-1");
    assert!(got.iter().all(|m| m.label.is_some()), "every movie has a title");
}
