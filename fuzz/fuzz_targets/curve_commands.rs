//! CURVE (RFC 25/26): each CURVE command parser over arbitrary bodies, and a CURVE server or
//! client `Session` fed arbitrary chunked input at any point of a real handshake with a peer
//! session, or fed the peer's genuine encrypted traffic with arbitrary octets flipped.
//! Never panics; whatever parses re-encodes to the same octets (HELLO's padding aside); a
//! session that closes stays closed with the same error; a session is never ready twice and
//! never sends before it is ready; unaltered traffic arrives exactly as sent.
//!
//! Input layout: `[mode, flags, seed, ...bytes]`.

#![no_main]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use zmtp_proto::curve::{Hello, Initiate, Message, Ready, Welcome};
use zmtp_proto::{
    AuthResult, CurveKeyPair, MechanismConfig, Msg, RngSeed, Session, SessionConfig, SessionError,
    SessionEvent, SocketType, Traffic, TxBuf,
};

fuzz_target!(|data: &[u8]| {
    let Some((&[mode, flags, seed], input)) = data.split_first_chunk::<3>() else {
        return;
    };
    match mode % 4 {
        0 => parsers(input),
        1 => raw_input(input, flags, seed, Side::Server),
        2 => raw_input(input, flags, seed, Side::Client),
        _ => tampered_traffic(input, flags, seed),
    }
});

