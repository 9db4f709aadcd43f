//! Scenario tests on the simulated network: the simulation's own behaviour, then one module
//! per invariant of the socket patterns (RFC 28 REQ/REP, RFC 29 PUB/SUB, RFC 30 PUSH/PULL,
//! ROUTER routing, fair-queueing, high-water marks) and a reference-model random walk.
//!
//! Each scenario runs over `sim::seeds()`: `SIM_SEEDS=<n>` runs more, `SIM_SEED=<s>` replays
//! one; a failure prints its seed.

mod broker;
mod driver;
mod fairness;
mod hwm;
mod model;
mod pair;
mod pipeline;
mod proxy;
mod pubsub;
mod reqrep;
mod router;
mod support;
