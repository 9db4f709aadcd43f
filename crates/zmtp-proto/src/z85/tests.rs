//! Tests for Z85: RFC 32's test vector, libzmq's key vectors, every error, and round trips.

use quickcheck::{QuickCheck, TestResult};

use super::*;

/// RFC 32 "Test Case": `HelloWorld` is these 8 octets.
const HELLO_WORLD: [u8; 8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];

#[test]
fn hello_world_is_the_rfc32_test_vector() {
    assert_eq!(encode(&HELLO_WORLD).as_deref(), Ok("HelloWorld"));
    assert_eq!(decode("HelloWorld"), Ok(HELLO_WORLD.to_vec()));
}

#[test]
fn extremes_encode_to_the_first_and_last_representable_groups() {
    assert_eq!(encode(&[0, 0, 0, 0]).as_deref(), Ok("00000"));
    // 2^32 - 1 = 82 * 85^4 + 23 * 85^3 + 4 * 85^2 + 22 * 85 + 20 -> "%nSc0" (libzmq agrees).
    assert_eq!(encode(&[0xFF; 4]).as_deref(), Ok("%nSc0"));
    assert_eq!(decode("%nSc0"), Ok(vec![0xFF; 4]));
}

#[test]
fn a_group_above_2_pow_32_is_an_overflow_not_a_wrap() {
    // libzmq's tests/test_base85.cpp: one more than "%nSc0", and the largest group.
    assert_eq!(decode("%nSc1"), Err(Z85Error::Overflow { position: 0 }));
    assert_eq!(decode("#####"), Err(Z85Error::Overflow { position: 0 }));
    assert_eq!(
        decode("00000#####"),
        Err(Z85Error::Overflow { position: 5 })
    );
}

#[test]
fn curve_keys_from_libzmqs_test_suite_decode_to_32_octets() {
    // tests/testutil_security.cpp: the server's and client's key pairs.
    for key in [
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
        "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6",
        "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
        "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs",
    ] {
        let bytes = decode(key).expect("a valid key");
        assert_eq!(bytes.len(), 32);
        assert_eq!(encode(&bytes).as_deref(), Ok(key));
    }
}

#[test]
fn libzmqs_regular_vector_round_trips() {
    let text = "r^/rM9M=rMToK)63O8dCvd9D<PY<7iGlC+{BiSnG";
    let bytes = decode(text).expect("valid");
    assert_eq!(encode(&bytes).as_deref(), Ok(text));
}

#[test]
fn empty_input_round_trips() {
    assert_eq!(encode(&[]).as_deref(), Ok(""));
    assert_eq!(decode(""), Ok(Vec::new()));
}

#[test]
fn binary_not_a_multiple_of_4_is_refused() {
    for len in [1, 2, 3, 5, 31, 33] {
        assert_eq!(encode(&vec![0; len]), Err(Z85Error::BinaryLength { len }));
    }
}

#[test]
fn text_not_a_multiple_of_5_is_refused() {
    for text in ["0", "0000", "000000", "HelloWorl"] {
        assert_eq!(decode(text), Err(Z85Error::TextLength { len: text.len() }));
    }
}

#[test]
fn characters_outside_the_alphabet_are_refused_with_their_position() {
    for (text, position, octet) in [
        ("Hello World", 0, 0),
        (" ello", 0, b' '),
        ("Hell\"", 4, b'"'),
        ("000~0", 3, b'~'),
        ("0000,", 4, b','),
        ("0000;", 4, b';'),
        ("0000\\", 4, b'\\'),
        ("0000_", 4, b'_'),
        ("0000|", 4, b'|'),
        ("0000'", 4, b'\''),
        ("0000`", 4, b'`'),
    ] {
        let got = decode(text);
        if text.len() % 5 != 0 {
            assert!(matches!(got, Err(Z85Error::TextLength { .. })), "{text}");
            continue;
        }
        assert_eq!(
            got,
            Err(Z85Error::InvalidCharacter { position, octet }),
            "{text}"
        );
    }
    // Multi-octet UTF-8 is refused octet by octet.
    assert!(matches!(
        decode("0000é"),
        Err(Z85Error::TextLength { .. }) | Err(Z85Error::InvalidCharacter { .. })
    ));
    assert!(matches!(
        decode("000é"),
        Err(Z85Error::InvalidCharacter { position: 3, .. })
    ));
}

#[test]
fn every_alphabet_character_decodes_to_its_index() {
    for (value, &c) in ALPHABET.iter().enumerate() {
        let text = format!("0000{}", char::from(c));
        assert_eq!(
            decode(&text),
            Ok((value as u32).to_be_bytes().to_vec()),
            "{}",
            char::from(c)
        );
    }
}

#[test]
fn encode_then_decode_is_the_identity() {
    fn prop(data: Vec<u8>) -> bool {
        let data = &data[..data.len() / 4 * 4];
        let text = encode(data).expect("a multiple of 4");
        text.len() == data.len() / 4 * 5 && decode(&text).as_deref() == Ok(data)
    }
    QuickCheck::new()
        .tests(500)
        .quickcheck(prop as fn(Vec<u8>) -> bool);
}

#[test]
fn decode_of_arbitrary_text_never_panics_and_reencodes_exactly() {
    fn prop(text: String) -> TestResult {
        match decode(&text) {
            Ok(bytes) => TestResult::from_bool(encode(&bytes).as_deref() == Ok(text.as_str())),
            Err(_) => TestResult::passed(),
        }
    }
    QuickCheck::new()
        .tests(500)
        .quickcheck(prop as fn(String) -> TestResult);
}
