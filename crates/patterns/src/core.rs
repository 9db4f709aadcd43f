//! The plumbing every socket type shares: the peer table, the action queue and the inbound
//! fair-queue.
//!
//! Peers live in a slab under an internal key. The driver's [`PeerId`] maps to that key only
//! while the peer is attached: a detached peer whose inbound queue still holds messages stays
//! in the slab (and in the fair-queue) until those are received, as a libzmq pipe stays
//! readable until its delimiter, but the driver may already reuse its `PeerId`.

use std::collections::VecDeque;

use slab::Slab;
use zmtp_proto::{Msg, SocketType, Traffic};

use crate::api::{Action, PeerId};
use crate::fq::FairQueue;
use crate::peer_index::PeerIndex;
use crate::pipe::{Outbound, Pipe};

/// Internal name of a pipe: its slab index.
pub(crate) type Key = usize;

/// libzmq's default SNDHWM and RCVHWM.
pub(crate) const DEFAULT_HWM: usize = 1000;

/// Peer table, actions and fair-queue, shared by every socket type.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) socket_type: SocketType,
    pub(crate) pipes: Slab<Pipe>,
    ids: PeerIndex,
    actions: VecDeque<Action>,
    pub(crate) fq: FairQueue,
    pub(crate) sndhwm: usize,
    pub(crate) rcvhwm: usize,
    conflate: bool,
    /// INVERT_MATCHING (used by PUB, XPUB and SUB).
    pub(crate) invert_matching: bool,
    /// Messages queued inbound over all pipes.
    queued_in: usize,
    /// Detached pipes whose inbound queue is now empty: to be forgotten.
    pending_free: Vec<Key>,
    /// Counted pipes (see [`Core::set_counted`]) whose outbound queue is below the HWM.
    counted_with_room: usize,
}

impl Core {
    pub(crate) fn new(socket_type: SocketType) -> Self {
        Self {
            socket_type,
            pipes: Slab::new(),
            ids: PeerIndex::default(),
            actions: VecDeque::new(),
            fq: FairQueue::default(),
            sndhwm: DEFAULT_HWM,
            rcvhwm: DEFAULT_HWM,
            conflate: false,
            invert_matching: false,
            queued_in: 0,
            pending_free: Vec::new(),
            counted_with_room: 0,
        }
    }

    /// libzmq's `get_effective_conflate_option`: CONFLATE is accepted by every socket type
    /// but takes effect only on DEALER, PULL, PUSH, PUB and SUB.
    pub(crate) fn effective_conflate(&self) -> bool {
        self.conflate
            && matches!(
                self.socket_type,
                SocketType::Dealer
                    | SocketType::Pull
                    | SocketType::Push
                    | SocketType::Pub
                    | SocketType::Sub
            )
    }

    /// Sets CONFLATE for pipes attached from now on (libzmq reads it at pipe creation).
    pub(crate) fn set_conflate(&mut self, on: bool) {
        self.conflate = on;
    }

    /// Applies new high-water marks to every pipe, as libzmq's `update_pipe_options` does.
    pub(crate) fn set_hwms(&mut self, sndhwm: usize, rcvhwm: usize) {
        self.sndhwm = sndhwm;
        self.rcvhwm = rcvhwm;
        self.counted_with_room = 0;
        for (_, pipe) in &mut self.pipes {
            pipe.set_hwms(sndhwm, rcvhwm);
            if pipe.counted && pipe.out_has_room() {
                self.counted_with_room += 1;
            }
        }
    }

    pub(crate) fn key(&self, peer: PeerId) -> Option<Key> {
        self.ids.get(peer)
    }

    pub(crate) fn pipe(&self, key: Key) -> Option<&Pipe> {
        self.pipes.get(key)
    }

    /// Creates the peer's pipe.
    pub(crate) fn attach(&mut self, peer: PeerId) -> Key {
        let pipe = Pipe::new(peer, self.sndhwm, self.rcvhwm, self.effective_conflate());
        let key = self.pipes.insert(pipe);
        self.ids.insert(peer, key);
        key
    }

    /// Lets the pipe's outbound queue pack small messages (see
    /// [`AttachInfo::packs_frames`](crate::AttachInfo::packs_frames)).
    pub(crate) fn pack_frames(&mut self, key: Key) {
        if let Some(pipe) = self.pipes.get_mut(key) {
            pipe.pack_frames();
        }
    }

    /// A handshake completed on the pipe: from now on its traffic can flow.
    pub(crate) fn mark_connected(&mut self, key: Key) {
        if let Some(pipe) = self.pipes.get_mut(key) {
            pipe.connected = true;
            if pipe.live && !pipe.out_is_empty() {
                let peer = pipe.id;
                self.actions.push_back(Action::Transmit { peer });
            }
        }
    }

    pub(crate) fn mark_disconnected(&mut self, key: Key) {
        if let Some(pipe) = self.pipes.get_mut(key) {
            pipe.connected = false;
        }
    }

