//! REQ, REP and DEALER (RFC 28).

use super::*;
use crate::{DetachReason, RecvError, SendErrorKind};

#[test]
fn req_prepends_an_empty_delimiter() {
    // RFC 28 REQ: "SHALL prefix the outgoing message with an empty delimiter frame."
    let mut s = socket(SocketType::Req);
    attach(&mut s, P1, SocketType::Rep);
    send(&mut s, msg![b"hello"]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"", b"hello"]]);
}

#[test]
fn req_refuses_second_send_until_reply() {
    // RFC 28 REQ: "SHALL send and then receive exactly one message at a time."
    let mut s = socket(SocketType::Req);
    attach(&mut s, P1, SocketType::Rep);
    send(&mut s, msg![b"one"]);
    assert!(!s.is_writable());
    let err = s.send(now(), msg![b"two"]).expect_err("reply outstanding");
    assert_eq!(err.kind, SendErrorKind::InvalidState);
    assert_eq!(err.msg, msg![b"two"], "the message comes back untouched");
    from_peer(&mut s, P1, msg![b"", b"answer"]);
    assert!(s.is_readable());
    assert_eq!(recv(&mut s), msg![b"answer"]);
    assert!(s.is_writable());
    send(&mut s, msg![b"two"]);
}

#[test]
fn req_refuses_recv_before_send() {
    let mut s = socket(SocketType::Req);
    attach(&mut s, P1, SocketType::Rep);
    assert_eq!(s.recv(now()), Err(RecvError::InvalidState));
    send(&mut s, msg![b"q"]);
    assert_eq!(s.recv(now()), Err(RecvError::WouldBlock));
}

#[test]
fn req_round_robins_over_peers_with_room() {
    // RFC 28 REQ: "SHALL route outgoing messages to connected peers using a round-robin
    // strategy."
    let mut s = socket(SocketType::Req);
    for p in [P1, P2, P3] {
        attach(&mut s, p, SocketType::Rep);
    }
    let mut order = Vec::new();
    for _ in 0..6 {
        send(&mut s, msg![b"q"]);
        let p = [P1, P2, P3]
            .into_iter()
            .find(|&p| !to_peer(&mut s, p).is_empty())
            .expect("went somewhere");
        order.push(p);
        from_peer(&mut s, p, msg![b"", b"a"]);
        recv(&mut s);
    }
    assert_eq!(order, vec![P1, P2, P3, P1, P2, P3]);
}

#[test]
fn req_would_block_without_peers() {
    // RFC 28 REQ: "SHALL block on sending, or return a suitable error, when it has no
    // connected peers."
    let mut s = socket(SocketType::Req);
    assert!(!s.is_writable());
    let err = s.send(now(), msg![b"q"]).expect_err("no peer");
    assert_eq!((err.kind, err.msg), (SendErrorKind::WouldBlock, msg![b"q"]));
    // The state did not change: a receive is still out of turn.
    assert_eq!(s.recv(now()), Err(RecvError::InvalidState));
}

#[test]
fn req_discards_reply_from_a_peer_it_did_not_ask() {
    // RFC 28 REQ: "SHALL accept an incoming message only from the last peer that it sent a
    // request to" and "SHALL discard silently any messages received from other peers."
    let mut s = socket(SocketType::Req);
    attach(&mut s, P1, SocketType::Router);
    attach(&mut s, P2, SocketType::Router);
    send(&mut s, msg![b"q"]); // goes to P1
    assert_eq!(msgs_to(&mut s, P1).len(), 1);
    from_peer(&mut s, P2, msg![b"", b"impostor"]);
    assert!(!s.is_readable());
    from_peer(&mut s, P1, msg![b"", b"real"]);
    assert_eq!(recv(&mut s), msg![b"real"]);
    expect_actions!(s, [Action::Transmit { peer: P1 }]);
}

