//! The interface every socket-type machine implements, and the types that cross it.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use zmtp_proto::{Msg, SocketType, Traffic};

/// Identifies one peer (one pipe) of a socket. The driver chooses the number (the facade uses
/// its slab index) and must not reuse it while the machine still knows the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub usize);

/// What the driver knows when a peer's pipe is created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachInfo {
    /// True when this side connected (the pipe exists before any connection is up, and
    /// survives reconnects); false for a peer that connected to us.
    pub locally_initiated: bool,
    /// The routing id the user chose for this connection with `CONNECT_ROUTING_ID`
    /// (ROUTER, STREAM), if any.
    pub connect_routing_id: Option<Bytes>,
    /// The peer is reached through a connection that sends message frames as they are (a
    /// NULL or PLAIN mechanism; not STREAM's raw bytes): its outbound queue may hold small
    /// messages already framed, many to one [`Traffic::Framed`] buffer.
    pub packs_frames: bool,
}

/// What a peer announced in its handshake (READY's properties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's `Socket-Type`.
    pub socket_type: SocketType,
    /// The peer's `Identity` property, when it sent a non-empty one.
    pub routing_id: Option<Bytes>,
}

/// An output of a machine, drained with [`Pattern::poll_action`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// The peer's outbound queue went from empty to non-empty: pull its traffic with
    /// [`Pattern::poll_transmit`] when the connection can take it.
    Transmit {
        /// The peer with traffic waiting.
        peer: PeerId,
    },
    /// The peer's inbound queue was full and has room again: resume reading from it.
    ResumeReceive {
        /// The peer that can take more.
        peer: PeerId,
    },
    /// The machine wants this peer gone: close its connection and then report
    /// [`Pattern::handle_peer_detached`].
    Detach {
        /// The peer to drop.
        peer: PeerId,
        /// Why.
        reason: DetachReason,
    },
}

/// Why a machine asks for a peer to be dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DetachReason {
    /// The socket type accepts only one peer (PAIR, CHANNEL) and already has one.
    AlreadyPaired,
    /// ROUTER: another peer took over this routing id (`ROUTER_HANDOVER`).
    HandedOver,
    /// ROUTER: the routing id is already in use and handover is off.
    DuplicateRoutingId,
    /// The peer sent traffic its socket type must not send.
    ProtocolViolation,
    /// STREAM: the application asked to close this connection (an empty data frame).
    ClosedByApplication,
}

/// Why [`Pattern::handle_peer_connected`] refused a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttachError {
    /// The socket type accepts only one peer and already has one.
    #[error("this socket type accepts only one peer and already has one")]
    AlreadyPaired,
    /// The routing id the peer announced is already in use and handover is off.
    #[error("the peer's routing id is already in use")]
    DuplicateRoutingId,
}

/// What kind of failure a [`SendError`] reports, in libzmq's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendErrorKind {
    /// EAGAIN: no peer can take the message now (every queue is full, or there is no peer
    /// yet); try again later or block until [`Pattern::is_writable`].
    WouldBlock,
    /// EFSM: the socket is in the wrong state for a send (REQ waiting for a reply, REP with no
    /// request to answer).
    InvalidState,
    /// EHOSTUNREACH: the routing id names no peer (ROUTER_MANDATORY, SERVER, PEER).
    HostUnreachable,
    /// ENOTSUP: this socket type never sends (PULL, SUB).
    NotSupported,
    /// EINVAL: the message does not fit the socket type (for example a multipart message on a
    /// single-frame draft type, or an empty message).
    InvalidMessage,
}

/// A one-frame message as the user hands it to [`Pattern::send_frame`]: its payload as
/// `Bytes`, or octets the caller holds (a small message kept inline), copied where they are
/// queued: into a packed buffer as they are, or into a [`Msg`] for a queue of whole messages
/// (inline there too, up to [`Msg::SMALL_MAX`] octets).
#[derive(Debug)]
pub enum UserFrame<'a> {
    /// The payload, queued as it is.
    Shared(Bytes),
    /// Octets the caller keeps; queuing copies them.
    Borrowed(&'a [u8]),
}

