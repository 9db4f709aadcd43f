//! Pacing of blocking sends of large messages to what the connections write.
//!
//! A sender of large messages is faster than its connections' writes (the kernel's copy into
//! the socket buffer), so its queue fills to SNDHWM and every payload the I/O thread copies
//! was written a whole queue earlier: 32 to 128 MiB of such messages, out of every cache.
//! With a few MiB in flight the same copies run from cache. So a blocking send of a large
//! message that finds more than [`AHEAD_MAX`] octets of large payloads queued and not yet
//! written waits until the connections have written down to half of that (the writer wakes
//! it then, with half the window still to write while it refills). The message is queued
//! before the wait: what a send queues, and when a non-blocking send fails, are as SNDHWM
//! says; only when a blocking send returns changes. A wait ends early when the writes made
//! no progress for [`STALL`] (a peer not reading, messages dropped with a closed connection),
//! and after [`WAIT_MAX`] in any case: a burst to a stalled peer still queues its SNDHWM's
//! worth at once. A socket with inproc peers (whose sends nobody writes) is not paced, and
//! SNDTIMEO bounds the wait too (0: none).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Payloads of at least this many octets are paced (smaller ones measured no gain: their
/// whole queue is nearer the cache's size).
pub(crate) const PACED_FRAME_MIN: usize = 32 * 1024;
/// Octets of large payloads queued and not yet written above which a blocking send waits.
const AHEAD_MAX: u64 = 4 * 1024 * 1024;
/// How long writes may make no progress before a waiting send gives up waiting.
const STALL: Duration = Duration::from_millis(1);
/// The longest a send waits.
const WAIT_MAX: Duration = Duration::from_millis(10);

/// A socket's count of large payloads sent and written, and the send waiting on it.
#[derive(Debug, Default)]
pub(crate) struct Pacing {
    /// Octets of payloads of at least [`PACED_FRAME_MIN`] sent blocking, counted from the
    /// same origin as `written` (moved up to it whenever it falls behind).
    sent: AtomicU64,
    /// Octets of large frame bodies (those a connection writes without copying them first)
    /// that the socket's connections have written.
    written: AtomicU64,
    /// While a send waits: the `written` count that ends its wait; 0 otherwise.
    resume_at: AtomicU64,
    lock: Mutex<()>,
    resumed: Condvar,
}

impl Pacing {
    /// A connection of the socket wrote `octets` of large frame bodies.
    pub fn wrote(&self, octets: u64) {
        let written = self.written.fetch_add(octets, Ordering::SeqCst) + octets;
        let resume_at = self.resume_at.load(Ordering::SeqCst);
        if resume_at != 0 && written >= resume_at {
            // Under the lock: a sender about to wait checks `written` under it.
            let _held = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.resumed.notify_all();
        }
    }

    /// A blocking send queued a payload of `octets` (at least [`PACED_FRAME_MIN`]): waits
    /// while too much is ahead of it (see the module's documentation), for at most what
    /// `limit` says when asked (it is asked only before a wait; zero: no wait).
    pub fn after_send(&self, octets: usize, limit: impl FnOnce() -> Duration) {
        let written = self.written.load(Ordering::SeqCst);
        if written == 0 {
            // Nothing large ever written: no tcp or ipc connection sends for this socket.
            return;
        }
        let sent = self.sent.load(Ordering::Relaxed).max(written) + octets as u64;
        self.sent.store(sent, Ordering::Relaxed);
        if sent - written <= AHEAD_MAX {
            return;
        }
        let wait_max = limit().min(WAIT_MAX);
        if wait_max.is_zero() {
            // Not to be paced now: count afresh from what was written.
            self.sent.store(written, Ordering::Relaxed);
            return;
        }
        let resume_at = sent - AHEAD_MAX / 2;
        let started = Instant::now();
        let mut last = (written, started);
        let mut held = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        // Set before the check below, and checked by the writer after its count: one of the
        // two sees the other (both sequentially consistent).
        self.resume_at.store(resume_at, Ordering::SeqCst);
        loop {
            let written = self.written.load(Ordering::SeqCst);
            if written >= resume_at {
                break;
            }
            let now = Instant::now();
            if written != last.0 {
                last = (written, now);
            }
            if now.duration_since(last.1) >= STALL || now.duration_since(started) >= wait_max {
                // No progress: count afresh from what was written.
                self.sent.store(written, Ordering::Relaxed);
                break;
            }
            held = self
                .resumed
                .wait_timeout(held, STALL)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        self.resume_at.store(0, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LARGE: usize = 64 * 1024;

    #[test]
    fn a_socket_that_never_wrote_large_frames_is_not_paced() {
        let pacing = Pacing::default();
        for _ in 0..1000 {
            pacing.after_send(LARGE, || WAIT_MAX);
        }
        assert_eq!(pacing.sent.load(Ordering::Relaxed), 0, "nothing counted");
    }

    #[test]
    fn a_send_waits_for_the_writes_and_returns_once_they_caught_up() {
        let pacing = std::sync::Arc::new(Pacing::default());
        pacing.wrote(1);
        // Up to the window, no wait: the writer has not started.
        let window = AHEAD_MAX as usize / LARGE;
        for _ in 0..window {
            pacing.after_send(LARGE, || WAIT_MAX);
        }
        assert_eq!(pacing.resume_at.load(Ordering::SeqCst), 0);
        let writer = {
            let pacing = pacing.clone();
            std::thread::spawn(move || {
                // Waits for the send to wait (for a while), then writes everything at once.
                let deadline = Instant::now() + Duration::from_secs(5);
                while pacing.resume_at.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
                    std::thread::yield_now();
                }
                let waited = pacing.resume_at.load(Ordering::SeqCst) != 0;
                pacing.wrote(AHEAD_MAX);
                waited
            })
        };
        // One more than the window: this one waits.
        pacing.after_send(LARGE, || WAIT_MAX);
        assert!(
            writer.join().expect("writer"),
            "the send past the window did not wait"
        );
        let sent = pacing.sent.load(Ordering::Relaxed);
        let written = pacing.written.load(Ordering::SeqCst);
        assert!(
            written >= sent.saturating_sub(AHEAD_MAX / 2),
            "returned with {} ahead",
            sent.saturating_sub(written)
        );
        assert_eq!(
            pacing.resume_at.load(Ordering::SeqCst),
            0,
            "no longer waiting"
        );
    }

    #[test]
    fn without_progress_a_send_stops_waiting_and_counts_afresh() {
        let pacing = Pacing::default();
        pacing.wrote(1);
        let started = Instant::now();
        for _ in 0..=(AHEAD_MAX as usize / LARGE) {
            pacing.after_send(LARGE, || WAIT_MAX);
        }
        // One wait that gave up (nothing was written), not one per send.
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(
            pacing.sent.load(Ordering::Relaxed),
            1,
            "counted from what was written"
        );
        assert_eq!(pacing.resume_at.load(Ordering::SeqCst), 0);
    }
}
