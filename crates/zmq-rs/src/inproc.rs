//! inproc: two sockets of one context joined without syscalls or ZMTP encoding.
//!
//! A link joins peer `pa` of socket A with peer `pb` of socket B. Traffic moves from one
//! machine's outbound queue to the other's inbound queue in batches. Each direction has a
//! small in-flight buffer behind its own mutex, which also serialises transfers in that
//! direction so that messages never overtake each other. Lock order: a direction's mutex, then
//! one socket's lock at a time, never two sockets' locks together.
//!
//! Hand-over is lazy, to move messages in batches rather than one by one: a receiver with
//! nothing queued pulls from its links before it waits (from those whose `queued` hint says
//! the sender queued since the last pull: a sender sets it when its queue stops being empty,
//! a transfer clears it before it takes and sets it again if it left traffic behind at a
//! full receiver), a sender whose queues are full pushes into its links before it waits, and
//! a socket queues for a peer that is waiting (blocked or polled) hands over at once, once
//! per wait. The waiting side registers before its last look, and the queuing side checks
//! after queuing (both sequentially consistent), so one of the two always sees the other.
//!
//! Staging keeps a streaming sender and its receiver off each other's locks: every
//! [`STAGE_BATCH`] sends (at once if the receiver says it is hungry, and before the sender
//! waits) the sender moves what it queued for the link out of its machine into the
//! direction's staging queue, under its own lock and the staging queue's (held a moment by
//! either side), and the receiver takes staged batches without the sender's lock. Staging
//! from a machine stays within the receiver's room at its last transfer (the staging
//! budget), so the link still holds what the two high-water marks allow. A receiver that
//! finds nothing staged but traffic queued asks for it and waits a moment, then pulls it
//! from the sender's machine as before, staged traffic first: what the sender staged is
//! older than what its machine still holds.
//!
//! A PUSH, PAIR or DEALER whose one peer is the link sends on a lane (`core::Lane`), past
//! its machine: small one-frame messages are packed as their frames (half the octets of a
//! queue entry, so half the cache lines the receiving core takes from the sending one), and
//! a batch's buffers are handed over whole; what the lane holds and staged counts against
//! SNDHWM. A PULL, PAIR or DEALER whose one peer is the link takes staged batches straight
//! into its user's batch of received messages, past its machine
//! ([`InprocLink::take_direct`]); other receivers unpack them into their machine. Buffers
//! go back to the sender at the receiver's next take, so a stream allocates nothing.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use bytes::BytesMut;
use patterns::{Pattern, PeerId, PeerInfo};
use zmtp_proto::{Msg, SocketType, Traffic};

use crate::core::{Effect, Effects, PeerLink, SocketShared, SocketState, Waiting};

/// One end of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The connecting socket.
    Connecter,
    /// The binding socket.
    Binder,
}

impl Side {
    pub fn other(self) -> Self {
        match self {
            Self::Connecter => Self::Binder,
            Self::Binder => Self::Connecter,
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Connecter => 0,
            Self::Binder => 1,
        }
    }
}

#[derive(Debug)]
struct End {
    socket: Weak<SocketShared>,
    peer: PeerId,
    /// Who waits on the socket.
    waiting: Arc<Waiting>,
    /// The socket sends mostly subscriptions (SUB, XSUB, DISH), which peers that never
    /// receive (PUB) must get without being asked.
    eager: bool,
}

/// Traffic in flight from one side to the other, and whether the sending side has gone.
#[derive(Debug, Default)]
struct Direction {
    in_flight: VecDeque<Traffic>,
    /// Staged batches being moved into `in_flight`, and their emptied buffers, which go back
    /// to the sender at the next take.
    taking: VecDeque<VecDeque<Traffic>>,
    emptied: Vec<VecDeque<Traffic>>,
    /// Packed buffers whose messages were copied out, for the sender to fill again.
    emptied_packed: Vec<BytesMut>,
    /// Where `unpack_in_flight` rebuilds `in_flight`, and its packed messages on the way.
    unpacking: VecDeque<Traffic>,
    unpacked: VecDeque<Msg>,
    /// Messages taken from the staging queue in all (as `Staging::taken`, for the grant).
    taken: u64,
    /// The sending side closed: once `in_flight` is delivered, the receiver detaches.
    sender_gone: bool,
}

