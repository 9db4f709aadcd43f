//! `Message`: one frame of a ZeroMQ message, built on `Bytes`, small ones kept inline.

use std::num::NonZeroU8;
use std::ops::Deref;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use zmtp_proto::Properties;

/// See [`Message::INLINE_MAX`].
const INLINE_MAX: usize = 64;

/// One frame of a message, as libzmq's `zmq_msg_t`: payload bytes plus the attributes a
/// received frame carries.
///
/// The payload is [`Bytes`], or for a small payload copied in, its octets inline (see
/// [`Message::INLINE_MAX`]): building a `Message` from `Bytes` or `Vec<u8>` does not copy,
/// and neither does taking such a payload back out with [`Message::into_bytes`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Message {
    data: Payload,
    /// ZMQ_MORE as 0 or 1: a whole word, because the struct is copied in word-sized and
    /// wider loads, and a load of a word whose bool had just been written by a one-octet
    /// store stalls (the store cannot forward to a wider load).
    more: u32,
    routing_id: u32,
    group: Option<Bytes>,
    metadata: Option<Arc<Properties>>,
}

/// A received frame's payload as the socket hands it over: `Bytes`, or octets to copy (a
/// frame held inline in the received `Msg`).
pub(crate) enum Part<'a> {
    Shared(Bytes),
    Copied(&'a [u8]),
}

/// A message's payload: shared bytes, or a small payload's octets held in place.
#[derive(Clone)]
enum Payload {
    Shared(Bytes),
    Inline(Inline),
}

impl Default for Payload {
    fn default() -> Self {
        Self::Shared(Bytes::new())
    }
}

impl Payload {
    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Shared(bytes) => bytes,
            Self::Inline(inline) => inline.as_slice(),
        }
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Payload {}

/// Up to [`Message::INLINE_MAX`] octets: aligned, so that the moves of a message copy them
/// in aligned words (octets at an odd offset made every copy a store-forwarding stall), the
/// length last.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Inline {
    data: [u8; INLINE_MAX],
    /// The length plus one: never zero, the niche that tells a [`Payload`] holding `Bytes`
    /// apart, so that the enum needs no tag of its own.
    len_plus_one: NonZeroU8,
}

// An inline payload costs a message 40 octets over its `Bytes` form, no more.
const _: () = assert!(size_of::<Payload>() == INLINE_MAX + 8);

impl Inline {
    const EMPTY: Self = Self {
        data: [0; INLINE_MAX],
        len_plus_one: NonZeroU8::MIN,
    };

    /// Holds `data` from now on: its first [`INLINE_MAX`] octets, all of them for a caller
    /// that checked it fits.
    #[inline]
    fn set(&mut self, data: &[u8]) {
        let len = data.len().min(INLINE_MAX);
        self.data[..len].copy_from_slice(&data[..len]);
        let len = u8::try_from(len).unwrap_or(u8::MAX);
        self.len_plus_one = NonZeroU8::MIN.saturating_add(len);
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        &self.data[..usize::from(self.len_plus_one.get() - 1)]
    }
}

impl Message {
    /// Payloads of up to this many octets copied into a `Message` ([`Message::copy_from`],
    /// and the conversions from slices, arrays and strings) are kept inside it, as libzmq
    /// keeps its "very small messages" (up to 33 octets) inside `zmq_msg_t`: building one
    /// allocates nothing, and a send to a tcp or ipc peer copies the octets straight into
    /// the connection's packed buffer.
    pub const INLINE_MAX: usize = INLINE_MAX;

    /// An empty frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// A frame holding a copy of `data`: inside the `Message` when it has at most
    /// [`Message::INLINE_MAX`] octets (no allocation), in a new buffer otherwise.
    #[inline]
    pub fn copy_from(data: &[u8]) -> Self {
        if data.len() > INLINE_MAX {
            return Self::from(Bytes::copy_from_slice(data));
        }
        // Written in place: a message built elsewhere and moved in was read back in wider
        // loads than the stores that had just written it (a stall at every send).
        let mut msg = Self::with_payload(Payload::Inline(Inline::EMPTY));
        msg.set_copy(data);
        msg
    }

