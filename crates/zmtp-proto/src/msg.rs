//! Messages as the layers above the wire see them: whole multipart messages of `Bytes` frames.

use std::sync::Arc;

use bytes::Bytes;
use smallvec::SmallVec;

use crate::packed::Framed;

/// Frames held inline before a message spills to the heap: enough for `[id, "", body]`.
const INLINE_FRAMES: usize = 3;

/// A whole ZeroMQ message: one or more frames, delivered atomically (RFC 23 "message").
///
/// Frames are `Bytes`, so building, cloning and slicing a message never copies its payload.
/// A message may also carry libzmq's per-message attributes: the routing id used by the draft
/// CLIENT/SERVER and PEER types, and the connection's metadata (ZMTP properties and ZAP's
/// `User-Id`) on a received message.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Msg {
    frames: SmallVec<[Bytes; INLINE_FRAMES]>,
    routing_id: u32,
    metadata: Option<Arc<Properties>>,
}

impl Msg {
    /// An empty message (no frames). Pushing at least one frame makes it sendable.
    pub fn new() -> Self {
        Self::default()
    }

    /// A single-frame message.
    #[inline]
    pub fn single(frame: impl Into<Bytes>) -> Self {
        let mut frames = SmallVec::new();
        frames.push(frame.into());
        Self {
            frames,
            routing_id: 0,
            metadata: None,
        }
    }

    /// A message from its frames, in order.
    pub fn from_frames<I, B>(frames: I) -> Self
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        Self {
            frames: frames.into_iter().map(Into::into).collect(),
            routing_id: 0,
            metadata: None,
        }
    }

    /// The frames, in order.
    #[inline]
    pub fn frames(&self) -> &[Bytes] {
        &self.frames
    }

    /// Number of frames.
    #[inline]
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when the message has no frames.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Total payload octets over all frames.
    pub fn payload_len(&self) -> usize {
        match self.frames.as_slice() {
            [only] => only.len(),
            frames => frames.iter().map(Bytes::len).sum(),
        }
    }

    /// Appends a frame.
    #[inline]
    pub fn push_back(&mut self, frame: impl Into<Bytes>) {
        self.frames.push(frame.into());
    }

    /// Prepends a frame (an envelope or routing id).
    pub fn push_front(&mut self, frame: impl Into<Bytes>) {
        self.frames.insert(0, frame.into());
    }

    /// Removes and returns the first frame.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        if self.frames.is_empty() {
            None
        } else {
            Some(self.frames.remove(0))
        }
    }

    /// Removes and returns the last frame.
    pub fn pop_back(&mut self) -> Option<Bytes> {
        self.frames.pop()
    }

    /// The first frame, if any.
    pub fn first(&self) -> Option<&Bytes> {
        self.frames.first()
    }

    /// Takes the frames out, leaving the message empty.
    pub fn into_frames(self) -> impl ExactSizeIterator<Item = Bytes> + DoubleEndedIterator {
        self.frames.into_iter()
    }

    /// Removes the first `n` frames (all of them if there are fewer) and returns them.
    pub fn split_front<C: FromIterator<Bytes>>(&mut self, n: usize) -> C {
        let n = n.min(self.frames.len());
        self.frames.drain(..n).collect()
    }

    /// Removes the first `n` frames (all of them if there are fewer).
    pub fn drop_front(&mut self, n: usize) {
        let n = n.min(self.frames.len());
        self.frames.drain(..n);
    }

    /// libzmq's per-message routing id (draft CLIENT/SERVER, PEER); 0 means none.
    pub fn routing_id(&self) -> u32 {
        self.routing_id
    }

    /// Sets the per-message routing id (0 clears it).
    pub fn set_routing_id(&mut self, id: u32) {
        self.routing_id = id;
    }

    /// Takes the metadata out, leaving none.
    pub fn take_metadata(&mut self) -> Option<Arc<Properties>> {
        self.metadata.take()
    }

    /// The metadata of the connection this message arrived on, if any.
    pub fn metadata(&self) -> Option<&Arc<Properties>> {
        self.metadata.as_ref()
    }

    /// Attaches connection metadata (done by whoever delivers the message upward).
    pub fn set_metadata(&mut self, metadata: Option<Arc<Properties>>) {
        self.metadata = metadata;
    }
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        for frame in &self.frames {
            list.entry(frame);
        }
        list.finish()?;
        if self.routing_id != 0 {
            write!(f, " routing_id={}", self.routing_id)?;
        }
        Ok(())
    }
}

