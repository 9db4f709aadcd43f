//! PLAIN (RFC 24) and ZAP (RFC 27) through the facade, against libzmq; CURVE (RFC 25/26)
//! between our sockets. (CURVE against libzmq needs a libzmq built with libsodium: see
//! `curve_interop.rs`.)

mod common;

use std::time::Duration;

use zmq_rs::{Authenticator, Context, SocketEvent};

fn our_plain_server(ctx: &Context) -> (zmq_rs::Socket, String) {
    let server = ctx.socket(zmq_rs::PULL).expect("server");
    server.set_plain_server(true).expect("plain server");
    server.set_rcvtimeo(3000).expect("rcvtimeo");
    server.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = server.get_last_endpoint().expect("endpoint");
    (server, endpoint)
}

fn libzmq_plain_client(ctx: &zmq::Context, endpoint: &str, user: &str, pass: &str) -> zmq::Socket {
    let client = ctx.socket(zmq::PUSH).expect("libzmq client");
    client.set_plain_username(Some(user)).expect("user");
    client.set_plain_password(Some(pass)).expect("password");
    client.set_linger(0).expect("linger");
    client.connect(endpoint).expect("connect");
    client
}

#[test]
fn plain_server_accepts_a_libzmq_client_the_authenticator_knows_rfc24() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).expect("authenticator");
    auth.add_plain_user("admin", "secret");
    let (server, endpoint) = our_plain_server(&ctx);
    let zctx = zmq::Context::new();
    let client = libzmq_plain_client(&zctx, &endpoint, "admin", "secret");
    client.send("hello", 0).expect("send");
    let msg = server
        .recv_msg(0)
        .expect("message from an authenticated client");
    assert_eq!(&msg[..], b"hello");
    // ZAP's user id travels with the message (RFC 27 "User-Id").
    assert_eq!(msg.gets("User-Id"), Some("admin"));
}

#[test]
fn plain_server_refuses_wrong_credentials_and_reports_it_rfc27() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).expect("authenticator");
    auth.add_plain_user("admin", "secret");
    let (server, endpoint) = our_plain_server(&ctx);
    let monitor = server.monitor_events(zmq_rs::EVENT_ALL).expect("monitor");
    let zctx = zmq::Context::new();
    let client = libzmq_plain_client(&zctx, &endpoint, "admin", "wrong");
    client.send("let me in", zmq::DONTWAIT).ok();
    loop {
        let event = monitor
            .recv(Some(Duration::from_secs(5)))
            .expect("an auth failure event");
        if event.event == SocketEvent::HandshakeFailedAuth {
            assert_eq!(event.value, 400);
            break;
        }
    }
    server.set_rcvtimeo(200).expect("rcvtimeo");
    assert!(
        server.recv_bytes(0).is_err(),
        "nothing from a refused client"
    );
}

#[test]
fn plain_server_without_a_zap_handler_refuses_clients_as_libzmq_4_3() {
    let ctx = Context::new();
    let (server, endpoint) = our_plain_server(&ctx);
    server.set_rcvtimeo(300).expect("rcvtimeo");
    let zctx = zmq::Context::new();
    let client = libzmq_plain_client(&zctx, &endpoint, "anyone", "anything");
    client.send("hello", zmq::DONTWAIT).ok();
    assert!(server.recv_bytes(0).is_err());
}

