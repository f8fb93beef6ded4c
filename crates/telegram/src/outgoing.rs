//! The `random_id` of each send, and finding what a send produced when its answer was lost.
//!
//! Telegram de-duplicates sends by `random_id`: a request that reached it once and is sent
//! again (grammers resends after a dropped connection; the sender's queue retries after a
//! restart) is refused with `RANDOM_ID_DUPLICATE`, although the message exists. MTProto offers
//! no lookup by `random_id`, so the message is found again in the chat's recent history: the
//! newest outgoing messages matching what was sent. That is exact as long as one send per chat
//! is in flight at a time — the sender's queue runs one per chat — and no other client of the
//! account sends the same content into that chat in between.

use std::future::Future;

use botapi::types::Message;
use grammers_client::InvocationError;
use grammers_tl_types as tl;

use crate::{Peer, Telegram, TelegramError, convert};

/// How many of a chat's newest messages are searched for a lost send (one history page).
const RECOVERY_WINDOW: i32 = 50;

tokio::task_local! {
    static RANDOM_ID: i64;
}

/// Runs `send` with `random_id` as the `random_id` of every send call it makes (the `n`th
/// message of a multi-message send, such as an album or a forward of several, gets
/// `random_id + n`). The caller keeps it across retries, so Telegram sees one send, however
/// often it is tried. Without this scope each call draws a fresh random id.
pub async fn with_random_id<F: Future>(random_id: i64, send: F) -> F::Output {
    RANDOM_ID.scope(random_id, send).await
}

/// The `random_id` of the `n`th message of the send being made (see [`with_random_id`]).
pub(crate) fn random_id(n: usize) -> i64 {
    RANDOM_ID
        .try_with(|base| base.wrapping_add(n as i64))
        .unwrap_or_else(|_| rand::random())
}

/// Whether Telegram refused a send because its `random_id` was already used: the message was
/// sent by an earlier try.
pub(crate) fn is_duplicate(error: &InvocationError) -> bool {
    matches!(error, InvocationError::Rpc(rpc) if rpc.name == "RANDOM_ID_DUPLICATE")
}

/// What a lost send looked like, to recognise its messages in the chat.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Sent<'a> {
    /// A text message.
    Text(&'a str),
    /// One media message with this caption.
    Media(&'a str),
    /// `count` messages of one album.
    Album(usize),
    /// Up to `count` forwarded (`forwarded`: with a forward header) or copied messages.
    Forwards { count: usize, forwarded: bool },
}

impl Sent<'_> {
    fn count(self) -> usize {
        match self {
            Sent::Text(_) | Sent::Media(_) => 1,
            Sent::Album(count) | Sent::Forwards { count, .. } => count.max(1),
        }
    }

    fn matches(self, m: &tl::types::Message) -> bool {
        match self {
            Sent::Text(text) => m.media.is_none() && m.message.trim() == text.trim(),
            Sent::Media(caption) => m.media.is_some() && m.message.trim() == caption.trim(),
            Sent::Album(_) => m.grouped_id.is_some(),
            Sent::Forwards { forwarded, .. } => !forwarded || m.fwd_from.is_some(),
        }
    }
}

impl Telegram {
    /// The messages a send produced although its answer was lost (`RANDOM_ID_DUPLICATE` on a
    /// retry): the newest outgoing messages of `peer` that match `sent`, oldest first.
    ///
    /// Errors: [`TelegramError::Unexpected`] when none is among the chat's
    /// [`RECOVERY_WINDOW`] newest messages (Telegram says it was sent, so this is no client
    /// error); history errors as RPC errors.
    pub(crate) async fn find_sent(
        &self,
        peer: Peer,
        sent: Sent<'_>,
    ) -> Result<Vec<Message>, TelegramError> {
        let raw = self.raw_history(peer, 0, RECOVERY_WINDOW).await?;
        let mut found: Vec<&tl::enums::Message> = Vec::new();
        let mut group = None;
        for m in &raw.messages {
            let tl::enums::Message::Message(inner) = m else {
                continue;
            };
            if !inner.out || !sent.matches(inner) {
                continue;
            }
            if let Sent::Album(_) = sent {
                // An album's messages share one grouped_id: stop at the next album.
                if group.get_or_insert(inner.grouped_id) != &inner.grouped_id {
                    break;
                }
            }
            found.push(m);
            if found.len() == sent.count() {
                break;
            }
        }
        if found.is_empty() {
            return Err(TelegramError::Unexpected(
                "Telegram reports the message as sent, but it is not among the chat's newest"
                    .into(),
            ));
        }
        tracing::info!(
            count = found.len(),
            "a send whose answer was lost was found in the chat's history"
        );
        Ok(found
            .into_iter()
            .rev()
            .filter_map(|m| convert::message(m, &raw.peers))
            .collect())
    }

    /// The one message of a lost single send ([`Telegram::find_sent`]).
    pub(crate) async fn find_one_sent(
        &self,
        peer: Peer,
        sent: Sent<'_>,
    ) -> Result<Message, TelegramError> {
        self.find_sent(peer, sent)
            .await?
            .pop()
            .ok_or_else(|| TelegramError::Unexpected("the lost send was not found".into()))
    }
}
