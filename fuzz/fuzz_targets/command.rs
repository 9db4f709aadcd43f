//! Command decoding (RFC 23, RFC 37, RFC 24): both `Command::decode` over a stream and
//! `Command::from_body` over a frame body. Never panics; whatever decodes re-encodes to
//! bytes that decode to the same command.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use zmtp_proto::{Command, Decoded};

fuzz_target!(|data: &[u8]| {
    if let Ok(Decoded::Complete { value, consumed }) = Command::decode(data) {
        assert!(consumed <= data.len());
        check_round_trip(&value);
    }
    if let Ok(cmd) = Command::from_body(Bytes::copy_from_slice(data)) {
        assert!(cmd.body_len() <= data.len());
        check_round_trip(&cmd);
    }
});

fn check_round_trip(cmd: &Command) {
    let mut out = Vec::with_capacity(cmd.encoded_len());
    cmd.encode(&mut out);
    assert_eq!(out.len(), cmd.encoded_len());
    assert_eq!(
        Command::decode(&out),
        Ok(Decoded::Complete {
            value: cmd.clone(),
            consumed: out.len()
        })
    );
}
