//! Small messages kept inside `Message` (`Message::INLINE_MAX` octets, as libzmq keeps its
//! very small messages inside `zmq_msg_t`): they behave exactly as messages holding `Bytes`,
//! and cross every transport whole and in order, alone or as parts of a multipart message
//! (RFC 23: a message is one or more frames), including when a send must wait for room.

mod common;

use bytes::Bytes;
use common::{Transport, endpoint_for};
use zmq_rs::{Context, DONTWAIT, Error, Message, SNDMORE, Socket};

/// Sizes either side of the inline limit.
const SIZES: [usize; 7] = [0, 1, 33, 63, 64, 65, 200];

fn payload(size: usize, seed: u8) -> Vec<u8> {
    (0..size)
        .map(|i| seed.wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

fn socket(ctx: &Context, t: zmq_rs::SocketType) -> Socket {
    let s = ctx.socket(t).expect("socket");
    s.set_rcvtimeo(5000).expect("rcvtimeo");
    s.set_sndtimeo(5000).expect("sndtimeo");
    s.set_linger(0).expect("linger");
    s
}

#[test]
fn a_small_message_is_kept_inline_and_behaves_as_one_holding_bytes() {
    assert_eq!(Message::INLINE_MAX, 64);
    for size in SIZES {
        let data = payload(size, 7);
        let copied = Message::copy_from(&data);
        let shared = Message::from(Bytes::from(data.clone()));
        assert_eq!(&copied[..], &data[..], "{size} octets: contents");
        assert_eq!(
            copied, shared,
            "{size} octets: equality with the Bytes form"
        );
        assert_eq!(
            format!("{copied:?}"),
            format!("{shared:?}"),
            "{size}: Debug"
        );
        assert_eq!(copied.clone(), shared, "{size} octets: a clone");
        assert_eq!(
            copied.to_bytes(),
            Bytes::from(data.clone()),
            "{size}: to_bytes"
        );
        assert_eq!(copied.as_str().is_some(), shared.as_str().is_some());
        assert!(!copied.get_more());
        let start = &copied as *const Message as usize;
        let inside = (start..start + size_of::<Message>()).contains(&(copied.as_ptr() as usize));
        assert_eq!(
            inside,
            size <= Message::INLINE_MAX,
            "{size} octets: inline exactly up to the limit"
        );
        assert_eq!(copied.into_bytes(), Bytes::from(data), "{size}: into_bytes");
    }
    assert_eq!(Message::from("hello"), Message::from(&b"hello"[..]));
    assert_eq!(
        Message::from(b"hello"),
        Message::from(Bytes::from_static(b"hello"))
    );
}

fn endpoints() -> [String; 3] {
    [
        endpoint_for(Transport::Tcp),
        endpoint_for(Transport::Ipc),
        "inproc://inline-messages".to_owned(),
    ]
}

#[test]
fn inline_messages_cross_every_transport_whole_and_in_order_rfc23() {
    for endpoint in endpoints() {
        let ctx = Context::new();
        let pull = socket(&ctx, zmq_rs::PULL);
        pull.bind(&endpoint).expect("bind");
        let push = socket(&ctx, zmq_rs::PUSH);
        push.connect(&pull.get_last_endpoint().expect("endpoint"))
            .expect("connect");
        for round in 0..50u8 {
            for size in SIZES {
                push.send(Message::copy_from(&payload(size, round)), 0)
                    .expect("send");
            }
            // The same sizes as one multipart message.
            let parts: Vec<Message> = SIZES
                .iter()
                .map(|&size| Message::copy_from(&payload(size, round.wrapping_add(1))))
                .collect();
            let last = parts.len() - 1;
            for (i, part) in parts.into_iter().enumerate() {
                let flags = if i < last { SNDMORE } else { 0 };
                push.send(part, flags).expect("send part");
            }
        }
        for round in 0..50u8 {
            for size in SIZES {
                let got = pull.recv_msg(0).expect("recv");
                assert_eq!(&got[..], &payload(size, round)[..], "{endpoint}: {size}");
                assert!(!got.get_more());
            }
            let parts = pull.recv_multipart(0).expect("recv multipart");
            let expected: Vec<Vec<u8>> = SIZES
                .iter()
                .map(|&size| payload(size, round.wrapping_add(1)))
                .collect();
            assert_eq!(parts, expected, "{endpoint}: multipart, round {round}");
        }
    }
}

/// A send that finds the queue full fails with EAGAIN under DONTWAIT and leaves what was
/// queued alone; a blocking one waits for room (RFC 30: PUSH SHALL block on sending, or
/// return a suitable error). Inline messages take that path like any other.
#[test]
fn an_inline_message_waits_for_room_and_none_is_lost_rfc30() {
    // Connected to before anyone binds: a tcp endpoint needs its port named.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let [_, ipc, inproc] = endpoints();
    for endpoint in [format!("tcp://127.0.0.1:{port}"), ipc, inproc] {
        let ctx = Context::new();
        let push = socket(&ctx, zmq_rs::PUSH);
        push.set_sndhwm(4).expect("sndhwm");
        // Nobody there yet: messages queue for the pending peer until the queue is full.
        push.connect(&endpoint).expect("connect");
        let mut sent = 0u8;
        loop {
            match push.send(Message::copy_from(&payload(64, sent)), DONTWAIT) {
                Ok(()) => sent += 1,
                Err(Error::WouldBlock) => break,
                Err(e) => panic!("{endpoint}: {e}"),
            }
            assert!(sent < 100, "{endpoint}: the high-water mark never applied");
        }
        assert!(sent >= 4, "{endpoint}: only {sent} queued");
        let pull = socket(&ctx, zmq_rs::PULL);
        pull.set_rcvhwm(4).expect("rcvhwm");
        pull.bind(&endpoint).expect("bind");
        // More than both queues hold: these sends wait for the receiver to make room.
        let total = sent + 40;
        let sender = std::thread::spawn(move || {
            for i in sent..total {
                push.send(Message::copy_from(&payload(64, i)), 0)
                    .expect("send");
            }
            push
        });
        for i in 0..total {
            let got = pull.recv_msg(0).expect("recv");
            assert_eq!(&got[..], &payload(64, i)[..], "{endpoint}: message {i}");
        }
        drop(sender.join().expect("sender"));
    }
}

/// Small one-frame messages travel inline through the queues (inproc carries their octets in
/// its queue entries, tcp and ipc receivers copy them out of the read buffer): the types
/// that add or strip envelopes still see whole frames. ROUTER prepends the sender's identity
/// and routes replies by it (RFC 28), REQ and REP add and strip the empty delimiter, SUB
/// matches topics on the first frame (RFC 29).
#[test]
fn inline_messages_keep_their_envelopes_and_topics_rfc28_rfc29() {
    for transport in [Some(Transport::Tcp), Some(Transport::Ipc), None] {
        let fresh = |name: &str| match transport {
            Some(transport) => endpoint_for(transport),
            None => format!("inproc://inline-{name}"),
        };
        let ctx = Context::new();
        let router = socket(&ctx, zmq_rs::ROUTER);
        router.bind(&fresh("router")).expect("bind");
        let endpoint = router.get_last_endpoint().expect("endpoint");
        let dealer = socket(&ctx, zmq_rs::DEALER);
        dealer.set_identity(b"d1").expect("identity");
        dealer.connect(&endpoint).expect("connect");
        for size in SIZES {
            dealer
                .send(Message::copy_from(&payload(size, 1)), 0)
                .expect("send");
            let request = router.recv_multipart(0).expect("recv");
            assert_eq!(request, [b"d1".to_vec(), payload(size, 1)], "{endpoint}");
            router.send(Message::copy_from(b"d1"), SNDMORE).expect("id");
            router
                .send(Message::copy_from(&payload(size, 2)), 0)
                .expect("reply");
            let reply = dealer.recv_msg(0).expect("recv reply");
            assert_eq!(&reply[..], &payload(size, 2)[..], "{endpoint}");
        }
        drop((router, dealer));

        let rep = socket(&ctx, zmq_rs::REP);
        rep.bind(&fresh("rep")).expect("bind");
        let rep_endpoint = rep.get_last_endpoint().expect("endpoint");
        let req = socket(&ctx, zmq_rs::REQ);
        req.connect(&rep_endpoint).expect("connect");
        for size in SIZES {
            req.send(Message::copy_from(&payload(size, 3)), 0)
                .expect("request");
            assert_eq!(rep.recv_multipart(0).expect("recv"), [payload(size, 3)]);
            rep.send(Message::copy_from(&payload(size, 4)), 0)
                .expect("reply");
            assert_eq!(req.recv_multipart(0).expect("recv"), [payload(size, 4)]);
        }
        drop((rep, req));

        let publisher = socket(&ctx, zmq_rs::PUB);
        publisher.bind(&fresh("pub")).expect("bind");
        let pub_endpoint = publisher.get_last_endpoint().expect("endpoint");
        let subscriber = socket(&ctx, zmq_rs::SUB);
        subscriber.set_subscribe(b"keep").expect("subscribe");
        subscriber.set_subscribe(b"probe").expect("subscribe");
        subscriber.connect(&pub_endpoint).expect("connect");
        // Until the subscription has arrived, what is published is dropped.
        loop {
            publisher
                .send(Message::copy_from(b"probe"), 0)
                .expect("publish");
            match subscriber.recv_msg(DONTWAIT) {
                Ok(_) => break,
                Err(Error::WouldBlock) => std::thread::sleep(std::time::Duration::from_millis(5)),
                Err(e) => panic!("{pub_endpoint}: {e}"),
            }
        }
        for i in 0..20u8 {
            publisher
                .send(Message::copy_from(&[b"drop", &[i][..]].concat()), 0)
                .expect("publish");
            publisher
                .send(Message::copy_from(&[b"keep", &[i][..]].concat()), 0)
                .expect("publish");
        }
        // Probes still in flight come first; nothing under "drop" comes at all.
        let kept: Vec<Vec<u8>> = std::iter::from_fn(|| subscriber.recv_bytes(0).ok())
            .filter(|got| got[..] != b"probe"[..])
            .take(20)
            .collect();
        let expected: Vec<Vec<u8>> = (0..20u8).map(|i| [b"keep", &[i][..]].concat()).collect();
        assert_eq!(kept, expected, "{pub_endpoint}");
    }
}