/// Every parser over the same body; what parses re-encodes to it.
fn parsers(body: &[u8]) {
    let bytes = Bytes::copy_from_slice(body);
    if let Ok(hello) = Hello::decode(body) {
        let mut out = Vec::new();
        hello.encode_body(&mut out);
        assert_eq!(out.len(), body.len());
        assert_eq!(out[..8], body[..8]);
        assert_eq!(out[80..], body[80..], "all but the padding");
    }
    if let Ok(welcome) = Welcome::decode(body) {
        let mut out = Vec::new();
        welcome.encode_body(&mut out);
        assert_eq!(out, body);
    }
    if let Ok(initiate) = Initiate::decode(&bytes) {
        let mut out = Vec::new();
        initiate.encode_body(&mut out);
        assert_eq!(out, body);
        assert_eq!(initiate.body_len(), body.len());
    }
    if let Ok(ready) = Ready::decode(&bytes) {
        let mut out = Vec::new();
        ready.encode_body(&mut out);
        assert_eq!(out, body);
    }
    if let Ok(message) = Message::decode(&bytes) {
        let mut out = Vec::new();
        message.encode_body(&mut out);
        assert_eq!(out, body);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// libzmq's test key pairs.
fn keys() -> (CurveKeyPair, CurveKeyPair) {
    let server = CurveKeyPair::from_secret(
        "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
            .parse()
            .expect("valid key"),
    );
    let client = CurveKeyPair::from_secret(
        "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
            .parse()
            .expect("valid key"),
    );
    (server, client)
}

/// One endpoint and what it has seen.
struct End {
    session: Session,
    rx: BytesMut,
    tx: TxBuf,
    ready: bool,
    received: Vec<Traffic>,
    error: Option<SessionError>,
}

impl End {
    fn new(now: Instant, config: SessionConfig) -> Self {
        Self {
            session: Session::new(now, config),
            rx: BytesMut::new(),
            tx: TxBuf::new(),
            ready: false,
            received: Vec::new(),
            error: None,
        }
    }

    fn output(&mut self, now: Instant) -> Vec<u8> {
        self.session.poll_transmit(now, &mut self.tx);
        let out = self.tx.to_vec();
        self.tx.clear();
        out
    }

    fn feed(&mut self, now: Instant, bytes: &[u8], deny: bool) {
        self.rx.extend_from_slice(bytes);
        loop {
            match self.session.poll_event(now, &mut self.rx) {
                Ok(Some(SessionEvent::Authenticate(request))) => {
                    assert_eq!(request.mechanism, "CURVE");
                    assert!(request.curve_public_key.is_some());
                    let result = if deny {
                        AuthResult::Deny {
                            status_code: 400,
                            reason: Bytes::from_static(b"no"),
                        }
                    } else {
                        AuthResult::Allow {
                            user_id: Bytes::new(),
                        }
                    };
                    self.session.handle_auth(now, result);
                }
                Ok(Some(SessionEvent::Ready(_))) => {
                    assert!(!self.ready, "ready twice");
                    assert!(self.session.is_ready());
                    self.ready = true;
                }
                Ok(Some(SessionEvent::Traffic(t))) => {
                    assert!(self.ready);
                    self.received.push(t);
                }
                Ok(None) => break,
                Err(err) => {
                    if let Some(previous) = &self.error {
                        assert_eq!(previous, &err, "closed with one error for good");
                    }
                    self.error = Some(err);
                    break;
                }
            }
        }
        if self.error.is_none() && !self.session.is_ready() {
            let refused = self.session.send(
                Traffic::Message(Msg::single(Bytes::from_static(b"early"))),
                &mut self.tx,
            );
            assert!(refused.is_err(), "send before Ready must be refused");
        }
    }
}

/// A CURVE client and server with fixed keys and seeds, as a real pair would be.
fn pair(now: Instant, flags: u8, seed: u8) -> (End, End) {
    let (server_keys, client_keys) = keys();
    let socket_types = [
        (SocketType::Dealer, SocketType::Router),
        (SocketType::Req, SocketType::Rep),
        (SocketType::Sub, SocketType::XPub),
        (SocketType::Push, SocketType::Pull),
    ];
    let (client_type, server_type) = socket_types[usize::from(flags >> 6)];
    let mut client = SessionConfig::new(client_type);
    client.mechanism = MechanismConfig::CurveClient {
        server_public: server_keys.public,
        public: client_keys.public,
        secret: client_keys.secret,
    };
    client.rng_seed = Some(RngSeed::new([seed; 32]));
    client.max_msg_size = (flags & 0x20 != 0).then_some(4096);
    client.heartbeat_interval = Some(Duration::from_millis(40));
    let mut server = SessionConfig::new(server_type);
    server.mechanism = MechanismConfig::CurveServer {
        public: server_keys.public,
        secret: server_keys.secret,
    };
    server.rng_seed = Some(RngSeed::new([seed.wrapping_add(1); 32]));
    server.max_msg_size = client.max_msg_size;
    server.heartbeat_interval = Some(Duration::from_millis(40));
    (End::new(now, client), End::new(now, server))
}

/// Moves bytes both ways for `rounds` rounds.
fn pump(now: Instant, client: &mut End, server: &mut End, rounds: u8, deny: bool) {
    for _ in 0..rounds {
        let c = client.output(now);
        let s = server.output(now);
        server.feed(now, &c, deny);
        client.feed(now, &s, deny);
    }
}

/// Feeds `input` to one side in seeded chunks, with time passing and the timers run.
fn feed_chunked(now: &mut Instant, end: &mut End, input: &[u8], seed: u8) {
    let mut rest = input;
    let mut step = usize::from(seed);
    while !rest.is_empty() {
        step = step.wrapping_mul(31).wrapping_add(7);
        let n = (step % 97 + 1).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        end.feed(*now, piece, false);
        rest = tail;
        *now += Duration::from_millis(step as u64 % 30);
        if let Err(err) = end.session.handle_timeout(*now) {
            if let Some(previous) = &end.error {
                assert_eq!(previous, &err);
            }
            end.error = Some(err);
        }
        end.output(*now);
        if end.error.is_some() {
            assert!(end.session.poll_timeout().is_none());
            break;
        }
    }
    if let Some(err) = &end.error {
        assert_eq!(end.session.poll_event(*now, &mut end.rx).as_ref(), Err(err));
    }
}

/// A real handshake run for some rounds, then arbitrary octets to one side.
fn raw_input(input: &[u8], flags: u8, seed: u8, side: Side) {
    let mut now = Instant::now();
    let (mut client, mut server) = pair(now, flags, seed);
    pump(
        now,
        &mut client,
        &mut server,
        flags & 0x07,
        flags & 0x08 != 0,
    );
    let victim = match side {
        Side::Client => &mut client,
        Side::Server => &mut server,
    };
    feed_chunked(&mut now, victim, input, seed);
}

/// A completed handshake; the client sends messages built from `input`; octets of the
/// sealed stream are flipped where the input says; the server must either receive exactly
/// what was sent or fail with a typed error.
fn tampered_traffic(input: &[u8], flags: u8, seed: u8) {
    let mut now = Instant::now();
    let (mut client, mut server) = pair(now, flags, seed);
    pump(now, &mut client, &mut server, 4, false);
    if !(client.ready && server.ready) {
        return;
    }
    let (flips, payload) = input.split_at(input.len().min(usize::from(flags & 0x07) * 3));
    let mut sent = Vec::new();
    for chunk in payload.split(|&b| b == 0xFF) {
        let frames: Vec<Bytes> = chunk
            .split(|&b| b == 0xFE)
            .map(Bytes::copy_from_slice)
            .collect();
        let traffic = match frames.first().and_then(|f| f.first()) {
            Some(0xFD) if frames.len() == 1 => Traffic::Subscribe(frames[0].slice(1..)),
            _ => Traffic::Message(Msg::from_frames(frames)),
        };
        if client.session.send(traffic.clone(), &mut client.tx).is_ok() {
            sent.push(traffic);
        }
    }
    let mut wire = client.output(now);
    let mut altered = false;
    for flip in flips.chunks_exact(3) {
        if wire.is_empty() {
            break;
        }
        let at = usize::from(u16::from_be_bytes([flip[0], flip[1]])) % wire.len();
        if flip[2] != 0 {
            wire[at] ^= flip[2];
            altered = true;
        }
    }
    feed_chunked(&mut now, &mut server, &wire, seed);
    if !altered && server.error.is_none() {
        let expected: Vec<Traffic> = sent
            .into_iter()
            .filter(|t| !matches!(t, Traffic::Message(m) if m.is_empty()))
            .collect();
        // An XPUB reads single frames starting with 0x01/0x00 as subscriptions.
        if !server_reads_subscriptions(flags) {
            assert_eq!(server.received, expected);
        }
    }
}

fn server_reads_subscriptions(flags: u8) -> bool {
    flags >> 6 == 2
}
