//! Downloads that are complete on disk before they return, and refreshing expired file
//! references.
//!
//! grammers' `download_media` can return before the file is on disk (its tokio `File` is never
//! flushed), so downloads here write chunks themselves, flush, fsync and rename into place.
//! A download keeps [`DOWNLOAD_WINDOW`] chunk requests in flight and writes chunks in order: one
//! request at a time would pay a full round trip per 512 KiB.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use botapi::ids::ChatIdParam;
use grammers_client::{Client, InvocationError};
use grammers_tl_types as tl;
use tokio::task::JoinHandle;

use super::transfer::is_expired_reference;
use super::{FileId, received};
use crate::{Telegram, TelegramError};

/// Download chunk: the largest `upload.getFile` limit (512 KiB divides 1 MiB). Chunk `k` is
/// read at offset `k * CHUNK`: divisible by the limit, so it never crosses a 1 MiB boundary, as
/// Telegram requires without `precise` (<https://core.telegram.org/api/files>, "Downloading
/// files"). A chunk shorter than this is the last one.
const CHUNK: i32 = 512 * 1024;

/// `upload.getFile` requests one download keeps in flight once its first chunk came back full
/// (a file smaller than a chunk takes one request). A download holds at most this many chunks
/// plus the one being written; grammers' own concurrent downloader runs as many workers.
const DOWNLOAD_WINDOW: usize = 4;

/// The chunk requests of one download with one file reference, oldest first, each a task so it
/// is sent at once. Dropping the window aborts the requests still running (past the end of the
/// file, after an error, or when the download itself is dropped).
struct ChunkWindow {
    client: Client,
    file: FileId,
    /// Index of the next chunk to request.
    next: i32,
    fetches: VecDeque<JoinHandle<Result<Option<Vec<u8>>, InvocationError>>>,
}

impl ChunkWindow {
    /// A window whose first request will be chunk `first`.
    fn new(client: &Client, file: &FileId, first: i32) -> Self {
        Self {
            client: client.clone(),
            file: file.clone(),
            next: first,
            fetches: VecDeque::new(),
        }
    }

    /// Requests the following chunks until `width` are in flight.
    fn fill(&mut self, width: usize) {
        while self.fetches.len() < width {
            // A one-chunk grammers iterator: it asks the file's DC and, like a sequential
            // download, follows FILE_MIGRATE (303) and copies the authorization to that DC.
            let mut chunk = self
                .client
                .iter_download(&self.file)
                .chunk_size(CHUNK)
                .skip_chunks(self.next);
            self.fetches
                .push_back(tokio::spawn(async move { chunk.next().await }));
            self.next += 1;
        }
    }

    /// The oldest chunk requested: its bytes, `None` when it is empty (the file ended at the
    /// chunk before), or the RPC error. `None` too when nothing is in flight.
    async fn next(&mut self) -> Result<Option<Vec<u8>>, InvocationError> {
        let Some(fetch) = self.fetches.pop_front() else {
            return Ok(None);
        };
        match fetch.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(InvocationError::Io(std::io::Error::other(e))),
        }
    }
}

impl Drop for ChunkWindow {
    fn drop(&mut self) {
        for fetch in &self.fetches {
            fetch.abort();
        }
    }
}

/// Bytes written between two `fdatasync`s during a download, so that the final `fsync` has
/// little left to flush: on the bench machine flushing 50 MB at the end took ~50 ms, a third
/// of the whole download at the target rate, while flushing as it goes overlaps the transfer.
const SYNC_EVERY: u64 = 8 * 1024 * 1024;

/// Writes chunks in order on the blocking pool, one write in flight while the next chunk is
/// awaited. The chunk's buffer moves to the write (tokio's `File` would copy it into its own
/// buffer first); every [`SYNC_EVERY`] bytes the write also flushes the file to disk.
struct ChunkWriter {
    file: Option<std::fs::File>,
    pending: Option<JoinHandle<std::io::Result<std::fs::File>>>,
    unsynced: u64,
}

impl ChunkWriter {
    fn new(file: std::fs::File) -> Self {
        Self {
            file: Some(file),
            pending: None,
            unsynced: 0,
        }
    }

    /// The file back from the write in flight, if any; its error if it failed.
    async fn settle(&mut self) -> std::io::Result<std::fs::File> {
        if let Some(pending) = self.pending.take() {
            return pending.await.map_err(std::io::Error::other)?;
        }
        self.file
            .take()
            .ok_or_else(|| std::io::Error::other("chunk writer used after a failure"))
    }

