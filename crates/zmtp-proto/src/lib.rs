//! # zmtp-proto: ZMTP 3.x without I/O
//!
//! This crate speaks the ZeroMQ Message Transport Protocol (RFC 23, ZMTP 3.0, and RFC 37,
//! ZMTP 3.1) as pure data transformations. It never opens a socket, never reads a clock, never
//! spawns a thread and never blocks: bytes and the current time go in, typed events and bytes
//! come out. Any runtime (our mio loop, tokio, io_uring, an embedded loop) can drive it alone.
//!
//! Bytes from a peer are hostile: every parser here returns a typed error instead of panicking,
//! and checks lengths against configured maximums before allocating.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod msg;
mod socket_type;

pub use msg::{Msg, Properties, Traffic};
pub use socket_type::SocketType;
