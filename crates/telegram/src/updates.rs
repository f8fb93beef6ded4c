//! The receiver's view of updates: grammers' update stream (gap filling, getDifference after
//! reconnects and restarts) turned into [`Event`]s, and the update position saved only where
//! nothing handed out could be skipped by a restart.
//!
//! Why not grammers' `sync_update_state`: it saves the message box, which runs ahead of what
//! the caller has seen — a whole getDifference batch (up to 1,000 messages, all tagged with the
//! batch's final pts) is applied before its first message is handed out. Saving that after the
//! first message and crashing would lose the other 999. Instead every handed-out update's own
//! state is merged into [`Position`], and [`UpdateStream::checkpoint`] returns it only at a
//! batch boundary: when the next update is not already waiting (grammers hands out a batch
//! from its buffer without awaiting anything, so "not ready at once" means the batch is done).
//!
//! The caller persists checkpoints itself (the receiver: in its outbox) rather than in the
//! session: the parked look-ahead may hold the session's lock (grammers caches the peers of a
//! batch in the session before handing it out), so awaiting a session write here could wait
//! for a future that only this stream polls. [`Telegram::updates_from`] writes the position
//! into the session before the stream starts.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use grammers_client::InvocationError;
use grammers_client::peer::{Peer, PeerMap};
use grammers_client::update::Update;
use grammers_mtsender::UpdatesConfiguration;
use grammers_session::Session as _;
use grammers_session::types::{ChannelState, UpdateState, UpdatesState};
use grammers_session::updates::{MessageBox, State};
use grammers_tl_types as tl;

pub use crate::events::IncomingMessage;
use crate::events::{self, Event};
use crate::peers::PeerLookup;
use crate::{Telegram, TelegramError, convert};

type Raw = (tl::enums::Update, State, PeerMap);
type Inner = grammers_client::client::UpdateStream;
type NextRaw = Pin<Box<dyn Future<Output = (Inner, Result<Raw, InvocationError>)> + Send>>;

/// Where grammers' stream is: idle, or inside a `next_raw` that owns it (so the call survives
/// being peeked at or cancelled by the caller's `select!`).
enum Slot {
    Idle(Box<Inner>),
    Busy(NextRaw),
    /// A `next_raw` panicked; the stream is gone.
    Lost,
}

/// The update position of everything handed out so far (pts/qts/date/seq, channel pts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// Common box pts with the date and seq that came with it.
    pub common: Option<(i32, i32, i32)>,
    /// Secondary box (bot) qts.
    pub qts: Option<i32>,
    /// Channel pts by bare channel id.
    pub channels: HashMap<i64, i32>,
}

impl Position {
    /// Folds in the state of one handed-out update (pts only ever move forward).
    pub fn merge(&mut self, state: &State) {
        match state.message_box {
            Some(MessageBox::Common { pts })
                if self.common.is_none_or(|(old, _, _)| pts >= old) =>
            {
                self.common = Some((pts, state.date, state.seq));
            }
            Some(MessageBox::Secondary { qts }) => {
                self.qts = Some(self.qts.map_or(qts, |old| old.max(qts)));
            }
            Some(MessageBox::Channel { channel_id, pts }) => {
                let entry = self.channels.entry(channel_id).or_insert(pts);
                *entry = (*entry).max(pts);
            }
            _ => {}
        }
    }

    /// As grammers' session state (0 for what is unknown, which grammers reads as "none").
    pub fn to_state(&self) -> UpdatesState {
        let (pts, date, seq) = self.common.unwrap_or_default();
        UpdatesState {
            pts,
            qts: self.qts.unwrap_or_default(),
            date,
            seq,
            channels: self
                .channels
                .iter()
                .map(|(&id, &pts)| ChannelState { id, pts })
                .collect(),
        }
    }
}

/// Stream of [`Event`]s. Create with [`Telegram::updates`].
pub struct UpdateStream {
    telegram: Arc<Telegram>,
    slot: Slot,
    /// An update fetched by [`UpdateStream::save_position`]'s look-ahead, handed out next.
    peeked: Option<Result<Raw, InvocationError>>,
    seen: Position,
    saved: Position,
}

fn raw_peers<'a>(peers: impl Iterator<Item = &'a Peer>) -> PeerLookup {
    let mut users = Vec::new();
    let mut chats = Vec::new();
    for peer in peers {
        match peer {
            Peer::User(u) => users.push(u.raw.clone()),
            Peer::Group(g) => chats.push(g.raw.clone()),
            Peer::Channel(c) => chats.push(tl::enums::Chat::Channel(c.raw.clone())),
            Peer::Community(c) => chats.push(tl::enums::Chat::Community(c.raw.clone())),
        }
    }
    PeerLookup::new(&users, &chats)
}

