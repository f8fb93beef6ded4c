//! One task pair per TCP connection: a reader that unframes, decrypts and dispatches client
//! messages, and a writer that numbers, encrypts and frames everything the server sends. The
//! auth key of the first packet fixes the connection's world: its calls run there and only
//! that world's updates reach it. From the first packet decrypted with that key until the socket
//! is closed, the connection counts as open on the key (`key_connections`).
//!
//! Wire rules grammers depends on (see `FACTS-grammers-testdc.md`): Full transport; echo the
//! client's `session_id`; nothing is pushed before the client has spoken; service messages
//! (`pong`, `future_salts`) are sent bare; unknown auth keys close the connection rather than
//! answering transport error -404 (which would make grammers attempt a DH handshake).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grammers_crypto::DequeBuffer;
use grammers_mtproto::transport::{self, Full, Transport};
use grammers_tl_types::{self as tl, Deserializable, Identifiable, Serializable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::crypto::ServerAuthKey;
use crate::hosted::{Hosted, Push};
use crate::key_connections::Counted;
use crate::shared::Shared;
use crate::wire::{self, Message};

/// Replies larger than this are sent `gzip_packed`, as Telegram does.
const GZIP_THRESHOLD: usize = 16 * 1024;
/// Largest transport packet accepted from a client (grammers never sends more than ~1 MiB).
const MAX_PACKET: usize = 2 * 1024 * 1024;
/// "Max 8192 IDs are allowed per constructor" (msgs_ack; MTProto, "Service Messages about
/// Messages").
const MAX_ACK_IDS: u32 = 8192;
/// Room kept free behind the bytes read so far: at least this much is asked for per read.
const READ_CHUNK: usize = 256 * 1024;
/// Initial read buffer: room for a few 512 KiB file parts before consumed bytes are dropped.
const READ_BUFFER: usize = 4 * 1024 * 1024;

/// What the writer is asked to send.
struct Outbound {
    body: Vec<u8>,
    /// Answers a client message (server msg_id ≡ 1 mod 4) rather than being unsolicited (≡ 3).
    response: bool,
}

/// Serves one accepted connection until the client leaves, it breaks a wire rule, or `drops`
/// changes (a fault, or the server stopping). Its writer and its delayed replies are tasks
/// it owns: they end with it.
pub(crate) async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    conn_id: u64,
    mut drops: watch::Receiver<u64>,
) {
    let _ = stream.set_nodelay(true);
    let (mut reader, writer) = stream.into_split();
    let session_id = Arc::new(AtomicI64::new(0));
    let key = Arc::new(OnceLock::new());
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let writer_task = tokio::spawn(write_loop(
        writer,
        out_rx,
        session_id.clone(),
        key.clone(),
        drops.clone(),
    ));
    // The default world's, as most connections speak for the default account and as testdc
    // always did: its pushes reach a client that connected before they happened, even if its
    // first packet comes after them. Replaced if the first packet names a key of another world.
    let mut pushes = shared.default_world().subscribe_pushes();
    let mut conn = Conn {
        shared,
        conn_id,
        out: out_tx,
        session_id,
        key,
        world: None,
        new_pushes: None,
        spoke: false,
        delayed: JoinSet::new(),
        counted: None,
    };
    let mut transport = Full::new();
    // Bytes read land here directly and packets are decrypted where they lie (a 512 KiB file
    // part is not copied on its way to the decoder); consumed bytes are dropped from the
    // front only when the room behind runs short (see `Conn::drain_packets`).
    let mut buf = Vec::with_capacity(READ_BUFFER);
    let mut start = 0;
    loop {
        if buf.capacity() - buf.len() < READ_CHUNK {
            buf.drain(..start);
            start = 0;
            buf.reserve(READ_CHUNK);
        }
        tokio::select! {
            _ = drops.changed() => break,
            Some(_) = conn.delayed.join_next() => {}
            push = pushes.recv(), if conn.spoke => conn.forward_push(push),
            read = reader.read_buf(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(_) => match conn.drain_packets(&mut transport, &mut buf[start..]) {
                    Some(consumed) => start += consumed,
                    None => break,
                },
            },
        }
        if start == buf.len() {
            buf.clear();
            start = 0;
        }
        if let Some(subscribed) = conn.new_pushes.take() {
            pushes = subscribed;
        }
    }
    // Counted open until the socket is closed, not only until the reader stops, so a key's open
    // count never shows fewer connections than a client still has. Were this task aborted
    // instead, dropping the guard would still close it in the count.
    let counted = conn.counted.take();
    drop(conn);
    writer_task.abort();
    // Awaited so the socket is closed once this returns (the server loop waits for that).
    let _ = writer_task.await;
    drop(counted);
    debug!(conn_id, "connection closed");
}

