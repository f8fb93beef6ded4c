//! Reading what the queue needs from a send request before it is stored: the whole body (to
//! replay it), the destination `chat_id` (the lane), the idempotency key, whether it is a
//! reply and whether the caller asked for the asynchronous mode. The method's own handler
//! parses the request again when the send is tried; this reads only those few fields.
//!
//! A multipart body (an upload) larger than [`SPOOL_ABOVE`] is written to a file in the
//! queue's [`Spool`] as it arrives, never held whole in memory, and its fields are read back
//! from the file; other bodies (JSON, forms) stay in memory, as their handlers parse them whole
//! anyway.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, header};
use serde_json::{Map, Value};

use super::store::StoredBody;
use crate::error::ApiError;

/// The header carrying an idempotency key (IETF draft "The Idempotency-Key HTTP Header
/// Field", as Stripe and others use it).
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The parameter carrying an idempotency key, for Bot API clients that cannot set headers.
pub const IDEMPOTENCY_FIELD: &str = "idempotency_key";

/// The parameter asking for the asynchronous mode (or `Prefer: respond-async`, RFC 7240).
pub const ASYNC_FIELD: &str = "respond_async";

/// Longest idempotency key accepted, bytes.
pub const MAX_KEY_BYTES: usize = 255;

/// A multipart body larger than this many bytes goes to a spool file.
pub const SPOOL_ABOVE: usize = 1 << 20;

/// Where large request bodies wait for their send: a directory beside the queue's file
/// (`<SEND_QUEUE_PATH>.spool/`), or, for an in-memory queue or one on Postgres, a temporary
/// directory of its own, so that two such queues never sweep each other's files. The
/// temporary directory is created with the first spooled body (most senders never spool one)
/// and removed with the last handle, so a sender that is killed, or never spools, leaves no
/// empty directory behind.
#[derive(Clone, Debug)]
pub struct Spool {
    place: Place,
}

#[derive(Clone, Debug)]
enum Place {
    Beside(PathBuf),
    Temporary(Arc<tokio::sync::OnceCell<tempfile::TempDir>>),
}

impl Spool {
    /// The spool of the queue at `queue` (not created yet: [`Spool::prepare`]); for
    /// `:memory:`, [`Spool::temporary`].
    pub fn beside(queue: &Path) -> Self {
        if queue.as_os_str() == ":memory:" {
            return Self::temporary();
        }
        let mut name = queue.as_os_str().to_owned();
        name.push(".spool");
        Self {
            place: Place::Beside(PathBuf::from(name)),
        }
    }

    /// A temporary directory of its own (`send-queue-spool-*` in the system's temporary
    /// directory), created when the first body is spooled and removed with the last handle:
    /// for a queue in memory, and for one on Postgres (whose rows hold every body, so a spool
    /// file is needed only while its request is read and its send runs on this instance).
    pub fn temporary() -> Self {
        Self {
            place: Place::Temporary(Arc::default()),
        }
    }

    /// The directory, if it exists or is beside a queue file (test helper).
    #[cfg(test)]
    fn dir(&self) -> Option<PathBuf> {
        match &self.place {
            Place::Beside(dir) => Some(dir.clone()),
            Place::Temporary(cell) => cell.get().map(|t| t.path().to_path_buf()),
        }
    }

    /// Creates the directory beside the queue file and deletes every file in it that no open
    /// send names (left by a crash between spooling a body and storing its send, or after a
    /// send finished). A temporary spool has nothing to sweep: it is created empty on first
    /// use.
    ///
    /// Errors: the directory cannot be created or listed.
    pub async fn prepare(&self, open: &HashSet<PathBuf>) -> std::io::Result<()> {
        let Place::Beside(dir) = &self.place else {
            return Ok(());
        };
        tokio::fs::create_dir_all(dir).await?;
        let mut entries = tokio::fs::read_dir(dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let path = entry.path();
            if !open.contains(&path) {
                let _ = tokio::fs::remove_file(&path).await;
            }
        }
        Ok(())
    }

    /// A new file name in the spool, creating a temporary spool's directory on first use.
    ///
    /// Errors: the temporary directory cannot be created.
    async fn new_file(&self) -> std::io::Result<PathBuf> {
        let name = format!("{:016x}.body", rand::random::<u64>());
        match &self.place {
            Place::Beside(dir) => Ok(dir.join(name)),
            Place::Temporary(cell) => {
                let dir = cell
                    .get_or_try_init(|| async {
                        tokio::task::spawn_blocking(|| {
                            tempfile::Builder::new()
                                .prefix("send-queue-spool-")
                                .tempdir()
                        })
                        .await
                        .map_err(std::io::Error::other)?
                    })
                    .await?;
                Ok(dir.path().join(name))
            }
        }
    }
}