impl Telegram {
    /// Starts streaming updates. Only one stream per process (grammers has one update channel).
    ///
    /// `catch_up`: replay what happened since the position saved in the session
    /// (getDifference, getChannelDifference for every saved channel) instead of starting from
    /// now. A session without a saved position starts from now either way.
    pub async fn updates(self: &Arc<Self>, catch_up: bool) -> Result<UpdateStream, TelegramError> {
        let rx = self.take_updates().ok_or_else(|| {
            TelegramError::Unexpected("the update stream was already taken".into())
        })?;
        let inner = self
            .client
            .stream_updates(rx, UpdatesConfiguration { catch_up })
            .await
            .map_err(|e| TelegramError::Unexpected(e.to_string()))?;
        Ok(UpdateStream {
            telegram: self.clone(),
            slot: Slot::Idle(Box::new(inner)),
            peeked: None,
            seen: Position::default(),
            saved: Position::default(),
        })
    }
}

impl Telegram {
    /// Starts streaming from `position` (as returned by [`UpdateStream::checkpoint`]): it is
    /// written into the session first, then the stream catches up from it (getDifference,
    /// getChannelDifference for each of its channels). `None` catches up from whatever the
    /// session holds (nothing on a first start: the stream starts from now).
    pub async fn updates_from(
        self: &Arc<Self>,
        position: Option<Position>,
    ) -> Result<UpdateStream, TelegramError> {
        if let Some(position) = &position {
            self.session
                .set_update_state(UpdateState::All(position.to_state()))
                .await?;
        }
        let mut stream = self.updates(true).await?;
        if let Some(position) = position {
            stream.saved = position.clone();
            stream.seen = position;
        }
        Ok(stream)
    }
}

impl UpdateStream {
    /// Waits for the next new message; every other update is skipped.
    ///
    /// Errors as [`UpdateStream::next_event`].
    pub async fn next(&mut self) -> Result<IncomingMessage, TelegramError> {
        loop {
            if let Event::NewMessage(m) = self.next_event().await? {
                return Ok(m);
            }
        }
    }

    /// Waits for the next update the receiver forwards; other kinds are skipped (their
    /// position still counts as seen). Cancel-safe: a cancelled call leaves the fetch running
    /// for the next one.
    ///
    /// Errors only on failures grammers cannot recover from (the stream keeps working across
    /// dropped connections: a gap triggers getDifference).
    pub async fn next_event(&mut self) -> Result<Event, TelegramError> {
        loop {
            if let Some(event) = self.next_converted().await? {
                return Ok(event);
            }
        }
    }

