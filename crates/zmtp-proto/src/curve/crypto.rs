//! The cryptography behind CURVE, from RustCrypto and dalek crates, assembled as NaCl defines
//! it:
//!
//! * `crypto_box_beforenm(pk, sk)` = HSalsa20(X25519(sk, pk), 0^16): the key of every box
//!   between two key pairs ([`BoxKey::precompute`]). Like libsodium we refuse an all-zero
//!   X25519 result, which only a public key of small order gives.
//! * `crypto_box_afternm` / `crypto_secretbox` = XSalsa20-Poly1305 under that key (or under a
//!   cookie key), laid out as NaCl's "easy" API does: the 16-octet tag, then the ciphertext.
//! * The session's randomness: XSalsa20's keystream under the driver's per-connection
//!   [`RngSeed`] ([`SeededRng`]), a stream cipher used as a generator the way `ChaCha20Rng`
//!   uses ChaCha20, but wiped from memory when dropped (its state determines the short-term
//!   secret keys, so leaving it around would defeat forward secrecy).
//!
//! Every type holding key material here wipes it when dropped.

use bytes::BufMut;
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::{Kdf, XSalsa20Poly1305};
use curve25519_dalek::montgomery::MontgomeryPoint;
use rand_core::{CryptoRng, RngCore};
use salsa20::XSalsa20;
use salsa20::cipher::{KeyIvInit, StreamCipher};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::curve::RngSeed;

/// Octets of a Poly1305 tag: a box is this much longer than what it holds.
pub(crate) const TAG_LEN: usize = 16;
/// Octets of a full nonce.
pub(crate) const NONCE_LEN: usize = 24;

/// A full nonce from a 16-octet prefix and a short (8-octet, big-endian) nonce, as CURVE's
/// HELLO, INITIATE, READY and MESSAGE use.
pub(crate) fn short_nonce(prefix: &[u8; 16], counter: u64) -> [u8; NONCE_LEN] {
    let mut nonce = [0; NONCE_LEN];
    let (head, tail) = nonce.split_at_mut(16);
    head.copy_from_slice(prefix);
    tail.copy_from_slice(&counter.to_be_bytes());
    nonce
}

/// A full nonce from an 8-octet prefix and a 16-octet long nonce, as WELCOME, the cookie and
/// the vouch use.
pub(crate) fn long_nonce(prefix: &[u8; 8], random: &[u8; 16]) -> [u8; NONCE_LEN] {
    let mut nonce = [0; NONCE_LEN];
    let (head, tail) = nonce.split_at_mut(8);
    head.copy_from_slice(prefix);
    tail.copy_from_slice(random);
    nonce
}

/// The public key for a secret key: X25519 of the base point.
pub(crate) fn public_from_secret(secret: &[u8; 32]) -> [u8; 32] {
    MontgomeryPoint::mul_base_clamped(*secret).to_bytes()
}

/// A key for XSalsa20-Poly1305 boxes: the precomputed key between two CURVE key pairs, or a
/// cookie key. Wiped when dropped (by `crypto_secretbox`).
pub(crate) struct BoxKey(XSalsa20Poly1305);

impl std::fmt::Debug for BoxKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoxKey(<redacted>)")
    }
}

impl BoxKey {
    /// A symmetric key used as is (the server's cookie key).
    pub(crate) fn symmetric(key: &[u8; 32]) -> Self {
        Self(XSalsa20Poly1305::new(key.into()))
    }

    /// `crypto_box_beforenm(their_public, our_secret)`. `None` when the X25519 result is all
    /// zero, that is when `their_public` has small order (libsodium refuses those too).
    pub(crate) fn precompute(their_public: &[u8; 32], our_secret: &[u8; 32]) -> Option<Self> {
        let shared = Zeroizing::new(MontgomeryPoint(*their_public).mul_clamped(*our_secret));
        if bool::from(shared.0.ct_eq(&[0u8; 32])) {
            return None;
        }
        let key = Zeroizing::new(<XSalsa20Poly1305 as Kdf>::kdf(
            (&shared.0).into(),
            &Default::default(),
        ));
        Some(Self(XSalsa20Poly1305::new(&key)))
    }

    /// Encrypts `buf` in place; returns the tag.
    pub(crate) fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], buf: &mut [u8]) -> [u8; TAG_LEN] {
        match self.0.encrypt_in_place_detached(nonce.into(), b"", buf) {
            Ok(tag) => tag.into(),
            Err(_) => {
                // Unreachable: XSalsa20-Poly1305 only refuses associated data, and we pass
                // none. Should it ever fail, send nothing readable: an all-zero box that no
                // peer will open.
                buf.fill(0);
                [0; TAG_LEN]
            }
        }
    }

    /// Checks the tag and decrypts `buf` in place. On failure `buf` is left as it was.
    pub(crate) fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), BoxError> {
        self.0
            .decrypt_in_place_detached(nonce.into(), b"", buf, tag.into())
            .map_err(|_| BoxError)
    }

    /// Appends the box of `plaintext` (tag, then ciphertext) to `out`.
    pub(crate) fn seal_to(&self, nonce: &[u8; NONCE_LEN], plaintext: &[u8], out: &mut Vec<u8>) {
        let at = out.len();
        out.put_bytes(0, TAG_LEN);
        out.extend_from_slice(plaintext);
        if let Some((tag_slot, body)) = out.get_mut(at..).and_then(|s| s.split_first_chunk_mut()) {
            *tag_slot = self.seal_in_place(nonce, body);
        }
    }

    /// Opens a box (tag, then ciphertext); the plaintext is wiped when dropped.
    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BoxError> {
        let (tag, ciphertext) = sealed.split_first_chunk::<TAG_LEN>().ok_or(BoxError)?;
        let mut plaintext = Zeroizing::new(ciphertext.to_vec());
        self.open_in_place(nonce, &mut plaintext, tag)?;
        Ok(plaintext)
    }
}

/// A box did not open: wrong key, wrong nonce, or altered octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BoxError;

/// Domain separation for [`SeededRng`]: the XSalsa20 nonce under the seed.
const RNG_NONCE: &[u8; NONCE_LEN] = b"zmq-rs CURVE session rng";

/// A CSPRNG from a 32-octet seed: XSalsa20's keystream. Wiped when dropped.
pub(crate) struct SeededRng(XSalsa20);

impl SeededRng {
    pub(crate) fn new(seed: &RngSeed) -> Self {
        Self(XSalsa20::new(seed.as_bytes().into(), RNG_NONCE.into()))
    }

    /// `N` fresh random octets, wiped when dropped.
    pub(crate) fn array<const N: usize>(&mut self) -> Zeroizing<[u8; N]> {
        let mut out = Zeroizing::new([0u8; N]);
        self.fill_bytes(&mut out[..]);
        out
    }
}

impl std::fmt::Debug for SeededRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeededRng(<redacted>)")
    }
}

impl RngCore for SeededRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0);
        // XSalsa20's 64-bit block counter outlasts any connection (2^70 octets).
        self.0.apply_keystream(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for SeededRng {}

/// True when `public` has small order: X25519 with it gives zero whatever the secret key, so
/// every box to or from it could be opened by anyone.
pub(crate) fn is_weak_public_key(public: &[u8; 32]) -> bool {
    // Any clamped scalar is a multiple of the cofactor 8, which takes every point of small
    // order to the identity (u = 0); a point of large order never lands there.
    let product = MontgomeryPoint(*public).mul_clamped([0x55; 32]);
    bool::from(product.0.ct_eq(&[0u8; 32]))
}
