//! `multipart/form-data` bodies (fixed-length or chunked): text parts become string fields,
//! file parts are streamed to temporary files as they arrive.

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use serde_json::Value;

use super::{MAX_FIELD_BYTES, RawParams};
use crate::error::ApiError;
use crate::upload::{UploadWriter, WriteError};

/// Reads every part of the body; files over `max_upload_bytes` → 413.
pub(super) async fn read(req: Request, max_upload_bytes: u64) -> Result<RawParams, ApiError> {
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|rejection| malformed(rejection.body_text()))?;
    let mut raw = RawParams::default();
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let Some(name) = field.name().filter(|n| !n.is_empty()).map(str::to_owned) else {
            continue;
        };
        if is_file(&field) {
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let mut writer = UploadWriter::create(max_upload_bytes)
                .await
                .map_err(WriteError::into_api_error)?;
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                writer
                    .write(&chunk)
                    .await
                    .map_err(WriteError::into_api_error)?;
            }
            let upload = writer
                .finish(file_name, content_type)
                .await
                .map_err(WriteError::into_api_error)?;
            raw.files.insert(name, upload);
        } else {
            let text = read_text(&mut field, &name).await?;
            if !text.is_empty() {
                raw.fields.insert(name, Value::String(text));
            }
        }
    }
    Ok(raw)
}

/// A part is a file when it has a file name, or a Content-Type that is not text or JSON
/// (some clients send JSON-valued parameters as `application/json` parts).
fn is_file(field: &Field<'_>) -> bool {
    if field.file_name().is_some() {
        return true;
    }
    field.content_type().is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        !(t.starts_with("text/") || t.starts_with("application/json"))
    })
}

async fn read_text(field: &mut Field<'_>, name: &str) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_FIELD_BYTES {
            return Err(ApiError::too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| {
        botapi::ApiError::bad_request(format_args!("field \"{name}\" is not valid UTF-8")).into()
    })
}

fn multipart_error(error: MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large()
    } else {
        malformed(error.body_text())
    }
}

fn malformed(detail: String) -> ApiError {
    botapi::ApiError::bad_request(format_args!(
        "can't parse multipart/form-data body: {detail}"
    ))
    .into()
}
