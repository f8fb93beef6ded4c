//! Messages without a file and chat actions: `sendLocation`, `sendVenue`, `sendContact`,
//! `sendPoll`, `sendDice`, `sendChatAction` (Bot API sections of the same names).

use axum::extract::State;
use botapi::RpcContext;
use botapi::formatting::FormattedText;
use botapi::ids::ChatIdParam;
use botapi::types::{ChatAction, InputPollOptionParam, Message, MessageEntity};
use serde::Deserialize;
use telegram::{InlineMedia, OutgoingPoll};

use super::reply::send_request;
use crate::error::{ApiError, ApiResult, TelegramResultExt, ok};
use crate::extract::BotRequest;
use crate::state::AppState;
use crate::text;

fn bad(detail: &str) -> ApiError {
    botapi::ApiError::bad_request(detail).into()
}

/// Resolves the chat, checks the reply and sends `media`: the body of every method here.
macro_rules! send_inline {
    ($state:expr, $req:expr, $media:expr) => {{
        let tg = &$state.telegram;
        let peer = tg
            .resolve_chat(&$req.chat_id)
            .await
            .or_api(RpcContext::Send)?;
        let options = $req.options(tg, peer).await?;
        ok(tg
            .send_inline(peer, &$media, options)
            .await
            .or_api(RpcContext::Send)?)
    }};
}

send_request! {
    /// Parameters of `sendLocation`.
    pub struct SendLocation {
        /// Target chat: id or `"@username"`.
        pub chat_id: ChatIdParam,
        /// Degrees, -90..90.
        pub latitude: f64,
        /// Degrees, -180..180.
        pub longitude: f64,
        /// Uncertainty radius, 0–1500 m.
        pub horizontal_accuracy: Option<f64>,
        /// Seconds a live location is updated (60–86400, or 0x7FFFFFFF for ever).
        pub live_period: Option<i32>,
        /// Live locations: direction, 1–360 degrees.
        pub heading: Option<i32>,
        /// Live locations: proximity alert distance, meters.
        pub proximity_alert_radius: Option<i32>,
    }
}

/// `POST /api_v1/sendLocation` → the Message with `location`.
///
/// Errors: 400 "chat not found", `GEO_POINT_INVALID` for coordinates out of range.
pub async fn send_location(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<SendLocation>,
) -> ApiResult<Message> {
    let media = InlineMedia::Location {
        latitude: req.latitude,
        longitude: req.longitude,
        horizontal_accuracy: req.horizontal_accuracy,
        live_period: req.live_period,
        heading: req.heading,
        proximity_alert_radius: req.proximity_alert_radius,
    };
    send_inline!(state, req, media)
}

send_request! {
    /// Parameters of `sendVenue`.
    pub struct SendVenue {
        /// Target chat: id or `"@username"`.
        pub chat_id: ChatIdParam,
        /// Degrees.
        pub latitude: f64,
        /// Degrees.
        pub longitude: f64,
        /// Name of the venue.
        pub title: String,
        /// Address of the venue.
        pub address: String,
        /// Foursquare id.
        pub foursquare_id: Option<String>,
        /// Foursquare type.
        pub foursquare_type: Option<String>,
        /// Google Places id.
        pub google_place_id: Option<String>,
        /// Google Places type.
        pub google_place_type: Option<String>,
    }
}

/// `POST /api_v1/sendVenue` → the Message with `venue` and `location`.
pub async fn send_venue(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<SendVenue>,
) -> ApiResult<Message> {
    let (provider, venue_id, venue_type) = match (&req.foursquare_id, &req.google_place_id) {
        (Some(id), _) => ("foursquare", id.clone(), req.foursquare_type.clone()),
        (None, Some(id)) => ("gplaces", id.clone(), req.google_place_type.clone()),
        (None, None) => ("", String::new(), None),
    };
    let media = InlineMedia::Venue {
        latitude: req.latitude,
        longitude: req.longitude,
        title: req.title.clone(),
        address: req.address.clone(),
        provider: provider.into(),
        venue_id,
        venue_type: venue_type.unwrap_or_default(),
    };
    send_inline!(state, req, media)
}

