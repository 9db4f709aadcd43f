//! ROUTER identity routing over the simulated network: DEALER clients (some with routing
//! ids of their own, some with generated ones) send tagged requests; a ROUTER server answers
//! each, after a random delay, by the routing id its request arrived with.
//!
//! Invariants: every reply reaches the client that asked (its tag names that client), at
//! most once, and only for requests that client made; a client with its own routing id is
//! always seen under it; without faults every reply arrives. And the half-open case: a
//! client reconnecting with its routing id while the server still holds its old connection
//! is refused, unless ROUTER_HANDOVER lets it take the id over.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use patterns::{AttachError, PatternOption};
use sim::{CloseCause, LinkConfig, NodeConfig, NodeId, RecvPolicy, Sim, TraceEvent, for_each_seed};
use zmtp_proto::{Msg, SocketType};

use crate::support::{failures, flaky, flaky_half_open, random_link, tag_of, tagged};

struct World {
    sim: Sim,
    server: NodeId,
    clients: Vec<NodeId>,
    /// Replies the server will send: (when, routing id, request body).
    pending: Vec<(Instant, Bytes, Bytes)>,
    sent: Vec<u64>,
    replies: Vec<BTreeSet<u64>>,
    /// The clients still send requests.
    asking: bool,
}

fn own_id(i: usize) -> Option<Bytes> {
    (i % 2 == 0).then(|| Bytes::from(format!("client-{i}")))
}

fn world(seed: u64, faulty: bool) -> World {
    world_with(seed, faulty, false, false)
}

/// With `router_connects`, the ROUTER connects to bound DEALERs (its pipes then outlive the
/// connections, and are identified again at each handshake). With `half_open`, failures may
/// be silent, everyone sends heartbeats, and the ROUTER hands a routing id over to the newest
/// connection (ROUTER_HANDOVER), since a client may be back before its old connection is
/// found dead.
fn world_with(seed: u64, faulty: bool, router_connects: bool, half_open: bool) -> World {
    let mut sim = Sim::new(seed);
    sim.enable_trace();
    let heartbeat = |config: NodeConfig| {
        if half_open {
            config.heartbeat(Duration::from_millis(30), Duration::from_millis(100))
        } else {
            config
        }
    };
    let server = sim.add_node(
        heartbeat(NodeConfig::new(SocketType::Router))
            .option(PatternOption::RouterHandover(half_open)),
    );
    let clients: Vec<NodeId> = (0..4)
        .map(|i| {
            let mut config = heartbeat(NodeConfig::new(SocketType::Dealer)).recv(RecvPolicy::Eager);
            if let Some(id) = own_id(i) {
                config = config.routing_id(id);
            }
            sim.add_node(config)
        })
        .collect();
    for &c in &clients {
        let mut config = random_link(sim.rng(), 3);
        if faulty {
            config = config.faults(if half_open {
                flaky_half_open()
            } else {
                flaky()
            });
        }
        if router_connects {
            sim.connect(server, c, config);
        } else {
            sim.connect(c, server, config);
        }
    }
    World {
        sim,
        server,
        clients,
        pending: Vec::new(),
        sent: vec![0; 4],
        replies: vec![BTreeSet::new(); 4],
        asking: true,
    }
}

