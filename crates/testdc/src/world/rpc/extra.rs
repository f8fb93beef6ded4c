//! The rest of what a Bot API gateway needs from Telegram: forwarding, pinning, reactions,
//! typing, search, and media that is all metadata (location, venue, contact, poll, dice).

use grammers_tl_types::{self as tl, functions as f};

use super::SideEffects;
use super::write::Outgoing;
use crate::world::media::MediaRef;
use crate::world::{ChatRef, MessageBox, RpcError, ServiceAction, StoredMessage, World, tl_build};

/// Emoji Telegram accepts as dice and the largest value each rolls
/// (<https://core.telegram.org/api/dice>).
const DICE: [(&str, i32); 6] = [
    ("🎲", 6),
    ("🎯", 6),
    ("🎳", 6),
    ("🏀", 5),
    ("⚽", 5),
    ("🎰", 64),
];

fn geo(point: &tl::enums::InputGeoPoint) -> Result<tl::enums::GeoPoint, RpcError> {
    match point {
        tl::enums::InputGeoPoint::Point(p)
            if (-90.0..=90.0).contains(&p.lat) && (-180.0..=180.0).contains(&p.long) =>
        {
            Ok(tl::enums::GeoPoint::Point(tl::types::GeoPoint {
                long: p.long,
                lat: p.lat,
                access_hash: 0,
                accuracy_radius: p.accuracy_radius,
            }))
        }
        _ => Err(RpcError::bad("GEO_POINT_INVALID")),
    }
}

fn inline(media: tl::enums::MessageMedia) -> MediaRef {
    MediaRef::Inline(Box::new(media))
}

