//! A request-reply broker (RFC 28's extended request-reply, `zmq_proxy` between a ROUTER
//! frontend and a DEALER backend): REQ clients → ROUTER | DEALER → REP workers. Envelopes
//! stack on the way in and unstack on the way out.
//!
//! Invariants: every reply reaches the client that asked and answers its latest request;
//! strict REQ clients never have two requests outstanding, counted at the workers; without
//! faults every round trip completes; with failures, lazy-pirate clients (REQ_RELAXED,
//! REQ_CORRELATE) keep making progress.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use patterns::{PatternOption, SendErrorKind};
use sim::{NodeConfig, NodeId, Sim, TraceEvent, for_each_seed};
use zmtp_proto::{Msg, SocketType};

use crate::support::{flaky, message, random_link, tag_of, tagged};

struct Broker {
    sim: Sim,
    clients: Vec<NodeId>,
    frontend: NodeId,
    backend: NodeId,
    workers: Vec<NodeId>,
    backlog: VecDeque<Msg>,
}

fn broker(seed: u64, faulty: bool, client: &NodeConfig) -> Broker {
    let mut sim = Sim::new(seed);
    sim.enable_trace();
    let frontend = sim.add_node(NodeConfig::new(SocketType::Router));
    let backend = sim.add_node(NodeConfig::new(SocketType::Dealer));
    let clients: Vec<NodeId> = (0..4).map(|_| sim.add_node(client.clone())).collect();
    let workers: Vec<NodeId> = (0..3)
        .map(|_| sim.add_node(NodeConfig::new(SocketType::Rep)))
        .collect();
    let link = |sim: &mut Sim| {
        let config = random_link(sim.rng(), 3);
        if faulty {
            config.faults(flaky())
        } else {
            config
        }
    };
    for &c in &clients {
        let config = link(&mut sim);
        sim.connect(c, frontend, config);
    }
    for &w in &workers {
        let config = link(&mut sim);
        sim.connect(w, backend, config);
    }
    Broker {
        sim,
        clients,
        frontend,
        backend,
        workers,
        backlog: VecDeque::new(),
    }
}

impl Broker {
    /// The proxy moves everything both ways; the workers echo.
    fn serve(&mut self) {
        while let Ok(request) = self.sim.recv(self.frontend) {
            self.backlog.push_back(request);
        }
        // A DEALER without a connected worker refuses (EAGAIN); zmq_proxy would block, the
        // broker keeps the request for the next tick.
        while let Some(request) = self.backlog.pop_front() {
            if let Err(e) = self.sim.send(self.backend, request) {
                assert_eq!(e.kind, SendErrorKind::WouldBlock);
                self.backlog.push_front(e.msg);
                break;
            }
        }
        for &w in &self.workers {
            while let Ok(request) = self.sim.recv(w) {
                self.sim.send(w, request).expect("REP replies");
            }
        }
        while let Ok(reply) = self.sim.recv(self.backend) {
            assert!(reply.len() >= 3, "[client id, \"\", body...]: {reply:?}");
            self.sim
                .send(self.frontend, reply)
                .expect("ROUTER routes or drops");
        }
    }

    fn tick(&mut self) {
        self.serve();
        let d = Duration::from_micros(self.sim.rng().below(1500) + 100);
        self.sim.run_for(d);
    }
}

#[test]
fn broker_routes_every_reply_to_its_client_and_req_stays_strict() {
    for_each_seed("broker_routes_every_reply_to_its_client", |seed| {
        let mut b = broker(seed, false, &NodeConfig::new(SocketType::Req));
        let rounds = 40;
        let mut done = vec![0u64; b.clients.len()];
        let mut outstanding: Vec<Option<u64>> = vec![None; b.clients.len()];
        let deadline = b.sim.now() + Duration::from_secs(10);
        while done.iter().any(|d| *d < rounds) {
            assert!(b.sim.now() < deadline, "stalled at {done:?}");
            for (i, &c) in b.clients.iter().enumerate() {
                match outstanding[i] {
                    None if done[i] < rounds => {
                        b.sim
                            .send(c, tagged(b"", i as u64, done[i], 0))
                            .expect("REQ takes a request");
                        outstanding[i] = Some(done[i]);
                    }
                    None => {}
                    Some(seq) => {
                        if let Ok(reply) = b.sim.recv(c) {
                            assert_eq!(tag_of(&reply, 0), (i as u64, seq), "client {i}");
                            outstanding[i] = None;
                            done[i] += 1;
                        }
                    }
                }
            }
            b.tick();
        }
        // Counted at the workers: never two requests of one client in the system.
        let mut balance: BTreeMap<u64, i64> = BTreeMap::new();
        for t in b.sim.take_trace() {
            match &t.event {
                TraceEvent::TrafficIn { node, traffic, .. } if b.workers.contains(node) => {
                    let request = message(traffic).expect("a request");
                    *balance.entry(tag_of(request, 0).0).or_default() += 1;
                }
                TraceEvent::Received { node, msg } if b.clients.contains(node) => {
                    *balance.entry(tag_of(msg, 0).0).or_default() -= 1;
                }
                _ => {}
            }
            assert!(balance.values().all(|b| (0..=1).contains(b)), "{balance:?}");
        }
    });
}

#[test]
fn broker_lazy_pirate_clients_make_progress_over_flaky_links() {
    for_each_seed("broker_lazy_pirate_clients_make_progress", |seed| {
        let client = NodeConfig::new(SocketType::Req)
            .option(PatternOption::ReqRelaxed(true))
            .option(PatternOption::ReqCorrelate(true));
        let mut b = broker(seed, true, &client);
        let retry = Duration::from_millis(80);
        let rounds = 15;
        let mut done = vec![0u64; b.clients.len()];
        let mut latest: Vec<Option<(u64, Instant)>> = vec![None; b.clients.len()];
        let mut next = vec![0u64; b.clients.len()];
        let faults_end = b.sim.now() + Duration::from_millis(1000);
        let deadline = b.sim.now() + Duration::from_secs(10);
        while done.iter().any(|d| *d < rounds) {
            assert!(b.sim.now() < deadline, "stalled at {done:?}");
            if b.sim.now() >= faults_end {
                for link in b.sim.links() {
                    b.sim.set_faults(link, None);
                }
            }
            for (i, &c) in b.clients.iter().enumerate() {
                while let Ok(reply) = b.sim.recv(c) {
                    let (client, seq) = tag_of(&reply, 0);
                    assert_eq!(client, i as u64, "misrouted reply");
                    assert_eq!(Some(seq), latest[i].map(|l| l.0), "stale reply");
                    latest[i] = None;
                    done[i] += 1;
                }
                let now = b.sim.now();
                let timed_out = latest[i].is_some_and(|(_, at)| now - at >= retry);
                if (latest[i].is_none() && done[i] < rounds) || timed_out {
                    b.sim
                        .send(c, tagged(b"", i as u64, next[i], 0))
                        .expect("REQ_RELAXED takes a request");
                    latest[i] = Some((next[i], now));
                    next[i] += 1;
                }
            }
            b.tick();
        }
    });
}
