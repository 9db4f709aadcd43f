//! Payload buffers kept for reuse, behind [`crate::Message::buffer`].
//!
//! A payload allocated on one thread and freed on another (by the I/O thread once written, or
//! by the receiving thread over inproc) is the dearest part of sending a small message: the
//! allocator's cross-thread path takes locks and misses the cache at both ends, a third of a
//! sending thread's time in the perf tools. So the library keeps the buffers it is done with
//! (a payload written to a connection, a received message dropped) when they have a size
//! somebody asked `Message::buffer` for, and hands them out again instead of allocating.
//!
//! Everything is bounded: only the last [`WANTED_SIZES`] sizes asked for are kept, each
//! thread keeps at most [`LOCAL_BYTES`] of each (moving half of it to the shared pool when
//! full), the shared pool at most [`SHARED_BYTES`] or [`SHARED_COUNT`] buffers of each and
//! [`SHARED_TOTAL`] in all; a buffer that does not fit is freed as it would have been. A
//! thread's buffers are freed when it exits.

use std::cell::RefCell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};

/// Sizes above this are not kept.
pub(crate) const MAX_SIZE: usize = 256 * 1024;
/// Sizes up to this are allocated with malloc even when zeroed (see [`take_filled`]).
const SMALL: usize = 4096;
/// How many distinct sizes are kept at once (the most recently asked for).
const WANTED_SIZES: usize = 8;
/// What each thread keeps of one size, at most.
const LOCAL_BYTES: usize = 256 * 1024;
/// Buffers each thread keeps of one size, at most.
const LOCAL_COUNT: usize = 256;
/// What the shared pool keeps of one size, at most: this much, or [`SHARED_COUNT`] buffers
/// of a larger size. Large payloads are the dearest to allocate (a fresh one is zeroed, or
/// faulted in page by page), and a sender refills its queue in bursts of SNDHWM messages
/// while the I/O thread hands written ones back a few at a time.
const SHARED_BYTES: usize = 2 * 1024 * 1024;
/// See [`SHARED_BYTES`].
const SHARED_COUNT: usize = 256;
/// What the shared pool keeps in all, at most.
const SHARED_TOTAL: usize = 32 * 1024 * 1024;

/// The sizes asked for lately; 0 is none.
static WANTED: [AtomicUsize; WANTED_SIZES] = [const { AtomicUsize::new(0) }; WANTED_SIZES];
/// Which entry of `WANTED` a new size replaces.
static NEXT_WANTED: AtomicUsize = AtomicUsize::new(0);

static SHARED: Mutex<Vec<Shelf>> = Mutex::new(Vec::new());
/// Batches in `SHARED`, of any size, as of its last change: a thread that sees none does
/// not take the lock.
static SHARED_BATCHES: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static LOCAL: RefCell<Vec<Shelf>> = const { RefCell::new(Vec::new()) };
}

/// Buffers of one size: single buffers on a thread, batches of them in the shared pool.
#[derive(Debug)]
struct Shelf {
    size: usize,
    /// How many buffers a thread keeps before it moves half of them to the shared pool.
    limit: usize,
    local: Vec<BytesMut>,
    batches: Vec<Vec<BytesMut>>,
}

impl Shelf {
    fn new(size: usize) -> Self {
        Self {
            size,
            limit: (LOCAL_BYTES / size).clamp(2, LOCAL_COUNT),
            local: Vec::new(),
            batches: Vec::new(),
        }
    }

    /// Batches the shared pool keeps.
    fn shared_limit(&self) -> usize {
        (self.shared_bytes() / (self.size * (self.limit / 2))).max(1)
    }

    /// Octets the shared pool keeps of this size.
    fn shared_bytes(&self) -> usize {
        SHARED_BYTES.max(self.size * SHARED_COUNT)
    }
}

/// Whether buffers of `size` are kept.
fn wanted(size: usize) -> bool {
    WANTED.iter().any(|w| w.load(Ordering::Relaxed) == size)
}

/// Whether any size is kept at all: a load, for paths that would otherwise hand buffers in.
pub(crate) fn in_use() -> bool {
    WANTED[0].load(Ordering::Relaxed) != 0
}

fn want(size: usize) {
    if !wanted(size) {
        let at = NEXT_WANTED.fetch_add(1, Ordering::Relaxed) % WANTED_SIZES;
        WANTED[at].store(size, Ordering::Relaxed);
    }
}

/// Where the shelf for `size` is among `shelves`: found, or made if the size is wanted.
/// Making one drops the shelves of sizes no longer wanted, so that a thread holds at most
/// one more than are wanted; a shelf found is used without asking (the fast path).
fn shelf_at(shelves: &mut Vec<Shelf>, size: usize) -> Option<usize> {
    if let Some(at) = shelves.iter().position(|s| s.size == size) {
        return Some(at);
    }
    if !wanted(size) {
        return None;
    }
    shelves.retain(|s| wanted(s.size));
    shelves.push(Shelf::new(size));
    Some(shelves.len() - 1)
}

