//! The control API over HTTP, so the stack can be driven by hand, by scripts and by
//! benchmarks. Every route mirrors a [`TestDc`] method; ids are Bot API ids.
//!
//! Routes that act in a world (every one from `/world` to `/callback_answer` below but the
//! faults, `/stats` and `/limits`) take an optional `account`, the user id of a hosted
//! account ([`TestDc::accounts`]): a field of the JSON body for a `POST`, a query parameter
//! for a `GET`. Without it they act in the default account's world; an unknown one answers 404
//! `{error}`.
//!
//! | route | does |
//! |---|---|
//! | `POST /accounts` `{count, sessions_dir?}` | adds `count` accounts, each in a world of its own; with `sessions_dir`, writes a ready session for each at `<sessions_dir>/acc<user_id>.session`; `{accounts: [{user_id, phone, first_name, session}]}` (`session`: the path or `null`) |
//! | `GET /accounts` | `{accounts: [{user_id, phone, first_name}]}`, the default account first |
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
//! | `GET /auth_keys` | `{auth_keys: [{auth_key_id, account, open, peak}]}`: per auth key that ever had a connection (every account's), its MTProto connections open now and the most open at once (`auth_key_id`: 16 hex digits; `account`: the user id of the account the key belongs to) |
//! | `POST /auth_keys/reset_peaks` | every key's `peak` becomes its `open`, starting a new window |
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
        .route(
            "/accounts",
            post(crate::account::add_accounts_http).get(crate::account::accounts_http),
        )
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
        .route(
            "/auth_keys",
            get(crate::key_connections_api::auth_keys_http),
        )
        .route(
            "/auth_keys/reset_peaks",
            post(crate::key_connections_api::reset_peaks_http),
        )
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
            ControlError::UnknownChat(_) | ControlError::UnknownAccount(_) => StatusCode::NOT_FOUND,
            ControlError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ControlError::Rpc(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

/// The optional `account` of a request (see the module docs), with the request's own fields.
#[derive(Deserialize)]
struct In<T> {
    account: Option<i64>,
    #[serde(flatten)]
    body: T,
}

/// A `GET` route's `account` query parameter alone.
#[derive(Deserialize)]
struct AccountQuery {
    account: Option<i64>,
}

async fn world(
    State(dc): State<Arc<TestDc>>,
    Query(q): Query<AccountQuery>,
) -> Result<impl IntoResponse, ControlError> {
    let account = dc.account_or_default(q.account)?;
    let fixture = account.fixture();
    Ok(account.with_world(|w| {
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
    }))
}

#[derive(Deserialize)]
struct NewUser {
    first_name: String,
}

async fn add_user(
    State(dc): State<Arc<TestDc>>,
    Json(r): Json<In<NewUser>>,
) -> Result<impl IntoResponse, ControlError> {
    let id = dc
        .account_or_default(r.account)?
        .add_user(&r.body.first_name);
    Ok(Json(json!({"id": id})))
}

async fn send(
    State(dc): State<Arc<TestDc>>,
    Json(r): Json<In<SendText>>,
) -> Result<impl IntoResponse, ControlError> {
    dc.account_or_default(r.account)?
        .send_text(r.body)
        .map(Json)
}

#[derive(Deserialize)]
struct SendMediaBody {
    account: Option<i64>,
    path: std::path::PathBuf,
    #[serde(flatten)]
    send: SendMedia,
}

async fn send_media(
    State(dc): State<Arc<TestDc>>,
    Json(body): Json<SendMediaBody>,
) -> Result<impl IntoResponse, ControlError> {
    let account = dc.account_or_default(body.account)?;
    let data = tokio::fs::read(&body.path).await?;
    account.send_media(body.send, data).map(Json)
}

#[derive(Deserialize)]
struct Edit {
    chat_id: i64,
    message_id: i32,
    text: String,
}

async fn edit(
    State(dc): State<Arc<TestDc>>,
    Json(r): Json<In<Edit>>,
) -> Result<impl IntoResponse, ControlError> {
    let e = r.body;
    dc.account_or_default(r.account)?
        .edit_text(e.chat_id, e.message_id, &e.text)
        .map(Json)
}

#[derive(Deserialize)]
struct Delete {
    chat_id: i64,
    message_ids: Vec<i32>,
}

async fn delete(
    State(dc): State<Arc<TestDc>>,
    Json(r): Json<In<Delete>>,
) -> Result<impl IntoResponse, ControlError> {
    let d = r.body;
    dc.account_or_default(r.account)?
        .delete_messages(d.chat_id, &d.message_ids)
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
    Json(body): Json<In<React>>,
) -> Result<impl IntoResponse, ControlError> {
    let r = body.body;
    dc.account_or_default(body.account)?
        .react(r.from, r.chat_id, r.message_id, &r.emoji)
        .map(|()| Json(json!({"ok": true})))
}

#[derive(Deserialize)]
struct ChatQuery {
    account: Option<i64>,
    chat_id: i64,
    #[serde(default)]
    after: i32,
    timeout_ms: Option<u64>,
}

async fn history(
    State(dc): State<Arc<TestDc>>,
    Query(q): Query<ChatQuery>,
) -> Result<impl IntoResponse, ControlError> {
    dc.account_or_default(q.account)?
        .history(q.chat_id)
        .map(Json)
}

async fn wait_outgoing(
    State(dc): State<Arc<TestDc>>,
    Query(q): Query<ChatQuery>,
) -> Result<impl IntoResponse, ControlError> {
    let timeout = Duration::from_millis(q.timeout_ms.unwrap_or(10_000));
    dc.account_or_default(q.account)?
        .wait_outgoing(q.chat_id, q.after, timeout)
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
    account: Option<i64>,
    path: std::path::PathBuf,
}

async fn unauthorized_session(
    State(dc): State<Arc<TestDc>>,
    Json(body): Json<SessionPath>,
) -> Result<impl IntoResponse, ControlError> {
    dc.account_or_default(body.account)?
        .write_unauthorized_session(&body.path)
        .await?;
    Ok(Json(json!({"ok": true})))
}

async fn bot_session(
    State(dc): State<Arc<TestDc>>,
    Json(body): Json<SessionPath>,
) -> Result<impl IntoResponse, ControlError> {
    dc.account_or_default(body.account)?
        .write_bot_session(&body.path)
        .await?;
    Ok(Json(json!({"ok": true})))
}

#[derive(Deserialize)]
struct PressButton {
    account: Option<i64>,
    user_id: i64,
    chat_id: i64,
    message_id: i32,
    data: String,
}

async fn press_button(
    State(dc): State<Arc<TestDc>>,
    Json(p): Json<PressButton>,
) -> Result<impl IntoResponse, ControlError> {
    dc.account_or_default(p.account)?
        .press_button(p.user_id, p.chat_id, p.message_id, p.data.as_bytes())
        // A string: JSON numbers above 2^53 lose precision in most clients.
        .map(|query_id| Json(json!({"query_id": query_id.to_string()})))
}

#[derive(Deserialize)]
struct AnswerQuery {
    account: Option<i64>,
    query_id: i64,
}

async fn callback_answer(
    State(dc): State<Arc<TestDc>>,
    Query(q): Query<AnswerQuery>,
) -> Result<Response, ControlError> {
    let answer = dc
        .account_or_default(q.account)?
        .callback_answer(q.query_id);
    Ok(match answer {
        Some(answer) => Json(answer).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "not answered yet"})),
        )
            .into_response(),
    })
}

async fn last_code(
    State(dc): State<Arc<TestDc>>,
    Query(q): Query<AccountQuery>,
) -> Result<Response, ControlError> {
    Ok(match dc.account_or_default(q.account)?.last_login_code() {
        Some(code) => Json(json!({"code": code})).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no login code sent yet"})),
        )
            .into_response(),
    })
}

#[derive(Deserialize)]
struct PasswordBody {
    account: Option<i64>,
    password: Option<String>,
}

async fn set_password(
    State(dc): State<Arc<TestDc>>,
    Json(body): Json<PasswordBody>,
) -> Result<impl IntoResponse, ControlError> {
    // Checked before the blocking task, which owns its own handle on the DC.
    dc.account_or_default(body.account)?;
    // PBKDF2 with 100 000 rounds: keep it off the async workers.
    tokio::task::spawn_blocking(move || {
        dc.account_or_default(body.account)
            .map(|account| account.set_password(body.password.as_deref()))
    })
    .await
    .map_err(|e| ControlError::Io(std::io::Error::other(e)))??;
    Ok(Json(json!({"ok": true})))
}
