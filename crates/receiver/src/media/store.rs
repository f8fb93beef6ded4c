//! The media directory: unguessable file names, an in-memory index of what is on disk (size,
//! creation time), byte reservations for downloads in flight, and the sweep that deletes
//! expired files and keeps the directory under its disk ceiling (oldest first).
//!
//! Times come from [`Clock`], which follows tokio's clock, so tests can move time with
//! `tokio::time::pause()`/`advance()`.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tracing::{debug, info, warn};

/// Suffix of files still being written (`Telegram::download` renames them when complete).
pub const PART_SUFFIX: &str = ".part";

/// Wall-clock time that advances with tokio's clock (and so stops under `time::pause()`).
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    system: SystemTime,
    instant: tokio::time::Instant,
}

impl Clock {
    /// A clock reading the current wall-clock time.
    pub fn new() -> Self {
        Self {
            system: SystemTime::now(),
            instant: tokio::time::Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        self.system + self.instant.elapsed()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a file was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// It does not fit under `MEDIA_MAX_DISK_BYTES`, even after deleting every finished file.
    #[error("the media directory is full")]
    DiskFull,
}

/// What one sweep deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Files older than the TTL.
    pub expired: usize,
    /// Files deleted to get back under the disk ceiling.
    pub evicted: usize,
    /// Bytes freed in total.
    pub freed_bytes: u64,
}

#[derive(Debug, Default)]
struct Index {
    /// Finished files by (creation time, name) → size in bytes; oldest first.
    files: BTreeMap<(SystemTime, String), u64>,
    /// Bytes of the files in `files`.
    used: u64,
    /// Bytes promised to downloads in flight.
    reserved: u64,
}

impl Index {
    fn insert(&mut self, created: SystemTime, name: String, size: u64) {
        self.used += size;
        if let Some(old) = self.files.insert((created, name), size) {
            self.used -= old;
        }
    }

    /// Takes the oldest files out of the index while `more` says so; returns their names.
    fn take_oldest(
        &mut self,
        mut more: impl FnMut(&Self, SystemTime) -> bool,
    ) -> Vec<(String, u64)> {
        let mut taken = Vec::new();
        while let Some(((created, _), _)) = self.files.first_key_value() {
            if !more(self, *created) {
                break;
            }
            if let Some(((_, name), size)) = self.files.pop_first() {
                self.used -= size;
                taken.push((name, size));
            }
        }
        taken
    }
}

struct Inner {
    dir: PathBuf,
    ttl: Duration,
    max_disk_bytes: u64,
    clock: Clock,
    index: Mutex<Index>,
}

/// The media directory. Cheap to clone (shared state).
#[derive(Clone)]
pub struct MediaStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStore")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

/// Bytes held for one download in flight; released on drop unless committed.
#[must_use]
pub struct Reservation {
    store: MediaStore,
    bytes: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.store.index().reserved -= self.bytes;
    }
}

