//! Greeting decoding (RFC 23): never panics; whatever decodes re-encodes to a greeting that
//! decodes to the same value; a prefix of valid input is never an error where the whole was
//! accepted.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zmtp_proto::{Decoded, Greeting};

fuzz_target!(|data: &[u8]| {
    let whole = Greeting::decode(data);
    if let Ok(Decoded::Complete { value, consumed }) = whole {
        assert_eq!(consumed, Greeting::LEN);
        let mut out = Vec::with_capacity(Greeting::LEN);
        value.encode(&mut out);
        assert_eq!(out.len(), value.encoded_len());
        assert_eq!(
            Greeting::decode(&out),
            Ok(Decoded::Complete {
                value,
                consumed: Greeting::LEN
            })
        );
        for len in 0..Greeting::LEN {
            assert_eq!(
                Greeting::decode(&data[..len]),
                Ok(Decoded::Incomplete {
                    needed: Greeting::LEN - len
                })
            );
        }
    }
});
