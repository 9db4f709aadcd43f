//! CURVE (RFC 25/26), PLAIN (RFC 24) and ZAP (RFC 27) against real libzmq: pyzmq's wheels
//! bundle libzmq 4.3.5 built with CURVE, which the `zmq` crate's libzmq lacks. The helper in
//! `common/pyzmq.rs` installs a pinned pyzmq on first use and runs small Python peers.
//!
//! Every scenario runs over tcp and ipc, with our socket binding and connecting; CURVE and
//! PLAIN roles are independent of who binds, so both are tried where it matters.

mod common;
#[path = "common/pyzmq.rs"]
mod pyzmq;

use std::time::{Duration, Instant};

use common::{Transport, endpoint_for};
use pyzmq::{
    EVENT_HANDSHAKE_FAILED_AUTH, EVENT_HANDSHAKE_FAILED_PROTOCOL,
    PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC, PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH,
    PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND, Peer, Spec,
};
use zmq_rs::{Authenticator, Context, Monitor, MonitorEvent, Socket, SocketEvent};

/// Who binds; the other side connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binder {
    Ours,
    Theirs,
}

/// Our CURVE role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Server,
    Client,
}

const CASES: [(Transport, Binder); 4] = [
    (Transport::Tcp, Binder::Ours),
    (Transport::Tcp, Binder::Theirs),
    (Transport::Ipc, Binder::Ours),
    (Transport::Ipc, Binder::Theirs),
];

/// A key pair in Z85.
struct Keys {
    public: String,
    secret: String,
}

fn keys() -> Keys {
    let pair = zmq_rs::curve_keypair().expect("key pair");
    Keys {
        public: pair.public.to_z85(),
        secret: pair.secret.to_z85().to_string(),
    }
}

fn ours(ctx: &Context, socket_type: zmq_rs::SocketType) -> Socket {
    let s = ctx.socket(socket_type).expect("our socket");
    s.set_rcvtimeo(5000).expect("rcvtimeo");
    s.set_sndtimeo(5000).expect("sndtimeo");
    s.set_linger(0).expect("linger");
    s
}

fn make_curve_server(s: &Socket, keys: &Keys) {
    s.set_curve_server(true).expect("curve server");
    s.set_curve_publickey(keys.public.as_bytes())
        .expect("public key");
    s.set_curve_secretkey(keys.secret.as_bytes())
        .expect("secret key");
}

fn make_curve_client(s: &Socket, server_key: &str, keys: &Keys) {
    s.set_curve_serverkey(server_key.as_bytes())
        .expect("server key");
    s.set_curve_publickey(keys.public.as_bytes())
        .expect("public key");
    s.set_curve_secretkey(keys.secret.as_bytes())
        .expect("secret key");
}

/// Binds one side and connects the other; returns the peer and the endpoint.
fn join(ours: &Socket, spec: Spec, transport: Transport, binder: Binder) -> (Peer, String) {
    try_join(ours, spec, transport, binder).expect("bind or connect")
}

/// [`join`], or our side's refusal to bind or connect.
fn try_join(
    ours: &Socket,
    spec: Spec,
    transport: Transport,
    binder: Binder,
) -> zmq_rs::Result<(Peer, String)> {
    match binder {
        Binder::Ours => {
            ours.bind(&endpoint_for(transport))?;
            let endpoint = ours.get_last_endpoint()?;
            Ok((spec.connect(&endpoint).start(), endpoint))
        }
        Binder::Theirs => {
            let mut peer = spec.bind(&endpoint_for(transport)).start();
            let endpoint = peer.bound();
            ours.connect(&endpoint)?;
            Ok((peer, endpoint))
        }
    }
}

/// Waits for `event` on our monitor; fails listing what came instead.
fn await_event(monitor: &Monitor, event: SocketEvent, case: &str) -> MonitorEvent {
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.recv(Some(left)) {
            Ok(e) if e.event == event => return e,
            Ok(e) => seen.push(e),
            Err(e) => panic!("{case}: no {event:?} from our monitor ({e}); saw {seen:?}"),
        }
    }
}

/// Waits for any of `events` on our monitor; fails listing what came instead.
fn await_any_event(monitor: &Monitor, events: &[SocketEvent], case: &str) -> MonitorEvent {
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match monitor.recv(Some(left)) {
            Ok(e) if events.contains(&e.event) => return e,
            Ok(e) => seen.push(e),
            Err(e) => panic!("{case}: none of {events:?} from our monitor ({e}); saw {seen:?}"),
        }
    }
}

