//! CURVE sessions (RFC 25/26): two sessions back to back (allow, deny, chunked delivery,
//! heartbeats, limits), libzmq's framing, and scripted peers built from the crate's own box
//! primitives to send what a well-behaved peer never would: truncated or unpadded HELLOs,
//! forged cookies and vouches, replayed and altered MESSAGE boxes, metadata that runs past its
//! box. None panics; each fails with a typed error that `handshake_failure` maps as libzmq's
//! monitor would.

use bytes::Buf;

use super::*;
use crate::command;
use crate::curve::crypto::{BoxKey, long_nonce, short_nonce};
use crate::curve::{
    CurveKeyPair, CurvePublicKey, CurveSecretKey, Hello, Initiate, Ready, RngSeed, Welcome,
};
use crate::error::CryptoFailure;
use crate::frame::FrameDecoder;

// ---- harness -------------------------------------------------------------------------------------

/// libzmq's test key pairs (tests/testutil_security.cpp).
fn server_keys() -> CurveKeyPair {
    CurveKeyPair::from_secret(
        "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
            .parse()
            .expect("valid"),
    )
}

fn client_keys() -> CurveKeyPair {
    CurveKeyPair::from_secret(
        "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
            .parse()
            .expect("valid"),
    )
}

fn other_keys() -> CurveKeyPair {
    CurveKeyPair::from_secret(CurveSecretKey::from_bytes([0x77; 32]))
}

fn curve_server_config(socket_type: SocketType, seed: u8) -> SessionConfig {
    let keys = server_keys();
    let mut config = SessionConfig::new(socket_type);
    config.mechanism = MechanismConfig::CurveServer {
        public: keys.public,
        secret: keys.secret,
    };
    config.rng_seed = Some(RngSeed::new([seed; 32]));
    config
}

fn curve_client_config(
    socket_type: SocketType,
    server_public: CurvePublicKey,
    seed: u8,
) -> SessionConfig {
    let keys = client_keys();
    let mut config = SessionConfig::new(socket_type);
    config.mechanism = MechanismConfig::CurveClient {
        server_public,
        public: keys.public,
        secret: keys.secret,
    };
    config.rng_seed = Some(RngSeed::new([seed; 32]));
    config
}

fn curve_pair(client: SocketType, server: SocketType) -> Pair {
    Pair::new(
        curve_client_config(client, server_keys().public, 1),
        curve_server_config(server, 2),
    )
}

fn allow() -> AuthResult {
    AuthResult::Allow {
        user_id: Bytes::from_static(b"curve-user"),
    }
}

/// Runs the pair, answers the server's authentication request with `answer`, runs again.
fn handshake(pair: &mut Pair, answer: AuthResult) {
    pair.run();
    let now = pair.now;
    if pair.server.auth_request().is_some() {
        pair.server.session.handle_auth(now, answer);
        pair.server.poll(now);
    }
    pair.run();
}

/// Splits a byte stream into frames (after the 64-octet greeting when `skip_greeting`).
fn frames(mut bytes: &[u8], skip_greeting: bool) -> Vec<Frame> {
    if skip_greeting {
        bytes = bytes.get(Greeting::LEN..).unwrap_or_default();
    }
    let mut rx = BytesMut::from(bytes);
    let mut decoder = FrameDecoder::new(None);
    let mut out = Vec::new();
    while let Ok(Decoded::Complete { value, .. }) = decoder.decode(&mut rx) {
        out.push(value);
    }
    assert!(rx.is_empty(), "trailing octets: {rx:?}");
    out
}

fn frame_bytes(command: bool, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Frame {
        more: false,
        command,
        body: Bytes::copy_from_slice(body),
    }
    .encode(&mut out);
    out
}

fn curve_greeting(as_server: bool) -> Vec<u8> {
    greeting_bytes(MechanismName::CURVE, 1, as_server)
}

fn metadata(socket_type: SocketType) -> Vec<u8> {
    let mut props = Properties::new();
    props.insert(
        Bytes::from_static(b"Socket-Type"),
        Bytes::from_static(socket_type.as_str().as_bytes()),
    );
    let mut out = Vec::new();
    command::encode_properties(&props, &mut out);
    out
}

fn concat32(a: &[u8; 32], b: &[u8; 32]) -> [u8; 64] {
    let mut out = [0; 64];
    out[..32].copy_from_slice(a);
    out[32..].copy_from_slice(b);
    out
}

/// A hand-driven CURVE client, for sending what a real one never would.
struct ScriptedClient {
    keys: CurveKeyPair,
    transient: CurveKeyPair,
    server: CurvePublicKey,
    server_transient: [u8; 32],
    cookie: [u8; 96],
}

impl ScriptedClient {
    fn new() -> Self {
        Self {
            keys: client_keys(),
            transient: CurveKeyPair::from_secret(CurveSecretKey::from_bytes([0x31; 32])),
            server: server_keys().public,
            server_transient: [0; 32],
            cookie: [0; 96],
        }
    }

    fn hello(&self, nonce: u64) -> Hello {
        let key = BoxKey::precompute(self.server.as_bytes(), self.transient.secret.as_bytes())
            .expect("strong");
        let mut signature = Vec::new();
        key.seal_to(
            &short_nonce(b"CurveZMQHELLO---", nonce),
            &[0; 64],
            &mut signature,
        );
        Hello {
            major: 1,
            minor: 0,
            client_key: *self.transient.public.as_bytes(),
            nonce,
            signature: signature.try_into().expect("80 octets"),
        }
    }

    fn hello_frame(&self, nonce: u64) -> Vec<u8> {
        let mut out = Vec::new();
        self.hello(nonce).encode(&mut out);
        out
    }

    /// Reads WELCOME from the server's output (greeting included).
    fn read_welcome(&mut self, server_output: &[u8]) {
        let frames = frames(server_output, true);
        let welcome = Welcome::decode(&frames[0].body).expect("a WELCOME");
        let key = BoxKey::precompute(self.server.as_bytes(), self.transient.secret.as_bytes())
            .expect("strong");
        let plaintext = key
            .open(&long_nonce(b"WELCOME-", &welcome.nonce), &welcome.sealed)
            .expect("WELCOME opens");
        self.server_transient.copy_from_slice(&plaintext[..32]);
        self.cookie.copy_from_slice(&plaintext[32..]);
    }

    /// INITIATE with full control: the vouch's contents, the key sealing it, and the raw
    /// metadata.
    fn initiate(
        &self,
        nonce: u64,
        vouch_contents: [u8; 64],
        vouch_sealer: &CurveSecretKey,
        metadata: &[u8],
    ) -> Vec<u8> {
        let vouch_key =
            BoxKey::precompute(&self.server_transient, vouch_sealer.as_bytes()).expect("strong");
        let vouch_nonce = [0x56; 16];
        let mut vouch = Vec::new();
        vouch_key.seal_to(
            &long_nonce(b"VOUCH---", &vouch_nonce),
            &vouch_contents,
            &mut vouch,
        );
        let mut plaintext = Vec::new();
        plaintext.extend_from_slice(self.keys.public.as_bytes());
        plaintext.extend_from_slice(&vouch_nonce);
        plaintext.extend_from_slice(&vouch);
        plaintext.extend_from_slice(metadata);
        let key = self.session_key();
        let mut sealed = Vec::new();
        key.seal_to(
            &short_nonce(b"CurveZMQINITIATE", nonce),
            &plaintext,
            &mut sealed,
        );
        let mut out = Vec::new();
        Initiate {
            cookie: self.cookie,
            nonce,
            sealed: Bytes::from(sealed),
        }
        .encode(&mut out);
        out
    }

