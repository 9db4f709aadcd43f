//! PUB, XPUB, SUB and XSUB (RFC 29).

use super::*;
use crate::{RecvError, SendErrorKind};

fn subscribe(s: &mut Sock, peer: PeerId, topic: &[u8]) {
    traffic_from(s, peer, Traffic::Subscribe(b(topic)));
}

fn cancel(s: &mut Sock, peer: PeerId, topic: &[u8]) {
    traffic_from(s, peer, Traffic::Cancel(b(topic)));
}

fn pending(s: &mut Sock) -> Vec<Msg> {
    std::iter::from_fn(|| s.recv(now()).ok()).collect()
}

#[test]
fn pub_sends_only_to_subscribers_whose_prefix_matches() {
    // RFC 29 PUB: "SHALL perform a binary comparison of the subscription against the start of
    // the first frame of the message."
    let subs: &[(PeerId, &[&[u8]])] = &[
        (P1, &[b"weather"]),
        (P2, &[b"weather.uk", b"sport"]),
        (P3, &[b""]),
        (P4, &[]),
    ];
    let table: &[(&[u8], &[PeerId])] = &[
        (b"weather.uk.london", &[P1, P2, P3]),
        (b"weather.fr", &[P1, P3]),
        (b"sport", &[P2, P3]),
        (b"spor", &[P3]),
        (b"", &[P3]),
        (b"\x00binary", &[P3]),
    ];
    for &(topic, expected) in table {
        let mut s = socket(SocketType::Pub);
        for &(p, prefixes) in subs {
            attach(&mut s, p, SocketType::Sub);
            for &prefix in prefixes {
                subscribe(&mut s, p, prefix);
            }
        }
        send(&mut s, msg![topic, b"body"]);
        for &(p, _) in subs {
            let got = msgs_to(&mut s, p);
            if expected.contains(&p) {
                assert_eq!(got, vec![msg![topic, b"body"]], "{topic:?} to {p:?}");
            } else {
                assert!(got.is_empty(), "{topic:?} must not reach {p:?}");
            }
        }
    }
}

#[test]
fn pub_delivers_once_to_a_subscriber_matching_through_several_prefixes() {
    let mut s = socket(SocketType::Pub);
    attach(&mut s, P1, SocketType::Sub);
    for prefix in [&b""[..], b"a", b"ab", b"abc"] {
        subscribe(&mut s, P1, prefix);
    }
    send(&mut s, msg![b"abcd"]);
    assert_eq!(msgs_to(&mut s, P1).len(), 1);
}

#[test]
fn pub_drops_for_a_full_subscriber_and_never_blocks() {
    // RFC 29 PUB: "SHALL silently drop the message if the queue for a subscriber is full" and
    // "SHALL NOT block on sending."
    let mut s = socket(SocketType::Pub);
    set(&mut s, PatternOption::SndHwm(2));
    attach(&mut s, P1, SocketType::Sub);
    attach(&mut s, P2, SocketType::Sub);
    subscribe(&mut s, P1, b"");
    subscribe(&mut s, P2, b"");
    for i in 0..5u8 {
        send(&mut s, msg![[i]]);
        assert!(s.is_writable());
        // P2 keeps up, P1 does not.
        assert_eq!(msgs_to(&mut s, P2), vec![msg![[i]]]);
    }
    assert_eq!(msgs_to(&mut s, P1), vec![msg![[0u8]], msg![[1u8]]]);
    send(&mut s, msg![b"after drain"]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"after drain"]]);
}

#[test]
fn xpub_nodrop_refuses_to_send_while_a_matching_subscriber_is_full() {
    let mut s = socket(SocketType::XPub);
    set(&mut s, PatternOption::SndHwm(1));
    set(&mut s, PatternOption::XPubNoDrop(true));
    attach(&mut s, P1, SocketType::Sub);
    attach(&mut s, P2, SocketType::Sub);
    subscribe(&mut s, P1, b"a");
    subscribe(&mut s, P2, b"b");
    send(&mut s, msg![b"a1"]);
    let err = s.send(now(), msg![b"a2"]).expect_err("P1 is full");
    assert_eq!(
        (err.kind, err.msg),
        (SendErrorKind::WouldBlock, msg![b"a2"])
    );
    send(&mut s, msg![b"b1"]); // P2 is not full
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"a1"]]);
    send(&mut s, msg![b"a2"]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"a2"]]);
}

