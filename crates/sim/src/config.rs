//! Identifiers and configuration of the simulated world: what a node is (one socket), how it
//! reads, how it reconnects, and what a link does to the bytes crossing it.
//!
//! Everything here is plain data with libzmq-like defaults; nothing is random until the
//! [`crate::Sim`] draws from its seeded generator.

use std::time::Duration;

use bytes::Bytes;
use patterns::PatternOption;
use zmtp_proto::{SessionConfig, SocketType};

/// One simulated socket, numbered from 0 in the order nodes were added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);

/// One `connect` from a node to another, numbered from 0 in the order links were made. A link
/// carries one transport connection at a time (a new one after each reconnect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub usize);

/// One transport connection: a link and the attempt that created it (1 for the first connect,
/// then one more per reconnect attempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    /// The link the connection runs over.
    pub link: LinkId,
    /// Which connection attempt on that link.
    pub generation: u64,
}

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "L{}#{}", self.link.0, self.generation)
    }
}

/// Which end of a link: the node that called `connect`, or the node that was bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum End {
    /// The connecting side: attaches its pipe at connect time and reconnects.
    Connecter,
    /// The binding side: accepts each connection and attaches a pipe per handshake.
    Binder,
}

impl End {
    /// The other end.
    pub fn other(self) -> Self {
        match self {
            Self::Connecter => Self::Binder,
            Self::Binder => Self::Connecter,
        }
    }
}

/// How the simulated application reads from a node's socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecvPolicy {
    /// Never by itself: the test calls [`crate::Sim::recv`].
    Manual,
    /// Everything, as soon as the socket is readable, into the node's inbox.
    Eager,
    /// A slow reader: at most `batch` messages every `interval`, into the node's inbox.
    Every {
        /// Time between reads.
        interval: Duration,
        /// Messages taken per read.
        batch: usize,
    },
}

/// libzmq's default `ZMQ_RECONNECT_IVL`.
pub const DEFAULT_RECONNECT_IVL: Duration = Duration::from_millis(100);

/// Bytes a node pulls from its pattern into a connection's transmit buffer before it waits
/// for the transport to take them (the facade uses two loopback TCP segments, 128 KiB).
pub const DEFAULT_TX_BATCH: usize = 8 * 1024;

/// How long a connection attempt waits for the accept (an operating system waits minutes;
/// a simulation need not).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// One node: a socket type with its session settings, options and application behaviour.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The ZMTP settings of every connection (socket type, routing id, heartbeats,
    /// security, ...). With CURVE, set `rng_seed` to anything: each connection gets a fresh
    /// seed from the node's own generator.
    pub session: SessionConfig,
    /// Seed for the counters libzmq starts at random (`patterns::PatternConfig::seed`).
    pub pattern_seed: u32,
    /// Options applied to the machine when the node is created, in order.
    pub options: Vec<PatternOption>,
    /// How the application reads.
    pub recv: RecvPolicy,
    /// Delay before a connecting node tries again after a connection is lost or refused;
    /// `None` never reconnects (libzmq's `-1`).
    pub reconnect_ivl: Option<Duration>,
    /// libzmq's `ZMQ_IMMEDIATE`: a connecting node attaches its pipe only once a handshake
    /// completes, and drops it with the connection.
    pub immediate: bool,
    /// See [`DEFAULT_TX_BATCH`].
    pub tx_batch: usize,
    /// How long a connection attempt may wait for the other end to accept before it fails
    /// (and the node retries after its reconnect interval).
    pub connect_timeout: Duration,
    /// Pipes pack small messages as their wire frames (`patterns::AttachInfo::packs_frames`),
    /// as the facade's tcp and ipc peers do; a CURVE session then takes the packed buffers
    /// apart again. A packed buffer leaves the queue whole, so more than `tx_batch` octets
    /// may be taken at once.
    pub packs_frames: bool,
}

impl NodeConfig {
    /// A node of `socket_type` with libzmq's defaults and a manual reader.
    pub fn new(socket_type: SocketType) -> Self {
        Self {
            session: SessionConfig::new(socket_type),
            pattern_seed: 0,
            options: Vec::new(),
            recv: RecvPolicy::Manual,
            reconnect_ivl: Some(DEFAULT_RECONNECT_IVL),
            immediate: false,
            tx_batch: DEFAULT_TX_BATCH,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            packs_frames: false,
        }
    }

