//! Waiting awake: what a thread does for a few microseconds before it sleeps, when what it
//! waits for usually comes sooner than a sleeping thread could be woken.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Looks at `ready` until it holds or `limit` passes, giving the core away after every few
/// looks (on one core the thread that makes it hold must run), and says whether it held.
/// `ready` should only read memory that others write rarely: it is called in a tight loop.
///
/// Four looks between yields, not more: a `pause` costs about 140 cycles on this kind of
/// machine, and on one core an inproc one-way trip took 3.3 us with 32 looks between
/// yields against 2.5 us with 4 (two bare threads taking turns by yielding: 1.5-1.7 us,
/// the `wakeup_floor` bench).
pub(crate) fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
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
        std::thread::yield_now();
    }
}

/// Yields between looks at once: on one core nothing can change while this thread runs,
/// so pausing between looks only delays the thread that would make `ready` hold. The
/// clock is read only every few yields (a yield that switched threads takes 1.5 us here),
/// which can stretch `limit` by those few yields.
fn wait_until_on_one_core(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let mut start = None;
    loop {
        for _ in 0..YIELDS_BETWEEN_CLOCK_READS {
            if ready() {
                return true;
            }
            std::thread::yield_now();
        }
        let start = *start.get_or_insert_with(Instant::now);
        if start.elapsed() >= limit {
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
        for wait in waits() {
            let mut looks = 0;
            let held = wait(Duration::from_secs(5), &mut || {
                looks += 1;
                looks == 7
            });
            assert!(held);
            assert_eq!(looks, 7, "looked on after it held");
        }
    }

    #[test]
    fn a_wait_for_what_never_comes_gives_up_after_its_limit() {
        for wait in waits() {
            let start = Instant::now();
            let held = wait(Duration::from_millis(20), &mut || false);
            let took = start.elapsed();
            assert!(!held);
            assert!(took >= Duration::from_millis(20), "gave up early: {took:?}");
            assert!(took < Duration::from_secs(2), "kept waiting: {took:?}");
        }
    }
}
