//! # zmq-rs: ZeroMQ in native Rust
//!
//! The facade users depend on: [`Context`], [`Socket`], [`Message`], options, and the event
//! loop that drives the sans-IO layers below (`zmtp-proto` for the wire, `patterns` for the
//! socket types) over the `transports` crate. It speaks ZMTP 3.1 (and 3.0) and talks to
//! libzmq, pyzmq and any other ZeroMQ peer over `tcp://` and `ipc://`, and to other sockets of
//! the same [`Context`] over `inproc://`.
//!
//! The API follows the `zmq` crate's, so that porting is mostly a change of crate name:
//!
//! ```
//! let ctx = zmq_rs::Context::new();
//! let rep = ctx.socket(zmq_rs::REP).unwrap();
//! rep.bind("tcp://127.0.0.1:*").unwrap();
//! let endpoint = rep.get_last_endpoint().unwrap();
//!
//! let req = ctx.socket(zmq_rs::REQ).unwrap();
//! req.connect(&endpoint).unwrap();
//! req.send("ping", 0).unwrap();
//! assert_eq!(rep.recv_bytes(0).unwrap(), b"ping");
//! rep.send("pong", 0).unwrap();
//! assert_eq!(req.recv_string(0).unwrap().unwrap(), "pong");
//! ```
//!
//! ## Threads
//!
//! A context runs one I/O thread (more with [`Context::with_io_threads`]); it owns every tcp
//! and ipc connection, reads and writes in large batches, and is the only code that reads
//! the clock. A socket's pattern machine sits behind a lock shared by the user's thread and
//! the I/O thread; `docs/architecture.md` describes the hand-offs.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod awake;
mod clock;
mod context;
mod core;
mod error;
mod inproc;
mod io;
mod message;
mod monitor;
mod options;
mod pacing;
mod poll;
mod proxy;
mod random;
mod recycle;
mod security;
mod socket;
mod zap;

pub use context::Context;
pub use error::{Error, Result};
pub use message::Message;
pub use monitor::{EVENT_ALL, Monitor, MonitorEvent, SocketEvent};
pub use poll::{POLLERR, POLLIN, POLLOUT, PollItem, ReadinessFd, poll};
pub use proxy::{ProxySideStats, proxy, proxy_steerable};
pub use security::{
    Authenticator, CurveKeyPair, curve_keypair, curve_public, z85_decode, z85_encode,
};
pub use socket::{DONTWAIT, PeerStatistics, SNDMORE, Socket};
pub use zmtp_proto::SocketType;

/// The building blocks, for runtimes of your own.
pub use {patterns, transports, zmtp_proto};

/// Exclusive pair.
pub const PAIR: SocketType = SocketType::Pair;
/// Publisher.
pub const PUB: SocketType = SocketType::Pub;
/// Subscriber.
pub const SUB: SocketType = SocketType::Sub;
/// Requester.
pub const REQ: SocketType = SocketType::Req;
/// Replier.
pub const REP: SocketType = SocketType::Rep;
/// Asynchronous requester.
pub const DEALER: SocketType = SocketType::Dealer;
/// Routing replier.
pub const ROUTER: SocketType = SocketType::Router;
/// Pipeline sink.
pub const PULL: SocketType = SocketType::Pull;
/// Pipeline source.
pub const PUSH: SocketType = SocketType::Push;
/// Publisher that sees subscriptions.
pub const XPUB: SocketType = SocketType::XPub;
/// Subscriber that sends subscriptions as messages.
pub const XSUB: SocketType = SocketType::XSub;
/// Raw TCP.
pub const STREAM: SocketType = SocketType::Stream;
/// Draft: client-server server.
pub const SERVER: SocketType = SocketType::Server;
/// Draft: client-server client.
pub const CLIENT: SocketType = SocketType::Client;
/// Draft: group publisher.
pub const RADIO: SocketType = SocketType::Radio;
/// Draft: group subscriber.
pub const DISH: SocketType = SocketType::Dish;
/// Draft: fair-queued collector.
pub const GATHER: SocketType = SocketType::Gather;
/// Draft: round-robin distributor.
pub const SCATTER: SocketType = SocketType::Scatter;
/// Draft: peer-to-peer.
pub const PEER: SocketType = SocketType::Peer;
/// Draft: exclusive thread-safe pair.
pub const CHANNEL: SocketType = SocketType::Channel;
