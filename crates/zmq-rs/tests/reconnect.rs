//! Reconnection: the peer on the other end restarts (a new socket bound to the same
//! endpoint) and our side, or libzmq's, connects again by itself, replays what the new peer
//! must know (subscriptions), and traffic resumes. libzmq is on the other end throughout.
//!
//! The publishing side is an XPUB in these tests, so that the replayed subscription itself
//! is seen arriving, not only its effect.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{Transport, endpoint_for};
use zmq_rs::{Context, DONTWAIT, Socket, SocketType};

const TIMEOUT_MS: i32 = 2000;

fn ours(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).expect("socket");
    s.set_rcvtimeo(TIMEOUT_MS).expect("rcvtimeo");
    s.set_sndtimeo(TIMEOUT_MS).expect("sndtimeo");
    s.set_linger(0).expect("linger");
    s
}

fn theirs(ctx: &zmq::Context, t: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(t).expect("libzmq socket");
    s.set_rcvtimeo(TIMEOUT_MS).expect("libzmq rcvtimeo");
    s.set_sndtimeo(TIMEOUT_MS).expect("libzmq sndtimeo");
    s.set_linger(0).expect("libzmq linger");
    s
}

/// Binds with retries for a short while: the endpoint of a socket just closed may still be
/// in use for a moment (sockets are closed asynchronously by their I/O threads).
fn bind_retrying(mut bind: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !bind() {
        assert!(
            Instant::now() < deadline,
            "{what}: the endpoint stayed busy"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// Receives `expected` on an XPUB, for at most the receive timeout.
fn expect_subscription_at_libzmq(xpub: &zmq::Socket, expected: &[u8], label: &str) {
    let got = xpub
        .recv_bytes(0)
        .unwrap_or_else(|e| panic!("{label}: no subscription arrived: {e}"));
    assert_eq!(got, expected, "{label}");
}

/// RFC 29 and libzmq's SUB: our SUB, subscribed to "a", is connected to a libzmq XPUB that
/// restarts twice (closed, and a new one bound to the same endpoint). Our SUB reconnects by
/// itself (RECONNECT_IVL 50 ms) and sends its subscription again: each new XPUB sees it, and
/// of the "b…" and "a…" messages it then publishes our SUB gets exactly the "a…" ones.
#[test]
fn sub_reconnects_to_a_restarted_libzmq_publisher_and_replays_its_subscription_rfc29() {
    for transport in [Transport::Tcp, Transport::Ipc] {
        let lctx = zmq::Context::new();
        let first = theirs(&lctx, zmq::XPUB);
        first.bind(&endpoint_for(transport)).expect("libzmq bind");
        let ep = first.get_last_endpoint().expect("endpoint").expect("utf-8");
        let mut xpub = Some(first);

        let ctx = Context::new();
        let sub = ours(&ctx, zmq_rs::SUB);
        sub.set_reconnect_ivl(50).expect("reconnect");
        sub.set_subscribe(b"a").expect("subscribe");
        sub.connect(&ep).expect("connect");

        for incarnation in 0..3u8 {
            let label = format!("{ep}, publisher #{incarnation}");
            if incarnation > 0 {
                drop(xpub.take());
                let fresh = theirs(&lctx, zmq::XPUB);
                bind_retrying(|| fresh.bind(&ep).is_ok(), &label);
                xpub = Some(fresh);
            }
            let publisher = xpub.as_ref().expect("a publisher");
            expect_subscription_at_libzmq(publisher, b"\x01a", &label);
            // In order on one connection: were "b" not filtered, it would come first.
            publisher
                .send(format!("b-{incarnation}").as_bytes(), 0)
                .expect("send b");
            publisher
                .send(format!("a-{incarnation}").as_bytes(), 0)
                .expect("send a");
            assert_eq!(
                sub.recv_bytes(0)
                    .unwrap_or_else(|e| panic!("{label}: nothing arrived: {e}")),
                format!("a-{incarnation}").into_bytes(),
                "{label}"
            );
        }
        assert!(sub.recv_bytes(DONTWAIT).is_err(), "{ep}: a stray message");
    }
}

/// Waits for `expected` at our XPUB. libzmq's SUB resends its subscriptions after a
/// reconnection through a pipe "hiccup" that its socket handles only inside an API call, so
/// the SUB is polled meanwhile (it must have received nothing).
fn expect_subscription_from_libzmq(xpub: &Socket, sub: &zmq::Socket, expected: &[u8], label: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match xpub.recv_bytes(DONTWAIT) {
            Ok(got) => {
                assert_eq!(got, expected, "{label}");
                return;
            }
            Err(zmq_rs::Error::WouldBlock) => {}
            Err(e) => panic!("{label}: {e}"),
        }
        assert!(
            sub.recv_bytes(zmq::DONTWAIT).is_err(),
            "{label}: a message before the subscription"
        );
        assert!(
            Instant::now() < deadline,
            "{label}: no subscription arrived"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// The same from the other side: a libzmq SUB (subscribed to "a", RECONNECT_IVL 50 ms) is
/// connected to our XPUB, which restarts twice. libzmq reconnects and subscribes again; each
/// new XPUB of ours sees the subscription and delivers only the matching messages.
#[test]
fn libzmq_sub_resubscribes_to_our_restarted_publisher_rfc29() {
    for transport in [Transport::Tcp, Transport::Ipc] {
        let ctx = Context::new();
        let first = ours(&ctx, zmq_rs::XPUB);
        first.bind(&endpoint_for(transport)).expect("bind");
        let ep = first.get_last_endpoint().expect("endpoint");
        let mut xpub = Some(first);

        let lctx = zmq::Context::new();
        let sub = theirs(&lctx, zmq::SUB);
        sub.set_reconnect_ivl(50).expect("libzmq reconnect");
        sub.set_subscribe(b"a").expect("libzmq subscribe");
        sub.connect(&ep).expect("libzmq connect");

        for incarnation in 0..3u8 {
            let label = format!("{ep}, publisher #{incarnation}");
            if incarnation > 0 {
                drop(xpub.take());
                let fresh = ours(&ctx, zmq_rs::XPUB);
                bind_retrying(|| fresh.bind(&ep).is_ok(), &label);
                xpub = Some(fresh);
            }
            let publisher = xpub.as_ref().expect("a publisher");
            expect_subscription_from_libzmq(publisher, &sub, b"\x01a", &label);
            publisher
                .send(format!("b-{incarnation}"), 0)
                .expect("send b");
            publisher
                .send(format!("a-{incarnation}"), 0)
                .expect("send a");
            assert_eq!(
                sub.recv_bytes(0)
                    .unwrap_or_else(|e| panic!("{label}: nothing arrived: {e}")),
                format!("a-{incarnation}").into_bytes(),
                "{label}"
            );
        }
        assert!(
            sub.recv_bytes(zmq::DONTWAIT).is_err(),
            "{ep}: a stray message"
        );
    }
}

/// RFC 30: our PUSH (RECONNECT_IVL 50 ms) is connected to a libzmq PULL that restarts.
/// Messages may be lost only with the broken connection (those written into it before our
/// side saw it close); every message from the first one the new PULL receives on arrives,
/// in order, and nearly all of those sent after the restart do (the pipe keeps them while
/// the connection is down).
#[test]
fn push_delivers_to_a_restarted_libzmq_pull_rfc30() {
    for transport in [Transport::Tcp, Transport::Ipc] {
        let lctx = zmq::Context::new();
        let pull = theirs(&lctx, zmq::PULL);
        pull.bind(&endpoint_for(transport)).expect("libzmq bind");
        let ep = pull.get_last_endpoint().expect("endpoint").expect("utf-8");

        let ctx = Context::new();
        let push = ours(&ctx, zmq_rs::PUSH);
        push.set_reconnect_ivl(50).expect("reconnect");
        push.connect(&ep).expect("connect");
        push.send("before", 0).expect("send");
        assert_eq!(pull.recv_bytes(0).expect("before"), b"before", "{ep}");

        drop(pull);
        let pull = theirs(&lctx, zmq::PULL);
        bind_retrying(|| pull.bind(&ep).is_ok(), "libzmq PULL restart");
        // Spread over a few reconnect intervals, so that some are sent while disconnected
        // and some after the reconnection.
        const SENT: u32 = 40;
        for i in 0..SENT {
            push.send(&i.to_be_bytes()[..], 0).expect("send");
            thread::sleep(Duration::from_millis(5));
        }
        pull.set_rcvtimeo(500).expect("rcvtimeo");
        let mut got = Vec::new();
        while let Ok(m) = pull.recv_bytes(0) {
            got.push(u32::from_be_bytes(
                m.as_slice().try_into().expect("a number"),
            ));
        }
        let first = *got
            .first()
            .unwrap_or_else(|| panic!("{ep}: nothing arrived after the restart"));
        assert_eq!(
            got,
            (first..SENT).collect::<Vec<_>>(),
            "{ep}: not every message from the first one on, in order"
        );
        assert!(
            first <= 5,
            "{ep}: the first {first} messages after the restart were lost"
        );
    }
}

/// RFC 30, strictly: once our side has seen the connection to a restarting libzmq PULL go
/// (the monitor's DISCONNECTED), messages sent while no PULL is there stay queued on the
/// pipe, and every one of them arrives at the new PULL, in order, after our PUSH reconnects.
#[test]
fn push_keeps_what_it_queued_while_disconnected_for_the_restarted_pull_rfc30() {
    for transport in [Transport::Tcp, Transport::Ipc] {
        let lctx = zmq::Context::new();
        let pull = theirs(&lctx, zmq::PULL);
        pull.bind(&endpoint_for(transport)).expect("libzmq bind");
        let ep = pull.get_last_endpoint().expect("endpoint").expect("utf-8");

        let ctx = Context::new();
        let push = ours(&ctx, zmq_rs::PUSH);
        push.set_reconnect_ivl(50).expect("reconnect");
        let monitor = push.monitor_events(zmq_rs::EVENT_ALL).expect("monitor");
        push.connect(&ep).expect("connect");
        push.send("before", 0).expect("send");
        assert_eq!(pull.recv_bytes(0).expect("before"), b"before", "{ep}");

        drop(pull);
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let event = monitor
                .recv(Some(deadline.saturating_duration_since(Instant::now())))
                .unwrap_or_else(|e| panic!("{ep}: no DISCONNECTED: {e}"));
            if event.event == zmq_rs::SocketEvent::Disconnected {
                break;
            }
        }
        for i in 0..20u32 {
            push.send(&i.to_be_bytes()[..], 0)
                .expect("queued while disconnected");
        }
        let pull = theirs(&lctx, zmq::PULL);
        bind_retrying(|| pull.bind(&ep).is_ok(), "libzmq PULL restart");
        for i in 0..20u32 {
            assert_eq!(
                pull.recv_bytes(0)
                    .unwrap_or_else(|e| panic!("{ep}: message {i}: {e}")),
                i.to_be_bytes(),
                "{ep}"
            );
        }
    }
}
