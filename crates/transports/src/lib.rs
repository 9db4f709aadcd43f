//! # transports: where ZeroMQ endpoints meet the operating system
//!
//! Endpoint strings (`tcp://`, `ipc://`, `inproc://`) parsed into typed values, and tcp and ipc
//! listeners and connectors over mio, behaving as libzmq 4.3 does. This crate knows nothing of
//! ZMTP or socket patterns: it hands out byte streams. It is the only crate below the facade that
//! touches sockets, and it never reads the clock or sleeps; timing (reconnect timers) stays with
//! the caller, who gets the delays from the pure [`Backoff`] calculator.
//!
//! ## Driving it (the facade's event loop)
//!
//! 1. Parse: `let ep: Endpoint = "tcp://127.0.0.1:5555".parse()?;` (pure, never blocks).
//! 2. Bind: [`Listener::bind`], then read [`Listener::local_endpoint`] for `ZMQ_LAST_ENDPOINT`.
//!    Register the listener with mio for `READABLE`; on each event call [`Listener::accept`]
//!    until it returns `WouldBlock`.
//! 3. Connect: if [`Endpoint::needs_lookup`], call [`resolve`] off the event loop, then
//!    [`connect_resolved`]; otherwise [`connect`]. Register the [`Stream`] for `WRITABLE`
//!    (plus `READABLE`) and call [`Stream::connect_status`] on each event until `Connected`.
//! 4. On failure or disconnect: ask [`Backoff::next_delay`] for the reconnect delay (`None`:
//!    do not reconnect), set a timer, and go to 3. Call [`Backoff::reset`] after a connection
//!    succeeds.
//! 5. Move bytes with [`std::io::Read`] and [`std::io::Write`] (including `write_vectored`) on the
//!    [`Stream`], until `WouldBlock`, as edge-triggered readiness requires.
//!
//! ## Where this differs from libzmq, on purpose
//!
//! - Ports are strictly decimal and at most 65535; libzmq's `atoi` accepts `5555abc` and wraps
//!   `70000`.
//! - Binding to a network interface by name (`tcp://eth0:5555`) is refused with a clear error
//!   ([`EndpointProblem::InterfaceNameUnsupported`]) instead of binding to its address: listing
//!   interface addresses needs `getifaddrs`, which std does not offer safely.
//! - A source address on a bound endpoint, a wildcard host or port on connect, and `ipc://*` on
//!   connect are refused at once; libzmq accepts or ignores them and fails later or never.
//! - An ipc listener removes its socket file when dropped (if the file is still its own); libzmq
//!   4.3 leaves it for the next bind to remove. Before binding, only a *socket* at the path is
//!   removed, where libzmq would unlink any file.
//! - `ipc://*` falls back to the system temporary directory where libzmq would use the working
//!   directory.
//! - For ipc peers, [`Stream::peer_address`] is `localhost`, without libzmq's `:uid:gid:pid`
//!   suffix (reading `SO_PEERCRED` needs unsafe code).
//! - IPv6 zones print as the numeric interface index, where libzmq prints the interface name.
//!
//! ## Platform
//!
//! Unix only (Linux is the tested platform): ipc uses Unix domain sockets and the abstract
//! namespace exists only on Linux and Android.

#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(not(unix))]
compile_error!("the transports crate supports Unix platforms only for now");

mod backoff;
mod config;
mod endpoint;
mod error;
mod listener;
mod resolve;
mod sockopt;
mod stream;

pub use backoff::Backoff;
pub use config::TransportConfig;
pub use endpoint::{Endpoint, Host, HostPort, IPC_PATH_MAX, IpcEndpoint, Port, TcpEndpoint};
pub use error::{EndpointProblem, TransportError};
pub use listener::Listener;
pub use resolve::{Resolved, ResolvedAddr, Role, resolve};
pub use stream::{ConnectStatus, Stream, connect, connect_resolved};