/// Asserts that nothing arrives at `s` for a short while.
fn assert_nothing_arrives(s: &Socket, case: &str) {
    s.set_rcvtimeo(100).expect("rcvtimeo");
    match s.recv_multipart(0) {
        Err(zmq_rs::Error::WouldBlock) => {}
        other => panic!("{case}: expected nothing, got {other:?}"),
    }
}

fn case(transport: Transport, binder: Binder) -> String {
    format!("{transport:?}, {binder:?} bind")
}

// ---- our CURVE client, libzmq's CURVE server ------------------------------------------------

#[test]
fn our_curve_client_reaches_a_libzmq_curve_server_without_a_zap_handler() {
    for (transport, binder) in CASES {
        let case = case(transport, binder);
        let (server, client) = (keys(), keys());
        let ctx = Context::new();
        let push = ours(&ctx, zmq_rs::PUSH);
        make_curve_client(&push, &server.public, &client);
        let spec = Spec::new("PULL")
            .curve_server(&server.public, &server.secret)
            .recv();
        let (mut peer, _) = join(&push, spec, transport, binder);
        push.send_multipart(["sealed", "", "box"], 0).expect("send");
        assert_eq!(
            peer.received(),
            [&b"sealed"[..], b"", b"box"],
            "{case}: libzmq decrypted our message"
        );
        peer.finish();
    }
}

#[test]
fn our_curve_client_is_authenticated_by_a_libzmq_zap_handler_rfc27() {
    for (transport, binder) in CASES {
        let case = case(transport, binder);
        let (server, client) = (keys(), keys());
        let ctx = Context::new();
        let push = ours(&ctx, zmq_rs::PUSH);
        make_curve_client(&push, &server.public, &client);
        let spec = Spec::new("PULL")
            .curve_server(&server.public, &server.secret)
            .zap(&[&client.public], &[])
            .recv();
        let (mut peer, _) = join(&push, spec, transport, binder);
        push.send("known key", 0).expect("send");
        assert_eq!(
            peer.expect("zap"),
            ["zap", "CURVE", &client.public, "allow"],
            "{case}: the handler saw our long-term public key"
        );
        assert_eq!(peer.received(), [b"known key"], "{case}");
        assert_eq!(peer.expect("user"), ["user", &client.public], "{case}");
        peer.finish();
    }
}

#[test]
fn our_curve_client_refused_by_a_libzmq_zap_handler_reports_auth_failure_400() {
    for (transport, binder) in CASES {
        let case = case(transport, binder);
        let (server, client, other) = (keys(), keys(), keys());
        let ctx = Context::new();
        let push = ours(&ctx, zmq_rs::PUSH);
        make_curve_client(&push, &server.public, &client);
        let monitor = push.monitor_events(zmq_rs::EVENT_ALL).expect("monitor");
        let spec = Spec::new("PULL")
            .curve_server(&server.public, &server.secret)
            .zap(&[&other.public], &[])
            .wait()
            .recv_within(150);
        let (mut peer, _) = join(&push, spec, transport, binder);
        // Queued, if the socket takes it before a handshake: it must never arrive.
        let _ = push.send("unknown key", zmq_rs::DONTWAIT);
        assert_eq!(
            peer.expect("zap"),
            ["zap", "CURVE", &client.public, "deny"],
            "{case}"
        );
        let event = await_event(&monitor, SocketEvent::HandshakeFailedAuth, &case);
        assert_eq!(event.value, 400, "{case}: the ZAP status code from ERROR");
        // Stop reconnecting before libzmq shuts down: libzmq 4.3 asserts in zap_client.cpp
        // when a handshake asks its ZAP handler after the handler's socket has closed.
        drop(monitor);
        drop(push);
        peer.go();
        peer.expect("timeout");
        peer.finish();
    }
}

