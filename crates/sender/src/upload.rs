//! Files received with a request (multipart parts, downloaded URLs, inline base64): streamed
//! into temporary files under a size cap, never held whole in memory, deleted when dropped.

use std::collections::HashMap;
use std::path::Path;

use tempfile::TempPath;

use crate::error::ApiError;

/// File parts of a multipart request, by part name (`voice`, or the `<name>` of
/// `attach://<name>`).
pub type Files = HashMap<String, Upload>;

/// A file on local disk, complete, in a temporary location that is removed when this value is
/// dropped.
#[derive(Debug)]
pub struct Upload {
    pub(crate) path: TempPath,
    /// The name the client gave it (multipart `filename`, last URL path segment), if any.
    pub file_name: Option<String>,
    /// The MIME type the client declared (part or response `Content-Type`), if any.
    pub content_type: Option<String>,
    /// Size in bytes.
    pub size: u64,
}

impl Upload {
    /// The file's path (valid while `self` lives).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Why writing an upload stopped.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file grew past the cap (`MAX_UPLOAD_BYTES`); what was written is deleted.
    #[error("the file is larger than {max} bytes")]
    TooBig {
        /// The cap, bytes.
        max: u64,
    },
    /// The temporary file could not be created or written.
    #[error("temporary file: {0}")]
    Io(#[from] std::io::Error),
}

impl WriteError {
    /// 413 "Request Entity Too Large" for an oversized file, 500 for disk failures.
    pub fn into_api_error(self) -> ApiError {
        match self {
            WriteError::TooBig { .. } => ApiError::too_large(),
            WriteError::Io(e) => {
                tracing::error!(error = %e, "cannot store an uploaded file");
                botapi::ApiError::internal("cannot store the uploaded file").into()
            }
        }
    }
}

/// Bytes gathered before one write to the temporary file: HTTP bodies arrive in chunks of a
/// few KiB, and a write per chunk would cost a blocking-pool hop each (tokio's `File` does one
/// per `write`).
const BATCH: usize = 1024 * 1024;

/// A write on the blocking pool: gives back the file and the emptied buffer.
type PendingWrite = tokio::task::JoinHandle<std::io::Result<(std::fs::File, Vec<u8>)>>;

/// Writes one file chunk by chunk into a fresh temporary file, refusing to grow past `max`
/// bytes. Chunks are gathered into `BATCH`-sized (1 MiB) buffers, each written on the blocking pool
/// while the next one fills (two buffers at most, whatever the file's size).
pub struct UploadWriter {
    /// The file, when no write is in flight.
    file: Option<std::fs::File>,
    /// The write in flight: gives back the file and the emptied buffer.
    pending: Option<PendingWrite>,
    batch: Vec<u8>,
    path: TempPath,
    size: u64,
    max: u64,
}

impl UploadWriter {
    /// Creates an empty temporary file (in the system temp directory) for at most `max` bytes.
    pub async fn create(max: u64) -> Result<Self, WriteError> {
        let named = tokio::task::spawn_blocking(|| {
            tempfile::Builder::new().prefix("sender-upload-").tempfile()
        })
        .await
        .map_err(std::io::Error::other)??;
        let (file, path) = named.into_parts();
        Ok(Self {
            file: Some(file),
            pending: None,
            batch: Vec::new(),
            path,
            size: 0,
            max,
        })
    }

    /// Appends `chunk`. Errors: [`WriteError::TooBig`] once the total exceeds the cap; the
    /// error of an earlier write.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), WriteError> {
        self.size += chunk.len() as u64;
        if self.size > self.max {
            return Err(WriteError::TooBig { max: self.max });
        }
        if self.batch.capacity() == 0 {
            self.batch.reserve_exact(BATCH);
        }
        self.batch.extend_from_slice(chunk);
        if self.batch.len() >= BATCH {
            self.start_write().await?;
        }
        Ok(())
    }

    /// Waits for the write in flight, if any, and returns the file (and its emptied buffer,
    /// kept for the next batch).
    async fn settle(&mut self) -> Result<std::fs::File, WriteError> {
        if let Some(pending) = self.pending.take() {
            let (file, mut spare) = pending.await.map_err(std::io::Error::other)??;
            if self.batch.is_empty() {
                spare.clear();
                self.batch = spare;
            }
            return Ok(file);
        }
        self.file
            .take()
            .ok_or_else(|| WriteError::Io(std::io::Error::other("upload writer failed before")))
    }

    /// Hands the gathered batch to a blocking write once the previous one is done.
    async fn start_write(&mut self) -> Result<(), WriteError> {
        let batch = std::mem::take(&mut self.batch);
        // Gives the previous write's buffer back as the next batch.
        let mut file = self.settle().await?;
        self.pending = Some(tokio::task::spawn_blocking(move || {
            std::io::Write::write_all(&mut file, &batch).map(|()| (file, batch))
        }));
        Ok(())
    }

    /// Writes what is left and closes the file; `file_name` and `content_type` as declared by
    /// the client.
    pub async fn finish(
        mut self,
        file_name: Option<String>,
        content_type: Option<String>,
    ) -> Result<Upload, WriteError> {
        if !self.batch.is_empty() {
            self.start_write().await?;
        }
        drop(self.settle().await?);
        Ok(Upload {
            path: self.path,
            file_name: file_name.filter(|n| !n.trim().is_empty()),
            content_type: content_type.filter(|c| !c.trim().is_empty()),
            size: self.size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writer_stores_chunks_and_deletes_on_drop() {
        let mut writer = UploadWriter::create(10).await.expect("create");
        writer.write(b"hello ").await.expect("write");
        writer.write(b"you").await.expect("write");
        let upload = writer
            .finish(Some("a.txt".into()), None)
            .await
            .expect("finish");
        assert_eq!(upload.size, 9);
        assert_eq!(std::fs::read(upload.path()).expect("read"), b"hello you");
        let path = upload.path().to_owned();
        drop(upload);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn writer_keeps_order_across_batches() {
        let mut writer = UploadWriter::create(10 * BATCH as u64)
            .await
            .expect("create");
        let chunk: Vec<u8> = (0..7919u32).map(|i| (i % 253) as u8).collect();
        let mut expected = Vec::new();
        while expected.len() < 3 * BATCH + 100 {
            writer.write(&chunk).await.expect("write");
            expected.extend_from_slice(&chunk);
        }
        let upload = writer.finish(None, None).await.expect("finish");
        assert_eq!(upload.size, expected.len() as u64);
        assert!(std::fs::read(upload.path()).expect("read") == expected);
    }

    #[tokio::test]
    async fn writer_refuses_to_grow_past_the_cap() {
        let mut writer = UploadWriter::create(4).await.expect("create");
        writer.write(b"1234").await.expect("at the cap");
        assert!(matches!(
            writer.write(b"5").await,
            Err(WriteError::TooBig { max: 4 })
        ));
    }
}
