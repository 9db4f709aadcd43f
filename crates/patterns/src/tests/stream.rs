//! STREAM (raw TCP with a routing id frame).

use super::*;
use crate::{DetachReason, SendErrorKind};

const ID1: [u8; 5] = [0, 0, 0, 0, 9];

#[test]
fn stream_notifies_connect_and_disconnect_by_default() {
    let mut s = socket_seeded(SocketType::Stream, 9);
    attach(&mut s, P1, SocketType::Stream);
    assert_eq!(recv(&mut s), msg![ID1, b""]);
    from_peer(&mut s, P1, msg![b"GET / HTTP/1.0\r\n"]);
    s.handle_peer_detached(now(), P1);
    assert_eq!(recv(&mut s), msg![ID1, b"GET / HTTP/1.0\r\n"]);
    assert_eq!(recv(&mut s), msg![ID1, b""], "disconnect notification");
    assert!(!s.is_readable());
}

#[test]
fn stream_notify_off_delivers_only_data() {
    let mut s = socket_seeded(SocketType::Stream, 9);
    set(&mut s, PatternOption::StreamNotify(false));
    attach(&mut s, P1, SocketType::Stream);
    assert!(!s.is_readable());
    from_peer(&mut s, P1, msg![b"data"]);
    assert_eq!(recv(&mut s), msg![ID1, b"data"]);
}

#[test]
fn stream_routes_data_by_routing_id() {
    let mut s = socket_seeded(SocketType::Stream, 9);
    attach(&mut s, P1, SocketType::Stream);
    attach(&mut s, P2, SocketType::Stream);
    send(&mut s, msg![[0u8, 0, 0, 0, 10], b"to P2"]);
    assert_eq!(msgs_to(&mut s, P2), vec![msg![b"to P2"]]);
    assert!(to_peer(&mut s, P1).is_empty());
    let err = s
        .send(now(), msg![b"nobody", b"x"])
        .expect_err("unknown id");
    assert_eq!(err.kind, SendErrorKind::HostUnreachable);
    let err = s.send(now(), msg![ID1]).expect_err("needs [id, data]");
    assert_eq!(err.kind, SendErrorKind::InvalidMessage);
}

#[test]
fn stream_empty_data_closes_the_connection() {
    let mut s = socket_seeded(SocketType::Stream, 9);
    attach(&mut s, P1, SocketType::Stream);
    actions(&mut s);
    send(&mut s, msg![ID1, b""]);
    expect_actions!(
        s,
        [Action::Detach {
            peer: P1,
            reason: DetachReason::ClosedByApplication
        }]
    );
}

#[test]
fn stream_connect_routing_id_names_an_outgoing_connection() {
    let mut s = socket(SocketType::Stream);
    s.handle_peer_attached(
        now(),
        P1,
        AttachInfo {
            locally_initiated: true,
            connect_routing_id: Some(b(b"web")),
            packs_frames: false,
        },
    );
    assert_eq!(s.routing_id_of(P1), Some(b(b"web")));
    send(&mut s, msg![b"web", b"queued before connect"]);
    connected(&mut s, P1, SocketType::Stream);
    assert_eq!(recv(&mut s), msg![b"web", b""]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"queued before connect"]]);
}
