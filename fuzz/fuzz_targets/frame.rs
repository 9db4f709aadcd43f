//! Frame decoding (RFC 23 "Framing"): the input is cut into reads of fuzzer-chosen sizes and
//! fed to a `FrameDecoder` with a fuzzer-chosen maximum. Never panics, never consumes on error
//! or incomplete input, and every decoded frame re-encodes to a frame that decodes the same.

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
    let mut decoder = FrameDecoder::new(max);
    let mut rx = BytesMut::new();
    for piece in input.chunks(chunk) {
        rx.extend_from_slice(piece);
        loop {
            let before = rx.len();
            match decoder.decode(&mut rx) {
                Ok(Decoded::Complete { value, consumed }) => {
                    assert_eq!(before - rx.len(), consumed);
                    check_round_trip(&value);
                }
                Ok(Decoded::Incomplete { needed }) => {
                    assert!(needed > 0);
                    assert_eq!(rx.len(), before);
                    break;
                }
                Err(_) => {
                    assert_eq!(rx.len(), before);
                    return;
                }
            }
        }
    }
});

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
