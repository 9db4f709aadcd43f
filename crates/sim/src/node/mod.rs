//! One simulated socket: a pattern machine, one ZMTP [`Session`] per transport connection
//! with its receive buffer and [`TxBuf`], and the driver that moves traffic between them.
//!
//! The driver does what a real runtime does, following the drive loops in the `patterns` and
//! `zmtp-proto` crate docs (and mirroring the facade's I/O loop):
//!
//! * a connecting node attaches its pipe when it connects (before any connection is up) and
//!   keeps it across reconnects, telling the machine `handle_peer_disconnected` when a
//!   connection whose handshake completed drops; with IMMEDIATE, or on the binding side, a
//!   pipe is attached at each handshake and detached with its connection;
//! * `handle_peer_connected` after every completed handshake; a refusal detaches the pipe and
//!   closes the connection;
//! * received bytes are decoded one event at a time, and only while the machine's
//!   `can_receive_from` says the peer has room; once it says no, decoding stops until the
//!   machine emits [`Action::ResumeReceive`] for that peer (a lost wake-up shows as a stall);
//! * traffic is pulled with `poll_transmit` only after [`Action::Transmit`] (or a new
//!   connection), until the machine has nothing more or the transmit buffer holds a batch,
//!   then written as far as the link's window allows;
//! * [`Action::Detach`] detaches the pipe and closes its connection;
//! * session errors flush the session's last bytes (an ERROR command), then close.
//!
//! Every call into the machine is followed by draining `poll_action`.

use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use patterns::{OptionError, Pattern, PatternConfig, PeerId, RecvError, SendError};
use zmtp_proto::{Msg, Session, TxBuf};

use crate::config::{ConnId, End, LinkId, NodeConfig, NodeId, RecvPolicy};
use crate::net::Net;
use crate::rng::Rng;
use crate::trace::{CloseCause, TraceEvent};

mod drive;
mod pipes;
mod transport;

/// The earlier of two optional instants.
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// A message the simulated application read, with when it read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Virtual time since the start of the run.
    pub at: Duration,
    /// The message.
    pub msg: Msg,
}

/// A pipe the driver knows, and where its traffic goes.
#[derive(Debug)]
struct PeerSlot {
    link: LinkId,
    /// The connection carrying it now, if any.
    conn: Option<ConnId>,
    /// The machine said it has traffic for this peer and it has not all been pulled yet.
    tx_wanted: bool,
}

/// The connecting side of a link.
#[derive(Debug, Default)]
struct Connecter {
    /// The pipe kept across reconnects (none with IMMEDIATE, or once detached).
    peer: Option<PeerId>,
    /// The connection being opened or open.
    attempt: Option<ConnId>,
    /// When to try again.
    reconnect_at: Option<Instant>,
    /// When the attempt in progress fails if the other end has not accepted it.
    attempt_deadline: Option<Instant>,
}

/// One transport connection at this node.
#[derive(Debug)]
struct Conn {
    end: End,
    session: Session,
    /// What the driver has read and the session decodes from.
    rx: BytesMut,
    /// What the link delivered and the driver has not read yet (the socket's receive
    /// buffer): it still counts against the link's window. The driver reads it only when
    /// the session needs more bytes to make an event and the machine can take one, as
    /// libzmq's engine stops reading while its pipe is full; so `rx` never holds more than
    /// a partial frame plus one read.
    unread: BytesMut,
    tx: TxBuf,
    /// The pipe, once the handshake completed (from the start for a connecting node's pipe).
    peer: Option<PeerId>,
    /// The handshake completed and the machine accepted the peer.
    ready: bool,
    /// The machine's inbound queue for the peer was full: wait for `ResumeReceive`.
    rx_blocked: bool,
    /// The other end closed after the bytes already received.
    fin: bool,
}

/// How a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    /// Flush the session's last bytes and tell the other end (FIN).
    Graceful,
    /// Nothing more is sent (the link was reset, or the other end is already gone).
    Abrupt,
}