impl World {
    /// `InputMedia` kinds that carry no file, as the `MessageMedia` recipients see.
    /// Errors: `GEO_POINT_INVALID`, `POLL_ANSWERS_INVALID` (fewer than 2 or more than 10 answers),
    /// `EMOTICON_INVALID` (not a dice emoji), `MEDIA_INVALID`.
    pub(crate) fn inline_media(
        &mut self,
        media: &tl::enums::InputMedia,
    ) -> Result<MediaRef, RpcError> {
        use tl::enums::InputMedia as M;
        Ok(inline(match media {
            M::GeoPoint(g) => tl::enums::MessageMedia::Geo(tl::types::MessageMediaGeo {
                geo: geo(&g.geo_point)?,
            }),
            M::Venue(v) => tl::enums::MessageMedia::Venue(tl::types::MessageMediaVenue {
                geo: geo(&v.geo_point)?,
                title: v.title.clone(),
                address: v.address.clone(),
                provider: v.provider.clone(),
                venue_id: v.venue_id.clone(),
                venue_type: v.venue_type.clone(),
            }),
            M::Contact(c) => tl::enums::MessageMedia::Contact(tl::types::MessageMediaContact {
                phone_number: c.phone_number.clone(),
                first_name: c.first_name.clone(),
                last_name: c.last_name.clone(),
                vcard: c.vcard.clone(),
                user_id: self
                    .users
                    .values()
                    .find(|u| u.phone.as_deref() == Some(c.phone_number.trim_start_matches('+')))
                    .map_or(0, |u| u.id),
            }),
            M::Poll(p) => {
                let tl::enums::Poll::Poll(poll) = &p.poll;
                if !(2..=10).contains(&poll.answers.len()) {
                    return Err(RpcError::bad("POLL_ANSWERS_INVALID"));
                }
                let correct = quiz_answers(poll, p.correct_answers.as_deref())?;
                let answers = poll
                    .answers
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        let text = match a {
                            tl::enums::PollAnswer::Answer(a) => a.text.clone(),
                            tl::enums::PollAnswer::InputPollAnswer(a) => a.text.clone(),
                        };
                        tl::enums::PollAnswer::Answer(tl::types::PollAnswer {
                            text,
                            option: vec![b'0' + i as u8],
                            media: None,
                            added_by: None,
                            date: None,
                        })
                    })
                    .collect();
                tl::enums::MessageMedia::Poll(Box::new(tl::types::MessageMediaPoll {
                    poll: tl::enums::Poll::Poll(tl::types::Poll {
                        id: rand::random(),
                        answers,
                        ..poll.clone()
                    }),
                    // What the creator sees: which options are correct, and the solution.
                    results: tl::enums::PollResults::Results(Box::new(tl::types::PollResults {
                        min: false,
                        has_unread_votes: false,
                        can_view_stats: false,
                        results: (!correct.is_empty()).then(|| {
                            (0..poll.answers.len())
                                .map(|i| {
                                    tl::enums::PollAnswerVoters::Voters(
                                        tl::types::PollAnswerVoters {
                                            chosen: false,
                                            correct: correct.contains(&(i as i32)),
                                            option: vec![b'0' + i as u8],
                                            voters: Some(0),
                                            recent_voters: Some(Vec::new()),
                                        },
                                    )
                                })
                                .collect()
                        }),
                        total_voters: Some(0),
                        recent_voters: None,
                        solution: p.solution.clone(),
                        solution_entities: p.solution_entities.clone(),
                        solution_media: None,
                    })),
                    attached_media: None,
                }))
            }
            M::Dice(d) => {
                let (_, max) = DICE
                    .iter()
                    .find(|(e, _)| *e == d.emoticon)
                    .ok_or_else(|| RpcError::bad("EMOTICON_INVALID"))?;
                tl::enums::MessageMedia::Dice(tl::types::MessageMediaDice {
                    value: rand::random_range(1..=*max),
                    emoticon: d.emoticon.clone(),
                    game_outcome: None,
                })
            }
            _ => return Err(RpcError::bad("MEDIA_INVALID")),
        }))
    }

    /// `messages.forwardMessages`: copies of `id` from `from_peer` into `to_peer`, with a
    /// forward header unless `drop_author` (how Bot API `copyMessage` is done).
    /// Errors: `RANDOM_ID_INVALID` (count mismatch), `MESSAGE_ID_INVALID` (none found),
    /// plus those of sending.
    pub(super) fn forward_messages(
        &mut self,
        req: &f::messages::ForwardMessages,
        fx: &mut SideEffects,
    ) -> Result<tl::enums::Updates, RpcError> {
        if req.id.len() != req.random_id.len() || req.id.is_empty() {
            return Err(RpcError::bad("RANDOM_ID_INVALID"));
        }
        let from = self.resolve_peer(&req.from_peer)?;
        let originals: Vec<(StoredMessage, i64)> = req
            .id
            .iter()
            .zip(&req.random_id)
            .filter_map(|(id, random_id)| Some((self.find(from, *id)?.clone(), *random_id)))
            .collect();
        if originals.is_empty() {
            return Err(RpcError::bad("MESSAGE_ID_INVALID"));
        }
        let mut updates = Vec::new();
        let mut peers = (Vec::new(), Vec::new());
        for (original, random_id) in originals {
            let fwd_from = (!req.drop_author).then(|| {
                tl::enums::MessageFwdHeader::Header(tl::types::MessageFwdHeader {
                    imported: false,
                    saved_out: false,
                    from_id: original.from.or(Some(original.chat)).map(tl_build::peer),
                    from_name: None,
                    date: original.date,
                    channel_post: original.post.then_some(original.id),
                    post_author: None,
                    saved_from_peer: None,
                    saved_from_msg_id: None,
                    saved_from_id: None,
                    saved_from_name: None,
                    saved_date: None,
                    psa_type: None,
                })
            });
            let keep_text = !(req.drop_media_captions && original.media.is_some());
            let text = if keep_text {
                original.text.clone()
            } else {
                String::new()
            };
            let out = Outgoing {
                peer: &req.to_peer,
                text: &text,
                entities: keep_text.then_some(original.entities.as_slice()),
                reply_to: req.reply_to.as_ref(),
                random_id,
                fwd_from,
                grouped_id: None,
            };
            let mut one = SideEffects::default();
            let result = self.post_outgoing(out, original.media.clone(), &mut one)?;
            fx.pushes.append(&mut one.pushes);
            fx.events.append(&mut one.events);
            if let tl::enums::Updates::Updates(u) = result {
                updates.extend(u.updates);
                peers = (u.users, u.chats);
            }
        }
        Ok(tl::enums::Updates::Updates(tl::types::Updates {
            updates,
            users: peers.0,
            chats: peers.1,
            date: crate::world::now(),
            seq: 0,
        }))
    }

    /// `messages.updatePinnedMessage` (pin or unpin one message). Errors: `MESSAGE_ID_INVALID`.
    ///
    /// Pinning a message not pinned yet, for both sides, in a private chat with another user or
    /// a basic group also posts the account's `messageService` with `messageActionPinMessage`
    /// replying to it, in the same `Updates` (clients such as Telethon's `pin_message` return
    /// that message). Unpinning, re-pinning, `pm_oneside` and Saved Messages post none, as on
    /// Telegram. Not done for channels and supergroups yet.
    pub(super) fn update_pinned(
        &mut self,
        req: &f::messages::UpdatePinnedMessage,
        fx: &mut SideEffects,
    ) -> Result<tl::enums::Updates, RpcError> {
        let chat = self.resolve_peer(&req.peer)?;
        let mbox = self
            .box_of_mut(chat)
            .filter(|b| b.messages.get(&req.id).is_some_and(|m| m.chat == chat))
            .ok_or_else(|| RpcError::bad("MESSAGE_ID_INVALID"))?;
        let was_pinned = mbox.messages.get(&req.id).is_some_and(|m| m.pinned);
        let mut updates = vec![set_pinned(mbox, chat, &[req.id], !req.unpin)];
        // Telegram announces a new pin in a private chat with someone else or a basic group
        // with a service message replying to the pinned one (not in Saved Messages, not for
        // `pm_oneside`, not when it was pinned already; channels: not modelled).
        let announced = match chat {
            ChatRef::User(id) => id != self.self_id,
            ChatRef::Chat(_) => true,
            ChatRef::Channel(_) => false,
        };
        let mut mentioned = Vec::new();
        if announced && !req.unpin && !req.pm_oneside && !was_pinned {
            let (service, update) = self.store_new(StoredMessage {
                id: 0,
                chat,
                from: Some(ChatRef::User(self.self_id)),
                out: true,
                date: crate::world::now(),
                text: String::new(),
                entities: Vec::new(),
                reply_to: Some(req.id),
                edit_date: None,
                post: false,
                media: None,
                fwd_from: None,
                pinned: false,
                reactions: Vec::new(),
                grouped_id: None,
                action: Some(ServiceAction::PinMessage),
            })?;
            updates.push(update);
            mentioned.push(service);
        }
        fx.pushes
            .push(self.wrap_updates(updates.clone(), &mentioned));
        Ok(self.wrap_updates(updates, &mentioned))
    }

    /// `messages.unpinAllMessages`: every pinned message of the chat.
    pub(super) fn unpin_all(
        &mut self,
        req: &f::messages::UnpinAllMessages,
        fx: &mut SideEffects,
    ) -> Result<tl::enums::messages::AffectedHistory, RpcError> {
        let chat = self.resolve_peer(&req.peer)?;
        let mbox = self
            .box_of_mut(chat)
            .ok_or_else(|| RpcError::bad("PEER_ID_INVALID"))?;
        // Newest first, as the history lists them.
        let pinned: Vec<i32> = mbox
            .messages
            .values()
            .rev()
            .filter(|m| m.chat == chat && m.pinned)
            .map(|m| m.id)
            .collect();
        let update = (!pinned.is_empty()).then(|| set_pinned(mbox, chat, &pinned, false));
        let pts = mbox.pts;
        if let Some(update) = update {
            fx.pushes.push(self.wrap_updates(vec![update], &[]));
        }
        Ok(tl::enums::messages::AffectedHistory::History(
            tl::types::messages::AffectedHistory {
                pts,
                pts_count: i32::from(!pinned.is_empty()),
                offset: 0,
            },
        ))
    }

    /// `messages.sendReaction`: the account's reaction on a message (empty list removes it).
    /// Errors: `MESSAGE_ID_INVALID`, `REACTION_INVALID` (not a single emoji reaction).
    pub(super) fn send_reaction(
        &mut self,
        req: &f::messages::SendReaction,
        fx: &mut SideEffects,
    ) -> Result<tl::enums::Updates, RpcError> {
        let chat = self.resolve_peer(&req.peer)?;
        let chosen = match req.reaction.as_deref() {
            None | Some([]) => None,
            Some([tl::enums::Reaction::Emoji(e)]) if !e.emoticon.is_empty() => {
                Some(e.emoticon.clone())
            }
            Some(_) => return Err(RpcError::bad("REACTION_INVALID")),
        };
        let Some(m) = self
            .box_of_mut(chat)
            .and_then(|b| b.messages.get_mut(&req.msg_id))
            .filter(|m| m.chat == chat)
        else {
            return Err(RpcError::bad("MESSAGE_ID_INVALID"));
        };
        for r in &mut m.reactions {
            if r.2 {
                r.1 -= 1;
                r.2 = false;
            }
        }
        if let Some(emoji) = chosen {
            match m.reactions.iter_mut().find(|r| r.0 == emoji) {
                Some(r) => {
                    r.1 += 1;
                    r.2 = true;
                }
                None => m.reactions.push((emoji, 1, true)),
            }
        }
        m.reactions.retain(|r| r.1 > 0);
        let update = tl::enums::Update::MessageReactions(tl::types::UpdateMessageReactions {
            peer: tl_build::peer(chat),
            msg_id: req.msg_id,
            top_msg_id: None,
            saved_peer_id: None,
            reactions: tl_build::reactions(&m.reactions),
        });
        fx.pushes.push(self.wrap_updates(vec![update.clone()], &[]));
        Ok(self.wrap_updates(vec![update], &[]))
    }

    /// `messages.search` within one chat: case-insensitive substring match on text, newest
    /// first, paged by `offset_id` and `limit`. Filters other than "empty" match nothing.
    pub(super) fn search(
        &self,
        req: &f::messages::Search,
    ) -> Result<tl::enums::messages::Messages, RpcError> {
        let chat = self.resolve_peer(&req.peer)?;
        let from = req
            .from_id
            .as_ref()
            .map(|p| self.resolve_peer(p))
            .transpose()?;
        let q = req.q.to_lowercase();
        let any_filter = !matches!(
            req.filter,
            tl::enums::MessagesFilter::InputMessagesFilterEmpty
        );
        let found: Vec<StoredMessage> = self
            .history(chat)
            .into_iter()
            .filter(|m| !any_filter && m.text.to_lowercase().contains(&q))
            .filter(|m| from.is_none() || m.from == from)
            .filter(|m| req.offset_id <= 0 || m.id < req.offset_id)
            .collect();
        let count = found.len() as i32;
        let page: Vec<StoredMessage> = found
            .into_iter()
            .take(req.limit.clamp(0, 100) as usize)
            .collect();
        let (users, chats) = self.peers_of(&page);
        Ok(tl::enums::messages::Messages::Slice(
            tl::types::messages::MessagesSlice {
                inexact: false,
                count,
                next_rate: None,
                offset_id_offset: None,
                search_flood: None,
                messages: page.iter().map(|m| self.tl_message(m)).collect(),
                topics: Vec::new(),
                chats,
                users,
            },
        ))
    }

    /// `messages.setTyping`: accepted for chats the account can write to.
    pub(super) fn set_typing(&self, req: &f::messages::SetTyping) -> Result<bool, RpcError> {
        self.resolve_peer(&req.peer)?;
        Ok(true)
    }
}

