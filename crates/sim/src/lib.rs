//! # sim: a deterministic simulated network for the pattern machines
//!
//! A development crate (not published) that runs the real socket machines of `patterns` over
//! real `zmtp-proto` sessions, on a network that exists only in memory, under a virtual
//! clock, with every random choice drawn from one seed. It follows str0m's `netem`, firezone's
//! `sim_net`, smoltcp's `netsim` and quinn's test `Pair`.
//!
//! ## The world
//!
//! * A [`Sim`] holds a virtual now (an `Instant` base read once, plus the offsets it
//!   advances), a seeded [`Rng`], nodes, links and a heap of byte chunks in flight.
//! * A **node** ([`NodeConfig`]) is one socket: one pattern machine, and for each transport
//!   connection one [`zmtp_proto::Session`] with its receive buffer and
//!   [`zmtp_proto::TxBuf`]. Its driver follows the documented drive loops exactly as a real
//!   runtime would (see the `node` module): pipes attached at connect time on the connecting
//!   side and at handshake on the binding side, `handle_peer_connected` after each
//!   handshake, `handle_peer_disconnected` (pipe kept) or `handle_peer_detached` on loss,
//!   decoding only while `can_receive_from` allows and then only after `ResumeReceive`,
//!   pulling only after `Transmit`, and both machines' timers.
//! * A **link** ([`LinkConfig`]) is one `connect`: TCP-like streams both ways with random
//!   latency per chunk (in order all the same), writes cut at random points, a window that
//!   blocks the writer, and connection loss: [`Sim::reset`], [`Sim::partition`],
//!   [`Sim::blackhole`] (a half-open connection) or random [`Faults`]. The connecting node
//!   reconnects after its reconnect interval.
//! * The **application** sends with [`Sim::send`] and reads with [`Sim::recv`], or lets the
//!   node read for it ([`RecvPolicy::Eager`], or a slow reader with [`RecvPolicy::Every`])
//!   into its inbox.
//!
//! ## Driving it
//!
//! 1. Build: [`Sim::new`]`(seed)`, [`Sim::add_node`], [`Sim::connect`].
//! 2. Act as the applications at the current instant: [`Sim::send`], [`Sim::recv`],
//!    [`Sim::set_option`], link events.
//! 3. Let time pass: [`Sim::step`] advances to the earliest of the next chunk delivery, any
//!    node's or session's timer and any scheduled link event, feeds it in and settles every
//!    node (drains every poll); [`Sim::run_until`], [`Sim::run_for`] and
//!    [`Sim::run_until_idle`] repeat it.
//! 4. Check: read inboxes, machine state ([`Sim::pattern`], [`Sim::queued`]) and the
//!    [`TraceEvent`] history ([`Sim::enable_trace`], [`Sim::take_trace`]).
//!
//! ```
//! use std::time::Duration;
//! use sim::{LinkConfig, NodeConfig, RecvPolicy, Sim};
//! use zmtp_proto::{Msg, SocketType};
//!
//! let mut sim = Sim::new(7);
//! let push = sim.add_node(NodeConfig::new(SocketType::Push));
//! let pull = sim.add_node(NodeConfig::new(SocketType::Pull).recv(RecvPolicy::Eager));
//! sim.connect(push, pull, LinkConfig::default());
//! sim.send(push, Msg::single(&b"hello"[..])).unwrap(); // queued on the pipe, link not up yet
//! sim.run_for(Duration::from_millis(50));
//! assert_eq!(sim.take_inbox(pull)[0].msg, Msg::single(&b"hello"[..]));
//! ```
//!
//! ## What is modelled, and what is not
//!
//! * Connection set-up is a SYN and a SYN-ACK on the link (each a chunk with its own
//!   latency); an attempt that gets no answer fails after the node's connect timeout.
//! * A reset is seen by both ends at the same instant; a blackhole is seen by neither (only
//!   heartbeats, or a connect timeout, find it). A closing end sends what its session still
//!   has (an ERROR command) and a FIN; the other end reads everything before the FIN.
//! * The window counts bytes in flight plus bytes the receiving driver has not read; the
//!   driver reads only when its session needs bytes and the machine has room, as libzmq's
//!   engine does, so memory is bounded by the HWMs, the transmit batch and the window.
//! * Idle ([`Sim::is_idle`]) means nothing in flight and nothing that will happen on its own
//!   except periodic timers (heartbeats, reconnects to a link that refuses them).
//! * CURVE sessions get a fresh seed per connection from the node's own generator.
//! * Not modelled: bandwidth (only latency), packet loss inside a live connection (TCP hides
//!   it), ZMTP 3.0 peers, ZAP (the driver accepts every peer, as libzmq without a handler).
//!
//! ## Seeds
//!
//! Tests run each scenario over [`seeds()`]: `SIM_SEEDS` sets how many (default
//! [`DEFAULT_SEEDS`]), `SIM_SEED` replays one. A failing seed prints itself and the command
//! that replays it ([`for_each_seed`]). `cargo xtask sim --seeds N` runs many in release.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// `Sim::send` hands the machine's `SendError` back unchanged (it returns the message).
#![allow(clippy::result_large_err)]

mod config;
mod net;
mod node;
mod rng;
mod seeds;
mod sim;
mod trace;

pub use config::{
    ConnId, DEFAULT_CONNECT_TIMEOUT, DEFAULT_RECONNECT_IVL, DEFAULT_TX_BATCH, End, Faults,
    LinkConfig, LinkId, NodeConfig, NodeId, RecvPolicy,
};
pub use net::LinkEvent;
pub use node::Delivery;
pub use rng::Rng;
pub use seeds::{DEFAULT_SEEDS, for_each_seed, seeds};
pub use sim::Sim;
pub use trace::{CloseCause, TraceEvent, Traced};
