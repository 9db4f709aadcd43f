//! CURVE (RFC 25 ZMTP-CURVE, RFC 26 CurveZMQ): keys, the seed a session draws its randomness
//! from, and the wire layout of the CURVE commands.
//!
//! * **Keys.** [`CurvePublicKey`] and [`CurveSecretKey`] hold 32 octets each and parse from 32
//!   raw octets or 40 characters of [Z85](crate::z85). A secret key is wiped from memory when
//!   dropped, compares in constant time and never prints. [`CurveKeyPair::generate`] draws a
//!   new pair from a caller-supplied CSPRNG; [`curve_public`] derives the public half, as
//!   libzmq's `zmq_curve_public` does.
//! * **Randomness.** This crate never reads a global RNG: a session running CURVE draws its
//!   short-term keys, cookie key and long nonces from the [`RngSeed`] in its
//!   [`SessionConfig`](crate::SessionConfig), which the driver fills from the operating
//!   system's RNG for every connection.
//! * **Wire reprs** of HELLO, WELCOME, INITIATE, READY and MESSAGE ([`Hello`], [`Welcome`],
//!   [`Initiate`], [`Ready`], [`Message`]): layout only, no cryptography, usable on their own
//!   like [`Command`](crate::Command). The handshake itself runs inside a
//!   [`Session`](crate::Session) configured with
//!   [`MechanismConfig::CurveClient`](crate::MechanismConfig::CurveClient) or
//!   [`MechanismConfig::CurveServer`](crate::MechanismConfig::CurveServer).
//!
//! The cryptography (X25519 and XSalsa20-Poly1305, NaCl's `crypto_box`) comes from RustCrypto
//! and dalek crates; nothing here is hand-rolled beyond putting their pieces together as NaCl
//! defines them.

use std::fmt;
use std::str::FromStr;

use rand_core::CryptoRngCore;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::z85::{self, Z85Error};

pub(crate) mod crypto;
pub(crate) mod wire;

pub use wire::{Hello, Initiate, Message, Ready, Welcome};

/// Octets in a CURVE key.
pub const KEY_LEN: usize = 32;
/// Characters in a Z85-encoded CURVE key.
pub const KEY_Z85_LEN: usize = 40;

/// Why octets or text are not a CURVE key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Neither 32 octets nor 40 Z85 characters (nor 41 with a trailing NUL, as libzmq's
    /// `setsockopt` accepts).
    #[error("a CURVE key is 32 octets or 40 Z85 characters, not {len}")]
    Length {
        /// The input's length.
        len: usize,
    },
    /// 40 characters that are not valid Z85.
    #[error("invalid Z85 key: {0}")]
    Z85(#[source] Z85Error),
}

/// Reads 32 raw octets, 40 Z85 characters, or 41 (Z85 and a NUL) into `out`.
fn parse_key(input: &[u8], out: &mut [u8; KEY_LEN]) -> Result<(), KeyError> {
    let text = match input.len() {
        KEY_LEN => {
            out.copy_from_slice(input);
            return Ok(());
        }
        KEY_Z85_LEN => input,
        41 if input.last() == Some(&0) => input.get(..KEY_Z85_LEN).unwrap_or_default(),
        len => return Err(KeyError::Length { len }),
    };
    z85::decode_into(text, out).map_err(KeyError::Z85)
}

/// Z85 of a key's 32 octets (always a multiple of 4, so encoding cannot fail).
fn key_z85(key: &[u8; KEY_LEN]) -> String {
    z85::encode(key).unwrap_or_default()
}

// ---- public keys -------------------------------------------------------------------------------

/// A CURVE public key: 32 octets, a Curve25519 point. Shows as Z85.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CurvePublicKey([u8; KEY_LEN]);

impl CurvePublicKey {
    /// The key with these octets.
    pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Its 32 octets (what ZAP's CURVE credentials frame carries, RFC 27).
    pub const fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Its 40-character Z85 text.
    pub fn to_z85(&self) -> String {
        key_z85(&self.0)
    }
}

impl From<[u8; KEY_LEN]> for CurvePublicKey {
    fn from(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }
}

impl TryFrom<&[u8]> for CurvePublicKey {
    type Error = KeyError;

    /// 32 raw octets, 40 Z85 characters, or 41 (Z85 and a NUL, as libzmq's `setsockopt`).
    fn try_from(input: &[u8]) -> Result<Self, KeyError> {
        let mut out = [0; KEY_LEN];
        parse_key(input, &mut out)?;
        Ok(Self(out))
    }
}

impl FromStr for CurvePublicKey {
    type Err = KeyError;

