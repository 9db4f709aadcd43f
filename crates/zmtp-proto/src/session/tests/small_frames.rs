//! One-frame messages of up to `Msg::SMALL_MAX` octets are copied out of the read buffer
//! into the message; larger ones keep sharing it. Either way the peer sees the same
//! messages (RFC 23 framing), and the limits apply the same.

use super::*;

/// A message frame of `len` octets of `fill`, as the wire carries it.
fn frame(more: bool, len: usize, fill: u8) -> Vec<u8> {
    let mut wire = BytesMut::new();
    put_header(&mut wire, more, false, len);
    wire.extend_from_slice(&vec![fill; len]);
    wire.to_vec()
}

#[test]
fn small_one_frame_messages_are_copied_and_larger_ones_share_the_buffer_rfc23() {
    let (mut peer, now) = ready_with_scripted_peer(null(SocketType::Pull), SocketType::Push, 1);
    let sizes = [0, 1, Msg::SMALL_MAX, Msg::SMALL_MAX + 1, 300];
    for (i, &len) in sizes.iter().enumerate() {
        peer.rx.extend_from_slice(&frame(false, len, i as u8));
    }
    // A multipart message of small frames stays whole, frame for frame.
    peer.rx.extend_from_slice(&frame(true, 3, 7));
    peer.rx.extend_from_slice(&frame(false, 4, 8));
    let start = peer.rx.as_ptr() as usize;
    let end = start + peer.rx.len();
    let mut got = Vec::new();
    while let Ok(Some(SessionEvent::Traffic(Traffic::Message(msg)))) =
        peer.session.poll_event(now, &mut peer.rx)
    {
        got.push(msg);
    }
    assert_eq!(got.len(), sizes.len() + 1);
    for (i, (&len, msg)) in sizes.iter().zip(&got).enumerate() {
        assert_eq!(msg.frames(), [&vec![i as u8; len][..]], "{len} octets");
        assert_eq!(msg.small().is_some(), len <= Msg::SMALL_MAX, "{len} octets");
        if len > Msg::SMALL_MAX {
            let at = msg.frames()[0].as_ptr() as usize;
            assert!((start..end).contains(&at), "{len} octets read in place");
        }
    }
    assert_eq!(got[sizes.len()].frames(), [&[7; 3][..], &[8; 4][..]]);
    assert!(peer.rx.is_empty());
}

/// `poll_traffic` builds the copied messages in its queue: the same messages as
/// `poll_event`, in order.
#[test]
fn a_traffic_batch_copies_small_messages_as_single_polls_do_rfc23() {
    let (mut single, now) = ready_with_scripted_peer(null(SocketType::Pull), SocketType::Push, 1);
    let (mut batched, _) = ready_with_scripted_peer(null(SocketType::Pull), SocketType::Push, 1);
    let mut input = Vec::new();
    for i in 0..40u8 {
        let len = usize::from(i) * 3;
        input.extend_from_slice(&frame(i % 5 == 4, len, i));
    }
    input.extend_from_slice(&frame(false, 2, 99));
    single.feed(now, &input);
    let expected = single.traffic();
    assert_eq!(
        expected.len(),
        33,
        "32 one-frame messages and 8 two-frame ones"
    );
    batched.rx.extend_from_slice(&input);
    let mut queue = VecDeque::new();
    let polled = batched
        .session
        .poll_traffic(now, &mut batched.rx, &mut queue, usize::MAX);
    assert_eq!(polled, Ok(None));
    assert_eq!(Vec::from(queue), expected);
}

#[test]
fn the_size_limit_applies_to_copied_frames_too() {
    let mut config = null(SocketType::Pull);
    // Room for the peer's READY (26 octets), which the limit applies to as well.
    config.max_msg_size = Some(30);
    let (mut peer, now) = ready_with_scripted_peer(config, SocketType::Push, 1);
    peer.feed(now, &frame(false, 30, 1));
    assert_eq!(peer.traffic(), [Traffic::Message(msg![[1; 30]])]);
    peer.feed(now, &frame(false, 31, 2));
    assert_eq!(
        peer.error,
        Some(SessionError::Malformed(DecodeError::FrameTooLarge {
            len: 31,
            max: 30
        }))
    );
    assert!(peer.traffic().is_empty());
}

/// ROUTER puts the sender's identity in front of every message it receives, which would copy
/// an inline frame out again: its session shares even small bodies with the read buffer.
#[test]
fn a_router_shares_small_bodies_with_the_read_buffer() {
    let (mut peer, now) = ready_with_scripted_peer(null(SocketType::Router), SocketType::Dealer, 1);
    peer.rx.extend_from_slice(&frame(false, 5, 1));
    let start = peer.rx.as_ptr() as usize;
    let end = start + peer.rx.len();
    let event = peer.session.poll_event(now, &mut peer.rx);
    let Ok(Some(SessionEvent::Traffic(Traffic::Message(msg)))) = event else {
        panic!("expected a message, got {event:?}");
    };
    assert_eq!(msg.small(), None);
    assert_eq!(msg.frames(), [&[1; 5][..]]);
    let at = msg.frames()[0].as_ptr() as usize;
    assert!((start..end).contains(&at), "read in place");
}
