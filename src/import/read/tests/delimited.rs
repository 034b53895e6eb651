//! tsv and csv interactions.

use std::io::Write;

use super::*;

#[test]
fn headerless_two_column_tsv_needs_no_options() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "train.tsv", b"1\t10\n1\t11\n\n2\t10\n");
    let (got, stats) = interactions(&path, None, &[]).unwrap();
    assert_eq!(got, vec![pair(1, 10, None, None), pair(1, 11, None, None), pair(2, 10, None, None)]);
    assert_eq!(stats, ReadStats { lines: 4, records: 3, skipped: 0, unread: Vec::new() });
}

#[test]
fn tsv_with_header_and_named_columns() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        "UserID\tItemIdx\tMovieID\tRating\tWhen\n1\t1\t1\t5\t978300760\n1\t48\t0\t3.5\t-7\n2\t7\t9\t1\t0\n";
    let path = write(dir.path(), "ratings.tsv", text.as_bytes());
    let options = [
        ("user", "UserID".into()),
        ("item", "ItemIdx".into()),
        ("weight", "Rating".into()),
        ("time", "When".into()),
    ];
    let (got, stats) = interactions(&path, None, &options).unwrap();
    assert_eq!(
        got,
        vec![
            pair(1, 1, Some(5.0), Some(978_300_760)),
            pair(1, 48, Some(3.5), Some(-7)),
            pair(2, 7, Some(1.0), Some(0))
        ]
    );
    let movie_id = UnreadColumn { index: 2, label: "'MovieID'".into(), first: "1".into() };
    assert_eq!(stats, ReadStats { lines: 4, records: 3, skipped: 0, unread: vec![movie_id] });
    // By index, with an explicit header = true, skipping the header line.
    let options = [("header", true.into()), ("item", Value::Int(2)), ("weight", Value::Int(3))];
    let (got, _) = interactions(&path, Some("tsv"), &options).unwrap();
    assert_eq!(got[1], pair(1, 0, Some(3.5), None));
}

#[test]
fn min_weight_keeps_records_at_or_above_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "r.tsv", b"1\t1\t5\n1\t2\t3.9\n2\t1\t4\n2\t3\t1\n");
    let options = [("weight", Value::Int(2)), ("min_weight", Value::Int(4))];
    let (got, stats) = interactions(&path, None, &options).unwrap();
    assert_eq!(got, vec![pair(1, 1, Some(5.0), None), pair(2, 1, Some(4.0), None)]);
    assert_eq!(stats, ReadStats { lines: 4, records: 2, skipped: 2, unread: Vec::new() });
}

#[test]
fn keys_auto_and_string() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "r.tsv", b"u1\t007\n 42 \tsku-9\n");
    let (got, _) = interactions(&path, None, &[]).unwrap();
    assert_eq!(got[0].user, Key::Str("u1".into()));
    assert_eq!(got[0].item, Key::Int(7));
    assert_eq!((got[1].user.clone(), got[1].item.clone()), (Key::Int(42), Key::Str("sku-9".into())));
    let (got, _) = interactions(&path, None, &[("keys", "string".into())]).unwrap();
    assert_eq!(got[0].item, Key::Str("007".into()));
    assert_eq!(got[1].user, Key::Str("42".into()));
}

#[test]
fn crlf_lines_and_a_byte_order_mark() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "r.tsv", b"\xef\xbb\xbfuser\titem\r\n3\t4\r\n\r\n5\t6\r\n");
    let (got, stats) =
        interactions(&path, None, &[("user", "user".into()), ("item", "item".into())]).unwrap();
    assert_eq!(got, vec![pair(3, 4, None, None), pair(5, 6, None, None)]);
    assert_eq!(stats.lines, 4);
}

#[test]
fn other_delimiters() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "r.txt", b"1;2;0.5\n3;4;1\n");
    let (got, _) =
        interactions(&path, None, &[("delimiter", ";".into()), ("weight", Value::Int(2))]).unwrap();
    assert_eq!(got, vec![pair(1, 2, Some(0.5), None), pair(3, 4, Some(1.0), None)]);
}

#[test]
fn csv_with_quoted_fields() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        "userId,movieId,rating,timestamp\n\"1\",\"31\",2.5,1260759144\n1,\"sku,\"\"x\"\"\",3,1260759179\n";
    let path = write(dir.path(), "ratings.csv", text.as_bytes());
    let options = [
        ("user", "userId".into()),
        ("item", "movieId".into()),
        ("weight", "rating".into()),
        ("time", "timestamp".into()),
    ];
    let (got, stats) = interactions(&path, None, &options).unwrap();
    assert_eq!(
        got,
        vec![
            pair(1, 31, Some(2.5), Some(1_260_759_144)),
            Interaction {
                user: Key::Int(1),
                item: Key::Str("sku,\"x\"".into()),
                weight: Some(3.0),
                time: Some(1_260_759_179)
            },
        ]
    );
    assert_eq!(stats, ReadStats { lines: 3, records: 2, skipped: 0, unread: Vec::new() });
}

#[test]
fn gzipped_tsv_by_extension_and_by_magic() {
    let dir = tempfile::tempdir().unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut text = String::from("UserID\tItemIdx\tRating\n");
    for u in 1..=1000u64 {
        for i in 0..3u64 {
            text.push_str(&format!("{u}\t{}\t{}\n", u * 10 + i, 1 + (u + i) % 5));
        }
    }
    enc.write_all(text.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    let options = [("user", "UserID".into()), ("item", "ItemIdx".into()), ("weight", "Rating".into())];
    for name in ["ratings.tsv.gz", "ratings.tsv"] {
        let path = write(dir.path(), name, &gz);
        let (got, stats) = interactions(&path, None, &options).unwrap();
        assert_eq!(stats, ReadStats { lines: 3001, records: 3000, skipped: 0, unread: Vec::new() });
        assert_eq!(got[0], pair(1, 10, Some(2.0), None));
        assert_eq!(got[2999], pair(1000, 10002, Some(3.0), None));
    }
}

#[test]
fn progress_reports_the_file_size_and_ends_at_it() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..50_000).map(|i| format!("{i}\t{}\n", i % 97)).collect();
    let path = write(dir.path(), "big.tsv", text.as_bytes());
    let spec = ImportSpec::new(&path, Target::Interactions, None, &[]).unwrap();
    let mut reports = Vec::new();
    let mut n = 0;
    read_interactions(
        &spec,
        &mut |done, total| {
            reports.push((done, total));
            true
        },
        &mut |_| n += 1,
    )
    .unwrap();
    let size = text.len() as u64;
    assert_eq!(n, 50_000);
    assert!(reports.len() >= 2, "{reports:?}");
    assert!(reports.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 == size));
    assert_eq!(reports.last(), Some(&(size, size)));
}

#[test]
fn columns_no_option_names_are_reported_with_their_first_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "ratings.tsv", b"1\t10\t5\t978300760\n2\t10\t3\t978300761\n");
    let (_, stats) = interactions(&path, None, &[]).unwrap();
    let unread =
        |index: usize, first: &str| UnreadColumn { index, label: index.to_string(), first: first.into() };
    assert_eq!(stats.unread, vec![unread(2, "5"), unread(3, "978300760")]);
    let (_, stats) =
        interactions(&path, None, &[("weight", Value::Int(2)), ("time", Value::Int(3))]).unwrap();
    assert!(stats.unread.is_empty(), "every column read: {:?}", stats.unread);
}
