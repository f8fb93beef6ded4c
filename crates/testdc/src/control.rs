//! The in-process control API of one account's world ([`AccountDc`]): what tests, the HTTP
//! control routes and benchmarks do there — simulated users sending text and media, reading
//! history, awaiting what the account sends, and login controls. [`crate::TestDc`]'s methods of the
//! same names act in the default account's world through these.

use std::time::Duration;

use tokio::sync::broadcast;

use crate::account::AccountDc;
use crate::dc::ControlError;
use crate::view::{MessageView, SendMedia, SendText, view};
use crate::world::auth::Password;
use crate::world::media::MediaRef;
use crate::world::rpc::SideEffects;
use crate::world::{ChatRef, Fixture, StoredMessage, World, WorldEvent};

impl AccountDc<'_> {
    /// Turns the account's 2FA password on (`Some`, with hint [`Fixture::PASSWORD_HINT`]) or
    /// off; logins into other accounts are not affected. Only an SRP verifier of it is kept;
    /// deriving it takes a moment (PBKDF2).
    pub fn set_password(&self, password: Option<&str>) {
        let password = password.map(|p| Password::new(p, Fixture::PASSWORD_HINT));
        self.hosted.world().auth.set_password(password);
    }

    /// The login code `auth.sendCode` sent most recently in this account's world (to any
    /// client on one of its keys), for tests to type in.
    pub fn last_login_code(&self) -> Option<String> {
        self.hosted.world().auth.last_code().map(str::to_owned)
    }

    /// A simulated user (or channel) sends `text`; the account's connections get the update.
    pub fn send_text(&self, send: SendText) -> Result<MessageView, ControlError> {
        let chat = ChatRef::from_bot_api_id(send.chat_id)
            .ok_or(ControlError::UnknownChat(send.chat_id))?;
        let from = send.from.and_then(ChatRef::from_bot_api_id);
        let mut fx = SideEffects::default();
        let message = self
            .hosted
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
        self.hosted.publish(fx, 0);
        Ok(MessageView::from(&message))
    }

    /// A simulated user (or channel) sends a file of `kind` with `data` as its bytes.
    pub fn send_media(&self, send: SendMedia, data: Vec<u8>) -> Result<MessageView, ControlError> {
        let chat = ChatRef::from_bot_api_id(send.chat_id)
            .ok_or(ControlError::UnknownChat(send.chat_id))?;
        let from = send.from.and_then(ChatRef::from_bot_api_id);
        let mut fx = SideEffects::default();
        let mut world = self.hosted.world();
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
        self.hosted.publish(fx, 0);
        Ok(shown)
    }

    /// Makes every file reference handed out so far expire, as Telegram does after a while.
    pub fn expire_file_references(&self) {
        self.hosted.world().media.expire_references();
    }

    /// A chat's messages as the server holds them, newest first.
    pub fn history(&self, chat_id: i64) -> Result<Vec<MessageView>, ControlError> {
        let chat = ChatRef::from_bot_api_id(chat_id).ok_or(ControlError::UnknownChat(chat_id))?;
        let world = self.hosted.world();
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
    /// (already sent ones count), up to `timeout`. Other accounts' messages never count.
    pub async fn wait_outgoing(
        &self,
        chat_id: i64,
        after: i32,
        timeout: Duration,
    ) -> Result<MessageView, ControlError> {
        let chat = ChatRef::from_bot_api_id(chat_id).ok_or(ControlError::UnknownChat(chat_id))?;
        let mut events = self.hosted.subscribe_events();
        let sent = |m: &StoredMessage| m.out && m.chat == chat && m.id > after;
        if let Some(m) = self
            .hosted
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
                        return Some(view(&self.hosted.world(), &m));
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

    /// Runs `f` with read access to the account's world (for assertions and the HTTP control
    /// API). Other accounts' worlds go on meanwhile: each has a lock of its own.
    pub fn with_world<T>(&self, f: impl FnOnce(&World) -> T) -> T {
        f(&self.hosted.world())
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
        let mut world = self.hosted.world();
        let edited = world
            .peer_edits(chat, message_id, text, &mut fx)
            .map_err(ControlError::Rpc)?;
        let shown = view(&world, &edited);
        drop(world);
        self.hosted.publish(fx, 0);
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
            .hosted
            .world()
            .peer_deletes(chat, message_ids, &mut fx)
            .map_err(ControlError::Rpc)?;
        self.hosted.publish(fx, 0);
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
        self.hosted
            .world()
            .peer_reacts(from, chat, message_id, emoji, &mut fx)
            .map_err(ControlError::Rpc)?;
        self.hosted.publish(fx, 0);
        Ok(())
    }

    /// Adds a user to the world (for tests that need many private chats); returns the id.
    pub fn add_user(&self, first_name: &str) -> i64 {
        self.hosted.world().add_user(first_name)
    }

    /// Adds a basic group with the account and `members` (user ids); returns its Bot API id.
    pub fn add_group(&self, title: &str, members: &[i64]) -> i64 {
        ChatRef::Chat(self.hosted.world().add_group(title, members)).bot_api_id()
    }
}
