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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use patterns::{PeerId, PeerInfo};
use zmtp_proto::{SocketType, Traffic};

use crate::core::{Effect, Effects, PeerLink, SocketShared, Waiting};

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
    /// The sending side closed: once `in_flight` is delivered, the receiver detaches.
    sender_gone: bool,
}

/// A connection between two sockets of one context.
#[derive(Debug)]
pub(crate) struct InprocLink {
    ends: [End; 2],
    /// Indexed by the sending side.
    directions: [Mutex<Direction>; 2],
    /// Indexed by the sending side: the sender queued traffic while the receiver was busy
    /// pulling, so the receiver must look once more before it sleeps.
    pending: [AtomicBool; 2],
    /// Indexed by the sending side: the sender queued traffic since the receiver's last
    /// pull. A hint for a receiver about to sleep, read without any lock.
    queued: [AtomicBool; 2],
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
            pending: [AtomicBool::new(false), AtomicBool::new(false)],
            queued: [AtomicBool::new(false), AtomicBool::new(false)],
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
        let flag = &self.queued[from.index()];
        // Read first: a receiver waiting for the flag reads it too, and a store to a line
        // both hold would take it from the receiver at every message.
        // Sequentially consistent: a receiver about to sleep registers as waiting, then skips
        // its pull if this is clear (`pull`); this socket sets it, then checks for waiters
        // (`claim_wake`). One of the two must see the other's write.
        if !flag.load(Ordering::Relaxed) {
            flag.store(true, Ordering::SeqCst);
        }
    }

    /// Pulls what the socket on side `from` queued, unless nothing was queued since the last
    /// pull, as the hint says: a look that finds nothing then costs one load, not the
    /// direction's lock and both sockets'. A transfer that may have left traffic behind (the
    /// receiver was full) sets the hint again.
    pub fn pull(self: &Arc<Self>, from: Side, effects: &mut Effects) {
        if self.queued_since_pull(from) {
            self.transfer(from, effects);
        }
    }

    /// Whether the socket on side `from` queued traffic since the last pull from it
    /// (sequentially consistent, see `note_queued`).
    pub fn queued_since_pull(&self, from: Side) -> bool {
        self.queued[from.index()].load(Ordering::SeqCst)
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

    /// Moves traffic queued on side `from` into the other side's machine, as much as it takes.
    pub fn transfer(self: &Arc<Self>, from: Side, effects: &mut Effects) {
        let dir = self.direction(from);
        self.transfer_locked(dir, from, effects);
    }

    /// Hands traffic from `from` over to a waiting receiver: moves it now, or, if the
    /// receiver is moving it already (the direction is locked), just wakes the receiver,
    /// which then pulls; the sender never waits for the receiver's transfer.
    pub fn hand_over(self: &Arc<Self>, from: Side, effects: &mut Effects) {
        match self.directions[from.index()].try_lock() {
            Ok(dir) => self.transfer_locked(dir, from, effects),
            Err(std::sync::TryLockError::Poisoned(p)) => {
                self.transfer_locked(p.into_inner(), from, effects);
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                // Flag before waking: a receiver about to sleep checks the flag under its
                // lock, which `wake` takes too, so it either sees the flag or is woken.
                self.pending[from.index()].store(true, Ordering::SeqCst);
                self.wake(from.other());
            }
        }
    }

    /// Whether traffic from `from` was queued while the receiver was pulling (and clears
    /// it): the receiver must pull again before it sleeps.
    pub fn take_pending(&self, from: Side) -> bool {
        self.pending[from.index()].swap(false, Ordering::SeqCst)
    }

    fn transfer_locked(
        self: &Arc<Self>,
        mut dir: std::sync::MutexGuard<'_, Direction>,
        from: Side,
        effects: &mut Effects,
    ) {
        let src = self.end(from);
        let dst = self.end(from.other());
        // Cleared before taking: whatever is queued after the take sets it again.
        if self.queued[from.index()].load(Ordering::Relaxed) {
            self.queued[from.index()].store(false, Ordering::SeqCst);
        }
        let Some(dst_socket) = dst.socket.upgrade() else {
            dir.in_flight.clear();
            return;
        };
        loop {
            // Take from the sender no more than the receiver has room for, so that the link
            // holds what the two high-water marks allow and no more (libzmq's inproc pipe).
            let room = {
                let state = dst_socket.lock();
                if !state.peers.contains(dst.peer.0) {
                    drop(state);
                    dir.in_flight.clear();
                    break;
                }
                state.pattern.receive_room(dst.peer)
            };
            let want = room.saturating_sub(dir.in_flight.len());
            let mut pulled = 0;
            if want > 0
                && let Some(src_socket) = src.socket.upgrade()
            {
                let mut state = src_socket.lock_politely();
                let linked = matches!(
                    state.peers.get(src.peer.0),
                    Some(slot) if matches!(slot.link, PeerLink::Inproc(..))
                );
                if linked {
                    pulled = state
                        .pattern
                        .poll_transmit_up_to(src.peer, want, &mut dir.in_flight);
                    if pulled > 0 {
                        src_socket.after_change(&mut state, effects);
                    }
                }
            }
            let mut state = dst_socket.lock();
            if !dir.in_flight.is_empty() {
                let now = crate::clock::now();
                state.recent_now = now;
                state
                    .pattern
                    .handle_traffic_batch(now, dst.peer, &mut dir.in_flight, usize::MAX);
                dst_socket.after_change(&mut state, effects);
            }
            if !dir.in_flight.is_empty() {
                // The receiver is full: its ResumeReceive brings us back, or its next pull.
                self.note_queued(from);
                break;
            }
            if pulled < want && !dir.sender_gone && !self.queued_since_pull(from) {
                // The sender's queue was drained and nothing was queued since (its first
                // message would have set the hint): another round would only lock both
                // sockets to find that. One queued from here on is the same race as one
                // queued after a round that found nothing, which the receiver's waiting
                // covers (see the module's doc).
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
                while let Some(traffic) = state.pattern.poll_transmit(end.peer) {
                    dir.in_flight.push_back(traffic);
                }
            }
            dir.sender_gone = true;
        }
        // Whatever the other side had queued for us is dropped with our machine.
        self.direction(side.other()).in_flight.clear();
        self.transfer(side, effects);
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
