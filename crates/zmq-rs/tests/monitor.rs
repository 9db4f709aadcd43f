//! The socket monitor: libzmq's events for a libzmq peer's connect, handshake and disconnect,
//! in libzmq's two-frame format and as typed events.

mod common;

use std::time::Duration;

use zmq_rs::{Context, Monitor, MonitorEvent, SocketEvent};

const WAIT: Option<Duration> = Some(Duration::from_secs(5));

/// Reads events until `wanted` arrives, returning everything seen on the way.
fn wait_for(monitor: &Monitor, wanted: SocketEvent) -> Vec<MonitorEvent> {
    let mut seen = Vec::new();
    loop {
        let event = monitor
            .recv(WAIT)
            .unwrap_or_else(|e| panic!("no {wanted:?} after {seen:?}: {e}"));
        let done = event.event == wanted;
        seen.push(event);
        if done {
            return seen;
        }
    }
}

fn kinds(events: &[MonitorEvent]) -> Vec<SocketEvent> {
    events.iter().map(|e| e.event).collect()
}

#[test]
fn monitor_reports_a_libzmq_peer_connecting_handshaking_and_leaving() {
    let ctx = Context::new();
    let ours = ctx.socket(zmq_rs::REP).expect("socket");
    let monitor = ours.monitor_events(zmq_rs::EVENT_ALL).expect("monitor");
    ours.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = ours.get_last_endpoint().expect("endpoint");
    let listening = wait_for(&monitor, SocketEvent::Listening);
    assert_eq!(
        listening.last().map(|e| e.endpoint.as_str()),
        Some(&*endpoint)
    );

    let theirs_ctx = zmq::Context::new();
    let theirs = theirs_ctx.socket(zmq::REQ).expect("libzmq socket");
    theirs.connect(&endpoint).expect("libzmq connect");
    let accepted = wait_for(&monitor, SocketEvent::HandshakeSucceeded);
    assert!(
        kinds(&accepted).contains(&SocketEvent::Accepted),
        "{accepted:?}"
    );

    drop(theirs);
    let gone = wait_for(&monitor, SocketEvent::Disconnected);
    assert_eq!(gone.last().map(|e| e.endpoint.as_str()), Some(&*endpoint));
}

#[test]
fn monitor_reports_connects_retries_and_reconnects_to_a_libzmq_peer() {
    let theirs_ctx = zmq::Context::new();
    let theirs = theirs_ctx.socket(zmq::PULL).expect("libzmq socket");
    theirs.bind("tcp://127.0.0.1:*").expect("libzmq bind");
    let endpoint = theirs
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8");

    let ctx = Context::new();
    let ours = ctx.socket(zmq_rs::PUSH).expect("socket");
    ours.set_reconnect_ivl(20).expect("reconnect ivl");
    let monitor = ours.monitor_events(zmq_rs::EVENT_ALL).expect("monitor");
    ours.connect(&endpoint).expect("connect");
    let up = wait_for(&monitor, SocketEvent::HandshakeSucceeded);
    assert_eq!(
        kinds(&up),
        [
            SocketEvent::ConnectDelayed,
            SocketEvent::Connected,
            SocketEvent::HandshakeSucceeded
        ]
    );
    assert!(up.iter().all(|e| e.endpoint == endpoint));

    drop(theirs);
    let down = wait_for(&monitor, SocketEvent::ConnectRetried);
    assert!(
        kinds(&down).contains(&SocketEvent::Disconnected),
        "{down:?}"
    );
}

#[test]
fn monitor_events_use_libzmqs_two_frame_format_on_a_pair_socket() {
    let ctx = Context::new();
    let ours = ctx.socket(zmq_rs::PULL).expect("socket");
    ours.monitor("inproc://monitor-format", zmq_rs::EVENT_ALL)
        .expect("monitor");
    let reader = ctx.socket(zmq_rs::PAIR).expect("reader");
    reader.set_rcvtimeo(5000).expect("rcvtimeo");
    reader
        .connect("inproc://monitor-format")
        .expect("connect reader");
    ours.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = ours.get_last_endpoint().expect("endpoint");
    let frames = reader.recv_multipart(0).expect("event");
    assert_eq!(frames.len(), 2);
    assert_eq!(
        frames[0].len(),
        6,
        "event number (16 bits) and value (32 bits)"
    );
    assert_eq!(
        u16::from_le_bytes([frames[0][0], frames[0][1]]),
        0x0008,
        "ZMQ_EVENT_LISTENING"
    );
    assert_eq!(frames[1], endpoint.as_bytes());

    // Stopping sends MONITOR_STOPPED last.
    ours.monitor("", 0).expect("stop");
    let frames = reader.recv_multipart(0).expect("stop event");
    assert_eq!(u16::from_le_bytes([frames[0][0], frames[0][1]]), 0x0400);
}

#[test]
fn monitor_reports_a_failed_handshake_with_a_mismatched_mechanism() {
    use std::io::Write;
    let ctx = Context::new();
    let ours = ctx.socket(zmq_rs::PULL).expect("socket");
    let monitor = ours.monitor_events(zmq_rs::EVENT_ALL).expect("monitor");
    ours.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = ours.get_last_endpoint().expect("endpoint");
    // A peer announcing PLAIN to our NULL socket, in one whole 64-octet greeting (RFC 23).
    let address = endpoint.trim_start_matches("tcp://");
    let mut peer = std::net::TcpStream::connect(address).expect("raw connect");
    let mut greeting = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1];
    greeting.extend_from_slice(b"PLAIN");
    greeting.resize(64, 0);
    peer.write_all(&greeting).expect("greeting");
    let failed = wait_for(&monitor, SocketEvent::HandshakeFailedProtocol);
    let last = failed.last().expect("event");
    assert_eq!(
        last.value, 0x1100_0002,
        "ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH"
    );
    assert_eq!(
        monitor.recv(WAIT).expect("then").event,
        SocketEvent::Disconnected
    );
}