/// Sends between two stagings of a streaming sender: batches large enough that the two
/// threads seldom meet on the staging queue's lock (each takes it once per batch), small
/// enough that a receiver that keeps up rarely waits for one (and one that waits asks for
/// a batch at once). inproc_thr, medians of seven: 32: 19.9 M msg/s, 64: 21.2 M, 128:
/// 21.7 M but less steady.
pub(crate) const STAGE_BATCH: usize = 64;

/// Emptied batch buffers kept for a direction's sender to fill again.
const SPARE_BUFFERS: usize = 8;

/// Traffic the sender moved out of its machine (or sent on its lane), for the receiver to
/// take without the sender's lock (see the module's doc).
#[derive(Debug, Default)]
struct Staging {
    /// Batches, oldest first: each is the buffer the sender filled, handed over whole.
    batches: VecDeque<VecDeque<Traffic>>,
    /// Emptied buffers the receiver gave back, for the sender to fill.
    spare: Vec<VecDeque<Traffic>>,
    spare_packed: Vec<BytesMut>,
    /// Messages the receiver took from `batches` in all.
    taken: u64,
    /// Messages the sender put into `batches` in all.
    staged: u64,
    /// The link is going away in this direction: nothing more is staged.
    closed: bool,
}

impl Staging {
    /// An emptied buffer the receiver gave back, or a new one with room for a batch.
    fn spare_buffer(&mut self) -> VecDeque<Traffic> {
        self.spare
            .pop()
            .unwrap_or_else(|| VecDeque::with_capacity(STAGE_BATCH))
    }

    /// How many more the sender may stage now, of the `allowed` in all.
    fn budget(&self, allowed: u64) -> u64 {
        if self.closed {
            0
        } else {
            allowed.saturating_sub(self.staged)
        }
    }
}

/// A direction's hints, read without locks; on lines of their own, apart from the other
/// direction's (written by the other pair of roles).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Hints {
    /// The sender queued traffic while the receiver was busy pulling, so the receiver must
    /// look once more before it sleeps.
    pending: AtomicBool,
    /// The sender queued traffic since the receiver's last pull from its machine. A hint for
    /// a receiver about to sleep.
    queued: AtomicBool,
    /// The sender staged traffic since the receiver last took what was staged.
    staged: AtomicBool,
    /// The receiver found nothing staged: the sender should stage at its next send rather
    /// than wait for a whole batch.
    hungry: AtomicBool,
    /// The receiver's last take found a staged batch of several messages: the sender
    /// streams, and stages when asked, so a receiver finding only queued traffic may wait
    /// a moment for it (a lone message, a request, it pulls at once). Read and written by
    /// receivers only.
    streams: AtomicBool,
}

/// A staging queue on lines of its own: the sender and the receiver each take its lock once
/// per batch, and neither should pull the other direction's lines along.
#[derive(Debug, Default)]
#[repr(align(128))]
struct PaddedStaging {
    staging: Mutex<Staging>,
    /// Messages the sender may have staged in all: what the receiver took plus its room at
    /// its last transfer, less what it then had in flight. Written by the receiver alone,
    /// without the lock; never decreases while the high-water marks stay as they are (a
    /// take moves messages into the receiver's room, a receive makes room), so a stale
    /// reading only allows less.
    allowed: AtomicU64,
}

/// A connection between two sockets of one context.
#[derive(Debug)]
pub(crate) struct InprocLink {
    ends: [End; 2],
    /// Indexed by the sending side.
    directions: [Mutex<Direction>; 2],
    /// Indexed by the sending side.
    staging: [PaddedStaging; 2],
    /// Indexed by the sending side.
    hints: [Hints; 2],
}

