//! `Message`: one frame of a ZeroMQ message, built on `Bytes`.

use std::ops::Deref;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use zmtp_proto::Properties;

/// One frame of a message, as libzmq's `zmq_msg_t`: payload bytes plus the attributes a
/// received frame carries.
///
/// The payload is [`Bytes`]: building a `Message` from `Bytes` or `Vec<u8>` does not copy, and
/// neither does taking the payload back out with [`Message::into_bytes`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Message {
    data: Bytes,
    /// ZMQ_MORE as 0 or 1: a whole word, because the struct is copied in word-sized and
    /// wider loads, and a load of a word whose bool had just been written by a one-octet
    /// store stalls (the store cannot forward to a wider load).
    more: u32,
    routing_id: u32,
    group: Option<Bytes>,
    metadata: Option<Arc<Properties>>,
}

impl Message {
    /// An empty frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// A frame holding a copy of `data`.
    pub fn copy_from(data: &[u8]) -> Self {
        Self::from(Bytes::copy_from_slice(data))
    }

    /// The payload.
    pub fn as_bytes(&self) -> &Bytes {
        &self.data
    }

    /// The payload, without copying.
    #[inline]
    pub fn into_bytes(mut self) -> Bytes {
        std::mem::take(&mut self.data)
    }

    /// An empty buffer with room for `size` octets, to fill and send
    /// (`Message::from(buffer)`): the counterpart of libzmq's `zmq_msg_init_size`.
    ///
    /// It reuses, when it can, a payload of the same size the library is done with: one
    /// written to a tcp or ipc connection by the I/O thread, or a received message dropped.
    /// That spares the allocator's cross-thread path, which for small messages costs more
    /// than sending them. (A message of up to 512 octets to a NULL or PLAIN connection is
    /// copied as it is queued, and its payload freed on the sending thread, where the
    /// allocator is cheap.) What is kept is bounded (a few sizes, at most 256 KiB of each per
    /// thread and 2 MiB in all per size) and process-wide: it outlives sockets and contexts,
    /// and a thread's share is freed when the thread ends. Payloads of other sizes, or still
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
        std::str::from_utf8(&self.data).ok()
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

    /// Sets the group (RADIO). libzmq limits groups to 15 octets.
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

    pub(crate) fn from_parts(
        data: Bytes,
        more: bool,
        routing_id: u32,
        metadata: Option<Arc<Properties>>,
    ) -> Self {
        Self {
            data,
            more: u32::from(more),
            routing_id,
            group: None,
            metadata,
        }
    }

    pub(crate) fn has_group(&self) -> bool {
        self.group.is_some()
    }

    pub(crate) fn take_group(&mut self) -> Option<Bytes> {
        self.group.take()
    }

    pub(crate) fn set_group_bytes(&mut self, group: Option<Bytes>) {
        self.group = group;
    }
}

impl Deref for Message {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.data
    }
}

impl AsRef<[u8]> for Message {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("data", &self.data)
            .field("more", &self.get_more())
            .finish()
    }
}

impl From<Bytes> for Message {
    #[inline]
    fn from(data: Bytes) -> Self {
        Self {
            data,
            more: 0,
            routing_id: 0,
            group: None,
            metadata: None,
        }
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
    /// Hands the payload to [`Message::buffer`] for reuse if nothing else refers to it.
    fn drop(&mut self) {
        if !self.data.is_empty()
            && self.data.len() <= crate::recycle::MAX_SIZE
            && crate::recycle::in_use()
        {
            crate::recycle::give_bytes(std::mem::take(&mut self.data));
        }
    }
}
