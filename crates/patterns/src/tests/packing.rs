//! Outbound queues that pack small messages as their wire frames
//! ([`AttachInfo::packs_frames`]): the same messages, in the same order, under the same
//! high-water mark as an unpacked queue (RFC 30 and libzmq's pipe counters count messages,
//! whatever the queue holds them as).

use std::collections::VecDeque;

use super::*;
use zmtp_proto::Framed;

/// A peer that connected to us over a connection that sends frames as they are.
fn attach_packing(s: &mut Sock, peer: PeerId, peer_type: SocketType) {
    s.handle_peer_attached(
        now(),
        peer,
        AttachInfo {
            packs_frames: true,
            ..AttachInfo::default()
        },
    );
    s.handle_peer_connected(now(), peer, peer_info(peer_type, None))
        .expect("peer accepted");
}

/// What the driver takes for `peer`, packed buffers taken apart again.
fn unpacked_to(s: &mut Sock, peer: PeerId) -> Vec<Traffic> {
    let mut taken = VecDeque::new();
    s.poll_transmit_batch(peer, &mut taken);
    taken
        .into_iter()
        .flat_map(|t| match t {
            Traffic::Framed(framed) => framed.into_messages().map(Traffic::Message).collect(),
            other => vec![other],
        })
        .collect()
}

fn large() -> Msg {
    Msg::single(vec![9u8; zmtp_proto::PACKED_MESSAGE_MAX + 1])
}

#[test]
fn small_messages_are_packed_and_come_out_whole_and_in_order() {
    let mut s = socket(SocketType::Push);
    attach_packing(&mut s, P1, SocketType::Pull);
    expect_actions!(s, []);
    send(&mut s, msg![b"one"]);
    expect_actions!(s, [Action::Transmit { peer: P1 }]);
    send(&mut s, msg![b"two", b"frames"]);
    send(&mut s, msg![b""]);
    expect_actions!(s, []);
    let mut taken = VecDeque::new();
    assert_eq!(s.poll_transmit_batch(P1, &mut taken), 1, "one buffer");
    let Some(Traffic::Framed(framed)) = taken.pop_front() else {
        panic!("a packed buffer");
    };
    assert_eq!(framed.messages(), 3);
    assert_eq!(
        framed.into_messages().collect::<Vec<_>>(),
        [msg![b"one"], msg![b"two", b"frames"], msg![b""]]
    );
}

