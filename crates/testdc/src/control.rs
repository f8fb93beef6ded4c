//! The in-process control API: what tests, the HTTP control routes and benchmarks do to the
//! world — simulated users sending text and media, reading history, awaiting what the
//! account sends, faults, and login controls.

use std::time::Duration;

use tokio::sync::broadcast;

use crate::dc::{ControlError, TestDc};
use crate::view::{MessageView, SendMedia, SendText, view};
use crate::world::auth::Password;
use crate::world::media::MediaRef;
use crate::world::rpc::SideEffects;
use crate::world::{ChatRef, Fixture, RpcError, StoredMessage, World, WorldEvent};

impl TestDc {
    /// Turns the account's 2FA password on (`Some`, with hint [`Fixture::PASSWORD_HINT`]) or
    /// off. Only an SRP verifier of it is kept; deriving it takes a moment (PBKDF2).
    pub fn set_password(&self, password: Option<&str>) {
        let password = password.map(|p| Password::new(p, Fixture::PASSWORD_HINT));
        self.shared.world().auth.set_password(password);
    }

    /// The login code `auth.sendCode` sent most recently (to any client), for tests to type in.
    pub fn last_login_code(&self) -> Option<String> {
        self.shared.world().auth.last_code().map(str::to_owned)
    }

    /// A simulated user (or channel) sends `text`; the account's connections get the update.
    pub fn send_text(&self, send: SendText) -> Result<MessageView, ControlError> {
        let chat = ChatRef::from_bot_api_id(send.chat_id)
            .ok_or(ControlError::UnknownChat(send.chat_id))?;
        let from = send.from.and_then(ChatRef::from_bot_api_id);
        let mut fx = SideEffects::default();
        let message = self
            .shared
            .world()
            .peer_sends(
                from,
                chat,
                &send.text,
                send.reply_to_message_id,
                None,
                &mut fx,
            )
            .map_err(ControlError::Rpc)?;
        self.shared.publish(fx, 0);
        Ok(MessageView::from(&message))
    }

    /// A simulated user (or channel) sends a file of `kind` with `data` as its bytes.
    pub fn send_media(&self, send: SendMedia, data: Vec<u8>) -> Result<MessageView, ControlError> {
        let chat = ChatRef::from_bot_api_id(send.chat_id)
            .ok_or(ControlError::UnknownChat(send.chat_id))?;
        let from = send.from.and_then(ChatRef::from_bot_api_id);
        let mut fx = SideEffects::default();
        let mut world = self.shared.world();
        let file = world
            .media
            .store_kind(
                send.kind,
                data,
                &send.meta,
                rand::random(),
                crate::world::now(),
            )
            .map_err(ControlError::Rpc)?;
        let media = Some(MediaRef::File { file_id: file.id });
        let message = world
            .peer_sends(
                from,
                chat,
                &send.caption,
                send.reply_to_message_id,
                media,
                &mut fx,
            )
            .map_err(ControlError::Rpc)?;
        let shown = view(&world, &message);
        drop(world);
        self.shared.publish(fx, 0);
        Ok(shown)
    }

    /// Makes every file reference handed out so far expire, as Telegram does after a while.
    pub fn expire_file_references(&self) {
        self.shared.world().media.expire_references();
    }

    /// A chat's messages as the server holds them, newest first.
    pub fn history(&self, chat_id: i64) -> Result<Vec<MessageView>, ControlError> {
        let chat = ChatRef::from_bot_api_id(chat_id).ok_or(ControlError::UnknownChat(chat_id))?;
        let world = self.shared.world();
        if !world.chat_exists(chat) {
            return Err(ControlError::UnknownChat(chat_id));
        }
        Ok(world
            .history(chat)
            .iter()
            .map(|m| view(&world, m))
            .collect())
    }

