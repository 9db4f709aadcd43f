//! The nom parsers behind every decoder, kept private so nom never shows in the public API.
//!
//! Streaming parsers (greeting, frame header) turn nom's `Incomplete` into
//! [`Decoded::Incomplete`]; parsers over a whole command body use nom's `complete` flavour, where
//! running out of bytes is a [`DecodeError`]. Parsers over bodies return offsets into the body
//! rather than slices, so callers can cut zero-copy `Bytes` from them.

use std::ops::Range;

use nom::bytes::streaming as sbytes;
use nom::number::complete as cnum;
use nom::number::streaming as snum;
use nom::{IResult, Needed, Parser};

use crate::decoded::Decoded;
use crate::error::DecodeError;

/// nom's error type for our parsers: the position does not matter, the caller maps failures
/// to the right [`DecodeError`].
type NomError<'a> = nom::error::Error<&'a [u8]>;

/// Offset of `rest` inside `base`, where `rest` is a suffix of `base` (as nom returns it).
fn offset(base: &[u8], rest: &[u8]) -> usize {
    base.len().saturating_sub(rest.len())
}

/// Turns a streaming nom failure into our status: `Incomplete` asks for more bytes, anything
/// else is `err`.
fn streaming<T>(
    res: IResult<&[u8], T, NomError<'_>>,
    base: &[u8],
    err: DecodeError,
) -> Result<Decoded<T>, DecodeError> {
    match res {
        Ok((rest, value)) => Ok(Decoded::Complete {
            value,
            consumed: offset(base, rest),
        }),
        Err(nom::Err::Incomplete(Needed::Size(n))) => Ok(Decoded::Incomplete { needed: n.get() }),
        Err(nom::Err::Incomplete(Needed::Unknown)) => Ok(Decoded::Incomplete { needed: 1 }),
        Err(_) => Err(err),
    }
}

// ---------------------------------------------------------------------------------------------
// Greeting (RFC 23 "greeting = signature version mechanism as-server filler")

/// Octets in the signature: 0xFF, 8 padding octets, 0x7F.
pub(crate) const SIGNATURE_LEN: usize = 10;
/// Octets in a whole ZMTP 3.x greeting.
pub(crate) const GREETING_LEN: usize = 64;

/// What the first octets of a peer's greeting tell, before all 64 have arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GreetingPrefix {
    /// Fewer than 10 octets, none of which rules the peer out yet.
    Partial,
    /// A ZMTP 2.0+ signature has arrived, not yet the major version.
    Signature,
    /// The signature and a major version of 3 or more have arrived.
    Major(u8),
}

/// Inspects a greeting prefix as RFC 37 "Detecting ZMTP 1.0 and 2.0 Peers" does, so a legacy
/// peer is refused as soon as its first octets arrive.
pub(crate) fn greeting_prefix(buf: &[u8]) -> Result<GreetingPrefix, DecodeError> {
    match buf.first() {
        None => return Ok(GreetingPrefix::Partial),
        // Not 0xFF: a ZMTP 1.0 peer sending a short identity frame.
        Some(&b) if b != 0xFF => return Err(DecodeError::LegacyPeer { version: 1 }),
        Some(_) => {}
    }
    let Some(&last) = buf.get(SIGNATURE_LEN - 1) else {
        return Ok(GreetingPrefix::Partial);
    };
    if last & 0x01 == 0 {
        // Bit 0 clear: a ZMTP 1.0 peer sending a long identity frame's flags.
        return Err(DecodeError::LegacyPeer { version: 1 });
    }
    if last != 0x7F {
        return Err(DecodeError::BadSignature);
    }
    match buf.get(SIGNATURE_LEN) {
        None => Ok(GreetingPrefix::Signature),
        // libzmq numbers the revision-less 1.0 protocol 0 and ZMTP 2.0 as 1; RFC 37 counts 1
        // and 2 as ZMTP 2.0.
        Some(0) => Err(DecodeError::LegacyPeer { version: 1 }),
        Some(1 | 2) => Err(DecodeError::LegacyPeer { version: 2 }),
        Some(&major) => Ok(GreetingPrefix::Major(major)),
    }
}

