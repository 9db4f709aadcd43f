//! The caller-owned transmit buffer: small frames copied into one contiguous staging area,
//! large bodies queued as their own `Bytes` chunks (zero-copy), all ready for `writev`.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Frame bodies of at least this many octets are queued as their own chunk instead of being
/// copied into the staging area. Below it, a copy is cheaper than another `writev` slice.
pub const ZERO_COPY_THRESHOLD: usize = 4096;

/// Octets reserved at a time in the staging area.
const STAGING_RESERVE: usize = 8 * 1024;

/// Bytes waiting to be written to the transport, in order.
///
/// Append with [`TxBuf::put_slice`], [`TxBuf::put_bytes`] or through a session's
/// `poll_transmit` / `send`; drain with [`TxBuf::io_slices`] (or [`TxBuf::chunk`]) and
/// [`TxBuf::advance`] by what the transport accepted. Appending many messages before one
/// write batches them; in steady state appending does not allocate.
#[derive(Debug, Default)]
pub struct TxBuf {
    /// Frozen chunks, oldest first, all before `staging`.
    chunks: VecDeque<Bytes>,
    /// Octets in `chunks`.
    chunks_len: usize,
    /// The contiguous tail, still being appended to.
    staging: BytesMut,
}

impl TxBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty buffer whose staging area starts with `capacity` octets.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            chunks: VecDeque::new(),
            chunks_len: 0,
            staging: BytesMut::with_capacity(capacity),
        }
    }

    /// Octets waiting.
    pub fn len(&self) -> usize {
        self.chunks_len + self.staging.len()
    }

    /// True when nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of separate chunks (what `io_slices` would fill without a limit).
    pub fn chunk_count(&self) -> usize {
        self.chunks.len() + usize::from(!self.staging.is_empty())
    }

    /// Copies `data` to the end.
    pub fn put_slice(&mut self, data: &[u8]) {
        self.reserve(data.len());
        self.staging.put_slice(data);
    }

    /// Appends `data`: as its own chunk, without copying, when it has at least
    /// [`ZERO_COPY_THRESHOLD`] octets; copied otherwise.
    pub fn put_bytes(&mut self, data: Bytes) {
        if data.len() < ZERO_COPY_THRESHOLD {
            self.put_slice(&data);
            return;
        }
        if !self.staging.is_empty() {
            let head = self.staging.split().freeze();
            self.chunks_len += head.len();
            self.chunks.push_back(head);
        }
        self.chunks_len += data.len();
        self.chunks.push_back(data);
    }

    /// Moves everything waiting in `other` to the end of this buffer, leaving `other` empty
    /// (its allocation kept). Large chunks move without copying.
    pub fn append(&mut self, other: &mut Self) {
        for chunk in other.chunks.drain(..) {
            self.put_bytes(chunk);
        }
        other.chunks_len = 0;
        if !other.staging.is_empty() {
            self.put_slice(&other.staging);
            other.staging.clear();
        }
    }

    /// The contiguous tail, for encoders that write through `BufMut` (for example
    /// [`crate::Command::encode`]). Whatever is written there goes out after everything
    /// already queued.
    pub fn staging_mut(&mut self) -> &mut BytesMut {
        &mut self.staging
    }

    /// Makes room for `additional` octets in the staging area. When the staging area has been
    /// drained, this reuses its allocation rather than growing it.
    pub(crate) fn reserve(&mut self, additional: usize) {
        if self.staging.capacity() - self.staging.len() < additional {
            self.staging.reserve(additional.max(STAGING_RESERVE));
        }
    }

    /// The first contiguous run of waiting octets (empty when nothing waits).
    pub fn chunk(&self) -> &[u8] {
        match self.chunks.front() {
            Some(first) => first,
            None => &self.staging,
        }
    }

    /// Fills `out` with the waiting chunks, in order, for a vectored write; returns how many
    /// entries it filled (at most `out.len()`).
    pub fn io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let staging = (!self.staging.is_empty()).then_some(&self.staging[..]);
        let chunks = self.chunks.iter().map(|c| &c[..]).chain(staging);
        let mut n = 0;
        for (slot, chunk) in out.iter_mut().zip(chunks) {
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// Drops the first `n` octets, which the transport has written. Advancing past the end
    /// empties the buffer.
    pub fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            if n < front.len() {
                front.advance(n);
                self.chunks_len -= n;
                return;
            }
            n -= front.len();
            self.chunks_len -= front.len();
            self.chunks.pop_front();
        }
        let n = n.min(self.staging.len());
        self.staging.advance(n);
        if self.staging.is_empty() {
            // Lets `reserve` reclaim the whole allocation once nothing else shares it.
            self.staging.clear();
        }
    }

    /// Drops everything waiting.
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.chunks_len = 0;
        self.staging.clear();
    }

    /// Moves the whole contents into one `Vec` (tests and simple drivers).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        for chunk in &self.chunks {
            out.extend_from_slice(chunk);
        }
        out.extend_from_slice(&self.staging);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_bodies_are_queued_without_copying_and_order_is_kept() {
        let mut tx = TxBuf::new();
        tx.put_slice(b"head");
        let big = Bytes::from(vec![7u8; ZERO_COPY_THRESHOLD]);
        tx.put_bytes(big.clone());
        tx.put_slice(b"tail");
        assert_eq!(tx.len(), 8 + ZERO_COPY_THRESHOLD);
        assert_eq!(tx.chunk_count(), 3);
        let mut slices = [IoSlice::new(&[]); 8];
        let n = tx.io_slices(&mut slices);
        assert_eq!(n, 3);
        assert_eq!(&*slices[0], b"head");
        assert_eq!(
            slices[1].as_ptr(),
            big.as_ptr(),
            "the big body is not copied"
        );
        assert_eq!(&*slices[2], b"tail");
    }

    #[test]
    fn io_slices_fills_at_most_the_slots_given() {
        let mut tx = TxBuf::new();
        tx.put_bytes(Bytes::from(vec![1u8; ZERO_COPY_THRESHOLD]));
        tx.put_bytes(Bytes::from(vec![2u8; ZERO_COPY_THRESHOLD]));
        let mut one = [IoSlice::new(&[])];
        assert_eq!(tx.io_slices(&mut one), 1);
        assert_eq!(one[0][0], 1);
    }

    #[test]
    fn advance_crosses_chunk_boundaries() {
        let mut tx = TxBuf::new();
        tx.put_slice(b"ab");
        tx.put_bytes(Bytes::from(vec![9u8; ZERO_COPY_THRESHOLD]));
        tx.put_slice(b"cd");
        tx.advance(1);
        assert_eq!(tx.chunk(), b"b");
        tx.advance(1 + ZERO_COPY_THRESHOLD - 1);
        assert_eq!(tx.chunk(), &[9u8][..]);
        tx.advance(2);
        assert_eq!(tx.chunk(), b"d");
        tx.advance(100);
        assert!(tx.is_empty());
        assert_eq!(tx.chunk(), b"");
    }

    #[test]
    fn small_appends_stay_contiguous() {
        let mut tx = TxBuf::new();
        for _ in 0..100 {
            tx.put_slice(&[1, 2, 3]);
        }
        assert_eq!(tx.chunk_count(), 1);
        assert_eq!(tx.chunk().len(), 300);
        assert_eq!(tx.to_vec().len(), 300);
    }
}
