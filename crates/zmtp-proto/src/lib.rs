//! # zmtp-proto: ZMTP 3.x without I/O
//!
//! This crate speaks the ZeroMQ Message Transport Protocol (RFC 23, ZMTP 3.0, and RFC 37,
//! ZMTP 3.1) as pure data transformations. It never opens a socket, never reads a clock, never
//! spawns a thread and never blocks: bytes and the current time go in, typed events and bytes
//! come out. Any runtime (our mio loop, tokio, io_uring, an embedded loop) can drive it alone.
//!
//! Bytes from a peer are hostile: every parser here returns a typed error instead of panicking,
//! and checks lengths against configured maximums before allocating.
//!
//! ## Layers
//!
//! * **Wire reprs**, usable on their own: [`Greeting`], [`FrameHeader`] / [`Frame`] /
//!   [`FrameDecoder`], and [`Command`]. Each has `encoded_len()` and `encode(&self, out)`;
//!   decoding returns [`Decoded::Complete`] or [`Decoded::Incomplete`] (not an error: more bytes
//!   are needed), or a [`DecodeError`].
//! * **Security mechanisms** NULL, PLAIN and CURVE (RFC 23, RFC 24, RFC 25/26), as private
//!   state machines behind one internal interface; authentication decisions (ZAP, RFC 27) are
//!   asked of the driver through [`SessionEvent::Authenticate`]. CURVE's keys, its command
//!   layouts and its randomness live in [`curve`]; [`z85`] is RFC 32's text encoding for keys.
//! * **[`Session`]**, the per-connection machine: greeting → security handshake → traffic →
//!   closed, with the handshake timeout and ZMTP 3.1 heartbeats. It is to ZMTP what
//!   quinn-proto's `Connection` is to QUIC.
//!
//! ## Driving a [`Session`]
//!
//! The caller owns the socket, the clock and both buffers: a `BytesMut` receive buffer and a
//! [`TxBuf`] transmit buffer.
//!
//! 1. Create the session with [`Session::new`] when the transport connection is up. For CURVE,
//!    fill [`SessionConfig::rng_seed`] with 32 fresh octets from the operating system's RNG
//!    first: this crate never reads a global RNG.
//! 2. Call [`Session::poll_transmit`] and write out whatever [`TxBuf`] holds (use
//!    [`TxBuf::io_slices`] for `writev`, then [`TxBuf::advance`] by what was written).
//! 3. When bytes arrive, append them to the receive buffer and call [`Session::poll_event`]
//!    until it returns `Ok(None)`; handle each [`SessionEvent`]:
//!    * [`SessionEvent::Authenticate`]: decide (for example over ZAP) and answer with
//!      [`Session::handle_auth`];
//!    * [`SessionEvent::Ready`]: the handshake is done, [`Session::send`] is now allowed;
//!    * [`SessionEvent::Traffic`]: a message, subscription or group change from the peer.
//!
//!    You may stop calling `poll_event` at any point (backpressure) and resume later. A
//!    driver that queues traffic before handing it on may call [`Session::poll_traffic`]
//!    instead, which decodes traffic straight into its queue and returns the other events.
//! 4. Send application traffic with [`Session::send`], which appends to the [`TxBuf`].
//! 5. Arm a timer for [`Session::poll_timeout`]; when it expires call
//!    [`Session::handle_timeout`].
//! 6. Go back to step 2: handshake commands, PONG replies and PINGs only leave through
//!    `poll_transmit`.
//!
//! On an `Err(SessionError)` from any step, call `poll_transmit` one last time (an ERROR command
//! may be queued for the peer, see [`SessionError::sends_error_command`]), write it, and close the
//! connection. The session stays closed; every later call reports the same error.

