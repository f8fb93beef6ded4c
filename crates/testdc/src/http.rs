//! The control API over HTTP, so the stack can be driven by hand, by scripts and by
//! benchmarks. Every route mirrors a [`TestDc`] method; ids are Bot API ids.
//!
//! | route | does |
//! |---|---|
//! | `GET /world` | fixture ids, users, chats, channels |
//! | `POST /users` `{first_name}` | adds a user (a new private chat with the account); `{id}` |
//! | `POST /send` `{from?, chat_id, text, reply_to_message_id?}` | a simulated user sends text |
//! | `POST /send_media` `{from?, chat_id, kind, path, caption?, file_name?, mime_type?, duration?, width?, height?, title?, performer?}` | a simulated user sends a local file (`kind`: photo, voice, audio, video, video_note, animation, document, sticker) |
//! | `POST /edit` `{chat_id, message_id, text}` | the author edits a message |
//! | `POST /delete` `{chat_id, message_ids}` | messages are deleted for everyone |
//! | `POST /react` `{from, chat_id, message_id, emoji}` | a user reacts |
//! | `GET /history?chat_id=` | a chat's messages, newest first |
//! | `GET /wait_outgoing?chat_id=&after=&timeout_ms=` | next message the account sends (408 on timeout) |
//! | `POST /faults/drop_connections` | close every client connection |
//! | `POST /faults/rpc_error` `{method, count, error}` | fail the next `count` calls of `method` |
//! | `POST /faults/latency` `{ms}` | delay every reply |
//! | `GET /stats` | RPCs answered |
//! | `POST /limits` `{per_chat_per_minute?, per_group_per_minute?, per_account_per_minute?, per_method_per_minute?: {method: n}, peer_flood_after?}` | enforce Telegram-like sending limits (FLOOD_WAIT_X, then PEER_FLOOD); `{}` turns them off |
//! | `GET /limits` | `{flood_waits, peer_floods}` refused by the limits so far |
//! | `POST /auth/unauthorized_session` `{path}` | write a session whose new auth key must log in first |
//! | `GET /auth/last_code` | `{code}` last sent by `auth.sendCode` (404 if none yet) |
//! | `POST /auth/password` `{password}` | turn 2FA on with that password, or off with `null` |
//! | `POST /auth/bot_session` `{path}` | write a session signed in as the bot |
//! | `POST /press_button` `{user_id, chat_id, message_id, data}` | a user presses the bot's inline button (`data` as UTF-8); `{query_id}` |
//! | `GET /callback_answer?query_id=` | how the bot answered (404 until it has) |
//! | `POST /webhook` | a webhook sink: records the JSON body (for trying the receiver by hand) |
//! | `GET /webhook` | the last 100 recorded bodies, oldest first |

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::dc::{ControlError, TestDc};
use crate::view::{SendMedia, SendText};

/// How many webhook bodies `GET /webhook` keeps.
const WEBHOOK_KEEP: usize = 100;

/// The control router over a running DC.
pub fn router(dc: Arc<TestDc>) -> Router {
    let sink = Router::new()
        .route("/webhook", post(record_webhook).get(list_webhook))
        .with_state(Sink::default());
    Router::new()
        .route("/world", get(world))
        .route("/users", post(add_user))
        .route("/send", post(send))
        .route("/send_media", post(send_media))
        .route("/edit", post(edit))
        .route("/delete", post(delete))
        .route("/react", post(react))
        .route("/history", get(history))
        .route("/wait_outgoing", get(wait_outgoing))
        .route("/faults/drop_connections", post(drop_connections))
        .route("/faults/rpc_error", post(rpc_error))
        .route("/faults/latency", post(latency))
        .route("/stats", get(stats))
        .route(
            "/limits",
            post(crate::limits::set_limits_http).get(crate::limits::limits_http),
        )
        .route("/auth/unauthorized_session", post(unauthorized_session))
        .route("/auth/last_code", get(last_code))
        .route("/auth/password", post(set_password))
        .route("/auth/bot_session", post(bot_session))
        .route("/press_button", post(press_button))
        .route("/callback_answer", get(callback_answer))
        .with_state(dc)
        .merge(sink)
}

