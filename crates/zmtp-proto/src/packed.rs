//! Small messages packed as their wire frames, many to one buffer.
//!
//! A queue of messages bound for a connection whose mechanism sends frames as they are (NULL,
//! PLAIN: RFC 23 "Framing" on the wire, nothing added) may keep small messages already framed:
//! the thread that queues them copies each frame's header and body into a [`FramePacker`], and
//! the connection writes the sealed [`Framed`] buffer with no work per message. The payloads
//! are then read only by the thread that wrote them, and a queue entry is a few octets of a
//! shared buffer instead of a whole [`Msg`].
//!
//! A session that must transform each frame (CURVE) takes a [`Framed`] apart again
//! ([`Framed::into_messages`]), so a packed queue is never wrong, only wasted, for it.

use std::collections::VecDeque;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::decoded::Decoded;
use crate::frame::{FrameHeader, put_header};
use crate::msg::{Frames, Msg};

/// Messages whose payload (all frames together) is at most this many octets are packed;
/// larger ones stay whole, for the connection to write their bodies without copying.
pub const PACKED_MESSAGE_MAX: usize = 512;

/// The smallest and largest buffer a packer starts. A packer sized by what the last one held
/// stays small on a request-reply path and grows to this under a stream.
const BUFFER_MIN: usize = 512;
const BUFFER_MAX: usize = 32 * 1024;

/// Messages framed for the wire (RFC 23): each frame's flags, size and body, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed {
    wire: Bytes,
    messages: usize,
    payload: usize,
}

impl Framed {
    /// The framed octets, ready to be written.
    pub fn wire(&self) -> &Bytes {
        &self.wire
    }

    /// Takes the framed octets out.
    pub fn into_wire(self) -> Bytes {
        self.wire
    }

    /// How many whole messages it holds.
    pub fn messages(&self) -> usize {
        self.messages
    }

    /// Payload octets over all its frames (the framing not counted).
    pub fn payload_len(&self) -> usize {
        self.payload
    }

    /// The messages again, for a session that encodes frame by frame. Their bodies are slices
    /// of the packed buffer (no copy).
    pub fn into_messages(self) -> impl Iterator<Item = Msg> {
        let mut wire = self.wire;
        std::iter::from_fn(move || {
            let mut msg = Msg::new();
            loop {
                // Written by `FramePacker` alone, so every header is whole and every size
                // fits; a malformed buffer ends the iteration instead of panicking.
                let Decoded::Complete {
                    value: header,
                    consumed,
                } = FrameHeader::decode(&wire).ok()?
                else {
                    return None;
                };
                let len = usize::try_from(header.len).ok()?;
                if wire.len() - consumed < len {
                    return None;
                }
                wire.advance(consumed);
                msg.push_back(wire.split_to(len));
                if !header.more {
                    return Some(msg);
                }
            }
        })
    }
}

impl Framed {
    /// Appends its messages to `into`, for a receiver in the same process: a one-frame
    /// message of at most [`Msg::SMALL_MAX`] octets as a copy held inline ([`Msg::copied`]),
    /// others as slices of the buffer. Returns the buffer, emptied, when no message kept a
    /// slice of it (and nobody else holds it), for a packer to fill again
    /// ([`FramePacker::recycle`]). A malformed buffer (never one a packer wrote) ends early.
    pub fn unpack_into(self, into: &mut VecDeque<Msg>) -> Option<BytesMut> {
        let mut offset = 0;
        let mut sliced = false;
        let mut partial: Option<Msg> = None;
        while offset < self.wire.len() {
            let Ok(Decoded::Complete {
                value: header,
                consumed,
            }) = FrameHeader::decode(&self.wire[offset..])
            else {
                break;
            };
            let start = offset + consumed;
            let Some(end) = usize::try_from(header.len)
                .ok()
                .and_then(|len| start.checked_add(len))
                .filter(|&end| end <= self.wire.len())
            else {
                break;
            };
            offset = end;
            if partial.is_none() && !header.more && end - start <= Msg::SMALL_MAX {
                into.push_back(Msg::EMPTY_FRAME);
                if let Some(msg) = into.back_mut() {
                    msg.set_copied(&self.wire[start..end]);
                }
                continue;
            }
            sliced = true;
            let msg = partial.get_or_insert_with(Msg::new);
            msg.push_back(self.wire.slice(start..end));
            if !header.more {
                into.extend(partial.take());
            }
        }
        if sliced {
            return None;
        }
        let mut buf = self.wire.try_into_mut().ok()?;
        buf.clear();
        Some(buf)
    }
}