    /// A well-formed INITIATE for a DEALER.
    fn good_initiate(&self, nonce: u64) -> Vec<u8> {
        self.initiate(
            nonce,
            concat32(self.transient.public.as_bytes(), self.server.as_bytes()),
            &self.keys.secret,
            &metadata(SocketType::Dealer),
        )
    }

    fn session_key(&self) -> BoxKey {
        BoxKey::precompute(&self.server_transient, self.transient.secret.as_bytes())
            .expect("strong")
    }

    /// A MESSAGE frame with any flags octet and body.
    fn message(&self, nonce: u64, flags: u8, body: &[u8], command_frame: bool) -> Vec<u8> {
        let mut plaintext = vec![flags];
        plaintext.extend_from_slice(body);
        let mut sealed = Vec::new();
        self.session_key().seal_to(
            &short_nonce(b"CurveZMQMESSAGEC", nonce),
            &plaintext,
            &mut sealed,
        );
        let mut msg_body = b"\x07MESSAGE".to_vec();
        msg_body.extend_from_slice(&nonce.to_be_bytes());
        msg_body.extend_from_slice(&sealed);
        frame_bytes(command_frame, &msg_body)
    }
}

/// A CURVE server (ROUTER) session that has sent WELCOME to a scripted client, which has
/// read it.
fn server_after_welcome() -> (Peer, ScriptedClient, Instant) {
    let now = origin();
    let mut server = Peer::new(now, curve_server_config(SocketType::Router, 9));
    let mut client = ScriptedClient::new();
    let mut input = curve_greeting(false);
    input.extend_from_slice(&client.hello_frame(1));
    server.feed(now, &input);
    assert!(server.error.is_none(), "{:?}", server.error);
    client.read_welcome(&server.output(now));
    (server, client, now)
}

/// A CURVE server past the handshake with a scripted client (INITIATE nonce 2).
fn server_ready_with_scripted_client() -> (Peer, ScriptedClient, Instant) {
    let (mut server, client, now) = server_after_welcome();
    server.feed(now, &client.good_initiate(2));
    assert!(server.auth_request().is_some(), "{:?}", server.error);
    server.session.handle_auth(now, allow());
    server.poll(now);
    assert!(server.ready().is_some(), "{:?}", server.error);
    server.output(now);
    server.take_events();
    (server, client, now)
}

/// Runs the pair to quiet, allowing the client, and returns everything each side sent.
fn record(pair: &mut Pair) -> (Vec<u8>, Vec<u8>) {
    let (mut client_stream, mut server_stream) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let c = pair.client.output(pair.now);
        let s = pair.server.output(pair.now);
        if c.is_empty() && s.is_empty() {
            break;
        }
        client_stream.extend_from_slice(&c);
        server_stream.extend_from_slice(&s);
        pair.server.feed(pair.now, &c);
        pair.client.feed(pair.now, &s);
        if pair.server.auth_request().is_some() && !pair.server.session.is_ready() {
            pair.server.session.handle_auth(pair.now, allow());
            pair.server.poll(pair.now);
        }
    }
    (client_stream, server_stream)
}

fn expect_failure(peer: &Peer, error: SessionError, failure: HandshakeFailure) {
    assert_eq!(peer.error.as_ref(), Some(&error));
    assert_eq!(peer.session.error(), Some(&error));
    assert_eq!(error.handshake_failure(), failure);
}

// ---- handshake between two sessions ----------------------------------------------------------------

#[test]
fn curve_handshake_authenticates_the_client_key_then_traffic_flows_both_ways_rfc26() {
    let mut pair = curve_pair(SocketType::Dealer, SocketType::Router);
    pair.run();
    assert_eq!(
        pair.server.auth_request(),
        Some(&AuthRequest {
            mechanism: "CURVE",
            username: None,
            password: None,
            curve_public_key: Some(client_keys().public),
        })
    );
    assert!(pair.client.ready().is_none() && pair.server.ready().is_none());
    pair.server.session.handle_auth(pair.now, allow());
    pair.server.poll(pair.now);
    pair.run();
    let server_view = pair.server.ready().cloned().expect("server ready");
    assert_eq!(server_view.socket_type, SocketType::Dealer);
    assert_eq!(
        server_view.properties.get("User-Id"),
        Some(&Bytes::from_static(b"curve-user"))
    );
    assert_eq!(
        pair.client.ready().map(|h| h.socket_type),
        Some(SocketType::Router)
    );
    let big = Bytes::from(vec![0xAB; 3 * ZERO_COPY_THRESHOLD]);
    pair.client.send(Traffic::Message(msg![b"hello"]));
    pair.client.send(Traffic::Message(Msg::from_frames([
        Bytes::new(),
        big.clone(),
    ])));
    pair.server
        .send(Traffic::Message(msg![b"id", b"", b"world"]));
    pair.server
        .send(Traffic::Message(Msg::single(Bytes::new())));
    pair.run();
    assert_eq!(
        pair.server.traffic(),
        [
            Traffic::Message(msg![b"hello"]),
            Traffic::Message(Msg::from_frames([Bytes::new(), big])),
        ]
    );
    assert_eq!(
        pair.client.traffic(),
        [
            Traffic::Message(msg![b"id", b"", b"world"]),
            Traffic::Message(Msg::single(Bytes::new())),
        ]
    );
    assert!(pair.client.error.is_none() && pair.server.error.is_none());
}

#[test]
fn only_the_session_key_outlives_the_handshake_and_nothing_secret_prints() {
    let mut pair = curve_pair(SocketType::Dealer, SocketType::Router);
    handshake(&mut pair, allow());
    assert!(pair.client.ready().is_some() && pair.server.ready().is_some());
    for peer in [&pair.client, &pair.server] {
        let shown = format!("{:?}", peer.session);
        assert!(shown.contains("secret: None"), "{shown}");
        assert!(shown.contains("transient_secret: None"), "{shown}");
        assert!(shown.contains("cookie_key: None") || !shown.contains("cookie_key"));
        assert!(shown.contains("BoxKey(<redacted>)"), "{shown}");
    }
    let config = curve_server_config(SocketType::Router, 2);
    let shown = format!("{config:?}");
    assert!(!shown.contains(&*server_keys().secret.to_z85()), "{shown}");
    assert!(shown.contains("RngSeed(<redacted>)"), "{shown}");
}

#[test]
fn curve_handshake_and_traffic_survive_any_chunking() {
    for chunk in [1, 2, 7, 33, 199, 201] {
        let mut pair = curve_pair(SocketType::Req, SocketType::Rep);
        pair.chunk = chunk;
        handshake(&mut pair, allow());
        assert!(pair.server.ready().is_some(), "chunk {chunk}");
        assert!(pair.client.ready().is_some(), "chunk {chunk}");
        pair.client.send(Traffic::Message(msg![b"", b"ping"]));
        pair.run();
        pair.server.send(Traffic::Message(msg![b"", b"pong"]));
        pair.run();
        assert_eq!(
            pair.server.traffic(),
            [Traffic::Message(msg![b"", b"ping"])]
        );
        assert_eq!(
            pair.client.traffic(),
            [Traffic::Message(msg![b"", b"pong"])]
        );
    }
}

/// A packed buffer reaching a CURVE session (its queue packed before the mechanism was
/// known) is taken apart and each frame boxed (RFC 26 MESSAGE): the peer gets the messages.
#[test]
fn a_packed_buffer_goes_out_as_boxed_messages() {
    let mut pair = curve_pair(SocketType::Dealer, SocketType::Router);
    handshake(&mut pair, allow());
    let msgs = [msg![b"one"], msg![b"two", b"parts"]];
    let mut packer = FramePacker::new();
    for m in &msgs {
        assert_eq!(packer.push(m), None);
    }
    let framed = packer.seal().expect("packed");
    pair.client.send(Traffic::Framed(framed));
    pair.run();
    assert_eq!(
        pair.server.traffic(),
        msgs.map(Traffic::Message),
        "whole, in order, decrypted by the peer"
    );
}