#[test]
fn xpub_reports_each_new_topic_once() {
    // RFC 29 XPUB: "SHALL deliver these commands to its calling application"; libzmq reports
    // a subscription only when the topic is new, unless XPUB_VERBOSE.
    let mut s = socket(SocketType::XPub);
    attach(&mut s, P1, SocketType::Sub);
    attach(&mut s, P2, SocketType::Sub);
    subscribe(&mut s, P1, b"t");
    subscribe(&mut s, P2, b"t");
    subscribe(&mut s, P1, b"t");
    assert_eq!(pending(&mut s), vec![msg![b"\x01t"]]);
    cancel(&mut s, P1, b"t");
    assert_eq!(pending(&mut s), vec![], "P2 still subscribes");
    cancel(&mut s, P2, b"t");
    assert_eq!(pending(&mut s), vec![msg![b"\x00t"]]);
    cancel(&mut s, P2, b"never");
    assert_eq!(
        pending(&mut s),
        vec![msg![b"\x00never"]],
        "libzmq: not_found is reported"
    );
}

#[test]
fn xpub_verbose_reports_every_subscribe_and_verboser_every_unsubscribe() {
    let mut s = socket(SocketType::XPub);
    set(&mut s, PatternOption::XPubVerbose(true));
    attach(&mut s, P1, SocketType::Sub);
    attach(&mut s, P2, SocketType::Sub);
    subscribe(&mut s, P1, b"t");
    subscribe(&mut s, P2, b"t");
    cancel(&mut s, P1, b"t");
    assert_eq!(pending(&mut s), vec![msg![b"\x01t"], msg![b"\x01t"]]);
    set(&mut s, PatternOption::XPubVerboser(true));
    subscribe(&mut s, P1, b"t");
    cancel(&mut s, P1, b"t");
    assert_eq!(pending(&mut s), vec![msg![b"\x01t"], msg![b"\x00t"]]);
}

#[test]
fn xpub_reports_the_topics_a_departing_subscriber_leaves_orphaned() {
    // RFC 29 XPUB: "SHALL, if the subscriber peer disconnects prematurely, generate a suitable
    // unsubscribe request for the calling application."
    let mut s = socket(SocketType::XPub);
    attach(&mut s, P1, SocketType::Sub);
    attach(&mut s, P2, SocketType::Sub);
    for t in [&b"b"[..], b"a", b"shared"] {
        subscribe(&mut s, P1, t);
    }
    subscribe(&mut s, P2, b"shared");
    pending(&mut s);
    s.handle_peer_detached(now(), P1);
    assert_eq!(pending(&mut s), vec![msg![b"\x00a"], msg![b"\x00b"]]);
    send(&mut s, msg![b"a"]);
    send(&mut s, msg![b"shared"]);
    assert_eq!(msgs_to(&mut s, P2), vec![msg![b"shared"]]);
}

#[test]
fn xpub_accepts_zmtp30_subscription_messages() {
    let mut s = socket(SocketType::XPub);
    attach(&mut s, P1, SocketType::Sub);
    from_peer(&mut s, P1, msg![b"\x01news"]);
    assert_eq!(pending(&mut s), vec![msg![b"\x01news"]]);
    send(&mut s, msg![b"news!"]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"news!"]]);
    from_peer(&mut s, P1, msg![b"\x00news"]);
    send(&mut s, msg![b"news!"]);
    assert!(to_peer(&mut s, P1).is_empty());
}

#[test]
fn xpub_passes_other_upstream_messages_to_the_application_and_pub_drops_them() {
    let mut x = socket(SocketType::XPub);
    attach(&mut x, P1, SocketType::XSub);
    from_peer(&mut x, P1, msg![b"hello", b"upstream"]);
    assert_eq!(pending(&mut x), vec![msg![b"hello", b"upstream"]]);

    // RFC 29 PUB: "SHALL silently discard any messages that subscribers send it."
    let mut p = socket(SocketType::Pub);
    attach(&mut p, P1, SocketType::XSub);
    from_peer(&mut p, P1, msg![b"hello"]);
    subscribe(&mut p, P1, b"t");
    assert!(!p.is_readable());
    assert_eq!(p.recv(now()), Err(RecvError::NotSupported));
}