/// What the queue read from a request.
#[derive(Debug)]
pub struct Intake {
    /// The lane: the destination chat, normalised (`"-100123"`, `"@name"`); `None` when the
    /// request names none (it then runs at once and its handler answers the error).
    pub lane: Option<String>,
    /// A group, supergroup or channel (negative id): the group bucket applies.
    pub group: bool,
    /// An `@username` destination: resolving it is an expensive call.
    pub by_username: bool,
    /// A reply (`reply_parameters` or `reply_to_message_id`): may go before bulk sends.
    pub reply: bool,
    /// The idempotency key, from the header or the parameter.
    pub key: Option<String>,
    /// The asynchronous mode was asked for.
    pub is_async: bool,
    /// The request's Content-Type.
    pub content_type: Option<String>,
    /// The query string.
    pub query: Option<String>,
    /// The body, in memory or spooled.
    pub body: StoredBody,
}

/// Reads `request` (its body up to `limit` bytes; a large upload into a file of `spool`).
///
/// Errors: 413 when the body is larger (or cannot be read), 400 for an idempotency key that
/// is empty or longer than [`MAX_KEY_BYTES`], 500 when a spool file cannot be written. On an
/// error no spool file is left behind.
pub async fn read(request: Request<Body>, limit: usize, spool: &Spool) -> Result<Intake, ApiError> {
    let (parts, body) = request.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mime = content_type
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let multipart = mime.starts_with("multipart/form-data");
    let body = receive(body, limit, multipart.then_some(spool)).await?;
    let read = fields(&parts, &mime, &body).await;
    let intake = read.and_then(|fields| intake(&parts, fields, content_type, body.clone()));
    if intake.is_err() {
        body.discard();
    }
    intake
}

/// Receives the body: in memory, or — when `spool` is given and it grows past
/// [`SPOOL_ABOVE`] — into a new spool file.
async fn receive(body: Body, limit: usize, spool: Option<&Spool>) -> Result<StoredBody, ApiError> {
    let mut stream = body.into_data_stream();
    let mut head = Vec::new();
    let mut file: Option<(tokio::io::BufWriter<tokio::fs::File>, PathBuf)> = None;
    let mut total = 0usize;
    let failed = |file: Option<(_, PathBuf)>, error: ApiError| {
        if let Some((_, path)) = file {
            StoredBody::File(Arc::new(path)).discard();
        }
        error
    };
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return Err(failed(file, ApiError::too_large()));
        };
        total += chunk.len();
        if total > limit {
            return Err(failed(file, ApiError::too_large()));
        }
        match (&mut file, spool) {
            (Some((writer, _)), _) => {
                if let Err(e) = writer.write_all(&chunk).await {
                    return Err(failed(file, spool_failed(&e)));
                }
            }
            (None, Some(spool)) if head.len() + chunk.len() > SPOOL_ABOVE => {
                let path = match spool.new_file().await {
                    Ok(path) => path,
                    Err(e) => return Err(spool_failed(&e)),
                };
                let opened = tokio::fs::File::create(&path).await;
                let mut writer = match opened {
                    Ok(f) => tokio::io::BufWriter::with_capacity(SPOOL_ABOVE, f),
                    Err(e) => return Err(spool_failed(&e)),
                };
                let wrote = match writer.write_all(&head).await {
                    Ok(()) => writer.write_all(&chunk).await,
                    Err(e) => Err(e),
                };
                head = Vec::new();
                file = Some((writer, path));
                if let Err(e) = wrote {
                    return Err(failed(file, spool_failed(&e)));
                }
            }
            (None, _) => head.extend_from_slice(&chunk),
        }
    }
    match file {
        None => Ok(StoredBody::Inline(Bytes::from(head))),
        Some((mut writer, path)) => match writer.flush().await {
            Ok(()) => Ok(StoredBody::File(Arc::new(path))),
            Err(e) => Err(failed(Some((writer, path)), spool_failed(&e))),
        },
    }
}

fn spool_failed(error: &std::io::Error) -> ApiError {
    tracing::error!(error = %error, "writing a request body to the send queue's spool failed");
    ApiError::from(botapi::ApiError::internal(
        "the send queue could not store the request body",
    ))
}

