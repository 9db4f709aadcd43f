//! High-water marks, low-water marks and CONFLATE, per socket type.

use super::*;
use crate::SendErrorKind;

#[test]
fn inbound_queue_full_stops_reading_until_drained_to_the_low_water_mark() {
    // libzmq pipe_t: the writer may write again once the reader has read `lwm` messages,
    // lwm = (hwm + 1) / 2.
    let mut s = socket(SocketType::Pull);
    set(&mut s, PatternOption::RcvHwm(4));
    attach(&mut s, P1, SocketType::Push);
    for i in 0..4u8 {
        from_peer(&mut s, P1, msg![[i]]);
    }
    assert!(!s.can_receive_from(P1), "4 queued with RCVHWM 4");
    recv(&mut s);
    assert!(!s.can_receive_from(P1), "1 read, lwm is 2");
    expect_actions!(s, []);
    recv(&mut s);
    expect_actions!(s, [Action::ResumeReceive { peer: P1 }]);
    assert!(s.can_receive_from(P1));
    for i in 4..6u8 {
        from_peer(&mut s, P1, msg![[i]]);
    }
    assert!(!s.can_receive_from(P1));
    let rest: Vec<Msg> = std::iter::from_fn(|| s.recv(now()).ok()).collect();
    assert_eq!(
        rest,
        (2..6u8).map(|i| msg![[i]]).collect::<Vec<_>>(),
        "nothing lost"
    );
}

#[test]
fn default_hwm_is_1000_each_way() {
    let mut s = socket(SocketType::Dealer);
    attach(&mut s, P1, SocketType::Router);
    for _ in 0..1000 {
        send(&mut s, msg![b"x"]);
        from_peer(&mut s, P1, msg![b"y"]);
    }
    assert!(!s.is_writable());
    assert!(!s.can_receive_from(P1));
}

#[test]
fn zero_hwm_means_no_limit() {
    let mut s = socket(SocketType::Push);
    set(&mut s, PatternOption::SndHwm(0));
    attach(&mut s, P1, SocketType::Pull);
    for _ in 0..5000 {
        send(&mut s, msg![b"x"]);
    }
    assert!(s.is_writable());
}

#[test]
fn a_full_peer_rejoins_the_round_robin_after_draining_to_the_low_water_mark() {
    let mut s = socket(SocketType::Push);
    set(&mut s, PatternOption::SndHwm(2));
    attach(&mut s, P1, SocketType::Pull);
    send(&mut s, msg![b"1"]);
    send(&mut s, msg![b"2"]);
    assert!(!s.is_writable());
    assert!(s.poll_transmit(P1).is_some());
    assert!(s.is_writable(), "lwm of 2 is 1: one read reopens");
    send(&mut s, msg![b"3"]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"2"], msg![b"3"]]);
}

#[test]
fn hwm_behaviour_per_socket_type() {
    // PUSH/DEALER block, PUB/XPUB/RADIO drop, ROUTER drops (or refuses under MANDATORY),
    // PAIR/CLIENT/SERVER block: RFC 28-31 and libzmq's lb_t, dist_t, router_t.
    #[derive(Debug, PartialEq)]
    enum Third {
        Blocks,
        Dropped,
    }
    type Case = (SocketType, SocketType, fn() -> Msg, Third);
    let cases: &[Case] = &[
        (
            SocketType::Push,
            SocketType::Pull,
            || msg![b"m"],
            Third::Blocks,
        ),
        (
            SocketType::Dealer,
            SocketType::Router,
            || msg![b"m"],
            Third::Blocks,
        ),
        (
            SocketType::Pair,
            SocketType::Pair,
            || msg![b"m"],
            Third::Blocks,
        ),
        (
            SocketType::Client,
            SocketType::Server,
            || msg![b"m"],
            Third::Blocks,
        ),
        (
            SocketType::Scatter,
            SocketType::Gather,
            || msg![b"m"],
            Third::Blocks,
        ),
        (
            SocketType::Channel,
            SocketType::Channel,
            || msg![b"m"],
            Third::Blocks,
        ),
        (
            SocketType::Pub,
            SocketType::Sub,
            || msg![b"m"],
            Third::Dropped,
        ),
        (
            SocketType::XPub,
            SocketType::Sub,
            || msg![b"m"],
            Third::Dropped,
        ),
        (
            SocketType::Radio,
            SocketType::Dish,
            || msg![b"g", b"m"],
            Third::Dropped,
        ),
        (
            SocketType::Router,
            SocketType::Dealer,
            || msg![b"id", b"m"],
            Third::Dropped,
        ),
        (
            SocketType::XSub,
            SocketType::XPub,
            || msg![b"m"],
            Third::Dropped,
        ),
    ];
    for (t, peer_type, m, expected) in cases {
        let mut s = socket(*t);
        set(&mut s, PatternOption::SndHwm(2));
        attach_as(&mut s, P1, *peer_type, Some(b"id"));
        traffic_from(&mut s, P1, Traffic::Subscribe(b(b"")));
        traffic_from(&mut s, P1, Traffic::Join(b(b"g")));
        send(&mut s, m());
        send(&mut s, m());
        let third = match s.send(now(), m()) {
            Ok(()) => Third::Dropped,
            Err(e) => {
                assert_eq!(e.kind, SendErrorKind::WouldBlock, "{t}");
                Third::Blocks
            }
        };
        assert_eq!(&third, expected, "{t}");
        assert_eq!(
            to_peer(&mut s, P1).len(),
            2,
            "{t}: two queued, nothing more"
        );
    }
}