/// Packs small messages into a buffer as their wire frames; see the module documentation.
#[derive(Debug, Default)]
pub struct FramePacker {
    buf: BytesMut,
    messages: usize,
    payload: usize,
    /// Size of the next buffer, from how much the last sealed one held.
    next_capacity: usize,
}

impl FramePacker {
    /// An empty packer; it allocates on its first message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `msg` is small enough to be packed (see [`PACKED_MESSAGE_MAX`]).
    #[inline]
    pub fn fits(msg: &Msg) -> bool {
        msg.payload_len() <= PACKED_MESSAGE_MAX
    }

    /// Whether a one-frame message of `len` octets is small enough to be packed.
    #[inline]
    pub fn fits_frame(len: usize) -> bool {
        len <= PACKED_MESSAGE_MAX
    }

    /// True when nothing is packed.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.messages == 0
    }

    /// Appends `msg`'s frames. When the buffer has no room left for them, what it holds is
    /// sealed first and returned, to be queued before this message. Call with messages that
    /// [`FramePacker::fits`] takes (larger ones are packed too, but copied).
    pub fn push(&mut self, msg: &Msg) -> Option<Framed> {
        match msg.frames() {
            Frames::Shared(frames) => self.push_frames(frames),
            Frames::Small(frame) => self.push_frames(&[frame]),
        }
    }

    /// [`FramePacker::push`] for the message made of `frames`, in order (one, for a
    /// one-frame message held as its `Bytes` or as octets its sender keeps).
    #[inline]
    pub fn push_frames<F: AsRef<[u8]>>(&mut self, frames: &[F]) -> Option<Framed> {
        let len = |frame: &F| frame.as_ref().len();
        let needed: usize = match frames {
            [only] => framed_len(len(only)),
            frames => frames.iter().map(|f| framed_len(len(f))).sum(),
        };
        let mut sealed = None;
        if self.buf.capacity() - self.buf.len() < needed {
            // Filled before anyone took it: sealing sizes the next buffer larger.
            sealed = self.seal();
            let capacity = self.next_capacity.clamp(BUFFER_MIN, BUFFER_MAX);
            self.buf = shared_buffer(capacity.max(needed));
        }
        let last = frames.len().saturating_sub(1);
        for (i, body) in frames.iter().enumerate() {
            let body = body.as_ref();
            put_header(&mut self.buf, i < last, false, body.len());
            self.buf.put_slice(body);
        }
        self.messages += 1;
        self.payload += match frames {
            [only] => len(only),
            frames => frames.iter().map(len).sum(),
        };
        sealed
    }

    /// Gives the packer an empty buffer to fill next (one that [`Framed::unpack_into`] gave
    /// back), if it holds nothing and has no buffer yet; otherwise drops it.
    pub fn recycle(&mut self, buf: BytesMut) {
        if self.is_empty() && self.buf.capacity() == 0 && buf.is_empty() {
            self.buf = buf;
        }
    }

    /// The buffer the next messages will be written to, for a caller that wants to write
    /// its first `n` octets at once (bringing its lines into the writing core's cache
    /// before messages are written one by one); no more than its capacity.
    pub fn prepare(&mut self, n: usize) {
        if self.is_empty() && self.buf.is_empty() {
            let n = n.min(self.buf.capacity());
            self.buf.resize(n, 0);
            self.buf.clear();
        }
    }

    /// Takes what is packed, leaving the packer empty (its next buffer is sized by this one).
    pub fn seal(&mut self) -> Option<Framed> {
        if self.is_empty() {
            return None;
        }
        self.next_capacity = self.buf.len() * 2;
        let framed = Framed {
            wire: std::mem::take(&mut self.buf).freeze(),
            messages: self.messages,
            payload: self.payload,
        };
        self.messages = 0;
        self.payload = 0;
        Some(framed)
    }
}

/// An empty buffer of `capacity` octets that freezing and thawing again
/// ([`Framed::unpack_into`] giving it back) leave in place: made shared (reference counted)
/// at once, where a fresh one would be given a new reference count at every freeze (an
/// allocation per buffer, and a free when thawed).
fn shared_buffer(capacity: usize) -> BytesMut {
    let mut fresh = BytesMut::with_capacity(capacity);
    fresh.split_off(0)
}

/// A frame's octets on the wire: its header and body.
fn framed_len(body: usize) -> usize {
    if body <= usize::from(u8::MAX) {
        2 + body
    } else {
        9 + body
    }
}

#[cfg(test)]
mod tests;
