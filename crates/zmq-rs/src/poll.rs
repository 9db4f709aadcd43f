//! Waiting on several sockets and file descriptors at once (`zmq_poll`), and a readiness
//! file descriptor per socket for other event loops (libzmq's `ZMQ_FD`, level-triggered).

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Token, Waker};

/// How long a poll without file descriptors waits awake before it sleeps.
const POLL_AWAKE: Duration = Duration::from_micros(20);

/// Something a poller blocks on; sockets signal it when their readiness may have changed.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    state: Mutex<SignalState>,
    /// Set with `fired`, read without the lock by a poller waiting awake.
    hint: AtomicBool,
    cond: Condvar,
    /// Set when the poller also waits on file descriptors in a mio poll.
    waker: Option<Waker>,
}

/// A [`Signal`]'s state behind its lock.
#[derive(Debug, Default)]
struct SignalState {
    fired: bool,
    /// The poller sleeps on the condition variable: only then is notifying it worth a
    /// system call (the poller may be looking at readiness or waiting awake instead).
    sleeping: bool,
}

impl Signal {
    fn with_waker(waker: Waker) -> Self {
        Self {
            waker: Some(waker),
            ..Self::default()
        }
    }

    pub fn fire(&self) {
        self.hint.store(true, Ordering::SeqCst);
        let mut state = self.lock();
        state.fired = true;
        if state.sleeping {
            self.cond.notify_all();
        }
        drop(state);
        if let Some(waker) = &self.waker {
            // A failed wake-up only delays the poller until its timeout.
            let _ = waker.wake();
        }
    }

    /// Waits until fired or `timeout` passes (`None`: forever), then clears the signal.
    pub fn wait(&self, timeout: Option<Duration>) {
        let mut state = self.lock();
        if !state.fired {
            state.sleeping = true;
            state = match timeout {
                Some(t) => {
                    self.cond
                        .wait_timeout(state, t)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0
                }
                None => self
                    .cond
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            };
            state.sleeping = false;
        }
        state.fired = false;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SignalState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets earlier signals for [`Signal::await_hint`]: call before looking at readiness.
    fn clear_hint(&self) {
        self.hint.store(false, Ordering::SeqCst);
    }

    /// Waits awake until the signal fires or `limit` passes; true if it fired since the last
    /// [`Signal::clear_hint`].
    fn await_hint(&self, limit: Duration) -> bool {
        crate::awake::wait_until(limit, || self.hint.load(Ordering::SeqCst))
    }

    fn clear(&self) {
        self.lock().fired = false;
    }
}

/// The pollers and readiness handles watching one socket.
#[derive(Debug, Default)]
pub(crate) struct Watchers {
    signals: Vec<Weak<Signal>>,
    handles: Vec<Weak<LevelSignal>>,
    last: Option<(bool, bool)>,
}

impl Watchers {
    pub fn add(&mut self, signal: &Arc<Signal>) {
        self.signals.retain(|s| s.strong_count() > 0);
        self.signals.push(Arc::downgrade(signal));
        self.last = None;
    }

    fn add_handle(&mut self, handle: &Arc<LevelSignal>, readable: bool) {
        self.handles.retain(|h| h.strong_count() > 0);
        self.handles.push(Arc::downgrade(handle));
        handle.set(readable);
        self.last = None;
    }

    /// Whether a readiness handle is open: receives must then not be batched, since the
    /// handle can only see what the machine holds.
    pub fn has_handles(&self) -> bool {
        self.handles.iter().any(|h| h.strong_count() > 0)
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
        self.handles.retain(|h| match h.upgrade() {
            Some(handle) => {
                handle.set(true);
                true
            }
            None => false,
        });
    }

