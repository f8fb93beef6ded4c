//! Sending content that is all metadata — location, venue, contact, poll, dice — through
//! `messages.sendMedia` (Bot API sendLocation, sendVenue, sendContact, sendPoll, sendDice).

use botapi::formatting::FormattedText;
use botapi::types::Message;
use grammers_tl_types as tl;

use crate::outgoing::{self, Sent};
use crate::{Peer, SendOptions, Telegram, TelegramError, entities};

fn text_with_entities(text: &FormattedText) -> tl::enums::TextWithEntities {
    tl::enums::TextWithEntities::Entities(tl::types::TextWithEntities {
        text: text.text.clone(),
        entities: entities::to_tl(&text.entities),
    })
}

/// A poll to send (Bot API `sendPoll`).
#[derive(Clone, Debug, Default)]
pub struct OutgoingPoll {
    /// 1–300 characters, with entities (UTF-16 offsets).
    pub question: FormattedText,
    /// 2–12 options (Telegram's limit), 1–100 characters each.
    pub options: Vec<FormattedText>,
    /// Voters are hidden (the Bot API's default).
    pub is_anonymous: bool,
    /// A quiz.
    pub quiz: bool,
    /// Several options may be chosen.
    pub multiple_choice: bool,
    /// Voters may change their answer (MTProto: not `revoting_disabled`).
    pub allows_revoting: bool,
    /// Options are shown in random order.
    pub shuffle_options: bool,
    /// Voters may add options (MTProto `open_answers`).
    pub allow_adding_options: bool,
    /// Results are shown only after the poll closes.
    pub hide_results_until_closes: bool,
    /// Only members of the chat may vote (MTProto `subscribers_only`).
    pub members_only: bool,
    /// Only users from these countries may vote (ISO 3166-1 alpha-2 codes); empty: anyone.
    pub country_codes: Vec<String>,
    /// Quiz: 0-based indexes of the correct options, increasing.
    pub correct_option_ids: Vec<i32>,
    /// Quiz: shown after answering.
    pub explanation: Option<FormattedText>,
    /// Seconds the poll stays open.
    pub open_period: Option<i32>,
    /// When it closes, unix seconds.
    pub close_date: Option<i32>,
    /// Send it closed.
    pub closed: bool,
}

/// Content without a file. Coordinates in degrees, radii in meters, periods in seconds.
#[derive(Clone, Debug)]
pub enum InlineMedia {
    /// A point; with `live_period` a live location.
    Location {
        /// -90..90.
        latitude: f64,
        /// -180..180.
        longitude: f64,
        /// Uncertainty radius.
        horizontal_accuracy: Option<f64>,
        /// Live locations: how long it is updated.
        live_period: Option<i32>,
        /// Live locations: direction, 1–360.
        heading: Option<i32>,
        /// Live locations: proximity alert distance.
        proximity_alert_radius: Option<i32>,
    },
    /// A venue; `provider` is `foursquare` or `gplaces` (or empty).
    Venue {
        /// -90..90.
        latitude: f64,
        /// -180..180.
        longitude: f64,
        /// Name.
        title: String,
        /// Address.
        address: String,
        /// `foursquare`, `gplaces` or empty.
        provider: String,
        /// The provider's venue id.
        venue_id: String,
        /// The provider's venue type.
        venue_type: String,
    },
    /// A phone contact.
    Contact {
        /// Phone number.
        phone_number: String,
        /// First name.
        first_name: String,
        /// Last name (may be empty).
        last_name: String,
        /// vCard (may be empty).
        vcard: String,
    },
    /// A poll.
    Poll(OutgoingPoll),
    /// An animated emoji with a random value (🎲 🎯 🏀 ⚽ 🎳 🎰).
    Dice {
        /// The emoji.
        emoji: String,
    },
}

fn point(latitude: f64, longitude: f64, accuracy: Option<f64>) -> tl::enums::InputGeoPoint {
    tl::enums::InputGeoPoint::Point(tl::types::InputGeoPoint {
        lat: latitude,
        long: longitude,
        accuracy_radius: accuracy.map(|a| a.round() as i32),
    })
}

