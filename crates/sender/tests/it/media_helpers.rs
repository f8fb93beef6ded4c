//! Fixtures, multipart forms and a local file server for the media tests.

use std::net::SocketAddr;
use std::path::PathBuf;

use reqwest::multipart::{Form, Part};
use sha2::Digest as _;
use tokio::task::JoinHandle;

/// The workspace's `fixtures/` directory (`fixtures/README.md` lists measured metadata).
pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The bytes of fixture `name`.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(name)).unwrap()
}

/// Hex SHA-256, as testdc's `MediaView::sha256`.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A form with `chat_id` and the fixture `file` as a part named `part` (file name = fixture
/// name, MIME type `mime`).
pub(crate) fn form_with_file(chat_id: i64, part: &str, file: &str, mime: &str) -> Form {
    let body = Part::bytes(fixture(file))
        .file_name(file.to_owned())
        .mime_str(mime)
        .unwrap();
    Form::new()
        .text("chat_id", chat_id.to_string())
        .part(part.to_owned(), body)
}

/// An HTTP server on 127.0.0.1:0 serving `fixtures/` (aborted when dropped).
pub(crate) struct FileServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl FileServer {
    pub(crate) async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route(
                "/moved/{name}",
                axum::routing::get(
                    |axum::extract::Path(name): axum::extract::Path<String>| async move {
                        axum::response::Redirect::temporary(&format!("/files/{name}"))
                    },
                ),
            )
            .nest_service(
                "/files",
                tower_http::services::ServeDir::new(fixtures_dir()),
            );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, task }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
