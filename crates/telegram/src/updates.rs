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

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use grammers_client::InvocationError;
use grammers_client::peer::{Peer, PeerMap};
use grammers_client::update::Update;
use grammers_mtsender::UpdatesConfiguration;
use grammers_session::types::UpdateState;
use grammers_session::updates::State;
use grammers_tl_types as tl;

pub use crate::events::IncomingMessage;
use crate::events::{self, Event};
use crate::peers::PeerLookup;
use crate::{Position, Telegram, TelegramError, convert, stale};

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

/// Stream of [`Event`]s. Create with [`Telegram::updates`].
pub struct UpdateStream {
    telegram: Arc<Telegram>,
    slot: Slot,
    /// An update fetched by the batch-boundary look-ahead ([`UpdateStream::checkpoint`],
    /// [`UpdateStream::try_next_event`]), handed out next.
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
    ///
    /// Channels Telegram no longer answers for are dropped from the restored position first,
    /// with one WARN line each (one `channels.getChannels` call per 100 channels; see
    /// `stale`): grammers would otherwise retry `getChannelDifference` for one of them forever
    /// and hand out nothing else. The first checkpoint then persists the position without them.
    ///
    /// Errors: the session cannot be read or written ([`TelegramError::Session`]), or the
    /// stream cannot be started.
    pub async fn updates_from(
        self: &Arc<Self>,
        position: Option<Position>,
    ) -> Result<UpdateStream, TelegramError> {
        let restored = match position {
            Some(position) => Some(position),
            // A position an earlier run wrote into the session (the outbox was reset) gets the
            // same check.
            None => Some(Position::from_state(&self.session.updates_state().await?))
                .filter(|position| *position != Position::default()),
        };
        let mut checked = restored.clone();
        if let Some(position) = &mut checked {
            self.drop_stale_channels(position).await;
            self.session
                .set_update_state(UpdateState::All(position.to_state()))
                .await?;
        }
        let mut stream = self.updates(true).await?;
        if let (Some(restored), Some(checked)) = (restored, checked) {
            stream.saved = restored;
            stream.seen = checked;
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

    /// The next raw update. A `CHANNEL_INVALID` grammers surfaces (it does not give up on
    /// that channel by itself) drops the stale channels from the position and from grammers'
    /// view of the session, and the stream goes on; it is returned only when no channel of the
    /// position turns out stale.
    async fn next_raw(&mut self) -> Result<Raw, TelegramError> {
        loop {
            let result = match self.peeked.take() {
                Some(peeked) => peeked,
                None => {
                    let (inner, result) = self.busy()?.await;
                    self.slot = Slot::Idle(Box::new(inner));
                    result
                }
            };
            // Nothing is parked here (the call above finished), so the check's session reads
            // cannot wait on this stream.
            match result {
                Err(e) if stale::is_refusal(&e) => {
                    if self.telegram.drop_stale_channels(&mut self.seen).await == 0 {
                        return Err(e.into());
                    }
                }
                result => return result.map_err(TelegramError::from),
            }
        }
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
    if let Some(deleted) = events::deleted(&raw) {
        return Some(Event::Deleted(deleted));
    }
    // Only these kinds read the update's whole peer map (a getDifference batch carries every
    // user and chat of the batch with each update): building it for every new message cost
    // the receiver a tenth of its CPU under load (perf, session 11).
    if matches!(
        raw,
        tl::enums::Update::MessageReactions(_)
            | tl::enums::Update::BotCallbackQuery(_)
            | tl::enums::Update::InlineBotCallbackQuery(_)
    ) {
        let lookup = raw_peers(peers.iter_peers());
        if let Some(reactions) = events::reactions(&raw, &lookup) {
            return Some(Event::Reactions(reactions));
        }
        if let Some(query) = events::callback_query(&raw, &lookup) {
            return Some(Event::CallbackQuery(query));
        }
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