#[test]
fn our_curve_client_with_a_wrong_server_key_never_delivers_and_recovers() {
    for (transport, binder) in CASES {
        let case = case(transport, binder);
        let (server, client, impostor) = (keys(), keys(), keys());
        let ctx = Context::new();
        let push = ours(&ctx, zmq_rs::PUSH);
        make_curve_client(&push, &impostor.public, &client);
        let spec = || {
            Spec::new("PULL")
                .curve_server(&server.public, &server.secret)
                .monitor()
        };
        let (mut peer, endpoint) = join(&push, spec().wait().recv_within(150), transport, binder);
        let _ = push.send("first", zmq_rs::DONTWAIT);
        // libzmq cannot open our HELLO (it was sealed for another key) and drops us.
        peer.event(
            EVENT_HANDSHAKE_FAILED_PROTOCOL,
            Some(PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC),
        );
        peer.go();
        assert_eq!(peer.expect("timeout"), ["timeout"], "{case}");
        peer.finish();
        // The same socket, given the right key, gets through: nothing was wedged. (libzmq
        // does not reconnect after a protocol error, so a fresh libzmq server comes.)
        push.set_curve_serverkey(server.public.as_bytes())
            .expect("right key");
        let last: &[&[u8]] = &[b"second"];
        let mut peer = match binder {
            Binder::Ours => spec().recv_until(last).connect(&endpoint).start(),
            Binder::Theirs => {
                push.disconnect(&endpoint).expect("disconnect");
                let mut peer = spec()
                    .recv_until(last)
                    .bind(&endpoint_for(transport))
                    .start();
                push.connect(&peer.bound()).expect("connect");
                peer
            }
        };
        push.send("second", 0).expect("send with the right key");
        peer.expect("recv");
        let transcript = peer.finish();
        let received: Vec<_> = transcript
            .iter()
            .filter_map(|l| pyzmq::recv_line_frames(l))
            .collect();
        assert_eq!(
            received.last(),
            Some(&vec![b"second".to_vec()]),
            "{case}: {transcript:?}"
        );
        assert!(
            received[..received.len() - 1]
                .iter()
                .all(|m| m == &[b"first".to_vec()]),
            "{case}: only our messages, each at most once: {transcript:?}"
        );
    }
}

// ---- libzmq's CURVE client, our CURVE server ----------------------------------------------

#[test]
fn libzmq_curve_client_is_let_in_by_our_authenticator() {
    for (transport, binder) in CASES {
        let case = case(transport, binder);
        let (server, client) = (keys(), keys());
        let ctx = Context::new();
        let auth = Authenticator::start(&ctx).expect("authenticator");
        auth.allow_curve_key(client.public.as_bytes())
            .expect("allow key");
        let pull = ours(&ctx, zmq_rs::PULL);
        make_curve_server(&pull, &server);
        let spec = Spec::new("PUSH")
            .curve_client(&server.public, &client.public, &client.secret)
            .linger(2000)
            .send(&[b"from libzmq", b""]);
        let (peer, _) = join(&pull, spec, transport, binder);
        let first = pull.recv_msg(0).expect("message");
        assert_eq!(&first[..], b"from libzmq", "{case}");
        assert_eq!(
            first.gets("User-Id"),
            Some(client.public.as_str()),
            "{case}: the authenticator names the client by its key"
        );
        assert!(first.get_more(), "{case}");
        assert_eq!(pull.recv_bytes(0).expect("second frame"), b"", "{case}");
        peer.finish();
    }
}

#[test]
fn libzmq_curve_client_with_an_unknown_key_is_refused_with_400() {
    for (transport, binder) in CASES {
        let case = case(transport, binder);
        let (server, client, friend) = (keys(), keys(), keys());
        let ctx = Context::new();
        let auth = Authenticator::start(&ctx).expect("authenticator");
        auth.allow_curve_key(friend.public.as_bytes())
            .expect("allow key");
        let pull = ours(&ctx, zmq_rs::PULL);
        make_curve_server(&pull, &server);
        let monitor = pull.monitor_events(zmq_rs::EVENT_ALL).expect("monitor");
        let spec = Spec::new("PUSH")
            .curve_client(&server.public, &client.public, &client.secret)
            .monitor()
            .send_nowait(&[b"let me in"])
            .wait();
        let (mut peer, _) = join(&pull, spec, transport, binder);
        // libzmq's own monitor reports our ERROR "400".
        peer.event(EVENT_HANDSHAKE_FAILED_AUTH, Some(400));
        let event = await_event(&monitor, SocketEvent::HandshakeFailedAuth, &case);
        assert_eq!(event.value, 400, "{case}");
        assert_nothing_arrives(&pull, &case);
        peer.go();
        peer.finish();
    }
}

