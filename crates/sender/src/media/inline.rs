//! Files inlined in a JSON body, as the previous service accepted them: a `data:` URI
//! (`data:audio/ogg;base64,T2dnUw…`) or bare base64 of a file whose type its magic bytes show.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use crate::error::ApiError;
use crate::upload::{Upload, UploadWriter, WriteError};

/// Standard and URL-safe alphabets, padding optional.
const STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decoded inline bytes and their declared MIME type.
#[derive(Debug, PartialEq, Eq)]
pub struct Inline {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The `data:` URI's media type, if given.
    pub mime_type: Option<String>,
}

/// Parses `data:[<mediatype>][;base64],<data>`; `None` if `value` is not a data URI.
/// Errors: 400 "wrong file identifier/HTTP URL specified" for a malformed one.
pub fn data_uri(value: &str) -> Option<Result<Inline, ApiError>> {
    let rest = value
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("data:"))
        .map(|_| &value[5..])?;
    let Some((header, data)) = rest.split_once(',') else {
        return Some(Err(wrong_file()));
    };
    let mut parts = header.split(';');
    let mime_type = parts
        .next()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned);
    let is_base64 = parts.any(|p| p.trim().eq_ignore_ascii_case("base64"));
    let bytes = if is_base64 {
        decode(data)
    } else {
        Some(
            form_urlencoded::parse(format!("x={}", data.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned().into_bytes())
                .unwrap_or_default(),
        )
    };
    Some(
        bytes
            .map(|bytes| Inline { bytes, mime_type })
            .ok_or_else(wrong_file),
    )
}

/// Bare base64 (standard or URL-safe, padding optional, whitespace ignored) whose decoded
/// bytes `infer` recognises by their magic numbers, or that are plain UTF-8 text (a CSV or
/// `.txt` document, as the Python service took them; `text/plain`). Anything else is `None`,
/// so that a mistyped `file_id` (also base64url, decoding to binary) is not uploaded as garbage.
pub fn bare_base64(value: &str) -> Option<Inline> {
    let bytes = decode(value)?;
    let mime_type = match infer::get(&bytes) {
        Some(kind) => kind.mime_type(),
        None if is_plain_text(&bytes) => "text/plain",
        None => return None,
    };
    Some(Inline {
        bytes,
        mime_type: Some(mime_type.to_owned()),
    })
}

/// UTF-8 without control characters other than tab, line feed and carriage return.
fn is_plain_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|text| {
        text.chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
    })
}

fn decode(data: &str) -> Option<Vec<u8>> {
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD
        .decode(&compact)
        .or_else(|_| URL_SAFE.decode(&compact))
        .ok()
        .filter(|b| !b.is_empty())
}

/// Writes inline bytes to a temporary file (so uploads have one code path), at most
/// `max_bytes` (else 413).
pub async fn store(inline: Inline, max_bytes: u64) -> Result<Upload, ApiError> {
    let mut writer = UploadWriter::create(max_bytes)
        .await
        .map_err(WriteError::into_api_error)?;
    writer
        .write(&inline.bytes)
        .await
        .map_err(WriteError::into_api_error)?;
    writer
        .finish(None, inline.mime_type)
        .await
        .map_err(WriteError::into_api_error)
}

/// 400 "Bad Request: wrong file identifier/HTTP URL specified", Telegram's answer to a file
/// parameter it cannot use.
pub fn wrong_file() -> ApiError {
    botapi::ApiError::bad_request("wrong file identifier/HTTP URL specified").into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose;

    const OGG: &[u8] = b"OggS\0\x02\0\0\0\0\0\0\0\0";

    #[test]
    fn data_uris_decode_with_their_media_type() {
        let uri = format!(
            "data:audio/ogg;base64,{}",
            general_purpose::STANDARD.encode(OGG)
        );
        let inline = data_uri(&uri).expect("a data URI").expect("valid");
        assert_eq!(inline.bytes, OGG);
        assert_eq!(inline.mime_type.as_deref(), Some("audio/ogg"));
        let plain = data_uri("data:,hello%20world")
            .expect("a data URI")
            .expect("valid");
        assert_eq!(
            (plain.bytes.as_slice(), plain.mime_type),
            (&b"hello world"[..], None)
        );
        assert!(
            data_uri("data:audio/ogg;base64")
                .expect("a data URI")
                .is_err()
        );
        assert!(data_uri("https://x").is_none());
    }

    #[test]
    fn bare_base64_needs_recognisable_content() {
        let encoded = general_purpose::STANDARD_NO_PAD.encode(OGG);
        let inline = bare_base64(&encoded).expect("ogg");
        assert_eq!(inline.mime_type.as_deref(), Some("audio/ogg"));
        assert_eq!(bare_base64("AgADBAADbad"), None);
        assert_eq!(bare_base64("not base64 at all!"), None);
        let csv = bare_base64(&general_purpose::STANDARD.encode("a,b\r\n1,2\n")).expect("text");
        assert_eq!(csv.mime_type.as_deref(), Some("text/plain"));
        assert_eq!(csv.bytes, b"a,b\r\n1,2\n");
    }
}