struct Conn {
    shared: Arc<Shared>,
    conn_id: u64,
    out: mpsc::UnboundedSender<Outbound>,
    session_id: Arc<AtomicI64>,
    /// The auth key this connection speaks with: set by its first packet, shared with the writer.
    key: Arc<OnceLock<ServerAuthKey>>,
    /// The world that key belongs to, set with it: every call runs there.
    world: Option<Arc<Hosted>>,
    /// That world's pushes, subscribed when the key is found if it is not the default world
    /// (whose the serve loop has from the start), for the serve loop to take.
    new_pushes: Option<broadcast::Receiver<Push>>,
    spoke: bool,
    /// Replies held back by injected latency; dropped (and aborted) with the connection.
    delayed: JoinSet<()>,
    /// This connection counted open on its key: set once a packet decrypts with it.
    counted: Option<Counted>,
}

impl Conn {
    /// Handles every complete transport packet at the start of `buf`, decrypting each in
    /// place. Returns how many bytes they took, or `None` to close the connection.
    fn drain_packets(&mut self, transport: &mut Full, buf: &mut [u8]) -> Option<usize> {
        let mut consumed = 0;
        loop {
            let rest = &mut buf[consumed..];
            if rest.len() >= 4 {
                let len = i32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
                if len < 12 || len as usize > MAX_PACKET {
                    warn!(conn_id = self.conn_id, len, "bad transport length; closing");
                    return None;
                }
            }
            match transport.unpack(rest) {
                Ok(offset) => {
                    if !self.on_packet(&mut rest[offset.data_range]) {
                        return None;
                    }
                    consumed += offset.next_offset;
                }
                Err(transport::Error::MissingBytes) => return Some(consumed),
                Err(e) => {
                    warn!(conn_id = self.conn_id, error = %e, "transport error; closing");
                    return None;
                }
            }
        }
    }

    fn on_packet(&mut self, packet: &mut [u8]) -> bool {
        if packet.len() >= 8 && packet[..8] == [0; 8] {
            warn!(
                conn_id = self.conn_id,
                "plain (DH) message: testdc only knows pre-shared auth keys; closing"
            );
            return false;
        }
        let Some(key) = self.key_for(packet) else {
            warn!(
                conn_id = self.conn_id,
                "unknown or changed auth key id; closing"
            );
            return false;
        };
        let plaintext = match key.decrypt_from_client(packet) {
            Ok(p) => p,
            Err(e) => {
                warn!(conn_id = self.conn_id, error = %e, "cannot decrypt; closing");
                return false;
            }
        };
        if self.counted.is_none() {
            self.count_on_key();
        }
        let mut cursor = tl::Cursor::from_slice(plaintext);
        let header = (i64::deserialize(&mut cursor), i64::deserialize(&mut cursor));
        let (Ok(_salt), Ok(session_id)) = header else {
            return false;
        };
        self.session_id.store(session_id, Ordering::Release);
        self.spoke = true;
        match Message::read(&mut cursor) {
            Ok(message) => {
                self.on_message(message);
                true
            }
            Err(e) => {
                warn!(conn_id = self.conn_id, error = %e, "malformed message; closing");
                false
            }
        }
    }

    /// The key a packet names by its first 8 bytes: any key the DC issued for the first packet
    /// (which also fixes the connection's world), then the same one for the rest of the
    /// connection.
    fn key_for(&mut self, packet: &[u8]) -> Option<&ServerAuthKey> {
        let id = packet.get(..8)?;
        if self.key.get().is_none() {
            let (found, world) = self.shared.auth_key_for(id)?;
            if world.index != 0 {
                self.new_pushes = Some(world.subscribe_pushes());
            }
            self.world = Some(world);
            let _ = self.key.set(found);
        }
        self.key.get().filter(|k| k.key_id() == id)
    }

    /// Counts this connection open on its key (set by [`Conn::key_for`]) until it closes.
    fn count_on_key(&mut self) {
        if let (Some(key), Some(world)) = (self.key.get(), &self.world) {
            let connections = &self.shared.key_connections;
            self.counted = Some(connections.open(key.key_id(), world.info.user_id));
        }
    }

