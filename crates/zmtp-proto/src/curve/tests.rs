//! Tests for CURVE keys, the box primitives and the command layouts: libzmq's key pairs and
//! NaCl's `crypto_box` test vector as golden data, a cross-check against RustCrypto's
//! `crypto_box`, small-order keys, the seeded generator, and wire round trips.

use bytes::Bytes;
use quickcheck::{QuickCheck, TestResult};

use super::crypto::{BoxKey, SeededRng, TAG_LEN, is_weak_public_key, public_from_secret};
use super::*;
use crate::command::CommandKind;
use crate::error::DecodeError;

fn hex(parts: &[&str]) -> Vec<u8> {
    let s: String = parts.concat();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hex32(s: &str) -> [u8; 32] {
    hex(&[s]).try_into().expect("32 octets")
}

// ---- keys ----------------------------------------------------------------------------------------

/// libzmq's tests/test_security_curve.cpp and test_heartbeats.cpp: (secret, public).
const LIBZMQ_PAIRS: [(&str, &str); 2] = [
    (
        "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6",
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
    ),
    (
        "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs",
        "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
    ),
];

#[test]
fn curve_public_matches_libzmqs_key_pairs() {
    for (secret, public) in LIBZMQ_PAIRS {
        let secret: CurveSecretKey = secret.parse().expect("valid Z85");
        let public: CurvePublicKey = public.parse().expect("valid Z85");
        assert_eq!(curve_public(&secret), public);
        assert_eq!(CurveKeyPair::from_secret(secret).public, public);
    }
}

#[test]
fn public_key_derivation_matches_nacl() {
    // NaCl's tests/box.c: Alice's and Bob's key pairs.
    let alice_sk = hex32("68f208412d8dd5db9d0c6d18512e86f0ec75665ab841372d57b042b27ef89d4c");
    let alice_pk = hex32("ac3a70ba35df3c3fae427a7c72021d68f2c1e044040b75f17313c0c8b5d4241d");
    let bob_sk = hex32("b581fb5ae182a16f603f39270d4e3b95bc008310b727a11dd4e784a0044d461b");
    let bob_pk = hex32("e8980c86e032f1eb2975052e8d65bddd15c3b59641174ec9678a53789d92c754");
    assert_eq!(public_from_secret(&alice_sk), alice_pk);
    assert_eq!(public_from_secret(&bob_sk), bob_pk);
}

#[test]
fn keys_parse_from_32_octets_40_z85_characters_or_41_with_a_nul() {
    let (secret_z85, public_z85) = LIBZMQ_PAIRS[0];
    let public: CurvePublicKey = public_z85.parse().expect("valid");
    assert_eq!(public.to_z85(), public_z85);
    assert_eq!(public.to_string(), public_z85);
    assert_eq!(CurvePublicKey::try_from(&public.as_bytes()[..]), Ok(public));
    assert_eq!(CurvePublicKey::try_from(public_z85.as_bytes()), Ok(public));
    let mut with_nul = public_z85.as_bytes().to_vec();
    with_nul.push(0);
    assert_eq!(CurvePublicKey::try_from(&with_nul[..]), Ok(public));

    let secret: CurveSecretKey = secret_z85.parse().expect("valid");
    assert_eq!(*secret.to_z85(), secret_z85);
    assert_eq!(
        CurveSecretKey::try_from(&secret.as_bytes()[..]),
        Ok(secret.clone())
    );
    assert_eq!(CurveSecretKey::from(*secret.as_bytes()), secret);
}

#[test]
fn malformed_keys_are_typed_errors() {
    for len in [0, 31, 33, 39, 42] {
        assert_eq!(
            CurvePublicKey::try_from(&vec![b'0'; len][..]),
            Err(KeyError::Length { len })
        );
        assert!(matches!(
            CurveSecretKey::try_from(&vec![b'0'; len][..]),
            Err(KeyError::Length { len: l }) if l == len
        ));
    }
    // 41 octets without the trailing NUL.
    assert_eq!(
        CurvePublicKey::try_from(&[b'0'; 41][..]),
        Err(KeyError::Length { len: 41 })
    );
    // 40 characters, one outside the alphabet.
    let bad = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf~";
    assert_eq!(
        bad.parse::<CurvePublicKey>(),
        Err(KeyError::Z85(Z85Error::InvalidCharacter {
            position: 39,
            octet: b'~'
        }))
    );
    // 40 characters that overflow a group.
    assert!(matches!(
        "########################################".parse::<CurveSecretKey>(),
        Err(KeyError::Z85(Z85Error::Overflow { position: 0 }))
    ));
    // From text, only Z85: 32 characters are not taken as raw octets.
    assert_eq!(
        "0123456789abcdef0123456789abcdef".parse::<CurvePublicKey>(),
        Err(KeyError::Length { len: 32 })
    );
}

#[test]
fn secrets_never_print() {
    let secret: CurveSecretKey = LIBZMQ_PAIRS[0].0.parse().expect("valid");
    let shown = format!("{secret:?} {:?}", CurveKeyPair::from_secret(secret.clone()));
    assert!(!shown.contains(LIBZMQ_PAIRS[0].0), "{shown}");
    assert!(shown.contains("redacted"));
    assert!(
        shown.contains(LIBZMQ_PAIRS[0].1),
        "the public half shows: {shown}"
    );
    assert_eq!(
        format!("{:?}", RngSeed::new([0xAB; 32])),
        "RngSeed(<redacted>)"
    );
}

#[test]
fn secret_keys_and_seeds_compare_by_value() {
    let a = CurveSecretKey::from_bytes([1; 32]);
    let mut other = [1; 32];
    other[31] = 2;
    assert_eq!(a, CurveSecretKey::from_bytes([1; 32]));
    assert_ne!(a, CurveSecretKey::from_bytes(other));
    assert_eq!(RngSeed::new([3; 32]), RngSeed::from([3; 32]));
    assert_ne!(RngSeed::new([3; 32]), RngSeed::new([4; 32]));
}

#[test]
fn generated_pairs_are_consistent_and_distinct() {
    let mut rng = SeededRng::new(&RngSeed::new([7; 32]));
    let a = CurveKeyPair::generate(&mut rng);
    let b = CurveKeyPair::generate(&mut rng);
    assert_eq!(a.public, curve_public(&a.secret));
    assert_ne!(a.public, b.public);
    assert_ne!(a.secret, b.secret);
}

// ---- the seeded generator ------------------------------------------------------------------------

#[test]
fn the_seeded_generator_is_deterministic_per_seed_and_differs_across_seeds() {
    use rand_core::RngCore;
    let draw = |seed: u8| {
        let mut rng = SeededRng::new(&RngSeed::new([seed; 32]));
        let mut out = [0u8; 64];
        rng.fill_bytes(&mut out);
        (out, rng.next_u64())
    };
    assert_eq!(draw(1), draw(1));
    assert_ne!(draw(1), draw(2));
    let (bytes, _) = draw(1);
    assert!(bytes.iter().any(|&b| b != 0));
    // Successive draws continue the stream rather than repeating it.
    let mut rng = SeededRng::new(&RngSeed::new([1; 32]));
    assert_ne!(*rng.array::<32>(), *rng.array::<32>());
}

// ---- boxes -----------------------------------------------------------------------------------------

const NACL_NONCE: &str = "69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37";

fn nacl_plaintext() -> Vec<u8> {
    hex(&[
        "be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffc",
        "e5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb31",
        "0e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde",
        "048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f93776384864",
        "5e0705",
    ])
}

/// NaCl's tests/box.c output in the "easy" layout: the tag, then the ciphertext.
fn nacl_box() -> Vec<u8> {
    hex(&[
        "c03f27d188ef650cd12936913137bb17ed4c98c2648939e2e1d2e855470a7b8c",
        "632cabfd5ab3b3c2d313dc8c9ecf5da173e1f9c318cdef1dced6d2519e695085",
        "e6b5c401a2bd5331442986c7076d412625497c4cb2fd94c6f103961033b2c930",
        "d7e82e0341f29d3879bd6ab9d881ea3a1f365d634e653c6e171aac7fc1e76934",
        "d23be6f04a54010808dbf0f9bd30f63b68d026",
    ])
}

#[test]
fn boxes_match_nacls_test_vector() {
    let alice_sk = hex32("68f208412d8dd5db9d0c6d18512e86f0ec75665ab841372d57b042b27ef89d4c");
    let bob_pk = hex32("e8980c86e032f1eb2975052e8d65bddd15c3b59641174ec9678a53789d92c754");
    let bob_sk = hex32("b581fb5ae182a16f603f39270d4e3b95bc008310b727a11dd4e784a0044d461b");
    let alice_pk = public_from_secret(&alice_sk);
    let nonce: [u8; 24] = hex(&[NACL_NONCE]).try_into().expect("24 octets");

    let alice = BoxKey::precompute(&bob_pk, &alice_sk).expect("a strong key");
    let mut sealed = Vec::new();
    alice.seal_to(&nonce, &nacl_plaintext(), &mut sealed);
    assert_eq!(sealed, nacl_box());

    let bob = BoxKey::precompute(&alice_pk, &bob_sk).expect("a strong key");
    assert_eq!(
        bob.open(&nonce, &nacl_box()).as_deref(),
        Ok(&nacl_plaintext())
    );
}

#[test]
fn boxes_agree_with_rustcryptos_crypto_box() {
    use crypto_box::aead::AeadInPlace;
    fn prop(a: Vec<u8>, b: Vec<u8>, nonce: Vec<u8>, plaintext: Vec<u8>) -> TestResult {
        let key = |v: &[u8]| {
            let mut k = [0x11u8; 32];
            for (d, s) in k.iter_mut().zip(v) {
                *d = *s;
            }
            k
        };
        let (a_sk, b_sk) = (key(&a), key(&b));
        let b_pk = public_from_secret(&b_sk);
        let mut n = [0u8; 24];
        for (d, s) in n.iter_mut().zip(&nonce) {
            *d = *s;
        }
        let ours = BoxKey::precompute(&b_pk, &a_sk).expect("a strong key");
        let mut sealed = Vec::new();
        ours.seal_to(&n, &plaintext, &mut sealed);
        let theirs = crypto_box::SalsaBox::new(
            &crypto_box::PublicKey::from(b_pk),
            &crypto_box::SecretKey::from(a_sk),
        );
        let nonce_ga = crypto_box::Nonce::from(n);
        let mut expected = plaintext.clone();
        let Ok(tag) = theirs.encrypt_in_place_detached(&nonce_ga, b"", &mut expected) else {
            return TestResult::failed();
        };
        let expected = [&tag[..], &expected[..]].concat();
        TestResult::from_bool(sealed == expected)
    }
    QuickCheck::new()
        .tests(100)
        .quickcheck(prop as fn(Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) -> TestResult);
}

#[test]
fn an_altered_box_does_not_open() {
    let key = BoxKey::symmetric(&[9; 32]);
    let nonce = [5; 24];
    let mut sealed = Vec::new();
    key.seal_to(&nonce, b"cookie contents", &mut sealed);
    assert!(key.open(&nonce, &sealed).is_ok());
    for i in 0..sealed.len() {
        let mut altered = sealed.clone();
        altered[i] ^= 0x01;
        assert!(key.open(&nonce, &altered).is_err(), "flip at {i}");
    }
    assert!(key.open(&[6; 24], &sealed).is_err(), "another nonce");
    assert!(
        BoxKey::symmetric(&[8; 32]).open(&nonce, &sealed).is_err(),
        "another key"
    );
    assert!(key.open(&nonce, &sealed[..TAG_LEN - 1]).is_err(), "no tag");
}

/// The points of small order on Curve25519, as libsodium's `has_small_order` lists them
/// (u-coordinates, little-endian), plus their non-canonical encodings with the top bit set.
fn small_order_points() -> Vec<[u8; 32]> {
    let mut points = vec![
        [0u8; 32],
        {
            let mut p = [0u8; 32];
            p[0] = 1;
            p
        },
        hex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
        hex32("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
        hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        hex32("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        hex32("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    ];
    let high: Vec<[u8; 32]> = points
        .iter()
        .map(|p| {
            let mut q = *p;
            q[31] |= 0x80;
            q
        })
        .collect();
    points.extend(high);
    points
}

#[test]
fn small_order_public_keys_are_refused_like_libsodium() {
    let secret = [0x42; 32];
    for point in small_order_points() {
        assert!(is_weak_public_key(&point), "{point:02x?}");
        assert!(
            BoxKey::precompute(&point, &secret).is_none(),
            "{point:02x?}"
        );
    }
    for (_, public) in LIBZMQ_PAIRS {
        let public: CurvePublicKey = public.parse().expect("valid");
        assert!(!is_weak_public_key(public.as_bytes()));
        assert!(BoxKey::precompute(public.as_bytes(), &secret).is_some());
    }
}

// ---- wire layouts ----------------------------------------------------------------------------------

fn hello() -> Hello {
    Hello {
        major: 1,
        minor: 0,
        client_key: [0xC1; 32],
        nonce: 1,
        signature: [0x5A; 80],
    }
}

#[test]
fn hello_is_200_octets_laid_out_as_libzmq() {
    let mut body = Vec::new();
    hello().encode_body(&mut body);
    assert_eq!(body.len(), Hello::LEN);
    assert_eq!(&body[..8], b"\x05HELLO\x01\x00");
    assert!(body[8..80].iter().all(|&b| b == 0), "72 octets of padding");
    assert_eq!(&body[80..112], &[0xC1; 32]);
    assert_eq!(&body[112..120], &1u64.to_be_bytes());
    assert_eq!(&body[120..], &[0x5A; 80]);
    assert_eq!(Hello::decode(&body), Ok(hello()));

    let mut frame = Vec::new();
    hello().encode(&mut frame);
    assert_eq!(&frame[..2], &[0x04, 200], "a short command frame");
}

fn malformed<T>(command: CommandKind) -> Result<T, DecodeError> {
    Err(DecodeError::MalformedCommand { command })
}

#[test]
fn curve_commands_of_the_wrong_size_are_malformed() {
    let mut body = Vec::new();
    hello().encode_body(&mut body);
    assert_eq!(Hello::decode(&body[..199]), malformed(CommandKind::Hello));
    assert_eq!(
        Hello::decode(&[&body[..8], &body[80..]].concat()),
        malformed(CommandKind::Hello),
        "no padding"
    );
    body.push(0);
    assert_eq!(Hello::decode(&body), malformed(CommandKind::Hello));

    let welcome = Welcome {
        nonce: [1; 16],
        sealed: [2; 144],
    };
    let mut body = Vec::new();
    welcome.encode_body(&mut body);
    assert_eq!(body.len(), Welcome::LEN);
    assert_eq!(Welcome::decode(&body), Ok(welcome));
    assert_eq!(
        Welcome::decode(&body[..167]),
        malformed(CommandKind::Welcome)
    );

    let initiate = Initiate {
        cookie: [3; 96],
        nonce: 2,
        sealed: Bytes::from(vec![4; 144]),
    };
    let mut body = Vec::new();
    initiate.encode_body(&mut body);
    assert_eq!(body.len(), Initiate::MIN_LEN);
    assert_eq!(Initiate::decode(&Bytes::from(body.clone())), Ok(initiate));
    assert_eq!(
        Initiate::decode(&Bytes::copy_from_slice(&body[..256])),
        malformed(CommandKind::Initiate)
    );

    let ready = Ready {
        nonce: 1,
        sealed: Bytes::from(vec![5; 16]),
    };
    let mut body = Vec::new();
    ready.encode_body(&mut body);
    assert_eq!(body.len(), Ready::MIN_LEN);
    assert_eq!(Ready::decode(&Bytes::from(body.clone())), Ok(ready));
    assert_eq!(
        Ready::decode(&Bytes::copy_from_slice(&body[..29])),
        malformed(CommandKind::Ready)
    );

    let message = Message {
        nonce: 3,
        sealed: Bytes::from(vec![6; 17]),
    };
    let mut body = Vec::new();
    message.encode_body(&mut body);
    assert_eq!(body.len(), Message::MIN_LEN);
    assert_eq!(
        Message::decode(&Bytes::from(body.clone())),
        Ok(message.clone())
    );
    assert_eq!(
        Message::decode(&Bytes::copy_from_slice(&body[..32])),
        malformed(CommandKind::Message)
    );
    let mut frame = Vec::new();
    message.encode(&mut frame);
    assert_eq!(
        &frame[..2],
        &[0x00, 33],
        "MESSAGE goes without COMMAND, as libzmq"
    );
}

#[test]
fn a_curve_command_with_another_name_is_refused() {
    let mut body = Vec::new();
    hello().encode_body(&mut body);
    body[1] = b'J';
    assert_eq!(
        Hello::decode(&body),
        Err(DecodeError::MalformedCommand {
            command: CommandKind::Hello
        })
    );
    let ready = Bytes::from_static(b"\x05WRONG\0\0\0\0\0\0\0\x01................");
    assert!(Ready::decode(&ready).is_err());
}

#[test]
fn curve_command_parsers_never_panic() {
    fn prop(body: Vec<u8>) -> bool {
        let bytes = Bytes::from(body.clone());
        let _ = Hello::decode(&body);
        let _ = Welcome::decode(&body);
        let _ = Initiate::decode(&bytes);
        let _ = Ready::decode(&bytes);
        let _ = Message::decode(&bytes);
        true
    }
    QuickCheck::new()
        .tests(1000)
        .quickcheck(prop as fn(Vec<u8>) -> bool);
}
