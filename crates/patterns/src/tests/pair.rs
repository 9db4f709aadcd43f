//! PAIR (RFC 31) and CHANNEL (RFC 52).

use super::*;
use crate::{AttachError, DetachReason, SendErrorKind};

#[test]
fn pair_refuses_a_second_peer() {
    // RFC 31: PAIR "SHALL NOT accept more than one peer"; libzmq's pair_t terminates any
    // further pipe.
    let mut s = socket(SocketType::Pair);
    attach(&mut s, P1, SocketType::Pair);
    s.handle_peer_attached(now(), P2, AttachInfo::default());
    let r = s.handle_peer_connected(now(), P2, peer_info(SocketType::Pair, None));
    assert_eq!(r, Err(AttachError::AlreadyPaired));
    s.handle_peer_detached(now(), P2);
    // A pipe we connected ourselves is refused at once.
    connect(&mut s, P3);
    expect_actions!(
        s,
        [Action::Detach {
            peer: P3,
            reason: DetachReason::AlreadyPaired
        }]
    );
    s.handle_peer_detached(now(), P3);
    send(&mut s, msg![b"to the one"]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"to the one"]]);
}

#[test]
fn pair_would_block_without_a_peer_and_when_full() {
    // RFC 31: "SHALL block on sending, or return a suitable error, when it has no available
    // peer" and "SHALL NOT discard messages that it cannot queue."
    let mut s = socket(SocketType::Pair);
    assert!(!s.is_writable());
    let err = s.send(now(), msg![b"x"]).expect_err("no peer");
    assert_eq!(err.kind, SendErrorKind::WouldBlock);
    set(&mut s, PatternOption::SndHwm(1));
    attach(&mut s, P1, SocketType::Pair);
    send(&mut s, msg![b"1"]);
    assert!(!s.is_writable());
    let err = s.send(now(), msg![b"2"]).expect_err("full");
    assert_eq!(err.kind, SendErrorKind::WouldBlock);
}

#[test]
fn pair_passes_messages_both_ways_unchanged() {
    // RFC 31: "SHALL not filter or modify outgoing or incoming messages in any way."
    let mut s = socket(SocketType::Pair);
    attach(&mut s, P1, SocketType::Pair);
    send(&mut s, msg![b"a", b"", b"c"]);
    from_peer(&mut s, P1, msg![b"", b"x"]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"a", b"", b"c"]]);
    assert_eq!(recv(&mut s), msg![b"", b"x"]);
}

#[test]
fn pair_takes_a_new_peer_once_the_old_one_is_gone_and_read() {
    // libzmq clears the pair in xpipe_terminated, after the pipe's pending messages.
    let mut s = socket(SocketType::Pair);
    attach(&mut s, P1, SocketType::Pair);
    from_peer(&mut s, P1, msg![b"pending"]);
    s.handle_peer_detached(now(), P1);
    s.handle_peer_attached(now(), P2, AttachInfo::default());
    assert_eq!(
        s.handle_peer_connected(now(), P2, peer_info(SocketType::Pair, None)),
        Err(AttachError::AlreadyPaired)
    );
    s.handle_peer_detached(now(), P2);
    assert_eq!(recv(&mut s), msg![b"pending"]);
    attach(&mut s, P3, SocketType::Pair);
    send(&mut s, msg![b"hello"]);
    assert_eq!(msgs_to(&mut s, P3), vec![msg![b"hello"]]);
}

#[test]
fn channel_is_a_single_frame_pair() {
    // RFC 52: "MUST NOT send multipart messages", "MUST discard any part of a multipart
    // message".
    let mut s = socket(SocketType::Channel);
    attach(&mut s, P1, SocketType::Channel);
    let err = s.send(now(), msg![b"a", b"b"]).expect_err("multipart");
    assert_eq!(err.kind, SendErrorKind::InvalidMessage);
    from_peer(&mut s, P1, msg![b"a", b"b"]);
    assert!(!s.is_readable());
    from_peer(&mut s, P1, msg![b"single"]);
    assert_eq!(recv(&mut s), msg![b"single"]);
    s.handle_peer_attached(now(), P2, AttachInfo::default());
    assert_eq!(
        s.handle_peer_connected(now(), P2, peer_info(SocketType::Channel, None)),
        Err(AttachError::AlreadyPaired)
    );
}
