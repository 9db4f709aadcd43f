//! PUSH and PULL (RFC 30).

use super::*;
use crate::{RecvError, SendErrorKind};

#[test]
fn push_round_robins_over_its_peers() {
    // RFC 30 PUSH: "SHALL route outgoing messages to available peers using a round-robin
    // strategy."
    let cases: &[(usize, usize)] = &[(1, 3), (2, 4), (3, 7), (4, 8)];
    let peers = [P1, P2, P3, P4];
    for &(n, messages) in cases {
        let mut s = socket(SocketType::Push);
        for &p in &peers[..n] {
            attach(&mut s, p, SocketType::Pull);
        }
        for i in 0..messages {
            send(&mut s, msg![[i as u8]]);
        }
        for (j, &p) in peers[..n].iter().enumerate() {
            let expected: Vec<Msg> = (j..messages).step_by(n).map(|i| msg![[i as u8]]).collect();
            assert_eq!(msgs_to(&mut s, p), expected, "{n} peers, peer {j}");
        }
    }
}

#[test]
fn push_skips_a_full_peer_and_blocks_when_all_are_full() {
    // RFC 30 PUSH: "SHALL consider a peer as available only when it has a outgoing queue that
    // is not full" and "SHALL NOT discard messages that it cannot queue."
    let mut s = socket(SocketType::Push);
    set(&mut s, PatternOption::SndHwm(1));
    attach(&mut s, P1, SocketType::Pull);
    attach(&mut s, P2, SocketType::Pull);
    send(&mut s, msg![b"1"]);
    send(&mut s, msg![b"2"]);
    assert!(!s.is_writable());
    let err = s.send(now(), msg![b"3"]).expect_err("both full");
    assert_eq!((err.kind, err.msg), (SendErrorKind::WouldBlock, msg![b"3"]));
    assert_eq!(msgs_to(&mut s, P2), vec![msg![b"2"]]);
    assert!(s.is_writable(), "P2 drained");
    send(&mut s, msg![b"3"]);
    assert_eq!(msgs_to(&mut s, P2), vec![msg![b"3"]]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"1"]]);
}

#[test]
fn push_would_block_without_peers_and_never_receives() {
    let mut s = socket(SocketType::Push);
    assert_eq!(
        s.send(now(), msg![b"x"]).map_err(|e| e.kind),
        Err(SendErrorKind::WouldBlock)
    );
    assert_eq!(s.recv(now()), Err(RecvError::NotSupported));
    attach(&mut s, P1, SocketType::Pull);
    from_peer(&mut s, P1, msg![b"ignored"]);
    assert!(!s.is_readable());
}

#[test]
fn push_stops_using_a_detached_peer() {
    let mut s = socket(SocketType::Push);
    attach(&mut s, P1, SocketType::Pull);
    attach(&mut s, P2, SocketType::Pull);
    s.handle_peer_detached(now(), P1);
    for _ in 0..3 {
        send(&mut s, msg![b"x"]);
    }
    assert_eq!(msgs_to(&mut s, P2).len(), 3);
}

#[test]
fn pull_fair_queues_and_never_sends() {
    // RFC 30 PULL: "SHALL receive incoming messages from its peers using a fair-queuing
    // strategy."
    let mut s = socket(SocketType::Pull);
    for p in [P1, P2, P3] {
        attach(&mut s, p, SocketType::Push);
    }
    for (p, tag) in [(P1, b'a'), (P2, b'b'), (P3, b'c')] {
        for i in 0..2u8 {
            from_peer(&mut s, p, msg![[tag, b'0' + i]]);
        }
    }
    let got: Vec<Msg> = (0..6).map(|_| recv(&mut s)).collect();
    assert_eq!(
        got,
        vec![
            msg![b"a0"],
            msg![b"b0"],
            msg![b"c0"],
            msg![b"a1"],
            msg![b"b1"],
            msg![b"c1"]
        ]
    );
    assert_eq!(s.recv(now()), Err(RecvError::WouldBlock));
    let err = s.send(now(), msg![b"x"]).expect_err("PULL does not send");
    assert_eq!(err.kind, SendErrorKind::NotSupported);
}

#[test]
fn pull_keeps_multipart_messages_whole() {
    let mut s = socket(SocketType::Pull);
    attach(&mut s, P1, SocketType::Push);
    attach(&mut s, P2, SocketType::Push);
    from_peer(&mut s, P1, msg![b"a", b"b", b"c"]);
    from_peer(&mut s, P2, msg![b"x", b"y"]);
    assert_eq!(recv(&mut s), msg![b"a", b"b", b"c"]);
    assert_eq!(recv(&mut s), msg![b"x", b"y"]);
}

#[test]
fn pull_delivers_messages_of_a_peer_that_went() {
    // libzmq keeps a terminated pipe readable up to its delimiter (RFC 30 says the queue is
    // destroyed; libzmq does not lose what was already received).
    let mut s = socket(SocketType::Pull);
    attach(&mut s, P1, SocketType::Push);
    from_peer(&mut s, P1, msg![b"1"]);
    from_peer(&mut s, P1, msg![b"2"]);
    s.handle_peer_detached(now(), P1);
    attach(&mut s, P1, SocketType::Push); // the driver may reuse the id at once
    from_peer(&mut s, P1, msg![b"new"]);
    let got: Vec<Msg> = (0..3).map(|_| recv(&mut s)).collect();
    assert!(got.contains(&msg![b"1"]) && got.contains(&msg![b"2"]) && got.contains(&msg![b"new"]));
    assert!(!s.is_readable());
}