    /// Exactly 40 Z85 characters.
    fn from_str(s: &str) -> Result<Self, KeyError> {
        if s.len() != KEY_Z85_LEN {
            return Err(KeyError::Length { len: s.len() });
        }
        Self::try_from(s.as_bytes())
    }
}

impl fmt::Display for CurvePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_z85())
    }
}

impl fmt::Debug for CurvePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CurvePublicKey({self})")
    }
}

// ---- secret keys -------------------------------------------------------------------------------

/// A CURVE secret key: 32 octets. Wiped from memory when dropped, compared in constant time,
/// never shown by `Debug`.
#[derive(Clone)]
pub struct CurveSecretKey([u8; KEY_LEN]);

impl CurveSecretKey {
    /// The key with these octets. The caller should wipe its own copy.
    pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// A fresh random key from `rng`.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut key = Self([0; KEY_LEN]);
        rng.fill_bytes(&mut key.0);
        key
    }

    /// Its 32 octets. Secret: handle with care.
    pub const fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Its 40-character Z85 text, wiped when dropped. Secret: handle with care.
    pub fn to_z85(&self) -> Zeroizing<String> {
        Zeroizing::new(key_z85(&self.0))
    }

    /// The matching public key (X25519 with the base point).
    pub fn public_key(&self) -> CurvePublicKey {
        CurvePublicKey(crypto::public_from_secret(&self.0))
    }
}

impl From<[u8; KEY_LEN]> for CurveSecretKey {
    fn from(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }
}

impl TryFrom<&[u8]> for CurveSecretKey {
    type Error = KeyError;

    /// 32 raw octets, 40 Z85 characters, or 41 (Z85 and a NUL, as libzmq's `setsockopt`).
    fn try_from(input: &[u8]) -> Result<Self, KeyError> {
        let mut key = Self([0; KEY_LEN]);
        parse_key(input, &mut key.0)?;
        Ok(key)
    }
}

impl FromStr for CurveSecretKey {
    type Err = KeyError;

    /// Exactly 40 Z85 characters.
    fn from_str(s: &str) -> Result<Self, KeyError> {
        if s.len() != KEY_Z85_LEN {
            return Err(KeyError::Length { len: s.len() });
        }
        Self::try_from(s.as_bytes())
    }
}

impl PartialEq for CurveSecretKey {
    /// Constant time.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for CurveSecretKey {}

impl fmt::Debug for CurveSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CurveSecretKey(<redacted>)")
    }
}

impl Drop for CurveSecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for CurveSecretKey {}

// ---- key pairs ---------------------------------------------------------------------------------

/// A CURVE key pair, as libzmq's `zmq_curve_keypair` makes.
#[derive(Clone, PartialEq, Eq)]
pub struct CurveKeyPair {
    /// The public half, given to peers.
    pub public: CurvePublicKey,
    /// The secret half, kept.
    pub secret: CurveSecretKey,
}

impl CurveKeyPair {
    /// A fresh pair from `rng` (for example `rand_core::OsRng` with its `getrandom` feature,
    /// in the driver: this crate never reads a global RNG itself).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self::from_secret(CurveSecretKey::generate(rng))
    }

    /// The pair for a secret key.
    pub fn from_secret(secret: CurveSecretKey) -> Self {
        Self {
            public: secret.public_key(),
            secret,
        }
    }
}

impl fmt::Debug for CurveKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurveKeyPair")
            .field("public", &self.public)
            .field("secret", &self.secret)
            .finish()
    }
}

/// The public key for a secret key, as libzmq's `zmq_curve_public`.
pub fn curve_public(secret: &CurveSecretKey) -> CurvePublicKey {
    secret.public_key()
}

// ---- randomness --------------------------------------------------------------------------------

/// 32 octets from a CSPRNG, one per connection, from which a CURVE session draws its
/// short-term keys, cookie key and long nonces. Fill it from the operating system's RNG
/// (`getrandom`); never reuse one for two connections. Wiped when dropped, compared in
/// constant time, never shown by `Debug`.
#[derive(Clone)]
pub struct RngSeed([u8; 32]);

impl RngSeed {
    /// A seed with these octets. The caller should wipe its own copy.
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<[u8; 32]> for RngSeed {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl PartialEq for RngSeed {
    /// Constant time.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for RngSeed {}

impl fmt::Debug for RngSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RngSeed(<redacted>)")
    }
}

impl Drop for RngSeed {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for RngSeed {}

#[cfg(test)]
mod tests;
