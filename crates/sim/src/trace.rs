//! The observable history of a run: every user command, every peer event the driver gives a
//! machine, every message that crosses the machine boundary, in the order they happened.
//!
//! Invariant checks are functions over this trace. It is recorded only when asked
//! ([`crate::Sim::enable_trace`]); two runs with the same seed record the same trace.

use std::time::Duration;

use patterns::{AttachError, PeerId, SendErrorKind};
use zmtp_proto::{Msg, SessionError, Traffic};

use crate::config::{ConnId, End, LinkId, NodeId};

/// Why a transport connection ended, as seen by one end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseCause {
    /// The link reset it (a TCP RST): nothing more was delivered either way.
    Reset,
    /// The other end closed it, after everything it sent had been read.
    PeerClosed,
    /// The session failed (a protocol error, a handshake or heartbeat timeout).
    Session(SessionError),
    /// The machine asked to drop the peer ([`patterns::Action::Detach`]).
    Detached,
    /// The machine refused the peer at its handshake.
    Refused(AttachError),
    /// The connection attempt got no answer in time (its SYN or SYN-ACK was lost).
    ConnectTimedOut,
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEvent {
    /// A connecting node tried to open a connection; `ok` is false when the link refused it.
    ConnectAttempt {
        /// The new connection.
        conn: ConnId,
        /// Whether the link let it through.
        ok: bool,
    },
    /// The transport connection is up at this end; its session starts.
    Established {
        /// The node.
        node: NodeId,
        /// The connection.
        conn: ConnId,
        /// Which end this node is.
        end: End,
    },
    /// A pipe was created ([`patterns::Pattern::handle_peer_attached`]).
    Attached {
        /// The node.
        node: NodeId,
        /// The new pipe.
        peer: PeerId,
        /// The link it belongs to.
        link: LinkId,
        /// True on the connecting side.
        locally_initiated: bool,
    },
    /// A handshake completed and the machine accepted the peer.
    Connected {
        /// The node.
        node: NodeId,
        /// The connection.
        conn: ConnId,
        /// The pipe.
        peer: PeerId,
    },
    /// A handshake completed and the machine refused the peer.
    Refused {
        /// The node.
        node: NodeId,
        /// The connection.
        conn: ConnId,
        /// The pipe it would have used.
        peer: PeerId,
        /// Why.
        error: AttachError,
    },
    /// A connection ended at this end.
    Closed {
        /// The node.
        node: NodeId,
        /// The connection.
        conn: ConnId,
        /// Why.
        cause: CloseCause,
    },
    /// The machine was told the peer's connection dropped, pipe kept.
    Disconnected {
        /// The node.
        node: NodeId,
        /// The pipe.
        peer: PeerId,
    },
    /// The machine was told the pipe is gone.
    Detached {
        /// The node.
        node: NodeId,
        /// The pipe.
        peer: PeerId,
    },
    /// Traffic handed to the machine ([`patterns::Pattern::handle_traffic`]).
    TrafficIn {
        /// The node.
        node: NodeId,
        /// The connection it arrived on.
        conn: ConnId,
        /// The pipe.
        peer: PeerId,
        /// What arrived.
        traffic: Traffic,
    },
    /// Traffic taken from the machine ([`patterns::Pattern::poll_transmit`]) and encoded onto a
    /// connection.
    TrafficOut {
        /// The node.
        node: NodeId,
        /// The connection it leaves on.
        conn: ConnId,
        /// The pipe.
        peer: PeerId,
        /// What leaves.
        traffic: Traffic,
    },
    /// The application sent a message and the machine took it.
    Sent {
        /// The node.
        node: NodeId,
        /// The message.
        msg: Msg,
    },
    /// The application's send was refused.
    SendRefused {
        /// The node.
        node: NodeId,
        /// Why.
        kind: SendErrorKind,
    },
    /// The application received a message.
    Received {
        /// The node.
        node: NodeId,
        /// The message.
        msg: Msg,
    },
}

/// A [`TraceEvent`] with the virtual time it happened at (since the simulation started).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced {
    /// Virtual time since the start of the run.
    pub at: Duration,
    /// What happened.
    pub event: TraceEvent,
}

/// Where trace events go: nowhere, or a growing list.
#[derive(Debug, Default)]
pub(crate) struct Tracer {
    events: Option<Vec<Traced>>,
}

impl Tracer {
    pub(crate) fn enable(&mut self) {
        self.events.get_or_insert_with(Vec::new);
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.events.is_some()
    }

    /// Records an event; `make` runs only when tracing is on.
    pub(crate) fn record(&mut self, at: Duration, make: impl FnOnce() -> TraceEvent) {
        if let Some(events) = &mut self.events {
            events.push(Traced { at, event: make() });
        }
    }

    pub(crate) fn take(&mut self) -> Vec<Traced> {
        self.events.as_mut().map(std::mem::take).unwrap_or_default()
    }
}
