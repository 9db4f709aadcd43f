//! Tests for the session: two sessions wired back to back (NULL and PLAIN, whole and chunked
//! delivery), scripted peers for the wire details (libzmq's greeting steps, ZMTP 3.0
//! fallbacks, legacy refusal), heartbeats on a virtual clock, and quickcheck properties.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

use super::*;
use crate::error::{DecodeError, Incompatibility, ProtocolError};
use crate::greeting::Version;
use crate::msg;
use crate::packed::FramePacker;
use crate::txbuf::ZERO_COPY_THRESHOLD;

// ---- harness -------------------------------------------------------------------------------

/// The virtual clock's origin: tests only ever add durations to it.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

/// One endpoint: a session with its two buffers and what it has produced.
struct Peer {
    session: Session,
    rx: BytesMut,
    tx: TxBuf,
    events: Vec<SessionEvent>,
    error: Option<SessionError>,
}

impl Peer {
    fn new(now: Instant, config: SessionConfig) -> Self {
        Self {
            session: Session::new(now, config),
            rx: BytesMut::new(),
            tx: TxBuf::new(),
            events: Vec::new(),
            error: None,
        }
    }

    /// Drains `poll_event`.
    fn poll(&mut self, now: Instant) {
        loop {
            match self.session.poll_event(now, &mut self.rx) {
                Ok(Some(event)) => self.events.push(event),
                Ok(None) => return,
                Err(err) => {
                    self.error = Some(err);
                    return;
                }
            }
        }
    }

    /// Feeds bytes and drains events.
    fn feed(&mut self, now: Instant, bytes: &[u8]) {
        self.rx.put_slice(bytes);
        self.poll(now);
    }

    /// What the session has to send.
    fn output(&mut self, now: Instant) -> Vec<u8> {
        self.session.poll_transmit(now, &mut self.tx);
        let out = self.tx.to_vec();
        self.tx.clear();
        out
    }

    fn send(&mut self, traffic: Traffic) {
        let sent = self.session.send(traffic, &mut self.tx);
        assert_eq!(sent, Ok(()));
    }

    fn take_events(&mut self) -> Vec<SessionEvent> {
        std::mem::take(&mut self.events)
    }