    fn key_id(&self) -> [u8; 8] {
        self.key.get().map_or([0; 8], ServerAuthKey::key_id)
    }

    fn on_message(&mut self, message: Message) {
        const MSGS_ACK: u32 = 0x62d6b459;
        let Some(id) = message.constructor_id() else {
            return;
        };
        match id {
            wire::MSG_CONTAINER_ID => match wire::read_container(&message.body) {
                Ok(inner) => inner.into_iter().for_each(|m| self.on_message(m)),
                Err(e) => warn!(conn_id = self.conn_id, error = %e, "bad container"),
            },
            wire::GZIP_PACKED_ID => match wire::gunzip(&message.body) {
                Ok(body) => self.on_message(Message { body, ..message }),
                Err(e) => warn!(conn_id = self.conn_id, error = %e, "bad gzip_packed"),
            },
            MSGS_ACK => {
                // msgs_ack#62d6b459 msg_ids:Vector<long>: constructor, vector, count, ids.
                let count = message
                    .body
                    .get(8..12)
                    .map_or(0, |c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
                if count > MAX_ACK_IDS {
                    warn!(
                        conn_id = self.conn_id,
                        count, "msgs_ack with more ids than MTProto allows (8192)"
                    );
                }
                self.shared.record_ack(u64::from(count));
            }
            tl::functions::Ping::CONSTRUCTOR_ID
            | tl::functions::PingDelayDisconnect::CONSTRUCTOR_ID => {
                // Both carry ping_id first; grammers wants a bare pong either way.
                let ping_id = tl::Cursor::from_slice(&message.body[4..]);
                let ping_id = i64::deserialize(&mut { ping_id }).unwrap_or(0);
                let pong = tl::enums::Pong::Pong(tl::types::Pong {
                    msg_id: message.msg_id,
                    ping_id,
                });
                self.send(pong.to_bytes(), true);
            }
            tl::functions::GetFutureSalts::CONSTRUCTOR_ID => {
                self.send(future_salts(message.msg_id), true)
            }
            _ => self.on_rpc(message),
        }
    }

    fn on_rpc(&mut self, message: Message) {
        let body = peel(&message.body);
        let method = crate::world::rpc::method_name(body);
        // Set with the key, before any message is decrypted.
        let Some(world) = self.world.clone() else {
            return;
        };
        // In flight until the reply is queued, injected latency included.
        let call = self.shared.in_flight.start(method);
        let (result, latency) = self.shared.call(&world, body, self.conn_id, self.key_id());
        let bytes = match result {
            // Like Telegram, file parts are sent as they are: they rarely compress.
            Ok(bytes)
                if bytes.len() > GZIP_THRESHOLD
                    && wire::constructor_id(&bytes)
                        != Some(tl::types::upload::File::CONSTRUCTOR_ID) =>
            {
                wire::gzip(&bytes)
            }
            Ok(bytes) => bytes,
            Err(e) => {
                debug!(conn_id = self.conn_id, method, code = e.code, error = %e.message, "rpc error");
                wire::rpc_error(e.code, &e.message)
            }
        };
        let reply = wire::rpc_result(message.msg_id, &bytes);
        if latency.is_zero() {
            self.send(reply, true);
            drop(call);
        } else {
            let out = self.out.clone();
            self.delayed.spawn(async move {
                tokio::time::sleep(latency).await;
                let _ = out.send(Outbound {
                    body: reply,
                    response: true,
                });
                drop(call);
            });
        }
    }

    /// Sends on a push if it comes from the connection's world, its key is signed in as the
    /// push's addressee, and it is not the echo of the connection's own call.
    fn forward_push(&mut self, push: Result<Push, broadcast::error::RecvError>) {
        let Some(world) = self.world.clone() else {
            return;
        };
        let receives = |to| world.receives_pushes(self.key_id(), to);
        match push {
            Ok(push) if push.origin == self.conn_id || push.world != world.index => {}
            Ok(push) if receives(push.to) => self.send(push.body.to_vec(), false),
            Ok(_) => {}
            // Only the account's updates are journaled, so only its connections can catch up
            // after missing some (a bot's callback queries are gone, as on Telegram).
            Err(broadcast::error::RecvError::Lagged(n)) if receives(None) => {
                warn!(
                    conn_id = self.conn_id,
                    missed = n,
                    "client fell behind; sending updatesTooLong"
                );
                self.send(tl::enums::Updates::TooLong.to_bytes(), false);
            }
            Err(_) => {}
        }
    }

    fn send(&self, body: Vec<u8>, response: bool) {
        let _ = self.out.send(Outbound { body, response });
    }
}

/// Strips the wrappers grammers puts around calls (`invokeWithLayer`, `initConnection`,
/// `invokeWithoutUpdates`, `invokeAfterMsg`) and returns the inner call.
fn peel(mut body: &[u8]) -> &[u8] {
    use tl::functions as f;
    loop {
        let Some(id) = wire::constructor_id(body) else {
            return body;
        };
        let skip = match id {
            f::InvokeWithLayer::<Rest>::CONSTRUCTOR_ID => Some(8),
            f::InvokeWithoutUpdates::<Rest>::CONSTRUCTOR_ID => Some(4),
            f::InvokeAfterMsg::<Rest>::CONSTRUCTOR_ID => Some(12),
            f::InitConnection::<Rest>::CONSTRUCTOR_ID => {
                f::InitConnection::<Rest>::from_bytes(&body[4..])
                    .ok()
                    .map(|init| body.len() - init.query.0)
            }
            _ => None,
        };
        match skip {
            Some(n) if n <= body.len() => body = &body[n..],
            _ => return body,
        }
    }
}

/// "The rest of the buffer": lets generic wrappers be parsed without knowing their query type.
/// Holds only the remaining length, since the bytes stay in the caller's buffer.
struct Rest(usize);

impl Deserializable for Rest {
    fn deserialize(buf: &mut tl::Cursor) -> tl::deserialize::Result<Self> {
        let mut rest = Vec::new();
        buf.read_to_end(&mut rest)?;
        Ok(Rest(rest.len()))
    }
}

/// A bare `future_salts` with salt 0 (which grammers accepts) valid for a day.
fn future_salts(req_msg_id: i64) -> Vec<u8> {
    let now = unix_now().as_secs() as i32;
    tl::enums::FutureSalts::Salts(tl::types::FutureSalts {
        req_msg_id,
        now,
        salts: tl::RawVec(
            (0..3)
                .map(|i| tl::types::FutureSalt {
                    valid_since: now + i * 86_400,
                    valid_until: now + (i + 1) * 86_400,
                    salt: 0,
                })
                .collect(),
        ),
    })
    .to_bytes()
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Owns the write half: server msg_id and seq_no generation, encryption and framing.
async fn write_loop(
    mut writer: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
    session_id: Arc<AtomicI64>,
    key: Arc<OnceLock<ServerAuthKey>>,
    mut drops: watch::Receiver<u64>,
) {
    let mut transport = Full::new();
    let mut last_msg_id = 0i64;
    let mut content_sent = 0i32;
    loop {
        let out = tokio::select! {
            _ = drops.changed() => break,
            out = rx.recv() => match out {
                Some(out) => out,
                None => break,
            },
        };
        // "Server message identifiers modulo 4 yield 1 if the message is a response to a
        // client message, and 3 otherwise" (https://core.telegram.org/mtproto/description).
        let now = unix_now();
        let fraction = ((u64::from(now.subsec_nanos()) << 32) / 1_000_000_000) as i64;
        let base = ((now.as_secs() as i64) << 32) | (fraction & !3);
        let tag = if out.response { 1 } else { 3 };
        let mut msg_id = base | tag;
        if msg_id <= last_msg_id {
            msg_id = ((last_msg_id & !3) + 4) | tag;
        }
        last_msg_id = msg_id;
        // Every server message here is content-related: seq_no = 2 × earlier ones + 1.
        let seq_no = content_sent * 2 + 1;
        content_sent += 1;
        // Set before anything is sent: replies and pushes only follow a decrypted packet.
        let Some(key) = key.get() else { continue };
        // One buffer from plaintext to frame: room in front for the key id, msg_key and the
        // transport header, at the back for padding and the CRC; the body is copied once.
        let mut frame = DequeBuffer::with_capacity(32 + out.body.len() + 32 + 4, 32);
        0i64.serialize(&mut frame); // salt: grammers accepts 0 and never checks it
        session_id.load(Ordering::Acquire).serialize(&mut frame);
        msg_id.serialize(&mut frame);
        seq_no.serialize(&mut frame);
        (out.body.len() as i32).serialize(&mut frame);
        frame.extend(&out.body);
        key.encrypt_in_place(&mut frame);
        transport.pack(&mut frame);
        if writer.write_all(frame.as_ref()).await.is_err() {
            break;
        }
    }
    let _ = writer.shutdown().await;
}