    /// The next event if grammers already holds its update (the rest of a batch it is
    /// handing out), else `None` at once: never waits for Telegram to send something new
    /// (converting the update may still call Telegram, e.g. for a replied-to message). Lets
    /// the caller store a burst of updates together. Updates of kinds not forwarded are
    /// skipped as in [`UpdateStream::next_event`].
    ///
    /// Errors as [`UpdateStream::next_event`].
    pub async fn try_next_event(&mut self) -> Option<Result<Event, TelegramError>> {
        loop {
            if self.at_batch_boundary() {
                return None;
            }
            match self.next_converted().await {
                Ok(Some(event)) => return Some(Ok(event)),
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The next raw update as an [`Event`] (`None` for a kind not forwarded), its position
    /// counted as seen either way.
    async fn next_converted(&mut self) -> Result<Option<Event>, TelegramError> {
        let (raw, state, peers) = self.next_raw().await?;
        self.seen.merge(&state);
        let telegram = self.telegram.clone();
        Ok(convert_update(&telegram, raw, state, peers).await)
    }

    async fn next_raw(&mut self) -> Result<Raw, TelegramError> {
        if let Some(peeked) = self.peeked.take() {
            return peeked.map_err(TelegramError::from);
        }
        let (inner, result) = self.busy()?.await;
        self.slot = Slot::Idle(Box::new(inner));
        result.map_err(TelegramError::from)
    }

    /// The running `next_raw`, started from the idle stream if needed.
    fn busy(&mut self) -> Result<&mut NextRaw, TelegramError> {
        if let Slot::Idle(_) = self.slot
            && let Slot::Idle(mut inner) = std::mem::replace(&mut self.slot, Slot::Lost)
        {
            self.slot = Slot::Busy(Box::pin(async move {
                let result = inner.next_raw().await;
                (*inner, result)
            }));
        }
        match &mut self.slot {
            Slot::Busy(next) => Ok(next),
            _ => Err(TelegramError::Unexpected(
                "the update stream was lost".into(),
            )),
        }
    }

    /// Whether everything grammers has applied to its message box has been handed out: the
    /// next update is not ready at once. A ready one is kept for [`UpdateStream::next`].
    fn at_batch_boundary(&mut self) -> bool {
        if self.peeked.is_some() {
            return false;
        }
        let Ok(next) = self.busy() else { return false };
        match next.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Pending => true,
            Poll::Ready((inner, result)) => {
                self.slot = Slot::Idle(Box::new(inner));
                self.peeked = Some(result);
                false
            }
        }
    }

    /// The position of every update handed out so far — if the stream is at a batch boundary
    /// (see the module docs) and it moved since the last checkpoint; the caller persists it
    /// after storing the handed-out updates and passes it to [`Telegram::updates_from`] on
    /// the next start. No I/O: a look-ahead that is not ready at once stays parked for
    /// [`UpdateStream::next_event`].
    pub fn checkpoint(&mut self) -> Option<Position> {
        if !self.at_batch_boundary() || self.seen == self.saved {
            return None;
        }
        self.saved = self.seen.clone();
        Some(self.seen.clone())
    }

    /// The position handed out so far (for logs and tests).
    pub fn position(&self) -> &Position {
        &self.seen
    }
}

/// One raw update as an [`Event`], `None` for kinds the receiver does not forward.
async fn convert_update(
    telegram: &Telegram,
    raw: tl::enums::Update,
    state: State,
    peers: PeerMap,
) -> Option<Event> {
    let lookup = || raw_peers(peers.iter_peers());
    if let Some(deleted) = events::deleted(&raw) {
        return Some(Event::Deleted(deleted));
    }
    if let Some(reactions) = events::reactions(&raw, &lookup()) {
        return Some(Event::Reactions(reactions));
    }
    if let Some(query) = events::callback_query(&raw, &lookup()) {
        return Some(Event::CallbackQuery(query));
    }
    match Update::from_raw(&telegram.client, raw, state, peers.handle()) {
        Update::NewMessage(m) => incoming(telegram, m.into_inner())
            .await
            .map(Event::NewMessage),
        Update::MessageEdited(m) => incoming(telegram, m.into_inner())
            .await
            .map(Event::EditedMessage),
        _ => None,
    }
}

async fn incoming(
    telegram: &Telegram,
    m: grammers_client::message::Message,
) -> Option<IncomingMessage> {
    let peers = raw_peers(m.peer().into_iter().chain(m.sender()));
    let mut message = convert::message(&m.raw, &peers)?;
    let sender_phone = message
        .from
        .as_ref()
        .and_then(|u| peers.user(u.id))
        .and_then(|u| u.phone.as_ref())
        .map(|p| format!("+{}", p.trim_start_matches('+')));
    if convert::reply_to_id(&m.raw).is_some() {
        message.reply_to_message = reply_of(telegram, &m).await.map(Box::new);
    }
    let media = match &m.raw {
        tl::enums::Message::Message(raw) => convert::media_of(raw, message.chat.id),
        _ => None,
    };
    Some(IncomingMessage {
        message,
        outgoing: m.outgoing(),
        sender_phone,
        media,
    })
}

async fn reply_of(
    telegram: &Telegram,
    m: &grammers_client::message::Message,
) -> Option<botapi::types::Message> {
    match telegram.client.get_reply_to_message(m).await {
        Ok(Some(reply)) => {
            let peers = raw_peers(reply.peer().into_iter().chain(reply.sender()));
            convert::message(&reply.raw, &peers)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "could not fetch the replied-to message");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(message_box: Option<MessageBox>) -> State {
        State {
            date: 100,
            seq: 1,
            message_box,
        }
    }

    #[test]
    fn position_only_moves_forward_and_converts_to_session_state() {
        let mut seen = Position::default();
        seen.merge(&state(Some(MessageBox::Common { pts: 5 })));
        seen.merge(&state(Some(MessageBox::Common { pts: 3 })));
        seen.merge(&state(Some(MessageBox::Channel {
            channel_id: 7,
            pts: 9,
        })));
        seen.merge(&state(None));
        assert_eq!(seen.common, Some((5, 100, 1)));
        assert_eq!(seen.channels.get(&7), Some(&9));
        let state = seen.to_state();
        assert_eq!(
            (state.pts, state.qts, state.date, state.seq),
            (5, 0, 100, 1)
        );
        assert_eq!(state.channels.len(), 1);
    }
}
