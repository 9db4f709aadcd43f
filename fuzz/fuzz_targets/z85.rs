//! Z85 (RFC 32) and CURVE key parsing: never panics; whatever decodes re-encodes to the same
//! text; whatever encodes decodes back; keys parse from exactly 32 octets, 40 Z85 characters,
//! or 41 with a trailing NUL.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zmtp_proto::{CurvePublicKey, CurveSecretKey, z85};

fuzz_target!(|data: &[u8]| {
    // Binary -> text -> binary.
    match z85::encode(data) {
        Ok(text) => {
            assert_eq!(data.len() % 4, 0);
            assert_eq!(text.len(), data.len() / 4 * 5);
            assert_eq!(z85::decode(&text).as_deref(), Ok(data));
        }
        Err(_) => assert_ne!(data.len() % 4, 0),
    }
    // Text -> binary -> text.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(bytes) = z85::decode(text) {
            assert_eq!(text.len() % 5, 0);
            assert_eq!(bytes.len(), text.len() / 5 * 4);
            assert_eq!(z85::encode(&bytes).as_deref(), Ok(text));
        }
        if let Ok(key) = text.parse::<CurvePublicKey>() {
            assert_eq!(key.to_z85(), text);
        }
        if let Ok(key) = text.parse::<CurveSecretKey>() {
            assert_eq!(*key.to_z85(), text);
        }
    }
    // Keys from octets.
    match CurvePublicKey::try_from(data) {
        Ok(key) => match data.len() {
            32 => assert_eq!(&key.as_bytes()[..], data),
            40 => assert_eq!(key.to_z85().as_bytes(), data),
            41 => assert_eq!(key.to_z85().as_bytes(), &data[..40]),
            len => panic!("a key from {len} octets"),
        },
        Err(_) => assert_ne!(data.len(), 32),
    }
    let secret = CurveSecretKey::try_from(data);
    assert_eq!(
        secret.is_ok(),
        CurvePublicKey::try_from(data).is_ok(),
        "public and secret keys parse alike"
    );
});
