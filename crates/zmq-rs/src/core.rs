//! The state one socket shares between its user's thread and its I/O thread.
//!
//! A socket's pattern machine, its peers and its options live in one [`SocketState`] behind a
//! mutex. Whoever calls into the machine (the user sending or receiving, the I/O thread
//! delivering traffic) holds the lock only for that call, then turns the machine's actions
//! into [`Effect`]s and runs them after unlocking, so no thread ever holds two sockets' locks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Instant;

use patterns::{Action, Pattern, PeerId, SendError, SendErrorKind, UserFrame};
use slab::Slab;
use smallvec::SmallVec;
use zmtp_proto::{FramePacker, Msg, SocketType, Traffic};

use crate::inproc::{InprocLink, STAGE_BATCH, Side};
use crate::io::{ConnLink, IoCommand, IoShared};
use crate::monitor::MonitorSink;
use crate::options::SocketOptions;
use crate::poll::Watchers;

static NEXT_SOCKET_ID: AtomicU64 = AtomicU64::new(1);

/// Average payload octets under which a receiver reads its only connection itself once it
/// has drained a full queue (see `SocketShared::after_change`), and a sender writes its
/// full queues itself (see `SocketState::conns_with_queued_traffic`).
const SMALL_MESSAGES: u64 = 8 * 1024;

/// Whether a peer's messages so far (`octets` in `messages`) average under
/// [`SMALL_MESSAGES`].
fn small_messages(octets: u64, messages: u64) -> bool {
    octets < messages.saturating_mul(SMALL_MESSAGES)
}

/// Tries of [`SocketShared::lock_politely`] before it queues on the lock.
const POLITE_ROUNDS: u32 = 32;

/// What a socket's user handle and its I/O thread share.
pub(crate) struct SocketShared {
    pub id: u64,
    pub socket_type: SocketType,
    pub io: Arc<IoShared>,
    state: Mutex<SocketState>,
    /// Signalled when the socket may have become readable or writable, or was terminated.
    pub cond: Condvar,
    /// Who waits on this socket, for inproc peers deciding whether to hand traffic over now
    /// (see `inproc`). Shared with the links.
    pub waiting: Arc<Waiting>,
    /// Where this socket's monitor events go, if it is monitored.
    pub monitor: MonitorSink,
    /// A thread blocked in `recv` that waits on the socket's connection itself.
    pub direct: crate::io::DirectWait,
    /// Large payloads sent and written, for pacing blocking sends (see `pacing`).
    pub pacing: crate::pacing::Pacing,
    /// The context, for what the I/O thread needs of it (ZAP).
    pub ctx: Weak<crate::context::ContextInner>,
    /// This socket, for effects that must reach it after its lock is released.
    me: Weak<Self>,
}

impl std::fmt::Debug for SocketShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketShared")
            .field("id", &self.id)
            .field("socket_type", &self.socket_type)
            .finish()
    }
}

/// Threads blocked in send or receive on a socket, plus pollers watching it.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    count: AtomicUsize,
    /// Readiness handles: someone outside may wait on the socket at any time, so peers
    /// always hand over at once.
    always: AtomicUsize,
    /// A peer already handed traffic over and woke the waiters; until they look again,
    /// further traffic can wait for them to pull it (one wake-up per wait, not per message).
    woken: AtomicBool,
}

impl Waiting {
    /// Whether a peer that just queued traffic should hand it over now: true for the first
    /// such peer while someone waits; later ones leave it for the woken waiter to pull.
    pub fn claim_wake(&self) -> bool {
        self.always.load(Ordering::SeqCst) > 0
            || (self.count.load(Ordering::SeqCst) > 0 && !self.woken.swap(true, Ordering::SeqCst))
    }

    /// Whether a thread or poller waits on the socket.
    pub fn has_waiters(&self) -> bool {
        self.always.load(Ordering::SeqCst) > 0 || self.count.load(Ordering::SeqCst) > 0
    }

    /// Whether a readiness descriptor watches the socket.
    pub fn watched(&self) -> bool {
        self.always.load(Ordering::SeqCst) > 0
    }

