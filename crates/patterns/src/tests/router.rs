//! ROUTER (RFC 28).

use super::*;
use crate::{AttachError, DetachReason, SendErrorKind};

#[test]
fn router_generates_libzmq_style_routing_ids() {
    // libzmq router_t::identify_peer: 0x00 then a 32-bit big-endian counter.
    let mut s = socket_seeded(SocketType::Router, 0x0102_03fe);
    attach(&mut s, P1, SocketType::Dealer);
    attach(&mut s, P2, SocketType::Dealer);
    attach(&mut s, P3, SocketType::Dealer);
    assert_eq!(s.routing_id_of(P1), Some(b(&[0, 1, 2, 3, 0xfe])));
    assert_eq!(s.routing_id_of(P2), Some(b(&[0, 1, 2, 3, 0xff])));
    assert_eq!(s.routing_id_of(P3), Some(b(&[0, 1, 2, 4, 0])));
}

#[test]
fn router_prefixes_received_messages_with_the_routing_id() {
    // RFC 28 ROUTER: "SHALL prefix each incoming message with a frame containing the identity
    // of the originating double queue."
    let mut s = socket_seeded(SocketType::Router, 7);
    attach_as(&mut s, P1, SocketType::Dealer, Some(b"alice"));
    attach(&mut s, P2, SocketType::Req);
    from_peer(&mut s, P1, msg![b"hi"]);
    from_peer(&mut s, P2, msg![b"", b"q"]);
    assert_eq!(recv(&mut s), msg![b"alice", b"hi"]);
    assert_eq!(recv(&mut s), msg![[0u8, 0, 0, 0, 7], b"", b"q"]);
}

#[test]
fn router_routes_by_the_first_frame() {
    // RFC 28 ROUTER: "SHALL remove the first frame from each outgoing message and use this as
    // the identity of a double queue."
    let mut s = socket(SocketType::Router);
    let peers = [(P1, &b"a"[..]), (P2, b"bb"), (P3, b"ccc")];
    for (p, id) in peers {
        attach_as(&mut s, p, SocketType::Dealer, Some(id));
    }
    let table: &[(&[u8], PeerId)] = &[(b"ccc", P3), (b"a", P1), (b"bb", P2), (b"a", P1)];
    for (i, &(id, _)) in table.iter().enumerate() {
        send(&mut s, msg![id, [i as u8]]);
    }
    for (p, _) in peers {
        let expected: Vec<Msg> = table
            .iter()
            .enumerate()
            .filter(|(_, (_, to))| *to == p)
            .map(|(i, _)| msg![[i as u8]])
            .collect();
        assert_eq!(msgs_to(&mut s, p), expected, "{p:?}");
    }
}

#[test]
fn router_drops_unroutable_messages_silently() {
    // RFC 28 ROUTER: "SHALL either silently drop the message, or return an error, depending
    // on configuration, if the queue does not exist."
    let mut s = socket(SocketType::Router);
    attach_as(&mut s, P1, SocketType::Dealer, Some(b"known"));
    send(&mut s, msg![b"unknown", b"lost"]);
    send(&mut s, msg![b"known"]); // a lone routing id frame is ignored too
    assert!(to_peer(&mut s, P1).is_empty());
    assert!(s.is_writable());
}

#[test]
fn router_mandatory_refuses_unroutable_messages() {
    let mut s = socket(SocketType::Router);
    set(&mut s, PatternOption::RouterMandatory(true));
    assert!(!s.is_writable(), "no peer has room");
    attach_as(&mut s, P1, SocketType::Dealer, Some(b"known"));
    assert!(s.is_writable());
    let err = s
        .send(now(), msg![b"unknown", b"x"])
        .expect_err("unroutable");
    assert_eq!(err.kind, SendErrorKind::HostUnreachable);
    assert_eq!(err.msg, msg![b"unknown", b"x"], "handed back whole");
}