#[test]
fn xpub_welcome_message_goes_to_each_new_subscriber() {
    let mut s = socket(SocketType::XPub);
    set(&mut s, PatternOption::XPubWelcomeMsg(Some(b(b"welcome"))));
    attach(&mut s, P1, SocketType::Sub);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"welcome"]]);
    set(&mut s, PatternOption::XPubWelcomeMsg(None));
    attach(&mut s, P2, SocketType::Sub);
    assert!(to_peer(&mut s, P2).is_empty());
}

#[test]
fn xpub_manual_lets_the_application_decide_subscriptions() {
    let mut s = socket(SocketType::XPub);
    set(&mut s, PatternOption::XPubManual(true));
    attach(&mut s, P1, SocketType::Sub);
    attach(&mut s, P2, SocketType::Sub);
    subscribe(&mut s, P1, b"asked");
    subscribe(&mut s, P2, b"asked");
    send(&mut s, msg![b"asked"]);
    assert!(to_peer(&mut s, P1).is_empty(), "not applied by itself");
    assert_eq!(recv(&mut s), msg![b"\x01asked"]); // from P1: P1 is the last pipe
    set(&mut s, PatternOption::Subscribe(b(b"granted")));
    assert_eq!(recv(&mut s), msg![b"\x01asked"]); // from P2: reported again (manual)
    send(&mut s, msg![b"granted"]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"granted"]]);
    assert!(to_peer(&mut s, P2).is_empty());
}

#[test]
fn xpub_manual_last_value_sends_the_next_message_only_to_the_new_subscriber() {
    let mut s = socket(SocketType::XPub);
    set(&mut s, PatternOption::XPubManualLastValue(true));
    attach(&mut s, P1, SocketType::Sub);
    attach(&mut s, P2, SocketType::Sub);
    subscribe(&mut s, P1, b"t");
    recv(&mut s);
    set(&mut s, PatternOption::Subscribe(b(b"t")));
    subscribe(&mut s, P2, b"t");
    recv(&mut s);
    set(&mut s, PatternOption::Subscribe(b(b"t")));
    send(&mut s, msg![b"t last value"]);
    assert_eq!(msgs_to(&mut s, P2), vec![msg![b"t last value"]]);
    assert!(to_peer(&mut s, P1).is_empty());
    send(&mut s, msg![b"t update"]);
    assert_eq!(msgs_to(&mut s, P1), vec![msg![b"t update"]]);
    assert_eq!(msgs_to(&mut s, P2), vec![msg![b"t update"]]);
}

#[test]
fn pub_invert_matching_sends_to_subscribers_that_do_not_match() {
    let mut s = socket(SocketType::Pub);
    set(&mut s, PatternOption::InvertMatching(true));
    attach(&mut s, P1, SocketType::Sub);
    attach(&mut s, P2, SocketType::Sub);
    subscribe(&mut s, P1, b"a");
    subscribe(&mut s, P2, b"b");
    send(&mut s, msg![b"apple"]);
    assert!(to_peer(&mut s, P1).is_empty());
    assert_eq!(msgs_to(&mut s, P2), vec![msg![b"apple"]]);
}

#[test]
fn sub_sends_its_subscriptions_to_every_publisher() {
    // RFC 29 SUB: "SHALL send subscribe and unsubscribe requests to publishers depending on
    // the transport protocol used."
    let mut s = socket(SocketType::Sub);
    attach(&mut s, P1, SocketType::Pub);
    attach(&mut s, P2, SocketType::XPub);
    set(&mut s, PatternOption::Subscribe(b(b"a")));
    for p in [P1, P2] {
        assert_eq!(to_peer(&mut s, p), vec![Traffic::Subscribe(b(b"a"))]);
    }
}

