//! Draft types: CLIENT/SERVER (RFC 41), RADIO/DISH (RFC 48), SCATTER/GATHER (RFC 49), PEER
//! (RFC 51).

use super::*;
use crate::{DetachReason, OptionError, RecvError, SendErrorKind};

fn routed(body: &[u8], id: u32) -> Msg {
    let mut m = msg![body];
    m.set_routing_id(id);
    m
}

#[test]
fn server_stamps_routing_ids_and_routes_replies_by_them() {
    // RFC 41 SERVER: "SHALL provide the application with an API to retrieve the message
    // routing-id" and "SHALL route the message to the outgoing queue if that queue exists".
    let mut s = socket_seeded(SocketType::Server, 10);
    attach(&mut s, P1, SocketType::Client);
    attach(&mut s, P2, SocketType::Client);
    from_peer(&mut s, P2, msg![b"from 2"]);
    let m = recv(&mut s);
    assert_eq!(m.frames(), [&b"from 2"[..]]);
    assert_eq!(m.routing_id(), 11);
    assert_eq!(s.routing_id_of(P2), Some(b(&11u32.to_be_bytes())));
    send(&mut s, routed(b"reply", 11));
    let out = msgs_to(&mut s, P2);
    assert_eq!(
        out,
        vec![msg![b"reply"]],
        "routing id cleared on the way out"
    );
    assert!(to_peer(&mut s, P1).is_empty());
}

#[test]
fn server_refuses_unknown_routing_ids_and_multipart_messages() {
    // RFC 41 SERVER: "SHALL return an error if the queue does not exist" and "MUST NOT send
    // multi-part messages".
    let mut s = socket_seeded(SocketType::Server, 10);
    attach(&mut s, P1, SocketType::Client);
    let err = s.send(now(), routed(b"x", 99)).expect_err("unknown");
    assert_eq!(err.kind, SendErrorKind::HostUnreachable);
    let mut multi = msg![b"a", b"b"];
    multi.set_routing_id(10);
    let err = s.send(now(), multi).expect_err("multipart");
    assert_eq!(err.kind, SendErrorKind::InvalidMessage);
    from_peer(&mut s, P1, msg![b"a", b"b"]);
    assert!(
        !s.is_readable(),
        "RFC 41: MUST discard any part of a multipart message"
    );
}

#[test]
fn server_blocks_on_a_full_peer() {
    // RFC 41 SERVER: "SHALL block on sending, if the queue is full".
    let mut s = socket_seeded(SocketType::Server, 1);
    set(&mut s, PatternOption::SndHwm(1));
    attach(&mut s, P1, SocketType::Client);
    send(&mut s, routed(b"1", 1));
    let err = s.send(now(), routed(b"2", 1)).expect_err("full");
    assert_eq!(err.kind, SendErrorKind::WouldBlock);
}

#[test]
fn server_routing_ids_are_never_zero() {
    // RFC 41: "a non-zero 32-bit unsigned integer value".
    let mut s = socket_seeded(SocketType::Server, u32::MAX);
    attach(&mut s, P1, SocketType::Client);
    attach(&mut s, P2, SocketType::Client);
    assert_eq!(s.routing_id_of(P1), Some(b(&u32::MAX.to_be_bytes())));
    assert_eq!(s.routing_id_of(P2), Some(b(&1u32.to_be_bytes())));
}

#[test]
fn client_round_robins_single_frame_messages() {
    // RFC 41 CLIENT: round-robin, "MUST NOT send multipart messages".
    let mut s = socket(SocketType::Client);
    attach(&mut s, P1, SocketType::Server);
    attach(&mut s, P2, SocketType::Server);
    send(&mut s, msg![b"1"]);
    send(&mut s, msg![b"2"]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"1"]]);
    assert_eq!(msgs_to(&mut s, P2), vec![msg![b"2"]]);
    let err = s.send(now(), msg![b"a", b"b"]).expect_err("multipart");
    assert_eq!(err.kind, SendErrorKind::InvalidMessage);
    from_peer(&mut s, P1, msg![b"a", b"b"]);
    from_peer(&mut s, P1, msg![b"ok"]);
    assert_eq!(recv(&mut s), msg![b"ok"]);
}