impl MediaStore {
    /// Opens (creating it when missing) the directory `dir`: deletes leftover `*.part` files of
    /// an interrupted run and indexes the files already there by size and modification time.
    /// `ttl`: how long a file is kept; `max_disk_bytes`: the ceiling of the directory's size.
    ///
    /// Errors: the directory cannot be created or listed.
    pub async fn open(dir: &Path, ttl: Duration, max_disk_bytes: u64) -> io::Result<Self> {
        tokio::fs::create_dir_all(dir).await?;
        let mut index = Index::default();
        let mut entries = tokio::fs::read_dir(dir).await?;
        let mut parts = 0usize;
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = entry.metadata().await?;
            if !meta.is_file() {
                continue;
            }
            if name.ends_with(PART_SUFFIX) {
                remove(&entry.path()).await;
                parts += 1;
                continue;
            }
            let created = meta.modified().unwrap_or_else(|_| SystemTime::now());
            index.insert(created, name, meta.len());
        }
        info!(
            dir = %dir.display(),
            files = index.files.len(),
            bytes = index.used,
            removed_part_files = parts,
            "media directory opened"
        );
        Ok(Self {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                ttl,
                max_disk_bytes,
                clock: Clock::new(),
                index: Mutex::new(index),
            }),
        })
    }

    fn index(&self) -> MutexGuard<'_, Index> {
        // The index holds plain numbers; a panic while holding it cannot leave it torn.
        self.inner.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// How long files are kept.
    pub fn ttl(&self) -> Duration {
        self.inner.ttl
    }

    /// The current time of the store's clock.
    pub fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    /// Bytes of finished files on disk, as indexed.
    pub fn used_bytes(&self) -> u64 {
        self.index().used
    }

    /// Number of finished files, as indexed.
    pub fn file_count(&self) -> usize {
        self.index().files.len()
    }

    /// A fresh, unguessable file name: 128 random bits as 32 hex digits, then `.ext`.
    pub fn new_name(extension: &str) -> String {
        format!("{:032x}.{extension}", rand::random::<u128>())
    }

    /// Where the file `name` lives.
    pub fn path(&self, name: &str) -> PathBuf {
        self.inner.dir.join(name)
    }

    /// Holds `bytes` of the ceiling for a download. When they do not fit, the oldest finished
    /// files are deleted until they do. Errors: [`StoreError::DiskFull`] when they cannot fit
    /// even then (the file is larger than the ceiling minus the downloads in flight); nothing
    /// is deleted in that case.
    pub async fn reserve(&self, bytes: u64) -> Result<Reservation, StoreError> {
        let max = self.inner.max_disk_bytes;
        let victims = {
            let mut index = self.index();
            if index.reserved.saturating_add(bytes) > max {
                return Err(StoreError::DiskFull);
            }
            let victims = index.take_oldest(|i, _| i.used + i.reserved + bytes > max);
            index.reserved += bytes;
            victims
        };
        if !victims.is_empty() {
            info!(
                files = victims.len(),
                "media directory at its ceiling; deleted the oldest files"
            );
        }
        self.delete(&victims).await;
        Ok(Reservation {
            store: self.clone(),
            bytes,
        })
    }

    /// Records the finished file `name` of `size` bytes (created now) and releases the
    /// reservation it was downloaded under.
    pub fn commit(&self, reservation: Reservation, name: String, size: u64) {
        let created = self.now();
        self.index().insert(created, name, size);
        drop(reservation);
    }

    /// Deletes files created at or before `now - ttl`, then the oldest files while the
    /// directory is above its ceiling.
    pub async fn sweep_at(&self, now: SystemTime) -> SweepReport {
        let ttl = self.inner.ttl;
        let max = self.inner.max_disk_bytes;
        let (expired, evicted) = {
            let mut index = self.index();
            let expired = index.take_oldest(|_, created| created + ttl <= now);
            let evicted = index.take_oldest(|i, _| i.used > max);
            (expired, evicted)
        };
        let report = SweepReport {
            expired: expired.len(),
            evicted: evicted.len(),
            freed_bytes: expired.iter().chain(&evicted).map(|(_, size)| size).sum(),
        };
        self.delete(&expired).await;
        self.delete(&evicted).await;
        if report != SweepReport::default() {
            info!(
                expired = report.expired,
                evicted = report.evicted,
                freed_bytes = report.freed_bytes,
                "media sweep"
            );
        }
        report
    }

    /// [`MediaStore::sweep_at`] the store clock's current time.
    pub async fn sweep(&self) -> SweepReport {
        self.sweep_at(self.now()).await
    }

    async fn delete(&self, files: &[(String, u64)]) {
        for (name, _) in files {
            remove(&self.path(name)).await;
        }
    }
}

async fn remove(path: &Path) {
    match tokio::fs::remove_file(path).await {
        Ok(()) => debug!(path = %path.display(), "media file deleted"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => warn!(path = %path.display(), error = %e, "could not delete a media file"),
    }
}

/// How often the background sweep runs for a given TTL: a tenth of it, between 1 s and 5 min.
pub fn sweep_interval(ttl: Duration) -> Duration {
    (ttl / 10).clamp(Duration::from_secs(1), Duration::from_secs(300))
}

/// Sweeps every `interval` until `shutdown` turns true.
pub async fn sweeper(
    store: MediaStore,
    interval: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stop = tokio::select! {
            _ = ticks.tick() => false,
            // The watch guard must not live across the sweep's awaits (it is not Send).
            _ = shutdown.wait_for(|stop| *stop) => true,
        };
        if stop {
            return;
        }
        store.sweep().await;
    }
}
