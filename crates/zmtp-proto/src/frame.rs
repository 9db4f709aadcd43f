//! Frames (RFC 23 "Framing"): a flags octet, a 1- or 8-octet size, and a body.
//!
//! ```text
//! flags: bit 0 MORE, bit 1 LONG (8-octet size), bit 2 COMMAND, bits 3-7 reserved (zero)
//! short frame: flags, 1-octet size (0-255), body
//! long frame:  flags, 8-octet big-endian size (0 to 2^63-1), body
//! ```
//!
//! [`FrameDecoder`] cuts frames out of a caller-owned `BytesMut` as zero-copy `Bytes` slices.
//! It checks sizes against the configured maximum from the length field alone, before a single
//! body octet is awaited, and it never reserves memory: a peer announcing 2^62 octets costs
//! nothing until those octets actually arrive (and with a maximum set, they never will).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::decoded::Decoded;
use crate::error::DecodeError;
use crate::parse::{self, FLAG_COMMAND, FLAG_LONG, FLAG_MORE};

/// Largest body a short frame can carry.
const SHORT_MAX: u64 = u8::MAX as u64;

/// A frame header: flags and body size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// MORE: more frames of the same message follow (always false on commands).
    pub more: bool,
    /// LONG: the size is encoded in 8 octets. [`FrameHeader::new`] sets it exactly when the
    /// body exceeds 255 octets; encoding forces it on for such bodies in any case.
    pub long: bool,
    /// COMMAND: a command frame rather than a message frame.
    pub command: bool,
    /// Body size in octets.
    pub len: u64,
}

impl FrameHeader {
    /// A header for a body of `len` octets, short when it fits (RFC 23: "If the body is 0-255
    /// octets, the command SHOULD use a short size field").
    pub fn new(more: bool, command: bool, len: u64) -> Self {
        Self {
            more,
            long: len > SHORT_MAX,
            command,
            len,
        }
    }

    fn is_long(&self) -> bool {
        self.long || self.len > SHORT_MAX
    }

    /// The flags octet.
    pub fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.more {
            flags |= FLAG_MORE;
        }
        if self.is_long() {
            flags |= FLAG_LONG;
        }
        if self.command {
            flags |= FLAG_COMMAND;
        }
        flags
    }

    /// 2 octets for a short frame, 9 for a long one.
    pub fn encoded_len(&self) -> usize {
        if self.is_long() { 9 } else { 2 }
    }

    /// Writes the flags and size.
    pub fn encode(&self, out: &mut impl BufMut) {
        out.put_u8(self.flags());
        match u8::try_from(self.len) {
            Ok(short) if !self.is_long() => out.put_u8(short),
            _ => out.put_u64(self.len),
        }
    }

    /// Decodes a header from the start of `buf`. Fails on reserved flag bits and on sizes of
    /// 2^63 or more; does not look at the body.
    pub fn decode(buf: &[u8]) -> Result<Decoded<Self>, DecodeError> {
        Ok(parse::frame_header(buf)?.map(|raw| Self {
            more: raw.flags & FLAG_MORE != 0,
            long: raw.flags & FLAG_LONG != 0,
            command: raw.flags & FLAG_COMMAND != 0,
            len: raw.len,
        }))
    }
}

/// Writes a frame header straight into a buffer (the encoder's hot path).
#[inline]
pub(crate) fn put_header(out: &mut BytesMut, more: bool, command: bool, len: usize) {
    let mut flags = 0;
    if more {
        flags |= FLAG_MORE;
    }
    if command {
        flags |= FLAG_COMMAND;
    }
    match u8::try_from(len) {
        Ok(short) => out.put_slice(&[flags, short]),
        Err(_) => {
            out.put_u8(flags | FLAG_LONG);
            out.put_u64(len as u64);
        }
    }
}

/// A whole frame: header flags and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// More frames of the same message follow.
    pub more: bool,
    /// A command frame.
    pub command: bool,
    /// The body.
    pub body: Bytes,
}

impl Frame {
    /// A message frame.
    pub fn message(body: impl Into<Bytes>, more: bool) -> Self {
        Self {
            more,
            command: false,
            body: body.into(),
        }
    }

    /// A command frame whose body is an encoded command (name and data).
    pub fn command(body: impl Into<Bytes>) -> Self {
        Self {
            more: false,
            command: true,
            body: body.into(),
        }
    }

    /// Its header.
    pub fn header(&self) -> FrameHeader {
        FrameHeader::new(self.more, self.command, self.body.len() as u64)
    }

    /// Header plus body octets.
    pub fn encoded_len(&self) -> usize {
        self.header().encoded_len() + self.body.len()
    }

    /// Writes header and body.
    pub fn encode(&self, out: &mut impl BufMut) {
        self.header().encode(out);
        out.put_slice(&self.body);
    }
}

/// A frame whose body is still mutable, for a mechanism to decrypt in place.
#[derive(Debug)]
pub(crate) struct FrameMut {
    /// More frames of the same message follow.
    pub(crate) more: bool,
    /// A command frame.
    pub(crate) command: bool,
    /// The body, sharing the receive buffer's memory.
    pub(crate) body: BytesMut,
}