    /// Fires every watcher when readiness changed since the last call; `readiness` (readable,
    /// writable) is asked only if someone watches.
    pub fn notify(&mut self, readiness: impl FnOnce() -> (bool, bool)) {
        if self.signals.is_empty() && self.handles.is_empty() {
            return;
        }
        let (readable, writable) = readiness();
        if self.last == Some((readable, writable)) {
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
        self.handles.retain(|h| match h.upgrade() {
            Some(handle) => {
                handle.set(readable);
                true
            }
            None => false,
        });
    }
}

/// The writing end of a readiness handle: one octet sits in the pipe exactly while the
/// socket is readable.
#[derive(Debug)]
struct LevelSignal {
    writer: UnixStream,
    reader: UnixStream,
    raised: Mutex<bool>,
}

impl LevelSignal {
    fn set(&self, on: bool) {
        let mut raised = self
            .raised
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if on && !*raised {
            *raised = (&self.writer).write(&[1]).is_ok_and(|n| n == 1);
        } else if !on && *raised {
            let mut octet = [0u8; 1];
            *raised = !(&self.reader).read(&mut octet).is_ok_and(|n| n == 1);
        }
    }
}

/// A file descriptor that is readable exactly while its socket has a message to receive
/// (libzmq's `ZMQ_FD`, but level-triggered: no need to drain `ZMQ_EVENTS` after each wake-up).
/// Register it with any event loop (epoll, mio, tokio's `AsyncFd`); while it is open the
/// socket receives one message per call, so that the descriptor stays exact.
#[derive(Debug)]
pub struct ReadinessFd {
    signal: Arc<LevelSignal>,
    waiting: Arc<crate::core::Waiting>,
}

impl AsRawFd for ReadinessFd {
    fn as_raw_fd(&self) -> RawFd {
        self.signal.reader.as_raw_fd()
    }
}

impl Drop for ReadinessFd {
    fn drop(&mut self) {
        self.waiting.set_always(false);
    }
}

impl crate::Socket {
    /// A readiness file descriptor for this socket (see [`ReadinessFd`]).
    pub fn readiness_fd(&self) -> crate::Result<ReadinessFd> {
        let (writer, reader) = UnixStream::pair()
            .and_then(|(w, r)| {
                w.set_nonblocking(true)?;
                r.set_nonblocking(true)?;
                Ok((w, r))
            })
            .map_err(|e| crate::Error::invalid(format!("cannot make a readiness pipe: {e}")))?;
        let signal = Arc::new(LevelSignal {
            writer,
            reader,
            raised: Mutex::new(false),
        });
        let waiting = self.shared().waiting.clone();
        waiting.set_always(true);
        self.pull_inproc();
        let readable = self.readiness()?.0;
        self.shared().lock().watchers.add_handle(&signal, readable);
        Ok(ReadinessFd { signal, waiting })
    }

    /// Whether a receive and a send would succeed now, as libzmq's `ZMQ_EVENTS`
    /// ([`POLLIN`] | [`POLLOUT`]).
    pub fn get_events(&self) -> crate::Result<i16> {
        self.pull_inproc();
        let (readable, writable) = self.readiness()?;
        Ok(if readable { POLLIN } else { 0 } | if writable { POLLOUT } else { 0 })
    }
}

/// Wait for a socket to have a message to receive, or a descriptor to be readable
/// (`ZMQ_POLLIN`).
pub const POLLIN: i16 = 1;
/// Wait for room to send, or a descriptor to be writable (`ZMQ_POLLOUT`).
pub const POLLOUT: i16 = 2;
/// An error condition on a descriptor (`ZMQ_POLLERR`); never reported for sockets.
pub const POLLERR: i16 = 4;

#[derive(Debug)]
enum Target<'a> {
    Socket(&'a crate::Socket),
    Fd(RawFd),
}

/// One socket or file descriptor to watch in [`poll`], as libzmq's `zmq_pollitem_t`.
#[derive(Debug)]
pub struct PollItem<'a> {
    target: Target<'a>,
    events: i16,
    revents: i16,
}

impl<'a> PollItem<'a> {
    /// Watches `socket` for `events` ([`POLLIN`], [`POLLOUT`], or both).
    pub fn new(socket: &'a crate::Socket, events: i16) -> Self {
        Self {
            target: Target::Socket(socket),
            events,
            revents: 0,
        }
    }

    /// Watches a plain file descriptor (a pipe, a TCP socket of your own) for `events`.
    pub fn from_fd(fd: RawFd, events: i16) -> Self {
        Self {
            target: Target::Fd(fd),
            events,
            revents: 0,
        }
    }

    /// The events found by the last [`poll`].
    pub fn get_revents(&self) -> i16 {
        self.revents
    }

    /// True when the last [`poll`] found a message to receive (or a readable descriptor).
    pub fn is_readable(&self) -> bool {
        self.revents & POLLIN != 0
    }

    /// True when the last [`poll`] found room to send (or a writable descriptor).
    pub fn is_writable(&self) -> bool {
        self.revents & POLLOUT != 0
    }