    /// Waits for the previous write, then starts writing `chunk`. Errors: the previous write's.
    async fn write(&mut self, chunk: Vec<u8>) -> std::io::Result<()> {
        let mut file = self.settle().await?;
        self.unsynced += chunk.len() as u64;
        let sync = self.unsynced >= SYNC_EVERY;
        if sync {
            self.unsynced = 0;
        }
        self.pending = Some(tokio::task::spawn_blocking(move || {
            std::io::Write::write_all(&mut file, &chunk)?;
            if sync {
                file.sync_data()?;
            }
            Ok(file)
        }));
        Ok(())
    }

    /// Waits for the last write and fsyncs the file.
    async fn finish(&mut self) -> std::io::Result<()> {
        let file = self.settle().await?;
        tokio::task::spawn_blocking(move || file.sync_all())
            .await
            .map_err(std::io::Error::other)?
    }
}

impl Telegram {
    /// Downloads a file to `dest`: chunks are written to `dest.part`, flushed and fsynced, then
    /// renamed, so `dest` only ever exists complete. An expired file reference is refreshed
    /// once from the message the `file_id` came from. Returns the number of bytes written.
    ///
    /// Errors: [`TelegramError::Io`] for disk failures, RPC errors (`FILE_REFERENCE_EXPIRED`
    /// when it cannot be refreshed, `FILE_ID_INVALID`), [`TelegramError::Network`].
    pub async fn download(&self, file: &FileId, dest: &Path) -> Result<u64, TelegramError> {
        let mut tmp = dest.as_os_str().to_owned();
        tmp.push(".part");
        let tmp = PathBuf::from(tmp);
        let result = self.download_to(file, &tmp).await;
        match result {
            Ok(written) => {
                tokio::fs::rename(&tmp, dest).await?;
                Ok(written)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }

    /// Fetches the chunks of `file` into a new file at `tmp`, flushed and fsynced. Writes in
    /// chunk order while up to [`DOWNLOAD_WINDOW`] later chunks are on their way; after an
    /// expired reference the download resumes at the chunk that failed.
    async fn download_to(&self, file: &FileId, tmp: &Path) -> Result<u64, TelegramError> {
        let mut out = ChunkWriter::new(tokio::fs::File::create(tmp).await?.into_std().await);
        let mut current = file.clone();
        let mut refreshed = false;
        let mut written: u64 = 0;
        // One request until a full chunk shows the file is bigger than one.
        let mut width = 1;
        'restart: loop {
            let first = (written / CHUNK as u64) as i32;
            let mut window = ChunkWindow::new(&self.client, &current, first);
            window.fill(width);
            loop {
                let chunk = match window.next().await {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => break 'restart,
                    Err(e) if is_expired_reference(&e) && !refreshed => {
                        // The later requests carry the same reference: stop them first.
                        drop(window);
                        current = self.refresh_file_reference(&current).await?;
                        refreshed = true;
                        continue 'restart;
                    }
                    Err(e) => return Err(e.into()),
                };
                let last = chunk.len() < CHUNK as usize;
                if !last {
                    // Ask for more before writing, so the DC works while the disk does.
                    width = DOWNLOAD_WINDOW;
                    window.fill(width);
                }
                written += chunk.len() as u64;
                out.write(chunk).await?;
                if last {
                    break 'restart;
                }
            }
        }
        out.finish().await?;
        Ok(written)
    }

    /// A copy of `file` with a fresh file reference, read from the message it came from.
    /// Errors: `FILE_REFERENCE_EXPIRED` when the `file_id` has no origin or the message is gone.
    pub async fn refresh_file_reference(&self, file: &FileId) -> Result<FileId, TelegramError> {
        let expired = || TelegramError::Rpc {
            code: 400,
            name: "FILE_REFERENCE_EXPIRED".into(),
            value: None,
        };
        let (chat_id, message_id) = file.origin.ok_or_else(expired)?;
        let peer = self.resolve_chat(&ChatIdParam::Id(chat_id)).await?;
        let raw = self
            .get_raw_message(peer, message_id)
            .await?
            .ok_or_else(expired)?;
        let tl::enums::Message::Message(m) = raw else {
            return Err(expired());
        };
        let fresh = m
            .media
            .as_ref()
            .and_then(|media| received(media, file.origin))
            .filter(|r| r.file.id == file.id)
            .ok_or_else(expired)?;
        Ok(FileId {
            file_reference: fresh.file.file_reference,
            ..file.clone()
        })
    }
}