type Sink = Arc<Mutex<VecDeque<serde_json::Value>>>;

async fn record_webhook(
    State(sink): State<Sink>,
    Json(body): Json<serde_json::Value>,
) -> impl IntoResponse {
    let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
    if sink.len() == WEBHOOK_KEEP {
        sink.pop_front();
    }
    sink.push_back(body);
    Json(json!({"ok": true}))
}

async fn list_webhook(State(sink): State<Sink>) -> impl IntoResponse {
    let sink = sink.lock().unwrap_or_else(|e| e.into_inner());
    Json(sink.iter().cloned().collect::<Vec<_>>())
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::UnknownChat(_) => StatusCode::NOT_FOUND,
            ControlError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ControlError::Rpc(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

async fn world(State(dc): State<Arc<TestDc>>) -> impl IntoResponse {
    let fixture = dc.fixture();
    dc.with_world(|w| {
        Json(json!({
            "mtproto_addr": dc.addr().to_string(),
            "fixture": fixture,
            "users": w.users.values().collect::<Vec<_>>(),
            "chats": w.chats.values().map(|c| json!({"chat_id": -c.id, "title": c.title})).collect::<Vec<_>>(),
            "channels": w.channels.values().map(|c| json!({
                "chat_id": crate::ChatRef::Channel(c.id).bot_api_id(),
                "title": c.title, "username": c.username, "megagroup": c.megagroup,
            })).collect::<Vec<_>>(),
        }))
    })
}

#[derive(Deserialize)]
struct NewUser {
    first_name: String,
}

async fn add_user(State(dc): State<Arc<TestDc>>, Json(body): Json<NewUser>) -> impl IntoResponse {
    Json(json!({"id": dc.add_user(&body.first_name)}))
}

async fn send(
    State(dc): State<Arc<TestDc>>,
    Json(body): Json<SendText>,
) -> Result<impl IntoResponse, ControlError> {
    dc.send_text(body).map(Json)
}

#[derive(Deserialize)]
struct SendMediaBody {
    path: std::path::PathBuf,
    #[serde(flatten)]
    send: SendMedia,
}

async fn send_media(
    State(dc): State<Arc<TestDc>>,
    Json(body): Json<SendMediaBody>,
) -> Result<impl IntoResponse, ControlError> {
    let data = tokio::fs::read(&body.path).await?;
    dc.send_media(body.send, data).map(Json)
}

#[derive(Deserialize)]
struct Edit {
    chat_id: i64,
    message_id: i32,
    text: String,
}

async fn edit(
    State(dc): State<Arc<TestDc>>,
    Json(e): Json<Edit>,
) -> Result<impl IntoResponse, ControlError> {
    dc.edit_text(e.chat_id, e.message_id, &e.text).map(Json)
}

#[derive(Deserialize)]
struct Delete {
    chat_id: i64,
    message_ids: Vec<i32>,
}

async fn delete(
    State(dc): State<Arc<TestDc>>,
    Json(d): Json<Delete>,
) -> Result<impl IntoResponse, ControlError> {
    dc.delete_messages(d.chat_id, &d.message_ids)
        .map(|deleted| Json(json!({"deleted": deleted})))
}

#[derive(Deserialize)]
struct React {
    from: i64,
    chat_id: i64,
    message_id: i32,
    emoji: String,
}

async fn react(
    State(dc): State<Arc<TestDc>>,
    Json(r): Json<React>,
) -> Result<impl IntoResponse, ControlError> {
    dc.react(r.from, r.chat_id, r.message_id, &r.emoji)
        .map(|()| Json(json!({"ok": true})))
}

#[derive(Deserialize)]
struct ChatQuery {
    chat_id: i64,
    #[serde(default)]
    after: i32,
    timeout_ms: Option<u64>,
}

async fn history(
    State(dc): State<Arc<TestDc>>,
    Query(q): Query<ChatQuery>,
) -> Result<impl IntoResponse, ControlError> {
    dc.history(q.chat_id).map(Json)
}

async fn wait_outgoing(
    State(dc): State<Arc<TestDc>>,
    Query(q): Query<ChatQuery>,
) -> Result<impl IntoResponse, ControlError> {
    let timeout = Duration::from_millis(q.timeout_ms.unwrap_or(10_000));
    dc.wait_outgoing(q.chat_id, q.after, timeout)
        .await
        .map(Json)
}

async fn drop_connections(State(dc): State<Arc<TestDc>>) -> impl IntoResponse {
    dc.drop_connections();
    Json(json!({"ok": true}))
}

#[derive(Deserialize)]
struct RpcErrorFault {
    method: String,
    #[serde(default = "one")]
    count: u32,
    error: String,
}

fn one() -> u32 {
    1
}

async fn rpc_error(
    State(dc): State<Arc<TestDc>>,
    Json(f): Json<RpcErrorFault>,
) -> impl IntoResponse {
    dc.fail_next(&f.method, f.count, &f.error);
    Json(json!({"ok": true}))
}

#[derive(Deserialize)]
struct LatencyFault {
    ms: u64,
}

async fn latency(State(dc): State<Arc<TestDc>>, Json(f): Json<LatencyFault>) -> impl IntoResponse {
    dc.set_latency(Duration::from_millis(f.ms));
    Json(json!({"ok": true}))
}

async fn stats(State(dc): State<Arc<TestDc>>) -> impl IntoResponse {
    Json(json!({"calls": dc.calls()}))
}

#[derive(Deserialize)]
struct SessionPath {
    path: std::path::PathBuf,
}

async fn unauthorized_session(
    State(dc): State<Arc<TestDc>>,
    Json(body): Json<SessionPath>,
) -> Result<impl IntoResponse, ControlError> {
    dc.write_unauthorized_session(&body.path).await?;
    Ok(Json(json!({"ok": true})))
}

async fn bot_session(
    State(dc): State<Arc<TestDc>>,
    Json(body): Json<SessionPath>,
) -> Result<impl IntoResponse, ControlError> {
    dc.write_bot_session(&body.path).await?;
    Ok(Json(json!({"ok": true})))
}

#[derive(Deserialize)]
struct PressButton {
    user_id: i64,
    chat_id: i64,
    message_id: i32,
    data: String,
}

async fn press_button(
    State(dc): State<Arc<TestDc>>,
    Json(p): Json<PressButton>,
) -> Result<impl IntoResponse, ControlError> {
    dc.press_button(p.user_id, p.chat_id, p.message_id, p.data.as_bytes())
        // A string: JSON numbers above 2^53 lose precision in most clients.
        .map(|query_id| Json(json!({"query_id": query_id.to_string()})))
}

#[derive(Deserialize)]
struct AnswerQuery {
    query_id: i64,
}

async fn callback_answer(State(dc): State<Arc<TestDc>>, Query(q): Query<AnswerQuery>) -> Response {
    match dc.callback_answer(q.query_id) {
        Some(answer) => Json(answer).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "not answered yet"})),
        )
            .into_response(),
    }
}

async fn last_code(State(dc): State<Arc<TestDc>>) -> Response {
    match dc.last_login_code() {
        Some(code) => Json(json!({"code": code})).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no login code sent yet"})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct PasswordBody {
    password: Option<String>,
}

async fn set_password(
    State(dc): State<Arc<TestDc>>,
    Json(body): Json<PasswordBody>,
) -> Result<impl IntoResponse, ControlError> {
    // PBKDF2 with 100 000 rounds: keep it off the async workers.
    tokio::task::spawn_blocking(move || dc.set_password(body.password.as_deref()))
        .await
        .map_err(|e| ControlError::Io(std::io::Error::other(e)))?;
    Ok(Json(json!({"ok": true})))
}