    /// Holds a copy of `data` from now on, inline when it fits, written where the payload
    /// is (a message copied into again and again keeps its inline payload in place).
    #[inline]
    fn set_copy(&mut self, data: &[u8]) {
        if data.len() > INLINE_MAX {
            self.data = Payload::Shared(Bytes::copy_from_slice(data));
            return;
        }
        if !matches!(self.data, Payload::Inline(_)) {
            self.data = Payload::Inline(Inline::EMPTY);
        }
        if let Payload::Inline(inline) = &mut self.data {
            inline.set(data);
        }
    }

    /// The payload as `Bytes`: shared with this message, or for a small payload kept inline,
    /// a copy.
    pub fn to_bytes(&self) -> Bytes {
        match &self.data {
            Payload::Shared(bytes) => bytes.clone(),
            Payload::Inline(inline) => Bytes::copy_from_slice(inline.as_slice()),
        }
    }

    /// The payload, without copying unless it was kept inline (see [`Message::INLINE_MAX`]).
    #[inline]
    pub fn into_bytes(mut self) -> Bytes {
        match std::mem::take(&mut self.data) {
            Payload::Shared(bytes) => bytes,
            Payload::Inline(inline) => Bytes::copy_from_slice(inline.as_slice()),
        }
    }

    /// The payload's octets when they are kept inline, for the send path to read in place.
    #[inline]
    pub(crate) fn inline_payload(&self) -> Option<&[u8]> {
        match &self.data {
            Payload::Inline(inline) => Some(inline.as_slice()),
            Payload::Shared(_) => None,
        }
    }

    /// The payload held as `Bytes`, taken out (empty for an inline payload, which
    /// [`Message::inline_payload`] reads instead).
    #[inline]
    pub(crate) fn take_shared_payload(&mut self) -> Bytes {
        match &mut self.data {
            Payload::Shared(bytes) => std::mem::take(bytes),
            Payload::Inline(_) => Bytes::new(),
        }
    }

    #[inline]
    fn with_payload(data: Payload) -> Self {
        Self {
            data,
            more: 0,
            routing_id: 0,
            group: None,
            metadata: None,
        }
    }

    /// An empty buffer with room for `size` octets, to fill and send
    /// (`Message::from(buffer)`): the counterpart of libzmq's `zmq_msg_init_size`.
    ///
    /// It reuses, when it can, a payload of the same size the library is done with: one
    /// written to a tcp or ipc connection by the I/O thread, or a received message dropped.
    /// That spares the allocator's cross-thread path, which for small messages costs more
    /// than sending them. (A message of up to 512 octets to a NULL or PLAIN connection is
    /// copied as it is queued, and its payload freed on the sending thread, where the
    /// allocator is cheap.) What is kept is bounded (a few sizes; at most 256 KiB of each per
    /// thread; shared between threads, 2 MiB of each size or 256 buffers of a larger one, 32
    /// MiB in all) and process-wide: it outlives sockets and contexts, and a thread's share
    /// is freed when the thread ends. Payloads of other sizes, or still
    /// referred to elsewhere, are freed as usual. Filled to exactly `size` octets, the buffer
    /// becomes the message's payload without a copy or an allocation.
    ///
    /// ```
    /// let mut payload = zmq_rs::Message::buffer(5);
    /// payload.extend_from_slice(b"hello");
    /// let msg = zmq_rs::Message::from(payload);
    /// assert_eq!(&msg[..], b"hello");
    /// ```
    pub fn buffer(size: usize) -> BytesMut {
        crate::recycle::take(size)
    }

    /// A buffer of exactly `size` octets whose contents are unspecified: zeros, or what a
    /// payload of the same size held before (reused as [`Message::buffer`] does). This is
    /// `zmq_msg_init_size` itself, whose memory is as malloc left it: for a caller that
    /// overwrites the payload in place (reads a file into it, say) and would otherwise pay
    /// for zeroing a reused buffer first. Whatever is not overwritten is sent as it is, and
    /// may be an earlier message's data: use [`Message::buffer`] when that matters.
    ///
    /// ```
    /// let mut payload = zmq_rs::Message::buffer_sized(5);
    /// payload.copy_from_slice(b"hello");
    /// assert_eq!(&zmq_rs::Message::from(payload)[..], b"hello");
    /// ```
    pub fn buffer_sized(size: usize) -> BytesMut {
        crate::recycle::take_filled(size)
    }