#[test]
fn peer_knows_the_routing_id_of_a_peer_it_connects_to_before_it_is_up() {
    // RFC 51: "SHALL provide the application with an API to connect and retrieve the routing
    // id of the double queue in atomic manner."
    let mut s = socket_seeded(SocketType::Peer, 5);
    connect(&mut s, P1);
    assert_eq!(s.routing_id_of(P1), Some(b(&5u32.to_be_bytes())));
    send(&mut s, routed(b"hello", 5));
    connected(&mut s, P1, SocketType::Peer);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"hello"]]);
    from_peer(&mut s, P1, msg![b"hi"]);
    assert_eq!(recv(&mut s).routing_id(), 5);
}

#[test]
fn dish_joins_are_sent_and_replayed() {
    let mut s = socket(SocketType::Dish);
    attach(&mut s, P1, SocketType::Radio);
    set(&mut s, PatternOption::Join(b(b"tv")));
    assert_eq!(to_peer(&mut s, P1), vec![Traffic::Join(b(b"tv"))]);
    attach(&mut s, P2, SocketType::Radio);
    assert_eq!(
        to_peer(&mut s, P2),
        vec![Traffic::Join(b(b"tv"))],
        "replayed to a new radio"
    );
    s.handle_peer_disconnected(now(), P1);
    connected(&mut s, P1, SocketType::Radio);
    assert_eq!(
        to_peer(&mut s, P1),
        vec![Traffic::Join(b(b"tv"))],
        "and after a reconnect"
    );
    set(&mut s, PatternOption::Leave(b(b"tv")));
    assert_eq!(to_peer(&mut s, P1), vec![Traffic::Leave(b(b"tv"))]);
}

#[test]
fn dish_refuses_bad_joins_and_leaves() {
    // libzmq dish_t::xjoin/xleave: EINVAL for a group too long, joined twice, or not joined.
    let mut s = socket(SocketType::Dish);
    let long = b(&[b'g'; 256]);
    let invalid = |option| Err(OptionError::InvalidValue { option });
    assert_eq!(
        s.set_option(now(), PatternOption::Join(long)),
        invalid("zmq_join")
    );
    set(&mut s, PatternOption::Join(b(&[b'g'; 255])));
    set(&mut s, PatternOption::Join(b(b"a")));
    assert_eq!(
        s.set_option(now(), PatternOption::Join(b(b"a"))),
        invalid("zmq_join")
    );
    assert_eq!(
        s.set_option(now(), PatternOption::Leave(b(b"b"))),
        invalid("zmq_leave")
    );
}

#[test]
fn dish_receives_only_the_groups_it_joined() {
    // RFC 48 DISH: "SHALL attach the group to the message": here [group, body].
    let mut s = socket(SocketType::Dish);
    attach(&mut s, P1, SocketType::Radio);
    set(&mut s, PatternOption::Join(b(b"tv")));
    from_peer(&mut s, P1, msg![b"radio", b"x"]);
    from_peer(&mut s, P1, msg![b"tv", b"show"]);
    from_peer(&mut s, P1, msg![b"tvx", b"prefix is not enough"]);
    assert_eq!(recv(&mut s), msg![b"tv", b"show"]);
    assert!(!s.is_readable());
    from_peer(&mut s, P1, msg![b"tv", b"rerun"]);
    set(&mut s, PatternOption::Leave(b(b"tv")));
    assert!(!s.is_readable(), "left: the queued message goes too");
    assert_eq!(
        s.send(now(), msg![b"x"]).map_err(|e| e.kind),
        Err(SendErrorKind::NotSupported)
    );
}

#[test]
fn dish_drops_a_radio_that_breaks_the_framing() {
    // libzmq dish_session_t: a group frame without a body, or longer than 255, is EFAULT.
    let mut s = socket(SocketType::Dish);
    attach(&mut s, P1, SocketType::Radio);
    from_peer(&mut s, P1, msg![b"no body"]);
    expect_actions!(
        s,
        [Action::Detach {
            peer: P1,
            reason: DetachReason::ProtocolViolation
        }]
    );
}

