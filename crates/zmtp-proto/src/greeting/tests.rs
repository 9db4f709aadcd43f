//! Tests for the greeting: golden bytes from RFC 37's worked example, legacy detection
//! (RFC 37 "Backwards Interoperability"), and decoding in any chunking.

use super::*;

/// The greeting of RFC 37 "Worked Example": signature, major 3, minor 1, "NULL", as-server 0.
fn rfc37_null_greeting() -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 0x03, 0x01];
    g.extend_from_slice(b"NULL");
    g.extend_from_slice(&[0; 16]);
    g.push(0x00);
    g.extend_from_slice(&[0; 31]);
    g
}

#[test]
fn null_greeting_encodes_to_the_rfc37_worked_example() {
    let mut out = Vec::new();
    let greeting = Greeting::new(MechanismName::NULL, false);
    greeting.encode(&mut out);
    assert_eq!(out, rfc37_null_greeting());
    assert_eq!(out.len(), greeting.encoded_len());
    assert_eq!(out.len(), 64);
}

#[test]
fn plain_server_greeting_sets_as_server_octet_32_rfc24() {
    let mut out = Vec::new();
    Greeting::new(MechanismName::PLAIN, true).encode(&mut out);
    assert_eq!(&out[12..17], b"PLAIN");
    assert_eq!(out[32], 1);
}

#[test]
fn greeting_decodes_what_it_encodes() {
    for (mechanism, as_server) in [
        (MechanismName::NULL, false),
        (MechanismName::PLAIN, true),
        (MechanismName::CURVE, false),
    ] {
        let greeting = Greeting::new(mechanism, as_server);
        let mut out = Vec::new();
        greeting.encode(&mut out);
        assert_eq!(
            Greeting::decode(&out),
            Ok(Decoded::Complete {
                value: greeting,
                consumed: 64
            })
        );
    }
}

#[test]
fn truncated_greeting_is_incomplete_at_every_length_never_an_error() {
    let full = rfc37_null_greeting();
    for len in 0..full.len() {
        assert_eq!(
            Greeting::decode(&full[..len]),
            Ok(Decoded::Incomplete { needed: 64 - len }),
            "prefix of {len} octets"
        );
    }
}

#[test]
fn greeting_decode_ignores_octets_after_the_64th() {
    let mut buf = rfc37_null_greeting();
    buf.extend_from_slice(b"\x04\x19\x05READY");
    assert!(matches!(
        Greeting::decode(&buf),
        Ok(Decoded::Complete { consumed: 64, .. })
    ));
}

#[test]
fn padding_is_not_significant_rfc23() {
    let mut buf = rfc37_null_greeting();
    buf[1..9].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(Greeting::decode(&buf).is_ok_and(|d| !d.is_incomplete()));
}

#[test]
fn bad_signature_last_octet_is_refused() {
    let mut buf = rfc37_null_greeting();
    buf[9] = 0x01; // bit 0 set (not ZMTP 1.0) but not 0x7F
    assert_eq!(Greeting::decode(&buf), Err(DecodeError::BadSignature));
    assert_eq!(Greeting::decode(&buf[..10]), Err(DecodeError::BadSignature));
}

#[test]
fn zmtp_1_0_peer_is_refused_from_its_first_octet_rfc37() {
    // A ZMTP 1.0 identity frame: 1-octet length, flags, identity.
    assert_eq!(
        Greeting::decode(&[0x01]),
        Err(DecodeError::LegacyPeer { version: 1 })
    );
    assert_eq!(
        Greeting::decode(&[0x06, 0x00, b'h', b'e']),
        Err(DecodeError::LegacyPeer { version: 1 })
    );
}

#[test]
fn zmtp_1_0_long_identity_header_is_refused_at_octet_9_rfc37() {
    // 0xFF then an 8-octet length then flags with bit 0 clear: a ZMTP 1.0 long frame.
    let header = [0xFF, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00];
    assert_eq!(
        Greeting::decode(&header[..9]),
        Ok(Decoded::Incomplete { needed: 55 })
    );
    assert_eq!(
        Greeting::decode(&header),
        Err(DecodeError::LegacyPeer { version: 1 })
    );
}

#[test]
fn zmtp_2_0_peer_is_refused_at_its_major_version_rfc37() {
    for (major, version) in [(0u8, 1u8), (1, 2), (2, 2)] {
        let mut buf = rfc37_null_greeting();
        buf[10] = major;
        assert_eq!(
            Greeting::decode(&buf[..11]),
            Err(DecodeError::LegacyPeer { version }),
            "major {major}"
        );
    }
}

#[test]
fn higher_versions_are_accepted_rfc23() {
    let mut buf = rfc37_null_greeting();
    buf[10] = 4;
    buf[11] = 7;
    let greeting = Greeting::decode(&buf).ok().and_then(Decoded::complete);
    assert_eq!(
        greeting.map(|g| g.version),
        Some(Version { major: 4, minor: 7 })
    );
}

#[test]
fn mechanism_must_be_an_upper_case_zero_padded_name_rfc23() {
    for bad in [&b"null"[..], b"NU\0LL", b"NULL\0\0x"] {
        let mut buf = rfc37_null_greeting();
        buf[12..32].fill(0);
        buf[12..12 + bad.len()].copy_from_slice(bad);
        assert_eq!(
            Greeting::decode(&buf),
            Err(DecodeError::BadMechanism),
            "{bad:?}"
        );
    }
}

#[test]
fn mechanism_names_are_validated_and_displayed() {
    assert_eq!(MechanismName::new(b"PLAIN"), Some(MechanismName::PLAIN));
    assert_eq!(
        MechanismName::new(b"X-ZAP_2.0+"),
        MechanismName::new(b"X-ZAP_2.0+")
    );
    assert_eq!(MechanismName::new(b""), None);
    assert_eq!(MechanismName::new(b"plain"), None);
    assert_eq!(MechanismName::new(&[b'A'; 21]), None);
    assert_eq!(MechanismName::CURVE.to_string(), "CURVE");
    assert_eq!(MechanismName::NULL.as_bytes(), b"NULL");
}

#[test]
fn any_nonzero_as_server_octet_counts_as_set() {
    let mut buf = rfc37_null_greeting();
    buf[32] = 2;
    let greeting = Greeting::decode(&buf).ok().and_then(Decoded::complete);
    assert_eq!(greeting.map(|g| g.as_server), Some(true));
}

#[test]
fn signature_carries_libzmq_padding() {
    let mut out = Vec::new();
    encode_signature(&mut out, 6);
    assert_eq!(out, [0xFF, 0, 0, 0, 0, 0, 0, 0, 6, 0x7F]);
}