#[test]
fn plain_client_logs_in_to_a_libzmq_server_with_a_libzmq_zap_handler() {
    let zctx = zmq::Context::new();
    // A minimal libzmq ZAP handler accepting user "u" with password "p".
    let handler = zctx.socket(zmq::REP).expect("zap handler");
    handler.bind("inproc://zeromq.zap.01").expect("zap bind");
    let zap = std::thread::spawn(move || {
        let request = handler.recv_multipart(0).expect("zap request");
        let ok = request.get(5).map(Vec::as_slice) == Some(b"PLAIN")
            && request.get(6).map(Vec::as_slice) == Some(b"u")
            && request.get(7).map(Vec::as_slice) == Some(b"p");
        let status: &[u8] = if ok { b"200" } else { b"400" };
        handler
            .send_multipart([&b"1.0"[..], &request[1], status, b"", b"u", b""], 0)
            .expect("zap reply");
        ok
    });
    let server = zctx.socket(zmq::PULL).expect("libzmq server");
    server.set_plain_server(true).expect("plain server");
    server.set_rcvtimeo(5000).expect("rcvtimeo");
    server.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = server
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8");
    let ctx = Context::new();
    let client = ctx.socket(zmq_rs::PUSH).expect("client");
    client.set_plain_username(Some("u")).expect("user");
    client.set_plain_password(Some("p")).expect("password");
    client.connect(&endpoint).expect("connect");
    client.send("over PLAIN", 0).expect("send");
    assert_eq!(server.recv_bytes(0).expect("at libzmq"), b"over PLAIN");
    assert!(
        zap.join().expect("zap thread"),
        "the handler saw our credentials"
    );
}

#[test]
fn curve_encrypts_and_authenticates_between_our_sockets_rfc26() {
    let ctx = Context::new();
    let auth = Authenticator::start(&ctx).expect("authenticator");
    let server_keys = zmq_rs::curve_keypair().expect("server keys");
    let client_keys = zmq_rs::curve_keypair().expect("client keys");
    let stranger_keys = zmq_rs::curve_keypair().expect("stranger keys");
    auth.allow_curve_key(client_keys.public.as_bytes())
        .expect("allow key");

    let server = ctx.socket(zmq_rs::PULL).expect("server");
    server.set_curve_server(true).expect("curve server");
    server
        .set_curve_publickey(server_keys.public.to_z85().as_bytes())
        .expect("server public");
    server
        .set_curve_secretkey(server_keys.secret.to_z85().as_bytes())
        .expect("server secret");
    server.set_rcvtimeo(5000).expect("rcvtimeo");
    server.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = server.get_last_endpoint().expect("endpoint");

    let connect = |keys: &zmq_rs::CurveKeyPair| {
        let client = ctx.socket(zmq_rs::PUSH).expect("client");
        client
            .set_curve_serverkey(server_keys.public.as_bytes())
            .expect("server key");
        client
            .set_curve_publickey(keys.public.as_bytes())
            .expect("public");
        client
            .set_curve_secretkey(keys.secret.as_bytes())
            .expect("secret");
        client.set_linger(0).expect("linger");
        client.connect(&endpoint).expect("connect");
        client
    };
    let stranger = connect(&stranger_keys);
    stranger.send("from a stranger", zmq_rs::DONTWAIT).ok();
    let client = connect(&client_keys);
    client.send("secret", 0).expect("send");
    let msg = server.recv_msg(0).expect("message");
    assert_eq!(&msg[..], b"secret", "only the allowed client gets through");
    assert_eq!(
        msg.gets("User-Id"),
        Some(client_keys.public.to_z85().as_str()),
        "the authenticator names the client by its key"
    );
    server.set_rcvtimeo(200).expect("rcvtimeo");
    assert!(server.recv_bytes(0).is_err(), "the stranger was refused");
}

#[test]
fn z85_and_curve_public_match_libzmq_rfc32() {
    assert_eq!(
        zmq_rs::z85_encode(&[0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]).expect("encode"),
        "HelloWorld"
    );
    assert!(
        zmq_rs::z85_encode(&[1, 2, 3]).is_err(),
        "not a multiple of 4"
    );
    assert!(zmq_rs::z85_decode("Hello").is_ok());
    assert!(zmq_rs::z85_decode("Hell").is_err(), "not a multiple of 5");
    let pair = zmq_rs::curve_keypair().expect("pair");
    assert_eq!(
        zmq_rs::curve_public(pair.secret.to_z85().as_bytes()).expect("public"),
        pair.public.to_z85()
    );
}
