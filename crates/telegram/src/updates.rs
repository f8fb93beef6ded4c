//! The receiver's view of updates: grammers' update stream (gap filling, getDifference after
//! reconnects) turned into Bot API messages with the context a webhook payload needs.

use std::sync::Arc;

use botapi::types::Message;
use grammers_client::peer::Peer;
use grammers_client::update::Update;
use grammers_mtsender::UpdatesConfiguration;
use grammers_tl_types as tl;

use crate::peers::PeerLookup;
use crate::{Telegram, TelegramError, convert};

/// A new message as the receiver handles it.
#[derive(Clone, Debug)]
pub struct IncomingMessage {
    /// The message in Bot API shape (`reply_to_message` filled when it is a reply).
    pub message: Message,
    /// Sent by this account (from another session or device).
    pub outgoing: bool,
    /// The sender's phone number in international format, when Telegram shares it
    /// (contacts only).
    pub sender_phone: Option<String>,
    /// The message's photo or file, to download (also shown in Bot API shape on `message`).
    pub media: Option<crate::media::ReceivedMedia>,
}

/// Stream of incoming messages. Create with [`Telegram::updates`].
pub struct UpdateStream {
    telegram: Arc<Telegram>,
    inner: grammers_client::client::UpdateStream,
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
    /// `catch_up`: replay what happened while the process was down (getDifference from the
    /// stored position) instead of starting from now.
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
            inner,
        })
    }
}

impl UpdateStream {
    /// Waits for the next new message (other update kinds are skipped for now).
    ///
    /// Errors only on failures grammers cannot recover from (the stream keeps working across
    /// dropped connections: a gap triggers getDifference).
    pub async fn next(&mut self) -> Result<IncomingMessage, TelegramError> {
        loop {
            let update = self.inner.next().await?;
            let Update::NewMessage(m) = update else {
                continue;
            };
            let m = m.into_inner();
            let peers = raw_peers(m.peer().into_iter().chain(m.sender()));
            let Some(mut message) = convert::message(&m.raw, &peers) else {
                continue;
            };
            let sender_phone = message
                .from
                .as_ref()
                .and_then(|u| peers.user(u.id))
                .and_then(|u| u.phone.as_ref())
                .map(|p| format!("+{}", p.trim_start_matches('+')));
            if convert::reply_to_id(&m.raw).is_some() {
                message.reply_to_message = self.reply_of(&m).await.map(Box::new);
            }
            let media = match &m.raw {
                tl::enums::Message::Message(raw) => convert::media_of(raw, message.chat.id),
                _ => None,
            };
            return Ok(IncomingMessage {
                message,
                outgoing: m.outgoing(),
                sender_phone,
                media,
            });
        }
    }

    async fn reply_of(&self, m: &grammers_client::message::Message) -> Option<Message> {
        match self.telegram.client.get_reply_to_message(m).await {
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

    /// Persists the update position (pts/qts/date/seq) in the session, so a restart with
    /// `catch_up` resumes from here.
    pub async fn save_position(&self) -> Result<(), TelegramError> {
        self.inner
            .sync_update_state()
            .await
            .map_err(|e| TelegramError::Unexpected(e.to_string()))
    }
}