/// The fields of a greeting after its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GreetingFields<'a> {
    pub(crate) major: u8,
    pub(crate) minor: u8,
    pub(crate) mechanism: &'a [u8],
    pub(crate) as_server: u8,
}

/// Parses a whole 64-octet greeting, after checking its prefix.
pub(crate) fn greeting(buf: &[u8]) -> Result<Decoded<GreetingFields<'_>>, DecodeError> {
    greeting_prefix(buf)?;
    if buf.len() < GREETING_LEN {
        return Ok(Decoded::Incomplete {
            needed: GREETING_LEN - buf.len(),
        });
    }
    let res = (
        sbytes::take(SIGNATURE_LEN),
        snum::be_u8,
        snum::be_u8,
        sbytes::take(20usize),
        snum::be_u8,
        sbytes::take(31usize),
    )
        .map(
            |(_, major, minor, mechanism, as_server, _)| GreetingFields {
                major,
                minor,
                mechanism,
                as_server,
            },
        )
        .parse(buf);
    streaming(res, buf, DecodeError::BadSignature)
}

// ---------------------------------------------------------------------------------------------
// Frames (RFC 23 "Framing")

/// Flag bit: more frames follow.
pub(crate) const FLAG_MORE: u8 = 0x01;
/// Flag bit: 8-octet size.
pub(crate) const FLAG_LONG: u8 = 0x02;
/// Flag bit: command frame.
pub(crate) const FLAG_COMMAND: u8 = 0x04;
/// Bits 3-7, reserved.
pub(crate) const FLAGS_RESERVED: u8 = 0xF8;

/// A frame header: the flags octet and the body size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawHeader {
    pub(crate) flags: u8,
    pub(crate) len: u64,
}

/// Parses a frame header. Checks the reserved bits and the 2^63 bound; the caller checks any
/// configured maximum.
#[inline(always)]
pub(crate) fn frame_header(buf: &[u8]) -> Result<Decoded<RawHeader>, DecodeError> {
    // The hot path: a short frame whose two header octets are here. nom's general parser
    // handles everything else.
    if let [flags, len, ..] = *buf {
        if flags & (FLAGS_RESERVED | FLAG_LONG) == 0 {
            return Ok(Decoded::Complete {
                value: RawHeader {
                    flags,
                    len: u64::from(len),
                },
                consumed: 2,
            });
        }
    }
    frame_header_general(buf)
}

/// [`frame_header`] for long frames, reserved bits and short input.
#[inline(never)]
fn frame_header_general(buf: &[u8]) -> Result<Decoded<RawHeader>, DecodeError> {
    let Ok((_, flags)) = snum::be_u8::<_, NomError<'_>>(buf) else {
        return Ok(Decoded::Incomplete { needed: 2 });
    };
    if flags & FLAGS_RESERVED != 0 {
        return Err(DecodeError::ReservedFlags { flags });
    }
    let res = if flags & FLAG_LONG != 0 {
        (snum::be_u8, snum::be_u64).parse(buf)
    } else {
        (snum::be_u8, snum::be_u8.map(u64::from)).parse(buf)
    };
    let header = streaming(res, buf, DecodeError::ReservedFlags { flags })?;
    let header = header.map(|(flags, len)| RawHeader { flags, len });
    if let Decoded::Complete { value, .. } = &header {
        if value.len >= 1 << 63 || usize::try_from(value.len).is_err() {
            return Err(DecodeError::LengthOutOfRange { len: value.len });
        }
    }
    Ok(header)
}

// ---------------------------------------------------------------------------------------------
// Commands (RFC 23 "Commands", RFC 37, RFC 24)

/// Splits a command body into its name and the offset of its data. The name must be 1 to 255
/// ALPHA characters.
pub(crate) fn command_name(body: &[u8]) -> Result<(&[u8], usize), DecodeError> {
    let res: IResult<&[u8], &[u8], NomError<'_>> = nom::multi::length_data(cnum::be_u8).parse(body);
    match res {
        Ok((rest, name)) if !name.is_empty() && name.iter().all(u8::is_ascii_alphabetic) => {
            Ok((name, offset(body, rest)))
        }
        _ => Err(DecodeError::BadCommandName),
    }
}

