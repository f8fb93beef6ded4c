//! The management API under `/admin/accounts` (header `x-admin-key`): list, add (and start the
//! login), run login steps, change settings, remove; and its OpenAPI paths
//! ([`openapi_paths`]). See the parent module for how accounts are served.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ops::accounts::{AccountEntry, AccountSettings};
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

/// The body of `POST /admin/accounts` and `PATCH /admin/accounts/<name>` (JSON). Settings left
/// out keep their value (the environment's for a new account); `""` clears one.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AccountRequest)]
pub(crate) struct AccountRequest {
    /// The account's name (POST only): 1–64 characters of `A-Z a-z 0-9 _ -`; its files are
    /// `<name>.session`, `<name>.account.json`, … in `SESSIONS_DIR`.
    #[serde(default)]
    name: Option<String>,
    /// POST only: send a login code to this number (international format); then
    /// `POST /admin/accounts/<name>/auth/signIn {phone_code}`.
    #[serde(default)]
    phone_number: Option<String>,
    /// POST only: sign the account in as this bot (@BotFather's token).
    #[serde(default)]
    bot_token: Option<String>,
    /// Where the receiver POSTs this account's updates (http or https); unset: `WEBHOOK_URL`.
    #[serde(default)]
    webhook_url: Option<String>,
    /// `x-api-key` of its webhook POSTs; unset: `WEBHOOK_API_KEY`.
    #[serde(default)]
    webhook_api_key: Option<String>,
    /// `X-Telegram-Bot-Api-Secret-Token` of its webhook POSTs; unset: `WEBHOOK_SECRET_TOKEN`.
    #[serde(default)]
    webhook_secret_token: Option<String>,
    /// Standard Webhooks signing secret (`whsec_…`); unset: `WEBHOOK_SIGNING_SECRET`.
    #[serde(default)]
    webhook_signing_secret: Option<String>,
    /// `legacy` or `bot_api`; unset: `WEBHOOK_FORMAT`.
    #[serde(default)]
    webhook_format: Option<String>,
    /// Requests per second its API accepts (0: no limit); unset: `RATE_LIMIT_PER_SECOND`.
    #[serde(default)]
    rate_limit_per_second: Option<u32>,
    /// Burst of that limit; unset: `RATE_LIMIT_BURST`.
    #[serde(default)]
    rate_limit_burst: Option<u32>,
}

impl AccountRequest {
    /// Applies the settings it names onto `settings`; an empty string clears one.
    fn apply(&self, settings: &mut AccountSettings) -> Result<(), String> {
        let set = |target: &mut Option<String>, value: &Option<String>| {
            if let Some(value) = value {
                *target = (!value.is_empty()).then(|| value.clone());
            }
        };
        if let Some(url) = self.webhook_url.as_deref().filter(|u| !u.is_empty()) {
            let parsed = url::Url::parse(url).map_err(|_| "webhook_url is not a URL".to_owned())?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err("webhook_url must be http or https".into());
            }
        }
        if let Some(format) = self.webhook_format.as_deref().filter(|f| !f.is_empty())
            && !matches!(format, "legacy" | "bot_api")
        {
            return Err("webhook_format must be legacy or bot_api".into());
        }
        set(&mut settings.webhook_url, &self.webhook_url);
        set(&mut settings.webhook_api_key, &self.webhook_api_key);
        set(
            &mut settings.webhook_secret_token,
            &self.webhook_secret_token,
        );
        set(
            &mut settings.webhook_signing_secret,
            &self.webhook_signing_secret,
        );
        set(&mut settings.webhook_format, &self.webhook_format);
        if self.rate_limit_per_second.is_some() {
            settings.rate_limit_per_second = self.rate_limit_per_second;
        }
        if self.rate_limit_burst.is_some() {
            settings.rate_limit_burst = self.rate_limit_burst;
        }
        Ok(())
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

/// The management API's paths for the OpenAPI document, each under the `admin_key` security
/// scheme (`x-admin-key`), tagged `accounts`; `body` is [`AccountRequest`]'s schema reference,
/// `error` the error envelope's.
pub(crate) fn openapi_paths(
    body: &utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    error: &utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
) -> Vec<(String, utoipa::openapi::path::PathItem)> {
    use utoipa::openapi::path::{HttpMethod, Operation, ParameterBuilder, ParameterIn, PathItem};
    use utoipa::openapi::request_body::RequestBody;
    use utoipa::openapi::response::ResponseBuilder;
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{ContentBuilder, Required};

    let op = |id: &str, summary: &str, with_body: bool, path_params: &[&str]| {
        let mut op = Operation::new();
        op.operation_id = Some(id.to_owned());
        op.tags = Some(vec!["accounts".to_owned()]);
        op.summary = Some(summary.to_owned());
        op.security = Some(vec![SecurityRequirement::new(
            "admin_key",
            Vec::<String>::new(),
        )]);
        if with_body {
            let mut request = RequestBody::new();
            request.content.insert(
                "application/json".to_owned(),
                ContentBuilder::new()
                    .schema(Some(body.clone()))
                    .build()
                    .into(),
            );
            request.required = Some(Required::True);
            op.request_body = Some(request.into());
        }
        op.parameters = Some(
            path_params
                .iter()
                .map(|name| {
                    ParameterBuilder::new()
                        .name(*name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .build()
                        .into()
                })
                .collect(),
        );
        let ok = ResponseBuilder::new()
            .description("`{\"ok\":true,\"result\":…}`: the account (name, user_id, signed_in, is_bot, token, queue)")
            .build();
        let failed = ResponseBuilder::new()
            .description("The error envelope: 401 wrong admin key, 403 no ADMIN_API_KEY set, 404 no such account, 409 name taken")
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(error.clone())).build(),
            )
            .build();
        op.responses.responses.insert("200".to_owned(), ok.into());
        op.responses
            .responses
            .insert("default".to_owned(), failed.into());
        op
    };
    let mut list = PathItem::new(
        HttpMethod::Get,
        op(
            "listAccounts",
            "Every account with its state and token",
            false,
            &[],
        ),
    );
    list.post = Some(op(
        "addAccount",
        "Add an account and start its login (phone_number: a code is sent; bot_token: signed in)",
        true,
        &[],
    ));
    let mut one = PathItem::new(
        HttpMethod::Get,
        op("getAccount", "One account", false, &["name"]),
    );
    one.patch = Some(op(
        "changeAccount",
        "Change its settings; both binaries restart that account with them",
        true,
        &["name"],
    ));
    one.delete = Some(op(
        "removeAccount",
        "Sign it out and delete its session, settings and send queue",
        false,
        &["name"],
    ));
    let step = PathItem::new(
        HttpMethod::Post,
        op(
            "accountLoginStep",
            "A login step as /api_v1/auth/<step>: sendCode, signIn, checkPassword, signInBot, logOut, status",
            false,
            &["name", "step"],
        ),
    );
    vec![
        ("/admin/accounts".to_owned(), list),
        ("/admin/accounts/{name}".to_owned(), one),
        ("/admin/accounts/{name}/auth/{step}".to_owned(), step),
    ]
}