impl InprocLink {
    pub fn new(
        connecter: &Arc<SocketShared>,
        connecter_peer: PeerId,
        binder: &Arc<SocketShared>,
        binder_peer: PeerId,
    ) -> Arc<Self> {
        Arc::new(Self {
            ends: [
                End {
                    socket: Arc::downgrade(connecter),
                    peer: connecter_peer,
                    waiting: connecter.waiting.clone(),
                    eager: hands_over_eagerly(connecter.socket_type),
                },
                End {
                    socket: Arc::downgrade(binder),
                    peer: binder_peer,
                    waiting: binder.waiting.clone(),
                    eager: hands_over_eagerly(binder.socket_type),
                },
            ],
            directions: [Mutex::default(), Mutex::default()],
            staging: [PaddedStaging::default(), PaddedStaging::default()],
            hints: [Hints::default(), Hints::default()],
        })
    }

    fn end(&self, side: Side) -> &End {
        &self.ends[side.index()]
    }

    /// Whether traffic for the socket on `side` should be handed over now, because a thread
    /// or poller waits on it and nobody woke it yet (see [`Waiting::claim_wake`]).
    pub fn claim_wake(&self, side: Side) -> bool {
        self.end(side).waiting.claim_wake()
    }

    /// Whether a readiness descriptor watches the socket on `side`.
    pub fn watched(&self, side: Side) -> bool {
        self.end(side).waiting.watched()
    }

    /// Wakes the threads and pollers waiting on the socket at `side`; they pull what was
    /// queued for them.
    pub fn wake(&self, side: Side) {
        let Some(socket) = self.end(side).socket.upgrade() else {
            return;
        };
        let mut state = socket.lock();
        state.watchers.fire_all();
        let blocked = state.blocked > 0;
        drop(state);
        if blocked {
            socket.wake_blocked();
        }
    }

    /// The socket on side `from` queued traffic for the link (its queue was empty).
    pub fn note_queued(&self, from: Side) {
        // Sequentially consistent: a receiver about to sleep registers as waiting, then skips
        // its pull if this is clear (`pull`); this socket sets it, then checks for waiters
        // (`claim_wake`). One of the two must see the other's write.
        raise(&self.hints[from.index()].queued);
    }

    /// Pulls what the socket on side `from` staged or queued: what it staged if anything
    /// (without its lock), else what it queued since the last pull, as the hints say. A look
    /// that finds nothing costs two loads, not the direction's lock and both sockets'. A
    /// transfer that may have left traffic behind (the receiver was full) sets the hint
    /// again.
    pub fn pull(self: &Arc<Self>, from: Side, effects: &mut Effects) {
        if self.staged(from) {
            let dir = self.direction(from);
            self.transfer_locked(dir, from, effects, Take::Staged);
        } else if self.queued_since_pull(from) {
            self.transfer(from, effects);
        }
    }

    /// Whether the socket on side `from` queued traffic since the last pull from it
    /// (sequentially consistent, see `note_queued`).
    pub fn queued_since_pull(&self, from: Side) -> bool {
        self.hints[from.index()].queued.load(Ordering::SeqCst)
    }

    /// Whether the socket on side `from` staged traffic that the receiver has yet to take.
    pub fn staged(&self, from: Side) -> bool {
        self.hints[from.index()].staged.load(Ordering::Acquire)
    }

    /// Whether the sender on side `from` streams (see `Hints::streams`).
    pub fn streams(&self, from: Side) -> bool {
        self.hints[from.index()].streams.load(Ordering::Relaxed)
    }

    /// The receiver found nothing staged from side `from`: asks the sender to stage at its
    /// next send.
    pub fn ask_to_stage(&self, from: Side) {
        raise(&self.hints[from.index()].hungry);
    }

    /// Whether the receiver of what side `from` sends asked for it to be staged at once.
    pub fn asks_to_stage(&self, from: Side) -> bool {
        self.hints[from.index()].hungry.load(Ordering::Relaxed)
    }

