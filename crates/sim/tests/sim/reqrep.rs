//! RFC 28 (REQ/REP) over the simulated network: several REQ clients, each connected to
//! several REP servers that echo.
//!
//! Invariants:
//!
//! * **a REQ never has two requests outstanding**: for each client, the requests that
//!   reached any REP machine, minus the replies the client received, is always 0 or 1
//!   (counted on the trace, at every event);
//! * the client application sees exactly the state machine RFC 28 asks for: `send` refused
//!   (EFSM) while a request is outstanding, `recv` refused before a request, and each reply it
//!   gets answers its latest request;
//! * without faults every round trip completes, spread over the servers (round-robin);
//! * with REQ_RELAXED and REQ_CORRELATE (the "lazy pirate" client) a client recovers from
//!   lost requests and never sees a stale reply.

use std::collections::BTreeMap;
use std::time::Duration;

use patterns::{PatternOption, RecvError, SendErrorKind};
use sim::{NodeConfig, NodeId, Sim, TraceEvent, Traced, for_each_seed};
use zmtp_proto::{Msg, SocketType};

use crate::support::{failures, flaky, message, random_link, tag_of, tagged};

/// The world: `clients` REQ nodes connected to each of `servers` REP nodes.
struct World {
    sim: Sim,
    clients: Vec<NodeId>,
    servers: Vec<NodeId>,
}

fn world(seed: u64, clients: usize, servers: usize, faulty: bool, client: NodeConfig) -> World {
    let mut sim = Sim::new(seed);
    sim.enable_trace();
    let servers: Vec<NodeId> = (0..servers)
        .map(|_| sim.add_node(NodeConfig::new(SocketType::Rep)))
        .collect();
    let clients: Vec<NodeId> = (0..clients).map(|_| sim.add_node(client.clone())).collect();
    for &c in &clients {
        for &s in &servers {
            let mut config = random_link(sim.rng(), 3);
            if faulty {
                config = config.faults(flaky());
            }
            sim.connect(c, s, config);
        }
    }
    World {
        sim,
        clients,
        servers,
    }
}

impl World {
    /// Every server answers every request it has, echoing it.
    fn serve(&mut self) {
        for &s in &self.servers {
            while let Ok(request) = self.sim.recv(s) {
                self.sim.send(s, request).expect("REP may always reply");
            }
        }
    }

    fn tick(&mut self) {
        let d = Duration::from_micros(self.sim.rng().below(1500) + 100);
        self.sim.run_for(d);
        self.serve();
    }
}

/// Requests that reached a REP machine minus replies received, per client, after every
/// event: never more than one.
fn check_one_outstanding(trace: &[Traced], clients: &[NodeId], servers: &[NodeId]) {
    let mut balance: BTreeMap<u64, i64> = BTreeMap::new();
    for t in trace {
        match &t.event {
            TraceEvent::TrafficIn { node, traffic, .. } if servers.contains(node) => {
                let (client, _) = tag_of(message(traffic).expect("a request"), 0);
                *balance.entry(client).or_default() += 1;
            }
            TraceEvent::Received { node, msg } if clients.contains(node) => {
                let (client, _) = tag_of(msg, 0);
                *balance.entry(client).or_default() -= 1;
            }
            _ => {}
        }
        for (client, b) in &balance {
            assert!(
                (0..=1).contains(b),
                "client {client} has {b} requests outstanding at {:?}: {:?}",
                t.at,
                t.event
            );
        }
    }
}

/// One strict REQ client's application: at most one request, checked against the machine.
#[derive(Debug, Default)]
struct Client {
    next: u64,
    outstanding: Option<u64>,
    done: u64,
}

fn drive_client(sim: &mut Sim, node: NodeId, index: u64, app: &mut Client) {
    match app.outstanding {
        None => {
            let err = sim.recv(node).expect_err("nothing was asked");
            assert_eq!(err, RecvError::InvalidState, "recv before a request");
            sim.send(node, tagged(b"", index, app.next, 0))
                .expect("a REQ with pipes takes a request");
            app.outstanding = Some(app.next);
            app.next += 1;
        }
        Some(seq) => {
            let again = sim
                .send(node, tagged(b"", index, app.next, 0))
                .expect_err("a second request while one is outstanding");
            assert_eq!(again.kind, SendErrorKind::InvalidState);
            assert_eq!(tag_of(&again.msg, 0), (index, app.next), "handed back");
            match sim.recv(node) {
                Ok(reply) => {
                    assert_eq!(tag_of(&reply, 0), (index, seq), "the reply answers us");
                    app.outstanding = None;
                    app.done += 1;
                }
                Err(e) => assert_eq!(e, RecvError::WouldBlock),
            }
        }
    }
}