/// Name and value of one metadata property, as offsets into the parsed data.
pub(crate) type PropertySpan = (Range<usize>, Range<usize>);

/// Most value octets a property may announce (RFC 23: 2^31-1).
const MAX_VALUE_LEN: u32 = 0x7FFF_FFFF;

/// Parses `metadata = *property` over the whole of `data`, at most `max` properties.
pub(crate) fn properties(data: &[u8], max: usize) -> Result<Vec<PropertySpan>, DecodeError> {
    let mut spans = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if spans.len() == max {
            return Err(DecodeError::TooManyProperties);
        }
        let res: IResult<&[u8], (&[u8], &[u8]), NomError<'_>> = (
            nom::multi::length_data(cnum::be_u8),
            nom::multi::length_data(nom::combinator::verify(cnum::be_u32, |len: &u32| {
                *len <= MAX_VALUE_LEN
            })),
        )
            .parse(rest);
        let Ok((next, (name, value))) = res else {
            return Err(DecodeError::MalformedProperty);
        };
        if name.is_empty() {
            return Err(DecodeError::MalformedProperty);
        }
        let name_start = offset(data, rest) + 1;
        let value_start = name_start + name.len() + 4;
        spans.push((
            name_start..name_start + name.len(),
            value_start..value_start + value.len(),
        ));
        rest = next;
    }
    Ok(spans)
}

/// Parses a 1-octet length then that many octets; returns the string's span and the offset
/// after it.
pub(crate) fn short_string(data: &[u8]) -> Option<(Range<usize>, usize)> {
    let res: IResult<&[u8], &[u8], NomError<'_>> = nom::multi::length_data(cnum::be_u8).parse(data);
    let (rest, s) = res.ok()?;
    let start = offset(data, rest) - s.len();
    Some((start..start + s.len(), offset(data, rest)))
}

/// Parses PLAIN's HELLO data (RFC 24 "hello = ... username password"): two short strings that
/// use up the data exactly, as libzmq's `plain_server_t::process_hello` demands.
pub(crate) fn hello(data: &[u8]) -> Option<(Range<usize>, Range<usize>)> {
    let (username, at) = short_string(data)?;
    let (password, end) = short_string(data.get(at..)?)?;
    if at + end != data.len() {
        return None;
    }
    Some((username, at + password.start..at + password.end))
}

/// Parses PING data (RFC 37 "ping = ... ping-ttl ping-context"): the TTL and the context span.
pub(crate) fn ping(data: &[u8]) -> Option<(u16, Range<usize>)> {
    let res: IResult<&[u8], u16, NomError<'_>> = cnum::be_u16(data);
    let (rest, ttl) = res.ok()?;
    Some((ttl, offset(data, rest)..data.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_prefix_refuses_zmtp_1_0_on_its_first_octet_rfc37() {
        assert_eq!(
            greeting_prefix(&[0x05]),
            Err(DecodeError::LegacyPeer { version: 1 })
        );
        assert_eq!(greeting_prefix(&[0xFF, 0, 0]), Ok(GreetingPrefix::Partial));
    }

    #[test]
    fn properties_spans_point_at_names_and_values() {
        let data = b"\x01A\x00\x00\x00\x02xy\x02BC\x00\x00\x00\x00";
        let spans = properties(data, 8).expect("valid");
        assert_eq!(spans.len(), 2);
        assert_eq!(&data[spans[0].0.clone()], b"A");
        assert_eq!(&data[spans[0].1.clone()], b"xy");
        assert_eq!(&data[spans[1].0.clone()], b"BC");
        assert_eq!(&data[spans[1].1.clone()], b"");
    }

    #[test]
    fn hello_requires_the_password_to_end_the_command_rfc24() {
        assert_eq!(hello(b"\x01u\x01p"), Some((1..2, 3..4)));
        assert_eq!(hello(b"\x01u\x01pX"), None);
        assert_eq!(hello(b"\x05u"), None);
    }
}
