//! Uploading a file from disk in 512 KiB parts with several parts in flight.
//!
//! grammers' `Client::upload_stream` reads each part into a freshly allocated buffer through
//! tokio's `File` (a second copy through its blocking-pool buffer), sends a file of up to 10 MiB
//! one part at a time (a full round trip per part) and a bigger one with exactly 4 parts in
//! flight, whatever the caller's limit. Here each part is read with one positional read
//! (`pread`) straight into a buffer that is reused once its part is acknowledged, up to `window`
//! parts are in flight for any file, and the memory an upload holds is `window + 1` part
//! buffers whatever the file's size (plus the copies grammers makes while serializing and
//! encrypting a part in flight).

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::Arc;

use grammers_client::{Client, InvocationError};
use grammers_tl_types as tl;
use tokio::task::JoinSet;

use crate::TelegramError;

/// Part size: the largest Telegram accepts (512 KiB), which divides 512 KiB as it must.
pub(crate) const PART: usize = 512 * 1024;
/// Above this size a file is uploaded as a big file (`upload.saveBigFilePart`, no MD5), as
/// Telegram requires (<https://core.telegram.org/api/files>, "Uploading files": files over
/// 10 MB).
pub(crate) const BIG_FILE_SIZE: u64 = 10 * 1024 * 1024;
/// Parts one upload keeps in flight when the upload limit allows. Measured with
/// `bench --only media` (BENCHMARKS.md, "Issue #20 (session 6)"): 4 → 8 parts raised a 50 MB
/// upload on loopback; more did not.
pub const UPLOAD_WINDOW: usize = 8;

/// What an upload loop did, for callers that check its memory bound.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PartStats {
    /// Parts sent.
    pub(crate) parts: i32,
    /// Part buffers allocated over the whole upload (each [`PART`] bytes): at most
    /// `window + 1`, whatever the file's size.
    pub(crate) buffers: usize,
}

/// Reads `size` bytes of the file at `path` in [`PART`]-sized parts, in order, and hands part
/// `k` to `send(k, bytes)`, with up to `window` (at least 1) sends running at once as tasks.
/// A send returns the part's buffer for the next read. `consume` sees every part in order
/// before it is sent (the MD5 of a small file).
///
/// Errors: [`TelegramError::Io`] when the file cannot be read or is shorter than `size`; the
/// first error a send returns (the remaining sends are aborted).
pub(crate) async fn send_parts<S, F>(
    path: &Path,
    size: u64,
    window: usize,
    mut consume: impl FnMut(&[u8]),
    send: S,
) -> Result<PartStats, TelegramError>
where
    S: Fn(i32, Vec<u8>) -> F,
    F: Future<Output = Result<Vec<u8>, TelegramError>> + Send + 'static,
{
    let window = window.max(1);
    let file = Arc::new(tokio::fs::File::open(path).await?.into_std().await);
    let total = total_parts(size);
    let mut stats = PartStats::default();
    let mut free: Vec<Vec<u8>> = Vec::new();
    let mut in_flight = JoinSet::new();
    for part in 0..total {
        let offset = part as u64 * PART as u64;
        let len = (size - offset).min(PART as u64) as usize;
        let buffer = free.pop().unwrap_or_else(|| {
            stats.buffers += 1;
            Vec::with_capacity(PART)
        });
        // Read before waiting for a slot, so the disk works while the parts are in flight.
        let buffer = read_at(Arc::clone(&file), buffer, offset, len).await?;
        consume(&buffer);
        if in_flight.len() >= window
            && let Some(done) = in_flight.join_next().await
        {
            free.push(joined(done)?);
        }
        // Each part's flood wait, if any, goes back to the caller's `watch_floods`.
        in_flight.spawn(crate::error::watch_floods(send(part, buffer)));
        stats.parts += 1;
    }
    while let Some(done) = in_flight.join_next().await {
        joined(done)?;
    }
    Ok(stats)
}

/// Number of parts of a `size`-byte file.
pub(crate) fn total_parts(size: u64) -> i32 {
    size.div_ceil(PART as u64) as i32
}

/// What a part's send task gives back: its buffer or error, and the flood wait it met.
type PartDone = (Result<Vec<u8>, TelegramError>, Option<crate::error::Flood>);

/// A finished send task's buffer, or its error (a flood wait it met is passed on to the
/// caller's [`crate::error::watch_floods`]); a panic is resumed.
fn joined(done: Result<PartDone, tokio::task::JoinError>) -> Result<Vec<u8>, TelegramError> {
    match done {
        Ok((result, flood)) => {
            crate::error::pass_flood(flood);
            result
        }
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(TelegramError::Network(e.to_string())),
    }
}