#[test]
fn rfc28_req_never_has_two_requests_outstanding_over_flaky_links() {
    for_each_seed(
        "rfc28_req_never_has_two_requests_outstanding_over_flaky_links",
        |seed| {
            let mut w = world(seed, 4, 2, true, NodeConfig::new(SocketType::Req));
            let mut apps: Vec<Client> = (0..w.clients.len()).map(|_| Client::default()).collect();
            let end = w.sim.now() + Duration::from_millis(1000);
            while w.sim.now() < end {
                for (i, app) in apps.iter_mut().enumerate() {
                    drive_client(&mut w.sim, w.clients[i], i as u64, app);
                }
                w.tick();
            }
            let trace = w.sim.take_trace();
            check_one_outstanding(&trace, &w.clients, &w.servers);
            let done: u64 = apps.iter().map(|a| a.done).sum();
            assert!(done > 50, "only {done} round trips");
            assert!(failures(&trace) > 0, "no faults happened");
        },
    );
}

#[test]
fn rfc28_every_round_trip_completes_without_faults_spread_over_servers() {
    for_each_seed(
        "rfc28_every_round_trip_completes_without_faults_spread_over_servers",
        |seed| {
            let mut w = world(seed, 3, 3, false, NodeConfig::new(SocketType::Req));
            let mut apps: Vec<Client> = (0..w.clients.len()).map(|_| Client::default()).collect();
            let rounds = 60;
            let deadline = w.sim.now() + Duration::from_secs(10);
            while apps.iter().any(|a| a.done < rounds) {
                assert!(w.sim.now() < deadline, "round trips stalled: {apps:?}");
                for (i, app) in apps.iter_mut().enumerate() {
                    if app.done < rounds || app.outstanding.is_some() {
                        drive_client(&mut w.sim, w.clients[i], i as u64, app);
                    }
                }
                w.tick();
            }
            let trace = w.sim.take_trace();
            check_one_outstanding(&trace, &w.clients, &w.servers);
            // Round-robin: with every pipe writable, each server gets a fair share.
            for &s in &w.servers {
                let served = trace
                    .iter()
                    .filter(
                        |t| matches!(&t.event, TraceEvent::TrafficIn { node, .. } if *node == s),
                    )
                    .count() as u64;
                let total = rounds * w.clients.len() as u64;
                let share = total / w.servers.len() as u64;
                assert!(
                    served + 2 >= share,
                    "server {s:?} served {served} of {total}"
                );
            }
        },
    );
}

#[test]
fn lazy_pirate_req_relaxed_correlate_recovers_and_never_sees_a_stale_reply() {
    for_each_seed(
        "lazy_pirate_req_relaxed_correlate_recovers_and_never_sees_a_stale_reply",
        |seed| {
            let client = NodeConfig::new(SocketType::Req)
                .option(PatternOption::ReqRelaxed(true))
                .option(PatternOption::ReqCorrelate(true));
            let mut w = world(seed, 3, 2, true, client);
            let retry = Duration::from_millis(60);
            // (latest seq, when sent, round trips done)
            let mut apps: Vec<(Option<u64>, std::time::Instant, u64)> =
                vec![(None, w.sim.now(), 0); w.clients.len()];
            let mut next = vec![0u64; w.clients.len()];
            let rounds = 30;
            let faults_end = w.sim.now() + Duration::from_millis(1500);
            let deadline = w.sim.now() + Duration::from_secs(10);
            while apps.iter().any(|a| a.2 < rounds) {
                assert!(w.sim.now() < deadline, "clients stalled: {apps:?}");
                if w.sim.now() >= faults_end {
                    for link in w.sim.links() {
                        w.sim.set_faults(link, None);
                    }
                }
                for (i, app) in apps.iter_mut().enumerate() {
                    let node = w.clients[i];
                    while let Ok(reply) = w.sim.recv(node) {
                        let tag = tag_of(&reply, 0);
                        assert_eq!(Some(tag), app.0.map(|s| (i as u64, s)), "stale reply");
                        app.0 = None;
                        app.2 += 1;
                    }
                    let timed_out = app.0.is_some() && w.sim.now() - app.1 >= retry;
                    if (app.0.is_none() && app.2 < rounds) || timed_out {
                        let msg: Msg = tagged(b"", i as u64, next[i], 0);
                        w.sim
                            .send(node, msg)
                            .expect("REQ_RELAXED always takes a request");
                        app.0 = Some(next[i]);
                        app.1 = w.sim.now();
                        next[i] += 1;
                    }
                }
                w.tick();
            }
        },
    );
}