#[test]
fn radio_sends_only_to_dishes_that_joined_the_group() {
    // RFC 48 RADIO: "SHALL perform a group membership check using exact matching algorithm."
    let mut s = socket(SocketType::Radio);
    attach(&mut s, P1, SocketType::Dish);
    attach(&mut s, P2, SocketType::Dish);
    traffic_from(&mut s, P1, Traffic::Join(b(b"tv")));
    traffic_from(&mut s, P2, Traffic::Join(b(b"t")));
    send(&mut s, msg![b"tv", b"show"]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"tv", b"show"]]);
    assert!(to_peer(&mut s, P2).is_empty());
    traffic_from(&mut s, P1, Traffic::Leave(b(b"tv")));
    send(&mut s, msg![b"tv", b"show"]);
    assert!(to_peer(&mut s, P1).is_empty());
    assert_eq!(s.recv(now()), Err(RecvError::NotSupported));
}

#[test]
fn radio_counts_repeated_joins_and_forgets_a_departed_dish() {
    let mut s = socket(SocketType::Radio);
    attach(&mut s, P1, SocketType::Dish);
    traffic_from(&mut s, P1, Traffic::Join(b(b"g")));
    traffic_from(&mut s, P1, Traffic::Join(b(b"g")));
    traffic_from(&mut s, P1, Traffic::Leave(b(b"g")));
    send(&mut s, msg![b"g", b"still joined once"]);
    assert_eq!(msgs_to(&mut s, P1).len(), 1);
    s.handle_peer_detached(now(), P1);
    attach(&mut s, P1, SocketType::Dish);
    send(&mut s, msg![b"g", b"x"]);
    assert!(
        to_peer(&mut s, P1).is_empty(),
        "the new pipe joined nothing"
    );
}

#[test]
fn radio_requires_group_and_body() {
    let mut s = socket(SocketType::Radio);
    for bad in [
        msg![b"only one"],
        msg![b"g", b"b", b"c"],
        msg![[b'g'; 256], b"b"],
    ] {
        let err = s.send(now(), bad).expect_err("malformed");
        assert_eq!(err.kind, SendErrorKind::InvalidMessage);
    }
    send(&mut s, msg![[b'g'; 255], b"b"]);
}

#[test]
fn radio_nodrop_blocks_on_a_full_dish() {
    let mut s = socket(SocketType::Radio);
    set(&mut s, PatternOption::SndHwm(1));
    set(&mut s, PatternOption::XPubNoDrop(true));
    attach(&mut s, P1, SocketType::Dish);
    traffic_from(&mut s, P1, Traffic::Join(b(b"g")));
    send(&mut s, msg![b"g", b"1"]);
    let err = s.send(now(), msg![b"g", b"2"]).expect_err("full");
    assert_eq!(err.kind, SendErrorKind::WouldBlock);
}

#[test]
fn scatter_and_gather_are_single_frame_push_and_pull() {
    // RFC 49: "MUST NOT send multi-part messages", "MUST discard any part of a multipart
    // message".
    let mut s = socket(SocketType::Scatter);
    attach(&mut s, P1, SocketType::Gather);
    attach(&mut s, P2, SocketType::Gather);
    send(&mut s, msg![b"1"]);
    send(&mut s, msg![b"2"]);
    assert_eq!(msgs_to(&mut s, P2), vec![msg![b"2"]]);
    let err = s.send(now(), msg![b"a", b"b"]).expect_err("multipart");
    assert_eq!(err.kind, SendErrorKind::InvalidMessage);

    let mut g = socket(SocketType::Gather);
    attach(&mut g, P1, SocketType::Scatter);
    from_peer(&mut g, P1, msg![b"a", b"b"]);
    from_peer(&mut g, P1, msg![b"ok"]);
    assert_eq!(recv(&mut g), msg![b"ok"]);
    assert!(!g.is_readable());
}