/// The request's parameters: the query string's, then the body's.
async fn fields(
    parts: &axum::http::request::Parts,
    mime: &str,
    body: &StoredBody,
) -> Result<Map<String, Value>, ApiError> {
    let mut fields = Map::new();
    if let Some(query) = parts.uri.query() {
        form_pairs(&mut fields, query.as_bytes());
    }
    match body {
        StoredBody::Inline(bytes) => {
            if mime.starts_with("application/json") || mime.contains("+json") {
                if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(bytes) {
                    fields.extend(map);
                }
            } else if mime.starts_with("application/x-www-form-urlencoded") {
                form_pairs(&mut fields, bytes);
            } else if mime.starts_with("multipart/form-data") {
                multipart_fields(&mut fields, &parts.headers, Body::from(bytes.clone())).await;
            }
        }
        StoredBody::File(path) => {
            let file = tokio::fs::File::open(path.as_ref())
                .await
                .map_err(|e| spool_failed(&e))?;
            let stream = tokio_util::io::ReaderStream::with_capacity(file, 64 << 10);
            multipart_fields(&mut fields, &parts.headers, Body::from_stream(stream)).await;
        }
    }
    Ok(fields)
}

fn intake(
    parts: &axum::http::request::Parts,
    fields: Map<String, Value>,
    content_type: Option<String>,
    body: StoredBody,
) -> Result<Intake, ApiError> {
    let key = idempotency_key(&parts.headers, &fields)?;
    let prefer_async = parts
        .headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
        });
    let (lane, group, by_username) = lane(fields.get("chat_id"));
    Ok(Intake {
        lane,
        group,
        by_username,
        reply: present(&fields, "reply_parameters") || present(&fields, "reply_to_message_id"),
        key,
        is_async: prefer_async || truthy(fields.get(ASYNC_FIELD)),
        content_type,
        query: parts.uri.query().map(str::to_owned),
        body,
    })
}

fn form_pairs(fields: &mut Map<String, Value>, bytes: &[u8]) {
    for (k, v) in form_urlencoded::parse(bytes) {
        fields.insert(k.into_owned(), Value::String(v.into_owned()));
    }
}

/// The text fields of a multipart body (file parts are skipped, read through but not kept).
/// `multer` directly, not axum's `Multipart`: that one applies axum's default 2 MB body limit
/// to a request built here, which cut every larger upload's fields off.
async fn multipart_fields(fields: &mut Map<String, Value>, headers: &HeaderMap, body: Body) {
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok());
    let Some(boundary) = boundary else {
        return;
    };
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().map(str::to_owned);
        if field.file_name().is_some() {
            continue;
        }
        if let (Some(name), Ok(text)) = (name, field.text().await) {
            fields.insert(name, Value::String(text));
        }
    }
}

fn present(fields: &Map<String, Value>, name: &str) -> bool {
    match fields.get(name) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty() && s != "null",
        Some(_) => true,
    }
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "1"),
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

fn idempotency_key(
    headers: &HeaderMap,
    fields: &Map<String, Value>,
) -> Result<Option<String>, ApiError> {
    let from_header = headers
        .get(IDEMPOTENCY_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned());
    let from_field = match fields.get(IDEMPOTENCY_FIELD) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(other) => Some(other.to_string()),
    };
    match from_header.or(from_field) {
        None => Ok(None),
        Some(key) if key.is_empty() || key.len() > MAX_KEY_BYTES => {
            Err(botapi::ApiError::bad_request(
                "idempotency key must be 1-255 bytes (Idempotency-Key header or idempotency_key)",
            )
            .into())
        }
        Some(key) => Ok(Some(key)),
    }
}

