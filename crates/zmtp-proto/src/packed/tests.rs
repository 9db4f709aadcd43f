use bytes::{Bytes, BytesMut};

use super::*;
use crate::frame::Frame;

fn msg_of(frames: &[&[u8]]) -> Msg {
    Msg::from_frames(frames.iter().map(|f| Bytes::copy_from_slice(f)))
}

/// The octets RFC 23 puts on the wire for `msg`: each frame's header (MORE on all but the
/// last, a long size above 255 octets) and body, written by the frame encoder.
fn wire_of(msg: &Msg) -> BytesMut {
    let mut out = BytesMut::new();
    let last = msg.len() - 1;
    for (i, body) in msg.frames().iter().enumerate() {
        let frame = Frame::message(Bytes::copy_from_slice(body), i < last);
        FrameHeader::new(frame.more, false, body.len() as u64).encode(&mut out);
        out.extend_from_slice(&frame.body);
    }
    out
}

#[test]
fn packed_messages_are_their_rfc23_frames_back_to_back() {
    let long = vec![7u8; 256];
    let msgs = [
        msg_of(&[b"hello"]),
        msg_of(&[b"", b"two", b"frames and more"]),
        msg_of(&[b""]),
        msg_of(&[&long[..255], &long]),
    ];
    let mut packer = FramePacker::new();
    let mut sealed = Vec::new();
    for msg in &msgs {
        assert!(FramePacker::fits(msg));
        sealed.extend(packer.push(msg));
    }
    sealed.extend(packer.seal());
    assert!(packer.is_empty());
    assert_eq!(packer.seal(), None);
    let mut expected = BytesMut::new();
    for msg in &msgs {
        expected.extend_from_slice(&wire_of(msg));
    }
    let wire: Vec<u8> = sealed.iter().flat_map(|f| f.wire().to_vec()).collect();
    assert_eq!(wire, &expected[..]);
    assert_eq!(sealed.iter().map(Framed::messages).sum::<usize>(), 4);
    assert_eq!(
        sealed.iter().map(Framed::payload_len).sum::<usize>(),
        msgs.iter().map(Msg::payload_len).sum::<usize>()
    );
    let back: Vec<Msg> = sealed.into_iter().flat_map(Framed::into_messages).collect();
    assert_eq!(back, msgs);
}

#[test]
fn a_packer_starts_small_and_grows_while_nobody_takes_its_buffers() {
    let msg = msg_of(&[&[5u8; 64]]);
    let mut packer = FramePacker::new();
    packer.push(&msg);
    let first = packer.seal().expect("one message");
    assert_eq!(first.wire().len(), 66);
    // Taken after each message (request-reply): each buffer is the smallest.
    packer.push(&msg);
    assert!(packer.buf.capacity() <= BUFFER_MIN);
    // A stream nobody takes: buffers fill and the next ones double, up to the largest.
    let mut sizes = Vec::new();
    for _ in 0..2_000 {
        if let Some(full) = packer.push(&msg) {
            sizes.push(full.wire().len());
        }
    }
    assert!(sizes.windows(2).all(|w| w[1] >= w[0]), "{sizes:?}");
    assert!(
        sizes
            .last()
            .is_some_and(|&n| n > BUFFER_MAX / 2 && n <= BUFFER_MAX)
    );
}

#[test]
fn a_full_buffer_is_sealed_before_the_message_that_does_not_fit() {
    let body = vec![1u8; PACKED_MESSAGE_MAX];
    let msg = msg_of(&[&body]);
    let mut packer = FramePacker::new();
    let mut sealed = Vec::new();
    for _ in 0..100 {
        sealed.extend(packer.push(&msg));
    }
    sealed.extend(packer.seal());
    assert!(sealed.len() > 1, "100 KiB do not fit one buffer");
    assert!(sealed.iter().all(|f| f.wire().len() <= BUFFER_MAX));
    assert_eq!(sealed.iter().map(Framed::messages).sum::<usize>(), 100);
    let back: Vec<Msg> = sealed.into_iter().flat_map(Framed::into_messages).collect();
    assert_eq!(back.len(), 100);
    assert!(back.iter().all(|m| *m == msg), "in order, whole");
}