#[test]
fn conflate_keeps_only_the_newest_message_each_way() {
    // libzmq: CONFLATE takes effect on DEALER, PULL, PUSH, PUB and SUB.
    let mut s = socket(SocketType::Dealer);
    set(&mut s, PatternOption::Conflate(true));
    set(&mut s, PatternOption::SndHwm(1));
    attach(&mut s, P1, SocketType::Router);
    for i in 0..5u8 {
        send(&mut s, msg![[i]]);
        from_peer(&mut s, P1, msg![[i]]);
    }
    assert!(s.is_writable(), "a conflating queue never fills");
    assert_eq!(msgs_to(&mut s, P1), vec![msg![[4u8]]]);
    assert_eq!(recv(&mut s), msg![[4u8]]);
    assert!(!s.is_readable());
}

#[test]
fn conflate_is_accepted_but_ignored_where_libzmq_ignores_it() {
    let mut s = socket(SocketType::Router);
    set(&mut s, PatternOption::Conflate(true));
    attach_as(&mut s, P1, SocketType::Dealer, Some(b"p"));
    from_peer(&mut s, P1, msg![b"1"]);
    from_peer(&mut s, P1, msg![b"2"]);
    assert_eq!(recv(&mut s), msg![b"p", b"1"]);
    assert_eq!(recv(&mut s), msg![b"p", b"2"]);
}

#[test]
fn lowering_the_hwm_applies_to_existing_peers() {
    let mut s = socket(SocketType::Push);
    attach(&mut s, P1, SocketType::Pull);
    set(&mut s, PatternOption::SndHwm(1));
    send(&mut s, msg![b"1"]);
    assert!(!s.is_writable());
}

/// Taking a peer's whole queue at once counts as reading each message: the writer of a full
/// queue is reactivated exactly as by single reads (libzmq's lwm rule), and the items come
/// out in order.
#[test]
fn batch_transmit_reads_in_order_and_reactivates_a_full_writer() {
    let mut s = socket(SocketType::Push);
    set(&mut s, PatternOption::SndHwm(4));
    attach(&mut s, P1, SocketType::Pull);
    let _ = actions(&mut s);
    for i in 0..4u8 {
        send(&mut s, msg![[i]]);
    }
    assert!(!s.is_writable(), "four messages fill a queue of four");
    let mut taken = std::collections::VecDeque::new();
    assert_eq!(s.poll_transmit_batch(P1, &mut taken), 4);
    let bodies: Vec<u8> = taken
        .iter()
        .map(|t| match t {
            Traffic::Message(m) => m.frames()[0][0],
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(bodies, [0, 1, 2, 3]);
    assert!(s.is_writable(), "the reads reopened the queue");
    assert_eq!(
        s.peer_stats(P1).map(|st| (st.queued_out, st.msgs_out)),
        Some((0, 4))
    );
    assert_eq!(s.poll_transmit_batch(P1, &mut taken), 0);
}

/// The room left in a peer's inbound queue counts down to the high-water mark and is zero
/// exactly when the peer cannot receive (libzmq's `check_hwm` on the reader's side).
#[test]
fn receive_room_counts_down_to_the_high_water_mark() {
    let mut s = socket(SocketType::Pull);
    set(&mut s, PatternOption::RcvHwm(3));
    attach(&mut s, P1, SocketType::Push);
    assert_eq!(s.receive_room(P1), 3);
    from_peer(&mut s, P1, msg![b"1"]);
    assert_eq!(s.receive_room(P1), 2);
    from_peer(&mut s, P1, msg![b"2"]);
    from_peer(&mut s, P1, msg![b"3"]);
    assert_eq!(s.receive_room(P1), 0);
    assert!(!s.can_receive_from(P1));
    assert_eq!(s.receive_room(P4), 0, "an unknown peer takes nothing");
}
