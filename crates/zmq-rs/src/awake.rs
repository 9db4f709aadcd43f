//! Waiting awake: what a thread does for a few microseconds before it sleeps, when what it
//! waits for usually comes sooner than a sleeping thread could be woken.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A yield that kept this thread off its core for longer than this means other threads
/// want the cores (a loaded host): the scheduler runs them for a whole time slice, often
/// milliseconds, before it comes back to a thread that yielded.
const YIELD_TOO_LONG: Duration = Duration::from_millis(1);
/// After such a yield, how long waits do not wait awake at all: they sleep at once, and a
/// sleeping thread is woken ahead of threads that keep the cores busy.
const CONTENDED_FOR: Duration = Duration::from_millis(100);

/// Looks at `ready` until it holds or `limit` passes, giving the core away after every few
/// looks (on one core the thread that makes it hold must run), and says whether it held.
/// `ready` should only read memory that others write rarely: it is called in a tight loop.
///
/// Four looks between yields, not more: a `pause` costs about 140 cycles on this kind of
/// machine, and on one core an inproc one-way trip took 3.3 us with 32 looks between
/// yields against 2.5 us with 4 (two bare threads taking turns by yielding: 1.5-1.7 us,
/// the `wakeup_floor` bench).
///
/// On a loaded host a yield can cost a whole time slice of another thread: when one does
/// (see [`YIELD_TOO_LONG`]), this and the waits of the next [`CONTENDED_FOR`] give up at
/// once, so that their threads sleep and are woken as libzmq's are. Without that an inproc
/// round trip beside two busy loops took 1.9 ms (libzmq's 7 us).
pub(crate) fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    if contended() {
        return ready();
    }
    if on_one_core() {
        return wait_until_on_one_core(limit, ready);
    }
    let start = Instant::now();
    loop {
        for _ in 0..4 {
            if ready() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= limit {
            return ready();
        }
        if !yield_in_time() {
            return ready();
        }
    }
}

/// Yields the core; false (and the host counts as contended) when that took too long.
fn yield_in_time() -> bool {
    let before = Instant::now();
    std::thread::yield_now();
    yielded_in_time(before, 1)
}

/// Whether `yields` yields since `before` took no longer than they should; if they did not,
/// the host counts as contended from now on, for [`CONTENDED_FOR`].
fn yielded_in_time(before: Instant, yields: u32) -> bool {
    let now = Instant::now();
    if now.duration_since(before) < YIELD_TOO_LONG * yields {
        return true;
    }
    let until = now.duration_since(epoch()) + CONTENDED_FOR;
    CONTENDED_UNTIL.store(
        u64::try_from(until.as_nanos()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    false
}

/// Whether a yield took too long lately (see [`yield_in_time`]).
fn contended() -> bool {
    let until = CONTENDED_UNTIL.load(Ordering::Relaxed);
    until != 0 && u128::from(until) > epoch().elapsed().as_nanos()
}

/// Nanoseconds since [`epoch`] until which waits do not wait awake; 0: none.
static CONTENDED_UNTIL: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Yields between looks at once: on one core nothing can change while this thread runs,
/// so pausing between looks only delays the thread that would make `ready` hold. The
/// clock is read only every few yields (a yield that switched threads takes 1.5 us here),
/// which can stretch `limit` by those few yields.
fn wait_until_on_one_core(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let mut start = None;
    let mut last = None;
    loop {
        for _ in 0..YIELDS_BETWEEN_CLOCK_READS {
            if ready() {
                return true;
            }
            std::thread::yield_now();
        }
        let now = Instant::now();
        // The yields since the last clock read ran the other threads on this core: a few
        // microseconds each, unless busy threads took whole time slices.
        if let Some(last) = last
            && !yielded_in_time(last, YIELDS_BETWEEN_CLOCK_READS as u32)
        {
            return ready();
        }
        last = Some(now);
        let start = *start.get_or_insert(now);
        if now.duration_since(start) >= limit {
            return ready();
        }
    }
}

const YIELDS_BETWEEN_CLOCK_READS: usize = 4;

/// Whether this process may run on one core only (its CPU affinity, as `taskset` sets it),
/// asked once.
fn on_one_core() -> bool {
    static ONE_CORE: AtomicU8 = AtomicU8::new(UNKNOWN);
    const UNKNOWN: u8 = 2;
    match ONE_CORE.load(Ordering::Relaxed) {
        UNKNOWN => {
            let one = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
            ONE_CORE.store(u8::from(one), Ordering::Relaxed);
            one
        }
        known => known == 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contended state is the process's: tests that wait, or set it, take turns.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    type Wait = fn(Duration, &mut dyn FnMut() -> bool) -> bool;

    /// Both ways of waiting: each look counted, true as soon as a look succeeds.
    fn waits() -> [Wait; 2] {
        [
            |limit, ready| wait_until(limit, ready),
            |limit, ready| wait_until_on_one_core(limit, ready),
        ]
    }

    #[test]
    fn a_wait_ends_at_the_look_that_succeeds() {
        let _turn = serial();
        CONTENDED_UNTIL.store(0, Ordering::Relaxed);
        for wait in waits() {
            let mut looks = 0;
            let held = wait(Duration::from_secs(5), &mut || {
                looks += 1;
                looks == 7
            });
            if held {
                assert_eq!(looks, 7, "looked on after it held");
            } else {
                // A yield found the host loaded and the wait gave up: that alone may end it.
                assert!(contended() && looks < 7, "gave up after {looks} looks");
            }
        }
    }

    #[test]
    fn a_wait_for_what_never_comes_gives_up_after_its_limit() {
        let _turn = serial();
        for wait in waits() {
            let start = Instant::now();
            let held = wait(Duration::from_millis(20), &mut || false);
            let took = start.elapsed();
            assert!(!held);
            // Earlier only when a yield found the host loaded (see the test below).
            assert!(
                took >= Duration::from_millis(20) || contended(),
                "gave up early: {took:?}"
            );
            assert!(took < Duration::from_secs(2), "kept waiting: {took:?}");
        }
    }

    #[test]
    fn a_yield_that_took_a_time_slice_stops_waiting_awake_for_a_while() {
        let _turn = serial();
        let before = Instant::now();
        let slow = before.checked_sub(YIELD_TOO_LONG * 2).unwrap_or(before);
        assert!(yielded_in_time(before, 1), "a yield just now was in time");
        assert!(
            !yielded_in_time(slow, 1),
            "a yield that took two limits was not"
        );
        assert!(contended());
        // Waits now give up at their first look, so that their threads sleep.
        let mut looks = 0;
        let held = wait_until(Duration::from_secs(5), || {
            looks += 1;
            false
        });
        assert!(!held);
        assert_eq!(looks, 1);
        CONTENDED_UNTIL.store(0, Ordering::Relaxed);
        assert!(!contended());
    }
}
