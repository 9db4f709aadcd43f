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

/// One run of output: octets in the staging area, or a zero-copy chunk.
#[derive(Debug)]
enum Segment {
    /// The next `len` octets of the staging area.
    Staged(usize),
    /// A body queued without copying, and how much of it has been written.
    Chunk { body: Bytes, written: usize },
}

/// Bytes waiting to be written to the transport, in order.
///
/// Append with [`TxBuf::put_slice`], [`TxBuf::put_bytes`] or through a session's
/// `poll_transmit` / `send`; drain with [`TxBuf::io_slices`] (or [`TxBuf::chunk`]) and
/// [`TxBuf::advance`] by what the transport accepted. Appending many messages before one
/// write batches them.
///
/// Copied octets all go to one contiguous staging area, never split, and large bodies are
/// queued beside it as segments; once the transport has drained the buffer, the staging area
/// is reused from its start, so in steady state appending does not allocate.
#[derive(Debug, Default)]
pub struct TxBuf {
    /// Every copied octet still waiting, in order.
    staging: BytesMut,
    /// The order of output: staged runs and chunks. Staged octets past the runs listed here
    /// (written last, possibly through `staging_mut`) form an implicit final run.
    segments: VecDeque<Segment>,
    /// Octets of staging covered by `Segment::Staged` entries.
    staged_listed: usize,
    /// Octets in `Segment::Chunk` entries not yet written.
    chunks_len: usize,
    /// With [`TxBuf::keep_spent`]: frame bodies this buffer is done with, whole.
    spent: Option<Vec<Bytes>>,
    /// Octets of chunks written, ever (see [`TxBuf::chunk_octets_written`]).
    chunk_octets_written: u64,
}

