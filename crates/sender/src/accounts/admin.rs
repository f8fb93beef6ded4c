//! The management API under `/admin/accounts` (header `x-admin-key`): list, add (and start the
//! login), run login steps, change settings, remove. Its body type and OpenAPI paths are in
//! [`crate::admin_api`]. See the parent module for how accounts are served.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ops::accounts::{AccountEntry, AccountSettings};

use crate::admin_api::AccountRequest;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ADMIN_KEY_HEADER, Accounts, Slot, api_error, forward, lock_read, lock_write};
use crate::auth::Authenticated;
use crate::error::ApiError;

/// The management API's check: `x-admin-key` equal to `ADMIN_API_KEY` (constant time); 403
/// when no key is configured, 401 for a wrong or missing one.
fn admin_check(
    accounts: &Accounts,
    request_headers: &axum::http::HeaderMap,
) -> Result<(), ApiError> {
    if accounts.admin_key.is_none() {
        return Err(ApiError::with_status(
            403,
            "Forbidden: the management API is off; set ADMIN_API_KEY",
        ));
    }
    let presented = request_headers
        .get(ADMIN_KEY_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if accounts.admin_ok(presented) {
        Ok(())
    } else {
        Err(botapi::ApiError::unauthorized().into())
    }
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

/// Why adding, changing or removing an account over HTTP is refused with `DATABASE_URL`: the
/// registry lives in Postgres and is changed with `receiver cluster-import` for now.
const CLUSTERED_ADMIN: &str = "Bad Request: with DATABASE_URL the accounts live in the \
    cluster's registry: add or replace one with `receiver cluster-import`";

/// `GET /admin/accounts`: every account with its state and token.
pub(super) async fn admin_list(
    State(accounts): State<Arc<Accounts>>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Err(refused) = admin_check(&accounts, &headers) {
        return refused.into_response();
    }
    let slots: Vec<Arc<Slot>> = lock_read(&accounts.slots).values().cloned().collect();
    ok(Value::Array(
        slots.iter().map(|s| accounts.view(s, true)).collect(),
    ))
}

/// `GET /admin/accounts/<name>`.
pub(super) async fn admin_get(
    State(accounts): State<Arc<Accounts>>,
    UrlPath(name): UrlPath<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Err(refused) = admin_check(&accounts, &headers) {
        return refused.into_response();
    }
    match accounts.slot(&name) {
        Some(slot) => ok(accounts.view(&slot, true)),
        None => api_error(404, "Not Found: account not found"),
    }
}

async fn read_json<T: for<'de> Deserialize<'de>>(request: Request) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|_| ApiError::with_status(413, "Request Entity Too Large"))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        // Names the position and the kind, never a value (it may be a secret).
        ApiError::with_status(
            400,
            format!(
                "Bad Request: the body is not the expected JSON object (line {} column {})",
                e.line(),
                e.column()
            ),
        )
    })
}

/// `POST /admin/accounts {name, phone_number?, bot_token?, …settings}`: writes the account's
/// settings (with a new token secret), starts it (creating its session file when missing) and,
/// with `bot_token`, signs it in as that bot, or with `phone_number`, sends the login code
/// (then `POST /admin/accounts/<name>/auth/signIn {phone_code}`). Errors: 400 for a bad name
/// or setting, 409 when the name is taken.
pub(super) async fn admin_add(State(accounts): State<Arc<Accounts>>, request: Request) -> Response {
    if let Err(refused) = admin_check(&accounts, request.headers()) {
        return refused.into_response();
    }
    if accounts.cluster.is_some() {
        return api_error(400, CLUSTERED_ADMIN);
    }
    let body: AccountRequest = match read_json(request).await {
        Ok(body) => body,
        Err(refused) => return refused.into_response(),
    };
    let Some(name) = body.name.clone().filter(|n| ops::accounts::valid_name(n)) else {
        return api_error(
            400,
            "Bad Request: name must be 1-64 characters of A-Z, a-z, 0-9, _ and -",
        );
    };
    let slot = {
        let _changes = accounts.changes.lock().await;
        if accounts.slot(&name).is_some() || name == accounts.env_name {
            return api_error(409, "Conflict: an account with this name exists");
        }
        let mut settings = AccountSettings::generate();
        if let Err(problem) = body.apply(&mut settings) {
            return api_error(400, &format!("Bad Request: {problem}"));
        }
        if let Err(e) = ops::accounts::write_settings(&accounts.dir, &name, &settings).await {
            tracing::error!(account = %name, error = %e, "cannot write account settings");
            return api_error(
                500,
                "Internal Server Error: cannot write the account's settings",
            );
        }
        let entry = AccountEntry {
            name: name.clone(),
            session_name: accounts.dir.join(&name),
            settings,
            settings_error: None,
        };
        match accounts.start_slot(&entry).await {
            Ok(slot) => {
                let slot = Arc::new(slot);
                lock_write(&accounts.slots).insert(name.clone(), slot.clone());
                slot
            }
            Err(e) => {
                tracing::warn!(account = %name, error = format!("{e:#}"), "cannot start the new account");
                return api_error(
                    502,
                    "Bad Gateway: cannot connect the new account to Telegram",
                );
            }
        }
    };
    tracing::info!(account = %name, "account added");
    let login = if let Some(token) = body.bot_token {
        Some(
            slot.state
                .connection
                .sign_in_bot(&SecretString::from(token))
                .await,
        )
    } else if let Some(phone) = body.phone_number {
        Some(slot.state.connection.send_code(Some(phone)).await)
    } else {
        None
    };
    if let Some(Err(e)) = login {
        return e.into_response();
    }
    accounts.reindex();
    let mut view = accounts.view(&slot, true);
    view["login"] = json!(crate::routes::login::AuthStatus::from(
        slot.state.connection.status().await
    ));
    (
        StatusCode::CREATED,
        axum::Json(json!({"ok": true, "result": view})),
    )
        .into_response()
}

