//! The management API's shapes (many accounts, `ADMIN_API_KEY`): the request body
//! [`AccountRequest`] and the OpenAPI paths of `/admin/accounts` ([`openapi_paths`]). A leaf
//! module: the handlers ([`crate::accounts`]) and the document ([`crate::openapi`]) both use it.

use ops::accounts::AccountSettings;
use serde::Deserialize;

/// The body of `POST /admin/accounts` and `PATCH /admin/accounts/<name>` (JSON). Settings left
/// out keep their value (the environment's for a new account); `""` clears one.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AccountRequest)]
pub struct AccountRequest {
    /// The account's name (POST only): 1–64 characters of `A-Z a-z 0-9 _ -`; its files are
    /// `<name>.session`, `<name>.account.json`, … in `SESSIONS_DIR`.
    #[serde(default)]
    pub name: Option<String>,
    /// POST only: send a login code to this number (international format); then
    /// `POST /admin/accounts/<name>/auth/signIn {phone_code}`.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// POST only: sign the account in as this bot (@BotFather's token).
    #[serde(default)]
    pub bot_token: Option<String>,
    /// Where the receiver POSTs this account's updates (http or https); unset: `WEBHOOK_URL`.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// `x-api-key` of its webhook POSTs; unset: `WEBHOOK_API_KEY`.
    #[serde(default)]
    pub webhook_api_key: Option<String>,
    /// `X-Telegram-Bot-Api-Secret-Token` of its webhook POSTs; unset: `WEBHOOK_SECRET_TOKEN`.
    #[serde(default)]
    pub webhook_secret_token: Option<String>,
    /// Standard Webhooks signing secret (`whsec_…`); unset: `WEBHOOK_SIGNING_SECRET`.
    #[serde(default)]
    pub webhook_signing_secret: Option<String>,
    /// `legacy` or `bot_api`; unset: `WEBHOOK_FORMAT`.
    #[serde(default)]
    pub webhook_format: Option<String>,
    /// Only these chats are forwarded (Bot API chat ids); unset: `ALLOWED_CHAT_IDS`; `[]`:
    /// all.
    #[serde(default)]
    pub allowed_chat_ids: Option<Vec<i64>>,
    /// These chats are never forwarded; unset: `IGNORED_CHAT_IDS`.
    #[serde(default)]
    pub ignored_chat_ids: Option<Vec<i64>>,
    /// Update kinds forwarded (`message`, `edited_message`, `channel_post`,
    /// `edited_channel_post`, `deleted_messages`, `message_reaction_count`,
    /// `callback_query`); unset: `ALLOWED_UPDATES`; `[]`: all.
    #[serde(default)]
    pub allowed_updates: Option<Vec<String>>,
    /// Requests per second its API accepts (0: no limit); unset: `RATE_LIMIT_PER_SECOND`.
    #[serde(default)]
    pub rate_limit_per_second: Option<u32>,
    /// Burst of that limit; unset: `RATE_LIMIT_BURST`.
    #[serde(default)]
    pub rate_limit_burst: Option<u32>,
}

impl AccountRequest {
    /// Applies the settings it names onto `settings`; an empty string clears one.
    pub(crate) fn apply(&self, settings: &mut AccountSettings) -> Result<(), String> {
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
        const KINDS: [&str; 7] = [
            "message",
            "edited_message",
            "channel_post",
            "edited_channel_post",
            "deleted_messages",
            "message_reaction_count",
            "callback_query",
        ];
        if let Some(kinds) = &self.allowed_updates {
            if let Some(bad) = kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
                return Err(format!("allowed_updates: unknown update kind {bad:?}"));
            }
            settings.allowed_updates = Some(kinds.clone());
        }
        if let Some(chats) = &self.allowed_chat_ids {
            settings.allowed_chat_ids = Some(chats.clone());
        }
        if let Some(chats) = &self.ignored_chat_ids {
            settings.ignored_chat_ids = Some(chats.clone());
        }
        if self.rate_limit_per_second.is_some() {
            settings.rate_limit_per_second = self.rate_limit_per_second;
        }
        if self.rate_limit_burst.is_some() {
            settings.rate_limit_burst = self.rate_limit_burst;
        }
        Ok(())
    }
}

/// The management API's paths for the OpenAPI document, each under the `admin_key` security
/// scheme (`x-admin-key`), tagged `accounts`; `body` is [`AccountRequest`]'s schema reference,
/// `error` the error envelope's.
pub fn openapi_paths(
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
                        .schema(Some(
                            utoipa::openapi::schema::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::schema::Type::String)
                                .pattern(Some("^[A-Za-z0-9_-]{1,64}$")),
                        ))
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
