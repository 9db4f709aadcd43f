//! Scripted behaviour tests, smoltcp style: each test drives one machine through the public
//! [`Pattern`](crate::Pattern) interface with the helpers below and checks what comes out.
//! Test names state the behaviour; comments cite the RFC clause or the libzmq code it follows.

use std::time::Instant;

use bytes::Bytes;

use crate::{
    Action, AttachInfo, Msg, Pattern, PatternConfig, PatternOption, PeerId, PeerInfo, SocketType,
    Traffic, new_pattern, new_pattern_with,
};

mod draft;
mod fairness;
mod hwm;
mod options;
mod packing;
mod pair;
mod pipeline;
mod properties;
mod pubsub;
mod reqrep;
mod router;
mod stream;

pub(crate) use zmtp_proto::msg;

pub(crate) type Sock = Box<dyn Pattern>;

pub(crate) const P1: PeerId = PeerId(1);
pub(crate) const P2: PeerId = PeerId(2);
pub(crate) const P3: PeerId = PeerId(3);
pub(crate) const P4: PeerId = PeerId(4);

/// Some instant: the machines never read the clock, so any will do.
#[allow(clippy::disallowed_methods)]
pub(crate) fn now() -> Instant {
    Instant::now()
}

pub(crate) fn socket(socket_type: SocketType) -> Sock {
    new_pattern(socket_type).expect("supported socket type")
}

pub(crate) fn socket_seeded(socket_type: SocketType, seed: u32) -> Sock {
    new_pattern_with(socket_type, &PatternConfig { seed }).expect("supported socket type")
}

/// A peer that connected to us and completed its handshake.
pub(crate) fn attach(s: &mut Sock, peer: PeerId, peer_type: SocketType) {
    attach_as(s, peer, peer_type, None);
}

/// Like [`attach`], with the routing id the peer announced.
pub(crate) fn attach_as(s: &mut Sock, peer: PeerId, peer_type: SocketType, id: Option<&[u8]>) {
    s.handle_peer_attached(now(), peer, AttachInfo::default());
    s.handle_peer_connected(now(), peer, peer_info(peer_type, id))
        .expect("peer accepted");
}

pub(crate) fn peer_info(peer_type: SocketType, id: Option<&[u8]>) -> PeerInfo {
    PeerInfo {
        socket_type: peer_type,
        routing_id: id.map(Bytes::copy_from_slice),
    }
}

/// A pipe we connected: it exists before any connection is up.
pub(crate) fn connect(s: &mut Sock, peer: PeerId) {
    s.handle_peer_attached(
        now(),
        peer,
        AttachInfo {
            locally_initiated: true,
            connect_routing_id: None,
            packs_frames: false,
        },
    );
}

/// The handshake completed on a pipe we connected.
pub(crate) fn connected(s: &mut Sock, peer: PeerId, peer_type: SocketType) {
    s.handle_peer_connected(now(), peer, peer_info(peer_type, None))
        .expect("peer accepted");
}

pub(crate) fn from_peer(s: &mut Sock, peer: PeerId, msg: Msg) {
    assert!(
        s.can_receive_from(peer),
        "driver would not read from {peer:?} now"
    );
    s.handle_traffic(now(), peer, Traffic::Message(msg));
}

pub(crate) fn traffic_from(s: &mut Sock, peer: PeerId, traffic: Traffic) {
    s.handle_traffic(now(), peer, traffic);
}

/// Everything queued for the peer, oldest first.
pub(crate) fn to_peer(s: &mut Sock, peer: PeerId) -> Vec<Traffic> {
    std::iter::from_fn(|| s.poll_transmit(peer)).collect()
}

/// The messages queued for the peer (other traffic is a test failure).
pub(crate) fn msgs_to(s: &mut Sock, peer: PeerId) -> Vec<Msg> {
    to_peer(s, peer)
        .into_iter()
        .map(|t| match t {
            Traffic::Message(m) => m,
            other => panic!("expected a message, got {other:?}"),
        })
        .collect()
}

pub(crate) fn actions(s: &mut Sock) -> Vec<Action> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

pub(crate) fn send(s: &mut Sock, msg: Msg) {
    s.send(now(), msg).expect("send accepted");
}

pub(crate) fn recv(s: &mut Sock) -> Msg {
    s.recv(now()).expect("a message to receive")
}

pub(crate) fn set(s: &mut Sock, option: PatternOption) {
    s.set_option(now(), option).expect("option accepted");
}

pub(crate) fn b(bytes: &[u8]) -> Bytes {
    Bytes::copy_from_slice(bytes)
}

/// Drains the actions and compares them with the expected list.
macro_rules! expect_actions {
    ($s:expr, [$($action:expr),* $(,)?]) => {
        assert_eq!($crate::tests::actions(&mut $s), vec![$($action),*]);
    };
}
pub(crate) use expect_actions;

#[test]
fn every_socket_type_but_dgram_has_a_machine() {
    for t in SocketType::ALL {
        match new_pattern(t) {
            Ok(s) => assert_eq!(s.socket_type(), t),
            Err(e) => assert_eq!(t, SocketType::Dgram, "{e}"),
        }
    }
}

#[test]
fn peer_stats_count_messages_and_octets_each_way() {
    let mut s = socket(SocketType::Dealer);
    attach(&mut s, P1, SocketType::Router);
    send(&mut s, msg![b"abc"]);
    send(&mut s, msg![b"de", b"f"]);
    from_peer(&mut s, P1, msg![b"0123456789"]);
    let st = s.peer_stats(P1).expect("known peer");
    assert_eq!((st.queued_out, st.queued_in), (2, 1));
    assert_eq!(
        (st.msgs_out, st.bytes_out),
        (0, 0),
        "nothing handed to the connection yet"
    );
    assert_eq!((st.msgs_in, st.bytes_in), (1, 10));
    assert_eq!(to_peer(&mut s, P1).len(), 2);
    let st = s.peer_stats(P1).expect("known peer");
    assert_eq!((st.queued_out, st.msgs_out, st.bytes_out), (0, 2, 6));
    s.handle_peer_detached(now(), P1);
    assert_eq!(
        s.peer_stats(P1),
        None,
        "a detached peer is unknown to the driver"
    );
}

#[test]
fn transmit_is_announced_when_a_connected_queue_becomes_non_empty() {
    let mut s = socket(SocketType::Push);
    connect(&mut s, P1);
    send(&mut s, msg![b"early"]);
    expect_actions!(s, []); // no connection yet
    connected(&mut s, P1, SocketType::Pull);
    expect_actions!(s, [Action::Transmit { peer: P1 }]);
    send(&mut s, msg![b"more"]);
    expect_actions!(s, []); // still non-empty: no new announcement
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"early"], msg![b"more"]]);
    send(&mut s, msg![b"again"]);
    expect_actions!(s, [Action::Transmit { peer: P1 }]);
}
