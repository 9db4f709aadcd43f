//! The simulation itself: determinism, the connection lifecycle the driver reports to the
//! machines, reconnects, timers (handshake and heartbeat), and stream integrity under
//! aggressive chunking.

use std::time::Duration;

use patterns::SendErrorKind;
use sim::{CloseCause, LinkConfig, NodeConfig, RecvPolicy, Sim, TraceEvent, Traced, for_each_seed};
use zmtp_proto::{Msg, SessionError, SocketType};

use crate::support::{flaky, random_link, tagged};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A PUSH→PULL run with random faults, traced.
fn faulty_pipeline(seed: u64) -> Vec<Traced> {
    let mut sim = Sim::new(seed);
    sim.enable_trace();
    let push = sim.add_node(NodeConfig::new(SocketType::Push));
    let pull = sim.add_node(NodeConfig::new(SocketType::Pull).recv(RecvPolicy::Eager));
    let config = random_link(sim.rng(), 3).faults(flaky());
    sim.connect(push, pull, config);
    for i in 0..300 {
        let _ = sim.send(push, tagged(b"", 0, i, 0));
        sim.run_for(ms(2));
    }
    sim.take_trace()
}

#[test]
fn same_seed_replays_the_same_run_event_for_event() {
    for_each_seed("same_seed_replays_the_same_run_event_for_event", |seed| {
        let a = faulty_pipeline(seed);
        let b = faulty_pipeline(seed);
        assert!(a.len() > 100, "the run did something");
        assert_eq!(a, b);
        assert_ne!(a, faulty_pipeline(seed + 1_000_000), "seeds matter");
    });
}

/// A random multipart message: up to 4 frames, sizes from empty to past the zero-copy
/// threshold, the first frame holding the sequence number.
fn random_multipart(sim: &mut Sim, seq: u64) -> Msg {
    let mut msg = Msg::single(bytes::Bytes::from(seq.to_be_bytes().to_vec()));
    for _ in 0..sim.rng().in_range(0..=3) {
        let len = match sim.rng().below(4) {
            0 => 0,
            1 => sim.rng().in_range(1..=300),
            2 => sim.rng().in_range(250..=260),
            _ => sim.rng().in_range(4090..=6000),
        };
        let fill = (seq % 251) as u8;
        msg.push_back(vec![fill; len]);
    }
    msg
}

#[test]
fn streams_survive_writes_cut_into_many_tiny_chunks() {
    for_each_seed("streams_survive_writes_cut_into_many_tiny_chunks", |seed| {
        let mut sim = Sim::new(seed);
        let push = sim.add_node(NodeConfig::new(SocketType::Push).tx_batch(700));
        let pull = sim.add_node(NodeConfig::new(SocketType::Pull).recv(RecvPolicy::Eager));
        let link = LinkConfig::default()
            .latency(Duration::from_micros(1), ms(5))
            .max_pieces(64)
            .window(600);
        sim.connect(push, pull, link);
        let mut sent = Vec::new();
        while sent.len() < 60 {
            let msg = random_multipart(&mut sim, sent.len() as u64);
            if sim.send(push, msg.clone()).is_ok() {
                sent.push(msg);
            }
            sim.run_for(Duration::from_micros(300));
        }
        sim.run_until_idle();
        let got: Vec<Msg> = sim.take_inbox(pull).into_iter().map(|d| d.msg).collect();
        assert_eq!(got.len(), sent.len());
        for (i, (got, sent)) in got.iter().zip(&sent).enumerate() {
            assert!(got == sent, "message {i} differs");
        }
    });
}

#[test]
fn connecting_side_keeps_its_pipe_across_reconnects_binding_side_detaches() {
    let mut sim = Sim::new(1);
    sim.enable_trace();
    let push = sim.add_node(NodeConfig::new(SocketType::Push));
    let pull = sim.add_node(NodeConfig::new(SocketType::Pull).recv(RecvPolicy::Eager));
    let link = sim.connect(push, pull, LinkConfig::default());
    // The pipe exists before the connection: the message waits in it.
    sim.send(push, Msg::single(&b"early"[..])).expect("queued");
    let pipe = sim.peer_of(push, link).expect("attached at connect time");
    sim.run_until_idle();
    assert!(sim.is_connected(link));
    assert_eq!(sim.take_inbox(pull).len(), 1);
    let first = sim.connection(link).expect("up");
    sim.reset(link);
    assert!(!sim.is_connected(link));
    sim.run_until_idle();
    let second = sim.connection(link).expect("reconnected");
    assert!(second.generation > first.generation);
    assert_eq!(
        sim.peer_of(push, link),
        Some(pipe),
        "same pipe after reconnect"
    );
    let trace = sim.take_trace();
    let events: Vec<&TraceEvent> = trace.iter().map(|t| &t.event).collect();
    assert!(events.contains(&&TraceEvent::Disconnected {
        node: push,
        peer: pipe
    }));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, TraceEvent::Detached { node, .. } if *node == push)),
        "the connecting side never detaches"
    );
    let pull_detaches = events
        .iter()
        .filter(|e| matches!(e, TraceEvent::Detached { node, .. } if *node == pull))
        .count();
    assert_eq!(pull_detaches, 1, "the binding side detaches the lost peer");
    let connected = events
        .iter()
        .filter(|e| matches!(e, TraceEvent::Connected { .. }))
        .count();
    assert_eq!(connected, 4, "both ends, both connections");
}