    fn traffic(&mut self) -> Vec<Traffic> {
        self.take_events()
            .into_iter()
            .filter_map(|e| match e {
                SessionEvent::Traffic(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    fn ready(&self) -> Option<&Handshake> {
        self.events.iter().find_map(|e| match e {
            SessionEvent::Ready(h) => Some(h),
            _ => None,
        })
    }

    fn auth_request(&self) -> Option<&AuthRequest> {
        self.events.iter().find_map(|e| match e {
            SessionEvent::Authenticate(r) => Some(r),
            _ => None,
        })
    }
}

/// Two sessions wired back to back, with a virtual clock and optional chunking.
struct Pair {
    now: Instant,
    client: Peer,
    server: Peer,
    /// Deliver at most this many octets per read (0: everything at once).
    chunk: usize,
}

impl Pair {
    fn new(client: SessionConfig, server: SessionConfig) -> Self {
        let now = origin();
        Self {
            now,
            client: Peer::new(now, client),
            server: Peer::new(now, server),
            chunk: 0,
        }
    }

    fn deliver(now: Instant, to: &mut Peer, bytes: &[u8], chunk: usize) {
        if chunk == 0 {
            to.feed(now, bytes);
        } else {
            for piece in bytes.chunks(chunk) {
                to.feed(now, piece);
            }
        }
    }

    /// The server's ZAP answer: allowed as `user_id`; then the handshake runs on.
    fn allow(&mut self, user_id: Bytes) {
        self.server
            .session
            .handle_auth(self.now, AuthResult::Allow { user_id });
        self.server.poll(self.now);
        self.run();
    }

    /// Moves bytes both ways until neither side has anything left to say.
    fn run(&mut self) {
        for _ in 0..1000 {
            let c = self.client.output(self.now);
            let s = self.server.output(self.now);
            if c.is_empty() && s.is_empty() {
                return;
            }
            Self::deliver(self.now, &mut self.server, &c, self.chunk);
            Self::deliver(self.now, &mut self.client, &s, self.chunk);
        }
        panic!("the pair never went quiet");
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
    }
}

fn null(socket_type: SocketType) -> SessionConfig {
    SessionConfig::new(socket_type)
}

fn plain_client(
    socket_type: SocketType,
    user: &'static [u8],
    pass: &'static [u8],
) -> SessionConfig {
    let mut config = SessionConfig::new(socket_type);
    config.mechanism = MechanismConfig::PlainClient {
        username: Bytes::from_static(user),
        password: Bytes::from_static(pass),
    };
    config
}

fn plain_server(socket_type: SocketType) -> SessionConfig {
    let mut config = SessionConfig::new(socket_type);
    config.mechanism = MechanismConfig::PlainServer;
    config
}

fn greeting_bytes(mechanism: MechanismName, minor: u8, as_server: bool) -> Vec<u8> {
    let mut out = Vec::new();
    Greeting {
        version: Version { major: 3, minor },
        mechanism,
        as_server,
    }
    .encode(&mut out);
    out
}

fn ready_bytes(socket_type: SocketType) -> Vec<u8> {
    let mut properties = Properties::new();
    properties.insert(
        Bytes::from_static(b"Socket-Type"),
        Bytes::from_static(socket_type.as_str().as_bytes()),
    );
    let mut out = Vec::new();
    Command::Ready { properties }.encode(&mut out);
    out
}

fn command_bytes(cmd: &Command) -> Vec<u8> {
    let mut out = Vec::new();
    cmd.encode(&mut out);
    out
}

/// A session of `config` that has completed a NULL handshake with a scripted peer of type
/// `peer` speaking ZMTP 3.`minor`; its handshake output is discarded.
fn ready_with_scripted_peer(config: SessionConfig, peer: SocketType, minor: u8) -> (Peer, Instant) {
    let now = origin();
    let mut session = Peer::new(now, config);
    let mut input = greeting_bytes(MechanismName::NULL, minor, false);
    input.extend_from_slice(&ready_bytes(peer));
    session.feed(now, &input);
    assert!(session.ready().is_some(), "{:?}", session.error);
    session.output(now);
    session.take_events();
    (session, now)
}

// ---- greeting --------------------------------------------------------------------------------

#[test]
fn greeting_goes_out_in_libzmqs_three_steps() {
    let now = origin();
    let mut config = null(SocketType::Dealer);
    config.routing_id = Some(Bytes::from_static(b"abc"));
    let mut peer = Peer::new(now, config);
    // 1. The signature, with the routing id's length + 1 as padding, and nothing else.
    assert_eq!(peer.output(now), [0xFF, 0, 0, 0, 0, 0, 0, 0, 4, 0x7F]);
    let greeting = greeting_bytes(MechanismName::NULL, 1, false);
    peer.feed(now, &greeting[..9]);
    assert_eq!(peer.output(now), b"");
    // 2. The major version once the peer's signature is in.
    peer.feed(now, &greeting[9..10]);
    assert_eq!(peer.output(now), [3]);
    // 3. The rest once the peer's major version is in (RFC 37 "Version Negotiation").
    peer.feed(now, &greeting[10..11]);
    let rest = peer.output(now);
    assert_eq!(rest.len(), 53);
    assert_eq!(rest[0], 1, "minor version 1");
    assert_eq!(&rest[1..5], b"NULL");
    assert_eq!(rest[21], 0, "as-server");
    // Then READY as soon as the whole greeting is in.
    peer.feed(now, &greeting[11..]);
    let ready = peer.output(now);
    let mut expected = vec![0x04, 0x2c, 0x05];
    expected.extend_from_slice(b"READY\x0bSocket-Type\x00\x00\x00\x06DEALER");
    expected.extend_from_slice(b"\x08Identity\x00\x00\x00\x03abc");
    assert_eq!(ready, expected);
    assert!(peer.error.is_none());
}

#[test]
fn plain_server_announces_as_server_and_never_requires_it_from_the_client_rfc24() {
    let now = origin();
    let mut server = Peer::new(now, plain_server(SocketType::Rep));
    let mut client = Peer::new(now, plain_client(SocketType::Req, b"u", b"p"));
    let s = server.output(now);
    let c = client.output(now);
    server.feed(now, &c);
    client.feed(now, &s);
    let s = server.output(now);
    let c = client.output(now);
    server.feed(now, &c);
    client.feed(now, &s);
    let s_rest = server.output(now);
    let c_rest = client.output(now);
    // The second step is the major version, the third the 53 octets after it.
    assert_eq!(s_rest.len(), 53);
    assert_eq!(s_rest.get(21), Some(&1), "server sends as-server 1");
    assert_eq!(c_rest.get(21), Some(&0), "client sends as-server 0");
    // A server whose greeting says as-server 0 (as libzmq's does) is still accepted.
    let mut client = Peer::new(now, plain_client(SocketType::Req, b"u", b"p"));
    client.feed(now, &greeting_bytes(MechanismName::PLAIN, 1, false));
    assert!(client.error.is_none());
    assert!(client.output(now).ends_with(b"\x05HELLO\x01u\x01p"));
}

#[test]
fn zmtp_1_0_peer_is_refused_rfc37() {
    let now = origin();
    let mut peer = Peer::new(now, null(SocketType::Dealer));
    // A ZMTP 1.0 identity frame: length 1, flags 0.
    peer.feed(now, &[0x01, 0x00]);
    assert_eq!(
        peer.error,
        Some(SessionError::PeerIncompatible(
            Incompatibility::LegacyVersion { version: 1 }
        ))
    );
    assert_eq!(
        peer.session.handshake_failure(),
        Some(HandshakeFailure::Protocol(ProtocolError::ZmtpUnspecified))
    );
}

#[test]
fn zmtp_2_0_peer_is_refused_at_its_revision_octet_rfc37() {
    let now = origin();
    let mut peer = Peer::new(now, null(SocketType::Dealer));
    peer.feed(now, &[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x05]);
    assert_eq!(
        peer.error,
        Some(SessionError::PeerIncompatible(
            Incompatibility::LegacyVersion { version: 2 }
        ))
    );
}

#[test]
fn legacy_header_cannot_bypass_the_configured_mechanism() {
    // CVE-2014-7202/7203 class: a ZMTP 1.0 or 2.0 header can only ask for NULL security, so
    // a PLAIN (or any) server must refuse it before any message flows.
    let now = origin();
    for header in [
        &[0x05u8, 0x00, b'i', b'd', b'!'][..],
        &[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01],
    ] {
        let mut server = Peer::new(now, plain_server(SocketType::Router));
        server.feed(now, header);
        server.feed(now, b"\x00\x05hello");
        assert!(
            matches!(
                server.error,
                Some(SessionError::PeerIncompatible(
                    Incompatibility::LegacyVersion { .. }
                ))
            ),
            "{:?}",
            server.error
        );
        assert!(server.events.is_empty());
        assert!(!server.session.is_ready());
    }
}

#[test]
fn bad_signature_is_malformed() {
    let now = origin();
    let mut peer = Peer::new(now, null(SocketType::Dealer));
    peer.feed(now, &[0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x41]);
    assert_eq!(
        peer.error,
        Some(SessionError::Malformed(DecodeError::BadSignature))
    );
}

#[test]
fn truncated_greeting_waits_then_times_out() {
    let mut config = null(SocketType::Dealer);
    config.handshake_timeout = Some(Duration::from_secs(5));
    let now = origin();
    let mut peer = Peer::new(now, config);
    let greeting = greeting_bytes(MechanismName::NULL, 1, false);
    peer.feed(now, &greeting[..40]);
    assert!(peer.error.is_none());
    assert_eq!(
        peer.session.poll_timeout(),
        Some(now + Duration::from_secs(5))
    );
    assert_eq!(
        peer.session.handle_timeout(now + Duration::from_secs(4)),
        Ok(())
    );
    assert_eq!(
        peer.session.handle_timeout(now + Duration::from_secs(5)),
        Err(SessionError::HandshakeTimedOut)
    );
    assert_eq!(
        peer.session.handshake_failure(),
        Some(HandshakeFailure::NoDetail)
    );
    // Closed for good: every call reports the same error.
    assert_eq!(
        peer.session.poll_event(now, &mut peer.rx),
        Err(SessionError::HandshakeTimedOut)
    );
    assert_eq!(peer.session.poll_timeout(), None);
}

#[test]
fn mechanism_mismatch_closes_without_error_command_rfc23() {
    let mut pair = Pair::new(null(SocketType::Dealer), plain_server(SocketType::Router));
    pair.run();
    let expected = SessionError::PeerIncompatible(Incompatibility::MechanismMismatch {
        ours: MechanismName::NULL,
        theirs: MechanismName::PLAIN,
    });
    assert_eq!(pair.client.error, Some(expected.clone()));
    assert!(!expected.sends_error_command());
    assert_eq!(
        pair.client.session.handshake_failure(),
        Some(HandshakeFailure::Protocol(ProtocolError::MechanismMismatch))
    );
}

// ---- NULL handshake --------------------------------------------------------------------------

#[test]
fn null_dealer_and_router_complete_the_handshake_rfc23() {
    let mut client = null(SocketType::Dealer);
    client.routing_id = Some(Bytes::from_static(b"client-1"));
    let mut server = null(SocketType::Router);
    server.metadata.insert(
        Bytes::from_static(b"X-Service"),
        Bytes::from_static(b"weather"),
    );
    let mut pair = Pair::new(client, server);
    pair.run();
    assert_eq!(pair.client.error, None);
    assert_eq!(pair.server.error, None);
    let server_view = pair.server.ready().cloned();
    let client_view = pair.client.ready().cloned();
    let server_view = server_view.unwrap_or_else(|| panic!("server not ready"));
    let client_view = client_view.unwrap_or_else(|| panic!("client not ready"));
    assert_eq!(server_view.socket_type, SocketType::Dealer);
    assert_eq!(
        server_view.routing_id,
        Some(Bytes::from_static(b"client-1"))
    );
    assert_eq!(server_view.minor, 1);
    assert_eq!(client_view.socket_type, SocketType::Router);
    assert_eq!(client_view.routing_id, None, "ROUTER sends no Identity");
    assert_eq!(
        client_view.properties.get("x-service").map(|v| &v[..]),
        Some(&b"weather"[..])
    );
    assert!(pair.client.session.is_ready() && pair.server.session.is_ready());
    assert_eq!(pair.client.session.peer_minor_version(), Some(1));
    assert_eq!(
        pair.client.session.poll_timeout(),
        None,
        "no timers once ready"
    );
}

#[test]
fn handshake_completes_with_one_octet_reads() {
    let mut pair = Pair::new(
        plain_client(SocketType::Req, b"admin", b"pw"),
        plain_server(SocketType::Rep),
    );
    pair.chunk = 1;
    pair.run();
    assert!(pair.server.auth_request().is_some());
    pair.allow(Bytes::from_static(b"admin"));
    assert!(pair.client.ready().is_some(), "{:?}", pair.client.error);
    assert!(pair.server.ready().is_some(), "{:?}", pair.server.error);
    pair.client.send(Traffic::Message(msg![b"", b"request"]));
    pair.run();
    assert_eq!(
        pair.server.traffic(),
        [Traffic::Message(msg![b"", b"request"])]
    );
}

#[test]
fn send_is_refused_until_the_peer_ready_arrived() {
    let now = origin();
    let mut peer = Peer::new(now, null(SocketType::Push));
    let traffic = Traffic::Message(msg![b"early"]);
    assert_eq!(
        peer.session.send(traffic.clone(), &mut peer.tx),
        Err(SendNotReady(traffic.clone()))
    );
    // Even with the greeting done and our READY queued, the peer's READY has not arrived.
    peer.feed(now, &greeting_bytes(MechanismName::NULL, 1, false));
    assert!(!peer.session.is_ready());
    let refused = peer.session.send(traffic.clone(), &mut peer.tx);
    assert_eq!(refused.map_err(SendNotReady::into_inner), Err(traffic));
    peer.feed(now, &ready_bytes(SocketType::Pull));
    assert!(peer.session.is_ready());
}

/// RFC 23 traffic encoded in a batch: nothing before the handshake, then the same octets as
/// one `send` per item (subscriptions to a ZMTP 3.1 peer as SUBSCRIBE commands), stopping
/// once the transmit buffer holds the limit and leaving the rest queued in order.
#[test]
fn a_batch_encodes_as_single_sends_and_stops_at_the_limit_rfc23() {
    let queue_of = || -> VecDeque<Traffic> {
        (0..10u8)
            .map(|i| match i {
                3 => Traffic::Subscribe(Bytes::from_static(b"topic")),
                _ => Traffic::Message(Msg::single(vec![i; 100])),
            })
            .collect()
    };
    let now = origin();
    let (mut single, mut batched) = (
        Peer::new(now, null(SocketType::XSub)),
        Peer::new(now, null(SocketType::XSub)),
    );
    let mut queue = queue_of();
    assert_eq!(
        batched
            .session
            .send_batch(&mut queue, &mut batched.tx, usize::MAX),
        0,
        "nothing goes before the handshake"
    );
    assert_eq!(queue.len(), 10);
    for peer in [&mut single, &mut batched] {
        peer.feed(now, &greeting_bytes(MechanismName::NULL, 1, false));
        peer.feed(now, &ready_bytes(SocketType::XPub));
        assert!(peer.session.is_ready());
    }
    for traffic in queue_of() {
        single.send(traffic);
    }
    assert_eq!(
        batched
            .session
            .send_batch(&mut queue, &mut batched.tx, usize::MAX),
        10
    );
    assert!(queue.is_empty());
    assert_eq!(batched.output(now), single.output(now));

    // A limit: items go until the buffer holds at least that much, the rest stay queued.
    let mut queue = queue_of();
    let taken = batched.session.send_batch(&mut queue, &mut batched.tx, 250);
    assert_eq!(taken, 3, "three 102-octet frames reach 250 octets");
    assert_eq!(queue.len(), 7);
    assert_eq!(
        queue.front(),
        Some(&Traffic::Subscribe(Bytes::from_static(b"topic")))
    );
}

/// RFC 23: a packed buffer (`Traffic::Framed`) puts on the wire exactly what sending its
/// messages one by one does, over NULL and PLAIN, whose frames go as they are; the peer
/// receives the messages.
#[test]
fn a_packed_buffer_is_the_messages_frames_on_the_wire_rfc23() {
    let msgs = [
        msg![b"one"],
        msg![b"", b"multi", b"part"],
        Msg::single(vec![3u8; 300]),
    ];
    let ready_pair = |plain: bool| {
        let mut pair = if plain {
            Pair::new(
                plain_client(SocketType::Push, b"u", b"p"),
                plain_server(SocketType::Pull),
            )
        } else {
            Pair::new(null(SocketType::Push), null(SocketType::Pull))
        };
        pair.run();
        if plain {
            pair.allow(Bytes::from_static(b"u"));
        }
        assert!(pair.client.ready().is_some(), "{:?}", pair.client.error);
        pair
    };
    for plain in [false, true] {
        let (mut single, mut packed) = (ready_pair(plain), ready_pair(plain));
        for m in &msgs {
            single.client.send(Traffic::Message(m.clone()));
        }
        let mut packer = FramePacker::new();
        let mut sealed = Vec::new();
        for m in &msgs {
            sealed.extend(packer.push(m));
        }
        sealed.extend(packer.seal());
        for framed in sealed {
            packed.client.send(Traffic::Framed(framed));
        }
        let wire = packed.client.output(packed.now);
        assert_eq!(wire, single.client.output(single.now), "plain: {plain}");
        packed.server.feed(packed.now, &wire);
        assert_eq!(
            packed.server.traffic(),
            msgs.clone().map(Traffic::Message),
            "plain: {plain}"
        );
    }
}

/// `poll_traffic` queues what `poll_event` returns, in order, stops when its queue is full
/// and hands back any other event: fed the same bytes (a greeting, READY, single-frame and
/// multipart messages, a PING between them and a torn frame at the end), both give the same.
#[test]
fn a_traffic_batch_decodes_as_single_polls_and_stops_at_the_limit_rfc23() {
    let now = origin();
    let mut input = greeting_bytes(MechanismName::NULL, 1, false);
    input.extend_from_slice(&ready_bytes(SocketType::Dealer));
    let mut messages = Vec::new();
    for i in 0..6u8 {
        let msg = if i == 2 {
            msg![vec![i; 3], vec![i; 70]]
        } else {
            msg![vec![i; 10]]
        };
        for (n, frame) in msg.frames().iter().enumerate() {
            let more = n + 1 < msg.len();
            let mut header = BytesMut::new();
            put_header(&mut header, more, false, frame.len());
            messages.extend_from_slice(&header);
            messages.extend_from_slice(frame);
        }
        if i == 3 {
            messages.extend_from_slice(&command_bytes(&Command::Ping {
                ttl: 0,
                context: Bytes::new(),
            }));
        }
    }
    messages.extend_from_slice(&[0, 10, 1]);
    input.extend_from_slice(&messages);

    let mut single = Peer::new(now, null(SocketType::Dealer));
    single.feed(now, &input);
    let expected: Vec<Traffic> = single.traffic();
    assert_eq!(expected.len(), 6);

    let mut batched = Peer::new(now, null(SocketType::Dealer));
    batched.rx.put_slice(&input);
    let mut queue = VecDeque::new();
    let first = batched
        .session
        .poll_traffic(now, &mut batched.rx, &mut queue, 4);
    assert!(
        matches!(first, Ok(Some(SessionEvent::Ready(_)))),
        "{first:?}"
    );
    assert!(queue.is_empty(), "READY comes before any traffic");
    assert_eq!(
        batched
            .session
            .poll_traffic(now, &mut batched.rx, &mut queue, 4),
        Ok(None)
    );
    assert_eq!(queue.len(), 4, "stops when the queue holds four");
    assert_eq!(
        batched
            .session
            .poll_traffic(now, &mut batched.rx, &mut queue, usize::MAX),
        Ok(None)
    );
    assert_eq!(Vec::from(queue), expected);
    assert_eq!(batched.rx.len(), 3, "the torn frame waits for its bytes");
}

#[test]
fn our_ready_precedes_the_first_message_even_without_poll_transmit() {
    let now = origin();
    let mut peer = Peer::new(now, null(SocketType::Push));
    let mut input = greeting_bytes(MechanismName::NULL, 1, false);
    input.extend_from_slice(&ready_bytes(SocketType::Pull));
    peer.rx.put_slice(&input);
    peer.poll(now);
    // No poll_transmit yet: send must still put the greeting and READY first.
    peer.send(Traffic::Message(msg![b"m"]));
    let bytes = peer.tx.to_vec();
    assert_eq!(bytes.len(), 64 + 28 + 3);
    assert_eq!(&bytes[64..66], [0x04, 26]);
    assert_eq!(&bytes[bytes.len() - 3..], b"\x00\x01m");
}

#[test]
fn identity_is_sent_only_by_req_dealer_and_router_like_libzmq() {
    for socket_type in SocketType::ALL {
        if socket_type == SocketType::Stream {
            continue;
        }
        let now = origin();
        let mut config = null(socket_type);
        config.routing_id = Some(Bytes::from_static(b"me"));
        let mut peer = Peer::new(now, config);
        peer.feed(now, &greeting_bytes(MechanismName::NULL, 1, false));
        let out = peer.output(now);
        let sends_identity = out.windows(8).any(|w| w == b"Identity");
        assert_eq!(
            sends_identity,
            matches!(
                socket_type,
                SocketType::Req | SocketType::Dealer | SocketType::Router
            ),
            "{socket_type}"
        );
    }
}

#[test]
fn extra_metadata_is_sent_sorted_after_socket_type() {
    let now = origin();
    let mut config = null(SocketType::Pub);
    config
        .metadata
        .insert(Bytes::from_static(b"X-b"), Bytes::from_static(b"2"));
    config
        .metadata
        .insert(Bytes::from_static(b"X-a"), Bytes::from_static(b"1"));
    let mut peer = Peer::new(now, config);
    peer.feed(now, &greeting_bytes(MechanismName::NULL, 1, false));
    let out = peer.output(now);
    let ready = &out[out.len() - (2 + 6 + 12 + 7 + 9 + 9)..];
    assert_eq!(
        ready,
        b"\x04\x2b\x05READY\x0bSocket-Type\x00\x00\x00\x03PUB\x03X-a\x00\x00\x00\x011\x03X-b\x00\x00\x00\x012"
    );
}

#[test]
fn incompatible_socket_type_sends_error_and_closes_rfc23() {
    let mut pair = Pair::new(null(SocketType::Pub), null(SocketType::Push));
    pair.run();
    let expected = SessionError::PeerIncompatible(Incompatibility::SocketType {
        ours: SocketType::Pub,
        theirs: Bytes::from_static(b"PUSH"),
    });
    assert_eq!(pair.client.error, Some(expected.clone()));
    assert!(expected.sends_error_command());
    // Each side refused the other and told it so.
    assert_eq!(
        pair.server
            .error
            .as_ref()
            .map(SessionError::handshake_failure),
        Some(HandshakeFailure::Protocol(ProtocolError::InvalidMetadata))
    );
    assert!(pair.client.ready().is_none() && pair.server.ready().is_none());
}

#[test]
fn error_command_from_the_peer_is_fatal_and_reported_rfc23() {
    let now = origin();
    let mut peer = Peer::new(now, null(SocketType::Req));
    let mut input = greeting_bytes(MechanismName::NULL, 1, false);
    input.extend_from_slice(&command_bytes(&Command::Error {
        reason: Bytes::from_static(b"Invalid socket type"),
    }));
    peer.feed(now, &input);
    assert_eq!(
        peer.error,
        Some(SessionError::PeerSentError {
            reason: Bytes::from_static(b"Invalid socket type")
        })
    );
}

#[test]
fn missing_socket_type_is_refused() {
    let now = origin();
    let mut peer = Peer::new(now, null(SocketType::Req));
    let mut input = greeting_bytes(MechanismName::NULL, 1, false);
    input.extend_from_slice(b"\x04\x06\x05READY");
    peer.feed(now, &input);
    assert_eq!(
        peer.error,
        Some(SessionError::PeerMisbehaved(
            Misbehaviour::MissingSocketType
        ))
    );
    assert!(
        peer.output(now)
            .ends_with(b"\x05ERROR\x13Invalid socket type")
    );
}

#[test]
fn message_before_ready_is_misbehaviour() {
    let now = origin();
    let mut peer = Peer::new(now, null(SocketType::Req));
    let mut input = greeting_bytes(MechanismName::NULL, 1, false);
    input.extend_from_slice(b"\x00\x02hi");
    peer.feed(now, &input);
    assert_eq!(
        peer.error,
        Some(SessionError::PeerMisbehaved(
            Misbehaviour::MessageDuringHandshake
        ))
    );
}

#[test]
fn unexpected_handshake_command_is_misbehaviour() {
    let now = origin();
    let mut peer = Peer::new(now, null(SocketType::Req));
    let mut input = greeting_bytes(MechanismName::NULL, 1, false);
    input.extend_from_slice(&command_bytes(&Command::Welcome));
    peer.feed(now, &input);
    assert_eq!(
        peer.error,
        Some(SessionError::PeerMisbehaved(
            Misbehaviour::UnexpectedCommand {
                name: Bytes::from_static(b"WELCOME")
            }
        ))
    );
}

#[test]
fn null_with_authentication_asks_the_driver_before_sending_ready() {
    let mut server = null(SocketType::Rep);
    server.authenticate = true;
    let mut pair = Pair::new(null(SocketType::Req), server);
    pair.run();
    assert_eq!(
        pair.server.auth_request(),
        Some(&AuthRequest {
            mechanism: "NULL",
            username: None,
            password: None,
            curve_public_key: None,
        })
    );
    assert!(
        pair.client.ready().is_none(),
        "no READY from the server yet"
    );
    pair.allow(Bytes::from_static(b"anonymous"));
    assert!(pair.client.ready().is_some());
    let server_view = pair.server.ready().cloned();
    assert_eq!(
        server_view.and_then(|h| h.properties.get("User-Id").cloned()),
        Some(Bytes::from_static(b"anonymous"))
    );
}

// ---- PLAIN -----------------------------------------------------------------------------------

#[test]
fn plain_handshake_authenticates_then_exchanges_messages_rfc24() {
    let mut pair = Pair::new(
        plain_client(SocketType::Dealer, b"admin", b"secret"),
        plain_server(SocketType::Router),
    );
    pair.run();
    assert_eq!(
        pair.server.auth_request(),
        Some(&AuthRequest {
            mechanism: "PLAIN",
            username: Some(Bytes::from_static(b"admin")),
            password: Some(Bytes::from_static(b"secret")),
            curve_public_key: None,
        })
    );
    assert!(pair.client.ready().is_none() && pair.server.ready().is_none());
    pair.allow(Bytes::from_static(b"admin"));
    let server_view = pair.server.ready().cloned();
    assert_eq!(
        server_view.as_ref().map(|h| h.socket_type),
        Some(SocketType::Dealer)
    );
    assert_eq!(
        server_view.and_then(|h| h.properties.get("User-Id").cloned()),
        Some(Bytes::from_static(b"admin"))
    );
    assert_eq!(
        pair.client.ready().map(|h| h.socket_type),
        Some(SocketType::Router)
    );
    pair.client.send(Traffic::Message(msg![b"hello"]));
    pair.server
        .send(Traffic::Message(msg![b"id", b"", b"world"]));
    pair.run();
    assert_eq!(pair.server.traffic(), [Traffic::Message(msg![b"hello"])]);
    assert_eq!(
        pair.client.traffic(),
        [Traffic::Message(msg![b"id", b"", b"world"])]
    );
}

#[test]
fn plain_denial_sends_the_status_code_and_fails_both_sides() {
    let mut pair = Pair::new(
        plain_client(SocketType::Req, b"eve", b"guess"),
        plain_server(SocketType::Rep),
    );
    pair.run();
    pair.server.session.handle_auth(
        pair.now,
        AuthResult::Deny {
            status_code: 400,
            reason: Bytes::from_static(b"No access"),
        },
    );
    pair.server.poll(pair.now);
    pair.run();
    assert_eq!(
        pair.server.error,
        Some(SessionError::AuthenticationFailed {
            status_code: 400,
            reason: Bytes::from_static(b"No access")
        })
    );
    assert_eq!(
        pair.client.error,
        Some(SessionError::PeerSentError {
            reason: Bytes::from_static(b"400")
        })
    );
    // Both map to libzmq's HANDSHAKE_FAILED_AUTH with status 400.
    for peer in [&pair.client, &pair.server] {
        assert_eq!(
            peer.session.handshake_failure(),
            Some(HandshakeFailure::Auth { status_code: 400 })
        );
    }
}

#[test]
fn plain_temporary_denial_closes_silently_like_libzmq() {
    let now = origin();
    let mut server = Peer::new(now, plain_server(SocketType::Rep));
    let mut input = greeting_bytes(MechanismName::PLAIN, 1, false);
    input.extend_from_slice(&command_bytes(&Command::Hello {
        username: Bytes::from_static(b"u"),
        password: Bytes::from_static(b"p"),
    }));
    server.feed(now, &input);
    server.output(now);
    server.session.handle_auth(
        now,
        AuthResult::Deny {
            status_code: 300,
            reason: Bytes::from_static(b"busy"),
        },
    );
    assert_eq!(server.output(now), b"", "no ERROR for 300");
    server.poll(now);
    assert!(matches!(
        server.error,
        Some(SessionError::AuthenticationFailed {
            status_code: 300,
            ..
        })
    ));
}

#[test]
fn plain_hello_with_an_oversized_username_is_refused() {
    let now = origin();
    let mut server = Peer::new(now, plain_server(SocketType::Rep));
    let mut input = greeting_bytes(MechanismName::PLAIN, 1, false);
    input.extend_from_slice(b"\x04\x0c\x05HELLO\xfaadmin");
    server.feed(now, &input);
    assert_eq!(
        server.error,
        Some(SessionError::Malformed(DecodeError::MalformedCommand {
            command: CommandKind::Hello
        }))
    );
    assert!(server.auth_request().is_none());
    assert_eq!(
        server.session.handshake_failure(),
        Some(HandshakeFailure::Protocol(
            ProtocolError::MalformedCommandHello
        ))
    );
}

#[test]
fn plain_client_credentials_over_255_octets_are_a_config_error() {
    let config = plain_client(SocketType::Req, b"u", b"p");
    let mut long = config.clone();
    long.mechanism = MechanismConfig::PlainClient {
        username: Bytes::from(vec![b'u'; 256]),
        password: Bytes::new(),
    };
    let expected = ConfigError::CredentialTooLong {
        field: "username",
        len: 256,
    };
    assert_eq!(long.validate(), Err(expected.clone()));
    assert!(config.validate().is_ok());
    let now = origin();
    assert_eq!(
        Session::try_new(now, long.clone()).err(),
        Some(expected.clone())
    );
    let mut peer = Peer::new(now, long);
    assert_eq!(peer.output(now), b"", "nothing is sent");
    peer.poll(now);
    assert_eq!(peer.error, Some(SessionError::Config(expected)));
}

#[test]
fn invalid_metadata_names_and_routing_ids_are_config_errors() {
    let mut config = null(SocketType::Dealer);
    config
        .metadata
        .insert(Bytes::from_static(b"Service"), Bytes::new());
    assert_eq!(
        config.validate(),
        Err(ConfigError::BadPropertyName {
            name: Bytes::from_static(b"Service")
        })
    );
    let mut config = null(SocketType::Dealer);
    config.routing_id = Some(Bytes::from(vec![1u8; 256]));
    assert_eq!(
        config.validate(),
        Err(ConfigError::RoutingIdTooLong { len: 256 })
    );
}

// ---- traffic ---------------------------------------------------------------------------------

#[test]
fn multipart_empty_and_large_messages_arrive_intact() {
    let mut pair = Pair::new(null(SocketType::Dealer), null(SocketType::Router));
    pair.run();
    let big = Bytes::from(vec![0x5A; 100_000]);
    let messages = [
        msg![b""],
        msg![b"a", b"", b"c"],
        Msg::from_frames([Bytes::from_static(b"head"), big.clone()]),
        Msg::from_frames(vec![Bytes::from(vec![1u8; 300]); 5]),
    ];
    for m in &messages {
        pair.client.send(Traffic::Message(m.clone()));
    }
    pair.chunk = 777;
    pair.run();
    let got = pair.server.traffic();
    let expected: Vec<Traffic> = messages.iter().cloned().map(Traffic::Message).collect();
    assert_eq!(got, expected);
}

#[test]
fn large_frames_are_sent_without_copying() {
    let (mut peer, _) = ready_with_scripted_peer(null(SocketType::Push), SocketType::Pull, 1);
    let big = Bytes::from(vec![7u8; ZERO_COPY_THRESHOLD * 2]);
    peer.send(Traffic::Message(Msg::single(big.clone())));
    let mut slices = [std::io::IoSlice::new(&[]); 4];
    let n = peer.tx.io_slices(&mut slices);
    assert_eq!(n, 2, "header, then the body as its own chunk");
    assert_eq!(slices[0].len(), 9);
    assert_eq!(slices[1].as_ptr(), big.as_ptr());
}

#[test]
fn received_bodies_share_the_read_buffer() {
    // Bodies of up to `Msg::SMALL_MAX` octets are copied instead (see `small_frames`).
    let (mut peer, now) = ready_with_scripted_peer(null(SocketType::Pull), SocketType::Push, 1);
    peer.rx.put_slice(&[0, 100]);
    peer.rx.put_slice(&[b'x'; 100]);
    let body_ptr = peer.rx[2..].as_ptr();
    peer.poll(now);
    let traffic = peer.traffic();
    let [Traffic::Message(m)] = &traffic[..] else {
        panic!("one message expected: {traffic:?}");
    };
    assert_eq!(m.first().map(|f| f.as_ptr()), Some(body_ptr));
}

#[test]
fn subscriptions_go_as_commands_to_zmtp_3_1_peers_rfc37() {
    let (mut peer, _) = ready_with_scripted_peer(null(SocketType::Sub), SocketType::Pub, 1);
    peer.send(Traffic::Subscribe(Bytes::from_static(b"topic")));
    peer.send(Traffic::Cancel(Bytes::from_static(b"topic")));
    assert_eq!(
        peer.tx.to_vec(),
        b"\x04\x0f\x09SUBSCRIBEtopic\x04\x0c\x06CANCELtopic"
    );
}

#[test]
fn subscriptions_go_as_data_frames_to_zmtp_3_0_peers_rfc23() {
    let (mut peer, _) = ready_with_scripted_peer(null(SocketType::XSub), SocketType::XPub, 0);
    assert_eq!(peer.session.peer_minor_version(), Some(0));
    peer.send(Traffic::Subscribe(Bytes::from_static(b"topic")));
    peer.send(Traffic::Cancel(Bytes::from_static(b"t")));
    assert_eq!(peer.tx.to_vec(), b"\x00\x06\x01topic\x00\x02\x00t");
}

#[test]
fn pub_accepts_subscriptions_in_both_forms_and_drops_other_single_frames() {
    let (mut peer, now) = ready_with_scripted_peer(null(SocketType::Pub), SocketType::Sub, 1);
    let mut input = command_bytes(&Command::Subscribe {
        topic: Bytes::from_static(b"A"),
    });
    input.extend_from_slice(b"\x00\x02\x01B"); // 3.0-style subscribe
    input.extend_from_slice(b"\x00\x02\x00B"); // 3.0-style cancel
    input.extend_from_slice(b"\x00\x02hi"); // not a subscription: PUB drops it
    input.extend_from_slice(b"\x01\x02\x01C\x00\x01x"); // multipart: for the pattern
    input.extend_from_slice(&command_bytes(&Command::Cancel {
        topic: Bytes::from_static(b"A"),
    }));
    peer.feed(now, &input);
    assert_eq!(
        peer.traffic(),
        [
            Traffic::Subscribe(Bytes::from_static(b"A")),
            Traffic::Subscribe(Bytes::from_static(b"B")),
            Traffic::Cancel(Bytes::from_static(b"B")),
            Traffic::Message(msg![b"\x01C", b"x"]),
            Traffic::Cancel(Bytes::from_static(b"A")),
        ]
    );
}

#[test]
fn xpub_keeps_non_subscription_messages() {
    let (mut peer, now) = ready_with_scripted_peer(null(SocketType::XPub), SocketType::XSub, 1);
    peer.feed(now, b"\x00\x02\x01B\x00\x02hi\x00\x00");
    assert_eq!(
        peer.traffic(),
        [
            Traffic::Subscribe(Bytes::from_static(b"B")),
            Traffic::Message(msg![b"hi"]),
            Traffic::Message(msg![b""]),
        ]
    );
}

#[test]
fn other_socket_types_see_0x01_messages_as_messages() {
    let (mut peer, now) = ready_with_scripted_peer(null(SocketType::Pull), SocketType::Push, 1);
    peer.feed(now, b"\x00\x02\x01B");
    assert_eq!(peer.traffic(), [Traffic::Message(msg![b"\x01B"])]);
}

#[test]
fn radio_and_dish_use_join_leave_commands_and_two_frame_messages_rfc37() {
    let mut pair = Pair::new(null(SocketType::Dish), null(SocketType::Radio));
    pair.run();
    pair.client
        .send(Traffic::Join(Bytes::from_static(b"weather")));
    pair.client
        .send(Traffic::Leave(Bytes::from_static(b"news")));
    let sent = pair.client.tx.to_vec();
    assert_eq!(sent, b"\x04\x0c\x04JOINweather\x04\x0a\x05LEAVEnews");
    pair.server
        .send(Traffic::Message(msg![b"weather", b"sunny"]));
    assert_eq!(pair.server.tx.to_vec(), b"\x01\x07weather\x00\x05sunny");
    pair.run();
    assert_eq!(
        pair.server.traffic(),
        [
            Traffic::Join(Bytes::from_static(b"weather")),
            Traffic::Leave(Bytes::from_static(b"news")),
        ]
    );
    assert_eq!(
        pair.client.traffic(),
        [Traffic::Message(msg![b"weather", b"sunny"])]
    );
}

#[test]
fn unknown_and_handshake_commands_after_the_handshake_are_ignored_rfc37() {
    let (mut peer, now) = ready_with_scripted_peer(null(SocketType::Pull), SocketType::Push, 1);
    let mut input = command_bytes(&Command::Unknown {
        name: Bytes::from_static(b"FUTURE"),
        data: Bytes::from_static(b"xyz"),
    });
    input.extend_from_slice(&ready_bytes(SocketType::Push));
    input.extend_from_slice(&command_bytes(&Command::Pong {
        context: Bytes::new(),
    }));
    input.extend_from_slice(b"\x00\x01m");
    peer.feed(now, &input);
    assert_eq!(peer.error, None);
    assert_eq!(peer.traffic(), [Traffic::Message(msg![b"m"])]);
}

#[test]
fn commands_between_frames_of_a_message_do_not_break_it() {
    // libzmq may send a PING between two frames of a multipart message.
    let (mut peer, now) = ready_with_scripted_peer(null(SocketType::Pull), SocketType::Push, 1);
    let mut input = b"\x01\x01a".to_vec();
    input.extend_from_slice(b"\x04\x07\x04PING\x00\x00");
    input.extend_from_slice(b"\x00\x01b");
    peer.feed(now, &input);
    assert_eq!(peer.traffic(), [Traffic::Message(msg![b"a", b"b"])]);
    assert_eq!(peer.output(now), b"\x04\x05\x04PONG");
}

#[test]
fn oversized_frames_and_messages_fail_the_session() {
    let mut config = null(SocketType::Pull);
    config.max_msg_size = Some(100);
    let (mut peer, now) = ready_with_scripted_peer(config, SocketType::Push, 1);
    let mut input = vec![0x02];
    input.extend_from_slice(&(1u64 << 40).to_be_bytes());
    peer.feed(now, &input);
    assert_eq!(
        peer.error,
        Some(SessionError::Malformed(DecodeError::FrameTooLarge {
            len: 1 << 40,
            max: 100
        }))
    );
    assert_eq!(
        peer.session.handshake_failure(),
        None,
        "after the handshake"
    );
}

#[test]
fn frame_length_2_pow_63_fails_the_session_cve_2019_6250() {
    let (mut peer, now) = ready_with_scripted_peer(null(SocketType::Pull), SocketType::Push, 1);
    let mut input = vec![0x02];
    input.extend_from_slice(&u64::MAX.to_be_bytes());
    peer.feed(now, &input);
    assert_eq!(
        peer.error,
        Some(SessionError::Malformed(DecodeError::LengthOutOfRange {
            len: u64::MAX
        }))
    );
}

#[test]
fn error_command_after_the_handshake_is_fatal() {
    let (mut peer, now) = ready_with_scripted_peer(null(SocketType::Pull), SocketType::Push, 1);
    peer.feed(
        now,
        &command_bytes(&Command::Error {
            reason: Bytes::from_static(b"bye"),
        }),
    );
    assert_eq!(
        peer.error,
        Some(SessionError::PeerSentError {
            reason: Bytes::from_static(b"bye")
        })
    );
    let refused = peer
        .session
        .send(Traffic::Message(msg![b"x"]), &mut peer.tx);
    assert!(refused.is_err());
}

#[test]
fn empty_messages_send_nothing() {
    let (mut peer, _) = ready_with_scripted_peer(null(SocketType::Push), SocketType::Pull, 1);
    peer.send(Traffic::Message(Msg::new()));
    assert!(peer.tx.is_empty());
}

// ---- heartbeats (RFC 37 "Connection Heartbeating") ---------------------------------------------

fn heartbeat_config(socket_type: SocketType) -> SessionConfig {
    let mut config = null(socket_type);
    config.heartbeat_interval = Some(Duration::from_secs(1));
    config.heartbeat_ttl = Some(Duration::from_millis(2500));
    config.heartbeat_timeout = Some(Duration::from_secs(3));
    config
}

#[test]
fn pings_go_out_every_interval_with_our_ttl() {
    let (mut peer, t0) =
        ready_with_scripted_peer(heartbeat_config(SocketType::Dealer), SocketType::Router, 1);
    assert_eq!(
        peer.session.poll_timeout(),
        Some(t0 + Duration::from_secs(1))
    );
    assert_eq!(
        peer.session.handle_timeout(t0 + Duration::from_millis(999)),
        Ok(())
    );
    assert_eq!(peer.output(t0), b"");
    let t1 = t0 + Duration::from_secs(1);
    assert_eq!(peer.session.handle_timeout(t1), Ok(()));
    // TTL 2.5 s = 25 tenths.
    assert_eq!(peer.output(t1), b"\x04\x07\x04PING\x00\x19");
    // Next PING in a second; the timeout runs from the first PING.
    assert_eq!(
        peer.session.poll_timeout(),
        Some(t1 + Duration::from_secs(1))
    );
    let t2 = t1 + Duration::from_secs(1);
    assert_eq!(peer.session.handle_timeout(t2), Ok(()));
    assert_eq!(peer.output(t2), b"\x04\x07\x04PING\x00\x19");
}

#[test]
fn silence_after_our_ping_times_out_the_heartbeat() {
    let (mut peer, t0) =
        ready_with_scripted_peer(heartbeat_config(SocketType::Dealer), SocketType::Router, 1);
    let t1 = t0 + Duration::from_secs(1);
    assert_eq!(peer.session.handle_timeout(t1), Ok(()));
    // Later PINGs do not push the deadline armed by the first.
    for later in [2, 3] {
        let now = t0 + Duration::from_secs(later);
        assert_eq!(peer.session.handle_timeout(now), Ok(()));
        assert!(peer.output(now).ends_with(b"PING\x00\x19"));
    }
    assert_eq!(
        peer.session.poll_timeout(),
        Some(t1 + Duration::from_secs(3))
    );
    assert_eq!(
        peer.session.handle_timeout(t1 + Duration::from_secs(3)),
        Err(SessionError::HeartbeatTimedOut)
    );
    assert_eq!(peer.session.handshake_failure(), None);
}

#[test]
fn any_received_bytes_keep_the_connection_alive() {
    let (mut peer, t0) =
        ready_with_scripted_peer(heartbeat_config(SocketType::Dealer), SocketType::Router, 1);
    let mut now = t0;
    // Twelve seconds of PINGs, with one octet of a message arriving every 2 s: never timed out.
    let message = b"\x00\x04ping";
    let mut sent = 0;
    while now < t0 + Duration::from_secs(12) {
        now += Duration::from_millis(500);
        assert_eq!(
            peer.session.handle_timeout(now),
            Ok(()),
            "at {:?}",
            now - t0
        );
        if (now - t0).as_millis() % 2000 == 0 {
            peer.feed(now, &message[sent % message.len()..][..1]);
            sent += 1;
        }
    }
    assert!(peer.error.is_none());
    assert_eq!(peer.traffic(), [Traffic::Message(msg![b"ping"])]);
}

#[test]
fn peer_ping_ttl_times_out_when_nothing_follows_rfc37() {
    let (mut peer, t0) = ready_with_scripted_peer(null(SocketType::Dealer), SocketType::Router, 1);
    // PING with TTL 1.5 s and a context.
    peer.feed(t0, b"\x04\x09\x04PING\x00\x0fab");
    assert_eq!(peer.output(t0), b"\x04\x07\x04PONGab");
    assert_eq!(
        peer.session.poll_timeout(),
        Some(t0 + Duration::from_millis(1500))
    );
    // Traffic renews it.
    let t1 = t0 + Duration::from_secs(1);
    peer.feed(t1, b"\x00\x00");
    assert_eq!(peer.session.poll_timeout(), None);
    peer.feed(t1, b"\x04\x07\x04PING\x00\x0f");
    assert_eq!(
        peer.session
            .handle_timeout(t1 + Duration::from_millis(1499)),
        Ok(())
    );
    assert_eq!(
        peer.session
            .handle_timeout(t1 + Duration::from_millis(1500)),
        Err(SessionError::HeartbeatTimedOut)
    );
}

#[test]
fn pings_from_a_zmtp_3_0_peer_are_answered_but_we_send_none() {
    let (mut peer, t0) =
        ready_with_scripted_peer(heartbeat_config(SocketType::Dealer), SocketType::Router, 0);
    assert_eq!(peer.session.poll_timeout(), None, "no PINGs to a 3.0 peer");
    let context = [b'c'; 20];
    let mut ping = b"\x04\x1b\x04PING\x00\x00".to_vec();
    ping.extend_from_slice(&context);
    peer.feed(t0, &ping);
    // The context echoed, truncated to 16 octets as libzmq does.
    let mut pong = b"\x04\x15\x04PONG".to_vec();
    pong.extend_from_slice(&context[..16]);
    assert_eq!(peer.output(t0), pong);
}

#[test]
fn a_burst_of_pings_gets_one_pong() {
    let (mut peer, t0) = ready_with_scripted_peer(null(SocketType::Dealer), SocketType::Router, 1);
    let mut input = Vec::new();
    for i in 0..100u8 {
        input.extend_from_slice(&command_bytes(&Command::Ping {
            ttl: 0,
            context: Bytes::from(vec![i]),
        }));
    }
    peer.feed(t0, &input);
    assert_eq!(peer.output(t0), b"\x04\x06\x04PONG\x63");
}

#[test]
fn heartbeat_timeout_defaults_to_the_interval_like_libzmq() {
    let mut config = null(SocketType::Dealer);
    config.heartbeat_interval = Some(Duration::from_secs(2));
    let (mut peer, t0) = ready_with_scripted_peer(config, SocketType::Router, 1);
    let t1 = t0 + Duration::from_secs(2);
    assert_eq!(peer.session.handle_timeout(t1), Ok(()));
    assert_eq!(peer.output(t1), b"\x04\x07\x04PING\x00\x00");
    assert_eq!(
        peer.session.handle_timeout(t1 + Duration::from_secs(2)),
        Err(SessionError::HeartbeatTimedOut)
    );
}

#[test]
fn heartbeat_pair_with_a_virtual_clock_times_out_when_one_side_goes_silent() {
    let mut pair = Pair::new(
        heartbeat_config(SocketType::Dealer),
        heartbeat_config(SocketType::Router),
    );
    pair.run();
    // Both alive while bytes flow.
    for _ in 0..10 {
        pair.advance(Duration::from_millis(500));
        assert_eq!(pair.client.session.handle_timeout(pair.now), Ok(()));
        assert_eq!(pair.server.session.handle_timeout(pair.now), Ok(()));
        pair.run();
    }
    // The server stops reading and writing: the client times out 3 s after its next PING.
    let mut timed_out = None;
    for _ in 0..20 {
        pair.advance(Duration::from_millis(500));
        if let Err(err) = pair.client.session.handle_timeout(pair.now) {
            timed_out = Some(err);
            break;
        }
        pair.client.output(pair.now);
    }
    assert_eq!(timed_out, Some(SessionError::HeartbeatTimedOut));
}

// ---- quickcheck --------------------------------------------------------------------------------

/// Traffic a client may send.
#[derive(Debug, Clone)]
enum Sent {
    Traffic(Traffic),
    /// A raw command injected between messages (PING, PONG, unknown, SUBSCRIBE...).
    Raw(Command),
}

fn arb_bytes(g: &mut Gen, max: usize) -> Bytes {
    let len = usize::arbitrary(g) % (max + 1);
    Bytes::from((0..len).map(|_| u8::arbitrary(g)).collect::<Vec<u8>>())
}

impl Arbitrary for Sent {
    fn arbitrary(g: &mut Gen) -> Self {
        match u8::arbitrary(g) % 8 {
            0 => Self::Traffic(Traffic::Subscribe(arb_bytes(g, 20))),
            1 => Self::Traffic(Traffic::Cancel(arb_bytes(g, 20))),
            2 => Self::Raw(Command::Ping {
                ttl: 0,
                context: arb_bytes(g, 16),
            }),
            3 => Self::Raw(Command::Unknown {
                name: Bytes::from_static(b"NOISE"),
                data: arb_bytes(g, 30),
            }),
            _ => {
                let frames = 1 + usize::arbitrary(g) % 4;
                Self::Traffic(Traffic::Message(Msg::from_frames((0..frames).map(|_| {
                    let max = if u8::arbitrary(g) % 10 == 0 { 5000 } else { 40 };
                    arb_bytes(g, max)
                }))))
            }
        }
    }
}

/// Everything a client of `client_type` sends to a ready server of `server_type`: greeting,
/// READY, then `items`.
fn client_stream(client_type: SocketType, server_type: SocketType, items: &[Sent]) -> Vec<u8> {
    let now = origin();
    let mut client = Peer::new(now, null(client_type));
    let mut input = greeting_bytes(MechanismName::NULL, 1, false);
    input.extend_from_slice(&ready_bytes(server_type));
    client.feed(now, &input);
    assert!(client.ready().is_some());
    let mut stream = client.output(now);
    for item in items {
        match item {
            Sent::Traffic(t) => client.send(t.clone()),
            Sent::Raw(cmd) => cmd.encode(client.tx.staging_mut()),
        }
        stream.extend_from_slice(&client.tx.to_vec());
        client.tx.clear();
    }
    stream
}

/// Events of a server fed `stream` in reads of the given sizes (cycled; 0 means 1).
fn server_events(
    server_type: SocketType,
    stream: &[u8],
    cuts: &[usize],
) -> (Vec<SessionEvent>, Option<SessionError>) {
    let now = origin();
    let mut server = Peer::new(now, null(server_type));
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let n = cuts
            .get(i % cuts.len().max(1))
            .copied()
            .unwrap_or(rest.len())
            .max(1)
            .min(rest.len());
        let (piece, tail) = rest.split_at(n);
        server.feed(now, piece);
        rest = tail;
        i += 1;
    }
    (server.events, server.error)
}

#[test]
fn the_same_stream_cut_anywhere_yields_the_same_events() {
    fn prop(items: Vec<Sent>, cuts: Vec<usize>, xpub: bool) -> TestResult {
        let (client_type, server_type) = if xpub {
            (SocketType::XSub, SocketType::XPub)
        } else {
            (SocketType::Dealer, SocketType::Router)
        };
        let stream = client_stream(client_type, server_type, &items);
        let whole = server_events(server_type, &stream, &[]);
        let cuts: Vec<usize> = cuts.into_iter().map(|c| c % 97).collect();
        let chunked = server_events(server_type, &stream, &cuts);
        let one_by_one = server_events(server_type, &stream, &[1]);
        if whole.1.is_some() {
            return TestResult::error(format!("{:?}", whole.1));
        }
        TestResult::from_bool(whole == chunked && whole == one_by_one)
    }
    QuickCheck::new()
        .tests(200)
        .quickcheck(prop as fn(Vec<Sent>, Vec<usize>, bool) -> TestResult);
}

#[test]
fn sent_traffic_is_received_as_sent() {
    fn prop(items: Vec<Sent>) -> bool {
        let stream = client_stream(SocketType::Dealer, SocketType::Router, &items);
        let (events, error) = server_events(SocketType::Router, &stream, &[]);
        let expected: Vec<Traffic> = items
            .iter()
            .filter_map(|i| match i {
                Sent::Traffic(Traffic::Message(m)) if m.is_empty() => None,
                Sent::Traffic(t) => Some(t.clone()),
                Sent::Raw(_) => None,
            })
            .collect();
        let got: Vec<Traffic> = events
            .into_iter()
            .filter_map(|e| match e {
                SessionEvent::Traffic(t) => Some(t),
                _ => None,
            })
            .collect();
        error.is_none() && got == expected
    }
    QuickCheck::new()
        .tests(200)
        .quickcheck(prop as fn(Vec<Sent>) -> bool);
}

/// Which session a no-panic run drives.
#[derive(Debug, Clone, Copy)]
enum Role {
    NullClient,
    NullServerAuth,
    PlainClient,
    PlainServer,
}

impl Arbitrary for Role {
    fn arbitrary(g: &mut Gen) -> Self {
        *g.choose(&[
            Self::NullClient,
            Self::NullServerAuth,
            Self::PlainClient,
            Self::PlainServer,
        ])
        .unwrap_or(&Self::NullClient)
    }
}

#[test]
fn arbitrary_bytes_never_panic_any_session() {
    fn prop(role: Role, valid_prefix: bool, bytes: Vec<u8>, cuts: Vec<usize>) -> bool {
        let now = origin();
        let (mut config, mechanism) = match role {
            Role::NullClient => (null(SocketType::Dealer), MechanismName::NULL),
            Role::NullServerAuth => {
                let mut c = null(SocketType::Router);
                c.authenticate = true;
                (c, MechanismName::NULL)
            }
            Role::PlainClient => (
                plain_client(SocketType::Req, b"u", b"p"),
                MechanismName::PLAIN,
            ),
            Role::PlainServer => (plain_server(SocketType::Rep), MechanismName::PLAIN),
        };
        config.max_msg_size = Some(1 << 16);
        config.heartbeat_interval = Some(Duration::from_millis(100));
        let mut peer = Peer::new(now, config);
        let mut input = Vec::new();
        if valid_prefix {
            input.extend_from_slice(&greeting_bytes(mechanism, 1, false));
            if matches!(role, Role::NullClient | Role::NullServerAuth) {
                input.extend_from_slice(&ready_bytes(SocketType::Dealer));
            }
        }
        input.extend_from_slice(&bytes);
        let mut rest = &input[..];
        let mut i = 0;
        let mut clock = now;
        while !rest.is_empty() && peer.error.is_none() {
            let n = cuts
                .get(i % cuts.len().max(1))
                .copied()
                .unwrap_or(rest.len())
                % 50;
            let (piece, tail) = rest.split_at(n.max(1).min(rest.len()));
            peer.feed(clock, piece);
            if peer.auth_request().is_some() {
                peer.session.handle_auth(
                    clock,
                    AuthResult::Allow {
                        user_id: Bytes::new(),
                    },
                );
                peer.take_events();
            }
            clock += Duration::from_millis(30);
            let _ = peer.session.handle_timeout(clock);
            peer.output(clock);
            rest = tail;
            i += 1;
        }
        true
    }
    QuickCheck::new()
        .tests(1000)
        .quickcheck(prop as fn(Role, bool, Vec<u8>, Vec<usize>) -> bool);
}

#[test]
fn sessions_and_buffers_can_move_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Session>();
    assert_send_sync::<TxBuf>();
    assert_send_sync::<SessionEvent>();
    assert_send_sync::<SessionError>();
}

#[test]
fn plain_client_refuses_ready_before_welcome_rfc24() {
    let now = origin();
    let mut client = Peer::new(now, plain_client(SocketType::Req, b"u", b"p"));
    let mut input = greeting_bytes(MechanismName::PLAIN, 1, true);
    input.extend_from_slice(&ready_bytes(SocketType::Rep));
    client.feed(now, &input);
    assert_eq!(
        client.error,
        Some(SessionError::PeerMisbehaved(
            Misbehaviour::UnexpectedCommand {
                name: Bytes::from_static(b"READY")
            }
        ))
    );
}

#[test]
fn plain_server_refuses_initiate_before_hello_rfc24() {
    let now = origin();
    let mut server = Peer::new(now, plain_server(SocketType::Rep));
    let mut input = greeting_bytes(MechanismName::PLAIN, 1, false);
    input.extend_from_slice(&command_bytes(&Command::Initiate {
        properties: Properties::new(),
    }));
    server.feed(now, &input);
    assert_eq!(
        server.error,
        Some(SessionError::PeerMisbehaved(
            Misbehaviour::UnexpectedCommand {
                name: Bytes::from_static(b"INITIATE")
            }
        ))
    );
    assert_eq!(
        server.session.handshake_failure(),
        Some(HandshakeFailure::Protocol(ProtocolError::UnexpectedCommand))
    );
}

#[test]
fn max_msg_size_also_applies_to_handshake_commands_like_libzmq() {
    let now = origin();
    let mut config = null(SocketType::Dealer);
    config.max_msg_size = Some(16);
    let mut peer = Peer::new(now, config);
    let mut input = greeting_bytes(MechanismName::NULL, 1, false);
    input.extend_from_slice(&ready_bytes(SocketType::Router));
    peer.feed(now, &input);
    assert_eq!(
        peer.error,
        Some(SessionError::Malformed(DecodeError::FrameTooLarge {
            len: 28,
            max: 16
        }))
    );
}

mod curve;
mod small_frames;

/// libzmq 4.3.5's PLAIN server misnames its ERROR command `^RROR` (its C literal
/// `"\x05ERROR"` swallows the `E` into the escape). A refusal must still read as the ZAP
/// status it carries (RFC 27: 400), as libzmq's own client reads it, not as a malformed
/// command.
#[test]
fn plain_client_reads_libzmqs_misnamed_error_as_an_auth_failure_rfc24() {
    let now = origin();
    let mut client = Peer::new(now, plain_client(SocketType::Req, b"u", b"wrong"));
    client.output(now);
    let mut input = greeting_bytes(MechanismName::PLAIN, 1, true);
    // A short command frame as libzmq writes it: `^RROR` (no name length), reason "400".
    input.extend_from_slice(&[0x04, 9, b'^', b'R', b'R', b'O', b'R', 3, b'4', b'0', b'0']);
    client.feed(now, &input);
    let error = client.error.clone().expect("the refusal ends the session");
    assert_eq!(
        error.handshake_failure(),
        HandshakeFailure::Auth { status_code: 400 },
        "{error:?}"
    );
}