#[test]
fn req_discards_reply_whose_first_frame_is_not_the_delimiter() {
    // libzmq req_t::xrecv: "The next frame must be 0", else the message is skipped. A 4-octet
    // first frame followed by a delimiter passes libzmq's session check but not the socket's.
    let mut s = socket(SocketType::Req);
    attach(&mut s, P1, SocketType::Router);
    send(&mut s, msg![b"q"]);
    actions(&mut s);
    from_peer(&mut s, P1, msg![b"abcd", b"", b"reply"]);
    assert!(!s.is_readable());
    expect_actions!(s, []);
}

#[test]
fn req_drops_the_connection_of_a_peer_that_breaks_the_envelope() {
    // libzmq req_session_t::push_msg fails with EFAULT on a reply with no delimiter, which
    // closes the connection.
    let mut s = socket(SocketType::Req);
    attach(&mut s, P1, SocketType::Router);
    send(&mut s, msg![b"q"]);
    actions(&mut s);
    from_peer(&mut s, P1, msg![b"no delimiter"]);
    assert!(!s.is_readable());
    expect_actions!(
        s,
        [Action::Detach {
            peer: P1,
            reason: DetachReason::ProtocolViolation
        }]
    );
}

#[test]
fn req_drops_replies_that_arrive_before_a_request() {
    let mut s = socket(SocketType::Req);
    attach(&mut s, P1, SocketType::Router);
    from_peer(&mut s, P1, msg![b"", b"stale"]);
    send(&mut s, msg![b"q"]);
    assert!(!s.is_readable());
    from_peer(&mut s, P1, msg![b"", b"fresh"]);
    assert_eq!(recv(&mut s), msg![b"fresh"]);
}

#[test]
fn req_relaxed_allows_a_new_request_and_ignores_the_old_reply() {
    let mut s = socket(SocketType::Req);
    set(&mut s, PatternOption::ReqRelaxed(true));
    attach(&mut s, P1, SocketType::Router);
    attach(&mut s, P2, SocketType::Router);
    send(&mut s, msg![b"first"]); // to P1
    assert!(s.is_writable());
    send(&mut s, msg![b"second"]); // to P2
    assert_eq!(msgs_to(&mut s, P2), vec![msg![b"", b"second"]]);
    from_peer(&mut s, P1, msg![b"", b"late answer to first"]);
    assert!(!s.is_readable(), "only the peer asked last may answer");
    from_peer(&mut s, P2, msg![b"", b"answer"]);
    assert_eq!(recv(&mut s), msg![b"answer"]);
}

#[test]
fn req_relaxed_discards_queued_replies_when_sending_again() {
    let mut s = socket(SocketType::Req);
    set(&mut s, PatternOption::ReqRelaxed(true));
    attach(&mut s, P1, SocketType::Router);
    send(&mut s, msg![b"first"]);
    from_peer(&mut s, P1, msg![b"", b"answer to first"]);
    assert!(s.is_readable());
    send(&mut s, msg![b"second"]);
    assert!(
        !s.is_readable(),
        "libzmq drains its pipes before a new request"
    );
}

#[test]
fn req_correlate_prefixes_a_request_id_and_matches_the_reply() {
    // libzmq req_t: the id is incremented before each request and copied in host order.
    let mut s = socket_seeded(SocketType::Req, 41);
    set(&mut s, PatternOption::ReqCorrelate(true));
    set(&mut s, PatternOption::ReqRelaxed(true));
    attach(&mut s, P1, SocketType::Router);
    send(&mut s, msg![b"q1"]);
    assert_eq!(
        msgs_to(&mut s, P1),
        vec![msg![42u32.to_le_bytes(), b"", b"q1"]]
    );
    send(&mut s, msg![b"q2"]);
    assert_eq!(
        msgs_to(&mut s, P1),
        vec![msg![43u32.to_le_bytes(), b"", b"q2"]]
    );
    from_peer(&mut s, P1, msg![42u32.to_le_bytes(), b"", b"old"]);
    assert!(!s.is_readable(), "reply to the abandoned request");
    from_peer(&mut s, P1, msg![43u32.to_le_bytes(), b"", b"new"]);
    assert_eq!(recv(&mut s), msg![b"new"]);
}

