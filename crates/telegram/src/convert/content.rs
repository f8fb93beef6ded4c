//! Message content without a file — location, venue, contact, poll, dice — in Bot API shape
//! (<https://core.telegram.org/bots/api#location> … `#dice`).

use botapi::types::{Contact, Dice, Location, Message, Poll, PollOption, Venue};
use grammers_tl_types as tl;

use crate::entities;

fn location(geo: &tl::enums::GeoPoint) -> Option<Location> {
    match geo {
        tl::enums::GeoPoint::Point(p) => Some(Location {
            horizontal_accuracy: p.accuracy_radius.map(f64::from),
            ..Location::new(p.lat, p.long)
        }),
        tl::enums::GeoPoint::Empty => None,
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Fills `location`, `venue` (plus `location`), `contact`, `poll` or `dice` on `out` from a
/// message's media. Returns whether it did (other media kinds are left to [`crate::media`]).
pub(super) fn apply(media: &tl::enums::MessageMedia, out: &mut Message) -> bool {
    use tl::enums::MessageMedia as M;
    match media {
        M::Geo(g) => out.location = location(&g.geo),
        M::GeoLive(g) => {
            out.location = location(&g.geo).map(|l| Location {
                live_period: Some(g.period),
                heading: g.heading,
                proximity_alert_radius: g.proximity_notification_radius,
                ..l
            })
        }
        M::Venue(v) => {
            let Some(at) = location(&v.geo) else {
                return false;
            };
            let foursquare = v.provider == "foursquare";
            let google = v.provider == "gplaces";
            out.location = Some(at.clone());
            out.venue = Some(Venue {
                location: at,
                title: v.title.clone(),
                address: v.address.clone(),
                foursquare_id: non_empty(&v.venue_id).filter(|_| foursquare),
                foursquare_type: non_empty(&v.venue_type).filter(|_| foursquare),
                google_place_id: non_empty(&v.venue_id).filter(|_| google),
                google_place_type: non_empty(&v.venue_type).filter(|_| google),
            });
        }
        M::Contact(c) => {
            out.contact = Some(Contact {
                phone_number: c.phone_number.clone(),
                first_name: c.first_name.clone(),
                last_name: non_empty(&c.last_name),
                user_id: (c.user_id != 0).then_some(c.user_id),
                vcard: non_empty(&c.vcard),
            })
        }
        M::Dice(d) => {
            out.dice = Some(Dice {
                emoji: d.emoticon.clone(),
                value: d.value,
            })
        }
        M::Poll(p) => out.poll = Some(poll(p)),
        _ => return false,
    }
    true
}

fn text_of(t: &tl::enums::TextWithEntities) -> (String, Vec<tl::enums::MessageEntity>) {
    let tl::enums::TextWithEntities::Entities(t) = t;
    (t.text.clone(), t.entities.clone())
}

fn poll(media: &tl::types::MessageMediaPoll) -> Poll {
    let tl::enums::Poll::Poll(poll) = &media.poll;
    let tl::enums::PollResults::Results(results) = &media.results;
    let voters = results.results.as_deref().unwrap_or_default();
    let voters_of = |option: &[u8]| {
        voters.iter().find_map(|v| match v {
            tl::enums::PollAnswerVoters::Voters(v) if v.option == option => Some(v),
            _ => None,
        })
    };
    let mut correct_option_ids = Vec::new();
    let options = poll
        .answers
        .iter()
        .enumerate()
        .map(|(i, answer)| {
            let (text, option) = match answer {
                tl::enums::PollAnswer::Answer(a) => (text_of(&a.text), a.option.as_slice()),
                tl::enums::PollAnswer::InputPollAnswer(a) => (text_of(&a.text), &[][..]),
            };
            let counted = voters_of(option);
            if counted.is_some_and(|v| v.correct) {
                correct_option_ids.push(i as i32);
            }
            let entities = entities::from_tl(&text.1);
            PollOption {
                persistent_id: persistent_id(i, option),
                text: text.0,
                text_entities: (!entities.is_empty()).then_some(entities),
                voter_count: counted.and_then(|v| v.voters).unwrap_or(0),
            }
        })
        .collect();
    let (question, question_entities) = text_of(&poll.question);
    let question_entities = entities::from_tl(&question_entities);
    Poll {
        id: poll.id.to_string(),
        question,
        question_entities: (!question_entities.is_empty()).then_some(question_entities),
        options,
        total_voter_count: results.total_voters.unwrap_or(0),
        is_closed: poll.closed,
        is_anonymous: !poll.public_voters,
        kind: if poll.quiz { "quiz" } else { "regular" }.into(),
        allows_multiple_answers: poll.multiple_choice,
        allows_revoting: !poll.revoting_disabled,
        members_only: poll.subscribers_only,
        country_codes: poll.countries_iso2.clone(),
        correct_option_id: correct_option_ids.first().copied(),
        correct_option_ids: (!correct_option_ids.is_empty()).then_some(correct_option_ids),
        explanation: results.solution.clone(),
        open_period: poll.close_period,
        close_date: poll.close_date.map(i64::from),
    }
}

/// A poll option's Bot API `persistent_id`: its MTProto option bytes (unique within the poll and
/// kept when options are added or removed) in lowercase hex; the index for an option without
/// bytes (an `inputPollAnswer`, only ever in requests).
fn persistent_id(index: usize, option: &[u8]) -> String {
    if option.is_empty() {
        return index.to_string();
    }
    option.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use botapi::types::{Chat, ChatType};

    #[test]
    fn persistent_ids_are_the_option_bytes_in_hex() {
        assert_eq!(persistent_id(0, b"0"), "30");
        assert_eq!(persistent_id(1, &[0xff, 0x01]), "ff01");
        assert_eq!(persistent_id(2, &[]), "2");
    }

    fn message() -> Message {
        Message::new(1, 0, Chat::new(1, ChatType::Private))
    }

    #[test]
    fn venues_also_fill_location_and_name_their_provider() {
        let venue = tl::enums::MessageMedia::Venue(tl::types::MessageMediaVenue {
            geo: tl::enums::GeoPoint::Point(tl::types::GeoPoint {
                long: 2.0,
                lat: 1.0,
                access_hash: 0,
                accuracy_radius: None,
            }),
            title: "T".into(),
            address: "A".into(),
            provider: "gplaces".into(),
            venue_id: "g1".into(),
            venue_type: String::new(),
        });
        let mut out = message();
        assert!(apply(&venue, &mut out));
        assert_eq!(out.location, Some(Location::new(1.0, 2.0)));
        let venue = out.venue.expect("venue");
        assert_eq!(venue.google_place_id.as_deref(), Some("g1"));
        assert_eq!(venue.foursquare_id, None);
    }

    #[test]
    fn dice_and_unrelated_media() {
        let dice = tl::enums::MessageMedia::Dice(tl::types::MessageMediaDice {
            value: 4,
            emoticon: "🎯".into(),
            game_outcome: None,
        });
        let mut out = message();
        assert!(apply(&dice, &mut out));
        assert_eq!(
            out.dice,
            Some(Dice {
                emoji: "🎯".into(),
                value: 4
            })
        );
        assert!(!apply(&tl::enums::MessageMedia::Empty, &mut message()));
    }
}