#[test]
fn immediate_connecter_attaches_only_at_handshake_and_detaches_on_loss() {
    let mut sim = Sim::new(2);
    let push = sim.add_node(NodeConfig::new(SocketType::Push).immediate(true));
    let pull = sim.add_node(NodeConfig::new(SocketType::Pull));
    let link = sim.connect(push, pull, LinkConfig::default());
    let refused = sim
        .send(push, Msg::single(&b"x"[..]))
        .expect_err("no pipe yet");
    assert_eq!(refused.kind, SendErrorKind::WouldBlock);
    sim.run_until_idle();
    assert!(sim.peer_of(push, link).is_some());
    sim.partition(link, ms(1000));
    assert!(
        sim.peers(push).is_empty(),
        "the pipe went with the connection"
    );
    sim.run_for(ms(1500));
    assert!(sim.is_connected(link));
}

#[test]
fn reconnects_are_retried_every_reconnect_ivl_until_the_partition_ends() {
    let mut sim = Sim::new(3);
    sim.enable_trace();
    let push = sim.add_node(NodeConfig::new(SocketType::Push).reconnect_ivl(Some(ms(100))));
    let pull = sim.add_node(NodeConfig::new(SocketType::Pull));
    let link = sim.connect(push, pull, LinkConfig::default());
    sim.run_until_idle();
    sim.take_trace();
    let cut = sim.elapsed();
    sim.partition(link, ms(550));
    // Idle means nothing will happen on its own: reconnects to a refusing link do not count.
    sim.run_until_idle();
    assert_eq!(sim.elapsed(), cut);
    sim.run_for(ms(700));
    let trace = sim.take_trace();
    let attempts: Vec<(Duration, bool)> = trace
        .iter()
        .filter_map(|t| match t.event {
            TraceEvent::ConnectAttempt { ok, .. } => Some((t.at - cut, ok)),
            _ => None,
        })
        .collect();
    let expected: Vec<(Duration, bool)> = (1..=6).map(|i| (ms(100 * i), i == 6)).collect();
    assert_eq!(attempts, expected);
    assert!(sim.is_connected(link));
}

#[test]
fn a_connecter_without_reconnect_ivl_stays_down() {
    let mut sim = Sim::new(4);
    let push = sim.add_node(NodeConfig::new(SocketType::Push).reconnect_ivl(None));
    let pull = sim.add_node(NodeConfig::new(SocketType::Pull));
    let link = sim.connect(push, pull, LinkConfig::default());
    sim.run_until_idle();
    sim.reset(link);
    sim.run_for(ms(5000));
    assert!(!sim.is_connected(link));
    assert_eq!(sim.next_event(), None, "nothing left to happen");
    assert_eq!(sim.step(), None);
}