    /// The payload as UTF-8, if it is.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self).ok()
    }

    /// True when more frames of the same message follow (libzmq's `ZMQ_MORE`).
    pub fn get_more(&self) -> bool {
        self.more != 0
    }

    /// The routing id of a message received on a SERVER or PEER socket; set it before sending
    /// to choose the peer. 0 means none.
    pub fn routing_id(&self) -> u32 {
        self.routing_id
    }

    /// Sets the routing id (SERVER, PEER).
    pub fn set_routing_id(&mut self, routing_id: u32) {
        self.routing_id = routing_id;
    }

    /// The group of a RADIO/DISH message.
    pub fn group(&self) -> Option<&[u8]> {
        self.group.as_deref()
    }

    /// Sets the group (RADIO). libzmq limits groups to 255 octets (`ZMQ_GROUP_MAX_LENGTH`).
    pub fn set_group(&mut self, group: impl Into<Bytes>) {
        self.group = Some(group.into());
    }

    /// A metadata property of the connection this frame arrived on, as `zmq_msg_gets`:
    /// `Socket-Type`, `Identity`, `User-Id`, `Peer-Address`, or any `X-` property the peer sent.
    pub fn gets(&self, property: &str) -> Option<&str> {
        self.metadata
            .as_ref()
            .and_then(|m| m.get(property))
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// A received frame with its attributes.
    #[inline]
    pub(crate) fn from_parts(
        data: Part<'_>,
        more: bool,
        routing_id: u32,
        metadata: Option<Arc<Properties>>,
        group: Option<Bytes>,
    ) -> Self {
        let mut msg = Self::new();
        msg.set_parts(data, more, routing_id, metadata, group);
        msg
    }

    /// Makes this message a received frame with its attributes, written in place: a
    /// message received into again and again keeps its inline payload where it is.
    #[inline]
    pub(crate) fn set_parts(
        &mut self,
        data: Part<'_>,
        more: bool,
        routing_id: u32,
        metadata: Option<Arc<Properties>>,
        group: Option<Bytes>,
    ) {
        // As dropping the message would: a large payload received into again and again is
        // reused for the next one read.
        self.recycle_payload();
        match data {
            Part::Copied(data) => self.set_copy(data),
            Part::Shared(bytes) => self.data = Payload::Shared(bytes),
        }
        self.more = u32::from(more);
        self.routing_id = routing_id;
        self.group = group;
        self.metadata = metadata;
    }

    /// Hands a shared payload to [`Message::buffer`] for reuse if nothing else refers to it,
    /// leaving the payload empty: what dropping the message does, and replacing its payload.
    fn recycle_payload(&mut self) {
        if let Payload::Shared(data) = &mut self.data
            && !data.is_empty()
            && data.len() <= crate::recycle::MAX_SIZE
            && crate::recycle::in_use()
        {
            crate::recycle::give_bytes(std::mem::take(data));
        }
    }

    pub(crate) fn has_group(&self) -> bool {
        self.group.is_some()
    }

    pub(crate) fn take_group(&mut self) -> Option<Bytes> {
        self.group.take()
    }
}

impl Deref for Message {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.data.as_slice()
    }
}

impl AsRef<[u8]> for Message {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("data", &self.to_bytes())
            .field("more", &self.get_more())
            .finish()
    }
}

impl From<Bytes> for Message {
    #[inline]
    fn from(data: Bytes) -> Self {
        Self::with_payload(Payload::Shared(data))
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Self::from(Bytes::from(data))
    }
}

impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Self {
        Self::copy_from(data)
    }
}

impl<const N: usize> From<&[u8; N]> for Message {
    fn from(data: &[u8; N]) -> Self {
        Self::copy_from(data)
    }
}

impl From<&str> for Message {
    fn from(data: &str) -> Self {
        Self::copy_from(data.as_bytes())
    }
}

impl From<String> for Message {
    fn from(data: String) -> Self {
        Self::from(Bytes::from(data))
    }
}

impl From<&Self> for Message {
    fn from(msg: &Self) -> Self {
        msg.clone()
    }
}

impl From<Message> for Bytes {
    fn from(msg: Message) -> Self {
        msg.into_bytes()
    }
}

impl From<BytesMut> for Message {
    #[inline]
    fn from(data: BytesMut) -> Self {
        Self::from(data.freeze())
    }
}

impl Drop for Message {
    fn drop(&mut self) {
        self.recycle_payload();
    }
}