impl FrameMut {
    /// The frame, frozen.
    pub(crate) fn freeze(self) -> Frame {
        Frame {
            more: self.more,
            command: self.command,
            body: self.body.freeze(),
        }
    }
}

/// Cuts frames from the front of a receive buffer, enforcing a maximum message size.
///
/// The maximum (libzmq's `ZMQ_MAXMSGSIZE`) applies to every frame, commands included, as in
/// libzmq's decoder, and also to the running total of a multipart message's frames. Commands
/// may arrive between the frames of a message (libzmq sends PINGs there) and do not count
/// towards it.
///
/// With a maximum set, a message may also have no more than [`FrameDecoder::max_frames`]
/// frames: an empty frame costs two octets on the wire but a 32-octet handle in memory, so
/// this keeps the handles of one message within the maximum too (libzmq has no such limit;
/// real messages have a handful of frames).
///
/// With [`FrameDecoder::take_headers_from`], a large frame whose body has not all arrived has
/// its header taken off the buffer, so that the buffer holds the body alone from its first
/// octet: the driver may then read the rest straight into a buffer of the body's size (see
/// [`FrameDecoder::taken_header`]).
#[derive(Debug, Clone, Default)]
pub struct FrameDecoder {
    max_msg_size: Option<u64>,
    /// Bodies of at least this many octets get their header taken off early; `None`: never.
    take_headers_from: Option<usize>,
    /// The header taken off the front of the buffer, its checks done: the body follows.
    taken: Option<TakenHeader>,
    /// Octets of the current multipart message's frames so far.
    msg_len: u64,
    /// Frames of the current multipart message so far.
    msg_frames: u64,
    /// Between the frames of a multipart message.
    in_message: bool,
}

/// A frame header already checked and removed from the buffer, whose body is awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TakenHeader {
    body_len: usize,
    more: bool,
    command: bool,
    /// The message's octets and frames counting this frame.
    msg_len: u64,
    msg_frames: u64,
}

/// Memory taken by one frame's handle, used to derive the frame limit.
const FRAME_HANDLE_COST: u64 = 32;
/// Frames always allowed in a message, however small the maximum.
const MIN_FRAME_LIMIT: u64 = 128;

impl FrameDecoder {
    /// A decoder that refuses frames or messages over `max_msg_size` octets (`None`: no limit
    /// but 2^63-1).
    pub fn new(max_msg_size: Option<u64>) -> Self {
        Self {
            max_msg_size,
            take_headers_from: None,
            taken: None,
            msg_len: 0,
            msg_frames: 0,
            in_message: false,
        }
    }

    /// The most frames one message may have: `max_msg_size / 32`, but at least 128; `None`
    /// without a maximum.
    pub fn max_frames(&self) -> Option<u64> {
        self.max_msg_size
            .map(|max| (max / FRAME_HANDLE_COST).max(MIN_FRAME_LIMIT))
    }

    /// From now on, a frame of at least `min_body` octets whose body is not all in the buffer
    /// has its header taken off (its checks done): the buffer then holds the body alone, from
    /// its first octet. Decoding is otherwise the same.
    pub fn take_headers_from(&mut self, min_body: usize) {
        self.take_headers_from = Some(min_body);
    }

    /// The body length of a frame whose header was taken off the buffer and whose body has
    /// not all arrived: the buffer holds its first octets, and the frame completes once it
    /// holds this many.
    pub fn taken_header(&self) -> Option<usize> {
        self.taken.map(|t| t.body_len)
    }

    /// The configured maximum.
    pub fn max_msg_size(&self) -> Option<u64> {
        self.max_msg_size
    }

    /// True between the frames of a multipart message.
    pub fn in_message(&self) -> bool {
        self.in_message
    }

    /// Decodes one frame from the front of `rx`. On [`Decoded::Complete`] the frame's octets
    /// (`consumed` of them) have been removed from `rx` and its body shares `rx`'s memory; on
    /// [`Decoded::Incomplete`] `rx` is untouched, but for the header of a large frame taken
    /// off (see [`FrameDecoder::take_headers_from`]). Errors leave `rx` untouched too.
    #[inline(always)]
    pub fn decode(&mut self, rx: &mut BytesMut) -> Result<Decoded<Frame>, DecodeError> {
        let (header_len, body_len, more, command) = match self.next_frame(rx)? {
            Decoded::Complete { value, .. } => value,
            Decoded::Incomplete { needed } => return Ok(Decoded::Incomplete { needed }),
        };
        // One cut for header and body, then skip the header: cheaper than two cuts.
        let mut body = rx.split_to(header_len + body_len).freeze();
        body.advance(header_len);
        Ok(Decoded::Complete {
            value: Frame {
                more,
                command,
                body,
            },
            consumed: header_len + body_len,
        })
    }

