//! SIGINT and SIGTERM become a flag that the main loop looks at between waits.
//!
//! The handler only stores the signal number in an atomic (async-signal-safe); zmqcat's loops
//! never block for longer than [`crate::session::SLICE`], so they notice the flag promptly and
//! shut down in order: output already received is flushed, the socket is closed without
//! lingering, and the exit status is 128 + the signal number, as a shell reports it.
//!
//! This is the one place zmqcat uses `unsafe`: `sigaction` has no safe wrapper in `std`, and
//! `libc` is already in the build (mio uses it), so this costs no new crate.

use std::sync::atomic::{AtomicI32, Ordering};

static CAUGHT: AtomicI32 = AtomicI32::new(0);

/// Installs the handlers (once, at start-up, before any thread is spawned).
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn install() -> std::io::Result<()> {
    extern "C" fn record(signal: libc::c_int) {
        CAUGHT.store(signal, Ordering::SeqCst);
    }
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `action` is fully initialised (zeroed, then an empty mask, then the handler
        // and flags set); `record` only performs an atomic store, which is async-signal-safe;
        // a null `oldact` is allowed by sigaction(2).
        let installed = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_sigaction = record as extern "C" fn(libc::c_int) as libc::sighandler_t;
            // Restart interrupted reads of standard input rather than fail them.
            action.sa_flags = libc::SA_RESTART;
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if installed != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Without POSIX signals, the default handling (immediate exit) stays.
#[cfg(not(unix))]
pub fn install() -> std::io::Result<()> {
    Ok(())
}

/// The signal received, if any.
pub fn caught() -> Option<i32> {
    match CAUGHT.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}
