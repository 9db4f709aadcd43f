//! The 64-octet ZMTP 3.x greeting (RFC 23 "Formal Grammar", "Version Negotiation").
//!
//! ```text
//! greeting = signature version mechanism as-server filler
//! signature = %xFF padding %x7F          ; 10 octets, padding not significant
//! version = version-major version-minor  ; %x03 %x01 for ZMTP 3.1
//! mechanism = 20mechanism-char           ; "NULL", "PLAIN", "CURVE", zero-padded
//! as-server = %x00 | %x01
//! filler = 31%x00
//! ```

use std::fmt;

use bytes::BufMut;

use crate::decoded::Decoded;
use crate::error::DecodeError;
use crate::parse;

/// A ZMTP protocol version from the greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major version: 3 for ZMTP 3.x (RFC 23 accepts anything higher as well).
    pub major: u8,
    /// Minor version: 0 for ZMTP 3.0 (RFC 23), 1 for ZMTP 3.1 (RFC 37).
    pub minor: u8,
}

impl Version {
    /// ZMTP 3.0 (RFC 23).
    pub const V3_0: Self = Self { major: 3, minor: 0 };
    /// ZMTP 3.1 (RFC 37), the version we speak.
    pub const V3_1: Self = Self { major: 3, minor: 1 };
}

/// Octets in the greeting's mechanism field.
const MECHANISM_LEN: usize = 20;

/// A security mechanism name as carried in the greeting: up to 20 characters from RFC 23's
/// `mechanism-char` set, padded with zero octets.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MechanismName([u8; MECHANISM_LEN]);

const fn padded(name: &[u8]) -> [u8; MECHANISM_LEN] {
    let mut out = [0u8; MECHANISM_LEN];
    let mut i = 0;
    while i < name.len() && i < MECHANISM_LEN {
        out[i] = name[i];
        i += 1;
    }
    out
}

fn is_mechanism_char(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_' | b'.' | b'+')
}

impl MechanismName {
    /// `NULL` (RFC 23).
    pub const NULL: Self = Self(padded(b"NULL"));
    /// `PLAIN` (RFC 24).
    pub const PLAIN: Self = Self(padded(b"PLAIN"));
    /// `CURVE` (RFC 25).
    pub const CURVE: Self = Self(padded(b"CURVE"));

    /// A mechanism name from 1 to 20 characters of `A-Z 0-9 - _ . +`.
    pub fn new(name: &[u8]) -> Option<Self> {
        let valid = !name.is_empty()
            && name.len() <= MECHANISM_LEN
            && name.iter().all(|&c| is_mechanism_char(c));
        valid.then(|| Self(padded(name)))
    }

    /// Parses the 20-octet field: mechanism characters, then only zero octets.
    pub(crate) fn from_field(field: &[u8]) -> Result<Self, DecodeError> {
        let raw: [u8; MECHANISM_LEN] = field.try_into().map_err(|_| DecodeError::BadMechanism)?;
        let name_len = raw.iter().position(|&c| c == 0).unwrap_or(MECHANISM_LEN);
        let (name, padding) = raw.split_at(name_len);
        if name.iter().all(|&c| is_mechanism_char(c)) && padding.iter().all(|&c| c == 0) {
            Ok(Self(raw))
        } else {
            Err(DecodeError::BadMechanism)
        }
    }

    /// The name without its padding.
    pub fn as_bytes(&self) -> &[u8] {
        let len = self.0.iter().position(|&c| c == 0).unwrap_or(MECHANISM_LEN);
        self.0.get(..len).unwrap_or(&[])
    }

    /// The name as it goes on the wire: 20 octets, zero-padded.
    pub fn as_padded(&self) -> &[u8; MECHANISM_LEN] {
        &self.0
    }
}

impl fmt::Display for MechanismName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

impl fmt::Debug for MechanismName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MechanismName({self})")
    }
}

/// A decoded or to-be-encoded ZMTP 3.x greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Greeting {
    /// The protocol version announced.
    pub version: Version,
    /// The security mechanism announced.
    pub mechanism: MechanismName,
    /// The as-server flag: who is the server of the security handshake. Octets other than 0
    /// count as set (the grammar allows only 0 and 1; RFC 23 asks nothing more of receivers).
    pub as_server: bool,
}

impl Greeting {
    /// Octets in a greeting.
    pub const LEN: usize = parse::GREETING_LEN;
    /// Octets in its signature (0xFF, 8 padding octets, 0x7F).
    pub const SIGNATURE_LEN: usize = parse::SIGNATURE_LEN;

    /// A ZMTP 3.1 greeting.
    pub fn new(mechanism: MechanismName, as_server: bool) -> Self {
        Self {
            version: Version::V3_1,
            mechanism,
            as_server,
        }
    }

    /// Always [`Greeting::LEN`].
    pub fn encoded_len(&self) -> usize {
        Self::LEN
    }

    /// Writes the 64 octets, with zero padding in the signature (RFC 23: "the peer SHOULD set
    /// the padding field to binary zeros" when it sends the whole greeting at once).
    pub fn encode(&self, out: &mut impl BufMut) {
        encode_signature(out, 0);
        out.put_u8(self.version.major);
        encode_after_major(out, self.version.minor, &self.mechanism, self.as_server);
    }

    /// Decodes a greeting from the start of `buf`. A ZMTP 1.0 or 2.0 peer is refused as soon as
    /// the octets that reveal it are present ([`DecodeError::LegacyPeer`]), without waiting for
    /// 64 octets.
    pub fn decode(buf: &[u8]) -> Result<Decoded<Self>, DecodeError> {
        let (value, consumed) = match parse::greeting(buf)? {
            Decoded::Complete { value, consumed } => (value, consumed),
            Decoded::Incomplete { needed } => return Ok(Decoded::Incomplete { needed }),
        };
        Ok(Decoded::Complete {
            value: Self {
                version: Version {
                    major: value.major,
                    minor: value.minor,
                },
                mechanism: MechanismName::from_field(value.mechanism)?,
                as_server: value.as_server != 0,
            },
            consumed,
        })
    }
}

/// Writes the 10-octet signature with `padding` in its 8 padding octets. libzmq puts its
/// routing id's length plus one there (RFC 37's pseudo-signature for ZMTP 1.0 detection); we
/// do the same so our first octets match libzmq's.
pub(crate) fn encode_signature(out: &mut impl BufMut, padding: u64) {
    out.put_u8(0xFF);
    out.put_u64(padding);
    out.put_u8(0x7F);
}

/// Writes the 53 octets after the major version: minor version, mechanism, as-server, filler.
pub(crate) fn encode_after_major(
    out: &mut impl BufMut,
    minor: u8,
    mechanism: &MechanismName,
    as_server: bool,
) {
    out.put_u8(minor);
    out.put_slice(mechanism.as_padded());
    out.put_u8(u8::from(as_server));
    out.put_bytes(0, 31);
}

#[cfg(test)]
mod tests;