/// An empty buffer with room for exactly `size` octets, reused when one is kept.
///
/// Empty, not zeroed: what a reused buffer held cannot be read, and the taker writes what it
/// sends. Zeroing it here would write, on the sending thread, memory another core touched
/// last, and wait for that core: for 64-octet messages over tcp that was the difference
/// between a gain and a loss.
#[inline]
pub(crate) fn take(size: usize) -> BytesMut {
    match take_kept(size) {
        Some(mut buf) => {
            buf.clear();
            buf
        }
        None => BytesMut::with_capacity(size),
    }
}

/// A buffer of exactly `size` octets, all of them initialised (`len() == size`), to read
/// into: reused when one is kept, with what it held still in it, zeroed otherwise. Whoever
/// takes it must overwrite every octet before any is read as data.
pub(crate) fn take_filled(size: usize) -> BytesMut {
    match take_kept(size) {
        Some(buf) if buf.len() == size => buf,
        Some(mut buf) => {
            buf.clear();
            buf.resize(size, 0);
            buf
        }
        // calloc takes glibc's slow path for small sizes (no per-thread cache): a 64-octet
        // sender spent a tenth of its time there. Large sizes keep it (fresh pages come
        // zeroed by the kernel, with no memset).
        None if size <= SMALL => {
            let mut buf = BytesMut::with_capacity(size);
            buf.resize(size, 0);
            buf
        }
        None => BytesMut::zeroed(size),
    }
}

/// A kept buffer of capacity `size`, as it was given (asking makes the size wanted).
#[inline]
fn take_kept(size: usize) -> Option<BytesMut> {
    if size == 0 || size > MAX_SIZE {
        return None;
    }
    let kept = LOCAL.try_with(|local| {
        let mut local = local.borrow_mut();
        let at = match local.iter().position(|s| s.size == size) {
            Some(at) => at,
            None => {
                want(size);
                shelf_at(&mut local, size)?
            }
        };
        let shelf = &mut local[at];
        if let Some(buf) = shelf.local.pop() {
            return Some(buf);
        }
        shelf.local = take_batch(size)?;
        shelf.local.pop()
    });
    kept.ok().flatten()
}

fn take_batch(size: usize) -> Option<Vec<BytesMut>> {
    if SHARED_BATCHES.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let mut shared = SHARED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let at = shelf_at(&mut shared, size)?;
    let batch = shared[at].batches.pop();
    count_batches(&shared);
    batch
}

fn count_batches(shared: &[Shelf]) {
    let batches = shared.iter().map(|s| s.batches.len()).sum();
    SHARED_BATCHES.store(batches, Ordering::Relaxed);
}

/// Octets the shared pool holds (every batch is the upper half of a full thread's shelf).
fn held(shared: &[Shelf]) -> usize {
    shared
        .iter()
        .map(|s| s.batches.len() * (s.limit - s.limit / 2) * s.size)
        .sum()
}

/// Keeps `buf` for reuse if its capacity is a wanted size and there is room; frees it
/// otherwise.
#[cfg(test)]
fn give(buf: BytesMut) {
    let size = buf.capacity();
    if size == 0 || size > MAX_SIZE {
        return;
    }
    let _ = LOCAL.try_with(|local| {
        let mut local = local.borrow_mut();
        if let Some(at) = shelf_at(&mut local, size) {
            keep(&mut local[at], buf);
        }
    });
}

/// Keeps a payload the library is done with, if nothing else refers to it and its size is
/// wanted (see [`give`]). The size is checked before the payload is looked at.
pub(crate) fn give_bytes(payload: Bytes) {
    give_all(std::iter::once(payload));
}

/// [`give_bytes`] for each of `payloads`, with one look at this thread's shelves.
pub(crate) fn give_all(payloads: impl Iterator<Item = Bytes>) {
    let _ = LOCAL.try_with(|local| {
        let mut local = local.borrow_mut();
        // The shelf of the last size seen: a stream's payloads mostly have one size.
        let mut last: Option<(usize, usize)> = None;
        for payload in payloads {
            let size = payload.len();
            if size == 0 || size > MAX_SIZE {
                continue;
            }
            let at = match last {
                Some((seen, at)) if seen == size => at,
                _ => {
                    let Some(at) = shelf_at(&mut local, size) else {
                        continue;
                    };
                    last = Some((size, at));
                    at
                }
            };
            if let Ok(buf) = payload.try_into_mut()
                && buf.capacity() == size
            {
                keep(&mut local[at], buf);
            }
        }
    });
}