#[test]
fn subscriptions_and_joins_travel_inside_message_boxes() {
    let mut pair = curve_pair(SocketType::Sub, SocketType::XPub);
    handshake(&mut pair, allow());
    pair.client
        .send(Traffic::Subscribe(Bytes::from_static(b"topic")));
    let wire = {
        pair.client
            .session
            .poll_transmit(pair.now, &mut pair.client.tx);
        pair.client.tx.to_vec()
    };
    assert!(
        !wire.windows(9).any(|w| w == b"SUBSCRIBE"),
        "the command name is encrypted"
    );
    pair.run();
    assert_eq!(
        pair.server.traffic(),
        [Traffic::Subscribe(Bytes::from_static(b"topic"))]
    );
    pair.client
        .send(Traffic::Cancel(Bytes::from_static(b"topic")));
    pair.run();
    assert_eq!(
        pair.server.traffic(),
        [Traffic::Cancel(Bytes::from_static(b"topic"))]
    );
}

#[test]
fn curve_denial_sends_the_status_code_and_fails_both_sides() {
    let mut pair = curve_pair(SocketType::Req, SocketType::Rep);
    handshake(
        &mut pair,
        AuthResult::Deny {
            status_code: 400,
            reason: Bytes::from_static(b"unknown key"),
        },
    );
    expect_failure(
        &pair.server,
        SessionError::AuthenticationFailed {
            status_code: 400,
            reason: Bytes::from_static(b"unknown key"),
        },
        HandshakeFailure::Auth { status_code: 400 },
    );
    expect_failure(
        &pair.client,
        SessionError::PeerSentError {
            reason: Bytes::from_static(b"400"),
        },
        HandshakeFailure::Auth { status_code: 400 },
    );
    for peer in [&pair.client, &pair.server] {
        assert_eq!(
            peer.session.handshake_failure(),
            Some(HandshakeFailure::Auth { status_code: 400 })
        );
    }
}

#[test]
fn curve_temporary_denial_closes_silently_like_libzmq() {
    let mut pair = curve_pair(SocketType::Req, SocketType::Rep);
    pair.run();
    pair.server.session.handle_auth(
        pair.now,
        AuthResult::Deny {
            status_code: 300,
            reason: Bytes::new(),
        },
    );
    assert_eq!(pair.server.output(pair.now), b"", "no ERROR for 300");
    assert!(pair.server.session.is_closed());
}

#[test]
fn a_client_with_the_wrong_server_key_gets_no_welcome() {
    let mut pair = Pair::new(
        curve_client_config(SocketType::Req, other_keys().public, 1),
        curve_server_config(SocketType::Rep, 2),
    );
    let (client_stream, server_stream) = record(&mut pair);
    assert_eq!(
        client_stream.len(),
        Greeting::LEN + 2 + Hello::LEN,
        "greeting and HELLO"
    );
    assert_eq!(
        server_stream.len(),
        Greeting::LEN,
        "the greeting: no WELCOME, no ERROR"
    );
    expect_failure(
        &pair.server,
        SessionError::CryptoFailed(CryptoFailure::HelloSignature),
        HandshakeFailure::Protocol(ProtocolError::Cryptographic),
    );
    assert_eq!(
        pair.server.session.handshake_failure(),
        Some(HandshakeFailure::Protocol(ProtocolError::Cryptographic))
    );
    // The client waits for a WELCOME that never comes, until the handshake timeout.
    assert!(pair.client.error.is_none());
    let late = pair.now + DEFAULT_HANDSHAKE_TIMEOUT;
    assert_eq!(
        pair.client.session.handle_timeout(late),
        Err(SessionError::HandshakeTimedOut)
    );
}

#[test]
fn null_and_plain_clients_against_a_curve_server_are_a_mechanism_mismatch() {
    for client in [
        null(SocketType::Req),
        plain_client(SocketType::Req, b"u", b"p"),
    ] {
        let mut pair = Pair::new(client, curve_server_config(SocketType::Rep, 2));
        pair.run();
        for peer in [&pair.client, &pair.server] {
            assert!(
                matches!(
                    peer.error,
                    Some(SessionError::PeerIncompatible(
                        Incompatibility::MechanismMismatch { .. }
                    ))
                ),
                "{:?}",
                peer.error
            );
            assert_eq!(
                peer.session.handshake_failure(),
                Some(HandshakeFailure::Protocol(ProtocolError::MechanismMismatch))
            );
        }
    }
}

#[test]
fn curve_framing_matches_libzmq() {
    let mut pair = curve_pair(SocketType::Dealer, SocketType::Router);
    let (client_stream, server_stream) = record(&mut pair);
    assert!(pair.client.ready().is_some() && pair.server.ready().is_some());
    // As-server: 1 for the CURVE server, 0 for the client (RFC 25).
    assert_eq!(&client_stream[12..17], b"CURVE");
    assert_eq!(client_stream[32], 0);
    assert_eq!(server_stream[32], 1);
    let client_frames = frames(&client_stream, true);
    let server_frames = frames(&server_stream, true);
    assert_eq!(client_frames.len(), 2);
    assert_eq!(server_frames.len(), 2);
    // HELLO: a 200-octet command, version 1.0, 72 zero octets, nonce 1.
    let hello = &client_frames[0];
    assert!(hello.command && hello.body.len() == 200);
    assert_eq!(&hello.body[..8], b"\x05HELLO\x01\x00");
    assert!(hello.body[8..80].iter().all(|&b| b == 0));
    assert_eq!(&hello.body[112..120], &1u64.to_be_bytes());
    // WELCOME: 168 octets. INITIATE: a long command frame, nonce 2. READY: nonce 1.
    assert!(server_frames[0].command && server_frames[0].body.len() == 168);
    let initiate = &client_frames[1];
    assert!(initiate.command && initiate.body.starts_with(b"\x08INITIATE"));
    assert_eq!(&initiate.body[105..113], &2u64.to_be_bytes());
    assert_eq!(
        initiate.body.len(),
        113 + 16 + 128 + metadata_len(&pair.client)
    );
    let ready = &server_frames[1];
    assert!(ready.command && ready.body.starts_with(b"\x05READY"));
    assert_eq!(&ready.body[6..14], &1u64.to_be_bytes());
    // MESSAGE: frames without the COMMAND flag, as libzmq 4.3 sends them; the client's first
    // nonce is 3, the server's 2, and each adds 33 octets.
    pair.client.send(Traffic::Message(msg![b"abc"]));
    pair.server.send(Traffic::Message(msg![b"id", b"xyz"]));
    let c = pair.client.output(pair.now);
    let s = pair.server.output(pair.now);
    assert_eq!(&c[..2], &[0x00, 33 + 3]);
    assert_eq!(&c[2..10], b"\x07MESSAGE");
    assert_eq!(&c[10..18], &3u64.to_be_bytes());
    let s_frames = frames(&s, false);
    assert_eq!(s_frames.len(), 2, "one MESSAGE per frame");
    assert!(s_frames.iter().all(|f| !f.command && !f.more));
    assert_eq!(&s_frames[0].body[8..16], &2u64.to_be_bytes());
    assert_eq!(&s_frames[1].body[8..16], &3u64.to_be_bytes());
    pair.server.feed(pair.now, &c);
    pair.client.feed(pair.now, &s);
    assert_eq!(pair.server.traffic(), [Traffic::Message(msg![b"abc"])]);
    assert_eq!(
        pair.client.traffic(),
        [Traffic::Message(msg![b"id", b"xyz"])]
    );
}