    /// Moves what the socket on side `from` queued for the link out of its machine
    /// (`pattern`, whose lock the caller holds) into the staging queue, within the staging
    /// budget. Says whether the machine may still hold traffic for the link (the budget ran
    /// out, or the receiver held the staging queue: the next send tries again).
    pub fn stage(&self, from: Side, pattern: &mut dyn Pattern) -> bool {
        let mut staging = match self.staging[from.index()].staging.try_lock() {
            Ok(staging) => staging,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return true,
        };
        let allowed = self.staging[from.index()].allowed.load(Ordering::Acquire);
        let budget = usize::try_from(staging.budget(allowed)).unwrap_or(usize::MAX);
        if budget == 0 {
            return !staging.closed;
        }
        let mut buffer = staging.spare_buffer();
        let moved = pattern.poll_transmit_up_to(self.end(from).peer, budget, &mut buffer);
        if moved > 0 {
            staging.batches.push_back(buffer);
        } else {
            staging.spare.push(buffer);
        }
        staging.staged += moved as u64;
        drop(staging);
        if moved > 0 {
            self.note_staged(from);
        }
        moved == budget
    }

    /// Stages `batch`, what the socket on side `from` sent on its lane (see `core::Lane`);
    /// returns how many of the messages it staged the receiver has yet to take, and a
    /// packed buffer the receiver gave back, for its packer. Call with that socket's lock
    /// held.
    pub fn publish(&self, from: Side, batch: &mut VecDeque<Traffic>) -> (u64, Option<BytesMut>) {
        let mut staging = self.lock_staging(from);
        let packed = staging.spare_packed.pop();
        if staging.closed {
            batch.clear();
            return (0, packed);
        }
        let moved = messages_in(batch);
        if !batch.is_empty() {
            // Handed over whole, and an emptied one taken in its place: no message is copied,
            // and the lock is held for a moment. Copying each batch into a queue of the
            // receiver's instead, with the lock held, was slower (14 M against 16 M messages
            // a second, medians of eight).
            let spare = staging.spare_buffer();
            staging.batches.push_back(std::mem::replace(batch, spare));
        }
        staging.staged += moved as u64;
        let outstanding = staging.staged - staging.taken;
        drop(staging);
        if moved > 0 {
            self.note_staged(from);
        }
        (outstanding, packed)
    }

    /// The socket on side `from` staged: says so to the receiver (the flag is set after the
    /// queue's lock is released, so a receiver that sees it finds the batch).
    fn note_staged(&self, from: Side) {
        let hints = &self.hints[from.index()];
        raise(&hints.staged);
        if hints.hungry.load(Ordering::Relaxed) {
            hints.hungry.store(false, Ordering::Relaxed);
        }
    }

    /// Whether the link can carry a lane from side `from`: its staging is open and no
    /// readiness descriptor watches the receiver (which takes every message as it comes).
    pub fn lane_possible(&self, from: Side) -> bool {
        !self.watched(from.other()) && !self.lock_staging(from).closed
    }

    fn lock_staging(&self, from: Side) -> std::sync::MutexGuard<'_, Staging> {
        self.staging[from.index()]
            .staging
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves what side `from` staged to the back of `dir`'s traffic in flight. The caller
    /// then calls [`InprocLink::after_take`], without the sender's lock.
    fn take_staged(&self, from: Side, dir: &mut Direction) -> usize {
        let flag = &self.hints[from.index()].staged;
        // Nothing staged since the last take: a sender sets the flag, under its socket's
        // lock, before it lets go of that lock, so a caller holding it (a pull from the
        // sender's machine) misses nothing older; one that does not looks again later.
        if !flag.load(Ordering::Acquire) {
            return 0;
        }
        // Cleared before taking: whatever is staged after the take sets it again.
        flag.store(false, Ordering::SeqCst);
        let mut staging = self.lock_staging(from);
        // A few spare buffers are enough: as many batches as are in flight at once.
        dir.emptied
            .truncate(SPARE_BUFFERS.saturating_sub(staging.spare.len()));
        staging.spare.append(&mut dir.emptied);
        dir.emptied_packed
            .truncate(SPARE_BUFFERS.saturating_sub(staging.spare_packed.len()));
        staging.spare_packed.append(&mut dir.emptied_packed);
        std::mem::swap(&mut staging.batches, &mut dir.taking);
        let taken: usize = dir.taking.iter().map(messages_in).sum();
        staging.taken += taken as u64;
        drop(staging);
        dir.taken += taken as u64;
        if taken > 1 {
            raise(&self.hints[from.index()].streams);
        }
        while let Some(mut batch) = dir.taking.pop_front() {
            if dir.in_flight.is_empty() {
                std::mem::swap(&mut dir.in_flight, &mut batch);
            } else {
                dir.in_flight.extend(batch.drain(..));
            }
            dir.emptied.push(batch);
        }
        taken
    }

