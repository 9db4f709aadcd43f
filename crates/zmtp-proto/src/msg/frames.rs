//! A borrowed view of a message's frames, whichever form holds them.

use bytes::Bytes;

/// The frames of a [`super::Msg`], in order, as octets: `Bytes` frames, or the one frame
/// held inline. Indexes as a slice does (`frames[0]`, panicking out of range as a slice
/// does); [`Frames::get`] does not panic.
#[derive(Clone, Copy)]
pub enum Frames<'a> {
    /// Frames held as `Bytes`.
    Shared(&'a [Bytes]),
    /// One frame held inline.
    Small(&'a [u8]),
}

impl<'a> Frames<'a> {
    /// Number of frames.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Self::Shared(frames) => frames.len(),
            Self::Small(_) => 1,
        }
    }

    /// True when there are no frames.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frame `index`, if there is one.
    #[inline]
    pub fn get(&self, index: usize) -> Option<&'a [u8]> {
        match *self {
            Self::Shared(frames) => frames.get(index).map(|frame| &frame[..]),
            Self::Small(frame) => (index == 0).then_some(frame),
        }
    }

    /// The first frame, if any.
    #[inline]
    pub fn first(&self) -> Option<&'a [u8]> {
        self.get(0)
    }

    /// The last frame, if any.
    pub fn last(&self) -> Option<&'a [u8]> {
        self.len().checked_sub(1).and_then(|last| self.get(last))
    }

    /// The frames in order.
    pub fn iter(&self) -> FramesIter<'a> {
        match *self {
            Self::Shared(frames) => FramesIter::Shared(frames.iter()),
            Self::Small(frame) => FramesIter::Small(Some(frame)),
        }
    }
}

impl std::ops::Index<usize> for Frames<'_> {
    type Output = [u8];

    fn index(&self, index: usize) -> &[u8] {
        match self {
            Self::Shared(frames) => &frames[index],
            Self::Small(frame) => {
                assert!(index == 0, "frame {index} of a one-frame message");
                frame
            }
        }
    }
}

impl PartialEq for Frames<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Frames<'_> {}

impl<const N: usize> PartialEq<[&[u8]; N]> for Frames<'_> {
    fn eq(&self, other: &[&[u8]; N]) -> bool {
        self.len() == N && self.iter().eq(other.iter().copied())
    }
}

impl std::fmt::Debug for Frames<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(Octets)).finish()
    }
}

impl<'a> IntoIterator for Frames<'a> {
    type Item = &'a [u8];
    type IntoIter = FramesIter<'a>;

    fn into_iter(self) -> FramesIter<'a> {
        self.iter()
    }
}

/// The iterator of [`Frames::iter`].
#[derive(Clone, Debug)]
pub enum FramesIter<'a> {
    /// Over `Bytes` frames.
    Shared(std::slice::Iter<'a, Bytes>),
    /// Over the inline frame, until taken.
    Small(Option<&'a [u8]>),
}

impl<'a> Iterator for FramesIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Self::Shared(frames) => frames.next().map(|frame| &frame[..]),
            Self::Small(frame) => frame.take(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            Self::Shared(frames) => frames.len(),
            Self::Small(frame) => usize::from(frame.is_some()),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for FramesIter<'_> {}

impl DoubleEndedIterator for FramesIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Self::Shared(frames) => frames.next_back().map(|frame| &frame[..]),
            Self::Small(frame) => frame.take(),
        }
    }
}

/// Octets shown as `Bytes` shows them: `b"..."`, non-printable ones escaped.
pub(super) struct Octets<'a>(pub(super) &'a [u8]);

impl std::fmt::Debug for Octets<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}