/// The lane of a `chat_id` value, whether it is a group, and whether it is a username.
fn lane(chat_id: Option<&Value>) -> (Option<String>, bool, bool) {
    let text = match chat_id {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_owned(),
        _ => return (None, false, false),
    };
    if text.is_empty() {
        return (None, false, false);
    }
    if text.starts_with('@') {
        return (Some(text.to_ascii_lowercase()), false, true);
    }
    let group = text.parse::<i64>().is_ok_and(|id| id < 0);
    (Some(text), group, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn intake(content_type: &str, body: &str, headers: &[(&str, &str)]) -> Intake {
        let mut builder =
            Request::post("/api_v1/sendMessage?x=1").header("content-type", content_type);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let spool = Spool::beside(Path::new(":memory:"));
        read(
            builder.body(Body::from(body.to_owned())).unwrap(),
            1 << 20,
            &spool,
        )
        .await
        .unwrap()
    }

    /// A multipart body with `chat_id`, `caption` and a `size`-byte file part, sent in 64 KiB
    /// chunks.
    fn upload(size: usize) -> Request<Body> {
        let mut body = Vec::new();
        for (name, value) in [("chat_id", "-100777"), ("idempotency_key", "up-1")] {
            body.extend_from_slice(
                format!(
                    "--XB\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            b"--XB\r\nContent-Disposition: form-data; name=\"document\"; filename=\"a.bin\"\r\n\r\n",
        );
        body.extend((0..size).map(|i| (i % 251) as u8));
        body.extend_from_slice(b"\r\n--XB--\r\n");
        let chunks: Vec<Result<Bytes, std::io::Error>> = body
            .chunks(64 << 10)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        Request::post("/api_v1/sendDocument")
            .header("content-type", "multipart/form-data; boundary=XB")
            .body(Body::from_stream(futures::stream::iter(chunks)))
            .unwrap()
    }

    fn files_in(dir: &Path) -> usize {
        std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
    }

    #[tokio::test]
    async fn a_large_upload_is_spooled_to_a_file_its_fields_read_back_and_nothing_is_left_on_error()
    {
        let dir = tempfile::tempdir().expect("dir");
        let spool = Spool::beside(&dir.path().join("queue.db"));
        spool.prepare(&HashSet::new()).await.expect("spool dir");
        let size = 3 * SPOOL_ABOVE;
        let intake = read(upload(size), 8 * SPOOL_ABOVE, &spool)
            .await
            .expect("read");
        assert_eq!(
            (intake.lane.as_deref(), intake.key.as_deref()),
            (Some("-100777"), Some("up-1"))
        );
        let path = intake.body.file().expect("spooled").to_path_buf();
        let stored = std::fs::read(&path).expect("spool file");
        assert!(stored.len() > size, "the whole body is in the file");
        assert_eq!(files_in(&spool.dir().unwrap()), 1);
        // A small upload stays in memory.
        let small = read(upload(1000), 8 * SPOOL_ABOVE, &spool)
            .await
            .expect("read");
        assert!(small.body.file().is_none());
        // Over the limit: 413, and the partly written file is removed.
        let error = read(upload(size), 2 * SPOOL_ABOVE, &spool)
            .await
            .unwrap_err();
        assert_eq!(error.0.error_code, 413);
        // A bad idempotency key after spooling: 400, file removed too.
        let mut bad = upload(size);
        bad.headers_mut()
            .insert("idempotency-key", " ".parse().unwrap());
        assert_eq!(
            read(bad, 8 * SPOOL_ABOVE, &spool)
                .await
                .unwrap_err()
                .0
                .error_code,
            400
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(
            files_in(&spool.dir().unwrap()),
            1,
            "only the first upload's file is left"
        );
        // prepare() keeps the files of open sends and deletes the rest.
        spool
            .prepare(&HashSet::from([path.clone()]))
            .await
            .expect("sweep");
        assert_eq!(files_in(&spool.dir().unwrap()), 1);
        spool.prepare(&HashSet::new()).await.expect("sweep");
        assert_eq!(files_in(&spool.dir().unwrap()), 0);
    }

    #[tokio::test]
    async fn json_and_form_bodies_give_lane_key_and_mode() {
        let i = intake(
            "application/json",
            r#"{"chat_id":-100123,"text":"hi","idempotency_key":"k1","reply_parameters":{"message_id":3}}"#,
            &[],
        )
        .await;
        assert_eq!(
            (i.lane.as_deref(), i.group, i.reply),
            (Some("-100123"), true, true)
        );
        assert_eq!((i.key.as_deref(), i.is_async), (Some("k1"), false));
        let i = intake(
            "application/x-www-form-urlencoded",
            "chat_id=%40Alice&text=hi",
            &[("idempotency-key", "h"), ("prefer", "respond-async")],
        )
        .await;
        assert_eq!((i.lane.as_deref(), i.by_username), (Some("@alice"), true));
        assert_eq!(
            (i.key.as_deref(), i.is_async, i.reply),
            (Some("h"), true, false)
        );
    }

    #[tokio::test]
    async fn in_memory_queues_get_spools_of_their_own_removed_with_them() {
        let (a, b) = (
            Spool::beside(Path::new(":memory:")),
            Spool::beside(Path::new(":memory:")),
        );
        a.prepare(&HashSet::new()).await.expect("prepare");
        assert_eq!(a.dir(), None, "created before a body needed it");
        let (file_a, file_b) = (
            a.new_file().await.expect("spool a"),
            b.new_file().await.expect("spool b"),
        );
        let dir = a.dir().expect("created");
        assert_ne!(Some(&dir), b.dir().as_ref());
        assert_eq!(file_a.parent(), Some(dir.as_path()));
        assert_ne!(file_a.parent(), file_b.parent());
        assert!(dir.is_dir());
        drop(a);
        assert!(!dir.exists(), "the temporary spool outlived its queue");
    }

    #[tokio::test]
    async fn an_empty_key_is_refused() {
        let request = Request::post("/api_v1/sendMessage")
            .header("idempotency-key", " ")
            .body(Body::empty())
            .unwrap();
        let spool = Spool::beside(Path::new(":memory:"));
        let error = read(request, 1024, &spool).await.unwrap_err();
        assert_eq!(error.0.error_code, 400);
    }
}