    /// Moves what side `from` staged straight into `into`, the receiving user's batch of
    /// received messages, past the receiver's machine: for a socket whose machine would
    /// only queue them in order for it (see `SocketState::take_direct`), which holds its
    /// lock; what a transfer left in flight first, as it is older. Takes nothing, rather
    /// than wait, if a transfer is under way (whose lock comes before the socket's: it
    /// delivers into the machine instead), or the sender is gone (its transfer detaches the
    /// peer). `room` is what the receiver's machine has room for from the sender (kept: the
    /// sender may stage that much more). Returns the messages and payload octets taken; the
    /// caller then has [`InprocLink::after_take`] run, without its lock.
    pub fn take_direct(&self, from: Side, into: &mut VecDeque<Msg>, room: usize) -> (u64, u64) {
        if !self.staged(from) {
            return (0, 0);
        }
        let mut dir = match self.directions[from.index()].try_lock() {
            Ok(dir) => dir,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return (0, 0),
        };
        if dir.sender_gone {
            return (0, 0);
        }
        self.take_staged(from, &mut dir);
        let (mut msgs, mut octets) = (0, 0);
        let Direction {
            in_flight,
            emptied_packed,
            ..
        } = &mut *dir;
        for traffic in in_flight.drain(..) {
            match traffic {
                Traffic::Message(msg) => {
                    msgs += 1;
                    octets += msg.payload_len() as u64;
                    into.push_back(msg);
                }
                Traffic::Framed(packed) => {
                    msgs += packed.messages() as u64;
                    octets += packed.payload_len() as u64;
                    emptied_packed.extend(packed.unpack_into(into));
                }
                // Only messages come from the socket types that take this way.
                _ => {}
            }
        }
        self.grant(from, room, &dir);
        (msgs, octets)
    }

    /// After a transfer took `taken` staged messages from side `from`: a sender whose lane
    /// was full may wait for that room (see `core::Lane`). The take, then this look at the
    /// waiters, against the sender's registering, then its look at the room.
    pub fn after_take(&self, from: Side, taken: usize) {
        if taken > 0 && self.end(from).waiting.has_waiters() {
            self.wake(from);
        }
    }

    /// Sets what side `from` may stage: the receiver's `room`, less what is in flight, so
    /// that the link never holds more than the receiver's high-water mark allows.
    fn grant(&self, from: Side, room: usize, dir: &Direction) {
        let room = u64::try_from(room.saturating_sub(dir.in_flight.len())).unwrap_or(u64::MAX);
        let allowed = dir.taken.saturating_add(room);
        let granted = &self.staging[from.index()].allowed;
        // Read first: the sender reads it, and an unchanged value need not take its line.
        if granted.load(Ordering::Relaxed) != allowed {
            granted.store(allowed, Ordering::Release);
        }
    }

    /// Stops staging from side `from` and drops what was staged (the receiver is gone).
    fn close_staging(&self, from: Side) {
        let mut staging = self.lock_staging(from);
        staging.closed = true;
        staging.batches.clear();
    }

    /// Whether traffic from `side` must be handed over as soon as it is queued.
    pub fn eager(&self, side: Side) -> bool {
        self.end(side).eager
    }