fn poll_media(p: &OutgoingPoll) -> tl::enums::InputMedia {
    let answers = p
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            tl::enums::PollAnswer::Answer(tl::types::PollAnswer {
                text: text_with_entities(o),
                option: i.to_string().into_bytes(),
                media: None,
                added_by: None,
                date: None,
            })
        })
        .collect();
    let poll = tl::types::Poll {
        id: 0,
        closed: p.closed,
        public_voters: !p.is_anonymous,
        multiple_choice: p.multiple_choice,
        quiz: p.quiz,
        open_answers: p.allow_adding_options,
        revoting_disabled: !p.allows_revoting,
        shuffle_answers: p.shuffle_options,
        hide_results_until_close: p.hide_results_until_closes,
        creator: false,
        subscribers_only: p.members_only,
        question: text_with_entities(&p.question),
        answers,
        close_period: p.open_period,
        close_date: p.close_date,
        countries_iso2: (!p.country_codes.is_empty()).then(|| p.country_codes.clone()),
        hash: 0,
    };
    tl::enums::InputMedia::Poll(Box::new(tl::types::InputMediaPoll {
        poll: tl::enums::Poll::Poll(poll),
        correct_answers: (!p.correct_option_ids.is_empty()).then(|| p.correct_option_ids.clone()),
        attached_media: None,
        solution: p.explanation.as_ref().map(|e| e.text.clone()),
        solution_entities: p.explanation.as_ref().map(|e| entities::to_tl(&e.entities)),
        solution_media: None,
    }))
}

impl InlineMedia {
    fn to_tl(&self) -> tl::enums::InputMedia {
        use tl::enums::InputMedia as M;
        match self {
            InlineMedia::Location {
                latitude,
                longitude,
                horizontal_accuracy,
                live_period: Some(period),
                heading,
                proximity_alert_radius,
            } => M::GeoLive(tl::types::InputMediaGeoLive {
                stopped: false,
                geo_point: point(*latitude, *longitude, *horizontal_accuracy),
                heading: *heading,
                period: Some(*period),
                proximity_notification_radius: *proximity_alert_radius,
            }),
            InlineMedia::Location {
                latitude,
                longitude,
                horizontal_accuracy,
                ..
            } => M::GeoPoint(tl::types::InputMediaGeoPoint {
                geo_point: point(*latitude, *longitude, *horizontal_accuracy),
            }),
            InlineMedia::Venue {
                latitude,
                longitude,
                title,
                address,
                provider,
                venue_id,
                venue_type,
            } => M::Venue(tl::types::InputMediaVenue {
                geo_point: point(*latitude, *longitude, None),
                title: title.clone(),
                address: address.clone(),
                provider: provider.clone(),
                venue_id: venue_id.clone(),
                venue_type: venue_type.clone(),
            }),
            InlineMedia::Contact {
                phone_number,
                first_name,
                last_name,
                vcard,
            } => M::Contact(tl::types::InputMediaContact {
                phone_number: phone_number.clone(),
                first_name: first_name.clone(),
                last_name: last_name.clone(),
                vcard: vcard.clone(),
            }),
            InlineMedia::Poll(p) => poll_media(p),
            InlineMedia::Dice { emoji } => M::Dice(tl::types::InputMediaDice {
                emoticon: emoji.clone(),
            }),
        }
    }
}

impl Telegram {
    /// Sends a location, venue, contact, poll or dice; returns the sent message (with
    /// `reply_to_message` when replying).
    ///
    /// Errors: `GEO_POINT_INVALID`, `POLL_ANSWERS_INVALID`, `EMOTICON_INVALID`,
    /// `MEDIA_INVALID`, `CHAT_WRITE_FORBIDDEN`, … as RPC errors.
    pub async fn send_inline(
        &self,
        peer: Peer,
        media: &InlineMedia,
        options: SendOptions,
    ) -> Result<Message, TelegramError> {
        let result = self
            .client
            .invoke(&tl::functions::messages::SendMedia {
                silent: options.silent,
                background: false,
                clear_draft: false,
                noforwards: options.noforwards,
                update_stickersets_order: false,
                invert_media: false,
                allow_paid_floodskip: false,
                peer: (&peer).into(),
                reply_to: options.reply_header(),
                media: media.to_tl(),
                message: String::new(),
                random_id: outgoing::random_id(0),
                reply_markup: options.markup(),
                entities: None,
                schedule_date: None,
                schedule_repeat_period: None,
                send_as: None,
                quick_reply_shortcut: None,
                effect: None,
                allow_paid_stars: None,
                suggested_post: None,
            })
            .await;
        let message = match result {
            Ok(updates) => self
                .new_messages(updates)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| TelegramError::Unexpected("the result carried no message".into()))?,
            Err(e) if outgoing::is_duplicate(&e) => {
                self.find_one_sent(peer, Sent::Media("")).await?
            }
            Err(e) => return Err(e.into()),
        };
        self.with_reply(peer, message, &options).await
    }
}
