//! Work a user's thread does on a connection itself, sparing hand-offs with the I/O thread.
//!
//! - **Direct flush**: right after receiving, the next message (likely a reply) is written
//!   on the user's thread.
//! - **Direct receive**: a thread blocked in `recv` on a socket whose only peer is one tcp or
//!   ipc connection reads that connection itself. It takes the connection's read interest
//!   away from the I/O thread, reads and decodes into the pattern, and sleeps in a poll of
//!   its own on the connection's descriptor (plus a waker for everything else that may make
//!   the socket readable or end the wait). On the latency path this removes the I/O thread's
//!   wake-up and the condition variable's; under load it spares the cross-thread traffic of
//!   every received message.
//! - **Keeping it**: when `recv` returns, the connection stays taken over for the next one,
//!   under a lease: the I/O thread takes it back once the user has been away for a whole
//!   `LEASE` (between one and two of them), and a poll, `ZMQ_EVENTS`, another peer or close
//!   give it back at once. Re-arming the read interest reports data that arrived meanwhile,
//!   so nothing waits unread.
//! - **Only while the I/O thread is idle**: when it is busy with other connections it reads
//!   this one in the same wake-ups, where a thread reading its own would be woken by every
//!   arrival; a `recv` then waits on the condition variable as usual.
//!
//! The I/O thread stays the owner: it may still service the connection (timers, commands),
//! always under the connection's lock; errors found here are left for it to close.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use super::conn::lock;
use super::{ConnLink, ConnRef, IoCommand, IoShared};
use crate::core::{Effects, PeerLink, SocketShared, SocketState, run_effects};

const CONN: Token = Token(0);
const WAKE: Token = Token(1);
/// How long a connection may stay taken over while its `recv`ing thread is away. After that
/// the I/O thread reads it again, so that the peer's heartbeats are answered and its going
/// away is seen while the user is busy elsewhere.
pub(super) const LEASE: Duration = Duration::from_millis(20);

