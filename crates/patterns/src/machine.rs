//! The generic [`Pattern`] implementation: the shared [`Core`] plus one socket type's rules.
//!
//! Each socket type implements [`Behaviour`], the hooks libzmq's `socket_base_t` calls on its
//! subclasses (`xattach_pipe`, `xread_activated`, `xwrite_activated`, `xpipe_terminated`,
//! `xhiccuped`, `xsend`, `xrecv`, `xsetsockopt`); [`Machine`] does the bookkeeping common to
//! all of them: the peer table, statistics, flow control and the action queue.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use zmtp_proto::{Msg, SocketType, Traffic};

use crate::api::{
    AttachError, AttachInfo, OptionError, Pattern, PatternOption, PeerId, PeerInfo, PeerStats,
    RecvError, SendError, SendErrorKind, UserFrame,
};
use crate::core::{Core, Key};

/// One socket type's rules, called by [`Machine`].
pub(crate) trait Behaviour: Send + std::fmt::Debug {
    /// A socket-type specific option; the generic ones (HWMs, CONFLATE, INVERT_MATCHING) are
    /// handled before this is called.
    fn set_option(&mut self, core: &mut Core, option: PatternOption) -> Result<(), OptionError> {
        Err(not_applicable(core.socket_type, &option))
    }

    /// The pipe exists (libzmq's `xattach_pipe`).
    fn attached(&mut self, core: &mut Core, key: Key, info: &AttachInfo);

    /// A handshake completed on the pipe.
    fn connected(&mut self, core: &mut Core, key: Key, info: &PeerInfo) -> Result<(), AttachError> {
        let _ = (core, key, info);
        Ok(())
    }

    /// The connection dropped, the pipe stays.
    fn disconnected(&mut self, core: &mut Core, key: Key) {
        let _ = (core, key);
    }

    /// The pipe is gone for sending: take it out of every routing structure.
    fn detached(&mut self, core: &mut Core, key: Key);

    /// The pipe is forgotten (its inbound queue was drained): libzmq's `xpipe_terminated`
    /// for the state that must last that long.
    fn terminated(&mut self, core: &mut Core, key: Key) {
        let _ = (core, key);
    }

    /// Traffic from the peer; the machine has counted it already.
    fn traffic(&mut self, core: &mut Core, key: Key, traffic: Traffic);

    /// How `traffic` takes messages in, so that the machine may queue a batch in one pass.
    fn inbound(&self) -> Inbound {
        Inbound::Custom
    }

    /// Whether `recv` is [`crate::socket::pull::fq_recv`] and nothing else, so that the
    /// machine may receive a batch straight from the fair-queue.
    fn recv_is_fair_queued(&self) -> bool {
        false
    }

    /// The pipe's outbound queue has room again (`xwrite_activated`).
    fn write_activated(&mut self, core: &mut Core, key: Key) {
        let _ = (core, key);
    }

    /// The user's send; `msg` has at least one frame.
    fn send(&mut self, core: &mut Core, msg: Msg) -> Result<(), SendError> {
        let _ = core;
        Err(SendError {
            kind: SendErrorKind::NotSupported,
            msg,
        })
    }

    /// The user's send of a one-frame message, held as its frame: the same as [`send`] with
    /// `frame.into_msg()`, which it calls unless the type queues the frame as it is (the
    /// load-balancing types). On error the message is handed back.
    ///
    /// [`send`]: Behaviour::send
    fn send_frame(&mut self, core: &mut Core, frame: UserFrame<'_>) -> Result<(), SendError> {
        self.send(core, frame.into_msg())
    }

    /// The user's receive.
    fn recv(&mut self, core: &mut Core) -> Result<Msg, RecvError> {
        let _ = core;
        Err(RecvError::NotSupported)
    }

    /// ZMQ_POLLIN.
    fn is_readable(&self, core: &Core) -> bool;

    /// See [`Pattern::recv_is_stateless`].
    fn recv_is_stateless(&self) -> bool {
        true
    }