impl World {
    fn tick(&mut self) {
        for i in 0..self.clients.len() {
            if self.asking && self.sim.rng().chance(1, 3) {
                let msg = tagged(b"", i as u64, self.sent[i], 0);
                if self.sim.send(self.clients[i], msg).is_ok() {
                    self.sent[i] += 1;
                }
            }
        }
        let now = self.sim.now();
        while let Ok(request) = self.sim.recv(self.server) {
            let frames = request.frames();
            assert_eq!(frames.len(), 2, "[routing id, body]");
            let (id, body) = (
                Bytes::copy_from_slice(&frames[0]),
                Bytes::copy_from_slice(&frames[1]),
            );
            let (client, _) = tag_of(&request, 0);
            if let Some(own) = own_id(client as usize) {
                assert_eq!(id, own, "a client with its own id is known by it");
            }
            let delay = Duration::from_micros(self.sim.rng().below(20_000));
            self.pending.push((now + delay, id, body));
        }
        let (due, later): (Vec<_>, Vec<_>) =
            self.pending.drain(..).partition(|(at, _, _)| *at <= now);
        self.pending = later;
        for (_, id, body) in due {
            // Not mandatory: a reply to a client that is gone is dropped silently.
            self.sim
                .send(self.server, Msg::from_frames([id, body]))
                .expect("ROUTER without ROUTER_MANDATORY takes every reply");
        }
        for (i, &c) in self.clients.iter().enumerate() {
            for delivery in self.sim.take_inbox(c) {
                let (client, seq) = tag_of(&delivery.msg, 0);
                assert_eq!(client, i as u64, "client {i} got client {client}'s reply");
                assert!(seq < self.sent[i], "a reply to a request never made");
                assert!(self.replies[i].insert(seq), "reply {seq} twice");
            }
        }
        let d = Duration::from_micros(self.sim.rng().below(1500) + 100);
        self.sim.run_for(d);
    }
}

#[test]
fn router_replies_reach_the_client_that_asked_over_flaky_links() {
    for_each_seed(
        "router_replies_reach_the_client_that_asked_over_flaky_links",
        |seed| {
            let mut w = world(seed, true);
            let end = w.sim.now() + Duration::from_millis(800);
            while w.sim.now() < end {
                w.tick();
            }
            let trace = w.sim.take_trace();
            assert!(failures(&trace) > 0, "no faults happened");
            let answered: usize = w.replies.iter().map(BTreeSet::len).sum();
            assert!(answered > 300, "only {answered} replies");
        },
    );
}

#[test]
fn connecting_router_replies_reach_the_client_that_asked_over_flaky_links() {
    for_each_seed(
        "connecting_router_replies_reach_the_client_that_asked",
        |seed| {
            let mut w = world_with(seed, true, true, false);
            let end = w.sim.now() + Duration::from_millis(800);
            while w.sim.now() < end {
                w.tick();
            }
            let trace = w.sim.take_trace();
            assert!(failures(&trace) > 0, "no faults happened");
            let answered: usize = w.replies.iter().map(BTreeSet::len).sum();
            assert!(answered > 300, "only {answered} replies");
        },
    );
}

#[test]
fn router_with_handover_routes_replies_right_over_half_open_connections() {
    for_each_seed(
        "router_with_handover_routes_replies_right_over_half_open",
        |seed| {
            let mut w = world_with(seed, true, false, true);
            let end = w.sim.now() + Duration::from_millis(800);
            while w.sim.now() < end {
                w.tick();
            }
            let trace = w.sim.take_trace();
            assert!(failures(&trace) > 0, "no faults happened");
            let answered: usize = w.replies.iter().map(BTreeSet::len).sum();
            assert!(answered > 200, "only {answered} replies");
        },
    );
}

#[test]
fn router_answers_every_request_without_faults() {
    for_each_seed("router_answers_every_request_without_faults", |seed| {
        let mut w = world(seed, false);
        let end = w.sim.now() + Duration::from_millis(500);
        while w.sim.now() < end {
            w.tick();
        }
        // Stop asking; let the answers (delayed by at most 20 ms) come home.
        w.asking = false;
        let end = w.sim.now() + Duration::from_millis(100);
        while w.sim.now() < end {
            w.tick();
        }
        for i in 0..w.clients.len() {
            let expected: BTreeSet<u64> = (0..w.sent[i]).collect();
            assert_eq!(w.replies[i], expected, "client {i}");
        }
    });
}

