//! The one method table: every Bot API method the sender answers, keyed by its lowercase name,
//! with its handler and the types the OpenAPI document ([`crate::openapi`]) is built from.
//!
//! Both URL families (`/api_v1/<method>` and `/bot<token>/<method>`) dispatch through
//! [`MethodTable`], so a method exists in both or neither, under any capitalisation
//! (teloxide sends `/SendMessage`), for GET (query string) and POST alike.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, RwLock, Weak};

use axum::body::Body;
use axum::handler::Handler;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use botapi::types::{
    BotCommand, BotDescription, BotName, BotShortDescription, ChatFullInfo, ChatListItem, File,
    Message, MessageId, User,
};
use tower::ServiceExt;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};

use super::{
    account, album, bot, content, files, forward, history, manage, media, messages, updates,
};
use crate::error::ApiError;
use crate::state::AppState;

/// Named schemas collected while documenting (OpenAPI `components.schemas`).
pub type Components = Vec<(String, RefOr<Schema>)>;

/// Writes the schema of a parameter object or result into `components` and returns a
/// reference to it (or the inline schema of a scalar).
pub type SchemaFn = fn(&mut Components) -> RefOr<Schema>;

/// One Bot API method: its name, documentation and handler.
pub struct Method {
    /// The Bot API name, e.g. `sendMessage`.
    pub name: &'static str,
    /// OpenAPI tag: the method family (`messages`, `media`, …).
    pub family: &'static str,
    /// One line for the docs: what it does for a user account.
    pub summary: &'static str,
    /// Schema of the parameter object; `None` for methods without parameters.
    pub params: Option<SchemaFn>,
    /// Schema of `result` in `{"ok":true,"result":…}`; `None` when it always fails.
    pub result: Option<SchemaFn>,
    /// GET and POST; anything else is 405.
    pub handler: MethodRouter<AppState>,
}

impl Method {
    fn new<H, T>(name: &'static str, family: &'static str, summary: &'static str, h: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        Self {
            name,
            family,
            summary,
            params: None,
            result: None,
            handler: get(h.clone()).post(h).fallback(method_not_allowed),
        }
    }

    fn params(mut self, schema: SchemaFn) -> Self {
        self.params = Some(schema);
        self
    }

    fn returns(mut self, schema: SchemaFn) -> Self {
        self.result = Some(schema);
        self
    }
}

/// A `$ref` to `T`, registering `T` and every type it names.
pub fn object<T: ToSchema>(components: &mut Components) -> RefOr<Schema> {
    components.push((T::name().into_owned(), T::schema()));
    T::schemas(components);
    Ref::from_schema_name(T::name()).into()
}

/// An array of `T`.
pub fn array<T: ToSchema>(components: &mut Components) -> RefOr<Schema> {
    ArrayBuilder::new().items(object::<T>(components)).into()
}

/// `true` (the result of methods that only act).
pub fn boolean(_: &mut Components) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::Boolean).into()
}

/// A free-form JSON object.
pub fn json_object(_: &mut Components) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::Object).into()
}

/// An array of free-form JSON objects (`getUpdates`' `Update`s, stored as the receiver wrote
/// them).
fn json_array(_: &mut Components) -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::Object))
        .into()
}

