//! Readers racing writers of the same model: RECOMMEND while the model is retrained and dropped over
//! and over answers from some whole version or says the model is not there, never "corrupt". Found by
//! the kill campaign (`tests/kill_campaign.rs`): a reader that read a model's record, then lost the
//! race to a DROP MODEL or a retraining that removed that version's blobs, failed with "the model has
//! no blob 'format'".

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use recodb::{Database, ErrorKind};

#[test]
fn recommend_while_a_model_is_retrained_and_dropped_never_sees_a_missing_blob() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Arc::new(Database::open(dir.path()).expect("open"));
    let mut seed = String::new();
    for u in 0..30 {
        for i in 0..6 {
            seed.push_str(&format!("INSERT INTERACTION user {u} item {};", (u * 7 + i * 3) % 40));
        }
    }
    db.execute(&seed).expect("seed");
    db.execute("SET durability = 'relaxed'").expect("relaxed: the race, not the disk");
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (db, done) = (Arc::clone(&db), Arc::clone(&done));
            std::thread::spawn(move || {
                let (mut answers, mut absent) = (0u64, 0u64);
                let mut user = r;
                while !done.load(Ordering::Relaxed) {
                    user = (user + 1) % 30;
                    match db.query(&format!("RECOMMEND user {user} TOP 3 USING m"), &[]) {
                        Ok(_) => answers += 1,
                        Err(e) if matches!(e.kind(), ErrorKind::NotFound { .. }) => absent += 1,
                        Err(e) => panic!("RECOMMEND failed after {answers} answers: {e}"),
                    }
                }
                (answers, absent)
            })
        })
        .collect();
    for _ in 0..300 {
        db.execute("TRAIN pop AS m; DROP MODEL m; TRAIN pop AS m; TRAIN pop AS m").expect("train and drop");
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        let (answers, absent) = reader.join().expect("a reader never fails");
        assert!(
            answers > 0 && absent > 0,
            "the readers raced both states: {answers} answers, {absent} absent"
        );
    }
    db.check_integrity().expect("consistent");
}