/// A DEALER with routing id `dealer-0` and heartbeats, a ROUTER with none (so it never
/// notices a dead connection by itself); the link goes half-open, the dealer notices,
/// reconnects once the link is back. Returns the trace and whether a reply got through.
fn half_open_reconnect(handover: bool) -> (Vec<sim::Traced>, bool) {
    let mut sim = Sim::new(11);
    sim.enable_trace();
    let mut server = NodeConfig::new(SocketType::Router);
    if handover {
        server = server.option(PatternOption::RouterHandover(true));
    }
    let server = sim.add_node(server);
    let ms = Duration::from_millis;
    let dealer = sim.add_node(
        NodeConfig::new(SocketType::Dealer)
            .routing_id(&b"dealer-0"[..])
            .heartbeat(ms(50), ms(150))
            .recv(RecvPolicy::Eager),
    );
    let link = sim.connect(dealer, server, LinkConfig::default());
    sim.run_until_idle();
    sim.blackhole(link, ms(500));
    sim.run_for(ms(1000));
    sim.send(dealer, Msg::single(&b"hello"[..]))
        .expect("pipe kept");
    sim.run_for(ms(100));
    while let Ok(request) = sim.recv(server) {
        sim.send(server, request).expect("echo");
    }
    sim.run_for(ms(100));
    let replied = !sim.take_inbox(dealer).is_empty();
    (sim.take_trace(), replied)
}

#[test]
fn router_refuses_a_reconnecting_routing_id_while_its_half_open_connection_lives() {
    let (trace, replied) = half_open_reconnect(false);
    let refused = trace.iter().any(|t| {
        matches!(
            t.event,
            TraceEvent::Closed {
                cause: CloseCause::Refused(AttachError::DuplicateRoutingId),
                ..
            }
        )
    });
    assert!(refused, "the duplicate id was refused");
    assert!(!replied, "the server cannot reach the client meanwhile");
}

#[test]
fn router_handover_lets_a_client_back_while_its_old_connection_is_half_open() {
    let (trace, replied) = half_open_reconnect(true);
    let refused = trace
        .iter()
        .any(|t| matches!(t.event, TraceEvent::Refused { .. }));
    assert!(!refused, "handover accepts the new connection");
    assert!(replied, "the reply reaches the new connection");
}

#[test]
fn server_replies_by_routing_id_reach_the_client_that_asked_over_flaky_links() {
    for_each_seed("server_replies_by_routing_id_reach_the_client", |seed| {
        let mut sim = Sim::new(seed);
        let server = sim.add_node(NodeConfig::new(SocketType::Server));
        let clients: Vec<NodeId> = (0..4)
            .map(|_| sim.add_node(NodeConfig::new(SocketType::Client).recv(RecvPolicy::Eager)))
            .collect();
        for &c in &clients {
            let config = random_link(sim.rng(), 3).faults(flaky());
            sim.connect(c, server, config);
        }
        let mut sent = [0u64; 4];
        let mut replies = vec![BTreeSet::new(); 4];
        let end = sim.now() + Duration::from_millis(700);
        while sim.now() < end {
            for (i, &c) in clients.iter().enumerate() {
                if sim.rng().chance(1, 3) && sim.send(c, tagged(b"", i as u64, sent[i], 0)).is_ok()
                {
                    sent[i] += 1;
                }
            }
            while let Ok(request) = sim.recv(server) {
                assert_ne!(request.routing_id(), 0, "SERVER stamps a routing id");
                // A peer gone meanwhile makes the reply fail with HostUnreachable.
                let _ = sim.send(server, request);
            }
            for (i, &c) in clients.iter().enumerate() {
                for d in sim.take_inbox(c) {
                    let (client, seq) = tag_of(&d.msg, 0);
                    assert_eq!(client, i as u64, "client {i} got client {client}'s reply");
                    assert!(seq < sent[i] && replies[i].insert(seq), "reply {seq}");
                }
            }
            let d = Duration::from_micros(sim.rng().below(1500) + 100);
            sim.run_for(d);
        }
        let answered: usize = replies.iter().map(BTreeSet::len).sum();
        assert!(answered > 300, "only {answered} replies");
    });
}