/// Octets of a DEALER's metadata with an empty Identity.
fn metadata_len(_client: &Peer) -> usize {
    let mut props = Properties::new();
    props.insert(
        Bytes::from_static(b"Socket-Type"),
        Bytes::from_static(b"DEALER"),
    );
    props.insert(Bytes::from_static(b"Identity"), Bytes::new());
    command::properties_len(&props)
}

#[test]
fn the_same_seeds_give_the_same_bytes_and_other_seeds_other_keys() {
    let run = |client_seed: u8, server_seed: u8| {
        let mut pair = Pair::new(
            curve_client_config(SocketType::Req, server_keys().public, client_seed),
            curve_server_config(SocketType::Rep, server_seed),
        );
        let streams = record(&mut pair);
        assert!(pair.client.ready().is_some());
        streams
    };
    let (c1, s1) = run(1, 2);
    assert_eq!((c1.clone(), s1.clone()), run(1, 2));
    let (c3, s3) = run(3, 2);
    assert_ne!(
        c1[..Greeting::LEN + 202],
        c3[..Greeting::LEN + 202],
        "another C'"
    );
    assert_ne!(s1, s3, "WELCOME seals for another C'");
    let (_, s4) = run(1, 4);
    assert_ne!(s1, s4, "another S' and cookie key");
}

// ---- MESSAGE boxes ------------------------------------------------------------------------------

/// A pair past the handshake, and the client's sealed bytes for `msg`.
fn ready_pair_and_sealed(msg: Msg) -> (Pair, Vec<u8>) {
    let mut pair = curve_pair(SocketType::Dealer, SocketType::Router);
    handshake(&mut pair, allow());
    assert!(pair.server.ready().is_some());
    pair.client.send(Traffic::Message(msg));
    let sealed = pair.client.output(pair.now);
    (pair, sealed)
}

#[test]
fn a_tampered_message_box_kills_the_connection() {
    // Frame: 2 header octets, "\x07MESSAGE" (2..10), the nonce (10..18), the tag (18..34),
    // then the sealed flags and body. A flipped nonce stays above the last one but no
    // longer opens the box, like a flipped tag or ciphertext.
    for at in [10, 17, 20, 34, 2 + 33 + 9] {
        let (mut pair, sealed) = ready_pair_and_sealed(msg![b"pay 10 EUR"]);
        let mut tampered = sealed.clone();
        tampered[at] ^= 0x20;
        pair.server.feed(pair.now, &tampered);
        assert!(pair.server.traffic().is_empty(), "flip at {at}");
        assert_eq!(
            pair.server.error,
            Some(SessionError::CryptoFailed(CryptoFailure::Message)),
            "flip at {at}"
        );
        assert_eq!(
            pair.server.session.handshake_failure(),
            None,
            "after the handshake"
        );
        assert_eq!(
            pair.server
                .error
                .as_ref()
                .map(SessionError::handshake_failure),
            Some(HandshakeFailure::Protocol(ProtocolError::Cryptographic))
        );
        assert_eq!(pair.server.output(pair.now), b"", "no ERROR (RFC 26)");
    }
}

#[test]
fn a_replayed_message_kills_the_connection() {
    let (mut pair, sealed) = ready_pair_and_sealed(msg![b"once"]);
    pair.server.feed(pair.now, &sealed);
    assert_eq!(pair.server.traffic(), [Traffic::Message(msg![b"once"])]);
    pair.server.feed(pair.now, &sealed);
    assert!(pair.server.traffic().is_empty());
    expect_failure(
        &pair.server,
        SessionError::PeerMisbehaved(Misbehaviour::NonceNotIncreasing { nonce: 3, last: 3 }),
        HandshakeFailure::Protocol(ProtocolError::InvalidSequence),
    );
}

#[test]
fn messages_delivered_out_of_order_kill_the_connection() {
    let (mut pair, first) = ready_pair_and_sealed(msg![b"first"]);
    pair.client.send(Traffic::Message(msg![b"second"]));
    let second = pair.client.output(pair.now);
    pair.server.feed(pair.now, &second);
    assert_eq!(pair.server.traffic(), [Traffic::Message(msg![b"second"])]);
    pair.server.feed(pair.now, &first);
    assert_eq!(
        pair.server.error,
        Some(SessionError::PeerMisbehaved(
            Misbehaviour::NonceNotIncreasing { nonce: 3, last: 4 }
        ))
    );
}

#[test]
fn a_clear_command_after_the_handshake_is_refused() {
    let (mut pair, _) = ready_pair_and_sealed(msg![b"x"]);
    pair.server.feed(
        pair.now,
        &command_bytes(&Command::Ping {
            ttl: 0,
            context: Bytes::new(),
        }),
    );
    expect_failure(
        &pair.server,
        SessionError::PeerMisbehaved(Misbehaviour::UnexpectedCommand {
            name: Bytes::from_static(b"PING"),
        }),
        HandshakeFailure::Protocol(ProtocolError::UnexpectedCommand),
    );
    // A clear data frame too.
    let (mut pair, _) = ready_pair_and_sealed(msg![b"x"]);
    pair.server.feed(pair.now, b"\x00\x05hello");
    assert!(matches!(
        pair.server.error,
        Some(SessionError::PeerMisbehaved(
            Misbehaviour::UnexpectedCommand { .. }
        ))
    ));
}

#[test]
fn a_short_message_is_malformed() {
    let (mut pair, sealed) = ready_pair_and_sealed(msg![b""]);
    // Header says 33 octets; cut the box to 16 (no flags octet).
    let mut short = vec![0x00, 32];
    short.extend_from_slice(&sealed[2..34]);
    pair.server.feed(pair.now, &short);
    expect_failure(
        &pair.server,
        SessionError::Malformed(DecodeError::MalformedCommand {
            command: CommandKind::Message,
        }),
        HandshakeFailure::Protocol(ProtocolError::MalformedCommandMessage),
    );
}

#[test]
fn message_boxes_in_command_frames_are_accepted_and_flags_come_from_inside_the_box() {
    let (mut server, client, now) = server_ready_with_scripted_client();
    // COMMAND on the outer frame, MORE inside the box: two frames of one message.
    server.feed(now, &client.message(3, 0x01, b"a", true));
    server.feed(now, &client.message(4, 0x00, b"b", false));
    assert_eq!(server.traffic(), [Traffic::Message(msg![b"a", b"b"])]);
    // COMMAND inside the box: a command (SUBSCRIBE for an XPUB would surface; for a ROUTER a
    // PING is answered with an encrypted PONG).
    server.feed(now, &client.message(5, 0x02, b"\x04PING\x00\x00ctx", false));
    assert!(server.error.is_none(), "{:?}", server.error);
    let out = server.output(now);
    assert!(out.starts_with(b"\x00"), "a MESSAGE frame");
    assert!(!out.windows(4).any(|w| w == b"PONG"), "encrypted");
}

#[test]
fn reserved_bits_in_the_box_flags_are_refused() {
    let (mut server, client, now) = server_ready_with_scripted_client();
    server.feed(now, &client.message(3, 0x04, b"x", false));
    assert_eq!(
        server.error,
        Some(SessionError::Malformed(DecodeError::ReservedFlags {
            flags: 0x04
        }))
    );
}

