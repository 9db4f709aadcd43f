//! Waiting awake: what a thread does for a few microseconds before it sleeps, when what it
//! waits for usually comes sooner than a sleeping thread could be woken.

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
