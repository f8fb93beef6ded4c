//! testdc: a hermetic Telegram data center — a real MTProto 2.0 server on loopback that the
//! real grammers client talks to, with a small world (an account, users, a basic group, a
//! supergroup, a channel), fault injection and a control API for tests, scripts and benchmarks.
//! It may host many accounts at once, a world per account, all on one port.
//!
//! Modules: [`crypto`] (server-direction MTProto 2.0 encryption), [`wire`] (MTProto framing
//! types), [`world`] (state and RPC answers), `connection` (one task pair per TCP connection),
//! [`dc`] (the running server, its loop and its in-process control API), `account` (hosted
//! accounts, and [`AccountDc`]: the control API in one account's world), `control` (that
//! API's world actions), `dc_control` ([`TestDc`]'s own: the default account's, and faults),
//! `hosted` (one account's world, limiter and update channels), `shared` (the state the server
//! loop, the connections and the control API share: every world, the auth keys and the world
//! each belongs to), `in_flight` (calls handled at once, per method), `key_connections`
//! (connections open per auth key, and their peak: [`AuthKeyConnections`]), [`limits`]
//! (Telegram-like sending limits: FLOOD_WAIT_X, PEER_FLOOD), `buttons` (its bot side:
//! inline-button presses), `view` (control API shapes), [`http`] (the same control API over
//! HTTP, for the `testdc` binary).

mod account;
mod buttons;
mod connection;
mod control;
pub mod crypto;
pub mod dc;
mod dc_control;
mod hosted;
pub mod http;
mod in_flight;
mod key_connections;
mod key_connections_api;
pub mod limits;
mod shared;
mod view;
pub mod wire;
pub mod world;

pub use account::{AccountDc, AccountInfo};
pub use dc::{ControlError, TestDc, TestDcConfig};
pub use key_connections::AuthKeyConnections;
pub use limits::{Limits, Rate};
pub use view::{MediaView, MessageView, SendMedia, SendText};
pub use world::bots::{BotCommand, BotProfile, CallbackAnswer, CommandScope};
pub use world::media_kind::{MediaKind, MediaMeta};
pub use world::{ChatRef, Fixture, Retention};
