//! File parameters of the media methods (`photo`, `voice`, …), accepted every way the Bot API
//! accepts them, plus the inline forms the previous service took.
//!
//! Modules: `fetch` (HTTP(S) URLs), `guard` (which addresses a URL may reach), `inline`
//! (`data:` URIs and base64), `probe` (MIME type and attributes read from the file).

pub mod fetch;
pub mod guard;
pub mod inline;
pub mod probe;

use telegram::media::{FileId, MediaKind};

use crate::error::ApiError;
use crate::upload::{Files, Upload};
use fetch::UrlFetcher;

/// A file parameter, resolved.
#[derive(Debug)]
pub enum InputFile {
    /// Bytes on local disk, to upload (removed when dropped).
    Local(Upload),
    /// A file Telegram already has.
    Existing(FileId),
}

/// Resolves the file parameter `param` (e.g. `voice`) whose string value is `value`:
///
/// 1. no value: the multipart part named `param`;
/// 2. `attach://<name>`: the part named `<name>`;
/// 3. `http://…` / `https://…`: downloaded by `fetcher` (address checks, size cap, timeout);
/// 4. `data:…`: a data URI;
/// 5. a `file_id` ([`FileId::decode`]);
/// 6. bare base64 of a file whose type its magic bytes show, or of plain UTF-8 text.
///
/// Errors (400 unless said): "there is no {param} in the request"; "wrong file
/// identifier/HTTP URL specified" for anything else unusable; "failed to get HTTP URL
/// content: …" for URLs; 413 for inline files over `max_bytes`.
pub async fn resolve(
    param: &str,
    value: Option<&str>,
    files: &mut Files,
    fetcher: &UrlFetcher,
    max_bytes: u64,
) -> Result<InputFile, ApiError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return files
            .remove(param)
            .map(InputFile::Local)
            .ok_or_else(|| no_file(param));
    };
    if let Some(name) = value.strip_prefix("attach://") {
        return files
            .remove(name)
            .map(InputFile::Local)
            .ok_or_else(|| no_file(&format!("file attach://{name}")));
    }
    let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return fetcher
            .fetch(value)
            .await
            .map(InputFile::Local)
            .map_err(fetch::FetchError::into_api_error);
    }
    if let Some(parsed) = inline::data_uri(value) {
        return Ok(InputFile::Local(inline::store(parsed?, max_bytes).await?));
    }
    if let Ok(file) = FileId::decode(value) {
        return Ok(InputFile::Existing(file));
    }
    match inline::bare_base64(value) {
        Some(parsed) => Ok(InputFile::Local(inline::store(parsed, max_bytes).await?)),
        None => Err(inline::wrong_file()),
    }
}

/// 400 "there is no {what} in the request", Telegram's answer to a missing file.
fn no_file(what: &str) -> ApiError {
    botapi::ApiError::bad_request(format_args!("there is no {what} in the request")).into()
}

/// Refuses to send a photo `file_id` as a document kind or the reverse, as Telegram does
/// (400 "type of file mismatch"); document kinds may be resent as one another.
pub fn check_kind(requested: MediaKind, file: &FileId) -> Result<(), ApiError> {
    if (requested == MediaKind::Photo) == file.is_photo() {
        Ok(())
    } else {
        Err(botapi::ApiError::bad_request("type of file mismatch").into())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::upload::UploadWriter;
    use fetch::FetchConfig;

    fn fetcher() -> UrlFetcher {
        UrlFetcher::new(FetchConfig {
            allow_private: false,
            max_bytes: 1024,
            timeout: Duration::from_secs(1),
        })
        .expect("client")
    }

    async fn upload(bytes: &[u8]) -> Upload {
        let mut writer = UploadWriter::create(1024).await.expect("create");
        writer.write(bytes).await.expect("write");
        writer.finish(None, None).await.expect("finish")
    }

    async fn description(param: &str, value: Option<&str>, files: &mut Files) -> String {
        resolve(param, value, files, &fetcher(), 1024)
            .await
            .expect_err("refused")
            .0
            .description
    }

    #[tokio::test]
    async fn parts_are_found_by_name_or_attach_reference() {
        let mut files = Files::new();
        files.insert("voice".into(), upload(b"a").await);
        files.insert("clip".into(), upload(b"b").await);
        let direct = resolve("voice", None, &mut files, &fetcher(), 1024).await;
        assert!(matches!(direct, Ok(InputFile::Local(u)) if u.size == 1));
        let attached = resolve("voice", Some("attach://clip"), &mut files, &fetcher(), 1024).await;
        assert!(matches!(attached, Ok(InputFile::Local(_))));
        assert_eq!(
            description("voice", None, &mut files).await,
            "Bad Request: there is no voice in the request"
        );
        assert_eq!(
            description("voice", Some("attach://gone"), &mut files).await,
            "Bad Request: there is no file attach://gone in the request"
        );
    }

    #[tokio::test]
    async fn bad_identifiers_and_private_urls_are_refused() {
        let mut files = Files::new();
        for value in ["AgADBAADbad", "ftp://example.com/x", "data:nocomma"] {
            assert_eq!(
                description("photo", Some(value), &mut files).await,
                "Bad Request: wrong file identifier/HTTP URL specified",
                "{value}"
            );
        }
        let refused = description("photo", Some("http://127.0.0.1:9/x.jpg"), &mut files).await;
        assert!(
            refused.starts_with("Bad Request: failed to get HTTP URL content: 127.0.0.1 resolves")
                && refused.contains("ALLOW_PRIVATE_URLS"),
            "{refused}"
        );
    }
}
