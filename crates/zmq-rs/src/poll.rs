//! Readiness notification for pollers waiting on several sockets.

use std::sync::{Arc, Condvar, Mutex, Weak};

/// Something a poller blocks on; sockets signal it when their readiness may have changed.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    fired: Mutex<bool>,
    cond: Condvar,
}

impl Signal {
    pub fn fire(&self) {
        let mut fired = self
            .fired
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *fired = true;
        self.cond.notify_all();
    }

    /// Waits until fired or `timeout` passes (`None`: forever), then clears the signal.
    pub fn wait(&self, timeout: Option<std::time::Duration>) {
        let mut fired = self
            .fired
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !*fired {
            fired = match timeout {
                Some(t) => {
                    self.cond
                        .wait_timeout(fired, t)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0
                }
                None => self
                    .cond
                    .wait(fired)
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            };
        }
        *fired = false;
    }
}

/// The pollers watching one socket.
#[derive(Debug, Default)]
pub(crate) struct Watchers {
    signals: Vec<Weak<Signal>>,
    last: Option<(bool, bool)>,
}

impl Watchers {
    pub fn add(&mut self, signal: &Arc<Signal>) {
        self.signals.retain(|s| s.strong_count() > 0);
        self.signals.push(Arc::downgrade(signal));
        self.last = None;
    }

    /// Fires every watcher (the socket was terminated: pollers must look again).
    pub fn fire_all(&mut self) {
        self.last = None;
        self.signals.retain(|s| match s.upgrade() {
            Some(signal) => {
                signal.fire();
                true
            }
            None => false,
        });
    }

    /// Fires every watcher when readiness changed since the last call.
    pub fn notify(&mut self, readable: bool, writable: bool) {
        if self.signals.is_empty() || self.last == Some((readable, writable)) {
            return;
        }
        self.last = Some((readable, writable));
        self.signals.retain(|s| match s.upgrade() {
            Some(signal) => {
                signal.fire();
                true
            }
            None => false,
        });
    }
}

/// Wait for a socket to have a message to receive (`ZMQ_POLLIN`).
pub const POLLIN: i16 = 1;
/// Wait for a socket to be able to send (`ZMQ_POLLOUT`).
pub const POLLOUT: i16 = 2;
/// An error condition (`ZMQ_POLLERR`); never reported for sockets.
pub const POLLERR: i16 = 4;

/// One socket to watch in [`poll`], as libzmq's `zmq_pollitem_t`.
#[derive(Debug)]
pub struct PollItem<'a> {
    socket: &'a crate::Socket,
    events: i16,
    revents: i16,
}

impl<'a> PollItem<'a> {
    /// Watches `socket` for `events` ([`POLLIN`], [`POLLOUT`], or both).
    pub fn new(socket: &'a crate::Socket, events: i16) -> Self {
        Self {
            socket,
            events,
            revents: 0,
        }
    }

    /// The events found by the last [`poll`].
    pub fn get_revents(&self) -> i16 {
        self.revents
    }

    /// True when the last [`poll`] found a message to receive.
    pub fn is_readable(&self) -> bool {
        self.revents & POLLIN != 0
    }

    /// True when the last [`poll`] found room to send.
    pub fn is_writable(&self) -> bool {
        self.revents & POLLOUT != 0
    }
}

/// Waits until at least one item is ready or `timeout_ms` passes (-1: forever, 0: just look),
/// as `zmq_poll`. Returns how many items are ready; each item's `revents` says which events.
///
/// Readiness is level-triggered and counts whole messages: a socket in the middle of a
/// multipart message stays readable until its last frame is received.
pub fn poll(items: &mut [PollItem<'_>], timeout_ms: i64) -> crate::Result<i32> {
    let signal = Arc::new(Signal::default());
    let _waiters: Vec<_> = items
        .iter()
        .map(|item| item.socket.watch(&signal))
        .collect();
    let deadline = u64::try_from(timeout_ms)
        .ok()
        .map(|ms| crate::clock::now() + std::time::Duration::from_millis(ms));
    loop {
        let mut ready = 0;
        for item in items.iter_mut() {
            if item.events & POLLIN != 0 {
                item.socket.pull_inproc();
            }
            let (readable, writable) = item.socket.readiness()?;
            item.revents = 0;
            if readable && item.events & POLLIN != 0 {
                item.revents |= POLLIN;
            }
            if writable && item.events & POLLOUT != 0 {
                item.revents |= POLLOUT;
            }
            if item.revents != 0 {
                ready += 1;
            }
        }
        if ready > 0 {
            return Ok(ready);
        }
        let remaining = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(crate::clock::now());
                if left.is_zero() {
                    return Ok(0);
                }
                Some(left)
            }
            None => None,
        };
        signal.wait(remaining);
    }
}
