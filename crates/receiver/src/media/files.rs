//! The file service behind `/media/<name>`: tower-http's `ServeDir` (Content-Type from the
//! extension, conditional requests, no listing, no `..`), held inside the media directory by
//! [`Confined`], with the `Range` header brought to RFC 9110 §14 before `ServeDir` reads it.
//!
//! `ServeDir` alone answers 416 to an invalid or multi-range `Range` and to a suffix longer
//! than the file, and follows symlinks wherever they lead. Here: a `Range` that is invalid,
//! names another unit, holds several ranges or comes twice is ignored (200, the whole file);
//! one satisfiable range is 206 with `Content-Range`; one unsatisfiable range is 416 with
//! `Content-Range: bytes */<len>`. HEAD answers what GET answers, without the body (RFC 9110
//! §9.3.2), its `Range` included, as `ServeDir`, nginx and Apache do — §14.2 defines range
//! handling for GET only and says to ignore `Range` on other methods; removing it for HEAD in
//! [`serve`] would follow that instead. Every path that resolves outside the directory (a
//! symlink to `/etc/passwd`, to a sibling directory, through a symlinked directory) is 404.
//!
//! Deliberately absent: multipart/byteranges (RFC 9110 §14.6) and `If-Range` (§13.1.5): media
//! files never change under their name, so a validator can only match.

use std::io;
use std::path::{Path, PathBuf};

use axum::body::HttpBody as _;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse as _, Response};
use futures::future::BoxFuture;
use http_range_header::{EndPosition, RangeUnsatisfiableError, StartPosition};
use tower_http::services::ServeDir;
use tower_http::services::fs::{
    Backend, DefaultServeDirFallback, File as _, TokioBackend, TokioFile,
};
use tracing::{error, warn};

/// `ServeDir` on the media directory, confined to it.
pub type Files = ServeDir<DefaultServeDirFallback, Confined>;

/// The `ServeDir` for `dir`: no `index.html`, multi-range requests served whole.
pub fn files(dir: &Path) -> Files {
    ServeDir::with_backend(dir, Confined::new(dir))
        .append_index_html_on_directories(false)
        .ignore_multi_range_requests(true)
}

/// Answers one request for a media file (GET or HEAD; other methods get 405 from `ServeDir`).
pub async fn serve(State(files): State<Files>, mut request: Request) -> Response {
    let range = normalize_range(request.headers_mut());
    // A suffix longer than the file selects all of it (RFC 9110 §14.1.1); ServeDir answers
    // 416, so the request is repeated as `bytes=0-` then. Requests have no body here.
    let whole = (range == RangeHeader::Suffix).then(|| {
        let mut again = Request::new(axum::body::Body::empty());
        *again.method_mut() = request.method().clone();
        *again.uri_mut() = request.uri().clone();
        *again.headers_mut() = request.headers().clone();
        again
            .headers_mut()
            .insert(RANGE, HeaderValue::from_static("bytes=0-"));
        again
    });
    let mut response = call(files.clone(), request).await;
    if let Some(again) = whole
        && response.status() == StatusCode::RANGE_NOT_SATISFIABLE
        && !is_empty_representation(response.headers())
    {
        response = call(files, again).await;
    }
    response
}

/// `ServeDir`'s answer, its errors as `ServeDir`'s own `Service` impl renders them.
async fn call(mut files: Files, request: Request) -> Response {
    match files.try_call(request).await {
        Ok(response) => response.into_response(),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::PermissionDenied
                    | io::ErrorKind::NotADirectory
            ) =>
        {
            StatusCode::NOT_FOUND.into_response()
        }
        Err(e) => {
            error!(error = %e, "cannot read a media file");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Whether a 416's `Content-Range` is `bytes */0`: nothing to select, whatever the range.
fn is_empty_representation(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_RANGE).is_some_and(|v| v == "bytes */0")
}

/// Sets `Content-Length` from a body of known size when it is missing (the 404 and 416
/// answers): hyper adds it for GET from the body but cannot for HEAD, whose answer must carry
/// the same header fields (RFC 9110 §9.3.2). Never on 1xx, 204 or 304.
pub async fn set_content_length(mut response: Response) -> Response {
    let status = response.status();
    if response.headers().contains_key(CONTENT_LENGTH)
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return response;
    }
    if let Some(len) = response.body().size_hint().exact() {
        response.headers_mut().insert(CONTENT_LENGTH, len.into());
    }
    response
}

/// What [`normalize_range`] left for `ServeDir`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeHeader {
    /// No `Range`, or one that was removed: the whole file (200).
    Absent,
    /// One range of positions (`bytes=2-5`, `bytes=7-`), or `bytes=-0`, which is valid but
    /// never satisfiable (RFC 9110 §14.1.1): 206 or 416.
    Single,
    /// One suffix range (`bytes=-500`): its last bytes, all of them if it is shorter.
    Suffix,
}