send_request! {
    /// Parameters of `sendContact`.
    pub struct SendContact {
        /// Target chat: id or `"@username"`.
        pub chat_id: ChatIdParam,
        /// Phone number.
        pub phone_number: String,
        /// First name.
        pub first_name: String,
        /// Last name.
        pub last_name: Option<String>,
        /// vCard, 0–2048 bytes.
        pub vcard: Option<String>,
    }
}

/// `POST /api_v1/sendContact` → the Message with `contact` (`user_id` when the number is a
/// known Telegram user).
pub async fn send_contact(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<SendContact>,
) -> ApiResult<Message> {
    let media = InlineMedia::Contact {
        phone_number: req.phone_number.clone(),
        first_name: req.first_name.clone(),
        last_name: req.last_name.clone().unwrap_or_default(),
        vcard: req.vcard.clone().unwrap_or_default(),
    };
    send_inline!(state, req, media)
}

send_request! {
    /// Parameters of `sendPoll`.
    pub struct SendPoll {
        /// Target chat: id or `"@username"`.
        pub chat_id: ChatIdParam,
        /// 1–300 characters.
        pub question: String,
        /// `parse_mode` of the question.
        pub question_parse_mode: Option<String>,
        /// Explicit question entities.
        pub question_entities: Option<Vec<MessageEntity>>,
        /// 2–10 options: strings or `InputPollOption` objects.
        pub options: Vec<InputPollOptionParam>,
        /// Hide voters (default `true`).
        pub is_anonymous: Option<bool>,
        /// `regular` (default) or `quiz`.
        #[serde(rename = "type")]
        pub kind: Option<String>,
        /// Several answers allowed (default `false`).
        pub allows_multiple_answers: Option<bool>,
        /// Voters may change their answer (default: `true` for regular polls, `false` for
        /// quizzes; Bot API 10.0).
        pub allows_revoting: Option<bool>,
        /// Show the options in random order.
        pub shuffle_options: Option<bool>,
        /// Voters may add options (not for anonymous polls and quizzes).
        pub allow_adding_options: Option<bool>,
        /// Show the results only after the poll closes.
        pub hide_results_until_closes: Option<bool>,
        /// Only members of the chat may vote.
        pub members_only: Option<bool>,
        /// Only users of these countries (ISO 3166-1 alpha-2) may vote.
        pub country_codes: Option<Vec<String>>,
        /// Quiz: increasing 0-based indexes of the correct options (Bot API 10.0).
        pub correct_option_ids: Option<Vec<i32>>,
        /// Quiz, before Bot API 10.0: the one correct option (used when
        /// `correct_option_ids` is absent).
        pub correct_option_id: Option<i32>,
        /// Quiz: shown after a wrong answer, 0–200 characters.
        pub explanation: Option<String>,
        /// `parse_mode` of the explanation.
        pub explanation_parse_mode: Option<String>,
        /// Explicit explanation entities.
        pub explanation_entities: Option<Vec<MessageEntity>>,
        /// Seconds the poll stays open, 5–600.
        pub open_period: Option<i32>,
        /// When it closes, unix seconds.
        pub close_date: Option<i64>,
        /// Send it closed.
        pub is_closed: Option<bool>,
    }
}

fn rich(
    text: &str,
    parse_mode: Option<&str>,
    entities: Option<Vec<MessageEntity>>,
) -> Result<FormattedText, ApiError> {
    text::formatted(text, parse_mode, entities)
}