#[test]
fn decrypted_bodies_share_the_read_buffer() {
    let (mut pair, sealed) = ready_pair_and_sealed(msg![b"zero copy please"]);
    pair.server.rx.extend_from_slice(&sealed);
    let start = pair.server.rx.as_ptr() as usize;
    let end = start + pair.server.rx.len();
    let event = pair
        .server
        .session
        .poll_event(pair.now, &mut pair.server.rx);
    let Ok(Some(SessionEvent::Traffic(Traffic::Message(msg)))) = event else {
        panic!("expected a message, got {event:?}");
    };
    let body = &msg.frames()[0];
    assert_eq!(body, b"zero copy please");
    let at = body.as_ptr() as usize;
    assert!((start..end).contains(&at), "decrypted in place");
}

#[test]
fn max_msg_size_applies_to_decrypted_multipart_messages() {
    // The limit also applies to handshake commands (as in libzmq), and INITIATE takes 257
    // octets or more: 300 leaves room for it.
    let mut server = curve_server_config(SocketType::Router, 2);
    server.max_msg_size = Some(300);
    let mut pair = Pair::new(
        curve_client_config(SocketType::Dealer, server_keys().public, 1),
        server,
    );
    handshake(&mut pair, allow());
    assert!(pair.server.ready().is_some(), "{:?}", pair.server.error);
    // Each frame fits (200 + 33 octets on the wire), the message does not.
    pair.client.send(Traffic::Message(Msg::from_frames([
        Bytes::from(vec![1u8; 200]),
        Bytes::from(vec![2u8; 200]),
    ])));
    pair.run();
    assert_eq!(
        pair.server.error,
        Some(SessionError::Malformed(DecodeError::MessageTooLarge {
            len: 400,
            max: 300
        }))
    );
    // A frame over the limit once sealed is refused from its header, as libzmq does.
    let mut server = curve_server_config(SocketType::Router, 2);
    server.max_msg_size = Some(300);
    let mut pair = Pair::new(
        curve_client_config(SocketType::Dealer, server_keys().public, 1),
        server,
    );
    handshake(&mut pair, allow());
    pair.client
        .send(Traffic::Message(Msg::single(Bytes::from(vec![1u8; 280]))));
    pair.run();
    assert_eq!(
        pair.server.error,
        Some(SessionError::Malformed(DecodeError::FrameTooLarge {
            len: 313,
            max: 300
        }))
    );
}

#[test]
fn heartbeats_travel_encrypted_and_keep_a_curve_connection_alive() {
    let mut client = curve_client_config(SocketType::Dealer, server_keys().public, 1);
    client.heartbeat_interval = Some(Duration::from_secs(1));
    client.heartbeat_timeout = Some(Duration::from_secs(2));
    let mut pair = Pair::new(client, curve_server_config(SocketType::Router, 2));
    handshake(&mut pair, allow());
    for _ in 0..5 {
        pair.advance(Duration::from_secs(1));
        assert_eq!(pair.client.session.handle_timeout(pair.now), Ok(()));
        let ping = pair.client.output(pair.now);
        assert!(ping.starts_with(b"\x00"), "PING inside a MESSAGE");
        assert!(!ping.windows(4).any(|w| w == b"PING"));
        pair.server.feed(pair.now, &ping);
        let pong = pair.server.output(pair.now);
        assert!(!pong.is_empty(), "an encrypted PONG");
        pair.client.feed(pair.now, &pong);
    }
    assert!(pair.client.error.is_none() && pair.server.error.is_none());
}

// ---- HELLO ---------------------------------------------------------------------------------------

#[test]
fn a_truncated_hello_gets_no_welcome() {
    let now = origin();
    let mut server = Peer::new(now, curve_server_config(SocketType::Rep, 2));
    let hello = ScriptedClient::new().hello_frame(1);
    let mut input = curve_greeting(false);
    // The frame header announces 199 octets: the HELLO lost its last one.
    input.extend_from_slice(&[0x04, 199]);
    input.extend_from_slice(&hello[2..201]);
    server.feed(now, &input);
    let out = server.output(now);
    assert_eq!(out.len(), Greeting::LEN, "the greeting and nothing else");
    expect_failure(
        &server,
        SessionError::Malformed(DecodeError::MalformedCommand {
            command: CommandKind::Hello,
        }),
        HandshakeFailure::Protocol(ProtocolError::MalformedCommandHello),
    );
}

#[test]
fn a_hello_without_its_padding_gets_no_welcome() {
    let now = origin();
    let mut server = Peer::new(now, curve_server_config(SocketType::Rep, 2));
    let mut body = Vec::new();
    ScriptedClient::new().hello(1).encode_body(&mut body);
    // Drop the 72 octets of anti-amplification padding: a HELLO smaller than WELCOME.
    let unpadded: Vec<u8> = [&body[..8], &body[80..]].concat();
    let mut input = curve_greeting(false);
    input.extend_from_slice(&frame_bytes(true, &unpadded));
    server.feed(now, &input);
    assert_eq!(server.output(now).len(), Greeting::LEN, "no WELCOME");
    assert_eq!(
        server.error,
        Some(SessionError::Malformed(DecodeError::MalformedCommand {
            command: CommandKind::Hello
        }))
    );
}

#[test]
fn a_hello_for_another_curvezmq_version_is_refused() {
    let now = origin();
    let mut server = Peer::new(now, curve_server_config(SocketType::Rep, 2));
    let mut hello = ScriptedClient::new().hello(1);
    hello.major = 2;
    let mut input = curve_greeting(false);
    hello.encode(&mut input);
    server.feed(now, &input);
    assert_eq!(server.output(now).len(), Greeting::LEN);
    expect_failure(
        &server,
        SessionError::PeerIncompatible(Incompatibility::CurveVersion { major: 2, minor: 0 }),
        HandshakeFailure::Protocol(ProtocolError::MalformedCommandHello),
    );
}

#[test]
fn a_hello_from_a_small_order_key_is_refused() {
    let now = origin();
    let mut server = Peer::new(now, curve_server_config(SocketType::Rep, 2));
    let mut hello = ScriptedClient::new().hello(1);
    hello.client_key = [0; 32];
    let mut input = curve_greeting(false);
    hello.encode(&mut input);
    server.feed(now, &input);
    assert_eq!(server.output(now).len(), Greeting::LEN);
    assert_eq!(
        server.error,
        Some(SessionError::CryptoFailed(CryptoFailure::WeakPeerKey))
    );
}

#[test]
fn a_hello_whose_box_holds_anything_but_zeros_is_refused() {
    let now = origin();
    let mut server = Peer::new(now, curve_server_config(SocketType::Rep, 2));
    let client = ScriptedClient::new();
    let key = BoxKey::precompute(client.server.as_bytes(), client.transient.secret.as_bytes())
        .expect("strong");
    let mut signature = Vec::new();
    key.seal_to(
        &short_nonce(b"CurveZMQHELLO---", 1),
        &[1; 64],
        &mut signature,
    );
    let mut hello = client.hello(1);
    hello.signature = signature.try_into().expect("80 octets");
    let mut input = curve_greeting(false);
    hello.encode(&mut input);
    server.feed(now, &input);
    assert_eq!(
        server.error,
        Some(SessionError::CryptoFailed(CryptoFailure::HelloSignature))
    );
}

#[test]
fn a_client_error_during_the_handshake_is_an_unexpected_command_like_libzmq() {
    let now = origin();
    let mut server = Peer::new(now, curve_server_config(SocketType::Rep, 2));
    let mut input = curve_greeting(false);
    input.extend_from_slice(&command_bytes(&Command::Error {
        reason: Bytes::from_static(b"nope"),
    }));
    server.feed(now, &input);
    assert_eq!(
        server.session.handshake_failure(),
        Some(HandshakeFailure::Protocol(ProtocolError::UnexpectedCommand))
    );
}

// ---- INITIATE ------------------------------------------------------------------------------------

#[test]
fn a_scripted_client_completes_the_handshake() {
    let (server, _, _) = server_ready_with_scripted_client();
    assert!(server.error.is_none());
}

