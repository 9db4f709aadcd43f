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
//!
//! Build a machine with [`new_pattern`], or [`new_pattern_with`] to seed the counters libzmq
//! starts at random ([`PatternConfig`]). There are no timers: [`Pattern::poll_timeout`] is
//! always `None`.
//!
//! ## What each socket type does
//!
//! Every machine follows libzmq 4.3's `*_t` class of the same name (read from its source), and
//! the RFC where they agree; where they differ, libzmq wins and the module says so.
//!
//! | type | send | receive | options beyond SNDHWM, RCVHWM, CONFLATE, INVERT_MATCHING |
//! | --- | --- | --- | --- |
//! | REQ | `["", body…]` round-robin to a peer with room; strict alternation | reply from the asked peer only, delimiter stripped | REQ_RELAXED, REQ_CORRELATE, PROBE_ROUTER |
//! | REP | reply to the asker with its envelope; lost if it is gone | fair-queued, envelope stripped | ROUTER_MANDATORY, ROUTER_HANDOVER, PROBE_ROUTER (inherited, as libzmq) |
//! | DEALER | round-robin to a peer with room, else WouldBlock | fair-queued | PROBE_ROUTER |
//! | ROUTER | by first frame, O(1); unroutable or full: dropped, or HostUnreachable / WouldBlock | fair-queued, routing id prepended | ROUTER_MANDATORY, ROUTER_HANDOVER, PROBE_ROUTER |
//! | PUB | fan-out by prefix; full subscribers lose it | NotSupported | XPUB_* (inherited, as libzmq) |
//! | XPUB | as PUB | (un)subscriptions as `0x01/0x00 + topic`, upstream messages | XPUB_VERBOSE, _VERBOSER, _NODROP, _MANUAL, _MANUAL_LAST_VALUE, _WELCOME_MSG, SUBSCRIBE/UNSUBSCRIBE (manual) |
//! | SUB | NotSupported | fair-queued, filtered by prefix | SUBSCRIBE, UNSUBSCRIBE |
//! | XSUB | `0x01/0x00 + topic` subscribe, other messages upstream to all | fair-queued, unfiltered | — |
//! | PUSH | round-robin to a peer with room, else WouldBlock | NotSupported | — |
//! | PULL | NotSupported | fair-queued | — |
//! | PAIR | to the one peer, else WouldBlock | from the one peer | — |
//! | STREAM | `[id, data]`; `[id, ""]` closes | `[id, data]`; `[id, ""]` on connect/disconnect | STREAM_NOTIFY |
//! | SERVER | single frame, by `Msg::routing_id` | single frame, `Msg::routing_id` set | — |
//! | CLIENT | single frame, round-robin | single frame, fair-queued | — |
//! | RADIO | `[group, body]` to dishes that joined | NotSupported | XPUB_NODROP |
//! | DISH | NotSupported | `[group, body]` of joined groups | JOIN, LEAVE |
//! | GATHER | NotSupported | single frame, fair-queued | — |
//! | SCATTER | single frame, round-robin | NotSupported | — |
//! | PEER | as SERVER; ids known at connect time | as SERVER | — |
//! | CHANNEL | single frame, to the one peer | single frame | — |
//! | DGRAM | not implemented ([`UnsupportedSocketType`]) | | |
//!
//! An option that does not fit the type is refused with [`OptionError::NotApplicable`]
//! (EINVAL), as libzmq refuses it; SNDHWM, RCVHWM, CONFLATE and INVERT_MATCHING are generic
//! in libzmq and accepted by every type. CONFLATE takes effect on DEALER, PULL, PUSH, PUB and
//! SUB only (libzmq's `get_effective_conflate_option`). IMMEDIATE needs nothing here: the
//! driver then attaches a connecting peer only after its handshake.
//!
//! ## Shared building blocks
//!
//! * a double queue per peer with libzmq's flow control: full at the HWM (0 = no limit),
//!   writable again once the other side has read the low-water mark, `(hwm + 1) / 2`
//!   messages (`pipe_t`); an inbound queue at its HWM makes [`Pattern::can_receive_from`]
//!   false until [`Action::ResumeReceive`];
//! * a fair-queue, a load-balancer and a distributor with libzmq's array-swap algorithms
//!   (`fq_t`, `lb_t`, `dist_t`), so the order of service is libzmq's, each step O(1);
//! * a compressed (radix) trie for subscriptions, without recursion, whose cost follows the
//!   longest matching subscription, not the number of subscriptions.
//!
//! ## Where this differs from libzmq
//!
//! Messages are whole at this API, so libzmq's multipart corner cases (partial sends, MORE
//! flags mixing subscriptions and data) do not arise. Beyond that:
//!
//! * checks libzmq makes when the application receives (REQ's reply pipe and request id, REP's
//!   envelope, SUB's and DISH's filters, the single-frame rule of the draft types) are made
//!   when the message arrives, with the same state, so [`Pattern::is_readable`] is exact; an
//!   unsubscribe or leave also drops the queued messages it no longer matches;
//! * a peer announcing a ROUTER routing id already in use is refused
//!   ([`AttachError::DuplicateRoutingId`]) where libzmq leaves its pipe unidentified and
//!   unread; generated ids never collide with announced ones (libzmq asserts);
//! * REP routes the reply when it is sent, not when the request is received, and drops it
//!   silently even under ROUTER_MANDATORY (libzmq asserts there);
//! * STREAM takes exactly `[id, data]` (else InvalidMessage);
//! * a subscriber's `hiccup` on reconnect also reactivates a pipe that was full, which libzmq
//!   forgets to do.

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
mod peer_index;
mod pipe;
mod prefix_tree;
mod socket;
mod trie;

#[cfg(test)]
mod tests;

pub use api::{
    Action, AttachError, AttachInfo, DetachReason, OptionError, Pattern, PatternConfig,
    PatternOption, PeerId, PeerInfo, PeerStats, RecvError, SendError, SendErrorKind,
    UnsupportedSocketType, UserFrame,
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
