//! Bot API methods over NATS request/reply, for services that talk to a broker instead of HTTP.
//!
//! With `NATS_URL` set, the sender subscribes to `<prefix>.<account>.call.*` (queue group
//! `sender`, so several senders of one account share the requests): `<prefix>` is
//! `NATS_SUBJECT_PREFIX` (`tg`), `<account>` the signed-in account's user id, the last token the
//! Bot API method (`sendMessage`, any capitalisation). The payload is the JSON object the HTTP
//! API takes; the reply is the body it answers — `{"ok":true,"result":…}` or the error
//! envelope. Each request runs through the same [`axum::Router`] as HTTP (`/api_v1/<method>`
//! with the sender's own key): the method table, the rate limit, `RESPONSE_FORMAT` and the
//! `x-response-format` header (copied from the NATS headers), logging and metrics all apply
//! unchanged. Who may call is NATS's business: the subject carries the account, so a NATS user
//! allowed to publish on `tg.<account>.call.>` may act as that account (README, *NATS*).
//!
//! A request without a reply subject still runs; its answer is logged when it is an error.
//! Until the session is signed in nothing is subscribed (the account id is not known yet).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, HeaderMap, Subject};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http_body_util::BodyExt;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::auth::API_KEY_HEADER;
use crate::compat::HEADER as FORMAT_HEADER;
use crate::connection::Connection;
use crate::error::ApiError;
use crate::state::AppState;

/// Queue group of the subscription: one sender of the group answers each request.
pub const QUEUE_GROUP: &str = "sender";

/// Requests handled at once; further ones wait in the subscription (as HTTP connections wait
/// in the backlog at the connection cap).
const MAX_IN_FLIGHT: usize = 256;

/// How often the account id is looked for while the session is signed out.
const SIGN_IN_POLL: Duration = Duration::from_secs(1);

/// The NATS side of the sender: the client and where to subscribe.
pub struct Commands {
    client: Client,
    prefix: String,
    api_token: Arc<SecretString>,
}

/// `<prefix>.<account>.call.*`, the subject the sender subscribes to.
pub fn call_subject(prefix: &str, account: i64) -> String {
    format!("{prefix}.{account}.call.*")
}

impl Commands {
    /// Serves requests with `client` under `prefix` (`NATS_SUBJECT_PREFIX`), calling the API as
    /// the holder of `api_token` would.
    pub fn new(client: Client, prefix: String, api_token: Arc<SecretString>) -> Self {
        Self {
            client,
            prefix,
            api_token,
        }
    }

    /// Waits for a signed-in account, subscribes, and answers each request through `app`
    /// until `shutdown`; then unsubscribes, lets the requests in flight answer and flushes.
    pub async fn serve(
        self,
        app: Router,
        connection: Arc<Connection<AppState>>,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        tokio::pin!(shutdown);
        let account = loop {
            if let Some(account) = connection.account() {
                break account.id;
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(SIGN_IN_POLL) => {}
            }
        };
        let subject = call_subject(&self.prefix, account);
        let mut requests = match self
            .client
            .queue_subscribe(subject.clone(), QUEUE_GROUP.to_owned())
            .await
        {
            Ok(subscriber) => subscriber,
            Err(e) => {
                tracing::error!(subject, error = %e, "cannot subscribe to NATS requests");
                return;
            }
        };
        tracing::info!(subject, "answering Bot API requests over NATS");
        let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let mut running = JoinSet::new();
        loop {
            let message = tokio::select! {
                () = &mut shutdown => break,
                message = requests.next() => match message {
                    Some(message) => message,
                    None => break,
                },
            };
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let (client, app, token) = (self.client.clone(), app.clone(), self.api_token.clone());
            running.spawn(async move {
                answer(&client, app, &token, message).await;
                drop(permit);
            });
            while running.try_join_next().is_some() {}
        }
        let _ = requests.unsubscribe().await;
        while running.join_next().await.is_some() {}
        if let Err(e) = self.client.flush().await {
            tracing::warn!(error = %e, "NATS replies not flushed at shutdown");
        }
    }
}

/// Runs one request and publishes its answer to the reply subject.
async fn answer(client: &Client, app: Router, token: &SecretString, message: async_nats::Message) {
    let method = message
        .subject
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_owned();
    let response = call(app, token, &method, &message).await;
    let status = response.status().as_u16();
    let body = match response.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            tracing::error!(method, error = %e, "cannot read the answer of a NATS request");
            envelope(500, "Internal Server Error: the answer could not be read")
        }
    };
    let Some(reply) = message.reply else {
        if status >= 400 {
            tracing::warn!(
                method,
                status,
                "a NATS request without a reply subject failed"
            );
        }
        return;
    };
    if let Err(e) = publish(client, reply.clone(), body).await {
        tracing::warn!(method, error = %e, "cannot publish the answer; replying with an error");
        let too_large = envelope(
            413,
            "Request Entity Too Large: the answer exceeds the NATS server's max_payload",
        );
        if let Err(e) = publish(client, reply, too_large).await {
            tracing::warn!(method, error = %e, "cannot publish the error answer either");
        }
    }
}

async fn publish(client: &Client, reply: Subject, body: Bytes) -> Result<(), String> {
    client.publish(reply, body).await.map_err(|e| e.to_string())
}

/// `POST /api_v1/<method>` through the router, with the key, the JSON payload and the
/// `x-response-format` header of `message`.
async fn call(
    app: Router,
    token: &SecretString,
    method: &str,
    message: &async_nats::Message,
) -> Response {
    // The subject's last token names the method; anything else cannot be a method name and
    // must not reach the URI.
    if method.is_empty() || !method.chars().all(|c| c.is_ascii_alphanumeric()) {
        return ApiError::from(botapi::ApiError::not_found_method()).into_response();
    }
    let mut request =
        Request::post(format!("/api_v1/{method}")).header(API_KEY_HEADER, token.expose_secret());
    if !message.payload.is_empty() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    if let Some(format) = message.headers.as_ref().and_then(response_format) {
        request = request.header(FORMAT_HEADER, format);
    }
    let request = match request.body(Body::from(message.payload.clone())) {
        Ok(request) => request,
        Err(_) => {
            return ApiError::from(botapi::ApiError::bad_request("invalid request headers"))
                .into_response();
        }
    };
    match tower::ServiceExt::oneshot(app, request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn response_format(headers: &HeaderMap) -> Option<String> {
    headers.get(FORMAT_HEADER).map(|v| v.as_str().to_owned())
}

/// The error envelope `{"ok":false,"error_code":…,"description":…}` as bytes.
fn envelope(code: u16, description: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({"ok": false, "error_code": code, "description": description})
            .to_string(),
    )
}
