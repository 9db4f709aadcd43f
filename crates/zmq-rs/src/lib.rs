//! # zmq-rs: ZeroMQ in native Rust
//!
//! The facade users depend on: [`Context`], [`Socket`], options, and the event loop that drives
//! the sans-IO layers below (`zmtp-proto`, `patterns`) over the `transports` crate.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
