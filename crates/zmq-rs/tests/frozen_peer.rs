//! Heartbeats (RFC 37 PING/PONG) detect a libzmq peer frozen with SIGSTOP: its TCP
//! connection stays open, but nothing answers, and our side must drop it within the timeout
//! and, as the connecting side, connect again once the peer is back.

mod common;
#[path = "common/pyzmq.rs"]
mod pyzmq;

use std::process::Command;
use std::time::{Duration, Instant};

use pyzmq::Spec;
use zmq_rs::{Context, SocketEvent};

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([name, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {name} {pid}");
}

/// Waits for `wanted`, returning when it came.
fn wait_event(monitor: &zmq_rs::Monitor, wanted: SocketEvent, within: Duration) -> Instant {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.recv(Some(left)) {
            Ok(event) if event.event == wanted => return Instant::now(),
            Ok(_) => {}
            Err(e) => panic!("no {wanted:?} within {within:?}: {e}"),
        }
    }
}

#[test]
fn heartbeats_drop_a_libzmq_peer_frozen_with_sigstop_and_reconnect_after_rfc37() {
    let ctx = Context::new();
    let dealer = ctx.socket(zmq_rs::DEALER).expect("dealer");
    dealer.set_heartbeat_ivl(100).expect("ivl");
    dealer.set_heartbeat_timeout(300).expect("timeout");
    dealer.set_reconnect_ivl(50).expect("reconnect");
    let monitor = dealer.monitor_events(zmq_rs::EVENT_ALL).expect("monitor");
    // A libzmq ROUTER that binds and then just waits (its I/O thread answers PINGs).
    let mut peer = Spec::new("ROUTER").bind("tcp://127.0.0.1:*").wait().start();
    let endpoint = peer.bound();
    dealer.connect(&endpoint).expect("connect");
    wait_event(
        &monitor,
        SocketEvent::HandshakeSucceeded,
        Duration::from_secs(5),
    );

    // Idle for several heartbeat intervals: the connection must stay up.
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        monitor.try_recv().is_err(),
        "an idle but live peer must not be dropped"
    );

    // Frozen: the kernel keeps the connection open, nobody answers.
    signal(peer.pid(), "-STOP");
    let frozen_at = Instant::now();
    let dropped_at = wait_event(&monitor, SocketEvent::Disconnected, Duration::from_secs(5));
    let took = dropped_at - frozen_at;
    assert!(
        took <= Duration::from_millis(1000),
        "the frozen peer was dropped after {took:?} (interval 100 ms, timeout 300 ms)"
    );

    // Thawed: the connecting side connects again by itself.
    signal(peer.pid(), "-CONT");
    wait_event(
        &monitor,
        SocketEvent::HandshakeSucceeded,
        Duration::from_secs(5),
    );
    peer.go();
    peer.finish();
}
