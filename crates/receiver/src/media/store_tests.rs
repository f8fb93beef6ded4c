//! Unit tests of [`MediaStore`]: start-up cleanup, the disk ceiling, the TTL sweep (with
//! tokio's paused clock).

use std::time::Duration;

use super::store::{MediaStore, StoreError, sweep_interval, sweeper};

const DAY: Duration = Duration::from_secs(24 * 3600);

async fn add(store: &MediaStore, size: usize) -> String {
    let name = MediaStore::new_name("bin");
    let reservation = store.reserve(size as u64).await.expect("fits");
    std::fs::write(store.path(&name), vec![0u8; size]).expect("write");
    store.commit(reservation, name.clone(), size as u64);
    name
}

#[tokio::test]
async fn open_deletes_part_files_and_indexes_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.jpg.part"), b"half").expect("write");
    std::fs::write(dir.path().join("b.jpg"), b"12345").expect("write");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");

    let store = MediaStore::open(dir.path(), DAY, 1000).await.expect("open");

    assert!(!dir.path().join("a.jpg.part").exists());
    assert_eq!(store.file_count(), 1);
    assert_eq!(store.used_bytes(), 5);
}

#[tokio::test]
async fn oldest_files_make_room_and_what_cannot_fit_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = MediaStore::open(dir.path(), DAY, 100).await.expect("open");
    let first = add(&store, 40).await;
    let second = add(&store, 40).await;

    let third = add(&store, 40).await;

    assert!(!store.path(&first).exists(), "the oldest went first");
    assert!(store.path(&second).exists() && store.path(&third).exists());
    assert_eq!(store.used_bytes(), 80);
    // Larger than the ceiling: refused, and nothing is deleted for it.
    assert_eq!(store.reserve(101).await.err(), Some(StoreError::DiskFull));
    assert_eq!(store.file_count(), 2);
    // Downloads in flight count: two reservations of 60 cannot both fit.
    let held = store.reserve(60).await.expect("fits after evicting");
    assert_eq!(store.reserve(60).await.err(), Some(StoreError::DiskFull));
    drop(held);
    assert!(store.reserve(60).await.is_ok(), "released on drop");
}

#[tokio::test]
async fn sweep_brings_an_oversized_directory_under_its_ceiling() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, size) in [30usize, 30, 30].iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i}.bin")), vec![0u8; *size]).expect("write");
    }
    // A lowered ceiling after a restart.
    let store = MediaStore::open(dir.path(), DAY, 50).await.expect("open");

    let report = store.sweep().await;

    assert_eq!(report.expired, 0);
    assert_eq!(report.evicted, 2);
    assert_eq!(store.used_bytes(), 30);
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
}

#[tokio::test(start_paused = true)]
async fn background_sweep_deletes_files_once_their_ttl_has_passed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ttl = Duration::from_secs(3600);
    let store = MediaStore::open(dir.path(), ttl, 1 << 20)
        .await
        .expect("open");
    let name = add(&store, 10).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(sweeper(store.clone(), sweep_interval(ttl), stopped));

    tokio::time::sleep(ttl / 2).await;
    assert!(store.path(&name).exists(), "kept within its TTL");
    tokio::time::sleep(ttl / 2 + sweep_interval(ttl) * 2).await;
    // Let the sweep's blocking file deletion finish.
    while store.path(&name).exists() {
        tokio::task::yield_now().await;
    }

    assert_eq!(store.file_count(), 0);
    stop.send_replace(true);
    task.await.expect("sweeper stops");
}

#[test]
fn sweep_interval_is_a_tenth_of_the_ttl_within_bounds() {
    assert_eq!(
        sweep_interval(Duration::from_secs(3600)),
        Duration::from_secs(300)
    );
    assert_eq!(
        sweep_interval(Duration::from_secs(100)),
        Duration::from_secs(10)
    );
    assert_eq!(
        sweep_interval(Duration::from_secs(2)),
        Duration::from_secs(1)
    );
}