    /// Waits for the first message the account sends in `chat_id` with an id above `after`
    /// (already sent ones count), up to `timeout`.
    pub async fn wait_outgoing(
        &self,
        chat_id: i64,
        after: i32,
        timeout: Duration,
    ) -> Result<MessageView, ControlError> {
        let chat = ChatRef::from_bot_api_id(chat_id).ok_or(ControlError::UnknownChat(chat_id))?;
        let mut events = self.shared.events.subscribe();
        let sent = |m: &StoredMessage| m.out && m.chat == chat && m.id > after;
        if let Some(m) = self
            .shared
            .world()
            .history(chat)
            .iter()
            .rev()
            .find(|m| sent(m))
        {
            return Ok(MessageView::from(m));
        }
        let wait = async {
            loop {
                match events.recv().await {
                    Ok(WorldEvent::Outgoing(m)) if sent(&m) => {
                        return Some(view(&self.shared.world(), &m));
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .ok()
            .flatten()
            .ok_or(ControlError::Timeout(timeout))
    }

    /// Closes every open client connection (clients reconnect on their next call).
    pub fn drop_connections(&self) {
        self.shared.drops.send_modify(|g| *g += 1);
    }

    /// Answers the next `count` calls of `method` (schema name such as `messages.sendMessage`,
    /// case-insensitive) with the RPC error `error` (e.g. `FLOOD_WAIT_7`, `PEER_ID_INVALID`,
    /// `INTERNAL`), its code chosen as Telegram would.
    pub fn fail_next(&self, method: &str, count: u32, error: &str) {
        self.shared.faults().rpc_errors.push((
            method.to_owned(),
            count,
            RpcError::from_message(error),
        ));
    }

    /// Delays every RPC reply by `latency` (zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.faults().latency = latency;
    }

    /// The most calls of `method` (schema name such as `upload.saveFilePart`, case-insensitive)
    /// this DC was handling at once so far, from receipt until the reply is queued (injected
    /// latency included); 0 if it was never called. Lets tests check a client's concurrency
    /// limits without timing: set a latency so calls overlap, then read the peak.
    pub fn peak_in_flight(&self, method: &str) -> u32 {
        self.shared.in_flight.peak(method)
    }

    /// How many calls of `method` (schema name, case-insensitive) this DC answered with the
    /// RPC error `message` (e.g. `CHANNEL_INVALID`) so far, injected faults included. Lets
    /// tests prove a client does not retry a refused call forever by counting, not timing.
    pub fn errors_answered(&self, method: &str, message: &str) -> u64 {
        self.shared.errors_answered(method, message)
    }

    /// Runs `f` with read access to the world (for assertions and the HTTP control API).
    pub fn with_world<T>(&self, f: impl FnOnce(&World) -> T) -> T {
        f(&self.shared.world())
    }

    /// The author of a message (a user, or a channel for its posts) edits its text; the
    /// account's connections get `updateEditMessage` / `updateEditChannelMessage`.
    pub fn edit_text(
        &self,
        chat_id: i64,
        message_id: i32,
        text: &str,
    ) -> Result<MessageView, ControlError> {
        let chat = ChatRef::from_bot_api_id(chat_id).ok_or(ControlError::UnknownChat(chat_id))?;
        let mut fx = SideEffects::default();
        let mut world = self.shared.world();
        let edited = world
            .peer_edits(chat, message_id, text, &mut fx)
            .map_err(ControlError::Rpc)?;
        let shown = view(&world, &edited);
        drop(world);
        self.shared.publish(fx, 0);
        Ok(shown)
    }

    /// Messages are deleted for everyone; the account's connections get the delete update.
    /// Returns how many existed.
    pub fn delete_messages(
        &self,
        chat_id: i64,
        message_ids: &[i32],
    ) -> Result<usize, ControlError> {
        let chat = ChatRef::from_bot_api_id(chat_id).ok_or(ControlError::UnknownChat(chat_id))?;
        let mut fx = SideEffects::default();
        let count = self
            .shared
            .world()
            .peer_deletes(chat, message_ids, &mut fx)
            .map_err(ControlError::Rpc)?;
        self.shared.publish(fx, 0);
        Ok(count)
    }

    /// User `from` reacts to a message with `emoji`; the account gets `updateMessageReactions`.
    pub fn react(
        &self,
        from: i64,
        chat_id: i64,
        message_id: i32,
        emoji: &str,
    ) -> Result<(), ControlError> {
        let chat = ChatRef::from_bot_api_id(chat_id).ok_or(ControlError::UnknownChat(chat_id))?;
        let mut fx = SideEffects::default();
        self.shared
            .world()
            .peer_reacts(from, chat, message_id, emoji, &mut fx)
            .map_err(ControlError::Rpc)?;
        self.shared.publish(fx, 0);
        Ok(())
    }

    /// Adds a user to the world (for tests that need many private chats); returns the id.
    pub fn add_user(&self, first_name: &str) -> i64 {
        self.shared.world().add_user(first_name)
    }

    /// Adds a basic group with the account and `members` (user ids); returns its Bot API id.
    pub fn add_group(&self, title: &str, members: &[i64]) -> i64 {
        ChatRef::Chat(self.shared.world().add_group(title, members)).bot_api_id()
    }
}