/// The correct options of a quiz as Telegram checks them: a quiz needs at least one
/// (`QUIZ_CORRECT_ANSWERS_EMPTY`), each an index of an option (`QUIZ_CORRECT_ANSWERS_INVALID`),
/// several only when several answers may be chosen (`QUIZ_CORRECT_ANSWERS_TOO_MUCH`); a
/// regular poll has none.
fn quiz_answers(poll: &tl::types::Poll, correct: Option<&[i32]>) -> Result<Vec<i32>, RpcError> {
    let correct = correct.unwrap_or_default();
    if !poll.quiz {
        return Ok(Vec::new());
    }
    if correct.is_empty() {
        return Err(RpcError::bad("QUIZ_CORRECT_ANSWERS_EMPTY"));
    }
    if correct
        .iter()
        .any(|&i| usize::try_from(i).map_or(true, |i| i >= poll.answers.len()))
    {
        return Err(RpcError::bad("QUIZ_CORRECT_ANSWERS_INVALID"));
    }
    if correct.len() > 1 && !poll.multiple_choice {
        return Err(RpcError::bad("QUIZ_CORRECT_ANSWERS_TOO_MUCH"));
    }
    Ok(correct.to_vec())
}

/// Pins or unpins messages `ids` of `chat` in its box `mbox` and journals the update.
fn set_pinned(
    mbox: &mut MessageBox,
    chat: ChatRef,
    ids: &[i32],
    pinned: bool,
) -> tl::enums::Update {
    for id in ids {
        if let Some(m) = mbox.messages.get_mut(id) {
            m.pinned = pinned;
        }
    }
    let messages = ids.to_vec();
    mbox.journal(1, |pts| match chat {
        ChatRef::Channel(channel_id) => {
            tl::enums::Update::PinnedChannelMessages(tl::types::UpdatePinnedChannelMessages {
                pinned,
                channel_id,
                messages,
                pts,
                pts_count: 1,
            })
        }
        _ => tl::enums::Update::PinnedMessages(tl::types::UpdatePinnedMessages {
            pinned,
            peer: tl_build::peer(chat),
            messages,
            pts,
            pts_count: 1,
        }),
    })
}
