//! Integration tests for `transports` on real loopback sockets and temporary ipc paths.
//!
//! Every test binds ephemeral ports or unique paths, so tests run in parallel and never clash
//! with other programs; every wait is bounded by `support::DEADLINE`.

mod backoff;
mod ipc;
mod options;
mod support;
mod tcp;