/// One simulated socket and its driver.
#[derive(Debug)]
pub(crate) struct Node {
    id: NodeId,
    config: NodeConfig,
    pub(crate) pattern: Box<dyn Pattern>,
    peers: BTreeMap<PeerId, PeerSlot>,
    conns: BTreeMap<ConnId, Conn>,
    connecters: BTreeMap<LinkId, Connecter>,
    pub(crate) inbox: VecDeque<Delivery>,
    next_read: Option<Instant>,
    /// [`Node::next_deadline`], computed once after each change (`None`: stale).
    deadline: Cell<Option<Option<Instant>>>,
    /// Per-connection randomness (CURVE's seeds).
    rng: Rng,
}

impl Node {
    /// A node whose machine is built and configured; panics on an unsupported socket type or
    /// a refused option (a test bug).
    pub(crate) fn new(id: NodeId, config: NodeConfig, now: Instant, rng: Rng) -> Self {
        let mut pattern = patterns::new_pattern_with(
            config.socket_type(),
            &PatternConfig {
                seed: config.pattern_seed,
            },
        )
        .unwrap_or_else(|e| panic!("node {}: {e}", id.0));
        for option in &config.options {
            if let Err(e) = pattern.set_option(now, option.clone()) {
                panic!("node {}: option {option:?} refused: {e}", id.0);
            }
        }
        let next_read = match config.recv {
            RecvPolicy::Every { interval, .. } => Some(now + interval),
            _ => None,
        };
        Self {
            id,
            config,
            pattern,
            peers: BTreeMap::new(),
            conns: BTreeMap::new(),
            connecters: BTreeMap::new(),
            inbox: VecDeque::new(),
            next_read,
            deadline: Cell::new(None),
            rng,
        }
    }

    pub(crate) fn config(&self) -> &NodeConfig {
        &self.config
    }

    fn trace(&self, net: &mut Net, make: impl FnOnce() -> TraceEvent) {
        let at = net.elapsed();
        net.tracer.record(at, make);
    }

    // ---- user commands -----------------------------------------------------------------

    /// `zmq_connect` over `link`: the pipe exists from now on (unless IMMEDIATE), and the
    /// first connection attempt starts.
    pub(crate) fn connect(&mut self, link: LinkId, net: &mut Net) {
        self.deadline.set(None);
        let peer = (!self.config.immediate).then(|| self.attach(link, true, net));
        self.connecters.insert(
            link,
            Connecter {
                peer,
                ..Connecter::default()
            },
        );
        self.start_attempt(link, net);
    }

    pub(crate) fn send(&mut self, msg: Msg, net: &mut Net) -> Result<(), SendError> {
        self.deadline.set(None);
        let traced = net.tracer.is_enabled().then(|| msg.clone());
        let result = self.pattern.send(net.now, msg);
        match &result {
            Ok(()) => {
                if let Some(msg) = traced {
                    self.trace(net, || TraceEvent::Sent { node: self.id, msg });
                }
            }
            Err(e) => {
                let kind = e.kind;
                self.trace(net, || TraceEvent::SendRefused {
                    node: self.id,
                    kind,
                });
            }
        }
        self.drain_actions(net);
        result
    }

    pub(crate) fn recv(&mut self, net: &mut Net) -> Result<Msg, RecvError> {
        self.deadline.set(None);
        let result = self.pattern.recv(net.now);
        if let Ok(msg) = &result {
            self.trace(net, || TraceEvent::Received {
                node: self.id,
                msg: msg.clone(),
            });
        }
        self.drain_actions(net);
        result
    }

    pub(crate) fn set_option(
        &mut self,
        option: patterns::PatternOption,
        net: &mut Net,
    ) -> Result<(), OptionError> {
        self.deadline.set(None);
        let result = self.pattern.set_option(net.now, option);
        self.drain_actions(net);
        result
    }

    /// The application reads up to `limit` messages into the inbox.
    fn app_read(&mut self, limit: usize, net: &mut Net) -> usize {
        let mut n = 0;
        while n < limit {
            let Ok(msg) = self.pattern.recv(net.now) else {
                break;
            };
            self.trace(net, || TraceEvent::Received {
                node: self.id,
                msg: msg.clone(),
            });
            self.inbox.push_back(Delivery {
                at: net.elapsed(),
                msg,
            });
            n += 1;
        }
        if n > 0 {
            self.drain_actions(net);
        }
        n
    }

    // ---- observation -------------------------------------------------------------------