/// `POST /admin/accounts/<name>/auth/<step>`: a login step of that account, exactly as
/// `/api_v1/auth/<step>` (parameters as JSON, form or query).
pub(super) async fn admin_auth(
    State(accounts): State<Arc<Accounts>>,
    UrlPath((name, step)): UrlPath<(String, String)>,
    mut request: Request,
) -> Response {
    if let Err(refused) = admin_check(&accounts, request.headers()) {
        return refused.into_response();
    }
    let Some(slot) = accounts.slot(&name) else {
        return api_error(404, "Not Found: account not found");
    };
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let Ok(uri) = format!("/api_v1/auth/{step}{query}").parse::<Uri>() else {
        return api_error(400, "Bad Request: invalid login step");
    };
    *request.uri_mut() = uri;
    request.extensions_mut().insert(Authenticated);
    let response = forward(&slot, request).await;
    accounts.reindex();
    response
}

/// `PATCH /admin/accounts/<name> {…settings}`: changes the account's settings (an empty string
/// clears one); both binaries restart that account with them within a second.
pub(super) async fn admin_patch(
    State(accounts): State<Arc<Accounts>>,
    UrlPath(name): UrlPath<String>,
    request: Request,
) -> Response {
    if let Err(refused) = admin_check(&accounts, request.headers()) {
        return refused.into_response();
    }
    if accounts.cluster.is_some() {
        return api_error(400, CLUSTERED_ADMIN);
    }
    let body: AccountRequest = match read_json(request).await {
        Ok(body) => body,
        Err(refused) => return refused.into_response(),
    };
    if body.name.is_some() || body.phone_number.is_some() || body.bot_token.is_some() {
        return api_error(
            400,
            "Bad Request: PATCH changes settings only; log in with /admin/accounts/<name>/auth/*",
        );
    }
    let Some(slot) = accounts.slot(&name) else {
        return api_error(404, "Not Found: account not found");
    };
    let mut settings = slot.settings.clone();
    if settings.secret.is_empty() {
        settings.secret = ops::accounts::random_secret();
    }
    if let Err(problem) = body.apply(&mut settings) {
        return api_error(400, &format!("Bad Request: {problem}"));
    }
    if let Err(e) = ops::accounts::write_settings(&accounts.dir, &name, &settings).await {
        tracing::error!(account = %name, error = %e, "cannot write account settings");
        return api_error(
            500,
            "Internal Server Error: cannot write the account's settings",
        );
    }
    if let Err(e) = accounts.sync().await {
        tracing::warn!(error = %e, "cannot read SESSIONS_DIR");
    }
    match accounts.slot(&name) {
        Some(slot) => ok(accounts.view(&slot, true)),
        None => api_error(502, "Bad Gateway: the account did not restart; see the log"),
    }
}

/// `DELETE /admin/accounts/<name>`: signs the account out on Telegram's side, stops it and
/// deletes its session file, settings and send queue (its outbox stays until deleted by
/// hand). The `TG_SESSION_NAME` account cannot be removed here (409).
pub(super) async fn admin_delete(
    State(accounts): State<Arc<Accounts>>,
    UrlPath(name): UrlPath<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Err(refused) = admin_check(&accounts, &headers) {
        return refused.into_response();
    }
    if accounts.cluster.is_some() {
        return api_error(400, CLUSTERED_ADMIN);
    }
    let _changes = accounts.changes.lock().await;
    let Some(slot) = accounts.slot(&name) else {
        return api_error(404, "Not Found: account not found");
    };
    if slot.env {
        return api_error(
            409,
            "Conflict: the TG_SESSION_NAME account is configured by the environment",
        );
    }
    if slot.user_id().is_some()
        && let Err(e) = slot.state.connection.log_out().await
    {
        return e.into_response();
    }
    lock_write(&accounts.slots).remove(&name);
    slot.shutdown();
    let session = ops::accounts::session_path(&accounts.dir, &name);
    let queue = accounts.dir.join(format!("{name}.queue"));
    let mut files = vec![ops::accounts::settings_path(&accounts.dir, &name)];
    // The session file goes last: the receiver stops the account when it disappears.
    for base in [&queue, &session] {
        for suffix in ["-wal", "-shm", "-journal", ""] {
            let mut path = base.clone().into_os_string();
            path.push(suffix);
            files.push(PathBuf::from(path));
        }
    }
    for file in files {
        match tokio::fs::remove_file(&file).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(file = %file.display(), error = %e, "cannot delete"),
        }
    }
    let spool = accounts.dir.join(format!("{name}.queue.spool"));
    let _ = tokio::fs::remove_dir_all(&spool).await;
    drop(_changes);
    accounts.reindex();
    tracing::info!(account = %name, "account removed");
    ok(json!({"name": name, "removed": true}))
}