#[test]
fn libzmq_null_client_is_refused_by_our_curve_server() {
    for (transport, binder) in CASES {
        let case = case(transport, binder);
        let server = keys();
        let ctx = Context::new();
        let pull = ours(&ctx, zmq_rs::PULL);
        make_curve_server(&pull, &server);
        let spec = Spec::new("PUSH")
            .monitor()
            .send_nowait(&[b"in the clear"])
            .wait();
        let (mut peer, _) = join(&pull, spec, transport, binder);
        peer.event(
            EVENT_HANDSHAKE_FAILED_PROTOCOL,
            Some(PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH),
        );
        assert_nothing_arrives(&pull, &case);
        peer.go();
        peer.finish();
    }
}

// ---- traffic over CURVE ---------------------------------------------------------------------

#[test]
fn multipart_empty_frames_and_256_kib_round_trip_over_curve() {
    let big: Vec<u8> = (0..256 * 1024u32)
        .map(|i| (i.wrapping_mul(7) ^ (i >> 9)) as u8)
        .collect();
    for role in [Role::Server, Role::Client] {
        for (transport, binder) in CASES {
            let case = format!("our {role:?}, {}", case(transport, binder));
            let (server, client) = (keys(), keys());
            let ctx = Context::new();
            let dealer = ours(&ctx, zmq_rs::DEALER);
            let spec = Spec::new("DEALER").echo().echo();
            let spec = match role {
                Role::Server => {
                    make_curve_server(&dealer, &server);
                    spec.curve_client(&server.public, &client.public, &client.secret)
                }
                Role::Client => {
                    make_curve_client(&dealer, &server.public, &client);
                    spec.curve_server(&server.public, &server.secret)
                }
            };
            let (mut peer, _) = join(&dealer, spec, transport, binder);
            let message: [&[u8]; 4] = [b"", b"head", &big, b""];
            dealer.send_multipart(message, 0).expect("send");
            let back = dealer.recv_multipart(0).expect("echo");
            assert!(back == message, "{case}: the echo differs");
            assert_eq!(
                peer.expect("echoed"),
                ["echoed", "0", "4", "262144", "0"],
                "{case}: what libzmq received"
            );
            dealer.send(Vec::<u8>::new(), 0).expect("send empty");
            assert_eq!(dealer.recv_multipart(0).expect("echo"), [b""], "{case}");
            peer.finish();
        }
    }
}

#[test]
fn libzmq_sub_gets_only_its_topics_from_our_pub_over_curve() {
    for role in [Role::Server, Role::Client] {
        for (transport, binder) in CASES {
            let case = format!("our {role:?}, {}", case(transport, binder));
            let (server, client) = (keys(), keys());
            let ctx = Context::new();
            let publisher = ours(&ctx, zmq_rs::PUB);
            let spec = Spec::new("SUB")
                .option("SUBSCRIBE", "news")
                .option("SUBSCRIBE", "sport")
                .recv_until(&[b"news end"]);
            let spec = match role {
                Role::Server => {
                    make_curve_server(&publisher, &server);
                    spec.curve_client(&server.public, &client.public, &client.secret)
                }
                Role::Client => {
                    make_curve_client(&publisher, &server.public, &client);
                    spec.curve_server(&server.public, &server.secret)
                }
            };
            let (mut peer, _) = join(&publisher, spec, transport, binder);
            // Publish probes until the subscriber has one: its subscriptions have arrived.
            let deadline = Instant::now() + Duration::from_secs(8);
            loop {
                publisher.send("news probe", 0).expect("probe");
                if peer
                    .try_wait_for(|w| w[0] == "recv", Duration::from_millis(50))
                    .is_ok()
                {
                    break;
                }
                assert!(Instant::now() < deadline, "{case}: no probe arrived");
            }
            for m in [
                "weather rain",
                "news 1",
                "sport 2",
                "weather sun",
                "news end",
            ] {
                publisher.send(m, 0).expect("publish");
            }
            let transcript = peer.finish();
            let received: Vec<_> = transcript
                .iter()
                .filter_map(|l| pyzmq::recv_line_frames(l))
                .filter(|m| m != &[b"news probe".to_vec()])
                .collect();
            assert_eq!(
                received,
                [&b"news 1"[..], b"sport 2", b"news end"].map(|m| vec![m.to_vec()]),
                "{case}: {transcript:?}"
            );
        }
    }
}

// ---- PLAIN ----------------------------------------------------------------------------------