    /// ZMQ_POLLOUT, computed when asked after a mutating call (it may deactivate full pipes,
    /// as libzmq's `xhas_out` does) and cached for [`Pattern::is_writable`].
    fn refresh_writable(&mut self, core: &mut Core) -> bool;

    /// The routing id that names the pipe in messages.
    fn routing_id_of(&self, core: &Core, key: Key) -> Option<Bytes> {
        let _ = (core, key);
        None
    }
}

/// What a socket type's [`Behaviour::traffic`] does with what a peer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inbound {
    /// Something of its own: traffic goes to `traffic` one item at a time.
    Custom,
    /// Queues every message as it comes (with `single_frame_only`, every one-frame message)
    /// and drops the rest.
    Queue { single_frame_only: bool },
}

/// The refusal for an option that does not fit the socket type (EINVAL).
pub(crate) fn not_applicable(socket_type: SocketType, option: &PatternOption) -> OptionError {
    OptionError::NotApplicable {
        option: option_name(option),
        socket_type,
    }
}

/// libzmq's name of an option.
pub(crate) fn option_name(option: &PatternOption) -> &'static str {
    match option {
        PatternOption::SndHwm(_) => "ZMQ_SNDHWM",
        PatternOption::RcvHwm(_) => "ZMQ_RCVHWM",
        PatternOption::Conflate(_) => "ZMQ_CONFLATE",
        PatternOption::ReqRelaxed(_) => "ZMQ_REQ_RELAXED",
        PatternOption::ReqCorrelate(_) => "ZMQ_REQ_CORRELATE",
        PatternOption::RouterMandatory(_) => "ZMQ_ROUTER_MANDATORY",
        PatternOption::RouterHandover(_) => "ZMQ_ROUTER_HANDOVER",
        PatternOption::ProbeRouter(_) => "ZMQ_PROBE_ROUTER",
        PatternOption::XPubVerbose(_) => "ZMQ_XPUB_VERBOSE",
        PatternOption::XPubVerboser(_) => "ZMQ_XPUB_VERBOSER",
        PatternOption::XPubNoDrop(_) => "ZMQ_XPUB_NODROP",
        PatternOption::XPubManual(_) => "ZMQ_XPUB_MANUAL",
        PatternOption::XPubManualLastValue(_) => "ZMQ_XPUB_MANUAL_LAST_VALUE",
        PatternOption::XPubWelcomeMsg(_) => "ZMQ_XPUB_WELCOME_MSG",
        PatternOption::InvertMatching(_) => "ZMQ_INVERT_MATCHING",
        PatternOption::Subscribe(_) => "ZMQ_SUBSCRIBE",
        PatternOption::Unsubscribe(_) => "ZMQ_UNSUBSCRIBE",
        PatternOption::Join(_) => "zmq_join",
        PatternOption::Leave(_) => "zmq_leave",
        PatternOption::StreamNotify(_) => "ZMQ_STREAM_NOTIFY",
    }
}

/// A socket: the shared core plus one socket type's behaviour.
#[derive(Debug)]
pub(crate) struct Machine<B> {
    core: Core,
    behaviour: B,
    /// POLLOUT as last computed; stale after any mutating call until asked again (most
    /// sends and receives never ask: computing it after each cost a tenth of a send).
    writable: Option<bool>,
}

impl<B: Behaviour> Machine<B> {
    pub(crate) fn new(socket_type: SocketType, behaviour: B) -> Self {
        let mut machine = Self {
            core: Core::new(socket_type),
            behaviour,
            writable: None,
        };
        machine.settle();
        machine
    }

    /// Runs after every mutating call: forgets drained detached pipes; POLLOUT is recomputed
    /// when next asked.
    fn settle(&mut self) {
        while self.core.has_pending_free() {
            for key in self.core.take_pending_free() {
                self.behaviour.terminated(&mut self.core, key);
                self.core.free(key);
            }
        }
        self.writable = None;
    }