impl TxBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty buffer whose staging area starts with `capacity` octets.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            staging: BytesMut::with_capacity(capacity),
            ..Self::default()
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

    /// Staged octets after the listed runs.
    fn tail_len(&self) -> usize {
        self.staging.len().saturating_sub(self.staged_listed)
    }

    /// Number of separate chunks (what `io_slices` would fill without a limit).
    pub fn chunk_count(&self) -> usize {
        self.segments.len() + usize::from(self.tail_len() > 0)
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
            self.retire(data);
            return;
        }
        let tail = self.tail_len();
        if tail > 0 {
            self.segments.push_back(Segment::Staged(tail));
            self.staged_listed += tail;
        }
        self.chunks_len += data.len();
        self.segments.push_back(Segment::Chunk {
            body: data,
            written: 0,
        });
    }

    /// Keeps, from now on, the frame bodies this buffer is done with (a small one once
    /// copied, a large one once written) for [`TxBuf::drain_spent`], instead of dropping
    /// them: a driver can then reuse their memory. Off by default.
    pub fn keep_spent(&mut self, keep: bool) {
        match (keep, self.spent.is_some()) {
            (true, false) => self.spent = Some(Vec::new()),
            (false, true) => self.spent = None,
            _ => {}
        }
    }

    /// The bodies kept since the last call (see [`TxBuf::keep_spent`]), whole and in order.
    pub fn drain_spent(&mut self) -> impl Iterator<Item = Bytes> + '_ {
        self.spent.iter_mut().flat_map(|spent| spent.drain(..))
    }

    /// A frame body this buffer is done with: kept if asked, dropped otherwise.
    pub(crate) fn retire(&mut self, body: Bytes) {
        if let Some(spent) = self.spent.as_mut() {
            spent.push(body);
        }
    }

    /// Moves everything waiting in `other` to the end of this buffer, leaving `other` empty
    /// (its allocations kept). Large chunks move without copying.
    pub fn append(&mut self, other: &mut Self) {
        let mut at = 0;
        for segment in other.segments.drain(..) {
            match segment {
                Segment::Staged(len) => {
                    let run = other.staging.get(at..at + len).unwrap_or_default();
                    self.reserve(run.len());
                    self.staging.put_slice(run);
                    at += len;
                }
                Segment::Chunk { mut body, written } => {
                    body.advance(written);
                    self.put_bytes(body);
                }
            }
        }
        let tail = other.staging.get(at..).unwrap_or_default();
        self.reserve(tail.len());
        self.staging.put_slice(tail);
        other.clear();
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
        match self.segments.front() {
            Some(Segment::Staged(len)) => self.staging.get(..*len).unwrap_or_default(),
            Some(Segment::Chunk { body, written }) => body.get(*written..).unwrap_or_default(),
            None => &self.staging,
        }
    }

    /// Fills `out` with the waiting chunks, in order, for a vectored write; returns how many
    /// entries it filled (at most `out.len()`).
    pub fn io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        self.io_slices_up_to(out, usize::MAX)
    }

    /// [`TxBuf::io_slices`] for at most `max_bytes` octets: the last slice is cut short where
    /// the limit falls. TCP with TCP_NODELAY moves data fastest in writes of whole segments:
    /// a write ends its last segment, however short.
    pub fn io_slices_up_to<'a>(&'a self, out: &mut [IoSlice<'a>], max_bytes: usize) -> usize {
        let mut at = 0;
        let listed = self.segments.iter().map(|segment| match segment {
            Segment::Staged(len) => {
                let run = self.staging.get(at..at + len).unwrap_or_default();
                at += len;
                run
            }
            Segment::Chunk { body, written } => body.get(*written..).unwrap_or_default(),
        });
        let tail = self.staging.get(self.staged_listed..).unwrap_or_default();
        let all = listed.chain((!tail.is_empty()).then_some(tail));
        let mut n = 0;
        let mut left = max_bytes;
        for (slot, chunk) in out.iter_mut().zip(all) {
            if left == 0 {
                break;
            }
            let chunk = chunk.get(..left).unwrap_or(chunk);
            left -= chunk.len();
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// Drops the first `n` octets, which the transport has written. Advancing past the end
    /// empties the buffer.
    pub fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.segments.front_mut() else {
                break;
            };
            match front {
                Segment::Staged(len) => {
                    let k = n.min(*len);
                    self.staging.advance(k);
                    self.staged_listed -= k;
                    *len -= k;
                    n -= k;
                    if *len > 0 {
                        return;
                    }
                }
                Segment::Chunk { body, written } => {
                    let k = n.min(body.len() - *written);
                    *written += k;
                    self.chunks_len -= k;
                    self.chunk_octets_written += k as u64;
                    n -= k;
                    if *written < body.len() {
                        return;
                    }
                }
            }
            if let Some(Segment::Chunk { body, .. }) = self.segments.pop_front() {
                self.retire(body);
            }
        }
        let n = n.min(self.staging.len());
        self.staging.advance(n);
        if self.staging.is_empty() {
            // Lets `reserve` reuse the whole allocation from its start.
            self.staging.clear();
        }
    }

    /// Octets of zero-copy chunks (frame bodies of at least [`ZERO_COPY_THRESHOLD`] octets,
    /// packed buffers) this buffer has seen written since it was made: a count that only
    /// grows, for a driver that paces large sends to what is written.
    pub fn chunk_octets_written(&self) -> u64 {
        self.chunk_octets_written
    }

    /// Drops everything waiting.
    pub fn clear(&mut self) {
        self.segments.clear();
        self.staged_listed = 0;
        self.chunks_len = 0;
        self.staging.clear();
    }

    /// Copies the whole contents into one `Vec` (tests and simple drivers).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        let mut slices = vec![IoSlice::new(&[]); self.chunk_count()];
        let n = self.io_slices(&mut slices);
        for slice in slices.iter().take(n) {
            out.extend_from_slice(slice);
        }
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
    fn spent_bodies_are_kept_whole_once_copied_or_written_and_only_when_asked() {
        let small = Bytes::from_static(b"small body");
        let big = Bytes::from(vec![3u8; ZERO_COPY_THRESHOLD + 10]);
        let mut tx = TxBuf::new();
        tx.put_bytes(small.clone());
        assert_eq!(tx.drain_spent().count(), 0, "kept without being asked");

        tx.clear();
        tx.keep_spent(true);
        tx.put_bytes(small.clone());
        tx.put_bytes(big.clone());
        let copied: Vec<Bytes> = tx.drain_spent().collect();
        assert_eq!(copied, vec![small], "a small body is done with once copied");

        tx.advance(10 + 100);
        assert_eq!(
            tx.drain_spent().count(),
            0,
            "a body half written is not done with"
        );
        assert_eq!(tx.chunk()[0], 3);
        tx.advance(tx.len());
        let written: Vec<Bytes> = tx.drain_spent().collect();
        assert_eq!(written.len(), 1);
        assert_eq!(written[0].as_ptr(), big.as_ptr(), "not the body itself");
        assert_eq!(written[0].len(), big.len(), "not whole");
        assert!(tx.is_empty());
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
    fn io_slices_up_to_cuts_the_last_slice_at_the_limit_and_advance_resumes_there() {
        let mut tx = TxBuf::new();
        tx.put_slice(b"head");
        tx.put_bytes(Bytes::from(vec![5u8; ZERO_COPY_THRESHOLD]));
        tx.put_slice(b"tail");
        let mut slices = [IoSlice::new(&[]); 8];
        let n = tx.io_slices_up_to(&mut slices, 10);
        let listed: Vec<u8> = slices[..n].iter().flat_map(|s| s.to_vec()).collect();
        assert_eq!(listed, [b"head".as_slice(), &[5u8; 6]].concat());

        assert_eq!(
            tx.io_slices_up_to(&mut slices, 0),
            0,
            "a zero limit lists nothing"
        );
        let n = tx.io_slices_up_to(&mut slices, usize::MAX);
        assert_eq!(n, 3, "no limit lists everything");

        tx.advance(10);
        let rest = tx.to_vec();
        assert_eq!(rest.len(), ZERO_COPY_THRESHOLD - 6 + 4);
        assert!(rest.ends_with(b"tail"));
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

    /// One operation on a transmit buffer.
    #[derive(Debug, Clone)]
    enum Op {
        Slice(Vec<u8>),
        Big(u8, u16),
        Staging(Vec<u8>),
        Advance(u16),
        Append(Vec<u8>, u16),
    }

    impl Arbitrary for Op {
        fn arbitrary(g: &mut quickcheck::Gen) -> Self {
            match u8::arbitrary(g) % 5 {
                0 => Self::Slice(Vec::arbitrary(g)),
                1 => Self::Big(u8::arbitrary(g), u16::arbitrary(g) % 6000),
                2 => Self::Staging(Vec::arbitrary(g)),
                3 => Self::Advance(u16::arbitrary(g) % 9000),
                _ => Self::Append(Vec::arbitrary(g), u16::arbitrary(g) % 6000),
            }
        }
    }

    use quickcheck::Arbitrary;

    #[test]
    fn any_sequence_of_appends_and_writes_keeps_the_byte_order() {
        fn prop(ops: Vec<Op>) -> bool {
            let mut tx = TxBuf::new();
            let mut model: Vec<u8> = Vec::new();
            for op in ops {
                match op {
                    Op::Slice(data) => {
                        tx.put_slice(&data);
                        model.extend_from_slice(&data);
                    }
                    Op::Big(byte, len) => {
                        let data = vec![byte; usize::from(len)];
                        tx.put_bytes(Bytes::from(data.clone()));
                        model.extend_from_slice(&data);
                    }
                    Op::Staging(data) => {
                        tx.staging_mut().put_slice(&data);
                        model.extend_from_slice(&data);
                    }
                    Op::Advance(n) => {
                        let n = usize::from(n);
                        tx.advance(n);
                        model.drain(..n.min(model.len()));
                    }
                    Op::Append(data, big) => {
                        let mut other = TxBuf::new();
                        other.put_slice(&data);
                        other.put_bytes(Bytes::from(vec![9u8; usize::from(big)]));
                        other.put_slice(&data);
                        tx.append(&mut other);
                        model.extend_from_slice(&data);
                        model.extend(std::iter::repeat_n(9u8, usize::from(big)));
                        model.extend_from_slice(&data);
                        if !other.is_empty() {
                            return false;
                        }
                    }
                }
                if tx.len() != model.len() || tx.to_vec() != model {
                    return false;
                }
                let first = tx.chunk();
                if model.get(..first.len()) != Some(first)
                    || (first.is_empty() && !model.is_empty())
                {
                    return false;
                }
            }
            true
        }
        quickcheck::QuickCheck::new()
            .tests(300)
            .quickcheck(prop as fn(Vec<Op>) -> bool);
    }

    /// Kept bodies come back whole, each once: a small one as soon as it is copied, a large
    /// one only once every octet of it has been written.
    #[test]
    fn spent_bodies_come_back_whole_once_and_never_before_written() {
        /// Each body put: where it ends in the stream, the body, and whether it came back.
        type Put = Vec<(usize, Bytes, bool)>;
        fn check(tx: &mut TxBuf, put: &mut Put, written: usize) -> bool {
            for body in tx.drain_spent() {
                let Some((end, expected, back)) = put
                    .iter_mut()
                    .find(|(_, b, back)| !*back && b.as_ptr() == body.as_ptr())
                else {
                    return false;
                };
                let copied = body.len() < ZERO_COPY_THRESHOLD;
                if body.len() != expected.len() || (!copied && *end > written) {
                    return false;
                }
                *back = true;
            }
            true
        }
        fn prop(ops: Vec<(bool, u16)>) -> bool {
            let mut tx = TxBuf::new();
            tx.keep_spent(true);
            let mut put = Put::new();
            let mut queued = 0;
            let mut written = 0;
            for (is_put, n) in ops {
                if is_put {
                    let body = Bytes::from(vec![7u8; usize::from(n % 6000) + 1]);
                    queued += body.len();
                    put.push((queued, body.clone(), false));
                    tx.put_bytes(body);
                } else {
                    let n = usize::from(n % 9000).min(tx.len());
                    tx.advance(n);
                    written += n;
                }
                if !check(&mut tx, &mut put, written) {
                    return false;
                }
            }
            written += tx.len();
            tx.advance(tx.len());
            check(&mut tx, &mut put, written) && put.iter().all(|(_, _, back)| *back)
        }
        quickcheck::QuickCheck::new()
            .tests(300)
            .quickcheck(prop as fn(Vec<(bool, u16)>) -> bool);
    }
}
