//! # transports: where ZeroMQ endpoints meet the operating system
//!
//! Endpoint strings (`tcp://`, `ipc://`, `inproc://`) parsed into typed values, and tcp and ipc
//! listeners and connectors over mio. This crate knows nothing of ZMTP or socket patterns.

#![deny(unsafe_code)]
#![deny(missing_docs)]