    /// True when the last [`poll`] found an error on the descriptor.
    pub fn is_error(&self) -> bool {
        self.revents & POLLERR != 0
    }
}

/// Descriptors in a poll: a mio poll of their own, fresh per call, so that registering
/// reports their current state (level-triggered for the duration of the call).
struct FdPoll {
    poll: mio::Poll,
    events: Events,
}

const WAKE: Token = Token(usize::MAX);

/// Waits until at least one item is ready or `timeout_ms` passes (-1: forever, 0: just look),
/// as `zmq_poll`. Returns how many items are ready; each item's `revents` says which events.
///
/// Readiness is level-triggered and counts whole messages: a socket in the middle of a
/// multipart message stays readable until its last frame is received. Waiting uses no CPU.
pub fn poll(items: &mut [PollItem<'_>], timeout_ms: i64) -> crate::Result<i32> {
    let has_fds = items.iter().any(|i| matches!(i.target, Target::Fd(_)));
    let mut fds = None;
    let signal = if has_fds {
        let poll = mio::Poll::new()
            .map_err(|e| crate::Error::invalid(format!("cannot create a poller: {e}")))?;
        let waker = Waker::new(poll.registry(), WAKE)
            .map_err(|e| crate::Error::invalid(format!("cannot create a poller: {e}")))?;
        for (i, item) in items.iter().enumerate() {
            if let Target::Fd(fd) = item.target {
                let interest = match (item.events & POLLIN != 0, item.events & POLLOUT != 0) {
                    (_, false) => Interest::READABLE,
                    (false, true) => Interest::WRITABLE,
                    (true, true) => Interest::READABLE | Interest::WRITABLE,
                };
                poll.registry()
                    .register(&mut SourceFd(&fd), Token(i), interest)
                    .map_err(|e| crate::Error::invalid(format!("cannot poll fd {fd}: {e}")))?;
            }
        }
        fds = Some(FdPoll {
            poll,
            events: Events::with_capacity(items.len().max(1)),
        });
        Arc::new(Signal::with_waker(waker))
    } else {
        Arc::new(Signal::default())
    };
    let _waiters: Vec<_> = items
        .iter()
        .filter_map(|item| match item.target {
            Target::Socket(socket) => Some(socket.watch(&signal)),
            Target::Fd(_) => None,
        })
        .collect();
    let deadline = u64::try_from(timeout_ms)
        .ok()
        .map(|ms| crate::clock::now() + Duration::from_millis(ms));
    let mut fd_revents = vec![0i16; items.len()];
    let mut first = true;
    let mut awake = true;
    loop {
        signal.clear_hint();
        let mut ready = 0;
        for (i, item) in items.iter_mut().enumerate() {
            item.revents = 0;
            match item.target {
                Target::Socket(socket) => {
                    if item.events & POLLIN != 0 {
                        socket.pull_inproc();
                    }
                    let (readable, writable) = socket.readiness()?;
                    if readable && item.events & POLLIN != 0 {
                        item.revents |= POLLIN;
                    }
                    if writable && item.events & POLLOUT != 0 {
                        item.revents |= POLLOUT;
                    }
                }
                Target::Fd(_) => item.revents = fd_revents[i] & (item.events | POLLERR),
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
                if left.is_zero() && !first {
                    return Ok(0);
                }
                Some(left)
            }
            None => None,
        };
        first = false;
        match fds.as_mut() {
            Some(fds) => {
                signal.clear();
                fds.poll
                    .poll(&mut fds.events, remaining)
                    .or_else(|e| match e.kind() {
                        std::io::ErrorKind::Interrupted => Ok(()),
                        _ => Err(crate::Error::Interrupted),
                    })?;
                for event in fds.events.iter() {
                    let Some(slot) = fd_revents.get_mut(event.token().0) else {
                        continue;
                    };
                    if event.is_readable() || event.is_read_closed() {
                        *slot |= POLLIN;
                    }
                    if event.is_writable() {
                        *slot |= POLLOUT;
                    }
                    if event.is_error() {
                        *slot |= POLLERR;
                    }
                }
            }
            None => match remaining {
                Some(left) if left.is_zero() => return Ok(0),
                _ if awake && remaining.is_none_or(|left| left > POLL_AWAKE) => {
                    // Once per poll, wait awake a while before sleeping: a socket usually
                    // becomes ready within microseconds of the last, and being woken costs
                    // the waker a system call and, across cores, tens of microseconds.
                    awake = false;
                    if !signal.await_hint(POLL_AWAKE) {
                        signal.wait(remaining);
                    }
                }
                _ => signal.wait(remaining),
            },
        }
    }
}