#[test]
fn router_hwm_drops_or_refuses_depending_on_mandatory() {
    // libzmq router_t::xsend: a full pipe loses the message, or EAGAIN under MANDATORY.
    for mandatory in [false, true] {
        let mut s = socket(SocketType::Router);
        set(&mut s, PatternOption::SndHwm(2));
        set(&mut s, PatternOption::RouterMandatory(mandatory));
        attach_as(&mut s, P1, SocketType::Dealer, Some(b"p"));
        send(&mut s, msg![b"p", b"1"]);
        send(&mut s, msg![b"p", b"2"]);
        let third = s.send(now(), msg![b"p", b"3"]);
        if mandatory {
            assert_eq!(third.map_err(|e| e.kind), Err(SendErrorKind::WouldBlock));
            assert!(!s.is_writable());
        } else {
            assert_eq!(third, Ok(()));
            assert!(s.is_writable());
        }
        assert_eq!(msgs_to(&mut s, P1), vec![msg![b"1"], msg![b"2"]]);
        assert!(s.is_writable(), "room again after the connection drained");
    }
}

#[test]
fn router_refuses_a_duplicate_routing_id() {
    let mut s = socket(SocketType::Router);
    attach_as(&mut s, P1, SocketType::Dealer, Some(b"same"));
    s.handle_peer_attached(now(), P2, AttachInfo::default());
    let r = s.handle_peer_connected(now(), P2, peer_info(SocketType::Dealer, Some(b"same")));
    assert_eq!(r, Err(AttachError::DuplicateRoutingId));
    s.handle_peer_detached(now(), P2);
    send(&mut s, msg![b"same", b"x"]);
    assert_eq!(
        msgs_to(&mut s, P1),
        vec![msg![b"x"]],
        "the first peer keeps the id"
    );
}

#[test]
fn router_handover_gives_the_routing_id_to_the_new_peer() {
    let mut s = socket_seeded(SocketType::Router, 100);
    set(&mut s, PatternOption::RouterHandover(true));
    attach_as(&mut s, P1, SocketType::Dealer, Some(b"same"));
    from_peer(&mut s, P1, msg![b"from old"]);
    actions(&mut s);
    attach_as(&mut s, P2, SocketType::Dealer, Some(b"same"));
    expect_actions!(
        s,
        [Action::Detach {
            peer: P1,
            reason: DetachReason::HandedOver
        }]
    );
    // The old peer's pending message now carries a generated id, as in libzmq.
    assert_eq!(recv(&mut s), msg![[0u8, 0, 0, 0, 100], b"from old"]);
    s.handle_peer_detached(now(), P1);
    send(&mut s, msg![b"same", b"x"]);
    assert_eq!(msgs_to(&mut s, P2), vec![msg![b"x"]]);
}

#[test]
fn router_connect_routing_id_names_the_pipe_before_it_connects() {
    let mut s = socket(SocketType::Router);
    s.handle_peer_attached(
        now(),
        P1,
        AttachInfo {
            locally_initiated: true,
            connect_routing_id: Some(b(b"srv")),
            packs_frames: false,
        },
    );
    assert_eq!(s.routing_id_of(P1), Some(b(b"srv")));
    send(&mut s, msg![b"srv", b"queued"]);
    connected(&mut s, P1, SocketType::Router);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"queued"]]);
}

#[test]
fn router_keeps_the_routing_id_across_a_reconnect() {
    let mut s = socket(SocketType::Router);
    connect(&mut s, P1);
    s.handle_peer_connected(now(), P1, peer_info(SocketType::Router, Some(b"first")))
        .expect("accepted");
    s.handle_peer_disconnected(now(), P1);
    s.handle_peer_connected(now(), P1, peer_info(SocketType::Router, Some(b"second")))
        .expect("accepted");
    assert_eq!(s.routing_id_of(P1), Some(b(b"first")));
}

#[test]
fn router_probe_router_sends_an_empty_message_to_each_new_peer() {
    let mut s = socket(SocketType::Router);
    set(&mut s, PatternOption::ProbeRouter(true));
    attach(&mut s, P1, SocketType::Dealer);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b""]]);
}

#[test]
fn router_delivers_what_a_peer_sent_before_it_went() {
    // libzmq delivers a terminated pipe's pending messages up to its delimiter.
    let mut s = socket(SocketType::Router);
    attach_as(&mut s, P1, SocketType::Dealer, Some(b"p"));
    from_peer(&mut s, P1, msg![b"last words"]);
    s.handle_peer_detached(now(), P1);
    assert_eq!(recv(&mut s), msg![b"p", b"last words"]);
    // The id is free again at once.
    attach_as(&mut s, P1, SocketType::Dealer, Some(b"p"));
}