fn poll(req: &SendPoll) -> Result<OutgoingPoll, ApiError> {
    let quiz = match req.kind.as_deref().unwrap_or("regular") {
        "regular" => false,
        "quiz" => true,
        _ => return Err(bad("wrong poll type specified")),
    };
    if req.question.trim().is_empty() {
        return Err(bad("poll question must be non-empty"));
    }
    if req.options.len() < 2 {
        return Err(bad("poll must have at least 2 option"));
    }
    let options = req
        .options
        .iter()
        .map(|o| match o {
            InputPollOptionParam::Text(t) => rich(t, None, None),
            InputPollOptionParam::Option(o) => rich(
                &o.text,
                o.text_parse_mode.as_deref(),
                o.text_entities.clone(),
            ),
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            if e == botapi::ApiError::message_text_empty().into() {
                bad("poll options must be non-empty")
            } else {
                e
            }
        })?;
    let explanation = match &req.explanation {
        Some(e) if !e.trim().is_empty() => Some(rich(
            e,
            req.explanation_parse_mode.as_deref(),
            req.explanation_entities.clone(),
        )?),
        _ => None,
    };
    Ok(OutgoingPoll {
        question: rich(
            &req.question,
            req.question_parse_mode.as_deref(),
            req.question_entities.clone(),
        )?,
        options,
        is_anonymous: req.is_anonymous.unwrap_or(true),
        quiz,
        multiple_choice: req.allows_multiple_answers.unwrap_or(false),
        allows_revoting: req.allows_revoting.unwrap_or(!quiz),
        shuffle_options: req.shuffle_options.unwrap_or(false),
        allow_adding_options: req.allow_adding_options.unwrap_or(false),
        hide_results_until_closes: req.hide_results_until_closes.unwrap_or(false),
        members_only: req.members_only.unwrap_or(false),
        country_codes: req.country_codes.clone().unwrap_or_default(),
        correct_option_ids: match (&req.correct_option_ids, req.correct_option_id) {
            (Some(ids), _) => ids.clone(),
            (None, id) => id.into_iter().collect(),
        },
        explanation,
        open_period: req.open_period,
        close_date: req.close_date.and_then(|d| i32::try_from(d).ok()),
        closed: req.is_closed.unwrap_or(false),
    })
}

/// `POST /api_v1/sendPoll` → the Message with `poll`.
///
/// Errors: 400 "poll must have at least 2 option", "poll question must be non-empty",
/// "poll options must be non-empty", "wrong poll type specified", Telegram's
/// `POLL_ANSWERS_INVALID` (too many options) and `QUIZ_CORRECT_ANSWERS_*`.
pub async fn send_poll(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<SendPoll>,
) -> ApiResult<Message> {
    let media = InlineMedia::Poll(poll(&req)?);
    send_inline!(state, req, media)
}

send_request! {
    /// Parameters of `sendDice`.
    pub struct SendDice {
        /// Target chat: id or `"@username"`.
        pub chat_id: ChatIdParam,
        /// 🎲 (default), 🎯, 🏀, ⚽, 🎳 or 🎰.
        pub emoji: Option<String>,
    }
}

/// `POST /api_v1/sendDice` → the Message with `dice` (random `value`).
///
/// Errors: 400 `EMOTICON_INVALID` for an emoji Telegram does not roll.
pub async fn send_dice(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<SendDice>,
) -> ApiResult<Message> {
    let media = InlineMedia::Dice {
        emoji: req.emoji.clone().unwrap_or_else(|| "🎲".into()),
    };
    send_inline!(state, req, media)
}

/// Parameters of `sendChatAction`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SendChatAction {
    /// Target chat: id or `"@username"`.
    pub chat_id: ChatIdParam,
    /// `typing`, `upload_photo`, `record_video`, `upload_video`, `record_voice`,
    /// `upload_voice`, `upload_document`, `choose_sticker`, `find_location`,
    /// `record_video_note` or `upload_video_note`.
    pub action: String,
    /// Forum topic (sent as the MTProto `top_msg_id`).
    pub message_thread_id: Option<i32>,
}

/// `POST /api_v1/sendChatAction` → `true`; the chat shows the action for about 5 seconds
/// (`messages.setTyping`).
///
/// Errors: 400 "wrong parameter action in request", "chat not found".
pub async fn send_chat_action(
    State(state): State<AppState>,
    BotRequest { params: req, .. }: BotRequest<SendChatAction>,
) -> ApiResult<bool> {
    let action: ChatAction = req
        .action
        .parse()
        .map_err(|e: botapi::types::UnknownChatAction| bad(&e.to_string()))?;
    let tg = &state.telegram;
    let ctx = RpcContext::Send;
    let peer = tg.resolve_chat(&req.chat_id).await.or_api(ctx)?;
    tg.send_chat_action(peer, action, req.message_thread_id)
        .await
        .or_api(ctx)?;
    ok(true)
}
