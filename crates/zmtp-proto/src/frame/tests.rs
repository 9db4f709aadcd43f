//! Tests for framing (RFC 23 "Framing"): golden short and long frames, reserved flags, the
//! 2^63 bound (CVE-2019-6250), the maximum message size, zero-copy bodies.

use bytes::BufMut;

use super::*;

fn decode_all(decoder: &mut FrameDecoder, rx: &mut BytesMut) -> Result<Vec<Frame>, DecodeError> {
    let mut frames = Vec::new();
    while let Decoded::Complete { value, .. } = decoder.decode(rx)? {
        frames.push(value);
    }
    Ok(frames)
}

#[test]
fn short_message_frame_golden_bytes_rfc23() {
    // message-last = %x00 short-size message-body
    let frame = Frame::message(Bytes::from_static(b"hello"), false);
    let mut out = Vec::new();
    frame.encode(&mut out);
    assert_eq!(out, b"\x00\x05hello");
    assert_eq!(frame.encoded_len(), 7);
    // message-more = %x01 short-size message-body
    let mut out = Vec::new();
    Frame::message(Bytes::from_static(b"hi"), true).encode(&mut out);
    assert_eq!(out, b"\x01\x02hi");
}

#[test]
fn long_message_frame_golden_bytes_rfc23() {
    // message-last = %x02 long-size message-body, 8-octet size in network order
    let body = vec![0xAB; 256];
    let mut out = Vec::new();
    Frame::message(Bytes::from(body.clone()), false).encode(&mut out);
    assert_eq!(&out[..9], &[0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
    assert_eq!(&out[9..], &body[..]);
    let mut out = Vec::new();
    Frame::message(Bytes::from(body), true).encode(&mut out);
    assert_eq!(out[0], 0x03);
}

#[test]
fn command_frames_use_flags_4_and_6_rfc23() {
    let mut out = Vec::new();
    FrameHeader::new(false, true, 5).encode(&mut out);
    assert_eq!(out, [0x04, 5]);
    let mut out = Vec::new();
    FrameHeader::new(false, true, 300).encode(&mut out);
    assert_eq!(out, [0x06, 0, 0, 0, 0, 0, 0, 0x01, 0x2C]);
}

#[test]
fn long_size_for_a_short_body_is_accepted() {
    // RFC 23 says SHOULD use the short form, so the long form is still valid.
    let mut rx = BytesMut::from(&b"\x02\x00\x00\x00\x00\x00\x00\x00\x02ok"[..]);
    let frame = FrameDecoder::new(None).decode(&mut rx);
    assert_eq!(
        frame,
        Ok(Decoded::Complete {
            value: Frame::message(Bytes::from_static(b"ok"), false),
            consumed: 11
        })
    );
    let header = FrameHeader::decode(b"\x02\x00\x00\x00\x00\x00\x00\x00\x02");
    assert!(matches!(
        header,
        Ok(Decoded::Complete {
            value: FrameHeader {
                long: true,
                len: 2,
                ..
            },
            consumed: 9
        })
    ));
}

#[test]
fn reserved_flag_bits_are_refused_rfc23() {
    for bit in 3..8 {
        let flags = 1u8 << bit;
        let mut rx = BytesMut::from(&[flags, 0][..]);
        assert_eq!(
            FrameDecoder::new(None).decode(&mut rx),
            Err(DecodeError::ReservedFlags { flags })
        );
        // Refused from the flags octet alone.
        assert_eq!(
            FrameHeader::decode(&[flags]),
            Err(DecodeError::ReservedFlags { flags })
        );
    }
}

#[test]
fn frame_length_2_pow_63_is_refused_without_allocating_cve_2019_6250() {
    for len in [1u64 << 63, u64::MAX] {
        let mut rx = BytesMut::with_capacity(64);
        rx.put_u8(0x02);
        rx.put_u64(len);
        rx.put_slice(b"tiny");
        let capacity = rx.capacity();
        for max in [None, Some(1 << 20)] {
            let err = FrameDecoder::new(max).decode(&mut rx);
            assert_eq!(
                err,
                Err(DecodeError::LengthOutOfRange { len }),
                "max {max:?}"
            );
            assert_eq!(rx.len(), 13, "input untouched");
            assert_eq!(rx.capacity(), capacity, "nothing reserved");
        }
        assert_eq!(
            FrameHeader::decode(&rx),
            Err(DecodeError::LengthOutOfRange { len })
        );
    }
}

#[test]
fn a_huge_announced_frame_costs_nothing_until_it_arrives() {
    let mut rx = BytesMut::with_capacity(64);
    rx.put_u8(0x02);
    rx.put_u64(1 << 62);
    rx.put_slice(b"start");
    let capacity = rx.capacity();
    let decoded = FrameDecoder::new(None).decode(&mut rx);
    assert_eq!(
        decoded,
        Ok(Decoded::Incomplete {
            needed: (1usize << 62) - 5
        })
    );
    assert_eq!(rx.capacity(), capacity);
}

#[test]
fn max_msg_size_is_checked_from_the_header_before_the_body_arrives() {
    let mut rx = BytesMut::from(&[0x00, 11][..]);
    assert_eq!(
        FrameDecoder::new(Some(10)).decode(&mut rx),
        Err(DecodeError::FrameTooLarge { len: 11, max: 10 })
    );
    let mut rx = BytesMut::from(&[0x00, 10][..]);
    assert_eq!(
        FrameDecoder::new(Some(10)).decode(&mut rx),
        Ok(Decoded::Incomplete { needed: 10 })
    );
}

#[test]
fn max_msg_size_applies_to_the_multipart_total() {
    let mut rx = BytesMut::new();
    Frame::message(Bytes::from_static(b"123456"), true).encode(&mut rx);
    // A command between frames does not count towards the message.
    Frame::command(Bytes::from_static(b"\x04PONG")).encode(&mut rx);
    Frame::message(Bytes::from_static(b"7890"), false).encode(&mut rx);
    Frame::message(Bytes::from_static(b"123456"), true).encode(&mut rx);
    Frame::message(Bytes::from_static(b"78901"), false).encode(&mut rx);
    let mut decoder = FrameDecoder::new(Some(10));
    for _ in 0..3 {
        assert!(matches!(
            decoder.decode(&mut rx),
            Ok(Decoded::Complete { .. })
        ));
    }
    assert!(!decoder.in_message(), "the 10-octet message completed");
    assert!(matches!(
        decoder.decode(&mut rx),
        Ok(Decoded::Complete { .. })
    ));
    assert!(decoder.in_message());
    assert_eq!(
        decoder.decode(&mut rx),
        Err(DecodeError::MessageTooLarge { len: 11, max: 10 })
    );
}

#[test]
fn empty_more_frames_do_not_count_towards_the_maximum() {
    let mut rx = BytesMut::new();
    Frame::message(Bytes::new(), true).encode(&mut rx);
    Frame::message(Bytes::from_static(b"0123456789"), false).encode(&mut rx);
    let frames = decode_all(&mut FrameDecoder::new(Some(10)), &mut rx);
    assert_eq!(frames.map(|f| f.len()), Ok(2));
}

#[test]
fn command_frames_ignore_the_more_bit() {
    let mut rx = BytesMut::from(&b"\x05\x05\x04PONG"[..]);
    let frame = FrameDecoder::new(None).decode(&mut rx);
    assert_eq!(
        frame.map(Decoded::complete),
        Ok(Some(Frame::command(Bytes::from_static(b"\x04PONG"))))
    );
}

#[test]
fn bodies_are_slices_of_the_receive_buffer() {
    let mut rx = BytesMut::new();
    Frame::message(Bytes::from(vec![1u8; 5000]), false).encode(&mut rx);
    let body_ptr = rx[9..].as_ptr();
    let frame = FrameDecoder::new(None)
        .decode(&mut rx)
        .ok()
        .and_then(Decoded::complete);
    assert_eq!(frame.map(|f| f.body.as_ptr()), Some(body_ptr));
}

#[test]
fn many_frames_decode_from_one_buffer_and_a_partial_one_waits() {
    let mut rx = BytesMut::new();
    for i in 0..100u8 {
        Frame::message(Bytes::from(vec![i; usize::from(i)]), i % 3 == 0).encode(&mut rx);
    }
    rx.put_slice(&[0x00, 9, 1, 2]);
    let mut decoder = FrameDecoder::new(None);
    let frames = decode_all(&mut decoder, &mut rx).unwrap_or_default();
    assert_eq!(frames.len(), 100);
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!(frame.body.len(), i);
        assert_eq!(frame.more, i % 3 == 0);
    }
    assert_eq!(rx.len(), 4);
    assert_eq!(
        decoder.decode(&mut rx),
        Ok(Decoded::Incomplete { needed: 7 })
    );
}

#[test]
fn header_decode_reports_missing_octets() {
    assert_eq!(
        FrameHeader::decode(&[]),
        Ok(Decoded::Incomplete { needed: 2 })
    );
    assert_eq!(
        FrameHeader::decode(&[0x00]),
        Ok(Decoded::Incomplete { needed: 1 })
    );
    assert_eq!(
        FrameHeader::decode(&[0x02, 0, 0]),
        Ok(Decoded::Incomplete { needed: 6 })
    );
}

#[test]
fn a_maximum_also_bounds_the_frames_of_one_message() {
    let mut decoder = FrameDecoder::new(Some(64));
    assert_eq!(decoder.max_frames(), Some(128));
    let mut rx = BytesMut::new();
    for _ in 0..129 {
        Frame::message(Bytes::new(), true).encode(&mut rx);
    }
    for _ in 0..128 {
        assert!(matches!(
            decoder.decode(&mut rx),
            Ok(Decoded::Complete { .. })
        ));
    }
    assert_eq!(
        decoder.decode(&mut rx),
        Err(DecodeError::TooManyFrames { max: 128 })
    );
    assert_eq!(FrameDecoder::new(Some(1 << 20)).max_frames(), Some(1 << 15));
    assert_eq!(FrameDecoder::new(None).max_frames(), None);
}

/// With headers taken off early, a large frame whose body is still arriving leaves its body
/// alone at the front of the buffer; the frames decoded are the same, however the octets are
/// cut into reads, including a maximum message size checked once.
#[test]
fn taking_large_headers_off_early_decodes_the_same_frames_in_any_chunking() {
    let mut wire = BytesMut::new();
    let sizes = [3usize, 70_000, 0, 5000, 4999, 65_536, 12];
    for (i, size) in sizes.iter().enumerate() {
        Frame::message(Bytes::from(vec![i as u8; *size]), i % 2 == 0).encode(&mut wire);
    }
    Frame::command(Bytes::from(vec![9u8; 6000])).encode(&mut wire);
    let expected = decode_all(&mut FrameDecoder::new(None), &mut wire.clone()).unwrap_or_default();
    assert_eq!(expected.len(), sizes.len() + 1);
    for chunk in [1, 7, 4096, 65_536, 100_000] {
        for max in [None, Some(200_000)] {
            let mut decoder = FrameDecoder::new(max);
            decoder.take_headers_from(5000);
            let mut rx = BytesMut::new();
            let mut frames = Vec::new();
            for piece in wire.chunks(chunk) {
                rx.put_slice(piece);
                frames.extend(decode_all(&mut decoder, &mut rx).expect("valid frames"));
                if let Some(body_len) = decoder.taken_header() {
                    assert!(body_len >= 5000);
                    assert!(rx.len() < body_len, "a whole body is decoded at once");
                }
            }
            assert!(rx.is_empty() && decoder.taken_header().is_none());
            assert_eq!(frames, expected, "chunks of {chunk}, maximum {max:?}");
        }
    }
}

/// A header taken off early is checked first: a frame over the maximum is refused before
/// its body arrives, with headers taken off or not.
#[test]
fn a_large_header_taken_off_early_is_still_checked_against_the_maximum() {
    let mut decoder = FrameDecoder::new(Some(10_000));
    decoder.take_headers_from(1000);
    let mut rx = BytesMut::new();
    FrameHeader::new(false, false, 10_001).encode(&mut rx);
    assert_eq!(
        decoder.decode(&mut rx),
        Err(DecodeError::FrameTooLarge {
            len: 10_001,
            max: 10_000
        })
    );
    assert_eq!(decoder.taken_header(), None);
}