#[test]
fn only_messages_up_to_the_limit_fit() {
    let at = vec![0u8; PACKED_MESSAGE_MAX];
    assert!(FramePacker::fits(&msg_of(&[
        &at[..PACKED_MESSAGE_MAX - 1],
        b"x"
    ])));
    assert!(!FramePacker::fits(&msg_of(&[&at, b"x"])));
}

#[test]
fn a_truncated_buffer_ends_its_messages_without_panicking() {
    let mut packer = FramePacker::new();
    packer.push(&msg_of(&[b"one"]));
    packer.push(&msg_of(&[b"two", b"three"]));
    let wire = packer.seal().expect("packed").into_wire();
    for cut in 0..wire.len() {
        let framed = Framed {
            wire: wire.slice(..cut),
            messages: 2,
            payload: 11,
        };
        let back: Vec<Msg> = framed.into_messages().collect();
        assert!(
            back.len() <= 1,
            "cut at {cut}: the second message is never whole"
        );
    }
}

/// Unpacked for a receiver in the process: the same messages, small one-frame ones held
/// inline (no slice of the buffer), the others sliced from it.
#[test]
fn unpacked_messages_are_the_packed_ones_small_ones_inline() {
    let long = vec![9u8; 300];
    let msgs = [
        msg_of(&[b"one"]),
        msg_of(&[&[1u8; 64]]),
        msg_of(&[&[2u8; 65]]),
        msg_of(&[b"", b"multi", b"part"]),
        msg_of(&[&long]),
        msg_of(&[b""]),
    ];
    let mut packer = FramePacker::new();
    for msg in &msgs {
        assert_eq!(packer.push(msg), None);
    }
    let framed = packer.seal().expect("packed");
    let mut back = VecDeque::new();
    assert_eq!(
        framed.unpack_into(&mut back),
        None,
        "slices keep the buffer"
    );
    assert_eq!(Vec::from(back.clone()), msgs);
    let inline: Vec<bool> = back.iter().map(|m| m.small().is_some()).collect();
    assert_eq!(inline, [true, true, false, false, false, true]);
}

/// With only small one-frame messages nothing keeps the buffer: it comes back empty, with
/// its room, and a packer given it fills it again instead of allocating.
#[test]
fn a_buffer_whose_messages_were_all_copied_out_is_given_back_for_reuse() {
    let mut packer = FramePacker::new();
    for i in 0..10u8 {
        packer.push(&msg_of(&[&[i; 40]]));
    }
    let framed = packer.seal().expect("packed");
    let mut back = VecDeque::new();
    let buf = framed.unpack_into(&mut back).expect("the buffer back");
    assert!(buf.is_empty());
    let room = buf.capacity();
    assert!(room >= 10 * 42);
    assert_eq!(back.len(), 10);
    assert_eq!(back[3], msg_of(&[&[3u8; 40]]));
    packer.recycle(buf);
    packer.prepare(4096);
    packer.push(&msg_of(&[b"again"]));
    let framed = packer.seal().expect("packed");
    assert_eq!(framed.wire().len(), 7);
    let mut again = VecDeque::new();
    let buf = framed.unpack_into(&mut again).expect("the buffer back");
    assert_eq!(buf.capacity(), room, "the same buffer, not a new one");
    assert_eq!(Vec::from(again), [msg_of(&[b"again"])]);
}

/// A buffer someone else still holds is not given back.
#[test]
fn a_shared_buffer_is_not_given_back() {
    let mut packer = FramePacker::new();
    packer.push(&msg_of(&[b"x"]));
    let framed = packer.seal().expect("packed");
    let other = framed.wire().clone();
    assert_eq!(framed.unpack_into(&mut VecDeque::new()), None);
    assert_eq!(&other[..], b"\x00\x01x");
}
