//! MTProto 2.0 message encryption as the *server* side performs it.
//!
//! grammers-crypto only implements the client's directions (it encrypts with x = 0 and
//! decrypts with x = 8). A server needs the mirror image: it decrypts what clients sent with
//! x = 0 and encrypts its replies with x = 8 ("where x = 0 for messages from client to server
//! and x = 8 for those from server to client", <https://core.telegram.org/mtproto/description>).
//! The AES-256-IGE primitive itself is reused from grammers-crypto.

use grammers_crypto::{DequeBuffer, aes};
use sha1::Digest as _;
use sha2::Sha256;

/// Which way a message travels; selects `x` in the key derivation.
#[derive(Clone, Copy)]
enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    fn x(self) -> usize {
        match self {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 8,
        }
    }
}

/// A 2048-bit authorization key with its 64-bit id (the lower 8 bytes of its SHA-1).
#[derive(Clone)]
pub struct ServerAuthKey {
    data: [u8; 256],
    key_id: [u8; 8],
}

/// Why an encrypted packet was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// Shorter than the 24-byte header or not a whole number of AES blocks.
    #[error("encrypted packet has an invalid length of {0} bytes")]
    InvalidLength(usize),
    /// The packet names an auth key this server does not hold.
    #[error("unknown auth key id")]
    UnknownKey,
    /// `msg_key` does not match the decrypted plaintext (tampered or wrong key).
    #[error("msg_key mismatch")]
    MsgKeyMismatch,
}

impl ServerAuthKey {
    /// Wraps raw key bytes, computing the key id as MTProto defines it
    /// (<https://core.telegram.org/mtproto/auth_key>: the 64 lower-order bits of SHA1(auth_key)).
    pub fn new(data: [u8; 256]) -> Self {
        let sha = sha1::Sha1::digest(data);
        let mut key_id = [0; 8];
        key_id.copy_from_slice(&sha[12..20]);
        Self { data, key_id }
    }

    /// The raw 256 key bytes.
    pub fn bytes(&self) -> &[u8; 256] {
        &self.data
    }

    /// The 8-byte key id that prefixes every encrypted packet.
    pub fn key_id(&self) -> [u8; 8] {
        self.key_id
    }