    fn direction(&self, from: Side) -> std::sync::MutexGuard<'_, Direction> {
        self.directions[from.index()]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `peer` of the socket whose state is `state` is still this link's end there: a
    /// peer's id is reused once it is gone, and a transfer on a link whose end was detached
    /// (an effect run late, a receiver's snapshot of its links) must not touch whoever
    /// holds the id now.
    fn is_end(&self, state: &SocketState, peer: PeerId) -> bool {
        matches!(
            state.peers.get(peer.0),
            Some(slot) if matches!(&slot.link, PeerLink::Inproc(link, _) if std::ptr::eq(&**link, self))
        )
    }

    /// Moves traffic queued on side `from` into the other side's machine, as much as it takes.
    pub fn transfer(self: &Arc<Self>, from: Side, effects: &mut Effects) {
        let dir = self.direction(from);
        self.transfer_locked(dir, from, effects, Take::All);
    }

    /// Hands traffic from `from` over to a waiting receiver: moves it now, or, if the
    /// receiver is moving it already (the direction is locked), just wakes the receiver,
    /// which then pulls; the sender never waits for the receiver's transfer.
    pub fn hand_over(self: &Arc<Self>, from: Side, effects: &mut Effects) {
        match self.directions[from.index()].try_lock() {
            Ok(dir) => self.transfer_locked(dir, from, effects, Take::All),
            Err(std::sync::TryLockError::Poisoned(p)) => {
                self.transfer_locked(p.into_inner(), from, effects, Take::All);
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                // Flag before waking: a receiver about to sleep checks the flag under its
                // lock, which `wake` takes too, so it either sees the flag or is woken.
                self.hints[from.index()]
                    .pending
                    .store(true, Ordering::SeqCst);
                self.wake(from.other());
            }
        }
    }

    /// Whether traffic from `from` was queued while the receiver was pulling (and clears
    /// it): the receiver must pull again before it sleeps.
    pub fn take_pending(&self, from: Side) -> bool {
        self.hints[from.index()]
            .pending
            .swap(false, Ordering::SeqCst)
    }