    /// The socket type.
    pub fn socket_type(&self) -> SocketType {
        self.session.socket_type
    }

    /// Adds an option, applied at creation.
    pub fn option(mut self, option: PatternOption) -> Self {
        self.options.push(option);
        self
    }

    /// Sets how the application reads.
    pub fn recv(mut self, policy: RecvPolicy) -> Self {
        self.recv = policy;
        self
    }

    /// Sets the routing id announced in READY (REQ, DEALER, ROUTER).
    pub fn routing_id(mut self, id: impl Into<Bytes>) -> Self {
        self.session.routing_id = Some(id.into());
        self
    }

    /// Sends ZMTP 3.1 heartbeats every `interval`, giving up after `timeout` of silence.
    pub fn heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.session.heartbeat_interval = Some(interval);
        self.session.heartbeat_timeout = Some(timeout);
        self
    }

    /// Sets the reconnect delay (`None`: never reconnect).
    pub fn reconnect_ivl(mut self, ivl: Option<Duration>) -> Self {
        self.reconnect_ivl = ivl;
        self
    }

    /// Sets `ZMQ_IMMEDIATE`.
    pub fn immediate(mut self, on: bool) -> Self {
        self.immediate = on;
        self
    }

    /// Lets the node's pipes pack small messages (see [`NodeConfig::packs_frames`]).
    pub fn packs_frames(mut self, packs: bool) -> Self {
        self.packs_frames = packs;
        self
    }

    /// Sets the transmit batch (see [`DEFAULT_TX_BATCH`]).
    pub fn tx_batch(mut self, bytes: usize) -> Self {
        self.tx_batch = bytes.max(1);
        self
    }

    /// Sets the pattern seed.
    pub fn pattern_seed(mut self, seed: u32) -> Self {
        self.pattern_seed = seed;
        self
    }
}

/// Random connection failures on a link: each connection lives for a random time in
/// `up`, then fails, and the link refuses connections for a random time in `down`. A
/// failure is a reset (a TCP RST both ends see at once), or, with `half_open`, half the
/// time a blackhole: the connection silently stops delivering and only heartbeats (or a
/// later reset) end it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faults {
    /// How long each connection lives, drawn uniformly.
    pub up: (Duration, Duration),
    /// How long the link then refuses connections, drawn uniformly.
    pub down: (Duration, Duration),
    /// Whether failures may be silent (see above).
    pub half_open: bool,
}

/// What a link does to the bytes that cross it. Each direction is a TCP-like stream: bytes
/// arrive in order, exactly once, unless the connection breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConfig {
    /// Shortest one-way delay of a chunk.
    pub latency_min: Duration,
    /// Longest one-way delay of a chunk (each chunk draws its own, but never overtakes the
    /// chunk before it).
    pub latency_max: Duration,
    /// Each write is cut at random points into 1 to this many chunks (1: never cut).
    pub max_pieces: usize,
    /// Bytes a direction holds in flight plus unread at the receiver (the socket buffers and
    /// TCP window together); a writer blocks beyond it.
    pub window: usize,
    /// Random resets, if any.
    pub faults: Option<Faults>,
}

impl Default for LinkConfig {
    /// 50 µs to 2 ms of latency, writes cut into up to 4 chunks, a 64 KiB window, no faults.
    fn default() -> Self {
        Self {
            latency_min: Duration::from_micros(50),
            latency_max: Duration::from_millis(2),
            max_pieces: 4,
            window: 64 * 1024,
            faults: None,
        }
    }
}

impl LinkConfig {
    /// Sets the latency range.
    pub fn latency(mut self, min: Duration, max: Duration) -> Self {
        self.latency_min = min;
        self.latency_max = max.max(min);
        self
    }

    /// Sets how many chunks a write may be cut into.
    pub fn max_pieces(mut self, pieces: usize) -> Self {
        self.max_pieces = pieces.max(1);
        self
    }

    /// Sets the window.
    pub fn window(mut self, bytes: usize) -> Self {
        self.window = bytes.max(1);
        self
    }

    /// Adds random resets.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = Some(faults);
        self
    }
}
