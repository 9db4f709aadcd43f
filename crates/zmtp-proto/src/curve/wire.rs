//! The CURVE commands' wire layout (RFC 26 "High-level Grammar"), exactly as libzmq 4.3 sends
//! them: fields and sizes only, boxes left sealed.
//!
//! ```text
//! hello    = %d5 "HELLO" %x1 %x0 72%x00 client-key(32) short-nonce(8) signature-box(80)  ; 200
//! welcome  = %d7 "WELCOME" long-nonce(16) welcome-box(144)                              ; 168
//! initiate = %d8 "INITIATE" cookie(96) short-nonce(8) initiate-box(144+)                ; 257+
//! ready    = %d5 "READY" short-nonce(8) ready-box(16+)                                  ; 30+
//! message  = %d7 "MESSAGE" short-nonce(8) message-box(17+)                              ; 33+
//! ```
//!
//! Each `decode` takes a frame body (name included) and checks the name and the size; the
//! mechanism looks at the name first, so that a command that does not belong is reported as
//! unexpected rather than malformed. Each `encode_body` writes the body, and `encode` the whole
//! frame. libzmq sends MESSAGE in a frame without the COMMAND flag, and so does
//! [`Message::encode`]; handshake commands go in command frames.

use bytes::{BufMut, Bytes};

use crate::command::CommandKind;
use crate::error::DecodeError;
use crate::frame::FrameHeader;

/// `%d5 "HELLO"`.
pub(crate) const HELLO_NAME: &[u8; 6] = b"\x05HELLO";
/// `%d7 "WELCOME"`.
pub(crate) const WELCOME_NAME: &[u8; 8] = b"\x07WELCOME";
/// `%d8 "INITIATE"`.
pub(crate) const INITIATE_NAME: &[u8; 9] = b"\x08INITIATE";
/// `%d5 "READY"`.
pub(crate) const READY_NAME: &[u8; 6] = b"\x05READY";
/// `%d7 "MESSAGE"`.
pub(crate) const MESSAGE_NAME: &[u8; 8] = b"\x07MESSAGE";

/// Octets of anti-amplification padding in HELLO.
const HELLO_PADDING: usize = 72;

/// Reads a big-endian u64 at `at`.
fn u64_at(body: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = body.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// Copies `N` octets at `at`.
fn array_at<const N: usize>(body: &[u8], at: usize) -> Option<[u8; N]> {
    body.get(at..at + N)?.try_into().ok()
}

/// The body, after checking its name and that it has at least `min` octets (exactly `min`
/// when `exact`).
fn checked<'a>(
    body: &'a [u8],
    name: &[u8],
    min: usize,
    exact: bool,
    kind: CommandKind,
) -> Result<&'a [u8], DecodeError> {
    let fits = if exact {
        body.len() == min
    } else {
        body.len() >= min
    };
    if !body.starts_with(name) || !fits {
        return Err(DecodeError::MalformedCommand { command: kind });
    }
    Ok(body)
}

/// HELLO (client → server, 200 octets): the client's short-term public key C' and a box of 64
/// zeros from C' to the server's long-term key S, which proves the client knows S.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// CurveZMQ major version (1).
    pub major: u8,
    /// CurveZMQ minor version (0).
    pub minor: u8,
    /// The client's short-term public key C'.
    pub client_key: [u8; 32],
    /// The short nonce, after the prefix `CurveZMQHELLO---`.
    pub nonce: u64,
    /// `Box [64 zeros](C' → S)`.
    pub signature: [u8; 80],
}

impl Hello {
    /// Octets of the body.
    pub const LEN: usize = 200;

    /// Decodes a HELLO body. Its padding may hold anything (libzmq does not look at it); only
    /// its length matters, which keeps HELLO larger than WELCOME.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let body = checked(body, HELLO_NAME, Self::LEN, true, CommandKind::Hello)?;
        let malformed = DecodeError::MalformedCommand {
            command: CommandKind::Hello,
        };
        Ok(Self {
            major: *body.get(6).ok_or(malformed.clone())?,
            minor: *body.get(7).ok_or(malformed.clone())?,
            client_key: array_at(body, 80).ok_or(malformed.clone())?,
            nonce: u64_at(body, 112).ok_or(malformed.clone())?,
            signature: array_at(body, 120).ok_or(malformed)?,
        })
    }

    /// Octets of the body.
    pub fn body_len(&self) -> usize {
        Self::LEN
    }

    /// Writes the body, with zero padding.
    pub fn encode_body(&self, out: &mut impl BufMut) {
        out.put_slice(HELLO_NAME);
        out.put_u8(self.major);
        out.put_u8(self.minor);
        out.put_bytes(0, HELLO_PADDING);
        out.put_slice(&self.client_key);
        out.put_u64(self.nonce);
        out.put_slice(&self.signature);
    }

    /// Writes the whole command frame.
    pub fn encode(&self, out: &mut impl BufMut) {
        FrameHeader::new(false, true, self.body_len() as u64).encode(out);
        self.encode_body(out);
    }
}

/// WELCOME (server → client, 168 octets): a box from S to C' holding the server's short-term
/// public key S' and the cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    /// The long nonce, after the prefix `WELCOME-`.
    pub nonce: [u8; 16],
    /// `Box [S' + cookie](S → C')`.
    pub sealed: [u8; 144],
}

impl Welcome {
    /// Octets of the body.
    pub const LEN: usize = 168;