    fn attach(&mut self, peer: PeerId, info: &AttachInfo) -> Key {
        if self.core.key(peer).is_some() {
            // The driver reattached a known id: treat it as a detach first.
            self.detach(peer);
        }
        let key = self.core.attach(peer);
        if info.packs_frames {
            self.core.pack_frames(key);
        }
        self.behaviour.attached(&mut self.core, key, info);
        key
    }

    fn detach(&mut self, peer: PeerId) {
        if let Some(key) = self.core.key(peer) {
            self.behaviour.detached(&mut self.core, key);
            self.core.detach(key);
        }
    }
}

impl<B: Behaviour> Pattern for Machine<B> {
    fn socket_type(&self) -> SocketType {
        self.core.socket_type
    }

    fn set_option(&mut self, _now: Instant, option: PatternOption) -> Result<(), OptionError> {
        let result = match option {
            PatternOption::SndHwm(hwm) => {
                self.core.set_hwms(hwm, self.core.rcvhwm);
                Ok(())
            }
            PatternOption::RcvHwm(hwm) => {
                self.core.set_hwms(self.core.sndhwm, hwm);
                Ok(())
            }
            PatternOption::Conflate(on) => {
                self.core.set_conflate(on);
                Ok(())
            }
            PatternOption::InvertMatching(on) => {
                // A generic option in libzmq: every socket type accepts it; PUB, XPUB and SUB
                // use it.
                self.core.invert_matching = on;
                Ok(())
            }
            other => self.behaviour.set_option(&mut self.core, other),
        };
        self.settle();
        result
    }

    fn handle_peer_attached(&mut self, _now: Instant, peer: PeerId, info: AttachInfo) {
        self.attach(peer, &info);
        self.settle();
    }

    fn handle_peer_connected(
        &mut self,
        _now: Instant,
        peer: PeerId,
        info: PeerInfo,
    ) -> Result<(), AttachError> {
        let key = match self.core.key(peer) {
            Some(key) => key,
            None => self.attach(peer, &AttachInfo::default()),
        };
        let result = self.behaviour.connected(&mut self.core, key, &info);
        if result.is_ok() {
            self.core.mark_connected(key);
        }
        self.settle();
        result
    }

    fn handle_peer_disconnected(&mut self, _now: Instant, peer: PeerId) {
        if let Some(key) = self.core.key(peer) {
            self.core.mark_disconnected(key);
            self.behaviour.disconnected(&mut self.core, key);
        }
        self.settle();
    }

    fn handle_peer_detached(&mut self, _now: Instant, peer: PeerId) {
        self.detach(peer);
        self.settle();
    }

    fn handle_traffic(&mut self, _now: Instant, peer: PeerId, traffic: Traffic) {
        let Some(key) = self.core.key(peer) else {
            return;
        };
        if let Some(pipe) = self.core.pipes.get_mut(key) {
            pipe.count_in(&traffic);
        }
        self.behaviour.traffic(&mut self.core, key, traffic);
        self.settle();
    }

    fn handle_traffic_batch(
        &mut self,
        _now: Instant,
        peer: PeerId,
        batch: &mut VecDeque<Traffic>,
        max: usize,
    ) -> usize {
        let Some(key) = self.core.key(peer) else {
            return 0;
        };
        if let Inbound::Queue { single_frame_only } = self.behaviour.inbound() {
            let taken = self.core.push_in_batch(key, batch, max, single_frame_only);
            self.settle();
            return taken;
        }
        let mut taken = 0;
        while taken < max {
            match self.core.pipes.get_mut(key) {
                Some(pipe) if pipe.can_receive() => {
                    let Some(traffic) = batch.pop_front() else {
                        break;
                    };
                    pipe.count_in(&traffic);
                    self.behaviour.traffic(&mut self.core, key, traffic);
                    taken += 1;
                }
                _ => break,
            }
        }
        self.settle();
        taken
    }

    fn handle_timeout(&mut self, _now: Instant) {}