    /// A readiness handle appeared (`true`) or went away (`false`).
    pub fn set_always(&self, on: bool) {
        if on {
            self.always.fetch_add(1, Ordering::SeqCst);
        } else {
            self.always.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Called by a waiter before it looks for traffic: wake it again if needed.
    pub fn looking(&self) {
        self.woken.store(false, Ordering::SeqCst);
    }
}

/// Counts a thread as waiting on a socket for as long as it lives.
#[derive(Debug)]
pub(crate) struct Waiter(Arc<Waiting>);

impl Waiter {
    pub fn new(waiting: &Arc<Waiting>) -> Self {
        waiting.count.fetch_add(1, Ordering::SeqCst);
        Self(waiting.clone())
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Everything behind the socket's lock.
pub(crate) struct SocketState {
    pub pattern: Box<dyn Pattern>,
    /// The machine's socket type, kept here to be read without a call through the box.
    socket_type: SocketType,
    pub peers: Slab<PeerSlot>,
    pub options: SocketOptions,
    /// Threads blocked in send or recv on this socket.
    pub blocked: u32,
    /// Set by `Context::term` (ETERM for every later call).
    pub terminated: bool,
    /// The user received a message since the last direct write: the next transmission
    /// is likely a reply, written on the user's thread (see `Effect::DirectFlush`).
    pub direct_write: bool,
    /// The instant the I/O thread last looked at the clock. User calls hand it to the
    /// machine instead of reading the clock per message: no socket type's send or receive
    /// depends on the time, and a reading a few microseconds old is still a valid `now`.
    pub recent_now: Instant,
    /// Pollers waiting for this socket's readiness.
    pub watchers: Watchers,
    /// The peers in `peers` that are inproc links, kept in step with them by
    /// [`SocketState::set_inproc_link`] and [`SocketShared::detach_peer`], so a wait can take
    /// them all with one reference count instead of walking the peers under the lock.
    inproc: InprocLinks,
    /// Inproc peers whose queues in the machine may hold traffic not yet staged (see
    /// `inproc`); a peer is listed while its slot's `tx_scheduled` is set.
    unstaged: SmallVec<[(PeerId, Arc<InprocLink>, Side); 2]>,
    /// Sends since the socket last staged.
    sends_since_staging: usize,
    /// Where one-frame sends go, bypassing the machine, while it is open.
    lane: Option<Lane>,
}

/// A send-only shortcut for a socket whose one peer is an inproc link (PUSH, PAIR or DEALER,
/// which send every message to that peer as it comes): messages are queued here, never in
/// the machine, and staged from here in batches as the machine's queue would be (see
/// `inproc`). Open only while the machine holds nothing for the peer: staging opens it once
/// the machine's queue is drained, and it closes, staging what it holds, when a second peer
/// comes, so messages keep their order. What it holds and staged counts against SNDHWM as
/// the machine's queue would: a full lane refuses a send (which then waits, or fails with
/// EAGAIN) rather than queue in the machine too.
#[derive(Debug)]
struct Lane {
    peer: PeerId,
    link: Arc<InprocLink>,
    side: Side,
    /// Sent on the lane, not yet staged, in order: small one-frame messages packed as their
    /// frames (see [`FramePacker`]: about half the octets of a queue entry, so half the lines
    /// the receiving core must take from this one), the others whole; the packer holds the
    /// newest, and is sealed into the batch before a message that is not packed.
    batch: VecDeque<Traffic>,
    packer: FramePacker,
    /// Messages sent since the last staging.
    unstaged: usize,
    /// SNDHWM when the lane opened (0: none).
    hwm: u64,
    /// How many more may be queued, as of the last staging.
    budget: u64,
    /// Messages and payload octets sent on the lane, which the machine does not count.
    msgs: u64,
    bytes: u64,
}

/// Octets of a packer's next buffer written ahead of the messages (see `Lane::publish`): a
/// batch of small messages.
const PREPARED_OCTETS: usize = STAGE_BATCH * (Msg::SMALL_MAX + 2);

impl Lane {
    /// Stages what was sent and renews the budget: SNDHWM less what is staged and not
    /// taken.
    fn publish(&mut self) {
        self.seal();
        let (outstanding, buffer) = self.link.publish(self.side, &mut self.batch);
        self.unstaged = 0;
        // One too small for a batch would be filled and replaced by a new one mid-batch.
        if let Some(buffer) = buffer.filter(|b| b.capacity() >= PREPARED_OCTETS) {
            self.packer.recycle(buffer);
        }
        // The buffer given back was last read by the receiving core: write where the next
        // messages go now, together, so that each send writes lines this core holds (each
        // send's lock release waits for its stores to reach the cache).
        self.packer.prepare(PREPARED_OCTETS);
        self.budget = if self.hwm == 0 {
            u64::MAX
        } else {
            self.hwm.saturating_sub(outstanding)
        };
    }

    /// Moves what the packer holds to the batch.
    fn seal(&mut self) {
        self.batch.extend(self.packer.seal().map(Traffic::Framed));
    }

    /// Whether the lane has room for one more message (staging first if it seemed full).
    fn has_room(&mut self) -> bool {
        if self.budget == 0 {
            self.publish();
        }
        self.budget > 0
    }

    /// Queues a one-frame message.
    fn queue_frame(&mut self, frame: UserFrame<'_>, effects: &mut Effects) {
        let len = frame.len();
        match frame {
            UserFrame::Borrowed(data) if data.len() <= Msg::SMALL_MAX => {
                let full = self.packer.push_frames(&[data]);
                self.batch.extend(full.map(Traffic::Framed));
            }
            UserFrame::Borrowed(data) => {
                self.seal();
                Traffic::push_copied(&mut self.batch, data);
            }
            UserFrame::Shared(bytes) => {
                self.seal();
                self.batch.push_back(Traffic::Message(Msg::single(bytes)));
            }
        }
        self.queued(len, effects);
    }

    /// Queues a message whole.
    fn queue_msg(&mut self, msg: Msg, effects: &mut Effects) {
        let len = msg.payload_len();
        self.seal();
        self.batch.push_back(Traffic::Message(msg));
        self.queued(len, effects);
    }

    /// Counts a message of `len` payload octets just queued.
    fn queued(&mut self, len: usize, effects: &mut Effects) {
        self.budget -= 1;
        self.msgs += 1;
        self.bytes += len as u64;
        self.unstaged += 1;
        if self.unstaged == 1 {
            inproc_queued(&self.link, self.side, effects);
        }
        if self.unstaged >= STAGE_BATCH || self.link.asks_to_stage(self.side) {
            self.publish();
        }
    }
}

/// Where a sent message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// On the lane: the machine did not change, and nobody need hear of it beyond what the
    /// lane told the receiver.
    OnLane,
    ToMachine,
}

/// What the lane can do with a message now.
enum LaneRoom<'a> {
    Open(&'a mut Lane),
    Full,
    /// The message goes through the machine.
    Closed,
}

/// A snapshot of a socket's inproc links, for pulling from or pushing to them once the
/// socket's lock is released.
pub(crate) type InprocLinks = Arc<[(Arc<InprocLink>, Side)]>;

impl SocketState {
    /// The socket's inproc links as they are now.
    pub fn inproc_links(&self) -> InprocLinks {
        self.inproc.clone()
    }

    /// Makes `peer` the given side of an established inproc link.
    pub fn set_inproc_link(&mut self, peer: PeerId, link: Arc<InprocLink>, side: Side) {
        if let Some(slot) = self.peers.get_mut(peer.0) {
            slot.link = PeerLink::Inproc(link, side);
            self.refresh_inproc_links();
        }
    }

    fn refresh_inproc_links(&mut self) {
        self.inproc = self
            .peers
            .iter()
            .filter_map(|(_, slot)| match &slot.link {
                PeerLink::Inproc(link, side) => Some((link.clone(), *side)),
                _ => None,
            })
            .collect();
    }

    /// The connections with small messages queued that the I/O thread has yet to write (see
    /// `Socket::wait_for`: a sender whose queues are full writes them itself). Large ones
    /// are left to the I/O thread, whose writes (the kernel's copies) then run alongside
    /// the sender's work.
    pub fn conns_with_queued_traffic(&self) -> SmallVec<[ConnLink; 2]> {
        self.peers
            .iter()
            .filter(|&(key, slot)| {
                slot.tx_scheduled
                    && self
                        .pattern
                        .peer_stats(PeerId(key))
                        .is_some_and(|s| small_messages(s.bytes_out, s.msgs_out))
            })
            .filter_map(|(_, slot)| match &slot.link {
                PeerLink::Conn(Some(conn)) => Some(conn.clone()),
                _ => None,
            })
            .collect()
    }

    /// Sends one frame: on the lane if it is open (see [`Lane`]), else through the machine.
    /// Queues the hand-over a lane send may need in `effects`.
    #[inline]
    #[allow(clippy::result_large_err)] // The machine's error, which carries the message back.
    pub fn send_frame(
        &mut self,
        now: Instant,
        frame: UserFrame<'_>,
        effects: &mut Effects,
    ) -> Result<Sent, SendError> {
        match self.lane_room() {
            LaneRoom::Open(lane) => {
                lane.queue_frame(frame, effects);
                Ok(Sent::OnLane)
            }
            LaneRoom::Full => Err(SendError {
                kind: SendErrorKind::WouldBlock,
                msg: frame.into_msg(),
            }),
            LaneRoom::Closed => {
                self.pattern.send_frame(now, frame)?;
                self.count_inproc_send();
                Ok(Sent::ToMachine)
            }
        }
    }

    /// Sends a whole message: on the lane if it is open (see [`Lane`]), else through the
    /// machine. Queues the hand-over a lane send may need in `effects`.
    #[allow(clippy::result_large_err)] // As in `send_frame`.
    pub fn send(
        &mut self,
        now: Instant,
        msg: Msg,
        effects: &mut Effects,
    ) -> Result<Sent, SendError> {
        match self.lane_room() {
            LaneRoom::Open(lane) => {
                lane.queue_msg(msg, effects);
                Ok(Sent::OnLane)
            }
            LaneRoom::Full => Err(SendError {
                kind: SendErrorKind::WouldBlock,
                msg,
            }),
            LaneRoom::Closed => {
                self.pattern.send(now, msg)?;
                self.count_inproc_send();
                Ok(Sent::ToMachine)
            }
        }
    }

    /// Whether the socket can take a message now (ZMQ_POLLOUT): its machine can, and its
    /// lane, if open, has room.
    pub fn is_writable(&mut self) -> bool {
        match self.lane_room() {
            LaneRoom::Open(_) | LaneRoom::Closed => self.pattern.is_writable(),
            LaneRoom::Full => false,
        }
    }

    /// The lane, if it is open and still may be (closing it, staging what it holds, if the
    /// socket no longer sends everything to one peer), and whether it has room.
    fn lane_room(&mut self) -> LaneRoom<'_> {
        if self.lane.is_some() && (self.peers.len() != 1 || self.options.conflate) {
            self.close_lane();
        }
        match self.lane.as_mut() {
            Some(lane) => {
                if lane.has_room() {
                    LaneRoom::Open(lane)
                } else {
                    LaneRoom::Full
                }
            }
            None => LaneRoom::Closed,
        }
    }

    /// Takes what the socket's one peer, an inproc link, staged straight into `into`, the
    /// user's batch of received messages, when the machine would only queue it for the
    /// user in order: a PULL, PAIR or DEALER (without CONFLATE) with nothing readable, whose
    /// one peer is that link. Saves the two moves through the machine's queue. Says whether
    /// it took any.
    pub fn take_direct(&mut self, into: &mut VecDeque<Msg>, effects: &mut Effects) -> bool {
        if !self.takes_direct() || self.pattern.is_readable() {
            return false;
        }
        let Some((key, slot)) = self.peers.iter_mut().next() else {
            return false;
        };
        let PeerLink::Inproc(link, side) = &slot.link else {
            return false;
        };
        let room = self.pattern.receive_room(PeerId(key));
        let (msgs, octets) = link.take_direct(side.other(), into, room);
        if msgs == 0 {
            return false;
        }
        slot.lane.msgs_in += msgs;
        slot.lane.bytes_in += octets;
        effects.push(Effect::InprocTaken(link.clone(), side.other()));
        true
    }

    /// Whether a receive takes what the socket's one inproc peer staged straight into the
    /// user's batch (see [`SocketState::take_direct`]), not through the machine.
    pub fn takes_direct(&self) -> bool {
        self.inproc.len() == 1
            && self.peers.len() == 1
            && !self.options.conflate
            && matches!(
                self.socket_type,
                SocketType::Pull | SocketType::Pair | SocketType::Dealer
            )
    }

    /// The link of the lane, if it is open but full (see [`Lane`]) and sends may wait.
    pub fn full_lane(&self) -> Option<(Arc<InprocLink>, Side)> {
        self.lane
            .as_ref()
            .filter(|lane| lane.budget == 0 && self.options.sndtimeo != 0)
            .map(|lane| (lane.link.clone(), lane.side))
    }

    /// Stages what the lane holds (see [`Lane`]).
    pub fn publish_lane(&mut self) {
        if let Some(lane) = self.lane.as_mut() {
            lane.publish();
        }
    }

    /// Closes the lane, staging what it holds first and keeping its counts (see [`Lane`]).
    pub fn close_lane(&mut self) {
        if let Some(mut lane) = self.lane.take() {
            lane.publish();
            if let Some(slot) = self.peers.get_mut(lane.peer.0) {
                slot.lane.msgs_out += lane.msgs;
                slot.lane.bytes_out += lane.bytes;
            }
        }
    }

    /// What went between the socket and `peer` past the machine (see [`LaneCounts`]).
    pub fn lane_counts(&self, peer: PeerId) -> LaneCounts {
        let mut counts = self
            .peers
            .get(peer.0)
            .map_or_else(LaneCounts::default, |slot| slot.lane);
        if let Some(lane) = self.lane.as_ref().filter(|lane| lane.peer == peer) {
            counts.msgs_out += lane.msgs;
            counts.bytes_out += lane.bytes;
        }
        counts
    }

    /// Counts a send for staging (see `inproc`): the socket stages for its inproc peers every
    /// [`STAGE_BATCH`] sends, or at once when a receiver asks.
    #[inline]
    pub fn count_inproc_send(&mut self) {
        if self.unstaged.is_empty() {
            return;
        }
        self.sends_since_staging += 1;
        // A receiver's ask is for a stream: a lone message (a request) it pulls itself,
        // cheaper than a staging it would have to wait for.
        if self.sends_since_staging >= STAGE_BATCH
            || (self.sends_since_staging > 1
                && self
                    .unstaged
                    .iter()
                    .any(|(_, link, side)| link.asks_to_stage(*side)))
        {
            self.stage_inproc();
        }
    }

    /// Before the socket waits: stages what it sent on its lane, and what it queued in its
    /// machine if it sent more than one message since it last staged or waited (one, a
    /// request say, its peer pulls itself: staging it cost a round trip on one core 2.2 us
    /// against 2.07).
    pub fn stage_before_waiting(&mut self) {
        if self.sends_since_staging > 1 {
            self.stage_inproc();
        } else {
            self.sends_since_staging = 0;
            self.publish_lane();
        }
    }

    /// Stages what the machine queued for inproc peers (see `inproc`), before the socket
    /// waits or every few sends. The caller runs `after_change` next.
    pub fn stage_inproc(&mut self) {
        self.sends_since_staging = 0;
        self.publish_lane();
        let pattern = self.pattern.as_mut();
        let peers = &mut self.peers;
        self.unstaged.retain(|(peer, link, side)| {
            let left = link.stage(*side, pattern);
            if !left
                && let Some(slot) = peers.get_mut(peer.0)
                && matches!(slot.link, PeerLink::Inproc(..))
            {
                slot.tx_scheduled = false;
            }
            left
        });
        if self.lane.is_none() {
            self.lane = self.lane_to_open();
        }
    }

    /// The lane the socket may send on now (see [`Lane`]): its only peer is an inproc link,
    /// the socket type sends every message to it, and the machine holds nothing for it.
    fn lane_to_open(&self) -> Option<Lane> {
        let sends_to_one_peer = matches!(
            self.socket_type,
            SocketType::Push | SocketType::Pair | SocketType::Dealer
        );
        if !sends_to_one_peer || self.options.conflate || self.peers.len() != 1 {
            return None;
        }
        let (key, slot) = self.peers.iter().next()?;
        let PeerLink::Inproc(link, side) = &slot.link else {
            return None;
        };
        let peer = PeerId(key);
        let drained = !slot.tx_scheduled
            && self
                .pattern
                .peer_stats(peer)
                .is_some_and(|stats| stats.queued_out == 0);
        (drained && link.lane_possible(*side)).then(|| Lane {
            peer,
            link: link.clone(),
            side: *side,
            batch: VecDeque::new(),
            packer: FramePacker::new(),
            unstaged: 0,
            hwm: u64::try_from(self.options.sndhwm).unwrap_or(0),
            budget: 0,
            msgs: 0,
            bytes: 0,
        })
    }

    /// Whether an inproc peer queued while this socket was pulling (clearing the flag it
    /// finds; see [`InprocLink::take_pending`]).
    pub fn take_inproc_pending(&self) -> bool {
        self.inproc
            .iter()
            .any(|(link, side)| link.take_pending(side.other()))
    }
}

/// One peer of a socket: how its traffic leaves the process.
#[derive(Debug)]
pub(crate) struct PeerSlot {
    pub link: PeerLink,
    /// The I/O side knows this peer has traffic queued (a flush is pending or under way).
    pub tx_scheduled: bool,
    /// For the pipe of a `connect`, the connecter that owns it (0 otherwise): reconnections
    /// find their pipe by this, never by a slot number alone that may have been reused.
    pub owner: u64,
    /// Where the peer is: the endpoint, and the peer's address once known.
    pub label: Arc<str>,
    /// What went to and came from the peer past the machines (see [`Lane`]).
    pub lane: LaneCounts,
}

/// Messages and payload octets that went between a socket and an inproc peer past the
/// socket's machine, which does not count them: sent on the socket's lane, or received
/// straight from the peer's staging (see `InprocLink::take_direct`).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LaneCounts {
    pub msgs_out: u64,
    pub bytes_out: u64,
    pub msgs_in: u64,
    pub bytes_in: u64,
}

/// Where a peer's traffic goes.
#[derive(Debug)]
pub(crate) enum PeerLink {
    /// A tcp or ipc connection owned by the socket's I/O thread; `None` while no connection
    /// is up (a connecting socket queues meanwhile).
    Conn(Option<ConnLink>),
    /// Another socket in this process.
    Inproc(Arc<InprocLink>, Side),
    /// An inproc connect waiting for the endpoint to be bound.
    InprocPending,
}

/// The effects one change produced; a few at most, so kept inline (a vector allocated at
/// the first push, and freed after, on every inproc hand-over and wake-up).
pub(crate) type Effects = SmallVec<[Effect; 4]>;

/// Work that follows from a machine's actions, done once the socket's lock is released.
#[derive(Debug)]
pub(crate) enum Effect {
    Io(Arc<IoShared>, IoCommand),
    /// Write the connection's queued traffic on this thread (see `io::direct_flush`).
    DirectFlush(ConnLink, Arc<IoShared>),
    /// Read the connection, whose reading the socket's full queue had stopped, on this
    /// thread from now on (see `io::resume_read_here`).
    ResumeReadHere(ConnLink, Arc<SocketShared>),
    InprocTransfer(Arc<InprocLink>, Side),
    InprocDetach(Arc<InprocLink>, Side),
    /// Wake the threads blocked on this socket.
    Notify(Arc<SocketShared>),
    /// Hand traffic over to the waiting socket at this side of the link, or wake it to pull
    /// if it is pulling already.
    InprocWake(Arc<InprocLink>, Side),
    /// The receiver took what this side staged: wake it if it waits for room.
    InprocTaken(Arc<InprocLink>, Side),
}

impl SocketShared {
    pub fn new(
        socket_type: SocketType,
        pattern: Box<dyn Pattern>,
        options: SocketOptions,
        io: Arc<IoShared>,
        ctx: Weak<crate::context::ContextInner>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            id: NEXT_SOCKET_ID.fetch_add(1, Ordering::Relaxed),
            socket_type,
            io,
            state: Mutex::new(SocketState {
                socket_type: pattern.socket_type(),
                pattern,
                peers: Slab::new(),
                options,
                blocked: 0,
                terminated: false,
                direct_write: false,
                recent_now: crate::clock::now(),
                watchers: Watchers::default(),
                inproc: Arc::new([]),
                unstaged: SmallVec::new(),
                sends_since_staging: 0,
                lane: None,
            }),
            cond: Condvar::new(),
            waiting: Arc::new(Waiting::default()),
            monitor: MonitorSink::default(),
            direct: crate::io::DirectWait::default(),
            pacing: crate::pacing::Pacing::default(),
            ctx,
            me: me.clone(),
        })
    }

    /// Wakes the threads blocked on the socket, wherever they sleep.
    pub fn wake_blocked(&self) {
        self.cond.notify_all();
        self.direct.wake();
    }

    /// Locks the state. A panic while locked poisons nothing we rely on: the state is
    /// consistent between machine calls, so a poisoned lock is taken over.
    pub fn lock(&self) -> MutexGuard<'_, SocketState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Locks the state without queuing on a busy lock: while another thread holds it,
    /// backs off in short pauses that leave the lock's cache line alone, then in yields of
    /// the core (on one core the holder must run to let go), and queues only after that.
    /// For a thread visiting a socket another thread drives (an inproc pull), whose owner is
    /// likely mid-call: spinning on the lock would take its cache line from the owner at
    /// every turn, and queuing would cost the owner a wake-up at its next unlock.
    pub fn lock_politely(&self) -> MutexGuard<'_, SocketState> {
        for round in 0..POLITE_ROUNDS {
            match self.state.try_lock() {
                Ok(state) => return state,
                Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) if round < POLITE_ROUNDS / 2 => {
                    for _ in 0..16 {
                        std::hint::spin_loop();
                    }
                }
                Err(std::sync::TryLockError::WouldBlock) => std::thread::yield_now(),
            }
        }
        self.lock()
    }

    /// Turns the machine's pending actions into effects and wakes whoever waits on the
    /// socket. Call with the lock held, after every call into the machine.
    pub fn after_change(&self, state: &mut SocketState, effects: &mut Effects) {
        while let Some(action) = state.pattern.poll_action() {
            match action {
                Action::Transmit { peer } => self.schedule_transmit(state, peer, effects),
                Action::ResumeReceive { peer } => {
                    if let Some(slot) = state.peers.get(peer.0) {
                        match &slot.link {
                            // A user's thread that took the connection over reads it
                            // when it next waits (see `io::direct`).
                            PeerLink::Conn(Some(conn)) if !self.direct.takes(conn) => {
                                // The receiver drained a queue that had filled: it is the
                                // slower side, and on its only connection it reads it
                                // itself from now on rather than share every message with
                                // an I/O thread that has nothing else to do. Not for large
                                // messages, whose reading (the kernel's copy) is better
                                // done by the I/O thread alongside the user's work.
                                let small = state
                                    .pattern
                                    .peer_stats(peer)
                                    .is_some_and(|s| small_messages(s.bytes_in, s.msgs_in));
                                let here = small && state.peers.len() == 1 && self.io.is_idle();
                                match self.me.upgrade() {
                                    Some(me) if here => {
                                        effects.push(Effect::ResumeReadHere(conn.clone(), me));
                                    }
                                    _ => effects.push(Effect::Io(
                                        self.io.clone(),
                                        IoCommand::ResumeRead(conn.at),
                                    )),
                                }
                            }
                            PeerLink::Inproc(link, side) => {
                                // Room again: a sender blocked on a full queue needs it now;
                                // otherwise the next receive pulls.
                                if link.claim_wake(side.other()) {
                                    effects
                                        .push(Effect::InprocTransfer(link.clone(), side.other()));
                                }
                            }
                            PeerLink::Conn(_) | PeerLink::InprocPending => {}
                        }
                    }
                }
                Action::Detach { peer, .. } => self.detach_peer(state, peer, effects),
                _ => {}
            }
        }
        // A lane that seems full may have room once staged: the receiver's take fires the
        // watchers again (see `InprocLink::after_take`), and they look with staging.
        let lane_full = state.lane.as_ref().is_some_and(|lane| lane.budget == 0);
        let pattern = &mut state.pattern;
        state
            .watchers
            .notify(|| (pattern.is_readable(), !lane_full && pattern.is_writable()));
        if state.blocked > 0
            && let Some(me) = self.me.upgrade()
        {
            // Woken once the lock is released, so that the waiter does not wake only to
            // block on the lock this thread still holds.
            effects.push(Effect::Notify(me));
        }
    }

    fn schedule_transmit(&self, state: &mut SocketState, peer: PeerId, effects: &mut Effects) {
        let Some(slot) = state.peers.get_mut(peer.0) else {
            return;
        };
        match &slot.link {
            PeerLink::Conn(conn) => {
                if !slot.tx_scheduled {
                    slot.tx_scheduled = true;
                    if let Some(conn) = conn {
                        if std::mem::take(&mut state.direct_write) {
                            // The user just received (request-reply): write on this
                            // thread, sparing the wake-up of the I/O thread.
                            effects.push(Effect::DirectFlush(conn.clone(), self.io.clone()));
                        } else {
                            effects.push(Effect::Io(self.io.clone(), IoCommand::Flush(conn.at)));
                        }
                    }
                }
            }
            PeerLink::Inproc(link, side) => {
                if !slot.tx_scheduled {
                    slot.tx_scheduled = true;
                    state.unstaged.push((peer, link.clone(), *side));
                }
                inproc_queued(link, *side, effects);
            }
            PeerLink::InprocPending => slot.tx_scheduled = true,
        }
    }

    /// Removes a peer the machine asked to drop, and closes whatever carries it.
    pub fn detach_peer(&self, state: &mut SocketState, peer: PeerId, effects: &mut Effects) {
        if !state.peers.contains(peer.0) {
            return;
        }
        let slot = state.peers.remove(peer.0);
        if state.lane.as_ref().is_some_and(|lane| lane.peer == peer) {
            state.close_lane();
        }
        state
            .pattern
            .handle_peer_detached(crate::clock::now(), peer);
        match slot.link {
            PeerLink::Conn(Some(conn)) => {
                effects.push(Effect::Io(self.io.clone(), IoCommand::Close(conn.at)));
            }
            PeerLink::Inproc(link, side) => {
                state.refresh_inproc_links();
                state.unstaged.retain(|(listed, _, _)| *listed != peer);
                effects.push(Effect::InprocDetach(link, side));
            }
            PeerLink::Conn(None) | PeerLink::InprocPending => {}
        }
    }
}