fn closes(trace: &[Traced]) -> Vec<(Duration, sim::NodeId, CloseCause)> {
    trace
        .iter()
        .filter_map(|t| match &t.event {
            TraceEvent::Closed { node, cause, .. } => Some((t.at, *node, cause.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn heartbeats_keep_an_idle_connection_open() {
    let mut sim = Sim::new(5);
    sim.enable_trace();
    let hb = |t| NodeConfig::new(t).heartbeat(ms(100), ms(300));
    let dealer = sim.add_node(hb(SocketType::Dealer));
    let router = sim.add_node(hb(SocketType::Router));
    let config = random_link(sim.rng(), 20);
    let link = sim.connect(dealer, router, config);
    sim.run_for(ms(10_000));
    assert!(sim.is_connected(link));
    assert_eq!(closes(&sim.take_trace()), vec![]);
}

#[test]
fn heartbeats_detect_a_half_open_connection_and_the_connecter_comes_back() {
    let mut sim = Sim::new(6);
    sim.enable_trace();
    let hb = |t| NodeConfig::new(t).heartbeat(ms(100), ms(300));
    let dealer = sim.add_node(hb(SocketType::Dealer).recv(RecvPolicy::Eager));
    let router = sim.add_node(hb(SocketType::Router));
    let link = sim.connect(dealer, router, LinkConfig::default());
    sim.run_until_idle();
    let before = sim.connection(link).expect("up");
    sim.take_trace();
    let cut = sim.elapsed();
    sim.blackhole(link, ms(2000));
    // Nobody knows yet.
    sim.run_for(ms(50));
    assert!(sim.is_connected(link));
    sim.run_for(ms(2500));
    let trace = sim.take_trace();
    let closes = closes(&trace);
    assert_eq!(closes.len(), 2, "{closes:?}");
    for (at, _, cause) in &closes {
        assert_eq!(*cause, CloseCause::Session(SessionError::HeartbeatTimedOut));
        // A PING at most one interval after the last traffic, then the timeout.
        assert!(*at - cut <= ms(100 + 300 + 5), "{:?}", *at - cut);
    }
    let after = sim.connection(link).expect("back after the blackhole");
    assert!(after.generation > before.generation);
    // And traffic flows on the new connection.
    let id = sim
        .pattern(router)
        .routing_id_of(sim.peer_of(router, link).expect("peer"));
    let id = id.expect("router peers have ids");
    sim.send(
        router,
        Msg::from_frames([id, bytes::Bytes::from_static(b"hi")]),
    )
    .expect("routable");
    sim.run_until_idle();
    assert_eq!(sim.take_inbox(dealer).len(), 1);
}

#[test]
fn the_handshake_times_out_when_the_peer_goes_silent() {
    let mut sim = Sim::new(7);
    sim.enable_trace();
    let mut config = NodeConfig::new(SocketType::Req);
    config.session.handshake_timeout = Some(ms(250));
    let req = sim.add_node(config);
    let mut config = NodeConfig::new(SocketType::Rep);
    config.session.handshake_timeout = Some(ms(250));
    let rep = sim.add_node(config);
    let link = sim.connect(req, rep, LinkConfig::default().latency(ms(10), ms(10)));
    // Step until both ends have the connection, then silence the link before the
    // handshake can finish (each greeting step takes a 10 ms trip).
    let mut established = 0;
    while established < 2 {
        sim.step();
        established += sim
            .take_trace()
            .iter()
            .filter(|t| matches!(t.event, TraceEvent::Established { .. }))
            .count();
    }
    assert!(!sim.is_connected(link));
    let cut = sim.elapsed();
    sim.blackhole(link, ms(400));
    sim.run_for(ms(300));
    let closes = closes(&sim.take_trace());
    assert_eq!(closes.len(), 2, "{closes:?}");
    for (at, _, cause) in closes {
        assert_eq!(cause, CloseCause::Session(SessionError::HandshakeTimedOut));
        assert!(at - cut <= ms(250), "{:?}", at - cut);
    }
    sim.run_for(ms(500));
    assert!(sim.is_connected(link));
}

#[test]
fn an_empty_world_has_nothing_to_do() {
    let mut sim = Sim::new(8);
    assert_eq!(sim.step(), None);
    assert_eq!(sim.run_until_idle(), Duration::ZERO);
    let t = sim.now() + ms(5);
    sim.run_until(t);
    assert_eq!(sim.now(), t);
}

#[test]
fn a_connect_attempt_whose_answer_is_lost_times_out_and_is_retried() {
    let mut sim = Sim::new(9);
    sim.enable_trace();
    let req = sim.add_node(NodeConfig::new(SocketType::Req));
    let rep = sim.add_node(NodeConfig::new(SocketType::Rep));
    let link = sim.connect(req, rep, LinkConfig::default().latency(ms(10), ms(10)));
    sim.run_for(ms(5));
    // The SYN is on its way: silence the link before the SYN-ACK comes back.
    sim.blackhole(link, ms(100));
    sim.run_for(ms(1050));
    let trace = sim.take_trace();
    let timed_out = trace.iter().any(|t| {
        matches!(
            t.event,
            TraceEvent::Closed {
                node,
                cause: CloseCause::ConnectTimedOut,
                ..
            } if node == req
        )
    });
    assert!(timed_out, "{trace:#?}");
    sim.run_for(ms(200));
    assert!(sim.is_connected(link));
}
