//! The MTProto framing types grammers keeps private (`message`, `msg_container`,
//! `gzip_packed`, `rpc_result`), written for the server side.
//!
//! Layouts from <https://core.telegram.org/mtproto/serialize> and
//! <https://core.telegram.org/mtproto/service_messages>.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use grammers_tl_types::{self as tl, Deserializable, Serializable};

/// `msg_container#73f1f8dc messages:vector<message> = MessageContainer;`
pub const MSG_CONTAINER_ID: u32 = 0x73f1f8dc;
/// `gzip_packed#3072cfa1 packed_data:string = Object;`
pub const GZIP_PACKED_ID: u32 = 0x3072cfa1;
/// `rpc_result#f35c6d01 req_msg_id:long result:Object = RpcResult;`
pub const RPC_RESULT_ID: u32 = 0xf35c6d01;

/// Largest body a single message may carry, as Telegram enforces (and grammers asserts).
pub const MAX_MESSAGE_BODY: usize = 1_044_448;

/// One MTProto message: `msg_id:long seqno:int bytes:int body:bytes`.
#[derive(Debug, Clone)]
pub struct Message {
    /// The sender-assigned message id.
    pub msg_id: i64,
    /// The sequence number (odd for content-related messages).
    pub seq_no: i32,
    /// The serialized TL object.
    pub body: Vec<u8>,
}

/// Why an inbound payload could not be framed.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// A TL value could not be read.
    #[error("malformed TL: {0}")]
    Tl(#[from] tl::deserialize::Error),
    /// A declared length is negative or beyond what MTProto allows.
    #[error("invalid length {0}")]
    Length(i32),
    /// `gzip_packed` data did not inflate.
    #[error("gzip_packed data is corrupt")]
    Gzip,
}

impl Message {
    /// Reads one message header and body from `cursor`.
    pub fn read(cursor: &mut tl::Cursor) -> Result<Self, WireError> {
        let msg_id = i64::deserialize(cursor)?;
        let seq_no = i32::deserialize(cursor)?;
        let len = i32::deserialize(cursor)?;
        if len < 0 || len as usize > MAX_MESSAGE_BODY {
            return Err(WireError::Length(len));
        }
        let mut body = vec![0; len as usize];
        cursor.read_exact(&mut body)?;
        Ok(Self {
            msg_id,
            seq_no,
            body,
        })
    }

    /// Appends the serialized message to `buf`.
    pub fn write(&self, buf: &mut Vec<u8>) {
        self.msg_id.serialize(buf);
        self.seq_no.serialize(buf);
        (self.body.len() as i32).serialize(buf);
        buf.extend_from_slice(&self.body);
    }

    /// The constructor id the body starts with, if it has four bytes.
    pub fn constructor_id(&self) -> Option<u32> {
        constructor_id(&self.body)
    }
}

/// The leading constructor id of a serialized TL object.
pub fn constructor_id(body: &[u8]) -> Option<u32> {
    body.get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Splits a `msg_container` body into its messages.
pub fn read_container(body: &[u8]) -> Result<Vec<Message>, WireError> {
    let mut cursor = tl::Cursor::from_slice(&body[4..]);
    let count = i32::deserialize(&mut cursor)?;
    if !(0..=1024).contains(&count) {
        return Err(WireError::Length(count));
    }
    (0..count).map(|_| Message::read(&mut cursor)).collect()
}

/// Inflates a `gzip_packed` body into the object it wraps.
pub fn gunzip(body: &[u8]) -> Result<Vec<u8>, WireError> {
    let mut cursor = tl::Cursor::from_slice(&body[4..]);
    let packed = Vec::<u8>::deserialize(&mut cursor)?;
    let mut out = Vec::new();
    GzDecoder::new(&packed[..])
        .read_to_end(&mut out)
        .map_err(|_| WireError::Gzip)?;
    Ok(out)
}

/// Wraps `data` in `gzip_packed` (used for large replies, as Telegram does).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    let packed = encoder.finish().unwrap_or_default();
    let mut out = Vec::with_capacity(packed.len() + 12);
    GZIP_PACKED_ID.serialize(&mut out);
    packed.serialize(&mut out);
    out
}

/// Serializes `rpc_result{req_msg_id, result}` around an already serialized result.
pub fn rpc_result(req_msg_id: i64, result: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + result.len());
    RPC_RESULT_ID.serialize(&mut out);
    req_msg_id.serialize(&mut out);
    out.extend_from_slice(result);
    out
}

/// Serializes an `rpc_error` with Telegram's numeric code and UPPER_SNAKE message.
pub fn rpc_error(code: i32, message: &str) -> Vec<u8> {
    tl::enums::RpcError::Error(tl::types::RpcError {
        error_code: code,
        error_message: message.to_owned(),
    })
    .to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_round_trips() {
        let messages = [
            Message {
                msg_id: 4,
                seq_no: 1,
                body: vec![1, 2, 3, 4],
            },
            Message {
                msg_id: 8,
                seq_no: 2,
                body: vec![9; 8],
            },
        ];
        let mut body = Vec::new();
        MSG_CONTAINER_ID.serialize(&mut body);
        (messages.len() as i32).serialize(&mut body);
        for m in &messages {
            m.write(&mut body);
        }
        let read = read_container(&body).expect("container parses");
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].msg_id, 8);
        assert_eq!(read[1].body, vec![9; 8]);
    }

    #[test]
    fn gzip_round_trips() {
        let data: Vec<u8> = (0..2000u32).flat_map(|i| i.to_le_bytes()).collect();
        assert_eq!(gunzip(&gzip(&data)).expect("inflates"), data);
    }

    #[test]
    fn negative_length_is_refused() {
        let mut buf = Vec::new();
        1i64.serialize(&mut buf);
        1i32.serialize(&mut buf);
        (-5i32).serialize(&mut buf);
        assert!(matches!(
            Message::read(&mut tl::Cursor::from_slice(&buf)),
            Err(WireError::Length(-5))
        ));
    }
}