    /// The pipe that currently stands for `link` here: a connecting node's kept pipe, or the
    /// peer of the newest connection of that link.
    pub(crate) fn peer_of(&self, link: LinkId) -> Option<PeerId> {
        if let Some(c) = self.connecters.get(&link) {
            if c.peer.is_some() {
                return c.peer;
            }
        }
        self.conns
            .iter()
            .rev()
            .find(|(id, _)| id.link == link)
            .and_then(|(_, c)| c.peer)
    }

    /// Whether this end of `conn` has completed its handshake and been accepted.
    pub(crate) fn is_ready(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.ready)
    }

    /// The pipes the driver knows.
    pub(crate) fn peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.peers.keys().copied()
    }

    /// Octets waiting in transmit buffers, receive buffers and unread socket buffers, over
    /// all connections.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.conns
            .values()
            .map(|c| c.tx.len() + c.rx.len() + c.unread.len())
            .sum()
    }

    // ---- time --------------------------------------------------------------------------

    /// The earliest timer: session deadlines, the machine's, reconnects, the slow reader.
    /// (Plain loops: this runs at every step, and iterator chains are slow in debug builds.)
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if let Some(cached) = self.deadline.get() {
            return cached;
        }
        let mut next = earliest(self.pattern.poll_timeout(), self.next_read);
        for conn in self.conns.values() {
            next = earliest(next, conn.session.poll_timeout());
        }
        for c in self.connecters.values() {
            next = earliest(earliest(next, c.reconnect_at), c.attempt_deadline);
        }
        self.deadline.set(Some(next));
        next
    }

    /// Work that will happen without any outside input: a reconnect over a link that will
    /// accept it, a slow reader with something to read, a machine timer.
    pub(crate) fn has_pending_work(&self, net: &Net) -> bool {
        let reconnect = self.connecters.iter().any(|(link, c)| {
            c.reconnect_at
                .is_some_and(|at| !net.link(*link).refuses(at.max(net.now)))
        });
        let slow_read =
            matches!(self.config.recv, RecvPolicy::Every { .. }) && self.pattern.is_readable();
        reconnect || slow_read || self.pattern.poll_timeout().is_some()
    }

    /// Runs every timer due at `net.now`.
    pub(crate) fn fire_timers(&mut self, net: &mut Net) {
        self.deadline.set(None);
        let now = net.now;
        let due: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.session.poll_timeout().is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(conn) = self.conns.get_mut(&id) else {
                continue;
            };
            if let Err(e) = conn.session.handle_timeout(now) {
                self.close(id, CloseCause::Session(e), Closing::Graceful, net);
            }
        }
        if self.pattern.poll_timeout().is_some_and(|t| t <= now) {
            self.pattern.handle_timeout(now);
            self.drain_actions(net);
        }
        let timed_out: Vec<(LinkId, ConnId)> = self
            .connecters
            .iter()
            .filter(|(_, c)| c.attempt_deadline.is_some_and(|t| t <= now))
            .filter_map(|(link, c)| c.attempt.map(|a| (*link, a)))
            .collect();
        for (link, attempt) in timed_out {
            net.close_stream(attempt, End::Connecter);
            net.close_stream(attempt, End::Binder);
            self.trace(net, || TraceEvent::Closed {
                node: self.id,
                conn: attempt,
                cause: CloseCause::ConnectTimedOut,
            });
            let ivl = self.config.reconnect_ivl;
            if let Some(c) = self.connecters.get_mut(&link) {
                c.attempt = None;
                c.attempt_deadline = None;
                c.reconnect_at = ivl.map(|d| now + d);
            }
        }
        let reconnects: Vec<LinkId> = self
            .connecters
            .iter()
            .filter(|(_, c)| c.reconnect_at.is_some_and(|t| t <= now))
            .map(|(link, _)| *link)
            .collect();
        for link in reconnects {
            if let Some(c) = self.connecters.get_mut(&link) {
                c.reconnect_at = None;
            }
            self.start_attempt(link, net);
        }
        if let RecvPolicy::Every { interval, batch } = self.config.recv {
            if self.next_read.is_some_and(|t| t <= now) {
                self.next_read = Some(now + interval);
                self.app_read(batch, net);
            }
        }
    }
}