/// Puts `buf` on this thread's shelf, moving half of the shelf to the shared pool when full.
fn keep(shelf: &mut Shelf, buf: BytesMut) {
    shelf.local.push(buf);
    if shelf.local.len() >= shelf.limit {
        let batch = shelf.local.split_off(shelf.limit / 2);
        give_batch(shelf.size, batch);
    }
}

fn give_batch(size: usize, batch: Vec<BytesMut>) {
    let mut shared = SHARED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let bytes = batch.len() * size;
    if let Some(at) = shelf_at(&mut shared, size)
        && shared[at].batches.len() < shared[at].shared_limit()
        && held(&shared) + bytes <= SHARED_TOTAL
    {
        shared[at].batches.push(batch);
    }
    count_batches(&shared);
}

#[cfg(test)]
mod tests {
    use super::*;

    // The pool is process-wide and tests run in parallel: each test uses sizes of its own.

    #[test]
    fn a_buffer_given_back_is_handed_out_again_empty() {
        let size = 1001;
        let mut first = take(size);
        assert!(first.is_empty());
        assert_eq!(first.capacity(), size);
        first.resize(size, 0xAB);
        let at = first.as_ptr();
        give(first);
        let again = take(size);
        assert_eq!(again.as_ptr(), at, "not reused");
        assert!(again.is_empty(), "what it held is readable");
        assert_eq!(again.capacity(), size);
    }

    /// `Socket::recv_into` replaces the payload of the caller's message in place: the old one
    /// must go back for reuse as a dropped message's does (without it, a 64 KiB receiver
    /// allocated and zeroed every read buffer afresh: a third of its former throughput).
    #[test]
    fn a_payload_replaced_by_a_receive_into_its_message_is_reused() {
        let size = 1006;
        let kept_here = || {
            LOCAL.with(|local| {
                local
                    .borrow()
                    .iter()
                    .find(|s| s.size == size)
                    .map_or(0, |s| s.local.len())
            })
        };
        let mut buf = take(size);
        buf.resize(size, 1);
        let mut msg = crate::Message::from(buf);
        let before = kept_here();
        let next = Bytes::from_static(b"next");
        msg.set_parts(crate::message::Part::Shared(next), false, 0, None, None);
        assert_eq!(&msg[..], b"next");
        assert_eq!(kept_here(), before + 1, "not handed back");
    }

    #[test]
    fn a_payload_still_referred_to_is_not_reused() {
        let size = 1002;
        let mut buf = take(size);
        buf.resize(size, 7);
        let payload = buf.freeze();
        let kept = payload.clone();
        give_bytes(payload);
        let mut next = take(size);
        next.resize(size, 9);
        assert!(
            kept.iter().all(|&b| b == 7),
            "a shared payload was overwritten"
        );
    }

    #[test]
    fn sizes_nobody_asked_for_are_not_kept() {
        for _ in 0..1000 {
            give(BytesMut::zeroed(1003));
        }
        LOCAL.with(|local| {
            assert!(
                local.borrow().iter().all(|s| s.size != 1003),
                "kept on this thread a size never asked for"
            );
        });
        let shared = SHARED.lock().expect("pool");
        assert!(
            shared
                .iter()
                .all(|s| s.size != 1003 || s.batches.is_empty()),
            "kept in the shared pool a size never asked for"
        );
    }

    #[test]
    fn a_thread_keeps_a_bounded_number_and_the_shared_pool_a_bounded_amount() {
        let size = 1004;
        drop(take(size));
        for _ in 0..10_000 {
            give(BytesMut::zeroed(size));
        }
        let local = LOCAL.with(|local| {
            local
                .borrow()
                .iter()
                .find(|s| s.size == size)
                .map_or(0, |s| s.local.len())
        });
        assert!(
            local < Shelf::new(size).limit,
            "{local} kept on this thread"
        );
        let shared: usize = SHARED
            .lock()
            .expect("pool")
            .iter()
            .filter(|s| s.size == size)
            .map(|s| s.batches.iter().map(Vec::len).sum::<usize>())
            .sum();
        assert!(
            shared * size <= Shelf::new(size).shared_bytes(),
            "{shared} buffers of {size} in the shared pool"
        );
    }

    #[test]
    fn buffers_given_on_one_thread_are_taken_on_another() {
        let size = 1005;
        drop(take(size));
        let given: Vec<usize> = std::thread::spawn(move || {
            let bufs: Vec<BytesMut> = (0..Shelf::new(size).limit)
                .map(|_| BytesMut::zeroed(size))
                .collect();
            let at = bufs.iter().map(|b| b.as_ptr() as usize).collect();
            bufs.into_iter().for_each(give);
            at
        })
        .join()
        .expect("giving thread");
        let taken = take(size).as_ptr() as usize;
        assert!(
            given.contains(&taken),
            "a full thread's batch did not reach the shared pool"
        );
    }
}
