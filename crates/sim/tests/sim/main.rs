//! Scenario tests on the simulated network. Each module states its invariants; each
//! scenario runs over `sim::seeds()` (`SIM_SEEDS=<n>` runs more, `SIM_SEED=<s>` replays
//! one; a failure prints its seed).
//!
//! * `driver`: the simulation itself (determinism, connection lifecycle, reconnects,
//!   handshake and heartbeat timers, stream integrity under heavy chunking);
//! * `reqrep` (RFC 28): one outstanding request per REQ, lazy pirate recovery;
//! * `broker` (RFC 28 extended): REQ → ROUTER | DEALER → REP envelopes;
//! * `pubsub` (RFC 29): exactly the matching messages after a subscription arrived;
//! * `proxy` (RFC 29): an XSUB | XPUB forwarder, as a model walk;
//! * `pipeline` (RFC 30): at most once, in order, losses only with broken connections;
//! * `fairness` (RFC 30): a PULL's fair-queue under a 10:1 load;
//! * `pair` (RFC 31): one peer at a time;
//! * `router`: replies reach the client that asked (ROUTER, SERVER), half-open reconnects;
//! * `hwm`: WouldBlock, drops, bounded memory, conflation, ROUTER_MANDATORY;
//! * `model`: reference models with random walks (PUSH/PULL, PUB/SUB, RADIO/DISH).

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
