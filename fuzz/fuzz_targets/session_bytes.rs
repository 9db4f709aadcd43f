//! A whole `Session` fed arbitrary chunked input: both roles, NULL and PLAIN, with and without
//! a valid greeting/handshake prefix so that the fuzzer also reaches the traffic phase, read
//! one event at a time (`poll_event`) or in traffic batches (`poll_traffic`). Never panics;
//! once closed, a session stays closed with the same error; it never sends before it is
//! ready, nor hands up traffic before then.
//!
//! Input layout: `[config, flags, chunk seed, ...bytes]`.

#![no_main]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use zmtp_proto::{
    AuthResult, Command, Greeting, MechanismConfig, MechanismName, Msg, Properties, Session,
    SessionConfig, SessionEvent, SocketType, Traffic, TxBuf,
};

const TYPES: [SocketType; 8] = [
    SocketType::Dealer,
    SocketType::Router,
    SocketType::Pub,
    SocketType::XPub,
    SocketType::Sub,
    SocketType::Radio,
    SocketType::Dish,
    SocketType::Pull,
];

/// The peer type that may talk to `t`.
fn peer_of(t: SocketType) -> SocketType {
    match t {
        SocketType::Dealer => SocketType::Router,
        SocketType::Router => SocketType::Dealer,
        SocketType::Pub | SocketType::XPub => SocketType::Sub,
        SocketType::Sub => SocketType::XPub,
        SocketType::Radio => SocketType::Dish,
        SocketType::Dish => SocketType::Radio,
        _ => SocketType::Push,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&[config_sel, flags, seed], input)) = data.split_first_chunk::<3>() else {
        return;
    };
    let socket_type = TYPES[usize::from(config_sel % 8)];
    let plain = config_sel & 0x08 != 0;
    let server = config_sel & 0x10 != 0;
    let mut config = SessionConfig::new(socket_type);
    config.mechanism = match (plain, server) {
        (false, _) => MechanismConfig::Null,
        (true, true) => MechanismConfig::PlainServer,
        (true, false) => MechanismConfig::PlainClient {
            username: Bytes::from_static(b"admin"),
            password: Bytes::from_static(b"secret"),
        },
    };
    config.authenticate = config_sel & 0x20 != 0;
    config.max_msg_size = (config_sel & 0x40 != 0).then_some(4096);
    config.heartbeat_interval = (config_sel & 0x80 != 0).then_some(Duration::from_millis(20));
    config.heartbeat_ttl = Some(Duration::from_millis(500));
    config.routing_id = Some(Bytes::from_static(b"fuzz"));

    // A valid start, so that arbitrary bytes also land in the handshake and traffic phases.
    let mut stream = Vec::new();
    if flags & 0x01 != 0 {
        let mechanism = if plain {
            MechanismName::PLAIN
        } else {
            MechanismName::NULL
        };
        Greeting {
            version: zmtp_proto::Version {
                major: 3,
                minor: flags >> 7,
            },
            mechanism,
            as_server: !server && plain,
        }
        .encode(&mut stream);
        let mut properties = Properties::new();
        properties.insert(
            Bytes::from_static(b"Socket-Type"),
            Bytes::from_static(peer_of(socket_type).as_str().as_bytes()),
        );
        if !plain {
            Command::Ready { properties }.encode(&mut stream);
        } else if server && flags & 0x02 != 0 {
            Command::Hello {
                username: Bytes::from_static(b"u"),
                password: Bytes::from_static(b"p"),
            }
            .encode(&mut stream);
            Command::Initiate { properties }.encode(&mut stream);
        } else if !server && flags & 0x02 != 0 {
            Command::Welcome.encode(&mut stream);
            Command::Ready { properties }.encode(&mut stream);
        }
    }
    stream.extend_from_slice(input);

    let start = Instant::now();
    let mut now = start;
    let mut session = Session::new(now, config);
    let mut rx = BytesMut::new();
    let mut tx = TxBuf::new();
    let mut rest = &stream[..];
    let mut step = usize::from(seed);
    let mut closed_with = None;
    let batched = flags & 0x08 != 0;
    let mut queue = VecDeque::new();
    while !rest.is_empty() {
        step = step.wrapping_mul(31).wrapping_add(7);
        let n = (step % 64 + 1).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        rx.extend_from_slice(piece);
        rest = tail;
        loop {
            let was_ready = session.is_ready();
            let event = if batched {
                let max = usize::from(seed % 8) + 1;
                let event = session.poll_traffic(now, &mut rx, &mut queue, max);
                assert!(queue.len() <= max);
                assert!(!matches!(event, Ok(Some(SessionEvent::Traffic(_)))));
                if !queue.is_empty() {
                    // Ready before this call: READY ends a batch. The session may have closed
                    // since, on bytes after the traffic (which is not lost).
                    assert!(was_ready);
                    queue.clear();
                    if event == Ok(None) {
                        continue;
                    }
                }
                event
            } else {
                session.poll_event(now, &mut rx)
            };
            match event {
                Ok(Some(SessionEvent::Authenticate(_))) => {
                    let result = if flags & 0x04 != 0 {
                        AuthResult::Deny {
                            status_code: 400,
                            reason: Bytes::from_static(b"no"),
                        }
                    } else {
                        AuthResult::Allow {
                            user_id: Bytes::from_static(b"user"),
                        }
                    };
                    session.handle_auth(now, result);
                }
                Ok(Some(SessionEvent::Ready(handshake))) => {
                    assert!(!was_ready);
                    assert!(session.is_ready());
                    assert!(socket_type.is_compatible_with(handshake.socket_type));
                    let _ = session.send(
                        Traffic::Message(Msg::single(Bytes::from_static(b"hi"))),
                        &mut tx,
                    );
                    let _ = session.send(Traffic::Subscribe(Bytes::from_static(b"t")), &mut tx);
                }
                Ok(Some(SessionEvent::Traffic(_))) => assert!(session.is_ready()),
                Ok(None) => break,
                Err(err) => {
                    if let Some(previous) = &closed_with {
                        assert_eq!(previous, &err);
                    }
                    closed_with = Some(err);
                    break;
                }
            }
        }
        if closed_with.is_none() && !session.is_ready() {
            let refused = session.send(
                Traffic::Message(Msg::single(Bytes::from_static(b"x"))),
                &mut tx,
            );
            assert!(refused.is_err(), "send before Ready must be refused");
        }
        now += Duration::from_millis(step as u64 % 40);
        if let Err(err) = session.handle_timeout(now) {
            if let Some(previous) = &closed_with {
                assert_eq!(previous, &err);
            }
            closed_with = Some(err);
        }
        session.poll_transmit(now, &mut tx);
        tx.advance(tx.len() / 2 + 1);
        if closed_with.is_some() {
            assert!(session.poll_timeout().is_none());
            break;
        }
    }
    if let Some(err) = closed_with {
        assert_eq!(session.poll_event(now, &mut rx), Err(err));
    }
    let _ = start;
});