    /// The driver dropped the peer: its outbound side goes at once, its inbound queue stays
    /// receivable until drained. The caller has already taken it out of its lb/dist/maps.
    pub(crate) fn detach(&mut self, key: Key) {
        self.set_counted(key, false);
        let Some(pipe) = self.pipes.get_mut(key) else {
            return;
        };
        let peer = pipe.id;
        pipe.live = false;
        pipe.connected = false;
        pipe.clear_out();
        let empty = pipe.in_len() == 0;
        self.ids.remove_if(peer, key);
        self.actions.retain(|a| action_peer(a) != Some(peer));
        if empty {
            self.pending_free.push(key);
        }
    }

    /// Detached pipes that can now be forgotten; the caller runs the socket's termination
    /// hook for each and then [`Core::free`].
    pub(crate) fn take_pending_free(&mut self) -> Vec<Key> {
        std::mem::take(&mut self.pending_free)
    }

    pub(crate) fn has_pending_free(&self) -> bool {
        !self.pending_free.is_empty()
    }

    pub(crate) fn free(&mut self, key: Key) {
        if self.pipes.contains(key) {
            self.fq.remove(&mut self.pipes, key);
            let pipe = self.pipes.remove(key);
            self.queued_in -= pipe.in_len();
        }
    }

    pub(crate) fn push_action(&mut self, action: Action) {
        self.actions.push_back(action);
    }

    pub(crate) fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    // ---- outbound ----

    /// libzmq's `pipe_t::check_write` on the pipe.
    pub(crate) fn check_write(&mut self, key: Key) -> bool {
        self.pipes.get_mut(key).is_some_and(Pipe::check_write)
    }

    /// Whether the pipe's outbound queue is below its HWM (libzmq's `check_hwm`).
    pub(crate) fn check_hwm(&self, key: Key) -> bool {
        self.pipes.get(key).is_some_and(Pipe::out_has_room)
    }

    /// Queues traffic for the peer if its outbound queue takes it (`pipe_t::write`);
    /// otherwise hands it back.
    pub(crate) fn write<T: Outbound>(&mut self, key: Key, item: T) -> Result<(), T> {
        let Some(pipe) = self.pipes.get_mut(key) else {
            return Err(item);
        };
        if !pipe.check_write() {
            return Err(item);
        }
        let had_room = pipe.out_has_room();
        let was_empty = pipe.push_out(item);
        if pipe.counted && had_room && !pipe.out_has_room() {
            self.counted_with_room -= 1;
        }
        if was_empty && pipe.connected {
            let peer = pipe.id;
            self.actions.push_back(Action::Transmit { peer });
        }
        Ok(())
    }

    /// Takes the next outbound item of a pipe; the flag is libzmq's `write_activated`.
    pub(crate) fn pop_out(&mut self, key: Key) -> Option<(Traffic, bool)> {
        let pipe = self.pipes.get_mut(key)?;
        let had_room = pipe.out_has_room();
        let out = pipe.pop_out()?;
        if pipe.counted && !had_room && pipe.out_has_room() {
            self.counted_with_room += 1;
        }
        Some(out)
    }

    /// Takes everything queued for the pipe (see [`Pipe::take_out`]).
    pub(crate) fn take_out(
        &mut self,
        key: Key,
        max: usize,
        into: &mut VecDeque<Traffic>,
    ) -> (usize, bool) {
        let Some(pipe) = self.pipes.get_mut(key) else {
            return (0, false);
        };
        let had_room = pipe.out_has_room();
        let taken = pipe.take_out(max, into);
        if pipe.counted && !had_room && pipe.out_has_room() {
            self.counted_with_room += 1;
        }
        taken
    }

    /// Drops the pipe's outbound queue (libzmq's `hiccup`); true if its writer had been
    /// stopped by a full queue and is now active again.
    pub(crate) fn clear_out(&mut self, key: Key) -> bool {
        let Some(pipe) = self.pipes.get_mut(key) else {
            return false;
        };
        let had_room = pipe.out_has_room();
        let reactivated = pipe.clear_out();
        if pipe.counted && !had_room && pipe.out_has_room() {
            self.counted_with_room += 1;
        }
        reactivated
    }

    /// Includes (or not) the pipe in the count behind [`Core::any_counted_with_room`].
    pub(crate) fn set_counted(&mut self, key: Key, counted: bool) {
        let Some(pipe) = self.pipes.get_mut(key) else {
            return;
        };
        if pipe.counted == counted {
            return;
        }
        pipe.counted = counted;
        if pipe.out_has_room() {
            if counted {
                self.counted_with_room += 1;
            } else {
                self.counted_with_room -= 1;
            }
        }
    }

    /// Whether some counted pipe has outbound room (ROUTER_MANDATORY's POLLOUT), in O(1).
    pub(crate) fn any_counted_with_room(&self) -> bool {
        self.counted_with_room > 0
    }