#[test]
fn a_forged_cookie_is_refused() {
    let (mut server, mut client, now) = server_after_welcome();
    client.cookie[20] ^= 0x01;
    server.feed(now, &client.good_initiate(2));
    expect_failure(
        &server,
        SessionError::CryptoFailed(CryptoFailure::Cookie),
        HandshakeFailure::Protocol(ProtocolError::Cryptographic),
    );
    assert_eq!(server.output(now), b"", "no READY");
}

#[test]
fn a_cookie_from_another_connection_is_refused() {
    // Two connections to the same server key; the client plays the first one's cookie (and
    // its short-term keys) to the second.
    let (_, client_a, _) = server_after_welcome();
    let now = origin();
    let mut server_b = Peer::new(now, curve_server_config(SocketType::Router, 10));
    let mut input = curve_greeting(false);
    input.extend_from_slice(&client_a.hello_frame(1));
    server_b.feed(now, &input);
    server_b.output(now);
    server_b.feed(now, &client_a.good_initiate(2));
    assert_eq!(
        server_b.error,
        Some(SessionError::CryptoFailed(CryptoFailure::Cookie))
    );
}

#[test]
fn an_initiate_nonce_not_above_hellos_is_a_replay() {
    let (mut server, client, now) = server_after_welcome();
    server.feed(now, &client.good_initiate(1));
    expect_failure(
        &server,
        SessionError::PeerMisbehaved(Misbehaviour::NonceNotIncreasing { nonce: 1, last: 1 }),
        HandshakeFailure::Protocol(ProtocolError::InvalidSequence),
    );
}

#[test]
fn a_truncated_initiate_is_malformed() {
    let (mut server, client, now) = server_after_welcome();
    let initiate = client.good_initiate(2);
    let body = &frames(&initiate, false)[0].body;
    server.feed(now, &frame_bytes(true, &body[..256]));
    expect_failure(
        &server,
        SessionError::Malformed(DecodeError::MalformedCommand {
            command: CommandKind::Initiate,
        }),
        HandshakeFailure::Protocol(ProtocolError::MalformedCommandInitiate),
    );
}

#[test]
fn an_altered_initiate_box_is_refused() {
    let (mut server, client, now) = server_after_welcome();
    let mut initiate = client.good_initiate(2);
    let last = initiate.len() - 1;
    initiate[last] ^= 0x80;
    server.feed(now, &initiate);
    assert_eq!(
        server.error,
        Some(SessionError::CryptoFailed(CryptoFailure::Initiate))
    );
}

#[test]
fn a_vouch_sealed_with_another_long_term_key_is_refused() {
    let (mut server, client, now) = server_after_welcome();
    let impostor = other_keys();
    server.feed(
        now,
        &client.initiate(
            2,
            concat32(client.transient.public.as_bytes(), client.server.as_bytes()),
            &impostor.secret,
            &metadata(SocketType::Dealer),
        ),
    );
    expect_failure(
        &server,
        SessionError::CryptoFailed(CryptoFailure::Vouch),
        HandshakeFailure::Protocol(ProtocolError::Cryptographic),
    );
    assert!(
        server.auth_request().is_none(),
        "never asks about an unproven key"
    );
}

#[test]
fn a_vouch_for_another_connection_or_server_is_a_key_exchange_failure() {
    for contents in [
        concat32(&[0x99; 32], server_keys().public.as_bytes()),
        concat32(
            ScriptedClient::new().transient.public.as_bytes(),
            other_keys().public.as_bytes(),
        ),
    ] {
        let (mut server, client, now) = server_after_welcome();
        server.feed(
            now,
            &client.initiate(
                2,
                contents,
                &client.keys.secret,
                &metadata(SocketType::Dealer),
            ),
        );
        expect_failure(
            &server,
            SessionError::CryptoFailed(CryptoFailure::VouchMismatch),
            HandshakeFailure::Protocol(ProtocolError::KeyExchange),
        );
    }
}

#[test]
fn initiate_metadata_that_runs_past_the_box_is_invalid_metadata() {
    for bad in [
        // Value length 100, 6 octets present.
        b"\x0bSocket-Type\x00\x00\x00\x64DEALER".to_vec(),
        // Name length 200, 3 octets present.
        b"\xc8abc".to_vec(),
        // Value length 2^32-1.
        b"\x0bSocket-Type\xff\xff\xff\xff".to_vec(),
        // Half a value length.
        b"\x0bSocket-Type\x00\x00".to_vec(),
    ] {
        let (mut server, client, now) = server_after_welcome();
        server.feed(
            now,
            &client.initiate(
                2,
                concat32(client.transient.public.as_bytes(), client.server.as_bytes()),
                &client.keys.secret,
                &bad,
            ),
        );
        expect_failure(
            &server,
            SessionError::Malformed(DecodeError::MalformedProperty),
            HandshakeFailure::Protocol(ProtocolError::InvalidMetadata),
        );
    }
}

#[test]
fn an_incompatible_socket_type_in_initiate_sends_error_before_closing() {
    let (mut server, client, now) = server_after_welcome();
    server.feed(
        now,
        &client.initiate(
            2,
            concat32(client.transient.public.as_bytes(), client.server.as_bytes()),
            &client.keys.secret,
            &metadata(SocketType::Pub),
        ),
    );
    assert!(matches!(
        server.error,
        Some(SessionError::PeerIncompatible(
            Incompatibility::SocketType { .. }
        ))
    ));
    let out = frames(&server.output(now), false);
    assert_eq!(
        Command::from_body(out[0].body.clone()),
        Ok(Command::Error {
            reason: Bytes::from_static(b"Invalid socket type")
        })
    );
}

// ---- the client's side -------------------------------------------------------------------------

/// A client session that has sent HELLO to a scripted server; returns it with the HELLO.
fn client_after_hello() -> (Peer, Hello, Instant) {
    let now = origin();
    let mut client = Peer::new(
        now,
        curve_client_config(SocketType::Dealer, server_keys().public, 1),
    );
    client.feed(now, &curve_greeting(true));
    let out = client.output(now);
    let hello = Hello::decode(&frames(&out, true)[0].body).expect("a HELLO");
    (client, hello, now)
}

/// WELCOME from a scripted server with short-term secret `s_prime`.
fn scripted_welcome(hello: &Hello, s_prime: &CurveSecretKey) -> Vec<u8> {
    let key =
        BoxKey::precompute(&hello.client_key, server_keys().secret.as_bytes()).expect("strong");
    let mut plaintext = s_prime.public_key().as_bytes().to_vec();
    plaintext.extend_from_slice(&[0xC0; 96]); // the client never looks inside the cookie
    let nonce = [0x44; 16];
    let mut sealed = Vec::new();
    key.seal_to(&long_nonce(b"WELCOME-", &nonce), &plaintext, &mut sealed);
    let mut out = Vec::new();
    Welcome {
        nonce,
        sealed: sealed.try_into().expect("144 octets"),
    }
    .encode(&mut out);
    out
}

fn scripted_ready(hello: &Hello, s_prime: &CurveSecretKey, nonce: u64, metadata: &[u8]) -> Vec<u8> {
    let key = BoxKey::precompute(&hello.client_key, s_prime.as_bytes()).expect("strong");
    let mut sealed = Vec::new();
    key.seal_to(
        &short_nonce(b"CurveZMQREADY---", nonce),
        metadata,
        &mut sealed,
    );
    let mut out = Vec::new();
    Ready {
        nonce,
        sealed: Bytes::from(sealed),
    }
    .encode(&mut out);
    out
}