/// Every method, in the order the docs list them (one line each: a table, hence unformatted).
#[rustfmt::skip]
pub fn methods() -> Vec<Method> {
    use Method as M;
    let mut list = vec![
        M::new("getMe", "account", "The signed-in account as a User (is_bot true for bot sessions; a username is always filled in).", account::get_me)
            .returns(object::<User>),
        M::new("sendMessage", "messages", "Sends a text message (HTML, MarkdownV2, Markdown or explicit entities; replies, silent, protected).", messages::send_message)
            .params(object::<messages::SendMessage>).returns(object::<Message>),
        M::new("editMessageText", "messages", "Edits the text of a message the account sent.", messages::edit_message_text)
            .params(object::<messages::EditMessageText>).returns(object::<Message>),
        M::new("deleteMessage", "messages", "Deletes a message for everyone.", messages::delete_message)
            .params(object::<messages::DeleteMessage>).returns(boolean),
    ];
    list.extend([
        M::new("sendPhoto", "media", "Sends a photo (`photo`: upload, attach://, URL, file_id, data: or base64).", media::send_photo),
        M::new("sendDocument", "media", "Sends a file as a document (`document`).", media::send_document),
        M::new("sendAudio", "media", "Sends music (`audio`; duration, title and performer read from the file).", media::send_audio),
        M::new("sendVoice", "media", "Sends a voice note (`voice`, OGG/Opus).", media::send_voice),
        M::new("sendVideo", "media", "Sends a video (`video`, MP4).", media::send_video),
        M::new("sendAnimation", "media", "Sends a GIF-like animation (`animation`, MP4 without sound).", media::send_animation),
        M::new("sendVideoNote", "media", "Sends a round video note (`video_note`, square MP4).", media::send_video_note),
        M::new("sendSticker", "media", "Sends a sticker (`sticker`, WEBP/TGS/WEBM or a sticker file_id).", media::send_sticker),
    ].map(|m| m.params(object::<media::SendMedia>).returns(object::<Message>)));
    list.extend([
        M::new("sendMediaGroup", "media", "Sends 2–10 photos/videos (or documents, or audio) as one album.", album::send_media_group)
            .params(object::<album::SendMediaGroup>).returns(array::<Message>),
        M::new("editMessageMedia", "media", "Replaces the media of a message the account sent.", album::edit_message_media)
            .params(object::<album::EditMessageMedia>).returns(object::<Message>),
        M::new("sendLocation", "content", "Sends a point on the map (live locations too).", content::send_location)
            .params(object::<content::SendLocation>).returns(object::<Message>),
        M::new("sendVenue", "content", "Sends a venue.", content::send_venue)
            .params(object::<content::SendVenue>).returns(object::<Message>),
        M::new("sendContact", "content", "Sends a phone contact.", content::send_contact)
            .params(object::<content::SendContact>).returns(object::<Message>),
        M::new("sendPoll", "content", "Sends a poll or quiz.", content::send_poll)
            .params(object::<content::SendPoll>).returns(object::<Message>),
        M::new("sendDice", "content", "Sends an animated emoji with a random value.", content::send_dice)
            .params(object::<content::SendDice>).returns(object::<Message>),
        M::new("sendChatAction", "content", "Shows \"typing…\", \"recording voice…\" etc. for about 5 seconds.", content::send_chat_action)
            .params(object::<content::SendChatAction>).returns(boolean),
        M::new("forwardMessage", "forward", "Forwards one message (with its origin).", forward::forward_message)
            .params(object::<forward::ForwardParams>).returns(object::<Message>),
        M::new("forwardMessages", "forward", "Forwards up to 100 messages.", forward::forward_messages)
            .params(object::<forward::ForwardParams>).returns(array::<MessageId>),
        M::new("copyMessage", "forward", "Copies one message without a link to the original.", forward::copy_message)
            .params(object::<forward::CopyParams>).returns(object::<MessageId>),
        M::new("copyMessages", "forward", "Copies up to 100 messages.", forward::copy_messages)
            .params(object::<forward::CopyParams>).returns(array::<MessageId>),
        M::new("editMessageCaption", "manage", "Edits the caption of a media message.", manage::edit_message_caption)
            .params(object::<manage::EditMessageCaption>).returns(object::<Message>),
        M::new("deleteMessages", "manage", "Deletes up to 100 messages.", manage::delete_messages)
            .params(object::<manage::DeleteMessages>).returns(boolean),
        M::new("pinChatMessage", "manage", "Pins a message.", manage::pin_chat_message)
            .params(object::<manage::PinParams>).returns(boolean),
        M::new("unpinChatMessage", "manage", "Unpins a message (the latest pinned one without message_id).", manage::unpin_chat_message)
            .params(object::<manage::PinParams>).returns(boolean),
        M::new("unpinAllChatMessages", "manage", "Unpins every message of a chat.", manage::unpin_all_chat_messages)
            .params(object::<manage::UnpinAll>).returns(boolean),
        M::new("setMessageReaction", "manage", "Sets the account's reactions on a message.", manage::set_message_reaction)
            .params(object::<manage::SetMessageReaction>).returns(boolean),
        M::new("getChat", "account", "Up-to-date information about a chat or user.", account::get_chat)
            .params(object::<account::GetChat>).returns(object::<ChatFullInfo>),
        M::new("getUpdates", "updates", "The receiver's stored updates from `offset` on (confirming those below), long-polled up to `timeout` s; 409 while a webhook is set or when a newer poll starts.", updates::get_updates)
            .params(object::<updates::GetUpdates>).returns(json_array),
        M::new("getWebhookInfo", "updates", "The webhook in force (setWebhook's or WEBHOOK_URL), pending updates and the last delivery error.", updates::get_webhook_info)
            .returns(object::<updates::WebhookInfo>),
        M::new("deleteWebhook", "updates", "No webhook from now on (WEBHOOK_URL too, until it changes): updates wait for getUpdates; drop_pending_updates confirms the pending ones.", updates::delete_webhook)
            .params(object::<updates::DeleteWebhook>).returns(boolean),
        M::new("setWebhook", "updates", "The receiver POSTs Bot API Updates to `url` (secret_token header, max_connections, allowed_updates) instead of WEBHOOK_URL; kept across restarts.", updates::set_webhook)
            .params(object::<updates::SetWebhook>).returns(boolean),
        M::new("getFile", "files", "A File whose file_path downloads from /file/bot<token>/<file_path> (no 20 MB limit).", files::get_file)
            .params(object::<files::GetFile>).returns(object::<File>),
        M::new("getChatHistory", "history", "User-account extra: messages of a chat, newest first.", history::get_chat_history)
            .params(object::<history::GetChatHistory>).returns(array::<Message>),
        M::new("searchChatMessages", "history", "User-account extra: messages of a chat containing a text.", history::search_chat_messages)
            .params(object::<history::SearchChatMessages>).returns(array::<Message>),
        M::new("readChatHistory", "history", "User-account extra: marks a chat read up to a message.", history::read_chat_history)
            .params(object::<history::ReadChatHistory>).returns(boolean),
        M::new("getChats", "history", "User-account extra: the account's dialogs, most recent first.", history::get_chats)
            .params(object::<history::GetChats>).returns(array::<ChatListItem>),
    ]);
    list.extend([
        M::new("editMessageReplyMarkup", "bot", "Bot sessions: replaces (or removes) the inline keyboard of a message the bot sent.", messages::edit_message_reply_markup)
            .params(object::<messages::EditMessageReplyMarkup>).returns(object::<Message>),
        M::new("answerCallbackQuery", "bot", "Bot sessions: answers a button press (notification, alert or URL).", bot::answer_callback_query)
            .params(object::<bot::AnswerCallbackQuery>).returns(boolean),
        M::new("setMyCommands", "bot", "Bot sessions: sets the command list of a scope and language.", bot::set_my_commands)
            .params(object::<bot::SetMyCommands>).returns(boolean),
        M::new("getMyCommands", "bot", "Bot sessions: the command list of exactly that scope and language.", bot::get_my_commands)
            .params(object::<bot::CommandsOf>).returns(array::<BotCommand>),
        M::new("deleteMyCommands", "bot", "Bot sessions: removes the command list of a scope and language.", bot::delete_my_commands)
            .params(object::<bot::CommandsOf>).returns(boolean),
        M::new("setMyName", "bot", "Bot sessions: sets the bot's name for a language.", bot::set_my_name)
            .params(object::<bot::SetMyName>).returns(boolean),
        M::new("getMyName", "bot", "Bot sessions: the bot's name for a language.", bot::get_my_name)
            .params(object::<bot::InfoOf>).returns(object::<BotName>),
        M::new("setMyDescription", "bot", "Bot sessions: sets the description shown in an empty chat.", bot::set_my_description)
            .params(object::<bot::SetMyDescription>).returns(boolean),
        M::new("getMyDescription", "bot", "Bot sessions: the description for a language.", bot::get_my_description)
            .params(object::<bot::InfoOf>).returns(object::<BotDescription>),
        M::new("setMyShortDescription", "bot", "Bot sessions: sets the short description on the profile.", bot::set_my_short_description)
            .params(object::<bot::SetMyShortDescription>).returns(boolean),
        M::new("getMyShortDescription", "bot", "Bot sessions: the short description for a language.", bot::get_my_short_description)
            .params(object::<bot::InfoOf>).returns(object::<BotShortDescription>),
    ]);
    list.extend(account::BOT_ONLY_METHODS.iter().map(|&name| {
        M::new(name, "bot-only", "Bots only, not implemented: always 400 \"Bad Request: method is available only for bots\".", account::bot_only)
    }));
    list
}

