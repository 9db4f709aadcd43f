//! [`Backoff`]: when to try connecting again, as libzmq 4.3.5 decides it
//! (`stream_connecter_base_t::get_new_reconnect_ivl`).
//!
//! A pure calculator: no clock, no sleep, no random number generator. The caller supplies the
//! random value that libzmq would draw, and turns the delay into a timer.
//!
//! With `reconnect_ivl` = `ZMQ_RECONNECT_IVL` and `reconnect_ivl_max` = `ZMQ_RECONNECT_IVL_MAX`
//! (both in milliseconds):
//! - `reconnect_ivl <= 0` (`-1`, or `0`, which libzmq also treats as "never"): no reconnection;
//!   [`Backoff::next_delay`] returns `None`.
//! - `reconnect_ivl_max > 0`: exponential back-off without jitter: `ivl`, `2·ivl`, `4·ivl`, ...,
//!   each capped at `reconnect_ivl_max` (so a maximum below `ivl` gives the maximum every time).
//! - otherwise: `ivl + random % ivl` every time.
//!
//! libzmq 4.3.0 to 4.3.4 behaved differently (jitter always added, and doubling only when the
//! maximum exceeds `ivl`); 4.3.5, the current release, is what this follows.
//!
//! The state survives failed attempts and is [`reset`](Backoff::reset) after a successful
//! connection: libzmq creates a new connecter, with fresh state, for each reconnection after a
//! disconnect.

use std::time::Duration;

/// Reconnect interval calculator; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    reconnect_ivl: i32,
    reconnect_ivl_max: i32,
    /// The last interval handed out in exponential mode; `None` before the first.
    current: Option<i32>,
}

impl Backoff {
    /// libzmq's default `ZMQ_RECONNECT_IVL`, in milliseconds.
    pub const DEFAULT_RECONNECT_IVL: i32 = 100;
    /// libzmq's default `ZMQ_RECONNECT_IVL_MAX`: no exponential back-off.
    pub const DEFAULT_RECONNECT_IVL_MAX: i32 = 0;

    /// A calculator for `ZMQ_RECONNECT_IVL` and `ZMQ_RECONNECT_IVL_MAX`, in milliseconds.
    /// Negative maxima are treated as 0 (libzmq refuses to set them).
    pub fn new(reconnect_ivl: i32, reconnect_ivl_max: i32) -> Self {
        Self {
            reconnect_ivl,
            reconnect_ivl_max: reconnect_ivl_max.max(0),
            current: None,
        }
    }

    /// Whether reconnection is enabled at all (`ZMQ_RECONNECT_IVL > 0`).
    pub fn is_enabled(&self) -> bool {
        self.reconnect_ivl > 0
    }

    /// The delay before the next connection attempt, or `None` if the socket must not
    /// reconnect. `random` is the value libzmq would take from its generator; it is used only
    /// without a maximum, as the jitter `random % reconnect_ivl`.
    pub fn next_delay(&mut self, random: u32) -> Option<Duration> {
        if !self.is_enabled() {
            return None;
        }
        let ivl = self.reconnect_ivl;
        let millis = if self.reconnect_ivl_max > 0 {
            let candidate = match self.current {
                None => ivl,
                Some(current) => current.checked_mul(2).unwrap_or(i32::MAX),
            };
            let next = candidate.min(self.reconnect_ivl_max);
            self.current = Some(next);
            next
        } else {
            // `ivl > 0`, so the remainder fits in an i32.
            let jitter = i32::try_from(random % ivl.unsigned_abs()).unwrap_or(0);
            ivl.checked_add(jitter).unwrap_or(i32::MAX)
        };
        Some(Duration::from_millis(u64::from(millis.unsigned_abs())))
    }

    /// Starts over from `reconnect_ivl`; call it once a connection has been established.
    pub fn reset(&mut self) {
        self.current = None;
    }
}

impl Default for Backoff {
    /// libzmq's defaults: 100 ms plus jitter, no maximum.
    fn default() -> Self {
        Self::new(Self::DEFAULT_RECONNECT_IVL, Self::DEFAULT_RECONNECT_IVL_MAX)
    }
}

#[cfg(test)]
mod tests;