#[test]
fn a_scripted_server_completes_the_client_handshake() {
    let (mut client, hello, now) = client_after_hello();
    let s_prime = CurveSecretKey::from_bytes([0x66; 32]);
    client.feed(now, &scripted_welcome(&hello, &s_prime));
    client.output(now);
    client.feed(
        now,
        &scripted_ready(&hello, &s_prime, 1, &metadata(SocketType::Router)),
    );
    assert_eq!(
        client.ready().map(|h| h.socket_type),
        Some(SocketType::Router)
    );
}

#[test]
fn a_welcome_from_a_server_without_the_expected_key_is_refused() {
    let (mut client, hello, now) = client_after_hello();
    // An impostor cannot seal for C' from S: here it seals from its own key.
    let impostor = other_keys();
    let key = BoxKey::precompute(&hello.client_key, impostor.secret.as_bytes()).expect("strong");
    let mut sealed = Vec::new();
    key.seal_to(&long_nonce(b"WELCOME-", &[1; 16]), &[0; 128], &mut sealed);
    let mut welcome = Vec::new();
    Welcome {
        nonce: [1; 16],
        sealed: sealed.try_into().expect("144"),
    }
    .encode(&mut welcome);
    client.feed(now, &welcome);
    expect_failure(
        &client,
        SessionError::CryptoFailed(CryptoFailure::Welcome),
        HandshakeFailure::Protocol(ProtocolError::Cryptographic),
    );
}

#[test]
fn a_welcome_of_the_wrong_size_is_malformed() {
    let (mut client, hello, now) = client_after_hello();
    let welcome = scripted_welcome(&hello, &CurveSecretKey::from_bytes([0x66; 32]));
    let body = &frames(&welcome, false)[0].body;
    client.feed(now, &frame_bytes(true, &body[..167]));
    expect_failure(
        &client,
        SessionError::Malformed(DecodeError::MalformedCommand {
            command: CommandKind::Welcome,
        }),
        HandshakeFailure::Protocol(ProtocolError::MalformedCommandWelcome),
    );
}

#[test]
fn ready_metadata_that_runs_past_the_box_is_invalid_metadata() {
    let (mut client, hello, now) = client_after_hello();
    let s_prime = CurveSecretKey::from_bytes([0x66; 32]);
    client.feed(now, &scripted_welcome(&hello, &s_prime));
    client.output(now);
    client.feed(
        now,
        &scripted_ready(
            &hello,
            &s_prime,
            1,
            b"\x0bSocket-Type\x00\x00\x01\x00ROUTER",
        ),
    );
    expect_failure(
        &client,
        SessionError::Malformed(DecodeError::MalformedProperty),
        HandshakeFailure::Protocol(ProtocolError::InvalidMetadata),
    );
}

#[test]
fn an_altered_or_short_ready_is_refused() {
    let (mut client, hello, now) = client_after_hello();
    let s_prime = CurveSecretKey::from_bytes([0x66; 32]);
    client.feed(now, &scripted_welcome(&hello, &s_prime));
    client.output(now);
    let mut ready = scripted_ready(&hello, &s_prime, 1, &metadata(SocketType::Router));
    let last = ready.len() - 1;
    ready[last] ^= 1;
    client.feed(now, &ready);
    assert_eq!(
        client.error,
        Some(SessionError::CryptoFailed(CryptoFailure::Ready))
    );

    let (mut client, hello, now) = client_after_hello();
    client.feed(now, &scripted_welcome(&hello, &s_prime));
    client.output(now);
    client.feed(now, &frame_bytes(true, b"\x05READY\0\0\0\0\0\0\0\x01short"));
    assert_eq!(
        client.session.handshake_failure(),
        Some(HandshakeFailure::Protocol(
            ProtocolError::MalformedCommandReady
        ))
    );
}

#[test]
fn server_messages_must_exceed_the_ready_nonce() {
    let (mut client, hello, now) = client_after_hello();
    let s_prime = CurveSecretKey::from_bytes([0x66; 32]);
    client.feed(now, &scripted_welcome(&hello, &s_prime));
    client.output(now);
    client.feed(
        now,
        &scripted_ready(&hello, &s_prime, 5, &metadata(SocketType::Router)),
    );
    assert!(client.ready().is_some());
    // A MESSAGE from the server with nonce 5 (not above READY's).
    let key = BoxKey::precompute(&hello.client_key, s_prime.as_bytes()).expect("strong");
    let mut sealed = Vec::new();
    key.seal_to(&short_nonce(b"CurveZMQMESSAGES", 5), b"\x00hi", &mut sealed);
    let mut body = b"\x07MESSAGE".to_vec();
    body.extend_from_slice(&5u64.to_be_bytes());
    body.extend_from_slice(&sealed);
    client.feed(now, &frame_bytes(false, &body));
    assert_eq!(
        client.error,
        Some(SessionError::PeerMisbehaved(
            Misbehaviour::NonceNotIncreasing { nonce: 5, last: 5 }
        ))
    );
}

#[test]
fn an_error_from_the_server_during_the_handshake_is_reported() {
    let (mut client, _, now) = client_after_hello();
    client.feed(
        now,
        &command_bytes(&Command::Error {
            reason: Bytes::from_static(b"500"),
        }),
    );
    expect_failure(
        &client,
        SessionError::PeerSentError {
            reason: Bytes::from_static(b"500"),
        },
        HandshakeFailure::Auth { status_code: 500 },
    );
}

// ---- configuration -------------------------------------------------------------------------------

#[test]
fn curve_configuration_errors_are_reported_before_anything_is_sent() {
    let mut no_seed = curve_server_config(SocketType::Rep, 1);
    no_seed.rng_seed = None;
    let mut mismatched = curve_server_config(SocketType::Rep, 1);
    mismatched.mechanism = MechanismConfig::CurveServer {
        public: other_keys().public,
        secret: server_keys().secret,
    };
    let weak_server = curve_client_config(SocketType::Req, CurvePublicKey::from_bytes([0; 32]), 1);
    let mut client_mismatch = curve_client_config(SocketType::Req, server_keys().public, 1);
    client_mismatch.mechanism = MechanismConfig::CurveClient {
        server_public: server_keys().public,
        public: server_keys().public,
        secret: client_keys().secret,
    };
    for (config, expected) in [
        (no_seed, ConfigError::MissingRngSeed),
        (mismatched, ConfigError::CurveKeyMismatch),
        (weak_server, ConfigError::WeakCurveKey),
        (client_mismatch, ConfigError::CurveKeyMismatch),
    ] {
        assert_eq!(config.validate(), Err(expected.clone()));
        assert!(matches!(
            Session::try_new(origin(), config.clone()),
            Err(e) if e == expected
        ));
        let mut peer = Peer::new(origin(), config);
        assert_eq!(peer.output(origin()), b"");
        assert_eq!(peer.session.error(), Some(&SessionError::Config(expected)));
    }
}

#[test]
fn the_curve_server_announces_as_server_and_the_name_curve() {
    let keys = server_keys();
    let config = MechanismConfig::CurveServer {
        public: keys.public,
        secret: keys.secret,
    };
    assert!(config.as_server());
    assert_eq!(config.name(), MechanismName::CURVE);
    let keys = client_keys();
    let config = MechanismConfig::CurveClient {
        server_public: server_keys().public,
        public: keys.public,
        secret: keys.secret,
    };
    assert!(!config.as_server());
    assert_eq!(config.name(), MechanismName::CURVE);
}

// ---- properties -----------------------------------------------------------------------------------

