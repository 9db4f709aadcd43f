//! Messages as the layers above the wire see them: whole multipart messages of `Bytes` frames,
//! or one small frame held inline.

mod frames;

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use smallvec::SmallVec;

use crate::packed::Framed;

pub use frames::{Frames, FramesIter};

/// Frames held inline before a message spills to the heap: enough for `[id, "", body]`.
const INLINE_FRAMES: usize = 3;

/// A whole ZeroMQ message: one or more frames, delivered atomically (RFC 23 "message").
///
/// Frames are `Bytes`, so building, cloning and slicing a message never copies its payload.
/// A one-frame message of at most [`Msg::SMALL_MAX`] octets may instead hold its frame
/// inline ([`Msg::copied`]): a queue of such messages carries their octets in its entries,
/// with no buffer to allocate, share or free per message. The two forms are equal when
/// their frames are; a frame taken out as `Bytes` is copied out of an inline one.
///
/// A message may also carry libzmq's per-message attributes: the routing id used by the
/// draft CLIENT/SERVER and PEER types, and the connection's metadata (ZMTP properties and
/// ZAP's `User-Id`) on a received message.
#[derive(Clone, Default)]
pub struct Msg {
    body: Body,
    routing_id: u32,
    metadata: Option<Arc<Properties>>,
}

#[derive(Clone)]
enum Body {
    Frames(SmallVec<[Bytes; INLINE_FRAMES]>),
    Small(Small),
}

impl Default for Body {
    fn default() -> Self {
        Self::Frames(SmallVec::new())
    }
}

/// One frame of at most [`Msg::SMALL_MAX`] octets, held inline: aligned, the length last,
/// so that a queue moving messages copies the octets in aligned words (octets at an odd
/// offset, copied in wider loads than the stores that wrote them, stall the copy).
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Small {
    data: [u8; Msg::SMALL_MAX],
    len: u8,
}

// A queue entry is two cache lines (on 64-bit targets): the inline frame shares the space of
// the frames' vector, and `Traffic` finds its tag in `Body`'s.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<Msg>() == 128 && size_of::<Traffic>() == 128);

impl Small {
    fn as_slice(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }
}

impl Msg {
    /// The most octets [`Msg::copied`] keeps inline.
    pub const SMALL_MAX: usize = 64;

    /// A one-frame message whose frame is empty, held inline: a constant, for a queue entry
    /// that [`Msg::set_copied`] then fills where it lies.
    pub const EMPTY_FRAME: Self = Self {
        body: Body::Small(Small {
            data: [0; Self::SMALL_MAX],
            len: 0,
        }),
        routing_id: 0,
        metadata: None,
    };

    /// An empty message (no frames). Pushing at least one frame makes it sendable.
    #[inline]
    pub fn new() -> Self {
        Self::default()
    }

    /// A single-frame message.
    #[inline]
    pub fn single(frame: impl Into<Bytes>) -> Self {
        let mut frames = SmallVec::new();
        frames.push(frame.into());
        Self::with_body(Body::Frames(frames))
    }

    /// A single-frame message holding a copy of `data`: inline up to [`Msg::SMALL_MAX`]
    /// octets, in a new `Bytes` beyond.
    #[inline]
    pub fn copied(data: &[u8]) -> Self {
        let mut msg = Self::EMPTY_FRAME;
        msg.set_copied(data);
        msg
    }

    /// Makes this a single-frame message holding a copy of `data`, as [`Msg::copied`]
    /// makes one, written where the message is (its routing id and metadata kept).
    #[inline]
    pub fn set_copied(&mut self, data: &[u8]) {
        let len = u8::try_from(data.len())
            .ok()
            .filter(|_| data.len() <= Self::SMALL_MAX);
        match (&mut self.body, len) {
            (Body::Small(small), Some(len)) => {
                small.data[..data.len()].copy_from_slice(data);
                small.len = len;
            }
            (body, Some(len)) => {
                let mut small = Small {
                    data: [0; Self::SMALL_MAX],
                    len,
                };
                small.data[..data.len()].copy_from_slice(data);
                *body = Body::Small(small);
            }
            (body, None) => {
                let frame = Bytes::copy_from_slice(data);
                *body = Body::Frames(std::iter::once(frame).collect());
            }
        }
    }

    #[inline]
    fn with_body(body: Body) -> Self {
        Self {
            body,
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
        Self::with_body(Body::Frames(frames.into_iter().map(Into::into).collect()))
    }

    /// The frames, in order.
    #[inline]
    pub fn frames(&self) -> Frames<'_> {
        match &self.body {
            Body::Frames(frames) => Frames::Shared(frames),
            Body::Small(small) => Frames::Small(small.as_slice()),
        }
    }

