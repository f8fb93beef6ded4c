//! Files: `getFile` and the two download routes that stream a file from Telegram,
//! `GET /file/bot<token>/<file_path>` (the Bot API's layout) and
//! `GET /api_v1/file/<file_path>` (with `x-api-key`).
//!
//! `file_path` is `<folder>/<file_id>[.<ext>]`: it encodes the `file_id`, so no table is kept
//! and a path works as long as its `file_id` does (not just for one hour), across restarts.
//! Files are downloaded to a temporary file, then streamed and deleted; there is no 20 MB
//! limit.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use botapi::RpcContext;
use botapi::types::File;
use futures::stream;
use serde::Deserialize;
use telegram::media::{FileId, MediaKind};
use tokio::io::AsyncReadExt;

use crate::error::{ApiError, ApiResult, TelegramResultExt, ok};
use crate::extract::BotRequest;
use crate::state::{AppState, ServerState};

/// Bytes per streamed chunk.
const STREAM_CHUNK: usize = 256 * 1024;

/// Parameters of `getFile`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GetFile {
    /// A `file_id` from a received or sent message.
    pub file_id: String,
}

/// Folder and extension of a file path, as Telegram names them.
fn folder(kind: MediaKind) -> (&'static str, &'static str) {
    match kind {
        MediaKind::Photo => ("photos", ".jpg"),
        MediaKind::Voice => ("voice", ".oga"),
        MediaKind::Audio => ("music", ""),
        MediaKind::Video => ("videos", ".mp4"),
        MediaKind::VideoNote => ("video_notes", ".mp4"),
        MediaKind::Animation => ("animations", ".mp4"),
        MediaKind::Document => ("documents", ""),
        MediaKind::Sticker => ("stickers", ".webp"),
    }
}

/// The `file_path` of a file: `<folder>/<file_id><ext>`.
pub fn file_path(file_id: &str, kind: MediaKind) -> String {
    let (dir, ext) = folder(kind);
    format!("{dir}/{file_id}{ext}")
}

/// The file a `file_path` names: its last segment up to the first `.`.
pub fn parse_file_path(path: &str) -> Option<FileId> {
    let name = path.rsplit('/').next()?;
    let id = name.split('.').next()?;
    FileId::decode(id).ok()
}

fn invalid_file_id() -> ApiError {
    botapi::ApiError::bad_request("invalid file_id").into()
}

/// `GET|POST /api_v1/getFile` → File with `file_id`, `file_unique_id`, `file_size` (when the
/// message it came from can be read) and `file_path`.
///
/// Errors: 400 "invalid file_id".
pub async fn get_file(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<GetFile>,
) -> ApiResult<File> {
    let file = FileId::decode(&req.file_id).map_err(|_| invalid_file_id())?;
    let file_size = match state.telegram.file_size(&file).await {
        Ok(size) => size,
        Err(e) => {
            tracing::debug!(error = %e, "file size unknown");
            None
        }
    };
    ok(File {
        file_unique_id: file.unique_id(),
        file_size,
        file_path: Some(file_path(req.file_id.trim(), file.kind)),
        file_id: req.file_id.trim().to_owned(),
    })
}

/// `GET /api_v1/file/{*file_path}` (behind `x-api-key`): the file's bytes.
pub async fn download_with_key(
    State(state): State<ServerState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let app = state.connection.signed_in()?;
    stream_file(&app, &path).await
}

/// `GET /file/{bot<token>}/{*file_path}`: the file's bytes; the token is `X_API_TOKEN`
/// (401 otherwise), as the Bot API puts the bot token in download URLs.
/// Checked before the session state, so a wrong token learns nothing about it. A second
/// segment without `bot` in front makes no API route: 404 "Not Found".
pub async fn download_with_token(
    State(state): State<ServerState>,
    checked: Option<axum::Extension<crate::auth::Authenticated>>,
    Path((bot_token, path)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    if !bot_token.starts_with("bot") {
        return Err(ApiError::not_found());
    }
    if checked.is_none() && !crate::auth::bot_segment_matches(&state.api_token, &bot_token) {
        return Err(botapi::ApiError::unauthorized().into());
    }
    crate::limits::admit(state.rate_limit.as_deref())?;
    let app = state.connection.signed_in()?;
    stream_file(&app, &path).await
}

/// Any other HTTP method on `/file/{segment}/…`: 405 for a download URL (`bot…`), 404 "Not
/// Found" for a path that is no API route (as [`download_with_token`] answers its GET).
pub async fn download_other_method(Path((bot_token, _)): Path<(String, String)>) -> ApiError {
    if bot_token.starts_with("bot") {
        ApiError::with_status(405, "Method Not Allowed")
    } else {
        ApiError::not_found()
    }
}

/// Downloads the file to a temporary file and streams it as `application/octet-stream`
/// with its `Content-Length`; the temporary file is deleted when the stream ends or drops.
///
/// Errors: 400 "wrong file_path" for a path that names no file; Telegram's errors
/// (`FILE_REFERENCE_EXPIRED`, `FILE_ID_INVALID`, …) through botapi's table; 500 for disk
/// failures.
async fn stream_file(state: &AppState, path: &str) -> Result<Response, ApiError> {
    let file = parse_file_path(path)
        .ok_or_else(|| ApiError::from(botapi::ApiError::bad_request("wrong file_path")))?;
    let temp = tempfile::NamedTempFile::new()
        .map_err(|e| disk_error(&e))?
        .into_temp_path();
    let size = state
        .telegram
        .download(&file, &temp)
        .await
        .or_api(RpcContext::Other)?;
    let reader = tokio::fs::File::open(&temp)
        .await
        .map_err(|e| disk_error(&e))?;
    // The stream owns the temporary path, so the file lives exactly as long as the response.
    let body = stream::unfold((reader, temp), |(mut reader, temp)| async move {
        let mut chunk = vec![0; STREAM_CHUNK];
        match reader.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok(axum::body::Bytes::from(chunk)), (reader, temp)))
            }
            Err(e) => Some((Err(e), (reader, temp))),
        }
    });
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    Ok(response)
}

fn disk_error(e: &std::io::Error) -> ApiError {
    tracing::error!(error = %e, "cannot store a downloaded file");
    botapi::ApiError::internal("cannot store the downloaded file").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_round_trip_their_file_id() {
        let file = FileId {
            kind: MediaKind::Photo,
            dc_id: 2,
            id: 42,
            access_hash: 7,
            file_reference: vec![1, 2, 3],
            origin: Some((-100, 5)),
            photo_size: "x".into(),
        };
        let path = file_path(&file.encode(), file.kind);
        assert!(
            path.starts_with("photos/") && path.ends_with(".jpg"),
            "{path}"
        );
        assert_eq!(parse_file_path(&path), Some(file));
        assert_eq!(parse_file_path("photos/not-a-file-id.jpg"), None);
    }
}