//!
//! ## Wire behaviour, and where it follows libzmq 4.3 rather than the letter of the RFCs
//!
//! * The greeting leaves in libzmq's three steps: the 10-octet signature (padding = routing id
//!   length + 1, RFC 37's pseudo-signature), the major version once the peer's signature is in,
//!   the remaining 53 octets once the peer's major version is in. The peer's greeting is
//!   accepted in any chunking. ZMTP 1.0 and 2.0 peers are refused as soon as their first
//!   octets give them away, whatever the mechanism (RFC 37 "Security Considerations").
//! * The as-server octet is 1 for a PLAIN or CURVE server (RFC 24, RFC 25) and 0 otherwise;
//!   it is never required of a peer (libzmq 4.3 always sends 0).
//! * READY carries `Socket-Type`, then `Identity` for REQ, DEALER and ROUTER only, then the
//!   `X-` properties sorted by name, exactly as libzmq builds it.
//! * Nothing but handshake commands leaves before the peer's READY has arrived:
//!   [`Session::send`] refuses until [`SessionEvent::Ready`].
//! * Subscriptions go as SUBSCRIBE/CANCEL to ZMTP 3.1 peers and as 0x01/0x00-prefixed data
//!   frames to ZMTP 3.0 peers; PUB and XPUB accept both forms (PUB drops other single-frame
//!   messages, as libzmq does). We send PINGs only to 3.1 peers
//!   but answer every PING, with one PONG per burst (libzmq keeps a single pending PONG).
//! * A socket-type mismatch sends ERROR ("Invalid socket type") before closing, as RFC 23 asks
//!   (libzmq closes silently); a denied authentication sends the ZAP status code as the ERROR
//!   reason, and nothing for 300, as libzmq does.
//! * Receiving is strict where the grammar is unambiguous (reserved flag bits, command names of
//!   ALPHA, property structure, PLAIN HELLO and WELCOME shapes, mechanism names) and lenient
//!   where libzmq is (MORE on a command, octets after an ERROR reason, as-server values,
//!   unknown or handshake commands after the handshake, PING contexts over 16 octets).
//! * Memory is bounded by what arrives, never by what is announced. With a maximum message
//!   size, a message may also not hold more than `max / 32` frames (at least 128), and a READY
//!   no more than [`MAX_PROPERTIES`] properties: limits libzmq does not have, which keep an
//!   attacker from buying 32 octets of memory with 2 on the wire.
//! * CURVE follows libzmq 4.3 octet for octet (checked against libzmq 4.3.5 over TCP): HELLO
//!   is 200 octets with 72 of padding, short nonces count from 1 on each side, the cookie key
//!   belongs to one connection, and every frame after the handshake is a MESSAGE in a frame
//!   without the COMMAND flag, whose boxed flags octet carries MORE (bit 0) and COMMAND
//!   (bit 1). We are stricter where no libzmq peer can notice: short nonces must increase
//!   across the whole connection (INITIATE above HELLO, every MESSAGE above the last), HELLO's
//!   box must hold zeros, the vouch must name our own long-term key, the boxed flags may not
//!   set bits 2-7, and public keys of small order are refused (as libsodium refuses them).
//!   Boxes are opened in place in the receive buffer, so a decrypted body shares its memory.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod command;
pub mod curve;
mod decoded;
mod error;
mod frame;
mod greeting;
mod mechanism;
mod msg;
mod packed;
mod parse;
mod session;
mod socket_type;
mod txbuf;
pub mod z85;

pub use command::{Command, CommandKind, MAX_PROPERTIES, PING_CONTEXT_MAX};
pub use curve::{CurveKeyPair, CurvePublicKey, CurveSecretKey, KeyError, RngSeed, curve_public};
pub use decoded::Decoded;
pub use error::{
    ConfigError, CryptoFailure, DecodeError, HandshakeFailure, Incompatibility, Misbehaviour,
    ProtocolError, SendNotReady, SessionError,
};
pub use frame::{Frame, FrameDecoder, FrameHeader};
pub use greeting::{Greeting, MechanismName, Version};
pub use mechanism::MechanismConfig;
pub use msg::{Frames, FramesIter, Msg, Properties, Traffic};
pub use packed::{FramePacker, Framed, PACKED_MESSAGE_MAX};
pub use session::{
    AuthRequest, AuthResult, DEFAULT_HANDSHAKE_TIMEOUT, Handshake, Session, SessionConfig,
    SessionEvent,
};
pub use socket_type::SocketType;
pub use txbuf::{TxBuf, ZERO_COPY_THRESHOLD};
pub use z85::Z85Error;

/// The `rand_core` version whose [`CryptoRngCore`](rand_core::CryptoRngCore) key generation
/// ([`CurveKeyPair::generate`]) takes.
pub use rand_core;