#[test]
fn sub_replays_its_subscriptions_to_new_and_reconnected_publishers() {
    let mut s = socket(SocketType::Sub);
    set(&mut s, PatternOption::Subscribe(b(b"x")));
    set(&mut s, PatternOption::Subscribe(b(b"a")));
    connect(&mut s, P1);
    connected(&mut s, P1, SocketType::Pub);
    let all = vec![Traffic::Subscribe(b(b"a")), Traffic::Subscribe(b(b"x"))];
    assert_eq!(to_peer(&mut s, P1), all);
    // The connection drops and comes back: the publisher knows nothing any more.
    s.handle_peer_disconnected(now(), P1);
    connected(&mut s, P1, SocketType::Pub);
    assert_eq!(to_peer(&mut s, P1), all);
    // While disconnected, changes queue after the replayed set (libzmq's hiccup requeues the
    // set when the connection drops), so the next publisher ends with the right state.
    s.handle_peer_disconnected(now(), P1);
    set(&mut s, PatternOption::Unsubscribe(b(b"x")));
    connected(&mut s, P1, SocketType::Pub);
    let mut expected = all.clone();
    expected.push(Traffic::Cancel(b(b"x")));
    assert_eq!(to_peer(&mut s, P1), expected);
    // Traffic queued but not sent when the connection drops is replaced, not doubled.
    set(&mut s, PatternOption::Subscribe(b(b"q")));
    s.handle_peer_disconnected(now(), P1);
    connected(&mut s, P1, SocketType::Pub);
    assert_eq!(
        to_peer(&mut s, P1),
        vec![Traffic::Subscribe(b(b"a")), Traffic::Subscribe(b(b"q"))]
    );
}

#[test]
fn sub_filters_received_messages_by_prefix() {
    // libzmq's sub_t filters on the subscriber side too.
    type Case<'a> = (&'a [&'a [u8]], &'a [u8], bool);
    let table: &[Case<'_>] = &[
        (&[b"a"], b"abc", true),
        (&[b"a"], b"bca", false),
        (&[b"ab", b"x"], b"xyz", true),
        (&[b"abc"], b"ab", false),
        (&[b""], b"", true),
        (&[], b"anything", false),
        (&[b"\xff\x00"], b"\xff\x00\x01", true),
    ];
    for &(subs, topic, delivered) in table {
        let mut s = socket(SocketType::Sub);
        attach(&mut s, P1, SocketType::Pub);
        for &sub in subs {
            set(&mut s, PatternOption::Subscribe(b(sub)));
        }
        from_peer(&mut s, P1, msg![topic, b"body"]);
        assert_eq!(s.is_readable(), delivered, "{subs:?} {topic:?}");
        if delivered {
            assert_eq!(recv(&mut s), msg![topic, b"body"]);
        }
    }
}

#[test]
fn sub_counts_duplicate_subscriptions() {
    // libzmq's xsub_t sends every subscribe upstream, and an unsubscribe only when the last
    // reference goes.
    let mut s = socket(SocketType::Sub);
    attach(&mut s, P1, SocketType::Pub);
    set(&mut s, PatternOption::Subscribe(b(b"t")));
    set(&mut s, PatternOption::Subscribe(b(b"t")));
    assert_eq!(to_peer(&mut s, P1).len(), 2);
    set(&mut s, PatternOption::Unsubscribe(b(b"t")));
    assert!(to_peer(&mut s, P1).is_empty());
    from_peer(&mut s, P1, msg![b"t1"]);
    assert!(s.is_readable(), "one reference left");
    recv(&mut s);
    set(&mut s, PatternOption::Unsubscribe(b(b"t")));
    assert_eq!(to_peer(&mut s, P1), vec![Traffic::Cancel(b(b"t"))]);
    set(&mut s, PatternOption::Unsubscribe(b(b"t")));
    assert!(to_peer(&mut s, P1).is_empty(), "nothing left to cancel");
}

