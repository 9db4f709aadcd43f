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
//! * **Security mechanisms** NULL and PLAIN (RFC 23, RFC 24), as private state machines behind one
//!   internal interface; authentication decisions (ZAP, RFC 27) are asked of the driver through
//!   [`SessionEvent::Authenticate`].
//! * **[`Session`]**, the per-connection machine: greeting → security handshake → traffic →
//!   closed, with the handshake timeout and ZMTP 3.1 heartbeats. It is to ZMTP what
//!   quinn-proto's `Connection` is to QUIC.
//!
//! ## Driving a [`Session`]
//!
//! The caller owns the socket, the clock and both buffers: a `BytesMut` receive buffer and a
//! [`TxBuf`] transmit buffer.
//!
//! 1. Create the session with [`Session::new`] when the transport connection is up.
//! 2. Call [`Session::poll_transmit`] and write out whatever [`TxBuf`] holds (use
//!    [`TxBuf::io_slices`] for `writev`, then [`TxBuf::advance`] by what was written).
//! 3. When bytes arrive, append them to the receive buffer and call [`Session::poll_event`]
//!    until it returns `Ok(None)`; handle each [`SessionEvent`]:
//!    * [`SessionEvent::Authenticate`]: decide (for example over ZAP) and answer with
//!      [`Session::handle_auth`];
//!    * [`SessionEvent::Ready`]: the handshake is done, [`Session::send`] is now allowed;
//!    * [`SessionEvent::Traffic`]: a message, subscription or group change from the peer.
//!
//!    You may stop calling `poll_event` at any point (backpressure) and resume later.
//! 4. Send application traffic with [`Session::send`], which appends to the [`TxBuf`].
//! 5. Arm a timer for [`Session::poll_timeout`]; when it expires call
//!    [`Session::handle_timeout`].
//! 6. Go back to step 2: handshake commands, PONG replies and PINGs only leave through
//!    `poll_transmit`.
//!
//! On an `Err(SessionError)` from any step, call `poll_transmit` one last time (an ERROR command
//! may be queued for the peer, see [`SessionError::sends_error_command`]), write it, and close the
//! connection. The session stays closed; every later call reports the same error.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod command;
mod decoded;
mod error;
mod frame;
mod greeting;
mod mechanism;
mod msg;
mod parse;
mod session;
mod socket_type;
mod txbuf;

pub use command::{Command, CommandKind, MAX_PROPERTIES, PING_CONTEXT_MAX};
pub use decoded::Decoded;
pub use error::{
    ConfigError, DecodeError, HandshakeFailure, Incompatibility, Misbehaviour, ProtocolError,
    SendNotReady, SessionError,
};
pub use frame::{Frame, FrameDecoder, FrameHeader};
pub use greeting::{Greeting, MechanismName, Version};
pub use mechanism::MechanismConfig;
pub use msg::{Msg, Properties, Traffic};
pub use session::{
    AuthRequest, AuthResult, DEFAULT_HANDSHAKE_TIMEOUT, Handshake, Session, SessionConfig,
    SessionEvent,
};
pub use socket_type::SocketType;
pub use txbuf::{TxBuf, ZERO_COPY_THRESHOLD};