impl UserFrame<'_> {
    /// Payload octets.
    #[inline]
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// True when the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Self::Shared(bytes) => bytes,
            Self::Borrowed(data) => data,
        }
    }

    /// The one-frame message of this frame: its `Bytes`, or a copy of the borrowed octets
    /// (see [`Msg::copied`]).
    #[inline]
    pub fn into_msg(self) -> Msg {
        match self {
            Self::Shared(bytes) => Msg::single(bytes),
            Self::Borrowed(data) => Msg::copied(data),
        }
    }
}

impl AsRef<[u8]> for UserFrame<'_> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<Bytes> for UserFrame<'_> {
    #[inline]
    fn from(bytes: Bytes) -> Self {
        Self::Shared(bytes)
    }
}

/// A refused send. The message comes back untouched.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("send refused: {kind:?}")]
pub struct SendError {
    /// Why.
    pub kind: SendErrorKind,
    /// The message the caller tried to send.
    pub msg: Msg,
}

impl std::fmt::Debug for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendError")
            .field("kind", &self.kind)
            .field("frames", &self.msg.len())
            .finish()
    }
}

/// Why [`Pattern::recv`] returned no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecvError {
    /// EAGAIN: nothing to receive now.
    #[error("no message is ready")]
    WouldBlock,
    /// EFSM: the socket is in the wrong state for a receive (REQ before sending a request,
    /// REP before replying).
    #[error("the socket is in the wrong state to receive")]
    InvalidState,
    /// ENOTSUP: this socket type never receives (PUSH, PUB).
    #[error("this socket type does not receive")]
    NotSupported,
}

/// A socket option that reaches the machine. Options the machine does not need (transport,
/// security, timeouts) stay with the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternOption {
    /// SNDHWM: messages queued per peer outbound before that peer counts as full; 0 is no limit.
    SndHwm(usize),
    /// RCVHWM: messages queued per peer inbound before reading from it stops; 0 is no limit.
    RcvHwm(usize),
    /// CONFLATE: keep only the last message in each queue.
    Conflate(bool),
    /// REQ_RELAXED: allow a new request before the reply to the previous one.
    ReqRelaxed(bool),
    /// REQ_CORRELATE: prefix requests with a request id and match replies to it.
    ReqCorrelate(bool),
    /// ROUTER_MANDATORY: refuse unroutable messages with EHOSTUNREACH instead of dropping them.
    RouterMandatory(bool),
    /// ROUTER_HANDOVER: a peer announcing a routing id in use takes it over.
    RouterHandover(bool),
    /// PROBE_ROUTER: send an empty message to each new peer.
    ProbeRouter(bool),
    /// XPUB_VERBOSE: pass every subscription to the application, not only new ones.
    XPubVerbose(bool),
    /// XPUB_VERBOSER: like XPUB_VERBOSE, and pass every unsubscription too.
    XPubVerboser(bool),
    /// XPUB_NODROP: a full subscriber makes send fail with EAGAIN instead of losing messages.
    XPubNoDrop(bool),
    /// XPUB_MANUAL: the application decides subscriptions with Subscribe/Unsubscribe.
    XPubManual(bool),
    /// XPUB_MANUAL_LAST_VALUE: like XPUB_MANUAL, and the next message sent after a
    /// subscription is received goes only to the peer that asked (a last-value cache).
    XPubManualLastValue(bool),
    /// XPUB_WELCOME_MSG: a message sent to each new subscriber.
    XPubWelcomeMsg(Option<Bytes>),
    /// INVERT_MATCHING: deliver (PUB, XPUB) or accept (SUB) what does not match.
    InvertMatching(bool),
    /// SUBSCRIBE: SUB adds a prefix; XPUB with XPUB_MANUAL subscribes the last asking peer.
    Subscribe(Bytes),
    /// UNSUBSCRIBE: the reverse of Subscribe.
    Unsubscribe(Bytes),
    /// DISH: join a group.
    Join(Bytes),
    /// DISH: leave a group.
    Leave(Bytes),
    /// STREAM_NOTIFY: deliver an empty message on connect and disconnect (STREAM).
    StreamNotify(bool),
}

/// Why a [`PatternOption`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionError {
    /// EINVAL: the option does not apply to this socket type.
    #[error("option {option} does not apply to a {socket_type} socket")]
    NotApplicable {
        /// The option's libzmq name.
        option: &'static str,
        /// The socket type that refused it.
        socket_type: SocketType,
    },
    /// EINVAL: the value is out of range (for example a group longer than 15 octets).
    #[error("invalid value for {option}")]
    InvalidValue {
        /// The option's libzmq name.
        option: &'static str,
    },
}