/// A message too large to pack, and commands, go between packed buffers in their place.
#[test]
fn large_messages_and_subscriptions_keep_their_place_between_packed_ones() {
    let mut s = socket(SocketType::XSub);
    attach_packing(&mut s, P1, SocketType::XPub);
    let _ = actions(&mut s);
    send(&mut s, msg![b"a"]);
    send(&mut s, large());
    send(&mut s, msg![b"b"]);
    send(&mut s, msg![b"\x01topic"]);
    send(&mut s, msg![b"c"]);
    let mut taken = VecDeque::new();
    s.poll_transmit_batch(P1, &mut taken);
    let kinds: Vec<&str> = taken
        .iter()
        .map(|t| match t {
            Traffic::Framed(_) => "packed",
            Traffic::Message(_) => "message",
            Traffic::Subscribe(_) => "subscribe",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["packed", "message", "packed", "subscribe", "packed"]
    );
    let mut s2 = socket(SocketType::XSub);
    attach_packing(&mut s2, P1, SocketType::XPub);
    for m in [
        msg![b"a"],
        large(),
        msg![b"b"],
        msg![b"\x01topic"],
        msg![b"c"],
    ] {
        send(&mut s2, m);
    }
    assert_eq!(
        unpacked_to(&mut s2, P1),
        [
            Traffic::Message(msg![b"a"]),
            Traffic::Message(large()),
            Traffic::Message(msg![b"b"]),
            Traffic::Subscribe(b(b"topic")),
            Traffic::Message(msg![b"c"]),
        ]
    );
}

/// RFC 30: a PUSH blocks (here: refuses) once the peer's queue holds SNDHWM messages;
/// packed ones count one each, and taking them reopens the queue as single reads would.
#[test]
fn packed_messages_count_one_each_against_the_high_water_mark() {
    let mut s = socket(SocketType::Push);
    set(&mut s, PatternOption::SndHwm(4));
    attach_packing(&mut s, P1, SocketType::Pull);
    for i in 0..4u8 {
        send(&mut s, msg![[i]]);
    }
    assert!(
        !s.is_writable(),
        "four packed messages fill a queue of four"
    );
    assert!(s.send(now(), msg![b"x"]).is_err());
    assert_eq!(s.peer_stats(P1).map(|st| st.queued_out), Some(4));
    let out = unpacked_to(&mut s, P1);
    assert_eq!(out.len(), 4);
    assert!(s.is_writable(), "taking them reopened the queue");
    assert_eq!(
        s.peer_stats(P1)
            .map(|st| (st.queued_out, st.msgs_out, st.bytes_out)),
        Some((0, 4, 4))
    );
}

/// One item at a time (`poll_transmit`) hands out a whole packed buffer and counts every
/// message in it.
#[test]
fn single_takes_count_every_message_of_a_packed_buffer() {
    let mut s = socket(SocketType::Push);
    set(&mut s, PatternOption::SndHwm(2));
    attach_packing(&mut s, P1, SocketType::Pull);
    send(&mut s, msg![b"1"]);
    send(&mut s, msg![b"2"]);
    assert!(!s.is_writable());
    match s.poll_transmit(P1) {
        Some(Traffic::Framed(framed)) => assert_eq!(framed.messages(), 2),
        other => panic!("expected a packed buffer, got {other:?}"),
    }
    assert!(s.is_writable());
    assert_eq!(s.poll_transmit(P1), None);
}

/// libzmq's `hiccup` (an XSUB reconnecting) drops what was queued, packed or not, and
/// queues the subscriptions again; the flow counters forget the dropped messages exactly as
/// for an unpacked queue.
#[test]
fn clearing_a_queue_drops_what_was_packed() {
    let script = |packs_frames: bool| {
        let mut s = socket(SocketType::XSub);
        set(&mut s, PatternOption::SndHwm(3));
        s.handle_peer_attached(
            now(),
            P1,
            AttachInfo {
                locally_initiated: true,
                packs_frames,
                ..AttachInfo::default()
            },
        );
        connected(&mut s, P1, SocketType::XPub);
        send(&mut s, msg![b"\x01a"]);
        send(&mut s, msg![b"m1"]);
        send(&mut s, msg![b"m2"]);
        assert_eq!(s.peer_stats(P1).map(|st| st.queued_out), Some(3));
        s.handle_peer_disconnected(now(), P1);
        connected(&mut s, P1, SocketType::XPub);
        let mut out = unpacked_to(&mut s, P1);
        // XSUB drops what does not fit the queue.
        for m in [msg![b"m3"], msg![b"m4"], msg![b"m5"], msg![b"m6"]] {
            send(&mut s, m);
        }
        out.extend(unpacked_to(&mut s, P1));
        out
    };
    let unpacked = script(false);
    assert_eq!(
        unpacked[..2],
        [Traffic::Subscribe(b(b"a")), Traffic::Message(msg![b"m3"])],
        "m1 and m2 dropped"
    );
    assert_eq!(script(true), unpacked);
}

/// CONFLATE keeps one message per queue: nothing to pack.
#[test]
fn a_conflating_queue_never_packs() {
    let mut s = socket(SocketType::Push);
    set(&mut s, PatternOption::Conflate(true));
    attach_packing(&mut s, P1, SocketType::Pull);
    send(&mut s, msg![b"old"]);
    send(&mut s, msg![b"new"]);
    assert_eq!(to_peer(&mut s, P1), [Traffic::Message(msg![b"new"])]);
}

/// Packed buffers only go out: one handed in as traffic is dropped, not half delivered.
#[test]
fn a_packed_buffer_received_as_traffic_is_dropped() {
    let mut s = socket(SocketType::Pull);
    attach(&mut s, P1, SocketType::Push);
    let mut packer = zmtp_proto::FramePacker::new();
    packer.push(&msg![b"x"]);
    let framed: Framed = packer.seal().expect("packed");
    traffic_from(&mut s, P1, Traffic::Framed(framed));
    assert!(!s.is_readable());
    from_peer(&mut s, P1, msg![b"y"]);
    assert_eq!(recv(&mut s), msg![b"y"]);
}