#[test]
fn our_plain_client_logs_in_to_a_libzmq_plain_server_with_a_zap_handler() {
    for (transport, binder) in CASES {
        let case = case(transport, binder);
        let ctx = Context::new();
        let push = ours(&ctx, zmq_rs::PUSH);
        push.set_plain_username(Some("admin")).expect("user");
        push.set_plain_password(Some("s3cret")).expect("password");
        let spec = Spec::new("PULL")
            .option_int("PLAIN_SERVER", 1)
            .zap(&[], &["admin:s3cret"])
            .recv();
        let (mut peer, _) = join(&push, spec, transport, binder);
        push.send("logged in", 0).expect("send");
        assert_eq!(
            peer.expect("zap"),
            ["zap", "PLAIN", "admin:s3cret", "allow"],
            "{case}"
        );
        assert_eq!(peer.received(), [b"logged in"], "{case}");
        assert_eq!(peer.expect("user"), ["user", "admin"], "{case}");
        peer.finish();
    }
}

#[test]
fn libzmq_plain_client_logs_in_to_our_plain_server_with_our_authenticator() {
    for (transport, binder) in CASES {
        let case = case(transport, binder);
        let ctx = Context::new();
        let auth = Authenticator::start(&ctx).expect("authenticator");
        auth.add_plain_user("admin", "s3cret");
        let pull = ours(&ctx, zmq_rs::PULL);
        pull.set_plain_server(true).expect("plain server");
        let spec = Spec::new("PUSH")
            .option("PLAIN_USERNAME", "admin")
            .option("PLAIN_PASSWORD", "s3cret")
            .linger(2000)
            .send(&[b"hello over PLAIN"]);
        let (peer, _) = join(&pull, spec, transport, binder);
        let msg = pull.recv_msg(0).expect("message");
        assert_eq!(&msg[..], b"hello over PLAIN", "{case}");
        assert_eq!(msg.gets("User-Id"), Some("admin"), "{case}");
        peer.finish();
    }
}

#[test]
fn our_plain_client_with_a_wrong_password_is_refused_by_libzmq() {
    for (transport, binder) in CASES {
        let case = case(transport, binder);
        let ctx = Context::new();
        let push = ours(&ctx, zmq_rs::PUSH);
        push.set_plain_username(Some("admin")).expect("user");
        push.set_plain_password(Some("guess")).expect("password");
        let monitor = push.monitor_events(zmq_rs::EVENT_ALL).expect("monitor");
        let spec = Spec::new("PULL")
            .option_int("PLAIN_SERVER", 1)
            .zap(&[], &["admin:s3cret"])
            .wait()
            .recv_within(150);
        let (mut peer, _) = join(&push, spec, transport, binder);
        let _ = push.send("wrong password", zmq_rs::DONTWAIT);
        assert_eq!(
            peer.expect("zap"),
            ["zap", "PLAIN", "admin:guess", "deny"],
            "{case}"
        );
        // libzmq 4.3 misnames its PLAIN ERROR command (see the ignored test below): any
        // handshake failure will do here.
        await_any_event(
            &monitor,
            &[
                SocketEvent::HandshakeFailedAuth,
                SocketEvent::HandshakeFailedProtocol,
            ],
            &case,
        );
        peer.go();
        assert_eq!(
            peer.expect("timeout"),
            ["timeout"],
            "{case}: nothing arrived"
        );
        peer.finish();
    }
}

/// libzmq 4.3's PLAIN mechanism writes its ERROR command name as the C literal
/// `"\x05ERROR"`, whose hex escape swallows the `E`: on the wire the command is `^RROR`
/// (`5E 52 52 4F 52`), followed by the reason `03 "400"`. libzmq's own PLAIN client matches
/// the same literal and reports HANDSHAKE_FAILED_AUTH 400; ours sees no ERROR command.
#[test]
fn our_plain_client_reports_a_libzmq_plain_refusal_as_auth_failure_400() {
    let ctx = Context::new();
    let push = ours(&ctx, zmq_rs::PUSH);
    push.set_plain_username(Some("admin")).expect("user");
    push.set_plain_password(Some("guess")).expect("password");
    let monitor = push.monitor_events(zmq_rs::EVENT_ALL).expect("monitor");
    let spec = Spec::new("PULL")
        .option_int("PLAIN_SERVER", 1)
        .zap(&[], &[])
        .bind(&endpoint_for(Transport::Tcp))
        .wait();
    let mut peer = spec.start();
    push.connect(&peer.bound()).expect("connect");
    let event = await_any_event(
        &monitor,
        &[
            SocketEvent::HandshakeFailedAuth,
            SocketEvent::HandshakeFailedProtocol,
        ],
        "tcp",
    );
    peer.go();
    peer.finish();
    assert_eq!(
        (event.event, event.value),
        (SocketEvent::HandshakeFailedAuth, 400)
    );
}