impl From<Bytes> for Msg {
    fn from(frame: Bytes) -> Self {
        Self::single(frame)
    }
}

impl From<Vec<Bytes>> for Msg {
    fn from(frames: Vec<Bytes>) -> Self {
        Self::from_frames(frames)
    }
}

/// Builds a [`Msg`] from frames: `msg![b"", b"hello"]`.
#[macro_export]
macro_rules! msg {
    ($($frame:expr),* $(,)?) => {
        $crate::Msg::from_frames([$(::bytes::Bytes::copy_from_slice(&$frame[..])),*])
    };
}

/// What flows between two sockets once the handshake is done (RFC 23's "traffic"): messages,
/// and the commands that the socket patterns exchange.
///
/// On the wire a subscription is a SUBSCRIBE or CANCEL command with ZMTP 3.1 peers and a data
/// frame starting with 0x01 or 0x00 with ZMTP 3.0 peers; the session hides the difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traffic {
    /// An application message.
    Message(Msg),
    /// Subscribe to a topic prefix (RFC 29, RFC 37 SUBSCRIBE).
    Subscribe(Bytes),
    /// Cancel a subscription (RFC 29, RFC 37 CANCEL).
    Cancel(Bytes),
    /// Join a group (RFC 48 JOIN).
    Join(Bytes),
    /// Leave a group (RFC 48 LEAVE).
    Leave(Bytes),
    /// Whole messages already framed for the wire, many to one buffer (see [`Framed`]): what
    /// a queue holds for a connection that sends frames as they are. Outbound only: a session
    /// never decodes one, and a socket pattern handed one as inbound traffic drops it.
    Framed(Framed),
}

/// Connection metadata: the properties a peer sent in READY (`Socket-Type`, `Identity`, `X-*`),
/// plus any the local side adds (ZAP's `User-Id`, `Peer-Address`).
///
/// Names are compared case-insensitively, as RFC 23 says of property names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(Bytes, Bytes)>,
}

impl Properties {
    /// No properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a property.
    pub fn insert(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        let name = name.into();
        let value = value.into();
        match self
            .entries
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name, value)),
        }
    }

    /// The value of a property, by case-insensitive name.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// All properties, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.entries.iter().map(|(n, v)| (n, v))
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Properties from entries whose names the caller has already made unique
    /// (case-insensitively), in wire order. Used by the metadata decoder, which must not pay
    /// `insert`'s linear search per property on hostile input.
    pub(crate) fn from_unique_entries(entries: Vec<(Bytes, Bytes)>) -> Self {
        Self { entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_envelope_operations_keep_frame_order() {
        let mut m = msg![b"body"];
        m.push_front(Bytes::new());
        m.push_front(Bytes::from_static(b"id"));
        assert_eq!(m.frames(), &[&b"id"[..], b"", b"body"]);
        let env: Vec<Bytes> = m.split_front(2);
        assert_eq!(env.len(), 2);
        assert_eq!(m.frames(), &[&b"body"[..]]);
        assert_eq!(m.payload_len(), 4);
    }

    #[test]
    fn property_names_are_case_insensitive() {
        let mut p = Properties::new();
        p.insert(
            Bytes::from_static(b"Socket-Type"),
            Bytes::from_static(b"REQ"),
        );
        p.insert(
            Bytes::from_static(b"socket-type"),
            Bytes::from_static(b"REP"),
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p.get("SOCKET-TYPE").map(|v| &v[..]), Some(&b"REP"[..]));
    }
}