/// The socket on `side` of `link` queued traffic for it, where there was none: tells the
/// receiver. Hands over now if the receiver may never ask (a PUB reading subscriptions) or
/// watches a readiness descriptor; wakes it, once per wait, if it waits: it then pulls
/// everything queued by then. Otherwise its next receive pulls.
fn inproc_queued(link: &Arc<InprocLink>, side: Side, effects: &mut Effects) {
    link.note_queued(side);
    if link.eager(side) || link.watched(side.other()) {
        effects.push(Effect::InprocTransfer(link.clone(), side));
    } else if link.claim_wake(side.other()) {
        effects.push(Effect::InprocWake(link.clone(), side.other()));
    }
}

/// Runs effects until none are left. Effects may produce more (a transfer wakes a socket
/// whose machine then wants to transmit), so this is a worklist, run with no lock held.
#[inline]
pub(crate) fn run_effects(effects: &mut Effects) {
    // Most calls have nothing to run: look at the length alone, inline, rather than call
    // (moving the list into a call read it back in wider loads than the stores that had just
    // written it, a stall at every send in `perf annotate`).
    if !effects.is_empty() {
        run_each(effects);
    }
}

fn run_each(effects: &mut Effects) {
    while let Some(effect) = effects.pop() {
        match effect {
            Effect::Io(io, command) => io.submit(command),
            Effect::DirectFlush(conn, io) => crate::io::direct_flush(&conn, &io, effects),
            Effect::ResumeReadHere(conn, socket) => crate::io::resume_read_here(&conn, &socket),
            Effect::InprocTransfer(link, from) => link.transfer(from, effects),
            Effect::InprocDetach(link, side) => link.detach(side, effects),
            Effect::Notify(socket) => socket.wake_blocked(),
            Effect::InprocWake(link, side) => link.hand_over(side.other(), effects),
            Effect::InprocTaken(link, from) => link.after_take(from, 1),
        }
    }
}