#[test]
fn libzmq_plain_client_with_a_wrong_password_is_refused_with_400_by_our_server() {
    for (transport, binder) in CASES {
        let case = case(transport, binder);
        let ctx = Context::new();
        let auth = Authenticator::start(&ctx).expect("authenticator");
        auth.add_plain_user("admin", "s3cret");
        let pull = ours(&ctx, zmq_rs::PULL);
        pull.set_plain_server(true).expect("plain server");
        let monitor = pull.monitor_events(zmq_rs::EVENT_ALL).expect("monitor");
        let spec = Spec::new("PUSH")
            .option("PLAIN_USERNAME", "admin")
            .option("PLAIN_PASSWORD", "guess")
            .monitor()
            .send_nowait(&[b"wrong password"])
            .wait();
        let (mut peer, _) = join(&pull, spec, transport, binder);
        let event = await_event(&monitor, SocketEvent::HandshakeFailedAuth, &case);
        assert_eq!(event.value, 400, "{case}");
        // We send a well-formed ERROR "400". libzmq 4.3's PLAIN client only knows its own
        // misnamed `^RROR` (see above) and calls ours an unexpected command; a libzmq with
        // that fixed reports the 400.
        let [auth_400, unexpected] = [
            [EVENT_HANDSHAKE_FAILED_AUTH, 400],
            [
                EVENT_HANDSHAKE_FAILED_PROTOCOL,
                PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND,
            ],
        ]
        .map(|pair| pair.map(|n| n.to_string()));
        peer.wait_for("libzmq's handshake failure", |w| {
            w[0] == "event" && (w[1..3] == auth_400 || w[1..3] == unexpected)
        });
        assert_nothing_arrives(&pull, &case);
        peer.go();
        peer.finish();
    }
}

// ---- CURVE options without the keys to use them ---------------------------------------------

/// libzmq's CURVE_SERVER makes the socket speak CURVE whatever keys it has (with no secret key
/// its handshakes fail); it never falls back to NULL.
#[test]
fn a_curve_server_without_its_secret_key_never_speaks_null() {
    for (transport, binder) in CASES {
        let case = case(transport, binder);
        let server = keys();
        let ctx = Context::new();
        let pull = ours(&ctx, zmq_rs::PULL);
        pull.set_curve_server(true).expect("curve server");
        pull.set_curve_publickey(server.public.as_bytes())
            .expect("public key");
        let spec = Spec::new("PUSH")
            .linger(1000)
            .wait()
            .send_within(300, &[b"in the clear"])
            .wait();
        // Refusing to bind or connect would do as well as refusing the handshake.
        let Ok((mut peer, _)) = try_join(&pull, spec, transport, binder) else {
            continue;
        };
        peer.go();
        peer.wait_for("the send", |w| w[0] == "sent" || w[0] == "blocked");
        assert_nothing_arrives(&pull, &case);
        peer.go();
        peer.finish();
    }
}

/// libzmq's CURVE_SERVERKEY makes the socket a CURVE client whatever keys it has; it never
/// falls back to NULL.
#[test]
fn a_curve_client_without_its_own_key_pair_never_sends_in_the_clear() {
    for (transport, binder) in CASES {
        let case = case(transport, binder);
        let server = keys();
        let ctx = Context::new();
        let push = ours(&ctx, zmq_rs::PUSH);
        push.set_curve_serverkey(server.public.as_bytes())
            .expect("server key");
        let spec = Spec::new("PULL").wait().recv_within(300);
        // Refusing to bind or connect would do as well as refusing the handshake.
        let Ok((mut peer, _)) = try_join(&push, spec, transport, binder) else {
            continue;
        };
        let _ = push.send("secret", zmq_rs::DONTWAIT);
        peer.go();
        assert_eq!(
            peer.expect("timeout"),
            ["timeout"],
            "{case}: sent in the clear"
        );
        peer.finish();
    }
}
