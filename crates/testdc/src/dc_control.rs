//! [`TestDc`]'s control methods: those acting in a world, which act in the default account's
//! (each is the [`crate::AccountDc`] method of the same name on [`TestDc::default_account`]), and the
//! DC-wide ones — faults, counters — that no account owns.

use std::time::Duration;

use crate::dc::{ControlError, TestDc};
use crate::view::{MessageView, SendMedia, SendText};
use crate::world::{RpcError, World};

impl TestDc {
    /// Turns the default account's 2FA password on (`Some`, with hint
    /// [`crate::Fixture::PASSWORD_HINT`]) or off; see [`crate::AccountDc::set_password`].
    pub fn set_password(&self, password: Option<&str>) {
        self.default_account().set_password(password);
    }

    /// The login code `auth.sendCode` sent most recently in the default account's world, for
    /// tests to type in; see [`crate::AccountDc::last_login_code`].
    pub fn last_login_code(&self) -> Option<String> {
        self.default_account().last_login_code()
    }

    /// A simulated user (or channel) sends `text` in the default account's world; see
    /// [`crate::AccountDc::send_text`].
    pub fn send_text(&self, send: SendText) -> Result<MessageView, ControlError> {
        self.default_account().send_text(send)
    }

    /// A simulated user (or channel) sends a file in the default account's world; see
    /// [`crate::AccountDc::send_media`].
    pub fn send_media(&self, send: SendMedia, data: Vec<u8>) -> Result<MessageView, ControlError> {
        self.default_account().send_media(send, data)
    }

    /// Makes every file reference of the default account's world handed out so far expire; see
    /// [`crate::AccountDc::expire_file_references`].
    pub fn expire_file_references(&self) {
        self.default_account().expire_file_references();
    }

    /// A chat's messages in the default account's world, newest first; see
    /// [`crate::AccountDc::history`].
    pub fn history(&self, chat_id: i64) -> Result<Vec<MessageView>, ControlError> {
        self.default_account().history(chat_id)
    }

    /// Waits for the first message the default account sends in `chat_id` with an id above
    /// `after`, up to `timeout`; see [`crate::AccountDc::wait_outgoing`].
    pub async fn wait_outgoing(
        &self,
        chat_id: i64,
        after: i32,
        timeout: Duration,
    ) -> Result<MessageView, ControlError> {
        self.default_account()
            .wait_outgoing(chat_id, after, timeout)
            .await
    }

    /// Runs `f` with read access to the default account's world; see
    /// [`crate::AccountDc::with_world`].
    pub fn with_world<T>(&self, f: impl FnOnce(&World) -> T) -> T {
        self.default_account().with_world(f)
    }

    /// The author of a message of the default account's world edits its text; see
    /// [`crate::AccountDc::edit_text`].
    pub fn edit_text(
        &self,
        chat_id: i64,
        message_id: i32,
        text: &str,
    ) -> Result<MessageView, ControlError> {
        self.default_account().edit_text(chat_id, message_id, text)
    }

    /// Messages of the default account's world are deleted for everyone; returns how many
    /// existed. See [`crate::AccountDc::delete_messages`].
    pub fn delete_messages(
        &self,
        chat_id: i64,
        message_ids: &[i32],
    ) -> Result<usize, ControlError> {
        self.default_account().delete_messages(chat_id, message_ids)
    }

    /// User `from` reacts to a message of the default account's world with `emoji`; see
    /// [`crate::AccountDc::react`].
    pub fn react(
        &self,
        from: i64,
        chat_id: i64,
        message_id: i32,
        emoji: &str,
    ) -> Result<(), ControlError> {
        self.default_account()
            .react(from, chat_id, message_id, emoji)
    }

    /// Adds a user to the default account's world; returns the id. See
    /// [`crate::AccountDc::add_user`].
    pub fn add_user(&self, first_name: &str) -> i64 {
        self.default_account().add_user(first_name)
    }

    /// Adds a basic group with the default account and `members` (user ids); returns its Bot
    /// API id. See [`crate::AccountDc::add_group`].
    pub fn add_group(&self, title: &str, members: &[i64]) -> i64 {
        self.default_account().add_group(title, members)
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
}