/// Removes a `Range` header `ServeDir` must not see, per RFC 9110 §14.2: one that is not
/// `bytes=` followed by one valid range (a server MAY ignore an invalid ranges-specifier, MUST
/// ignore a range unit it does not know; multipart/byteranges is not offered, so several
/// ranges are ignored too), one with `last-pos < first-pos` (invalid, §14.1.1), one that is
/// not visible ASCII, and any `Range` given twice (it is a singleton field, §5.3).
pub fn normalize_range(headers: &mut HeaderMap) -> RangeHeader {
    let mut values = headers.get_all(RANGE).iter();
    let kept = match (values.next(), values.next()) {
        (None, _) => return RangeHeader::Absent,
        (Some(value), None) => value.to_str().ok().and_then(classify),
        (Some(_), Some(_)) => None,
    };
    kept.unwrap_or_else(|| {
        headers.remove(RANGE);
        RangeHeader::Absent
    })
}

/// The kind of a `Range` value `ServeDir` may see, or `None` when it is to be ignored. Parsed
/// by `http-range-header`, the parser `ServeDir` itself uses.
fn classify(value: &str) -> Option<RangeHeader> {
    match http_range_header::parse_range_header(value) {
        Ok(parsed) => match parsed.ranges.as_slice() {
            [one] => match (one.start, one.end) {
                (StartPosition::Index(first), EndPosition::Index(last)) if last < first => None,
                (StartPosition::FromLast(_), _) => Some(RangeHeader::Suffix),
                (StartPosition::Index(_), _) => Some(RangeHeader::Single),
            },
            _ => None,
        },
        // `bytes=-0` alone: syntax the parser refuses, but a valid, unsatisfiable range.
        Err(RangeUnsatisfiableError::ZeroSuffix) if !value.contains(',') => {
            Some(RangeHeader::Single)
        }
        Err(_) => None,
    }
}

/// `ServeDir`'s file system access, refusing (as not found) every path that resolves outside
/// the media directory: symlinks to elsewhere, paths through symlinked directories.
///
/// The check runs on what was actually opened: the opened file's device and inode must be
/// those of its canonical path, so swapping a symlink in between is caught too (Unix). A hard
/// link is a file of the directory like any other and is served.
#[derive(Clone, Debug)]
pub struct Confined {
    root: PathBuf,
}

impl Confined {
    /// Confines to `root` (canonicalized on every request, so a moved mount is followed).
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
        }
    }
}

impl Backend for Confined {
    type File = TokioFile;
    type Metadata = std::fs::Metadata;
    type OpenFuture = BoxFuture<'static, io::Result<TokioFile>>;
    type MetadataFuture = BoxFuture<'static, io::Result<std::fs::Metadata>>;

    fn open(&self, path: PathBuf) -> Self::OpenFuture {
        let root = self.root.clone();
        Box::pin(async move {
            let file = TokioBackend.open(path.clone()).await?;
            let opened = file.metadata().await?;
            confine(&root, &path, &opened).await?;
            Ok(file)
        })
    }

    fn metadata(&self, path: PathBuf) -> Self::MetadataFuture {
        let root = self.root.clone();
        Box::pin(async move {
            let found = tokio::fs::metadata(&path).await?;
            confine(&root, &path, &found).await?;
            Ok(found)
        })
    }
}

/// `Ok` when `path` resolves inside `root` to the file `seen` describes; `NotFound` otherwise.
async fn confine(root: &Path, path: &Path, seen: &std::fs::Metadata) -> io::Result<()> {
    let root = tokio::fs::canonicalize(root).await?;
    let real = tokio::fs::canonicalize(path).await?;
    // `real` holds no symlink: its metadata is that of the file it names.
    let there = tokio::fs::metadata(&real).await?;
    if real.starts_with(&root) && same_file(&there, seen) {
        return Ok(());
    }
    warn!(path = ?path, "refused a media path that resolves outside MEDIA_DIR");
    Err(io::ErrorKind::NotFound.into())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

/// Without inode numbers, the canonical path is the whole check.
#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(values: &[&str]) -> (RangeHeader, Vec<String>) {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(RANGE, HeaderValue::from_str(value).expect("header value"));
        }
        let kind = normalize_range(&mut headers);
        let left = headers
            .get_all(RANGE)
            .iter()
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .collect();
        (kind, left)
    }

    #[test]
    fn invalid_multiple_and_foreign_ranges_are_removed() {
        for value in [
            "garbage",
            "bytes=abc",
            "bytes=0-1,5-6",
            "bytes=5-2",
            "items=0-1",
            "bytes=0-1,-0",
            "",
        ] {
            assert_eq!(
                normalized(&[value]),
                (RangeHeader::Absent, vec![]),
                "{value}"
            );
        }
        assert_eq!(
            normalized(&["bytes=0-1", "bytes=2-3"]),
            (RangeHeader::Absent, vec![])
        );
        assert_eq!(normalized(&[]), (RangeHeader::Absent, vec![]));
    }

    #[test]
    fn one_range_is_kept_as_is() {
        for (value, kind) in [
            ("bytes=2-5", RangeHeader::Single),
            ("bytes=7-", RangeHeader::Single),
            ("bytes=100-200", RangeHeader::Single),
            ("bytes=-0", RangeHeader::Single),
            ("bytes=-3", RangeHeader::Suffix),
        ] {
            assert_eq!(normalized(&[value]), (kind, vec![value.to_owned()]));
        }
    }
}