/// Writes what a peer has queued, on the calling (user's) thread, when its connection is
/// idle: in request-reply traffic this spares a wake-up of the I/O thread per message, half
/// of the hand-offs between threads on the latency path. Whatever cannot be written at once
/// (the kernel's buffer is full, the connection is busy or failing) is left to the I/O
/// thread, which is then asked to flush as usual.
pub(crate) fn direct_flush(link: &ConnLink, io: &IoShared, effects: &mut Effects) {
    let Ok(mut conn) = link.cell.try_lock() else {
        io.submit(IoCommand::Flush(link.at));
        return;
    };
    if conn.closed || conn.generation != link.at.generation {
        return;
    }
    // Until the machine's queue is seen empty (which clears the peer's `tx_scheduled`, so
    // that its next message schedules a flush again) or the kernel takes no more (a write
    // may stop short of that to refill behind a large frame's tail).
    let mut failed = false;
    loop {
        match conn.output(link.at, effects) {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    let done = !failed && conn.tx.is_empty() && conn.pending_out.is_empty();
    drop(conn);
    if !done {
        io.submit(IoCommand::Flush(link.at));
    }
}

/// Resumes reading `link`'s connection, stopped while the socket's queue from it was full,
/// on the calling (user's) thread, which has just drained that queue: the connection is
/// taken over and kept as a `recv` keeps it (under the lease), so that the next `recv`s read
/// it when the queue runs dry. A receiver slower than its peer then works alone, as one
/// blocked in `recv` does, instead of handing every message over from the I/O thread. Left
/// to the I/O thread when this thread cannot read it (another one waits on it directly,
/// or the connection is not readable here).
pub(crate) fn resume_read_here(link: &ConnLink, socket: &SocketShared) {
    let wait = &socket.direct;
    let free = wait.lock_sticky().is_none() && wait.taken.load(Ordering::SeqCst) == 0;
    if !free || !wait.prepare() || direct_read(link, &socket.io, wait, true).is_none() {
        socket.io.submit(IoCommand::ResumeRead(link.at));
        return;
    }
    *wait.lock_sticky() = Some(link.clone());
    wait.kept_since.store(true, Ordering::SeqCst);
    if !wait.lease_armed.swap(true, Ordering::SeqCst) {
        socket.io.submit(IoCommand::WatchLease(link.at));
    }
}

/// A socket's means for one thread at a time to wait on its connection directly.
#[derive(Debug, Default)]
pub(crate) struct DirectWait {
    /// The poll the receiving thread sleeps in; made on first use.
    poll: Mutex<Option<DirectPoll>>,
    /// Wakes that poll; set with it.
    waker: OnceLock<Waker>,
    /// Threads about to sleep or sleeping in the poll (counted under the socket's lock).
    sleeping: AtomicUsize,
    /// The generation of the connection the poll watches (0: none yet).
    watched: AtomicU64,
    /// The generation of the connection taken over from the I/O thread (0: none).
    taken: AtomicU64,
    /// The poll reported input that no read here has looked at since.
    edge: AtomicBool,
    /// The poll reported that the peer closed or the connection failed.
    hup: AtomicBool,
    /// A connection still taken over after a `recv` returned: the user is likely to be back
    /// soon. Anything that needs the I/O thread to read (a poll, `ZMQ_EVENTS`, another
    /// peer, close) gives it back, and so does the I/O thread when the lease runs out.
    sticky: Mutex<Option<ConnLink>>,
    /// The I/O thread has been asked to end a kept connection's lease.
    lease_armed: AtomicBool,
    /// A `recv` kept the connection since the lease timer last looked: the user is not away,
    /// the lease runs on (taking the connection back from a busy receiver would cost two
    /// `epoll_ctl` and, worse, contend for the connection's lock on its hot path).
    kept_since: AtomicBool,
}

#[derive(Debug)]
struct DirectPoll {
    poll: Poll,
    events: Events,
    /// The descriptor registered, and the generation of its connection.
    registered: Option<(RawFd, u64)>,
}

impl DirectWait {
    /// Wakes the thread sleeping in the poll, if any.
    pub fn wake(&self) {
        if self.sleeping.load(Ordering::SeqCst) > 0
            && let Some(waker) = self.waker.get()
        {
            // A failed wake-up leaves the sleeper to its timeout; eventfd writes do not fail.
            let _ = waker.wake();
        }
    }

    /// Makes the poll and its waker, before a thread first counts as sleeping (a wake-up
    /// before the waker exists would be lost). False if they cannot be made, or another
    /// thread holds the poll (one direct waiter at a time; the others use the condition
    /// variable).
    fn prepare(&self) -> bool {
        let Ok(mut guard) = self.poll.try_lock() else {
            return false;
        };
        if guard.is_some() {
            return true;
        }
        let Ok(poll) = Poll::new() else {
            return false;
        };
        let Ok(waker) = Waker::new(poll.registry(), WAKE) else {
            return false;
        };
        if self.waker.set(waker).is_err() {
            // Cannot happen: the waker is set once, together with its poll.
            return false;
        }
        *guard = Some(DirectPoll {
            poll,
            events: Events::with_capacity(4),
            registered: None,
        });
        true
    }

    /// Whether a user's thread has taken `link`'s connection over: it reads the connection
    /// when it next waits, so the I/O thread need not resume reading.
    pub fn takes(&self, link: &ConnLink) -> bool {
        self.taken.load(Ordering::SeqCst) == link.at.generation
    }

    /// The I/O thread's lease timer for `conn` fired. True if a `recv` kept the connection
    /// since the last look: the lease stays armed, for the I/O thread to look again one
    /// `LEASE` later. Otherwise disarms, and gives the connection back if it is still kept
    /// (its user is away; a thread waiting in `recv` reads it).
    pub(super) fn lease_over(&self, conn: ConnRef, io: &IoShared) -> bool {
        if self.kept_since.swap(false, Ordering::SeqCst) {
            return true;
        }
        // Disarmed before looking: a `recv` keeping the connection from now on arms anew.
        self.lease_armed.store(false, Ordering::SeqCst);
        let kept = {
            let mut sticky = self.lock_sticky();
            match sticky.as_ref() {
                Some(link) if link.at == conn => sticky.take(),
                _ => None,
            }
        };
        if let Some(link) = kept {
            direct_leave(&link, io, self);
        }
        false
    }

    /// Gives a connection kept taken over between `recv` calls back to the I/O thread.
    pub fn release(&self, io: &IoShared) {
        let link = self.lock_sticky().take();
        if let Some(link) = link {
            direct_leave(&link, io, self);
        }
    }

    fn lock_sticky(&self) -> std::sync::MutexGuard<'_, Option<ConnLink>> {
        self.sticky
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a thread as about to sleep (`true`) or awake again. Call under the socket's
    /// lock, so that whoever changes the socket and then wakes its waiters sees the count.
    pub fn set_sleeping(&self, sleeping: bool) {
        if sleeping {
            self.sleeping.fetch_add(1, Ordering::SeqCst);
        } else {
            self.sleeping.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Takes over reading `link`'s connection (if it is up and not already taken) and reads and
/// decodes what is there into the pattern. Returns the descriptor to wait on, or `None` when
/// the connection cannot be read here (not ready, closing, failed): wait as usual then.
fn direct_read(link: &ConnLink, io: &IoShared, direct: &DirectWait, force: bool) -> Option<RawFd> {
    let mut effects = Effects::new();
    let fd = {
        let mut conn = lock(&link.cell);
        if conn.closed
            || conn.generation != link.at.generation
            || !conn.ready
            || conn.raw
            || conn.eof
            || conn.session.is_none()
            || conn.linger_until.is_some()
            || conn.refused.is_some()
        {
            return None;
        }
        if !conn.direct {
            // The I/O thread stops watching for input: its poll drops the descriptor, for
            // any interest left would still wake it at every arrival (TCP wakes pollers with
            // input and urgent data alike, and epoll filters only after waking) only to find
            // nothing of interest. It needs room to write only when something waits to be
            // written (arming that when there is room would wake it for nothing); a write
            // that finds no room arms it again.
            let interest = (!conn.tx.is_empty()).then_some(Interest::WRITABLE);
            conn.set_interest(interest).ok()?;
            conn.direct = true;
            direct.taken.store(link.at.generation, Ordering::SeqCst);
        }
        conn.hup_seen |= direct.hup.swap(false, Ordering::SeqCst);
        let edge = direct.edge.swap(false, Ordering::SeqCst);
        let watched = direct.watched.load(Ordering::SeqCst) == link.at.generation;
        if !force && conn.drained && !conn.hup_seen && !edge && watched {
            // The last read emptied the kernel's buffer, and the poll watches this connection
            // and has reported nothing since: whatever arrives will wake it. Sleep first.
            return Some(conn.fd() as RawFd);
        }
        conn.stop_when_drained = true;
        let serviced = conn.service(link.at, &mut effects, false);
        conn.stop_when_drained = false;
        if let Err(reason) = serviced {
            // Closing is the I/O thread's work: it finds the reason when it next services.
            conn.refused = Some(reason);
            drop(conn);
            run_effects(&mut effects);
            direct_leave(link, io, direct);
            io.submit(IoCommand::Flush(link.at));
            return None;
        }
        conn.fd() as RawFd
    };
    run_effects(&mut effects);
    Some(fd)
}

/// Gives reading `link`'s connection back to the I/O thread. Re-arming its read interest makes
/// the I/O thread's poll report input that arrived since the last read here.
fn direct_leave(link: &ConnLink, io: &IoShared, wait: &DirectWait) {
    let mut conn = lock(&link.cell);
    if !conn.direct {
        return;
    }
    conn.direct = false;
    let _ = wait
        .taken
        .compare_exchange(link.at.generation, 0, Ordering::SeqCst, Ordering::SeqCst);
    let interest = if conn.tx.is_empty() {
        Interest::READABLE
    } else {
        Interest::READABLE | Interest::WRITABLE
    };
    let result = conn.set_interest(Some(interest));
    // Decoded traffic the pattern could not take waits for a resume that was left to the
    // thread reading here (see `DirectWait::takes`): the I/O thread picks it up now.
    let stalled = !conn.pending_in.is_empty();
    if let Err(reason) = &result {
        // Cannot happen for a registered stream; if it did, the I/O thread closes it.
        conn.refused = Some(reason.clone());
    }
    drop(conn);
    if result.is_err() || stalled {
        io.submit(IoCommand::Flush(link.at));
    }
}

/// How long a thread waiting on its connection for an answer polls it before it sleeps.
const DIRECT_SPIN: Duration = Duration::from_micros(20);

/// Sleeps until `fd` has input, the socket's waiters are woken, or `timeout` passes, with
/// `awake_first` after polling it awake for up to [`DIRECT_SPIN`]. What the poll reports is
/// kept for the next read, whichever `recv` does it. False when this thread cannot wait here
/// (another one does, or the poll could not be made).
fn direct_poll(
    socket: &SocketShared,
    fd: RawFd,
    link: &ConnLink,
    timeout: Option<Duration>,
    awake_first: bool,
) -> bool {
    let Ok(mut guard) = socket.direct.poll.try_lock() else {
        return false;
    };
    let Some(direct) = guard.as_mut() else {
        return false;
    };
    let wanted = (fd, link.at.generation);
    if direct.registered != Some(wanted) {
        socket.direct.watched.store(0, Ordering::SeqCst);
        if let Some((old, _)) = direct.registered.take() {
            // Gone already if its connection closed; then there is nothing to remove.
            let _ = direct.poll.registry().deregister(&mut SourceFd(&old));
        }
        if direct
            .poll
            .registry()
            .register(&mut SourceFd(&fd), CONN, Interest::READABLE)
            .is_err()
        {
            return false;
        }
        direct.registered = Some(wanted);
        socket
            .direct
            .watched
            .store(link.at.generation, Ordering::SeqCst);
    }
    // With `awake_first`, look without sleeping for a while first, giving the core away
    // between looks: an answer arrives within microseconds, and a thread that sleeps
    // instead is woken through the scheduler, across cores tens of microseconds late.
    let start = Instant::now();
    let spin = awake_first && timeout.is_none_or(|t| t > DIRECT_SPIN);
    let polled = loop {
        let awake = spin && start.elapsed() < DIRECT_SPIN;
        let wait = if awake {
            Some(Duration::ZERO)
        } else {
            timeout.map(|t| t.saturating_sub(start.elapsed()))
        };
        match direct.poll.poll(&mut direct.events, wait) {
            Ok(()) if awake && direct.events.is_empty() => std::thread::yield_now(),
            other => break other,
        }
    };
    match polled {
        Ok(()) => {
            for event in direct.events.iter().filter(|e| e.token() == CONN) {
                socket.direct.edge.store(true, Ordering::SeqCst);
                if event.is_read_closed() || event.is_error() {
                    socket.direct.hup.store(true, Ordering::SeqCst);
                }
            }
            true
        }
        Err(e) => e.kind() == std::io::ErrorKind::Interrupted,
    }
}

/// One `recv` call's use of direct receive: which connection it took over (kept by
/// [`DirectReceive::finish`], given back when dropped otherwise) and whether it has just read,
/// so that the next step is to sleep.
#[derive(Debug)]
pub(crate) struct DirectReceive {
    socket: Arc<SocketShared>,
    /// The connection taken over, if any.
    entered: Option<ConnLink>,
    /// Read just now: the connection and the descriptor to sleep on if that brought nothing.
    read: Option<(ConnRef, RawFd)>,
    /// Not possible for this call (the connection is not up, or another thread waits
    /// directly): wait on the condition variable instead.
    off: bool,
    /// A non-blocking `recv` read the kept connection once already.
    looked: bool,
}

/// What a blocked `recv` does next.
pub(crate) enum DirectStep {
    /// Read the connection (no lock held), then look at the pattern again.
    Read(ConnLink),
    /// Sleep on the descriptor (no lock held), then read again.
    Sleep(ConnLink, RawFd),
    /// Give the connection taken over back (no lock held): the socket has other peers now.
    Leave,
    /// Wait on the condition variable as usual.
    Unavailable,
}

impl DirectReceive {
    /// Starts a `recv`'s wait, with the connection the last one kept taken over, if any.
    pub fn resume(socket: Arc<SocketShared>) -> Self {
        let entered = socket.direct.lock_sticky().take();
        Self {
            socket,
            entered,
            read: None,
            off: false,
            looked: false,
        }
    }

    /// Ends the `recv`: keeps the connection taken over if `keep` (the lease bounds how long),
    /// gives it back otherwise.
    pub fn finish(mut self, keep: bool) {
        if keep && let Some(link) = self.entered.take() {
            let at = link.at;
            let wait = &self.socket.direct;
            *wait.lock_sticky() = Some(link);
            wait.kept_since.store(true, Ordering::SeqCst);
            if !wait.lease_armed.swap(true, Ordering::SeqCst) {
                self.socket.io.submit(IoCommand::WatchLease(at));
            }
        }
    }

    /// The connection kept from an earlier `recv`, the first time a non-blocking one asks:
    /// nobody else reads it, so that `recv` reads it once before it says EAGAIN.
    pub fn kept_unread(&mut self) -> Option<ConnLink> {
        if self.looked {
            return None;
        }
        self.looked = true;
        self.entered.clone()
    }

    /// Gives the connection taken over back. Call without the socket's lock.
    pub fn leave(&mut self) {
        if let Some(link) = self.entered.take() {
            direct_leave(&link, &self.socket.io, &self.socket.direct);
        }
    }

    /// Decides the next step from the socket's state: direct receive needs the socket's only
    /// peer to be one tcp or ipc connection.
    pub fn next_step(&mut self, state: &SocketState) -> DirectStep {
        let only = match state.peers.iter().next() {
            Some((_, slot)) if state.peers.len() == 1 => match &slot.link {
                PeerLink::Conn(Some(link)) => Some(link),
                _ => None,
            },
            _ => None,
        };
        let Some(link) = only.filter(|_| !self.off) else {
            if self.entered.is_some() {
                return DirectStep::Leave;
            }
            return DirectStep::Unavailable;
        };
        // While the I/O thread is busy with other connections, it reads this one in the same
        // wake-ups: a thread reading its own would be woken by every arrival on it instead.
        // With more threads than cores (a broker's clients and workers) those extra wake-ups
        // halve throughput, so direct receive is for an I/O thread that would sleep.
        let io_busy = !self.socket.io.is_idle();
        match self.read.take() {
            Some(_) if io_busy => DirectStep::Leave,
            Some((at, fd)) if at == link.at => DirectStep::Sleep(link.clone(), fd),
            _ if io_busy && self.entered.is_none() => DirectStep::Unavailable,
            _ => DirectStep::Read(link.clone()),
        }
    }

    /// Takes the connection over if needed and reads it, or, unless `force`, leaves that to
    /// the wake-up of the poll when it knows nothing arrived. Call without the socket's lock.
    pub fn read(&mut self, link: &ConnLink, force: bool) {
        let socket = &*self.socket;
        if !socket.direct.prepare() {
            self.off = true;
            return;
        }
        if let Some(old) = &self.entered
            && old.at != link.at
        {
            direct_leave(old, &socket.io, &socket.direct);
            self.entered = None;
        }
        self.read = direct_read(link, &socket.io, &socket.direct, force).map(|fd| (link.at, fd));
        match self.read {
            Some(_) => self.entered = Some(link.clone()),
            None => self.off = true,
        }
    }

    /// Sleeps until the connection has input or the socket's waiters are woken, with
    /// `awake_first` after polling it awake a while. Call without the socket's lock, with
    /// the thread counted as blocked and marked sleeping.
    pub fn sleep(
        &mut self,
        link: &ConnLink,
        fd: RawFd,
        timeout: Option<Duration>,
        awake_first: bool,
    ) {
        if !direct_poll(&self.socket, fd, link, timeout, awake_first) {
            self.off = true;
        }
    }
}

impl Drop for DirectReceive {
    fn drop(&mut self) {
        if let Some(link) = self.entered.take() {
            direct_leave(&link, &self.socket.io, &self.socket.direct);
        }
    }
}