    /// Decodes a WELCOME body.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let body = checked(body, WELCOME_NAME, Self::LEN, true, CommandKind::Welcome)?;
        let malformed = DecodeError::MalformedCommand {
            command: CommandKind::Welcome,
        };
        Ok(Self {
            nonce: array_at(body, 8).ok_or(malformed.clone())?,
            sealed: array_at(body, 24).ok_or(malformed)?,
        })
    }

    /// Octets of the body.
    pub fn body_len(&self) -> usize {
        Self::LEN
    }

    /// Writes the body.
    pub fn encode_body(&self, out: &mut impl BufMut) {
        out.put_slice(WELCOME_NAME);
        out.put_slice(&self.nonce);
        out.put_slice(&self.sealed);
    }

    /// Writes the whole command frame.
    pub fn encode(&self, out: &mut impl BufMut) {
        FrameHeader::new(false, true, self.body_len() as u64).encode(out);
        self.encode_body(out);
    }
}

/// INITIATE (client → server, 257 octets or more): the cookie back, and a box from C' to S'
/// holding the client's long-term key C, the vouch and the client's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initiate {
    /// The cookie from WELCOME: a long nonce (after `COOKIE--`) and `Box [C' + s'](K)`.
    pub cookie: [u8; 96],
    /// The short nonce, after the prefix `CurveZMQINITIATE`.
    pub nonce: u64,
    /// `Box [C + vouch + metadata](C' → S')`, at least 144 octets.
    pub sealed: Bytes,
}

impl Initiate {
    /// The fewest octets of a body.
    pub const MIN_LEN: usize = 257;

    /// Decodes an INITIATE body; the box shares `body`'s memory.
    pub fn decode(body: &Bytes) -> Result<Self, DecodeError> {
        checked(
            body,
            INITIATE_NAME,
            Self::MIN_LEN,
            false,
            CommandKind::Initiate,
        )?;
        let malformed = DecodeError::MalformedCommand {
            command: CommandKind::Initiate,
        };
        Ok(Self {
            cookie: array_at(body, 9).ok_or(malformed.clone())?,
            nonce: u64_at(body, 105).ok_or(malformed)?,
            sealed: body.slice(113..),
        })
    }

    /// Octets of the body.
    pub fn body_len(&self) -> usize {
        113 + self.sealed.len()
    }

    /// Writes the body.
    pub fn encode_body(&self, out: &mut impl BufMut) {
        out.put_slice(INITIATE_NAME);
        out.put_slice(&self.cookie);
        out.put_u64(self.nonce);
        out.put_slice(&self.sealed);
    }

    /// Writes the whole command frame.
    pub fn encode(&self, out: &mut impl BufMut) {
        FrameHeader::new(false, true, self.body_len() as u64).encode(out);
        self.encode_body(out);
    }
}

/// READY (server → client, 30 octets or more): a box from S' to C' holding the server's
/// metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// The short nonce, after the prefix `CurveZMQREADY---`.
    pub nonce: u64,
    /// `Box [metadata](S' → C')`, at least 16 octets.
    pub sealed: Bytes,
}

impl Ready {
    /// The fewest octets of a body.
    pub const MIN_LEN: usize = 30;

    /// Decodes a READY body; the box shares `body`'s memory.
    pub fn decode(body: &Bytes) -> Result<Self, DecodeError> {
        checked(body, READY_NAME, Self::MIN_LEN, false, CommandKind::Ready)?;
        Ok(Self {
            nonce: u64_at(body, 6).ok_or(DecodeError::MalformedCommand {
                command: CommandKind::Ready,
            })?,
            sealed: body.slice(14..),
        })
    }

    /// Octets of the body.
    pub fn body_len(&self) -> usize {
        14 + self.sealed.len()
    }

    /// Writes the body.
    pub fn encode_body(&self, out: &mut impl BufMut) {
        out.put_slice(READY_NAME);
        out.put_u64(self.nonce);
        out.put_slice(&self.sealed);
    }

    /// Writes the whole command frame.
    pub fn encode(&self, out: &mut impl BufMut) {
        FrameHeader::new(false, true, self.body_len() as u64).encode(out);
        self.encode_body(out);
    }
}

/// MESSAGE (either way, 33 octets or more): one frame of traffic, sealed from the sender's
/// short-term key to the receiver's. Inside the box: a flags octet (bit 0 MORE, bit 1 COMMAND,
/// as libzmq 4.3 lays it out), then the frame's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The short nonce, after the prefix `CurveZMQMESSAGEC` (from the client) or
    /// `CurveZMQMESSAGES` (from the server).
    pub nonce: u64,
    /// `Box [flags + body]`, at least 17 octets.
    pub sealed: Bytes,
}

impl Message {
    /// The fewest octets of a body.
    pub const MIN_LEN: usize = 33;
    /// Octets before the box: name and short nonce.
    pub(crate) const HEADER_LEN: usize = 16;

    /// Decodes a MESSAGE body; the box shares `body`'s memory.
    pub fn decode(body: &Bytes) -> Result<Self, DecodeError> {
        checked(
            body,
            MESSAGE_NAME,
            Self::MIN_LEN,
            false,
            CommandKind::Message,
        )?;
        Ok(Self {
            nonce: u64_at(body, 8).ok_or(DecodeError::MalformedCommand {
                command: CommandKind::Message,
            })?,
            sealed: body.slice(Self::HEADER_LEN..),
        })
    }

    /// Octets of the body.
    pub fn body_len(&self) -> usize {
        Self::HEADER_LEN + self.sealed.len()
    }

    /// Writes the body.
    pub fn encode_body(&self, out: &mut impl BufMut) {
        out.put_slice(MESSAGE_NAME);
        out.put_u64(self.nonce);
        out.put_slice(&self.sealed);
    }

    /// Writes the whole frame, without the COMMAND flag, as libzmq 4.3 sends it.
    pub fn encode(&self, out: &mut impl BufMut) {
        FrameHeader::new(false, false, self.body_len() as u64).encode(out);
        self.encode_body(out);
    }
}