#[test]
fn sub_unsubscribe_drops_messages_already_queued_for_that_topic() {
    let mut s = socket(SocketType::Sub);
    attach(&mut s, P1, SocketType::Pub);
    set(&mut s, PatternOption::Subscribe(b(b"a")));
    set(&mut s, PatternOption::Subscribe(b(b"b")));
    from_peer(&mut s, P1, msg![b"a1"]);
    from_peer(&mut s, P1, msg![b"b1"]);
    set(&mut s, PatternOption::Unsubscribe(b(b"a")));
    assert_eq!(recv(&mut s), msg![b"b1"]);
    assert!(!s.is_readable());
}

#[test]
fn sub_invert_matching_delivers_what_does_not_match() {
    let mut s = socket(SocketType::Sub);
    set(&mut s, PatternOption::InvertMatching(true));
    attach(&mut s, P1, SocketType::Pub);
    set(&mut s, PatternOption::Subscribe(b(b"noise")));
    from_peer(&mut s, P1, msg![b"noise.1"]);
    from_peer(&mut s, P1, msg![b"signal"]);
    assert_eq!(recv(&mut s), msg![b"signal"]);
    assert!(!s.is_readable());
}

#[test]
fn sub_never_sends() {
    let mut s = socket(SocketType::Sub);
    attach(&mut s, P1, SocketType::Pub);
    assert!(!s.is_writable());
    let err = s
        .send(now(), msg![b"\x01t"])
        .expect_err("SUB does not send");
    assert_eq!(err.kind, SendErrorKind::NotSupported);
}

#[test]
fn xsub_turns_application_messages_into_subscriptions_and_passes_the_rest_upstream() {
    // RFC 29 XSUB: "SHALL accept subscription commands from its calling application" and
    // "SHALL send all messages to all connected publishers."
    let mut s = socket(SocketType::XSub);
    attach(&mut s, P1, SocketType::XPub);
    attach(&mut s, P2, SocketType::XPub);
    send(&mut s, msg![b"\x01t"]);
    send(&mut s, msg![b"upstream", b"data"]);
    send(&mut s, msg![b"\x00t"]);
    send(&mut s, msg![b"\x00never subscribed"]);
    for p in [P1, P2] {
        assert_eq!(
            to_peer(&mut s, p),
            vec![
                Traffic::Subscribe(b(b"t")),
                Traffic::Message(msg![b"upstream", b"data"]),
                Traffic::Cancel(b(b"t")),
            ]
        );
    }
    assert!(s.is_writable());
}

#[test]
fn xsub_does_not_filter_and_drops_upstream_traffic_for_a_full_publisher() {
    let mut s = socket(SocketType::XSub);
    set(&mut s, PatternOption::SndHwm(1));
    attach(&mut s, P1, SocketType::XPub);
    from_peer(&mut s, P1, msg![b"unsubscribed topic"]);
    assert_eq!(recv(&mut s), msg![b"unsubscribed topic"]);
    send(&mut s, msg![b"1"]);
    send(&mut s, msg![b"2"]); // full: lost, the sender does not block
    assert_eq!(to_peer(&mut s, P1), vec![Traffic::Message(msg![b"1"])]);
}

#[test]
fn pub_matches_64k_topics_against_10k_subscriptions() {
    // Matching walks the topic once, however many subscriptions there are, and nothing
    // recurses per octet: a 1 MiB subscription is as safe as a short one.
    let mut s = socket(SocketType::Pub);
    attach(&mut s, P1, SocketType::Sub);
    attach(&mut s, P2, SocketType::Sub);
    for i in 0..10_000u32 {
        subscribe(&mut s, P1, format!("topic/{i}/").as_bytes());
    }
    let mut long = vec![b'z'; 64 * 1024];
    subscribe(&mut s, P2, &long[..32 * 1024]);
    subscribe(&mut s, P2, &vec![b'z'; 1 << 20]);
    send(&mut s, Msg::single(long.clone()));
    assert!(to_peer(&mut s, P1).is_empty());
    assert_eq!(to_peer(&mut s, P2).len(), 1);
    long[..8].copy_from_slice(b"topic/7/");
    send(&mut s, Msg::single(long));
    assert_eq!(to_peer(&mut s, P1).len(), 1);
    assert!(to_peer(&mut s, P2).is_empty());
    s.handle_peer_detached(now(), P2);
    s.handle_peer_detached(now(), P1);
}