#[test]
fn req_accepts_any_peer_once_the_asked_peer_is_gone() {
    // libzmq req_t::xpipe_terminated clears the reply pipe.
    let mut s = socket(SocketType::Req);
    attach(&mut s, P1, SocketType::Router);
    attach(&mut s, P2, SocketType::Router);
    send(&mut s, msg![b"q"]); // to P1
    s.handle_peer_detached(now(), P1);
    from_peer(&mut s, P2, msg![b"", b"from P2"]);
    assert_eq!(recv(&mut s), msg![b"from P2"]);
}

#[test]
fn req_and_dealer_send_a_probe_with_probe_router() {
    for t in [SocketType::Req, SocketType::Dealer] {
        let mut s = socket(t);
        set(&mut s, PatternOption::ProbeRouter(true));
        attach(&mut s, P1, SocketType::Router);
        assert_eq!(msgs_to(&mut s, P1), vec![msg![b""]], "{t}");
    }
}

#[test]
fn rep_removes_the_envelope_and_restores_it_on_the_reply() {
    // RFC 28 REP: "SHALL remove and store the address envelope, including the delimiter" and
    // "SHALL prepend the address envelope and delimiter".
    let mut s = socket(SocketType::Rep);
    attach(&mut s, P1, SocketType::Dealer);
    from_peer(&mut s, P1, msg![b"hop2", b"hop1", b"", b"hello", b"there"]);
    assert_eq!(recv(&mut s), msg![b"hello", b"there"]);
    send(&mut s, msg![b"world"]);
    assert_eq!(
        msgs_to(&mut s, P1),
        vec![msg![b"hop2", b"hop1", b"", b"world"]]
    );
}

#[test]
fn rep_alternates_receive_and_send() {
    // RFC 28 REP: "SHALL receive and then send exactly one message at a time."
    let mut s = socket(SocketType::Rep);
    attach(&mut s, P1, SocketType::Req);
    let err = s.send(now(), msg![b"unasked"]).expect_err("no request yet");
    assert_eq!(err.kind, SendErrorKind::InvalidState);
    assert!(!s.is_writable());
    from_peer(&mut s, P1, msg![b"", b"q1"]);
    from_peer(&mut s, P1, msg![b"", b"q2"]);
    assert_eq!(recv(&mut s), msg![b"q1"]);
    assert!(!s.is_readable());
    assert_eq!(s.recv(now()), Err(RecvError::InvalidState));
    assert!(s.is_writable());
    send(&mut s, msg![b"a1"]);
    assert_eq!(recv(&mut s), msg![b"q2"]);
}

#[test]
fn rep_discards_requests_without_a_delimiter() {
    // libzmq rep_t::xrecv rolls back a request whose traceback stack is malformed.
    let mut s = socket(SocketType::Rep);
    attach(&mut s, P1, SocketType::Dealer);
    for bad in [msg![b"no delimiter"], msg![b"id", b""], msg![b""]] {
        from_peer(&mut s, P1, bad);
    }
    assert!(!s.is_readable());
    assert_eq!(s.recv(now()), Err(RecvError::WouldBlock));
    expect_actions!(s, []);
}

#[test]
fn rep_drops_a_reply_to_a_peer_that_has_gone() {
    // RFC 28 REP: "SHALL silently discard the reply, or return an error, if the originating
    // peer is no longer connected."
    let mut s = socket(SocketType::Rep);
    attach(&mut s, P1, SocketType::Req);
    attach(&mut s, P2, SocketType::Req);
    from_peer(&mut s, P1, msg![b"", b"q"]);
    assert_eq!(recv(&mut s), msg![b"q"]);
    s.handle_peer_detached(now(), P1);
    send(&mut s, msg![b"a"]);
    assert!(to_peer(&mut s, P2).is_empty());
    // And the socket is ready for the next request.
    from_peer(&mut s, P2, msg![b"", b"q2"]);
    assert_eq!(recv(&mut s), msg![b"q2"]);
}

