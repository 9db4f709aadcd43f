//! Fair-queueing: one busy peer never starves the others.

use super::*;

fn tag(m: &Msg) -> u8 {
    m.frames()[0][0]
}

#[test]
fn a_peer_with_one_message_is_served_within_two_turns_of_a_peer_with_a_thousand() {
    for t in [SocketType::Pull, SocketType::Dealer, SocketType::Router] {
        let mut s = socket(t);
        attach_as(&mut s, P1, SocketType::Push, Some(b"busy"));
        attach_as(&mut s, P2, SocketType::Push, Some(b"quiet"));
        for _ in 0..1000 {
            from_peer(&mut s, P1, msg![b"B"]);
        }
        from_peer(&mut s, P2, msg![b"Q"]);
        let first_two: Vec<Msg> = (0..2).map(|_| recv(&mut s)).collect();
        let tags: Vec<u8> = first_two
            .iter()
            .map(|m| {
                if t == SocketType::Router {
                    m.frames()[1][0]
                } else {
                    tag(m)
                }
            })
            .collect();
        assert!(
            tags.contains(&b'Q'),
            "{t}: the quiet peer waited behind {tags:?}"
        );
    }
}

#[test]
fn fair_queueing_serves_one_message_per_peer_per_round() {
    let mut s = socket(SocketType::Pull);
    let peers = [P1, P2, P3];
    for p in peers {
        attach(&mut s, p, SocketType::Push);
    }
    let counts = [5usize, 1, 3];
    for (p, (&n, name)) in peers.iter().zip(counts.iter().zip([b'a', b'b', b'c'])) {
        for _ in 0..n {
            from_peer(&mut s, *p, msg![[name]]);
        }
    }
    let order: Vec<u8> = std::iter::from_fn(|| s.recv(now()).ok())
        .map(|m| tag(&m))
        .collect();
    assert_eq!(order, b"abcacacaa".to_vec());
}

#[test]
fn a_peer_that_refills_rejoins_the_round() {
    let mut s = socket(SocketType::Pull);
    attach(&mut s, P1, SocketType::Push);
    attach(&mut s, P2, SocketType::Push);
    from_peer(&mut s, P1, msg![b"a"]);
    assert_eq!(tag(&recv(&mut s)), b'a');
    assert!(s.recv(now()).is_err());
    from_peer(&mut s, P2, msg![b"b"]);
    from_peer(&mut s, P1, msg![b"a"]);
    from_peer(&mut s, P2, msg![b"b"]);
    let order: Vec<u8> = std::iter::from_fn(|| s.recv(now()).ok())
        .map(|m| tag(&m))
        .collect();
    assert_eq!(order.len(), 3);
    assert_ne!(
        order[0], order[1],
        "alternates while both have input: {order:?}"
    );
}