/// Construction-time values that libzmq draws from its random number generator.
///
/// A machine never reads a global RNG: the driver passes a seed instead (the facade draws it
/// from its own seeded RNG), which also makes tests reproducible.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatternConfig {
    /// First value of the counters libzmq starts at random: ROUTER's and STREAM's generated
    /// routing ids (`0x00` + this value big-endian, then +1 per peer), SERVER's and PEER's
    /// 32-bit routing ids (0 is skipped), and REQ's request id (REQ_CORRELATE increments it
    /// before each request).
    pub seed: u32,
}

/// [`crate::new_pattern`] was asked for a socket type this crate does not implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("socket type {0} is not supported by the pattern machines")]
pub struct UnsupportedSocketType(pub SocketType);

/// Counters for one peer, for users who need to see where a pipeline backs up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// Messages waiting in the outbound queue.
    pub queued_out: usize,
    /// Messages waiting in the inbound queue.
    pub queued_in: usize,
    /// Messages handed to the peer's connection so far.
    pub msgs_out: u64,
    /// Messages received from the peer so far.
    pub msgs_in: u64,
    /// Payload octets handed to the peer's connection so far.
    pub bytes_out: u64,
    /// Payload octets received from the peer so far.
    pub bytes_in: u64,
}

/// One socket type's behaviour. See the crate documentation for the order of calls.
pub trait Pattern: Send + std::fmt::Debug {
    /// The socket type this machine implements.
    fn socket_type(&self) -> SocketType;

    /// Applies an option. Options that do not fit the socket type are refused (EINVAL).
    fn set_option(&mut self, now: Instant, option: PatternOption) -> Result<(), OptionError>;

    /// A peer's pipe now exists; it can queue outbound messages from here on.
    fn handle_peer_attached(&mut self, now: Instant, peer: PeerId, info: AttachInfo);

    /// A handshake completed on the peer's pipe (the first, or one after a reconnect).
    /// An error means the connection must be closed and the peer detached.
    fn handle_peer_connected(
        &mut self,
        now: Instant,
        peer: PeerId,
        info: PeerInfo,
    ) -> Result<(), AttachError>;

    /// The peer's connection dropped but its pipe stays for a reconnect: a partly received
    /// message is the driver's to discard; messages already handed over stay receivable and
    /// outbound traffic stays queued (up to the high-water mark). Subscriber types (SUB, XSUB,
    /// DISH) drop their queued outbound traffic and queue their subscriptions again, as
    /// libzmq's pipe `hiccup` does, so the next connection starts with the full set.
    fn handle_peer_disconnected(&mut self, now: Instant, peer: PeerId);

    /// The peer's pipe is gone: its outbound queue is dropped and the driver may reuse the
    /// `PeerId` at once. Messages it had already sent stay receivable, as libzmq delivers a
    /// terminated pipe's pending messages up to its delimiter (RFC 28-31 say "discard"; libzmq
    /// does not).
    fn handle_peer_detached(&mut self, now: Instant, peer: PeerId);

    /// Traffic from a peer. Call only while [`Pattern::can_receive_from`] is true; traffic a
    /// socket type must not receive is dropped (and may produce [`Action::Detach`]).
    fn handle_traffic(&mut self, now: Instant, peer: PeerId, traffic: Traffic);

    /// Traffic from a peer in a batch: takes items from the front of `batch`, at most `max`,
    /// while [`Pattern::can_receive_from`] holds, and returns how many it took. The same as
    /// that many [`Pattern::handle_traffic`] calls, with the per-call bookkeeping done once.
    fn handle_traffic_batch(
        &mut self,
        now: Instant,
        peer: PeerId,
        batch: &mut VecDeque<Traffic>,
        max: usize,
    ) -> usize {
        let mut taken = 0;
        while taken < max && self.can_receive_from(peer) {
            let Some(traffic) = batch.pop_front() else {
                break;
            };
            self.handle_traffic(now, peer, traffic);
            taken += 1;
        }
        taken
    }

    /// A timer from [`Pattern::poll_timeout`] is due.
    fn handle_timeout(&mut self, now: Instant);