    /// Like [`FrameDecoder::decode`], but a frame that is a whole one-frame message of at
    /// most `small_max` octets is handed to `small` and consumed (`Complete(None)`), its body
    /// read where it lies rather than cut off as `Bytes`: the buffer is not shared by one
    /// more frame, and the caller copies the few octets it needs.
    #[inline(always)]
    pub(crate) fn decode_or_copy_small(
        &mut self,
        rx: &mut BytesMut,
        small_max: usize,
        small: impl FnOnce(&[u8]),
    ) -> Result<Decoded<Option<Frame>>, DecodeError> {
        let (header_len, body_len, more, command) = match self.next_frame(rx)? {
            Decoded::Complete { value, .. } => value,
            Decoded::Incomplete { needed } => return Ok(Decoded::Incomplete { needed }),
        };
        let consumed = header_len + body_len;
        if !more && !command && body_len <= small_max {
            small(&rx[header_len..consumed]);
            rx.advance(consumed);
            return Ok(Decoded::Complete {
                value: None,
                consumed,
            });
        }
        let mut body = rx.split_to(consumed).freeze();
        body.advance(header_len);
        Ok(Decoded::Complete {
            value: Some(Frame {
                more,
                command,
                body,
            }),
            consumed,
        })
    }

    /// Like [`FrameDecoder::decode`], but the body stays mutable (still sharing `rx`'s memory),
    /// so that a mechanism can decrypt it in place.
    #[inline]
    pub(crate) fn decode_mut(
        &mut self,
        rx: &mut BytesMut,
    ) -> Result<Decoded<FrameMut>, DecodeError> {
        let (header_len, body_len, more, command) = match self.next_frame(rx)? {
            Decoded::Complete { value, .. } => value,
            Decoded::Incomplete { needed } => return Ok(Decoded::Incomplete { needed }),
        };
        let mut body = rx.split_to(header_len + body_len);
        body.advance(header_len);
        Ok(Decoded::Complete {
            value: FrameMut {
                more,
                command,
                body,
            },
            consumed: header_len + body_len,
        })
    }

    /// Checks the next frame's header and limits, and updates the message state, once the
    /// whole frame is in `rx` (nothing is consumed): its header length, body length, MORE and
    /// COMMAND.
    #[inline(always)]
    fn next_frame(
        &mut self,
        rx: &mut BytesMut,
    ) -> Result<Decoded<(usize, usize, bool, bool)>, DecodeError> {
        if let Some(taken) = self.taken {
            if rx.len() < taken.body_len {
                return Ok(Decoded::Incomplete {
                    needed: taken.body_len - rx.len(),
                });
            }
            self.taken = None;
            return Ok(self.complete(0, taken));
        }
        let (raw, header_len) = match parse::frame_header(rx)? {
            Decoded::Complete { value, consumed } => (value, consumed),
            Decoded::Incomplete { needed } => return Ok(Decoded::Incomplete { needed }),
        };
        let command = raw.flags & FLAG_COMMAND != 0;
        // RFC 23: MORE "SHALL be zero on command frames". libzmq ignores it there, and so do
        // we: a command never joins a message.
        let more = !command && raw.flags & FLAG_MORE != 0;
        let mut msg_len = self.msg_len;
        let msg_frames = self.msg_frames.saturating_add(1);
        if let Some(max) = self.max_msg_size {
            if raw.len > max {
                return Err(DecodeError::FrameTooLarge { len: raw.len, max });
            }
            if !command {
                msg_len = msg_len.saturating_add(raw.len);
                if msg_len > max {
                    return Err(DecodeError::MessageTooLarge { len: msg_len, max });
                }
                let max_frames = (max / FRAME_HANDLE_COST).max(MIN_FRAME_LIMIT);
                if msg_frames > max_frames {
                    return Err(DecodeError::TooManyFrames { max: max_frames });
                }
            }
        }
        // parse::frame_header already refused sizes that do not fit in usize.
        let body_len =
            usize::try_from(raw.len).map_err(|_| DecodeError::LengthOutOfRange { len: raw.len })?;
        let taken = TakenHeader {
            body_len,
            more,
            command,
            msg_len,
            msg_frames,
        };
        let available = rx.len().saturating_sub(header_len);
        if available < body_len {
            if self.take_headers_from.is_some_and(|min| body_len >= min) {
                rx.advance(header_len);
                self.taken = Some(taken);
            }
            return Ok(Decoded::Incomplete {
                needed: body_len - available,
            });
        }
        Ok(self.complete(header_len, taken))
    }

    /// A whole frame is in the buffer: updates the message state.
    fn complete(
        &mut self,
        header_len: usize,
        frame: TakenHeader,
    ) -> Decoded<(usize, usize, bool, bool)> {
        if !frame.command {
            self.msg_len = if frame.more { frame.msg_len } else { 0 };
            self.msg_frames = if frame.more { frame.msg_frames } else { 0 };
            self.in_message = frame.more;
        }
        Decoded::Complete {
            value: (header_len, frame.body_len, frame.more, frame.command),
            consumed: header_len + frame.body_len,
        }
    }
}

#[cfg(test)]
mod tests;
