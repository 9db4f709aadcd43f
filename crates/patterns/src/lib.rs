//! # patterns: ZeroMQ socket types as pure state machines
//!
//! One machine per socket type (REQ, REP, DEALER, ROUTER, PUB, SUB, XPUB, XSUB, PUSH, PULL,
//! PAIR, STREAM and the draft types), all implementing [`Pattern`]. A machine never touches a
//! socket, a clock or a thread: peer events and user commands go in, decisions come out. The
//! machine owns each peer's outbound and inbound queue, with its high-water mark, so it knows
//! when a peer cannot take more.
//!
//! ## Driving a machine
//!
//! 1. When a peer's pipe exists, call [`Pattern::handle_peer_attached`]. For a connecting socket
//!    this happens at `connect` time, before any connection is up (messages queue meanwhile);
//!    for a binding socket, when an accepted connection completes its handshake.
//! 2. After every completed handshake on that pipe call [`Pattern::handle_peer_connected`] with
//!    what the peer announced; when that connection drops but the pipe stays (a connecting
//!    socket that will reconnect) call [`Pattern::handle_peer_disconnected`]; when the pipe goes
//!    for good, [`Pattern::handle_peer_detached`].
//! 3. Feed what a peer sent with [`Pattern::handle_traffic`], but only while
//!    [`Pattern::can_receive_from`] says the peer's inbound queue has room.
//! 4. User commands: [`Pattern::send`] (an error hands the message back) and [`Pattern::recv`].
//! 5. Drain [`Pattern::poll_action`] after every call above: it says which peers have traffic
//!    waiting ([`Action::Transmit`], then pull it with [`Pattern::poll_transmit`]), which peers
//!    have room again ([`Action::ResumeReceive`]) and which to drop ([`Action::Detach`]).
//! 6. Call [`Pattern::handle_timeout`] at or after [`Pattern::poll_timeout`].
//!
//! Readiness for the user is read with [`Pattern::is_readable`] and [`Pattern::is_writable`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// A refused send hands the message back by value (`SendError { kind, msg }`), and internally a
// refused write hands the traffic back the same way: a `Msg` keeps up to three frames inline, so
// these errors are large, but boxing them would allocate on every WouldBlock in a busy loop.
#![allow(clippy::result_large_err)]

mod api;
mod core;
mod dist;
mod fq;
mod hash;
mod lb;
mod machine;
mod mtrie;
mod pipe;
mod prefix_tree;
mod socket;
mod trie;

#[cfg(test)]
mod tests;

pub use api::{
    Action, AttachError, AttachInfo, DetachReason, OptionError, Pattern, PatternConfig,
    PatternOption, PeerId, PeerInfo, PeerStats, RecvError, SendError, SendErrorKind,
    UnsupportedSocketType,
};
pub use zmtp_proto::{Msg, SocketType, Traffic};

/// The machine for `socket_type`, with [`PatternConfig::default`] (every counter libzmq
/// starts at random starts at 0).
///
/// Every socket type is supported except `Dgram` (UDP-only in libzmq), which returns
/// [`UnsupportedSocketType`].
pub fn new_pattern(socket_type: SocketType) -> Result<Box<dyn Pattern>, UnsupportedSocketType> {
    new_pattern_with(socket_type, &PatternConfig::default())
}

/// The machine for `socket_type`, with the counters libzmq starts at random seeded from
/// `config`.
pub fn new_pattern_with(
    socket_type: SocketType,
    config: &PatternConfig,
) -> Result<Box<dyn Pattern>, UnsupportedSocketType> {
    socket::new(socket_type, config)
}