    fn send(&mut self, _now: Instant, msg: Msg) -> Result<(), SendError> {
        if msg.is_empty() {
            return Err(SendError {
                kind: SendErrorKind::InvalidMessage,
                msg,
            });
        }
        // Matched rather than passed on: the `Ok` path then writes no more than the result's
        // tag, where moving the whole result copied the message-sized error out of memory
        // just written in narrower stores (a stall at every send in `perf annotate`).
        match self.behaviour.send(&mut self.core, msg) {
            Ok(()) => {
                self.settle();
                Ok(())
            }
            Err(e) => {
                self.settle();
                Err(e)
            }
        }
    }

    fn send_frame(&mut self, _now: Instant, frame: UserFrame<'_>) -> Result<(), SendError> {
        // Matched for the same reason as in `send`.
        match self.behaviour.send_frame(&mut self.core, frame) {
            Ok(()) => {
                self.settle();
                Ok(())
            }
            Err(e) => {
                self.settle();
                Err(e)
            }
        }
    }

    fn recv(&mut self, _now: Instant) -> Result<Msg, RecvError> {
        let result = self.behaviour.recv(&mut self.core);
        self.settle();
        result
    }

    fn recv_batch(&mut self, _now: Instant, max: usize, into: &mut VecDeque<Msg>) -> usize {
        let fair_queued = self.behaviour.recv_is_fair_queued();
        let mut taken = 0;
        while taken < max {
            let n = if fair_queued {
                self.core.recv_batch(max - taken, into)
            } else {
                match self.behaviour.recv(&mut self.core) {
                    Ok(msg) => {
                        into.push_back(msg);
                        1
                    }
                    Err(_) => 0,
                }
            };
            if n == 0 {
                break;
            }
            taken += n;
            if self.core.has_pending_free() {
                // A drained detached pipe goes before the next receive, as between single
                // receives.
                self.settle();
            }
        }
        self.settle();
        taken
    }

    fn poll_transmit(&mut self, peer: PeerId) -> Option<Traffic> {
        let key = self.core.key(peer)?;
        let (traffic, activated) = self.core.pop_out(key)?;
        if activated {
            self.behaviour.write_activated(&mut self.core, key);
            self.settle();
        }
        Some(traffic)
    }

    fn poll_transmit_up_to(
        &mut self,
        peer: PeerId,
        max: usize,
        into: &mut VecDeque<Traffic>,
    ) -> usize {
        let Some(key) = self.core.key(peer) else {
            return 0;
        };
        let (taken, activated) = self.core.take_out(key, max, into);
        if activated {
            self.behaviour.write_activated(&mut self.core, key);
            self.settle();
        }
        taken
    }

    fn poll_action(&mut self) -> Option<crate::api::Action> {
        self.core.poll_action()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn is_readable(&self) -> bool {
        self.behaviour.is_readable(&self.core)
    }

    fn recv_is_stateless(&self) -> bool {
        self.behaviour.recv_is_stateless()
    }

    fn is_writable(&mut self) -> bool {
        match self.writable {
            Some(writable) => writable,
            None => {
                let writable = self.behaviour.refresh_writable(&mut self.core);
                self.writable = Some(writable);
                writable
            }
        }
    }

    fn can_receive_from(&self, peer: PeerId) -> bool {
        self.core
            .key(peer)
            .and_then(|k| self.core.pipe(k))
            .is_some_and(crate::pipe::Pipe::can_receive)
    }

    fn receive_room(&self, peer: PeerId) -> usize {
        self.core
            .key(peer)
            .and_then(|k| self.core.pipe(k))
            .map_or(0, crate::pipe::Pipe::receive_room)
    }

    fn peer_stats(&self, peer: PeerId) -> Option<PeerStats> {
        let key = self.core.key(peer)?;
        self.core.pipe(key).map(crate::pipe::Pipe::stats)
    }

    fn routing_id_of(&self, peer: PeerId) -> Option<Bytes> {
        let key = self.core.key(peer)?;
        self.behaviour.routing_id_of(&self.core, key)
    }
}