    // ---- inbound ----

    /// Puts the pipe in the fair-queue (libzmq's `fq_t::attach`).
    pub(crate) fn fq_attach(&mut self, key: Key) {
        if self.pipes.contains(key) {
            self.fq.attach(&mut self.pipes, key);
        }
    }

    /// Queues a message received from the peer and makes the pipe readable in the fair-queue.
    pub(crate) fn push_in(&mut self, key: Key, msg: Msg) {
        let Some(pipe) = self.pipes.get_mut(key) else {
            return;
        };
        let dropped = pipe.push_in(msg);
        self.queued_in = self.queued_in + 1 - dropped;
        if !pipe.in_active && pipe.fq_pos != crate::pipe::NO_POS {
            self.fq.activated(&mut self.pipes, key);
        }
    }

    /// Whether some pipe has a message queued inbound (in O(1)).
    pub(crate) fn has_in(&self) -> bool {
        self.queued_in > 0
    }

    /// Receives the next message by fair-queueing over the pipes (libzmq's `fq_t::recvpipe`).
    #[inline]
    pub(crate) fn recv(&mut self) -> Option<(Key, Msg)> {
        let (key, msg, resumed) = self.fq.recvpipe(&mut self.pipes)?;
        self.after_read(key, 1, resumed);
        Some((key, msg))
    }

    /// Receives up to `max` messages by fair-queueing, appending them to `into`; returns how
    /// many. With one pipe active (one peer, or one peer sending) they are taken from it in
    /// one pass, in the order single receives would give. Stops early when a detached pipe
    /// has been drained, for the caller to forget it before receiving more, as it would
    /// between single receives (the fair-queue's order depends on it).
    pub(crate) fn recv_batch(&mut self, max: usize, into: &mut VecDeque<Msg>) -> usize {
        let mut taken = 0;
        if let Some(key) = self.fq.sole_active() {
            let (n, resumed) = self.pipes[key].pop_in_many(max, into);
            if n > 0 {
                self.after_read(key, n, resumed);
            }
            taken = n;
        }
        // Short of `max`, the pipe is empty: a receive finds it so and deactivates it, as
        // the next single receive would.
        while taken < max && !self.has_pending_free() {
            let Some((_, msg)) = self.recv() else {
                break;
            };
            into.push_back(msg);
            taken += 1;
        }
        taken
    }

    /// Queues a batch of traffic from the peer for a socket type that queues every message
    /// as it comes (see [`Pipe::push_in_batch`]); returns how many items were taken.
    pub(crate) fn push_in_batch(
        &mut self,
        key: Key,
        batch: &mut VecDeque<Traffic>,
        max: usize,
        single_frame_only: bool,
    ) -> usize {
        let Some(pipe) = self.pipes.get_mut(key) else {
            return 0;
        };
        let (taken, queued, replaced) = pipe.push_in_batch(batch, max, single_frame_only);
        self.queued_in = self.queued_in + queued - replaced;
        if queued > 0 && !pipe.in_active && pipe.fq_pos != crate::pipe::NO_POS {
            self.fq.activated(&mut self.pipes, key);
        }
        taken
    }

    fn after_read(&mut self, key: Key, n: usize, resumed: bool) {
        self.queued_in -= n;
        let Some(pipe) = self.pipes.get(key) else {
            return;
        };
        if resumed {
            let peer = pipe.id;
            self.actions.push_back(Action::ResumeReceive { peer });
        }
        if !pipe.live && pipe.in_len() == 0 {
            self.pending_free.push(key);
        }
    }

    /// Discards every queued inbound message (REQ before a new request). With none queued
    /// it does nothing, leaving empty pipes for the next receive to deactivate (REQ queues
    /// from one pipe at a time, so the fair-queue's order does not matter to it).
    pub(crate) fn discard_in(&mut self) {
        if self.queued_in == 0 {
            return;
        }
        while self.recv().is_some() {}
    }

    /// Keeps only the queued inbound messages `keep` accepts (SUB after an unsubscribe).
    pub(crate) fn retain_in(&mut self, mut keep: impl FnMut(&Msg) -> bool) {
        if self.queued_in == 0 {
            return;
        }
        let keys: Vec<Key> = self.pipes.iter().map(|(k, _)| k).collect();
        for key in keys {
            let Some(pipe) = self.pipes.get_mut(key) else {
                continue;
            };
            if pipe.in_len() == 0 {
                continue;
            }
            let (dropped, resumed) = pipe.retain_in(&mut keep);
            if dropped > 0 {
                self.after_read(key, dropped, resumed);
            }
        }
    }
}

/// The peer an action is about.
fn action_peer(action: &Action) -> Option<PeerId> {
    match action {
        Action::Transmit { peer }
        | Action::ResumeReceive { peer }
        | Action::Detach { peer, .. } => Some(*peer),
    }
}