    /// The frame of a one-frame message held inline (see [`Msg::copied`]).
    #[inline]
    pub fn small(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Small(small) => Some(small.as_slice()),
            Body::Frames(_) => None,
        }
    }

    /// Number of frames.
    #[inline]
    pub fn len(&self) -> usize {
        self.frames().len()
    }

    /// True when the message has no frames.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total payload octets over all frames.
    #[inline]
    pub fn payload_len(&self) -> usize {
        match &self.body {
            Body::Small(small) => small.as_slice().len(),
            Body::Frames(frames) => match frames.as_slice() {
                [only] => only.len(),
                frames => frames.iter().map(Bytes::len).sum(),
            },
        }
    }

    /// Runs `edit` on the frames as `Bytes`, an inline frame copied into one first: for the
    /// changes that take or add frames.
    fn edit_frames<R>(
        &mut self,
        edit: impl FnOnce(&mut SmallVec<[Bytes; INLINE_FRAMES]>) -> R,
    ) -> R {
        match &mut self.body {
            Body::Frames(frames) => edit(frames),
            Body::Small(small) => {
                let mut frames = SmallVec::new();
                frames.push(Bytes::copy_from_slice(small.as_slice()));
                let result = edit(&mut frames);
                self.body = Body::Frames(frames);
                result
            }
        }
    }

    /// Appends a frame.
    #[inline]
    pub fn push_back(&mut self, frame: impl Into<Bytes>) {
        let frame = frame.into();
        self.edit_frames(|frames| frames.push(frame));
    }

    /// Prepends a frame (an envelope or routing id).
    pub fn push_front(&mut self, frame: impl Into<Bytes>) {
        let frame = frame.into();
        self.edit_frames(|frames| frames.insert(0, frame));
    }

    /// Removes and returns the first frame.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        self.edit_frames(|frames| (!frames.is_empty()).then(|| frames.remove(0)))
    }

    /// Removes and returns the last frame.
    pub fn pop_back(&mut self) -> Option<Bytes> {
        self.edit_frames(SmallVec::pop)
    }

    /// The first frame, if any.
    pub fn first(&self) -> Option<&[u8]> {
        self.frames().first()
    }

    /// Takes the frames out as `Bytes`, leaving the message empty.
    pub fn into_frames(mut self) -> impl ExactSizeIterator<Item = Bytes> + DoubleEndedIterator {
        self.edit_frames(std::mem::take).into_iter()
    }

    /// Removes the first `n` frames (all of them if there are fewer) and returns them.
    pub fn split_front<C: FromIterator<Bytes>>(&mut self, n: usize) -> C {
        self.edit_frames(|frames| {
            let n = n.min(frames.len());
            frames.drain(..n).collect()
        })
    }

    /// Removes the first `n` frames (all of them if there are fewer).
    pub fn drop_front(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        match &mut self.body {
            Body::Frames(frames) => {
                let n = n.min(frames.len());
                frames.drain(..n);
            }
            Body::Small(_) => self.body = Body::default(),
        }
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

/// Equal when the frames, routing ids and metadata are, whichever form holds the frames.
impl PartialEq for Msg {
    fn eq(&self, other: &Self) -> bool {
        self.routing_id == other.routing_id
            && self.metadata == other.metadata
            && self.frames() == other.frames()
    }
}

impl Eq for Msg {}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        for frame in self.frames() {
            list.entry(&frames::Octets(frame));
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

impl Traffic {
    /// Appends to `queue` a one-frame message holding a copy of `data` (see [`Msg::copied`]),
    /// written into its queue entry: a message built aside and moved in is read back in wider
    /// loads than the stores that built it, which stalls the copy (a store-forwarding
    /// failure), at every message of a stream of small ones.
    #[inline]
    pub fn push_copied(queue: &mut VecDeque<Self>, data: &[u8]) {
        queue.push_back(Self::Message(Msg::EMPTY_FRAME));
        if let Some(Self::Message(msg)) = queue.back_mut() {
            msg.set_copied(data);
        }
    }
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
        assert_eq!(m.frames(), [&b"id"[..], b"", b"body"]);
        let env: Vec<Bytes> = m.split_front(2);
        assert_eq!(env.len(), 2);
        assert_eq!(m.frames(), [&b"body"[..]]);
        assert_eq!(m.payload_len(), 4);
    }

    #[test]
    fn a_small_frame_is_held_inline_and_equals_its_bytes_form() {
        let m = Msg::copied(b"hello");
        assert_eq!(m.small(), Some(&b"hello"[..]));
        assert_eq!(m, Msg::single(Bytes::from_static(b"hello")));
        assert_ne!(m, Msg::copied(b"hellO"));
        assert_eq!((m.len(), m.payload_len()), (1, 5));
        assert_eq!(m.first(), Some(&b"hello"[..]));
        assert_eq!(m.frames(), [&b"hello"[..]]);
        assert_eq!(format!("{m:?}"), format!("{:?}", msg![b"hello"]));
        let at_limit = vec![7; Msg::SMALL_MAX];
        assert_eq!(Msg::copied(&at_limit).small(), Some(&at_limit[..]));
        let over = vec![7; Msg::SMALL_MAX + 1];
        let large = Msg::copied(&over);
        assert_eq!(large.small(), None);
        assert_eq!(large.frames(), [&over[..]]);
        assert_eq!(Msg::copied(b"").frames(), [&b""[..]]);
    }

    #[test]
    fn changing_a_small_message_keeps_its_frame() {
        let mut m = Msg::copied(b"body");
        m.push_front(Bytes::from_static(b"id"));
        assert_eq!(m.small(), None);
        assert_eq!(m.frames(), [&b"id"[..], b"body"]);
        let mut m = Msg::copied(b"body");
        m.push_back(Bytes::from_static(b"tail"));
        assert_eq!(m.frames(), [&b"body"[..], b"tail"]);
        let mut m = Msg::copied(b"body");
        assert_eq!(m.pop_back().as_deref(), Some(&b"body"[..]));
        assert!(m.is_empty());
        let mut m = Msg::copied(b"body");
        assert_eq!(m.pop_front().as_deref(), Some(&b"body"[..]));
        assert_eq!(m.pop_front(), None);
        let mut m = Msg::copied(b"body");
        m.drop_front(1);
        assert!(m.is_empty());
        let frames: Vec<Bytes> = Msg::copied(b"body").into_frames().collect();
        assert_eq!(frames, [Bytes::from_static(b"body")]);
        let mut m = Msg::copied(b"body");
        let front: Vec<Bytes> = m.split_front(5);
        assert_eq!((front.len(), m.len()), (1, 0));
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