#[test]
fn rep_drops_a_reply_rather_than_give_it_to_the_peer_that_took_the_requesters_place() {
    // RFC 28 REP: the reply goes back to the originating peer or nowhere. The requester's
    // pipe is freed when it goes, and the next peer's pipe takes its place in the socket.
    let mut s = socket(SocketType::Rep);
    attach(&mut s, P1, SocketType::Req);
    from_peer(&mut s, P1, msg![b"", b"q"]);
    assert_eq!(recv(&mut s), msg![b"q"]);
    s.handle_peer_detached(now(), P1);
    attach(&mut s, P2, SocketType::Req);
    send(&mut s, msg![b"a"]);
    assert!(to_peer(&mut s, P2).is_empty());
}

#[test]
fn rep_answers_each_requester_in_turn() {
    // RFC 28 REP: "SHALL deliver this message back to the originating peer."
    let mut s = socket(SocketType::Rep);
    attach(&mut s, P1, SocketType::Req);
    attach(&mut s, P2, SocketType::Req);
    from_peer(&mut s, P1, msg![b"", b"from 1"]);
    from_peer(&mut s, P2, msg![b"", b"from 2"]);
    for _ in 0..2 {
        let q = recv(&mut s);
        let mut a = q.clone();
        a.push_back(b"!".to_vec());
        send(&mut s, a);
    }
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"", b"from 1", b"!"]]);
    assert_eq!(msgs_to(&mut s, P2), vec![msg![b"", b"from 2", b"!"]]);
}

#[test]
fn dealer_neither_adds_nor_checks_envelopes() {
    // RFC 28 DEALER: "SHALL not filter or modify outgoing or incoming messages in any way."
    let mut s = socket(SocketType::Dealer);
    attach(&mut s, P1, SocketType::Router);
    send(&mut s, msg![b"raw"]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"raw"]]);
    from_peer(&mut s, P1, msg![b"no", b"delimiter"]);
    assert_eq!(recv(&mut s), msg![b"no", b"delimiter"]);
}

#[test]
fn dealer_round_robins_out_and_fair_queues_in() {
    let mut s = socket(SocketType::Dealer);
    attach(&mut s, P1, SocketType::Router);
    attach(&mut s, P2, SocketType::Router);
    for i in 0..4u8 {
        send(&mut s, msg![[i]]);
    }
    assert_eq!(msgs_to(&mut s, P1), vec![msg![[0u8]], msg![[2u8]]]);
    assert_eq!(msgs_to(&mut s, P2), vec![msg![[1u8]], msg![[3u8]]]);
    from_peer(&mut s, P1, msg![b"a1"]);
    from_peer(&mut s, P1, msg![b"a2"]);
    from_peer(&mut s, P2, msg![b"b1"]);
    let got: Vec<Msg> = (0..3).map(|_| recv(&mut s)).collect();
    assert_eq!(got, vec![msg![b"a1"], msg![b"b1"], msg![b"a2"]]);
}

#[test]
fn dealer_queues_for_a_peer_it_is_still_connecting_to() {
    // RFC 28 DEALER: "SHALL create a double queue when initiating an outgoing connection to a
    // peer, and SHALL maintain the double queue whether or not the connection is established."
    let mut s = socket(SocketType::Dealer);
    connect(&mut s, P1);
    send(&mut s, msg![b"early"]);
    s.handle_peer_disconnected(now(), P1);
    connected(&mut s, P1, SocketType::Router);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"early"]]);
}

/// A driver may batch receives only where receiving changes nothing: REQ and REP remember the
/// peer of the last message received to route the next send (RFC 28), an XPUB with
/// XPUB_MANUAL subscribes that peer; the other types receive statelessly.
#[test]
fn recv_is_stateless_except_where_the_next_send_depends_on_it() {
    for t in SocketType::ALL {
        if t == SocketType::Dgram {
            continue;
        }
        let s = socket(t);
        let stateful = matches!(t, SocketType::Req | SocketType::Rep);
        assert_eq!(s.recv_is_stateless(), !stateful, "{t}");
    }
    let mut xpub = socket(SocketType::XPub);
    set(&mut xpub, PatternOption::XPubManual(true));
    assert!(!xpub.recv_is_stateless());
}
