//! Z85 (RFC 32/Z85): ZeroMQ's base-85 text encoding, used for CURVE keys.
//!
//! Every 4 octets, read as a big-endian 32-bit number, become 5 characters from an 85-character
//! alphabet chosen to be safe in source code, shells and configuration files; decoding is the
//! reverse. So binary input must be a multiple of 4 octets long and text a multiple of 5
//! characters. A 32-octet CURVE key is 40 characters of Z85.
//!
//! Both directions return a [`Z85Error`] instead of panicking, whatever the input. Unlike
//! libzmq's `zmq_z85_decode`, decoding the empty string gives the empty octet string (the
//! inverse of encoding nothing) rather than an error.

/// RFC 32's alphabet: the digit for value `v` is `ALPHABET[v]`.
const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Marks an octet that is not a Z85 digit in [`DIGITS`].
const INVALID: u8 = 0xFF;

/// The value of each ASCII octet as a Z85 digit, or [`INVALID`]; built from [`ALPHABET`].
const DIGITS: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut value = 0;
    while value < ALPHABET.len() {
        table[ALPHABET[value] as usize] = value as u8;
        value += 1;
    }
    table
};

/// Why Z85 encoding or decoding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Z85Error {
    /// Binary input to encode must be a multiple of 4 octets long.
    #[error("Z85 encodes a multiple of 4 octets, not {len}")]
    BinaryLength {
        /// The input's length.
        len: usize,
    },
    /// Text to decode must be a multiple of 5 characters long.
    #[error("Z85 text is a multiple of 5 characters, not {len}")]
    TextLength {
        /// The input's length, in octets.
        len: usize,
    },
    /// An octet of the text is not in the Z85 alphabet.
    #[error("octet {octet:#04x} at {position} is not a Z85 character")]
    InvalidCharacter {
        /// Its position in the text.
        position: usize,
        /// The octet.
        octet: u8,
    },
    /// A group of 5 characters stands for a number of 2^32 or more.
    #[error("Z85 group at {position} exceeds 2^32 - 1")]
    Overflow {
        /// The position of the group's first character.
        position: usize,
    },
}

/// Encodes `data` (a multiple of 4 octets) as Z85 text, 5 characters per 4 octets.
pub fn encode(data: &[u8]) -> Result<String, Z85Error> {
    if data.len() % 4 != 0 {
        return Err(Z85Error::BinaryLength { len: data.len() });
    }
    let mut out = String::with_capacity(data.len() / 4 * 5);
    for group in data.chunks_exact(4) {
        let mut value = group
            .iter()
            .fold(0u32, |acc, &octet| (acc << 8) | u32::from(octet));
        let mut digits = [0u8; 5];
        for digit in digits.iter_mut().rev() {
            // `value % 85` is below 85, so the alphabet always has it.
            *digit = ALPHABET.get((value % 85) as usize).copied().unwrap_or(b'0');
            value /= 85;
        }
        out.extend(digits.iter().map(|&d| char::from(d)));
    }
    Ok(out)
}

/// Decodes Z85 text (a multiple of 5 characters) into 4 octets per 5 characters.
pub fn decode(text: &str) -> Result<Vec<u8>, Z85Error> {
    let mut out = vec![0u8; decoded_len(text.as_bytes())?];
    decode_into(text.as_bytes(), &mut out)?;
    Ok(out)
}

/// The octets `text` decodes to, once its length is checked.
fn decoded_len(text: &[u8]) -> Result<usize, Z85Error> {
    if text.len() % 5 != 0 {
        return Err(Z85Error::TextLength { len: text.len() });
    }
    Ok(text.len() / 5 * 4)
}

/// Decodes `text` into `out`, which must be exactly [`decoded_len`] octets long (the callers
/// guarantee it; a shorter `out` leaves the excess text undecoded).
pub(crate) fn decode_into(text: &[u8], out: &mut [u8]) -> Result<(), Z85Error> {
    decoded_len(text)?;
    for (index, (group, dest)) in text
        .chunks_exact(5)
        .zip(out.chunks_exact_mut(4))
        .enumerate()
    {
        let start = index * 5;
        let mut value: u64 = 0;
        for (offset, &octet) in group.iter().enumerate() {
            let digit = DIGITS[usize::from(octet)];
            if digit == INVALID {
                return Err(Z85Error::InvalidCharacter {
                    position: start + offset,
                    octet,
                });
            }
            value = value * 85 + u64::from(digit);
        }
        let value = u32::try_from(value).map_err(|_| Z85Error::Overflow { position: start })?;
        dest.copy_from_slice(&value.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
