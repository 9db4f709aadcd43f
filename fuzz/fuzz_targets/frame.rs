//! Frame decoding (RFC 23 "Framing"): the input is cut into reads of fuzzer-chosen sizes and
//! fed to a `FrameDecoder` with a fuzzer-chosen maximum, and, when the fuzzer says so, large
//! headers taken off early (`take_headers_from`). Never panics, never consumes on error or
//! incomplete input (but a header taken off), decodes the same frames with headers taken
//! off or not, and every decoded frame re-encodes to a frame that decodes the same.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zmtp_proto::{Decoded, Frame, FrameDecoder, FrameHeader};

fuzz_target!(|data: &[u8]| {
    let Some((&[max_sel, chunk_sel], input)) = data.split_first_chunk::<2>() else {
        return;
    };
    let max = match max_sel % 4 {
        0 => None,
        1 => Some(u64::from(max_sel)),
        2 => Some(1 << 16),
        _ => Some(u64::MAX),
    };
    let chunk = usize::from(chunk_sel).max(1);
    let _ = FrameHeader::decode(input);
    let plain = decode(input, chunk, max, None);
    if max_sel & 0x80 != 0 {
        let taking = decode(input, chunk, max, Some(usize::from(chunk_sel >> 4)));
        assert_eq!(plain, taking);
    }
});

/// The frames decoded, and whether decoding stopped at an error.
fn decode(
    input: &[u8],
    chunk: usize,
    max: Option<u64>,
    take_from: Option<usize>,
) -> (Vec<Frame>, bool) {
    let mut decoder = FrameDecoder::new(max);
    if let Some(min) = take_from {
        decoder.take_headers_from(min);
    }
    let mut frames = Vec::new();
    let mut rx = BytesMut::new();
    for piece in input.chunks(chunk) {
        rx.extend_from_slice(piece);
        loop {
            let before = rx.len();
            let was_taken = decoder.taken_header().is_some();
            match decoder.decode(&mut rx) {
                Ok(Decoded::Complete { value, consumed }) => {
                    assert_eq!(before - rx.len(), consumed);
                    check_round_trip(&value);
                    frames.push(value);
                }
                Ok(Decoded::Incomplete { needed }) => {
                    assert!(needed > 0);
                    match decoder.taken_header() {
                        Some(body_len) if !was_taken => {
                            assert!(before - rx.len() <= 9, "only a header is taken");
                            assert!(take_from.is_some_and(|min| body_len >= min));
                            assert_eq!(rx.len() + needed, body_len);
                        }
                        _ => assert_eq!(rx.len(), before),
                    }
                    break;
                }
                Err(_) => {
                    assert_eq!(rx.len(), before);
                    return (frames, true);
                }
            }
        }
    }
    (frames, false)
}

fn check_round_trip(frame: &Frame) {
    let mut out = BytesMut::new();
    frame.encode(&mut out);
    assert_eq!(out.len(), frame.encoded_len());
    let again = FrameDecoder::new(None).decode(&mut out);
    assert_eq!(
        again,
        Ok(Decoded::Complete {
            value: frame.clone(),
            consumed: frame.encoded_len()
        })
    );
}