    /// Decrypts a client packet (`auth_key_id ‖ msg_key ‖ encrypted_data`) in place and returns
    /// the plaintext (salt, session_id, message, padding).
    ///
    /// Errors when the length is wrong, the key id differs or `msg_key` does not verify.
    pub fn decrypt_from_client<'b>(&self, packet: &'b mut [u8]) -> Result<&'b [u8], CryptoError> {
        if packet.len() < 24 + 16 || !(packet.len() - 24).is_multiple_of(16) {
            return Err(CryptoError::InvalidLength(packet.len()));
        }
        if packet[..8] != self.key_id {
            return Err(CryptoError::UnknownKey);
        }
        let mut msg_key = [0; 16];
        msg_key.copy_from_slice(&packet[8..24]);
        let direction = Direction::ClientToServer;
        let (key, iv) = self.aes_key_iv(&msg_key, direction);
        let body = &mut packet[24..];
        aes::ige_decrypt(body, &key, &iv);
        if self.msg_key(body, direction) != msg_key {
            return Err(CryptoError::MsgKeyMismatch);
        }
        Ok(body)
    }

    /// Encrypts a server plaintext (salt, session_id, message) into a packet the client accepts,
    /// adding 12–1024 bytes of random padding so the length is a multiple of 16.
    pub fn encrypt_for_client(&self, plaintext: Vec<u8>) -> Vec<u8> {
        let mut buffer = DequeBuffer::with_capacity(plaintext.len() + 32, 24);
        buffer.extend(&plaintext);
        self.encrypt_in_place(&mut buffer);
        buffer.as_ref().to_vec()
    }

    /// [`Self::encrypt_for_client`] in place: pads and encrypts the plaintext in `buffer`, then
    /// prepends `auth_key_id ‖ msg_key` (room for 24 bytes in front saves a move). No copy of
    /// the plaintext is made, which matters for 512 KiB file chunks.
    pub fn encrypt_in_place(&self, buffer: &mut DequeBuffer<u8>) {
        let padding = 16 + (16 - buffer.len() % 16);
        let mut random = [0u8; 32];
        rand::fill(&mut random[..padding]);
        buffer.extend(&random[..padding]);
        let direction = Direction::ServerToClient;
        let msg_key = self.msg_key(buffer.as_ref(), direction);
        let (key, iv) = self.aes_key_iv(&msg_key, direction);
        aes::ige_encrypt(buffer.as_mut(), &key, &iv);
        buffer.extend_front(&msg_key);
        buffer.extend_front(&self.key_id);
    }

    /// `msg_key = substr(SHA256(substr(auth_key, 88+x, 32) ‖ plaintext ‖ padding), 8, 16)`.
    fn msg_key(&self, plaintext: &[u8], direction: Direction) -> [u8; 16] {
        let x = direction.x();
        let large = Sha256::new()
            .chain_update(&self.data[88 + x..88 + x + 32])
            .chain_update(plaintext)
            .finalize();
        let mut msg_key = [0; 16];
        msg_key.copy_from_slice(&large[8..24]);
        msg_key
    }

    /// The AES key and IV derived from `msg_key` as MTProto 2.0 specifies.
    fn aes_key_iv(&self, msg_key: &[u8; 16], direction: Direction) -> ([u8; 32], [u8; 32]) {
        let x = direction.x();
        let a = Sha256::new()
            .chain_update(msg_key)
            .chain_update(&self.data[x..x + 36])
            .finalize();
        let b = Sha256::new()
            .chain_update(&self.data[40 + x..40 + x + 36])
            .chain_update(msg_key)
            .finalize();
        let mut key = [0; 32];
        key[..8].copy_from_slice(&a[..8]);
        key[8..24].copy_from_slice(&b[8..24]);
        key[24..].copy_from_slice(&a[24..]);
        let mut iv = [0; 32];
        iv[..8].copy_from_slice(&b[..8]);
        iv[8..24].copy_from_slice(&a[8..24]);
        iv[24..].copy_from_slice(&b[24..]);
        (key, iv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_crypto::{AuthKey, decrypt_data_v2, encrypt_data_v2};

    fn key() -> [u8; 256] {
        let mut data = [0; 256];
        for (i, b) in data.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        data
    }

    #[test]
    fn server_decrypts_what_grammers_client_encrypts() {
        let plaintext: Vec<u8> = (0..100u8).collect();
        let mut buffer = DequeBuffer::with_capacity(plaintext.len(), 24);
        buffer.extend(plaintext.iter().copied());
        encrypt_data_v2(&mut buffer, &AuthKey::from_bytes(key()));
        let mut packet = buffer.as_ref().to_vec();

        let server = ServerAuthKey::new(key());
        let decrypted = server.decrypt_from_client(&mut packet).expect("decrypts");
        assert_eq!(&decrypted[..plaintext.len()], &plaintext[..]);
    }

    #[test]
    fn grammers_client_decrypts_what_server_encrypts() {
        let plaintext: Vec<u8> = (0..64u8).rev().collect();
        let server = ServerAuthKey::new(key());
        let mut packet = server.encrypt_for_client(plaintext.clone());

        let decrypted =
            decrypt_data_v2(&mut packet, &AuthKey::from_bytes(key())).expect("decrypts");
        assert_eq!(&decrypted[..plaintext.len()], &plaintext[..]);
    }

    #[test]
    fn tampered_packet_is_refused() {
        let server = ServerAuthKey::new(key());
        let mut buffer = DequeBuffer::with_capacity(32, 24);
        buffer.extend([1u8; 32]);
        encrypt_data_v2(&mut buffer, &AuthKey::from_bytes(key()));
        let mut packet = buffer.as_ref().to_vec();
        let last = packet.len() - 1;
        packet[last] ^= 1;
        assert_eq!(
            server.decrypt_from_client(&mut packet),
            Err(CryptoError::MsgKeyMismatch)
        );
    }

    #[test]
    fn key_id_matches_grammers() {
        // grammers puts the key id in front of every packet it encrypts.
        let mut buffer = DequeBuffer::with_capacity(16, 24);
        buffer.extend([0u8; 16]);
        encrypt_data_v2(&mut buffer, &AuthKey::from_bytes(key()));
        assert_eq!(&buffer.as_ref()[..8], &ServerAuthKey::new(key()).key_id());
    }
}