    /// The user sends one whole message. On error the message is handed back.
    fn send(&mut self, now: Instant, msg: Msg) -> Result<(), SendError>;

    /// The user sends a one-frame message with no routing id, held as its frame: the same as
    /// [`Pattern::send`] with `frame.into_msg()`. The load-balancing types
    /// (PUSH, DEALER, PAIR) queue the frame without building a `Msg` first, the common send
    /// made cheaper, and pack a borrowed frame's octets without making `Bytes` of them.
    fn send_frame(&mut self, now: Instant, frame: UserFrame<'_>) -> Result<(), SendError> {
        self.send(now, frame.into_msg())
    }

    /// The user receives one whole message.
    fn recv(&mut self, now: Instant) -> Result<Msg, RecvError>;

    /// Receives up to `max` whole messages in a row, appended to `into`; returns how many.
    /// The same as calling [`Pattern::recv`] until it fails or `max` are taken, with the
    /// per-call bookkeeping done once. Meant for [`Pattern::recv_is_stateless`] types.
    fn recv_batch(&mut self, now: Instant, max: usize, into: &mut VecDeque<Msg>) -> usize {
        let mut taken = 0;
        while taken < max {
            match self.recv(now) {
                Ok(msg) => into.push_back(msg),
                Err(_) => break,
            }
            taken += 1;
        }
        taken
    }

    /// Next traffic queued for `peer`, oldest first.
    fn poll_transmit(&mut self, peer: PeerId) -> Option<Traffic>;

    /// Everything queued for `peer`, appended to `into` in order; returns how many items.
    /// Equivalent to calling [`Pattern::poll_transmit`] until it returns `None`, but O(1) for
    /// the queue itself, so a driver sharing the machine between threads holds it briefly.
    fn poll_transmit_batch(&mut self, peer: PeerId, into: &mut VecDeque<Traffic>) -> usize {
        self.poll_transmit_up_to(peer, usize::MAX, into)
    }

    /// Like [`Pattern::poll_transmit_batch`], taking at most `max` items.
    fn poll_transmit_up_to(
        &mut self,
        peer: PeerId,
        max: usize,
        into: &mut VecDeque<Traffic>,
    ) -> usize {
        let mut n = 0;
        while n < max {
            let Some(traffic) = self.poll_transmit(peer) else {
                break;
            };
            into.push_back(traffic);
            n += 1;
        }
        n
    }

    /// Next action for the driver.
    fn poll_action(&mut self) -> Option<Action>;

    /// The earliest instant at which [`Pattern::handle_timeout`] must be called.
    fn poll_timeout(&self) -> Option<Instant>;

    /// Whether [`Pattern::recv`] would return a message (ZMQ_POLLIN).
    fn is_readable(&self) -> bool;

    /// True when receiving does not change what the machine does next, so a driver may take
    /// several messages in a row and hand them to the user later (a receive-side batch).
    /// False for REQ and REP, whose replies depend on the last message received, and for an
    /// XPUB with XPUB_MANUAL, which subscribes the peer of the last message received.
    fn recv_is_stateless(&self) -> bool {
        true
    }

    /// Whether [`Pattern::send`] could queue a message without failing with
    /// [`SendErrorKind::WouldBlock`] (ZMQ_POLLOUT). Takes `&mut self`: computing it may
    /// deactivate full pipes, as libzmq's `has_out` does.
    fn is_writable(&mut self) -> bool;

    /// Whether `peer`'s inbound queue can take more traffic.
    fn can_receive_from(&self, peer: PeerId) -> bool;

    /// How many more messages `peer`'s inbound queue takes before it is full (0 exactly when
    /// [`Pattern::can_receive_from`] is false; `usize::MAX` without a high-water mark). A
    /// driver moving messages between two machines in one process uses it to hold no more
    /// than the two high-water marks, as libzmq's inproc pipes do.
    fn receive_room(&self, peer: PeerId) -> usize {
        usize::from(self.can_receive_from(peer))
    }

    /// Counters for `peer`, if the machine knows it.
    fn peer_stats(&self, peer: PeerId) -> Option<PeerStats>;

    /// The routing id that identifies `peer` in messages, if the socket type has one (ROUTER
    /// and STREAM ids, or the 32-bit ids of SERVER and PEER encoded big-endian).
    fn routing_id_of(&self, peer: PeerId) -> Option<Bytes>;
}