/// The dispatch table: lowercase method name → its handler. Built once per server; the
/// routes bound to the signed-in session's [`AppState`] are kept until the next sign-in, so a
/// request only clones its bound route (binding every route per request cost about a third of
/// the sender's throughput).
pub struct MethodTable {
    routes: HashMap<String, MethodRouter<AppState, Infallible>>,
    bound: RwLock<Option<Bound>>,
}

/// [`MethodTable`]'s routes with one session's state applied. The state is held weakly: a
/// signed-out session's connection is not kept alive by the cache, and its allocation cannot be
/// reused by the next session's while the weak reference exists, so pointer identity is exact.
struct Bound {
    state: Weak<AppState>,
    routes: Arc<HashMap<String, MethodRouter<(), Infallible>>>,
}

impl Default for MethodTable {
    fn default() -> Self {
        Self::new()
    }
}

impl MethodTable {
    /// Every method of [`methods`].
    pub fn new() -> Self {
        let routes = methods()
            .into_iter()
            .map(|m| (m.name.to_ascii_lowercase(), m.handler))
            .collect();
        Self {
            routes,
            bound: RwLock::new(None),
        }
    }

    /// The routes bound to `state`, from the cache or bound now (at the first request after
    /// a sign-in).
    fn bound(&self, state: &Arc<AppState>) -> Arc<HashMap<String, MethodRouter<(), Infallible>>> {
        let cached = self.bound.read().ok().and_then(|b| {
            b.as_ref()
                .filter(|b| std::ptr::eq(b.state.as_ptr(), Arc::as_ptr(state)))
                .map(|b| b.routes.clone())
        });
        if let Some(routes) = cached {
            return routes;
        }
        let routes: Arc<HashMap<_, _>> = Arc::new(
            self.routes
                .iter()
                .map(|(name, router)| (name.clone(), router.clone().with_state((**state).clone())))
                .collect(),
        );
        if let Ok(mut bound) = self.bound.write() {
            *bound = Some(Bound {
                state: Arc::downgrade(state),
                routes: routes.clone(),
            });
        }
        routes
    }

    /// Runs the method named `name` (any capitalisation) on `request` with `state`; unknown
    /// names answer 404 "Not Found: method not found".
    pub async fn call(
        &self,
        state: &Arc<AppState>,
        name: &str,
        request: Request<Body>,
    ) -> Response {
        let routes = self.bound(state);
        match routes.get(&name.to_ascii_lowercase()) {
            // A request rebuilt by the send queue no longer carries the router's
            // `DefaultBodyLimit::disable()` mark, without which axum's extractors would cut
            // bodies at 2 MB; the whole-request limit was enforced when it came in.
            Some(router) => match router
                .clone()
                .layer::<_, Infallible>(axum::extract::DefaultBodyLimit::disable())
                .oneshot(request)
                .await
            {
                Ok(response) => response,
                Err(never) => match never {},
            },
            None => ApiError::from(botapi::ApiError::not_found_method()).into_response(),
        }
    }

    /// How many methods the table holds.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the table is empty (never, in practice).
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// Any HTTP method but GET and POST.
async fn method_not_allowed() -> ApiError {
    ApiError::with_status(405, "Method Not Allowed: use GET or POST")
}
