//! The archive sink (`ARCHIVE_DIR`): every forwarded update, once its body is final, is also
//! written as raw JSON to `ARCHIVE_DIR/context_date=YYYY-MM-DD/<timestamp>_<update_id>.json`
//! (UTC, Hive-style partition for data pipelines), through a temporary file and a rename so a
//! reader never sees half a file. It runs from the outbox (`archived` column), so it is
//! independent of the webhook's health and catches up after a restart or a full disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use tracing::{error, warn};

use outbox::Outbox;

/// Rows written per pass.
const BATCH: u32 = 500;
/// Pause after a failed write before the next pass.
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(10);

/// The path of an update stored at `received_at_ms`.
pub fn path_for(dir: &Path, received_at_ms: i64, update_id: i64) -> PathBuf {
    let at = DateTime::<Utc>::from_timestamp_millis(received_at_ms).unwrap_or_default();
    dir.join(format!("context_date={}", at.format("%Y-%m-%d")))
        .join(format!(
            "{}_{update_id}.json",
            at.format("%Y%m%dT%H%M%S%.3fZ")
        ))
}

/// Writes `body` to `path` atomically (temporary file in the same directory, then rename).
pub async fn write_atomic(path: &Path, body: &[u8]) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    tokio::fs::create_dir_all(parent).await?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("update");
    let tmp = parent.join(format!(".{name}.tmp"));
    tokio::fs::write(&tmp, body).await?;
    tokio::fs::rename(&tmp, path).await
}

/// Writes unarchived rows until `stop` turns true.
pub async fn run(
    outbox: Arc<Outbox>,
    dir: PathBuf,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let pause = match pass(&outbox, &dir).await {
            Ok(written) if written == BATCH as usize => Duration::ZERO,
            Ok(_) => Duration::from_secs(60),
            Err(e) => {
                error!(error = %e, dir = %dir.display(), "cannot write to ARCHIVE_DIR; retrying");
                RETRY_AFTER_ERROR
            }
        };
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(pause) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    }
    // A last pass, so what was ready at shutdown is on disk.
    if let Err(e) = pass(&outbox, &dir).await {
        warn!(error = %e, "archive pass at shutdown failed; it resumes at the next start");
    }
}

/// One batch; returns how many rows were written.
async fn pass(outbox: &Outbox, dir: &Path) -> anyhow::Result<usize> {
    let rows = outbox.unarchived(BATCH).await?;
    for (id, received_at, body) in &rows {
        write_atomic(&path_for(dir, *received_at, *id), body.as_bytes()).await?;
        outbox.mark_archived(*id).await?;
    }
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_partitioned_by_utc_date() {
        let path = path_for(Path::new("/a"), 1_672_617_599_123, 42);
        assert_eq!(
            path,
            Path::new("/a/context_date=2023-01-01/20230101T235959.123Z_42.json")
        );
    }

    #[tokio::test]
    async fn writes_are_complete_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_for(dir.path(), 0, 1);
        write_atomic(&path, b"{}").await.expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"{}");
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    }
}