#[test]
fn a_recorded_client_stream_cut_anywhere_yields_the_same_server_events() {
    // Sessions are deterministic given their seeds: record what a client sends a server,
    // then replay it to a fresh server with the same seed, cut at arbitrary points.
    let mut pair = curve_pair(SocketType::Dealer, SocketType::Router);
    let (mut stream, _) = record(&mut pair);
    assert!(pair.client.ready().is_some());
    pair.client.send(Traffic::Message(msg![b"one", b"two"]));
    pair.client
        .send(Traffic::Subscribe(Bytes::from_static(b"t")));
    pair.client
        .send(Traffic::Message(Msg::single(Bytes::from(vec![3u8; 5000]))));
    stream.extend(pair.client.output(pair.now));

    let replay = |cuts: &[usize]| {
        let now = origin();
        let mut server = Peer::new(now, curve_server_config(SocketType::Router, 2));
        let mut rest = &stream[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = cuts
                .get(i % cuts.len().max(1))
                .copied()
                .unwrap_or(rest.len())
                % 300
                + 1;
            let (piece, tail) = rest.split_at(n.min(rest.len()));
            server.feed(now, piece);
            if server.auth_request().is_some() && !server.session.is_ready() {
                server.session.handle_auth(now, allow());
                server.poll(now);
            }
            rest = tail;
            i += 1;
        }
        (server.take_events(), server.error)
    };
    let whole = replay(&[usize::MAX - 1]);
    assert!(whole.1.is_none(), "{:?}", whole.1);
    // Authenticate, Ready, and the three pieces of traffic.
    assert_eq!(whole.0.len(), 5);
    let mut g = Gen::new(64);
    for _ in 0..50 {
        let cuts = Vec::<usize>::arbitrary(&mut g);
        assert_eq!(replay(&cuts), whole, "cuts {cuts:?}");
    }
}

/// Which CURVE session a no-panic run drives.
#[derive(Debug, Clone, Copy)]
enum CurveRole {
    Client,
    Server,
    ServerAfterWelcome,
    ServerReady,
}

impl Arbitrary for CurveRole {
    fn arbitrary(g: &mut Gen) -> Self {
        *g.choose(&[
            Self::Client,
            Self::Server,
            Self::ServerAfterWelcome,
            Self::ServerReady,
        ])
        .unwrap_or(&Self::Server)
    }
}

#[test]
fn arbitrary_bytes_never_panic_a_curve_session() {
    fn prop(role: CurveRole, bytes: Vec<u8>, cuts: Vec<usize>, flips: Vec<(u16, u8)>) -> bool {
        let (mut peer, mut clock, prefix) = match role {
            CurveRole::Client => {
                let now = origin();
                let mut config = curve_client_config(SocketType::Dealer, server_keys().public, 1);
                config.max_msg_size = Some(1 << 16);
                (Peer::new(now, config), now, curve_greeting(true))
            }
            CurveRole::Server => {
                let now = origin();
                let mut config = curve_server_config(SocketType::Router, 2);
                config.max_msg_size = Some(1 << 16);
                (Peer::new(now, config), now, curve_greeting(false))
            }
            CurveRole::ServerAfterWelcome => {
                let (server, client, now) = server_after_welcome();
                let mut initiate = client.good_initiate(2);
                for (at, x) in &flips {
                    let len = initiate.len();
                    if let Some(b) = initiate.get_mut(usize::from(*at) % len) {
                        *b ^= x;
                    }
                }
                (server, now, initiate)
            }
            CurveRole::ServerReady => {
                let (server, client, now) = server_ready_with_scripted_client();
                let mut message = client.message(3, 0, &bytes, false);
                for (at, x) in &flips {
                    let len = message.len();
                    if let Some(b) = message.get_mut(usize::from(*at) % len) {
                        *b ^= x;
                    }
                }
                (server, now, message)
            }
        };
        let mut input = prefix;
        input.extend_from_slice(&bytes);
        let mut rest = &input[..];
        let mut i = 0;
        while !rest.is_empty() && peer.error.is_none() {
            let n = cuts
                .get(i % cuts.len().max(1))
                .copied()
                .unwrap_or(rest.len())
                % 64;
            let (piece, tail) = rest.split_at(n.max(1).min(rest.len()));
            peer.feed(clock, piece);
            if peer.auth_request().is_some() {
                peer.session.handle_auth(clock, allow());
                peer.take_events();
            }
            clock += Duration::from_millis(30);
            let _ = peer.session.handle_timeout(clock);
            peer.output(clock);
            rest = tail;
            i += 1;
        }
        if let Some(err) = &peer.error {
            // Closed for good, with the same error.
            let again = peer.session.poll_event(clock, &mut peer.rx);
            return again.as_ref() == Err(err);
        }
        true
    }
    // Each case runs X25519 several times, slow in debug builds; the fuzz target
    // `curve_commands` explores the same ground at length.
    QuickCheck::new()
        .tests(120)
        .quickcheck(prop as fn(CurveRole, Vec<u8>, Vec<usize>, Vec<(u16, u8)>) -> bool);
}

#[test]
fn each_failure_maps_to_libzmqs_monitor_event() {
    use HandshakeFailure::{Auth, Protocol};
    let table = [
        (
            SessionError::CryptoFailed(CryptoFailure::HelloSignature),
            Protocol(ProtocolError::Cryptographic),
        ),
        (
            SessionError::CryptoFailed(CryptoFailure::Cookie),
            Protocol(ProtocolError::Cryptographic),
        ),
        (
            SessionError::CryptoFailed(CryptoFailure::VouchMismatch),
            Protocol(ProtocolError::KeyExchange),
        ),
        (
            SessionError::CryptoFailed(CryptoFailure::WeakPeerKey),
            Protocol(ProtocolError::Cryptographic),
        ),
        (
            SessionError::PeerMisbehaved(Misbehaviour::NonceNotIncreasing { nonce: 1, last: 2 }),
            Protocol(ProtocolError::InvalidSequence),
        ),
        (
            SessionError::PeerIncompatible(Incompatibility::CurveVersion { major: 1, minor: 1 }),
            Protocol(ProtocolError::MalformedCommandHello),
        ),
        (
            SessionError::Malformed(DecodeError::MalformedCommand {
                command: CommandKind::Message,
            }),
            Protocol(ProtocolError::MalformedCommandMessage),
        ),
        (
            SessionError::AuthenticationFailed {
                status_code: 400,
                reason: Bytes::new(),
            },
            Auth { status_code: 400 },
        ),
    ];
    for (error, failure) in table {
        assert_eq!(error.handshake_failure(), failure, "{error}");
    }
    assert_eq!(ProtocolError::Cryptographic.to_raw(), 0x1100_0001);
    assert_eq!(ProtocolError::InvalidSequence.to_raw(), 0x1000_0002);
    assert_eq!(ProtocolError::KeyExchange.to_raw(), 0x1000_0003);
    // Only denials send ERROR; a cryptographic failure closes silently (RFC 26: no ERROR in
    // answer to a bad MESSAGE).
    assert!(!SessionError::CryptoFailed(CryptoFailure::Message).sends_error_command());
}

#[test]
fn a_session_never_sends_a_nonce_twice_across_handshake_and_traffic() {
    let mut pair = curve_pair(SocketType::Dealer, SocketType::Router);
    handshake(&mut pair, allow());
    for i in 0..50u8 {
        pair.client.send(Traffic::Message(msg![&[i][..]]));
    }
    let out = pair.client.output(pair.now);
    let mut nonces: Vec<u64> = frames(&out, false)
        .iter()
        .map(|f| {
            let mut b = f.body.slice(8..16);
            b.get_u64()
        })
        .collect();
    let sorted = {
        let mut s = nonces.clone();
        s.sort_unstable();
        s.dedup();
        s
    };
    assert_eq!(nonces, sorted, "strictly increasing");
    nonces.dedup();
    assert_eq!(nonces.first(), Some(&3));
    assert_eq!(nonces.len(), 50);
}