    fn transfer_locked(
        self: &Arc<Self>,
        mut dir: std::sync::MutexGuard<'_, Direction>,
        from: Side,
        effects: &mut Effects,
        take: Take,
    ) {
        let src = self.end(from);
        let dst = self.end(from.other());
        if take == Take::All {
            // Cleared before taking: whatever is queued after the take sets it again.
            let queued = &self.hints[from.index()].queued;
            if queued.load(Ordering::Relaxed) {
                queued.store(false, Ordering::SeqCst);
            }
        }
        let Some(dst_socket) = dst.socket.upgrade() else {
            dir.in_flight.clear();
            self.close_staging(from);
            return;
        };
        let mut staged_taken = 0;
        loop {
            // Take from the sender no more than the receiver has room for, so that the link
            // holds what the two high-water marks allow and no more (libzmq's inproc pipe).
            let room = {
                let state = dst_socket.lock();
                if !self.is_end(&state, dst.peer) {
                    drop(state);
                    dir.in_flight.clear();
                    self.close_staging(from);
                    break;
                }
                state.pattern.receive_room(dst.peer)
            };
            let want = room.saturating_sub(dir.in_flight.len());
            let mut pulled = 0;
            if want > 0 && take == Take::Staged {
                // A pull from the machine takes what was staged under the sender's lock.
                pulled = self.take_staged(from, &mut dir);
                staged_taken += pulled;
            }
            if take == Take::All
                && want > pulled
                && let Some(src_socket) = src.socket.upgrade()
            {
                let mut state = src_socket.lock_politely();
                if self.is_end(&state, src.peer) {
                    // What it staged or still holds on its lane, taken under the lock we
                    // now hold (it stages only under it): older than what its machine has.
                    state.publish_lane();
                    let staged = self.take_staged(from, &mut dir);
                    staged_taken += staged;
                    pulled += staged;
                    let machine = state.pattern.poll_transmit_up_to(
                        src.peer,
                        want.saturating_sub(pulled),
                        &mut dir.in_flight,
                    );
                    if machine > 0 {
                        let streams = &self.hints[from.index()].streams;
                        if staged == 0 && streams.load(Ordering::Relaxed) {
                            streams.store(false, Ordering::Relaxed);
                        }
                        pulled += machine;
                        src_socket.after_change(&mut state, effects);
                    }
                }
            }
            unpack_in_flight(&mut dir);
            let mut state = dst_socket.lock();
            if !self.is_end(&state, dst.peer) {
                // Detached while the lock was let go.
                drop(state);
                dir.in_flight.clear();
                self.close_staging(from);
                break;
            }
            let mut delivered = 0;
            if !dir.in_flight.is_empty() {
                let now = crate::clock::now();
                state.recent_now = now;
                delivered = state.pattern.handle_traffic_batch(
                    now,
                    dst.peer,
                    &mut dir.in_flight,
                    usize::MAX,
                );
                dst_socket.after_change(&mut state, effects);
            }
            // The room measured before, less what was delivered: receives since can only have
            // made more, which the next transfer grants.
            self.grant(from, room.saturating_sub(delivered), &dir);
            if !dir.in_flight.is_empty() {
                // The receiver is full: its ResumeReceive brings us back, or its next pull.
                self.note_queued(from);
                break;
            }
            if take == Take::Staged {
                break;
            }
            if pulled < want && !dir.sender_gone {
                // The sender's queue was drained. What it queued since set the hint again,
                // for the receiver's next pull: another round now would take the sender's
                // lock from it again while it streams, rather than let it stage. One
                // queued from here on is the same race as one queued after a round that
                // found nothing, which the receiver's waiting covers (see the module's doc).
                break;
            }
            if pulled == 0 {
                // Everything the sender queued (or all the receiver takes) is delivered.
                if want == 0 {
                    // The receiver had no room: whatever the sender queued is still there.
                    self.note_queued(from);
                }
                if dir.sender_gone {
                    dst_socket.detach_peer(&mut state, dst.peer, effects);
                    dst_socket.after_change(&mut state, effects);
                }
                break;
            }
        }
        self.after_take(from, staged_taken);
    }

    /// Side `side` dropped its end of the link: messages it already queued stay readable by
    /// the other side, which detaches once they are delivered.
    pub fn detach(self: &Arc<Self>, side: Side, effects: &mut Effects) {
        {
            // Everything the closing side queued moves into the link, where the other side
            // can still read it after the closing socket is gone.
            let mut dir = self.direction(side);
            let end = self.end(side);
            if let Some(socket) = end.socket.upgrade() {
                let mut state = socket.lock();
                state.publish_lane();
                self.take_staged(side, &mut dir);
                // The peer's slot is gone (its machine may still hold what it queued), unless
                // a new peer took its id since.
                if !state.peers.contains(end.peer.0) {
                    while let Some(traffic) = state.pattern.poll_transmit(end.peer) {
                        dir.in_flight.push_back(traffic);
                    }
                }
            } else {
                self.take_staged(side, &mut dir);
            }
            self.close_staging(side);
            dir.sender_gone = true;
        }
        // Whatever the other side had queued for us is dropped with our machine.
        self.direction(side.other()).in_flight.clear();
        self.close_staging(side.other());
        self.transfer(side, effects);
    }
}

/// How many messages `batch` holds (a packed buffer holds many).
fn messages_in(batch: &VecDeque<Traffic>) -> usize {
    batch
        .iter()
        .map(|traffic| match traffic {
            Traffic::Framed(packed) => packed.messages(),
            _ => 1,
        })
        .sum()
}