/// `len` bytes at `offset` into `buffer` (resized to `len`; a reused buffer is not zeroed
/// first), with one positional read on the blocking pool. Errors: the read's, or
/// `UnexpectedEof` when the file is shorter.
async fn read_at(
    file: Arc<File>,
    mut buffer: Vec<u8>,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>, TelegramError> {
    let read = tokio::task::spawn_blocking(move || {
        buffer.resize(len, 0);
        file.read_exact_at(&mut buffer, offset).map(|()| buffer)
    })
    .await
    .map_err(|e| TelegramError::Io(std::io::Error::other(e)))?;
    Ok(read?)
}

/// Uploads the `size`-byte file at `path` to Telegram with up to `window` parts in flight and
/// returns the `InputFile` naming it (`name` as given, `a` when empty, as grammers does).
///
/// Errors: [`TelegramError::Io`] for the file; RPC errors as Telegram gives them
/// (`FILE_PART_INVALID`, `FILE_PARTS_INVALID`, …); [`TelegramError::Unexpected`] when Telegram
/// answers `false` to a part.
pub(crate) async fn upload_file(
    client: &Client,
    path: &Path,
    size: u64,
    window: usize,
    name: &str,
) -> Result<(tl::enums::InputFile, PartStats), TelegramError> {
    let file_id = rand::random::<i64>();
    let name = if name.is_empty() { "a" } else { name }.to_owned();
    let total = total_parts(size);
    if size > BIG_FILE_SIZE {
        let stats = send_parts(
            path,
            size,
            window,
            |_| {},
            |file_part, bytes| {
                let client = client.clone();
                async move {
                    let request = tl::functions::upload::SaveBigFilePart {
                        file_id,
                        file_part,
                        file_total_parts: total,
                        bytes,
                    };
                    stored(client.invoke(&request).await)?;
                    Ok(request.bytes)
                }
            },
        )
        .await?;
        let file = tl::types::InputFileBig {
            id: file_id,
            parts: total,
            name,
        };
        Ok((file.into(), stats))
    } else {
        let mut md5 = md5::Context::new();
        let stats = send_parts(
            path,
            size,
            window,
            |bytes| md5.consume(bytes),
            |file_part, bytes| {
                let client = client.clone();
                async move {
                    let request = tl::functions::upload::SaveFilePart {
                        file_id,
                        file_part,
                        bytes,
                    };
                    stored(client.invoke(&request).await)?;
                    Ok(request.bytes)
                }
            },
        )
        .await?;
        let file = tl::types::InputFile {
            id: file_id,
            parts: total,
            name,
            md5_checksum: format!("{:x}", md5.finalize()),
        };
        Ok((file.into(), stats))
    }
}

/// A part's answer: `true` is stored; `false` (which Telegram does not document) is an error.
fn stored(answer: Result<bool, InvocationError>) -> Result<(), TelegramError> {
    match answer {
        Ok(true) => Ok(()),
        Ok(false) => Err(TelegramError::Unexpected(
            "Telegram did not store a file part".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A sparse file of `size` bytes whose part `k` starts with the byte `k`.
    fn sparse(size: u64) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        file.as_file().set_len(size).unwrap();
        for part in 0..total_parts(size) {
            let offset = part as u64 * PART as u64;
            file.as_file().write_all_at(&[part as u8], offset).unwrap();
        }
        file
    }

    #[tokio::test]
    async fn a_2000_mb_file_goes_through_a_bounded_number_of_buffers() {
        let size = 2000 * 1000 * 1000;
        let file = sparse(size);
        let sent = Arc::new(AtomicUsize::new(0));
        let bytes = Arc::new(AtomicUsize::new(0));
        let stats = send_parts(
            file.path(),
            size,
            8,
            |_| {},
            |part, buffer| {
                let (sent, bytes) = (Arc::clone(&sent), Arc::clone(&bytes));
                async move {
                    assert_eq!(buffer[0], part as u8, "part {part} read from its offset");
                    sent.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(buffer.len(), Ordering::Relaxed);
                    tokio::task::yield_now().await;
                    Ok(buffer)
                }
            },
        )
        .await
        .unwrap();
        assert_eq!(stats.parts, 3815);
        assert_eq!(sent.load(Ordering::Relaxed), 3815);
        assert_eq!(bytes.load(Ordering::Relaxed) as u64, size);
        // 3,815 parts through at most 9 buffers of 512 KiB: the file is never held whole.
        assert!(stats.buffers <= 9, "{} buffers", stats.buffers);
    }

    #[tokio::test]
    async fn parts_come_in_order_and_a_short_file_is_an_error() {
        let size = 3 * PART as u64 + 10;
        let file = sparse(size);
        let mut seen = Vec::new();
        let stats = send_parts(
            file.path(),
            size,
            2,
            |bytes| seen.push((bytes[0], bytes.len())),
            |_, buffer| async move { Ok(buffer) },
        )
        .await
        .unwrap();
        assert_eq!(seen, [(0, PART), (1, PART), (2, PART), (3, 10)]);
        assert_eq!(stats.parts, 4);
        assert!(stats.buffers <= 3);

        let short = send_parts(
            file.path(),
            size + 1,
            2,
            |_| {},
            |_, b| async move { Ok(b) },
        )
        .await;
        assert!(
            matches!(short, Err(TelegramError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof)
        );
    }

    #[tokio::test]
    async fn the_first_failed_part_fails_the_upload() {
        let size = 5 * PART as u64;
        let file = sparse(size);
        let result = send_parts(
            file.path(),
            size,
            2,
            |_| {},
            |part, buffer| async move {
                if part == 2 {
                    Err(TelegramError::Unexpected("refused".into()))
                } else {
                    Ok(buffer)
                }
            },
        )
        .await;
        assert!(matches!(result, Err(TelegramError::Unexpected(_))));
    }
}