/// Unpacks the packed buffers in `dir`'s traffic in flight into whole messages, for a
/// machine, which takes messages only (see `core::Lane`): a receiver with several peers
/// takes lanes' batches this way, so the queues it unpacks into are kept, not made anew.
fn unpack_in_flight(dir: &mut Direction) {
    if !dir
        .in_flight
        .iter()
        .any(|traffic| matches!(traffic, Traffic::Framed(_)))
    {
        return;
    }
    let Direction {
        in_flight,
        unpacking,
        unpacked,
        emptied_packed,
        ..
    } = dir;
    for traffic in in_flight.drain(..) {
        match traffic {
            Traffic::Framed(packed) => {
                emptied_packed.extend(packed.unpack_into(unpacked));
                unpacking.extend(unpacked.drain(..).map(Traffic::Message));
            }
            other => unpacking.push_back(other),
        }
    }
    // The emptied queue is the next unpacking's.
    std::mem::swap(in_flight, unpacking);
}

/// What a transfer takes from the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Take {
    /// What it staged, without its lock.
    Staged,
    /// What it staged and what its machine still holds.
    All,
}

/// Sets a hint, reading it first: the other side reads it too, and a store to a line both
/// hold would take it from the reader every time. Sequentially consistent, as the hints'
/// readers about to sleep need.
fn raise(flag: &AtomicBool) {
    if !flag.load(Ordering::Relaxed) {
        flag.store(true, Ordering::SeqCst);
    }
}

/// Completes a link between a connecting socket's pending peer and a binding socket: attaches
/// the binder's peer, reports both as connected, and starts traffic both ways.
pub(crate) fn complete_link(
    connecter: &Arc<SocketShared>,
    connecter_peer: PeerId,
    binder: &Arc<SocketShared>,
    effects: &mut Effects,
) {
    let now = crate::clock::now();
    let connecter_info = PeerInfo {
        socket_type: connecter.socket_type,
        routing_id: connecter.lock().options.routing_id.clone(),
    };
    let binder_info = {
        let state = binder.lock();
        PeerInfo {
            socket_type: binder.socket_type,
            routing_id: state.options.routing_id.clone(),
        }
    };
    // The binder's side of the pipe.
    let binder_peer = {
        let mut state = binder.lock();
        let label: Arc<str> = Arc::from(state.options.last_endpoint.as_str());
        let entry = state.peers.vacant_entry();
        let peer = PeerId(entry.key());
        entry.insert(crate::core::PeerSlot {
            link: PeerLink::InprocPending,
            tx_scheduled: false,
            owner: 0,
            label,
            lane: crate::core::LaneCounts::default(),
        });
        state.pattern.handle_peer_attached(
            now,
            peer,
            patterns::AttachInfo {
                locally_initiated: false,
                connect_routing_id: None,
                packs_frames: false,
            },
        );
        peer
    };
    let link = InprocLink::new(connecter, connecter_peer, binder, binder_peer);
    for (socket, peer, side, info) in [
        (binder, binder_peer, Side::Binder, connecter_info),
        (connecter, connecter_peer, Side::Connecter, binder_info),
    ] {
        let mut state = socket.lock();
        let Some(slot) = state.peers.get_mut(peer.0) else {
            continue;
        };
        let had_traffic = slot.tx_scheduled;
        slot.tx_scheduled = false;
        state.set_inproc_link(peer, link.clone(), side);
        match state.pattern.handle_peer_connected(now, peer, info) {
            Ok(()) => {
                if had_traffic {
                    effects.push(Effect::InprocTransfer(link.clone(), side));
                }
            }
            Err(_) => socket.detach_peer(&mut state, peer, effects),
        }
        socket.after_change(&mut state, effects);
    }
    effects.push(Effect::InprocTransfer(link.clone(), Side::Connecter));
    effects.push(Effect::InprocTransfer(link, Side::Binder));
}

/// Socket types whose traffic is handed over as soon as it is queued: subscribers (their
/// subscriptions go to publishers, which never receive), and publishers (their sends never
/// wait, so they never push before waiting, and a subscriber that is not receiving must
/// still hold up to its RCVHWM, as libzmq's inproc pipes do).
fn hands_over_eagerly(socket_type: SocketType) -> bool {
    matches!(
        socket_type,
        SocketType::Sub
            | SocketType::XSub
            | SocketType::Dish
            | SocketType::Pub
            | SocketType::XPub
            | SocketType::Radio
    )
}
