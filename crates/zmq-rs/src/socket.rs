//! `Socket`: the user's handle on one ZeroMQ socket.

use std::collections::VecDeque;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use patterns::{AttachInfo, PatternOption, PeerId, RecvError, SendError, SendErrorKind, UserFrame};
use transports::{Endpoint, TransportConfig};
use zmtp_proto::{MechanismConfig, Msg, Properties, SessionConfig, SocketType};

use crate::context::ContextInner;
use crate::core::{
    Effect, Effects, InprocLinks, PeerLink, PeerSlot, Sent, SocketShared, SocketState, Waiter,
    run_effects,
};
use crate::error::{Error, Result};
use crate::io::{ConnectRequest, DirectReceive, DirectStep, IoCommand, ListenRequest};
use crate::message::{Message, Part};
use crate::monitor::SocketEvent;
use crate::options::{SocketOptions, millis, positive_millis};
use crate::pacing::PACED_FRAME_MIN;

/// Send or receive without blocking: fail with [`Error::WouldBlock`] instead of waiting.
pub const DONTWAIT: i32 = 1;
/// More frames of the same message follow this one.
pub const SNDMORE: i32 = 2;

/// A ZeroMQ socket.
///
/// Methods take `&self`, as in the `zmq` crate; like libzmq's sockets, a socket is meant to
/// be used by one thread at a time (move it between threads freely). Dropping it closes it:
/// pending outbound messages are still delivered for up to LINGER.
#[derive(Debug)]
pub struct Socket {
    shared: Arc<SocketShared>,
    ctx: Arc<ContextInner>,
    /// What only the user's side touches: a message being sent or received frame by frame,
    /// and messages received in a batch. Its lock is never contended by the I/O thread.
    local: Mutex<Local>,
    /// `local.tx_partial` holds frames (kept beside it so that sending a whole one-frame
    /// message need not lock `local` to look).
    sending_parts: AtomicBool,
    /// Counted among the context's users (see `ContextInner::release_user`).
    user: bool,
}

/// Messages taken from the machine per lock by socket types that receive statelessly. They
/// wait here, beyond RCVHWM, until the user receives them.
const RECV_BATCH: usize = 64;

#[derive(Debug, Default)]
struct Local {
    /// Frames sent with SNDMORE, waiting for the last one.
    tx_partial: Option<Msg>,
    /// The remaining frames of a message received frame by frame.
    rx_partial: VecDeque<Bytes>,
    /// The routing id and metadata of that message.
    rx_attrs: (u32, Option<Arc<Properties>>),
    /// Whole messages taken from the machine, not yet received by the user.
    rx_batch: VecDeque<Msg>,
}

/// One peer's counters, from [`Socket::peer_stats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatistics {
    /// The endpoint the peer came through (and, for tcp, its address after a space).
    pub endpoint: String,
    /// The peer's routing id, for socket types that have one (ROUTER, SERVER, ...).
    pub routing_id: Option<Vec<u8>>,
    /// Whether a connection is up (a connecting socket keeps a peer while it reconnects).
    pub connected: bool,
    /// Messages waiting to go to the peer.
    pub queued_out: usize,
    /// Messages from the peer waiting to be received.
    pub queued_in: usize,
    /// Messages handed to the peer's connection so far.
    pub msgs_out: u64,
    /// Messages received from the peer so far.
    pub msgs_in: u64,
    /// Payload octets handed to the peer's connection so far.
    pub bytes_out: u64,
    /// Payload octets received from the peer so far.
    pub bytes_in: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Send,
    Recv,
}

impl Socket {
    /// A socket the user asked for (it keeps the context's internal sockets alive).
    pub(crate) fn new(ctx: Arc<ContextInner>, socket_type: SocketType) -> Result<Self> {
        let mut socket = Self::internal(ctx, socket_type)?;
        socket.ctx.add_user();
        socket.user = true;
        Ok(socket)
    }

    /// A socket the library uses itself (the ZAP client, monitors).
    pub(crate) fn internal(ctx: Arc<ContextInner>, socket_type: SocketType) -> Result<Self> {
        let pattern =
            patterns::new_pattern(socket_type).map_err(|e| Error::NotSupported(e.to_string()))?;
        let shared = SocketShared::new(
            socket_type,
            pattern,
            SocketOptions::default(),
            ctx.pick_io(),
            Arc::downgrade(&ctx),
        );
        Ok(Self {
            shared,
            ctx,
            local: Mutex::new(Local::default()),
            sending_parts: AtomicBool::new(false),
            user: false,
        })
    }

    /// Makes every blocked and later call on this socket fail with ETERM.
    pub(crate) fn terminate(&self) {
        let mut state = self.shared.lock();
        state.terminated = true;
        state.watchers.fire_all();
        drop(state);
        self.shared.wake_blocked();
    }

    pub(crate) fn shared(&self) -> &Arc<SocketShared> {
        &self.shared
    }

    /// Another socket of the same context, for the library's own use (monitors).
    pub(crate) fn sibling(&self, socket_type: SocketType) -> Result<Self> {
        Self::internal(self.ctx.clone(), socket_type)
    }

    /// The socket's type.
    pub fn get_socket_type(&self) -> SocketType {
        self.shared.socket_type
    }

    // ---- endpoints -------------------------------------------------------------------

    /// Accepts connections on an endpoint (`tcp://*:5555`, `tcp://127.0.0.1:*`,
    /// `ipc:///tmp/feed`, `inproc://name`). The resolved endpoint is then readable with
    /// [`Socket::get_last_endpoint`].
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.check_open()?;
        let parsed: Endpoint = endpoint.parse()?;
        if let Endpoint::Inproc(name) = &parsed {
            return self.bind_inproc(name, endpoint);
        }
        let config = transport_config(&self.shared.lock().options);
        let listener = match transports::Listener::bind(&parsed, &config) {
            Ok(listener) => listener,
            Err(e) => {
                let errno = e.io_error().and_then(std::io::Error::raw_os_error);
                self.shared.monitor.emit(
                    SocketEvent::BindFailed,
                    errno.map_or(0, |v| v as u32),
                    endpoint,
                );
                return Err(e.into());
            }
        };
        let resolved = listener.local_endpoint().to_owned();
        self.shared.monitor.emit(
            SocketEvent::Listening,
            listener.socket().as_raw_fd() as u32,
            &resolved,
        );
        self.shared.lock().options.last_endpoint = resolved.clone();
        self.shared
            .io
            .submit(IoCommand::Listen(Box::new(ListenRequest {
                socket: self.shared.clone(),
                listener,
                endpoint: resolved,
            })));
        Ok(())
    }

    /// Connects to an endpoint. The connection is made in the background: messages queue
    /// (up to SNDHWM) until it is up, and it is remade after RECONNECT_IVL if it drops.
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.check_open()?;
        let parsed: Endpoint = endpoint.parse()?;
        if let Endpoint::Inproc(name) = &parsed {
            return self.connect_inproc(name, endpoint);
        }
        let mut effects = Effects::new();
        let owner = next_owner();
        let peer = {
            let mut state = self.shared.lock();
            state.options.last_endpoint = endpoint.to_owned();
            if state.options.immediate {
                None
            } else {
                Some(self.attach_connect_peer(
                    &mut state,
                    PeerLink::Conn(None),
                    owner,
                    &mut effects,
                ))
            }
        };
        run_effects(&mut effects);
        self.shared
            .io
            .submit(IoCommand::Connect(Box::new(ConnectRequest {
                socket: self.shared.clone(),
                peer,
                owner,
                endpoint: parsed,
                endpoint_str: endpoint.to_owned(),
            })));
        Ok(())
    }

    /// Stops accepting connections on an endpoint given to [`Socket::bind`] (for a wildcard
    /// bind, use the resolved endpoint from [`Socket::get_last_endpoint`]).
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        self.check_open()?;
        if let Ok(Endpoint::Inproc(name)) = endpoint.parse::<Endpoint>() {
            let mut registry = self.ctx.lock_inproc();
            let ours = registry
                .bound
                .get(&name)
                .and_then(std::sync::Weak::upgrade)
                .is_some_and(|s| s.id == self.shared.id);
            if ours {
                registry.bound.remove(&name);
                return Ok(());
            }
            return Err(Error::NoSuchEndpoint(endpoint.to_owned()));
        }
        let (reply, answer) = std::sync::mpsc::channel();
        self.shared.io.submit(IoCommand::Unbind {
            socket_id: self.shared.id,
            endpoint: endpoint.to_owned(),
            reply,
        });
        match answer.recv() {
            Ok(true) => Ok(()),
            _ => Err(Error::NoSuchEndpoint(endpoint.to_owned())),
        }
    }

    /// Stops connecting to an endpoint given to [`Socket::connect`], dropping what was queued
    /// for it.
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        self.check_open()?;
        let (reply, answer) = std::sync::mpsc::channel();
        self.shared.io.submit(IoCommand::Disconnect {
            socket_id: self.shared.id,
            endpoint: endpoint.to_owned(),
            reply,
        });
        match answer.recv() {
            Ok(true) => Ok(()),
            _ => Err(Error::NoSuchEndpoint(endpoint.to_owned())),
        }
    }

    fn attach_connect_peer(
        &self,
        state: &mut SocketState,
        link: PeerLink,
        owner: u64,
        effects: &mut Effects,
    ) -> PeerId {
        let label: Arc<str> = Arc::from(state.options.last_endpoint.as_str());
        let packs_frames = matches!(link, PeerLink::Conn(_))
            && state.options.sends_plain_frames(self.shared.socket_type);
        let entry = state.peers.vacant_entry();
        let peer = PeerId(entry.key());
        entry.insert(PeerSlot {
            link,
            tx_scheduled: false,
            owner,
            label,
            lane: crate::core::LaneCounts::default(),
        });
        let connect_routing_id = state.options.connect_routing_id.take();
        state.pattern.handle_peer_attached(
            crate::clock::now(),
            peer,
            AttachInfo {
                locally_initiated: true,
                connect_routing_id,
                packs_frames,
            },
        );
        self.shared.after_change(state, effects);
        peer
    }

    fn bind_inproc(&self, name: &str, endpoint: &str) -> Result<()> {
        let pending = {
            let mut registry = self.ctx.lock_inproc();
            if registry
                .bound
                .get(name)
                .is_some_and(|s| s.strong_count() > 0)
            {
                return Err(Error::Transport(transports::TransportError::Bind {
                    endpoint: endpoint.to_owned(),
                    source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
                }));
            }
            registry
                .bound
                .insert(name.to_owned(), Arc::downgrade(&self.shared));
            registry.pending.remove(name).unwrap_or_default()
        };
        self.shared.lock().options.last_endpoint = endpoint.to_owned();
        let mut effects = Effects::new();
        for (connecter, peer) in pending {
            if let Some(connecter) = connecter.upgrade() {
                crate::inproc::complete_link(&connecter, peer, &self.shared, &mut effects);
            }
        }
        run_effects(&mut effects);
        Ok(())
    }

    fn connect_inproc(&self, name: &str, endpoint: &str) -> Result<()> {
        let mut effects = Effects::new();
        let peer = {
            let mut state = self.shared.lock();
            state.options.last_endpoint = endpoint.to_owned();
            self.attach_connect_peer(&mut state, PeerLink::InprocPending, 0, &mut effects)
        };
        let binder = {
            let mut registry = self.ctx.lock_inproc();
            match registry.bound.get(name).and_then(std::sync::Weak::upgrade) {
                Some(binder) => Some(binder),
                None => {
                    registry
                        .pending
                        .entry(name.to_owned())
                        .or_default()
                        .push((Arc::downgrade(&self.shared), peer));
                    None
                }
            }
        };
        if let Some(binder) = binder {
            crate::inproc::complete_link(&self.shared, peer, &binder, &mut effects);
        }
        run_effects(&mut effects);
        Ok(())
    }

    // ---- sending ---------------------------------------------------------------------

    /// Sends one frame. With [`SNDMORE`] the frame is held until the last frame of the
    /// message (sent without `SNDMORE`), and the whole message leaves atomically. With
    /// [`DONTWAIT`], fails with [`Error::WouldBlock`] instead of waiting for room.
    ///
    /// A blocking send of a one-frame message of 32 KiB or more, once it is queued, may wait
    /// a little (at most 10 ms, or SNDTIMEO) while the socket's connections have over 4 MiB
    /// of such messages still to write, so that they write payloads still in the cache.
    // The machine hands a refused message back by value (to be offered again when there is
    // room); boxing it would allocate on the path of every send refused at the high-water mark.
    #[allow(clippy::result_large_err)]
    #[inline]
    pub fn send<M: Into<Message>>(&self, msg: M, flags: i32) -> Result<()> {
        self.send_message(msg.into(), flags)
    }

    /// [`Socket::send`] of a `Message`. Not generic: the caller's message is read where
    /// the caller built it (a generic body had copied it into its own frame first, reading
    /// it back in wider loads than the caller's stores: a stall at every send).
    #[allow(clippy::result_large_err)]
    #[inline(never)]
    fn send_message(&self, mut msg: Message, flags: i32) -> Result<()> {
        if flags & SNDMORE == 0
            && !msg.has_group()
            && !self.sending_parts.load(Ordering::Relaxed)
            && self.shared.socket_type != SocketType::Radio
        {
            // The common case, a whole one-frame message, straight to the machine; without a
            // routing id, as its frame (see `Pattern::send_frame`).
            let dontwait = flags & DONTWAIT != 0;
            let routing_id = msg.routing_id();
            if routing_id == 0 {
                // An inline payload is read where it is, never moved.
                // Packed from here by a tcp or ipc peer's queue, copied into the queued
                // `Msg` for the others (inproc, a peer still connecting).
                let frame = match msg.inline_payload() {
                    Some(data) => UserFrame::Borrowed(data),
                    None => UserFrame::Shared(msg.take_shared_payload()),
                };
                let paced = (!dontwait && frame.len() >= PACED_FRAME_MIN).then_some(frame.len());
                self.send_with(dontwait, |state, now, effects| {
                    state.send_frame(now, frame, effects)
                })?;
                if let Some(octets) = paced {
                    self.shared
                        .pacing
                        .after_send(octets, || self.pacing_limit());
                }
                return Ok(());
            }
            let mut whole = Msg::single(msg.into_bytes());
            whole.set_routing_id(routing_id);
            return self.send_whole(whole, dontwait);
        }
        let more = flags & SNDMORE != 0;
        let dontwait = flags & DONTWAIT != 0;
        let routing_id = msg.routing_id();
        let group = msg.take_group();
        let frame = msg.into_bytes();
        let mut local = self.lock_local();
        self.sending_parts.store(false, Ordering::Relaxed);
        let whole = match local.tx_partial.take() {
            Some(mut partial) => {
                partial.push_back(frame);
                partial
            }
            None => {
                let mut whole = Msg::new();
                if let Some(group) = group {
                    whole.push_back(group);
                }
                whole.push_back(frame);
                whole.set_routing_id(routing_id);
                if more {
                    // libzmq blocks (or fails with EAGAIN) on the first frame of a message.
                    self.wait_writable(dontwait)?;
                }
                whole
            }
        };
        if more {
            local.tx_partial = Some(whole);
            self.sending_parts.store(true, Ordering::Relaxed);
            return Ok(());
        }
        drop(local);
        if self.shared.socket_type == SocketType::Radio && whole.len() == 1 {
            return Err(Error::invalid(
                "a RADIO message needs a group: set_group first",
            ));
        }
        self.send_whole(whole, dontwait)
    }

    /// How long a paced send may wait (see `pacing`): not at all on a socket with inproc
    /// peers, whose sends no connection writes, and no longer than SNDTIMEO.
    fn pacing_limit(&self) -> Duration {
        let state = self.shared.lock();
        if !state.inproc_links().is_empty() {
            return Duration::ZERO;
        }
        millis(state.options.sndtimeo).unwrap_or(Duration::MAX)
    }

    /// Sends every part as one multipart message.
    pub fn send_multipart<I, T>(&self, parts: I, flags: i32) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: Into<Message>,
    {
        let msg = Msg::from_frames(parts.into_iter().map(|p| p.into().into_bytes()));
        if msg.is_empty() {
            return Err(Error::invalid("a message needs at least one frame"));
        }
        self.send_whole(msg, flags & DONTWAIT != 0)
    }

    #[allow(clippy::result_large_err)] // As in `send`.
    fn send_whole(&self, msg: Msg, dontwait: bool) -> Result<()> {
        self.send_with(dontwait, |state, now, effects| {
            state.send(now, msg, effects)
        })
    }

    /// Sends with `first` (the machine's `send`, or `send_frame`), then, if the machine has
    /// no room, waits and offers the message again as `send` would.
    #[inline]
    fn send_with(
        &self,
        dontwait: bool,
        first: impl FnOnce(
            &mut SocketState,
            Instant,
            &mut Effects,
        ) -> std::result::Result<Sent, SendError>,
    ) -> Result<()> {
        // The first attempt, which nearly always succeeds, without the waiting machinery.
        let mut effects = Effects::new();
        let mut state = self.lock_checked()?;
        let now = state.recent_now;
        // Matched here rather than through `offer`: moving the result through an `Option`
        // cost 40 instructions per message on this path.
        let result = first(&mut state, now, &mut effects);
        if !matches!(result, Ok(Sent::OnLane)) {
            self.shared.after_change(&mut state, &mut effects);
        }
        drop(state);
        run_effects(&mut effects);
        let mut pending = match result {
            Ok(_) => return Ok(()),
            Err(e) if e.kind == SendErrorKind::WouldBlock => Some(e.msg),
            Err(e) => return Err(send_error(e.kind)),
        };
        if !dontwait && let Some((link, side)) = self.shared.lock().full_lane() {
            // The inproc peer is behind by SNDHWM messages, and takes them in batches: wait
            // for its next take on this core, as its receives wait for our batches, rather
            // than count as a waiter that each of its takes must wake (see `core::Lane`).
            crate::awake::wait_until(LANE_AWAIT, || !link.staged(side));
        }
        self.wait_for(Direction::Send, dontwait, None, |state, effects| {
            let Some(msg) = pending.take() else {
                return Ok(Some(()));
            };
            pending = offer(state, msg, effects)?;
            Ok(pending.is_none().then_some(()))
        })
    }

    fn wait_writable(&self, dontwait: bool) -> Result<()> {
        self.wait_for(Direction::Send, dontwait, None, |state, _| {
            Ok(state.is_writable().then_some(()))
        })
    }

    // ---- receiving -------------------------------------------------------------------

    /// Receives one frame. [`Message::get_more`] (or [`Socket::get_rcvmore`]) tells whether
    /// more frames of the same message follow.
    pub fn recv_msg(&self, flags: i32) -> Result<Message> {
        self.recv_with(flags, Message::from_parts)
    }

    /// Receives one frame into `msg`, replacing what it held, and returns its size: libzmq's
    /// `zmq_msg_recv`. For a loop that receives into one message, as libzmq's callers do: the
    /// frame is written where the caller reads it, where a `Message` returned by value is
    /// moved once more, through memory.
    pub fn recv_into(&self, msg: &mut Message, flags: i32) -> Result<usize> {
        self.recv_with(flags, |frame, more, routing_id, metadata, group| {
            msg.set_parts(frame, more, routing_id, metadata, group);
            msg.len()
        })
    }

    /// The next frame with its `more` flag, routing id, metadata and (DISH) group, made into
    /// what `make` makes of them.
    #[inline]
    fn recv_with<R>(
        &self,
        flags: i32,
        make: impl FnOnce(Part<'_>, bool, u32, Option<Arc<Properties>>, Option<Bytes>) -> R,
    ) -> Result<R> {
        let mut local = self.lock_local();
        if let Some(frame) = local.rx_partial.pop_front() {
            let more = !local.rx_partial.is_empty();
            let (routing_id, metadata) = local.rx_attrs.clone();
            return Ok(make(Part::Shared(frame), more, routing_id, metadata, None));
        }
        if local.rx_batch.is_empty() {
            self.fill_rx_batch(&mut local, flags & DONTWAIT != 0)?;
        }
        let batch = &mut local.rx_batch;
        if let Some(next) = batch.front_mut()
            && next.len() == 1
            && self.shared.socket_type != SocketType::Dish
        {
            // The common case, a one-frame message, read where it is queued: a message
            // moved out and read back at once is read in wider loads than the stores that
            // moved it (a stall per message).
            let routing_id = next.routing_id();
            let metadata = next.take_metadata();
            let made = match next.small() {
                Some(small) => make(Part::Copied(small), false, routing_id, metadata, None),
                None => {
                    let frame = next.pop_back().unwrap_or_default();
                    make(Part::Shared(frame), false, routing_id, metadata, None)
                }
            };
            batch.pop_front();
            return Ok(made);
        }
        let mut msg = batch.pop_front().unwrap_or_default();
        let routing_id = msg.routing_id();
        let metadata = msg.take_metadata();
        let mut frames = msg.into_frames();
        let group = if self.shared.socket_type == SocketType::Dish && frames.len() > 1 {
            frames.next()
        } else {
            None
        };
        let first = frames.next().unwrap_or_default();
        let more = frames.len() > 0;
        if more {
            local.rx_partial.extend(frames);
            local.rx_attrs = (routing_id, metadata.clone());
        }
        Ok(make(Part::Shared(first), more, routing_id, metadata, group))
    }

    /// Receives one frame's bytes (a copy into a `Vec`; see [`Socket::recv_msg`] for
    /// zero-copy).
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        self.recv_msg(flags).map(|m| m.to_vec())
    }

    /// Receives one frame as a string: `Ok(Err(bytes))` when it is not UTF-8.
    pub fn recv_string(&self, flags: i32) -> Result<std::result::Result<String, Vec<u8>>> {
        self.recv_bytes(flags)
            .map(|b| String::from_utf8(b).map_err(std::string::FromUtf8Error::into_bytes))
    }

    /// Receives a whole message, every frame as bytes.
    pub fn recv_multipart(&self, flags: i32) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .recv_frames(flags)?
            .into_iter()
            .map(|b| b.to_vec())
            .collect())
    }

    /// Receives a whole message without copying: its frames as `Bytes`. If part of a message
    /// was already received frame by frame, returns the rest of it.
    pub fn recv_frames(&self, flags: i32) -> Result<Vec<Bytes>> {
        let mut local = self.lock_local();
        if !local.rx_partial.is_empty() {
            return Ok(local.rx_partial.drain(..).collect());
        }
        Ok(self
            .recv_whole(&mut local, flags & DONTWAIT != 0)?
            .into_frames()
            .collect())
    }

    /// The next whole message: from the batch taken earlier, or from the machine.
    fn recv_whole(&self, local: &mut Local, dontwait: bool) -> Result<Msg> {
        if local.rx_batch.is_empty() {
            self.fill_rx_batch(local, dontwait)?;
        }
        Ok(local.rx_batch.pop_front().unwrap_or_default())
    }

    /// Waits for the next whole message and queues it in the empty batch of received
    /// messages. Socket types that receive statelessly take up to [`RECV_BATCH`] messages
    /// per lock.
    fn fill_rx_batch(&self, local: &mut Local, dontwait: bool) -> Result<()> {
        let batch = &mut local.rx_batch;
        // Dropped on every return (giving back a connection taken over) after the lock
        // guards inside `wait_for`: never while holding the socket's lock.
        let mut direct = DirectReceive::resume(self.shared.clone());
        // A blocking receive keeps the connection it took over: the next one is likely soon,
        // and re-arming the I/O thread's interest twice per message would cost more than the
        // receive. A non-blocking one keeps it only while messages are queued for it.
        let mut keep = !dontwait;
        self.wait_for(
            Direction::Recv,
            dontwait,
            Some(&mut direct),
            |state, effects| {
                let now = state.recent_now;
                if state.take_direct(batch, effects) {
                    state.direct_write = true;
                    return Ok(Some(()));
                }
                match state.pattern.recv(now) {
                    Ok(msg) => {
                        state.direct_write = true;
                        batch.push_back(msg);
                        if state.pattern.recv_is_stateless() && !state.watchers.has_handles() {
                            state
                                .pattern
                                .recv_batch(now, RECV_BATCH - batch.len(), batch);
                        }
                        keep |= batch.len() > 1 || state.pattern.is_readable();
                        Ok(Some(()))
                    }
                    Err(RecvError::WouldBlock) => Ok(None),
                    Err(RecvError::InvalidState) => Err(Error::InvalidState(
                        "this socket must send before it can receive again".into(),
                    )),
                    Err(_) => Err(Error::NotSupported(format!(
                        "a {} socket does not receive",
                        self.shared.socket_type
                    ))),
                }
            },
        )?;
        direct.finish(keep);
        Ok(())
    }

    /// True when the last frame received has more frames after it (`ZMQ_RCVMORE`).
    pub fn get_rcvmore(&self) -> Result<bool> {
        Ok(!self.lock_local().rx_partial.is_empty())
    }

    /// A [`crate::PollItem`] watching this socket for `events`.
    pub fn as_poll_item(&self, events: i16) -> crate::PollItem<'_> {
        crate::PollItem::new(self, events)
    }

    /// Whether a receive and a send would succeed now (`ZMQ_EVENTS`), counting a message
    /// being received frame by frame as readable and one being sent as writable.
    pub(crate) fn readiness(&self) -> Result<(bool, bool)> {
        // Whoever asks may wait for readiness next: the I/O thread must be reading.
        self.shared.direct.release(&self.shared.io);
        let local = self.lock_local();
        let mut state = self.lock_checked()?;
        Ok((
            !local.rx_partial.is_empty()
                || !local.rx_batch.is_empty()
                || state.pattern.is_readable(),
            local.tx_partial.is_some() || state.is_writable(),
        ))
    }

    /// Registers a poller: it is woken when readiness changes, and counts as a waiter.
    pub(crate) fn watch(&self, signal: &Arc<crate::poll::Signal>) -> Waiter {
        self.shared.direct.release(&self.shared.io);
        let waiter = Waiter::new(&self.shared.waiting);
        self.shared.lock().watchers.add(signal);
        waiter
    }

    // ---- blocking machinery ------------------------------------------------------------

    fn check_open(&self) -> Result<()> {
        if self.ctx.is_terminated() {
            return Err(Error::Terminated);
        }
        Ok(())
    }

    fn lock_local(&self) -> std::sync::MutexGuard<'_, Local> {
        self.local
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_checked(&self) -> Result<std::sync::MutexGuard<'_, SocketState>> {
        let state = self.shared.lock();
        if state.terminated {
            return Err(Error::Terminated);
        }
        Ok(state)
    }

    /// Runs `attempt` under the lock until it yields a value, waiting for the socket to
    /// change in between, for at most SNDTIMEO or RCVTIMEO (no time at all with DONTWAIT).
    /// A receive passes `direct` to wait on its connection itself when it can (see
    /// `io::direct`).
    fn wait_for<T>(
        &self,
        direction: Direction,
        dontwait: bool,
        mut direct: Option<&mut DirectReceive>,
        mut attempt: impl FnMut(&mut SocketState, &mut Effects) -> Result<Option<T>>,
    ) -> Result<T> {
        let mut deadline = None;
        let mut effects = Effects::new();
        let mut exchanged = false;
        // Our inproc peers stayed quiet through a wait on this core: the next look is the
        // last before sleeping.
        let mut waited_in_vain = false;
        // A send wrote its full connections' queues itself since it last slept.
        let mut flushed = false;
        let mut waiter = None;
        // The attempt takes staged traffic itself (see `SocketState::take_direct`).
        let mut direct_takes = false;
        let mut state = self.lock_checked()?;
        // What we sent and did not stage yet goes now: we may be waiting for an answer to it.
        state.stage_before_waiting();
        loop {
            let outcome = attempt(&mut state, &mut effects);
            self.shared.after_change(&mut state, &mut effects);
            match outcome {
                Ok(Some(value)) => {
                    drop(state);
                    run_effects(&mut effects);
                    return Ok(value);
                }
                Err(e) => {
                    drop(state);
                    run_effects(&mut effects);
                    return Err(e);
                }
                Ok(None) => {}
            }
            if !effects.is_empty() {
                drop(state);
                run_effects(&mut effects);
                state = self.lock_checked()?;
                continue;
            }
            if !exchanged {
                // Before waiting: pull what inproc peers queued for us (a receive), or push
                // what we queued for them (a send). Before the last look, count as a
                // waiter, so that a peer queuing after it hands over at once (see `inproc`);
                // a receive that may still wait awake and look again need not, and spares its
                // peers the hand-over meanwhile.
                exchanged = true;
                direct_takes = direction == Direction::Recv && state.takes_direct();
                let links = state.inproc_links();
                if !links.is_empty() {
                    let may_wait_awake =
                        direction == Direction::Recv && !dontwait && !waited_in_vain;
                    if !may_wait_awake || waiter.is_some() {
                        waiter.get_or_insert_with(|| Waiter::new(&self.shared.waiting));
                        self.shared.waiting.looking();
                    }
                    // A receive pulls only the links whose hint says something was queued
                    // (see `InprocLink::pull`); with none, it goes on without letting go of
                    // the lock.
                    let exchanges = direction == Direction::Send || any_inproc_traffic(&links);
                    if exchanges {
                        drop(state);
                        match direction {
                            Direction::Send => {
                                for &(ref link, side) in links.iter() {
                                    link.transfer(side, &mut effects);
                                }
                            }
                            Direction::Recv => {
                                pull_for_receive(&links, direct_takes, &mut effects);
                            }
                        }
                        run_effects(&mut effects);
                        state = self.lock_checked()?;
                        continue;
                    }
                }
            }
            if direction == Direction::Send && !flushed {
                // Full queues to tcp or ipc peers: the I/O thread has fallen behind (it
                // shares the cores with this thread and the receiver). Write them here,
                // where the queued frames are still in this core's cache, rather than sleep
                // until it gets to them and wakes us (see `io::direct_flush`).
                flushed = true;
                let conns = state.conns_with_queued_traffic();
                if !conns.is_empty() {
                    drop(state);
                    for link in &conns {
                        crate::io::direct_flush(link, &self.shared.io, &mut effects);
                    }
                    run_effects(&mut effects);
                    state = self.lock_checked()?;
                    continue;
                }
            }
            if dontwait
                && let Some(direct) = direct.as_mut()
                && let Some(link) = direct.kept_unread()
            {
                // This thread holds the connection: what arrived since is in no queue yet.
                drop(state);
                direct.read(&link, true);
                state = self.lock_checked()?;
                continue;
            }
            let timeout = if dontwait {
                Some(Duration::ZERO)
            } else {
                millis(match direction {
                    Direction::Send => state.options.sndtimeo,
                    Direction::Recv => state.options.rcvtimeo,
                })
            };
            let remaining = match timeout {
                Some(t) => {
                    let now = crate::clock::now();
                    let deadline = *deadline.get_or_insert(now + t);
                    let left = deadline.saturating_duration_since(now);
                    if left.is_zero() {
                        return Err(Error::WouldBlock);
                    }
                    Some(left)
                }
                None => None,
            };
            if !waited_in_vain && direction == Direction::Recv && waiter.is_none() {
                // Nothing from our inproc peers yet. One streaming to us, or answering a
                // request, queues again within microseconds: wait that long on this core
                // for a sign of it and look once more, which spares both threads our sleep
                // and the peer's wake-up (a system call, and across cores tens of
                // microseconds before we run again).
                waited_in_vain = true;
                let links = state.inproc_links();
                if !links.is_empty() {
                    drop(state);
                    // Traffic came: pull it at once (it is in the links, not in our machine)
                    // and look, still not counted as waiting, so that a streaming peer does
                    // not hand over to us. Otherwise look once more before sleeping.
                    waited_in_vain = !await_inproc_traffic(&links);
                    exchanged = !waited_in_vain;
                    if exchanged {
                        let mut effects = Effects::new();
                        pull_for_receive(&links, direct_takes, &mut effects);
                        run_effects(&mut effects);
                    }
                    state = self.lock_checked()?;
                    continue;
                }
            }
            waiter.get_or_insert_with(|| Waiter::new(&self.shared.waiting));
            // An inproc peer that queued while we were pulling flagged it instead of handing
            // over: look again rather than sleep (checked under our lock, see `inproc`).
            if state.take_inproc_pending() {
                exchanged = false;
                continue;
            }
            if let Some(direct) = direct.as_mut() {
                match direct.next_step(&state) {
                    DirectStep::Read(link) => {
                        drop(state);
                        direct.read(&link, false);
                        state = self.lock_checked()?;
                        continue;
                    }
                    DirectStep::Sleep(link, fd) => {
                        // A socket that sent since it last received (a request, a reply)
                        // expects an answer soon: poll for it awake a while. One that only
                        // receives (a stream) sleeps at once, leaving the cores to the
                        // threads producing it.
                        let awake_first = !state.direct_write;
                        state.blocked += 1;
                        self.shared.direct.set_sleeping(true);
                        drop(state);
                        direct.sleep(&link, fd, remaining, awake_first);
                        state = self.shared.lock();
                        self.shared.direct.set_sleeping(false);
                        state.blocked -= 1;
                        if state.terminated {
                            return Err(Error::Terminated);
                        }
                        exchanged = false;
                        continue;
                    }
                    DirectStep::Leave => {
                        drop(state);
                        direct.leave();
                        state = self.lock_checked()?;
                        continue;
                    }
                    DirectStep::Unavailable => {}
                }
            }
            state.blocked += 1;
            state = match remaining {
                Some(left) => {
                    self.shared
                        .cond
                        .wait_timeout(state, left)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0
                }
                None => self
                    .shared
                    .cond
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            };
            state.blocked -= 1;
            if state.terminated {
                return Err(Error::Terminated);
            }
            // Woken: look at inproc links and full connections again before the next wait.
            exchanged = false;
            flushed = false;
        }
    }

    /// Pulls what inproc peers queued for this socket into its machine (before a poll).
    pub(crate) fn pull_inproc(&self) {
        self.shared.waiting.looking();
        // Taken first: the lock must be released before pulling, which takes it again.
        let links = self.shared.lock().inproc_links();
        pull_inproc_links(&links);
    }

    // ---- options -----------------------------------------------------------------------

    fn set_pattern_option(&self, option: PatternOption) -> Result<()> {
        let mut effects = Effects::new();
        let result = {
            let mut state = self.lock_checked()?;
            let now = state.recent_now;
            let result = state.pattern.set_option(now, option);
            self.shared.after_change(&mut state, &mut effects);
            result
        };
        run_effects(&mut effects);
        result.map_err(|e| Error::invalid(e.to_string()))
    }

    fn update<T>(&self, f: impl FnOnce(&mut SocketOptions) -> T) -> T {
        let mut state = self.shared.lock();
        // A lane reads the options it depends on (SNDHWM) when it opens: it opens again,
        // with the new ones, at the next staging.
        state.close_lane();
        f(&mut state.options)
    }

    fn read<T>(&self, f: impl FnOnce(&SocketOptions) -> T) -> T {
        f(&self.shared.lock().options)
    }

    /// Closes the socket (dropping it does the same). Pending outbound messages are delivered
    /// for up to LINGER in the background.
    pub fn close(self) {}
}

/// Generates a setter and getter for an option the pattern machine also needs.
macro_rules! pattern_bool_option {
    ($(#[$doc:meta])* $set:ident, $get:ident, $field:ident, $variant:ident) => {
        $(#[$doc])*
        pub fn $set(&self, value: bool) -> Result<()> {
            self.set_pattern_option(PatternOption::$variant(value))?;
            self.update(|o| o.$field = value);
            Ok(())
        }

        #[doc = concat!("The value set with [`Socket::", stringify!($set), "`].")]
        pub fn $get(&self) -> Result<bool> {
            Ok(self.read(|o| o.$field))
        }
    };
}

/// Generates a setter and getter for an integer option kept by the facade.
macro_rules! int_option {
    ($(#[$doc:meta])* $set:ident, $get:ident, $field:ident, $min:expr) => {
        $(#[$doc])*
        pub fn $set(&self, value: i32) -> Result<()> {
            if value < $min {
                return Err(Error::invalid(format!(
                    concat!(stringify!($field), " must be at least {}, not {}"),
                    $min, value
                )));
            }
            self.update(|o| o.$field = value);
            Ok(())
        }

        #[doc = concat!("The value set with [`Socket::", stringify!($set), "`].")]
        pub fn $get(&self) -> Result<i32> {
            Ok(self.read(|o| o.$field))
        }
    };
}

impl Socket {
    /// SNDHWM: messages queued per peer before send blocks (or drops, for PUB); 0 is no limit.
    pub fn set_sndhwm(&self, value: i32) -> Result<()> {
        let hwm = usize::try_from(value).map_err(|_| Error::invalid("SNDHWM must be >= 0"))?;
        self.set_pattern_option(PatternOption::SndHwm(hwm))?;
        self.update(|o| o.sndhwm = value);
        Ok(())
    }

    /// The value set with [`Socket::set_sndhwm`] (default 1000).
    pub fn get_sndhwm(&self) -> Result<i32> {
        Ok(self.read(|o| o.sndhwm))
    }

    /// RCVHWM: messages queued per peer inbound before reading from it pauses; 0 is no limit.
    pub fn set_rcvhwm(&self, value: i32) -> Result<()> {
        let hwm = usize::try_from(value).map_err(|_| Error::invalid("RCVHWM must be >= 0"))?;
        self.set_pattern_option(PatternOption::RcvHwm(hwm))?;
        self.update(|o| o.rcvhwm = value);
        Ok(())
    }

    /// The value set with [`Socket::set_rcvhwm`] (default 1000).
    pub fn get_rcvhwm(&self) -> Result<i32> {
        Ok(self.read(|o| o.rcvhwm))
    }

    int_option!(
        /// LINGER in milliseconds: how long a closed socket keeps delivering; -1 forever.
        set_linger, get_linger, linger, -1
    );
    int_option!(
        /// RECONNECT_IVL in milliseconds (default 100); -1 never reconnects.
        set_reconnect_ivl, get_reconnect_ivl, reconnect_ivl, -1
    );
    int_option!(
        /// RECONNECT_IVL_MAX in milliseconds: the back-off ceiling; 0 keeps RECONNECT_IVL.
        set_reconnect_ivl_max, get_reconnect_ivl_max, reconnect_ivl_max, 0
    );
    int_option!(
        /// SNDTIMEO in milliseconds: how long send waits; -1 forever, 0 never.
        set_sndtimeo, get_sndtimeo, sndtimeo, -1
    );
    int_option!(
        /// RCVTIMEO in milliseconds: how long recv waits; -1 forever, 0 never.
        set_rcvtimeo, get_rcvtimeo, rcvtimeo, -1
    );
    int_option!(
        /// HANDSHAKE_IVL in milliseconds: the longest a ZMTP handshake may take; 0 no limit.
        set_handshake_ivl, get_handshake_ivl, handshake_ivl, 0
    );
    int_option!(
        /// TCP_KEEPALIVE: -1 leaves the OS default, 0 off, 1 on.
        set_tcp_keepalive, get_tcp_keepalive, tcp_keepalive, -1
    );
    int_option!(
        /// TCP_KEEPALIVE_IDLE in seconds; -1 leaves the OS default.
        set_tcp_keepalive_idle, get_tcp_keepalive_idle, tcp_keepalive_idle, -1
    );
    int_option!(
        /// TCP_KEEPALIVE_CNT; -1 leaves the OS default.
        set_tcp_keepalive_cnt, get_tcp_keepalive_cnt, tcp_keepalive_cnt, -1
    );
    int_option!(
        /// TCP_KEEPALIVE_INTVL in seconds; -1 leaves the OS default.
        set_tcp_keepalive_intvl, get_tcp_keepalive_intvl, tcp_keepalive_intvl, -1
    );
    int_option!(
        /// SNDBUF: the kernel send buffer in octets; -1 leaves the OS default.
        set_sndbuf, get_sndbuf, sndbuf, -1
    );
    int_option!(
        /// RCVBUF: the kernel receive buffer in octets; -1 leaves the OS default.
        set_rcvbuf, get_rcvbuf, rcvbuf, -1
    );
    int_option!(
        /// BACKLOG: pending connections a listener queues (default 100).
        set_backlog, get_backlog, backlog, 0
    );
    int_option!(
        /// HEARTBEAT_IVL in milliseconds: send a ZMTP PING this often; 0 off.
        set_heartbeat_ivl, get_heartbeat_ivl, heartbeat_ivl, 0
    );
    int_option!(
        /// HEARTBEAT_TTL in milliseconds: how long the peer may wait for traffic from us
        /// before it considers us gone (sent in our PINGs).
        set_heartbeat_ttl, get_heartbeat_ttl, heartbeat_ttl, 0
    );
    int_option!(
        /// HEARTBEAT_TIMEOUT in milliseconds: drop the connection when nothing arrives this
        /// long after a PING; -1 uses HEARTBEAT_IVL.
        set_heartbeat_timeout, get_heartbeat_timeout, heartbeat_timeout, 0
    );

    /// MAXMSGSIZE in octets: a peer sending a larger message is disconnected; -1 no limit.
    pub fn set_maxmsgsize(&self, value: i64) -> Result<()> {
        if value < -1 {
            return Err(Error::invalid("MAXMSGSIZE must be -1 or more"));
        }
        self.update(|o| o.maxmsgsize = value);
        Ok(())
    }

    /// The value set with [`Socket::set_maxmsgsize`] (default -1).
    pub fn get_maxmsgsize(&self) -> Result<i64> {
        Ok(self.read(|o| o.maxmsgsize))
    }

    /// ROUTING_ID (formerly IDENTITY): the id this socket announces to ROUTER peers,
    /// 1 to 255 octets, not starting with a zero octet.
    pub fn set_routing_id(&self, id: &[u8]) -> Result<()> {
        if id.is_empty() || id.len() > 255 || id[0] == 0 {
            return Err(Error::invalid(
                "ROUTING_ID must be 1 to 255 octets and must not start with 0x00",
            ));
        }
        self.update(|o| o.routing_id = Some(Bytes::copy_from_slice(id)));
        Ok(())
    }

    /// The value set with [`Socket::set_routing_id`] (empty when unset).
    pub fn get_routing_id(&self) -> Result<Vec<u8>> {
        Ok(self.read(|o| octets(o.routing_id.as_deref())))
    }

    /// Alias of [`Socket::set_routing_id`] (libzmq's older name).
    pub fn set_identity(&self, id: &[u8]) -> Result<()> {
        self.set_routing_id(id)
    }

    /// Alias of [`Socket::get_routing_id`].
    pub fn get_identity(&self) -> Result<Vec<u8>> {
        self.get_routing_id()
    }

    /// CONNECT_ROUTING_ID: the routing id a ROUTER or STREAM socket gives the peer of its next
    /// `connect`.
    pub fn set_connect_routing_id(&self, id: &[u8]) -> Result<()> {
        if !matches!(
            self.shared.socket_type,
            SocketType::Router | SocketType::Stream
        ) {
            return Err(Error::invalid(
                "CONNECT_ROUTING_ID applies to ROUTER and STREAM sockets",
            ));
        }
        if id.is_empty() || id.len() > 255 {
            return Err(Error::invalid("CONNECT_ROUTING_ID must be 1 to 255 octets"));
        }
        self.update(|o| o.connect_routing_id = Some(Bytes::copy_from_slice(id)));
        Ok(())
    }

    /// IMMEDIATE: queue messages only to completed connections.
    pub fn set_immediate(&self, value: bool) -> Result<()> {
        self.update(|o| o.immediate = value);
        Ok(())
    }

    /// The value set with [`Socket::set_immediate`].
    pub fn get_immediate(&self) -> Result<bool> {
        Ok(self.read(|o| o.immediate))
    }

    /// IPV6: accept and make IPv6 connections (and dual-stack binds on `*`).
    pub fn set_ipv6(&self, value: bool) -> Result<()> {
        self.update(|o| o.ipv6 = value);
        Ok(())
    }

    /// The value set with [`Socket::set_ipv6`].
    pub fn get_ipv6(&self) -> Result<bool> {
        Ok(self.read(|o| o.ipv6))
    }

    pattern_bool_option!(
        /// CONFLATE: keep only the last message in each queue.
        set_conflate, get_conflate, conflate, Conflate
    );
    pattern_bool_option!(
        /// ROUTER_MANDATORY: fail with EHOSTUNREACH on an unroutable message instead of
        /// dropping it.
        set_router_mandatory, get_router_mandatory, router_mandatory, RouterMandatory
    );
    pattern_bool_option!(
        /// ROUTER_HANDOVER: a new peer announcing a routing id in use takes it over.
        set_router_handover, get_router_handover, router_handover, RouterHandover
    );
    pattern_bool_option!(
        /// PROBE_ROUTER: send an empty message to each new peer.
        set_probe_router, get_probe_router, probe_router, ProbeRouter
    );
    pattern_bool_option!(
        /// REQ_RELAXED: allow a new request before the previous reply.
        set_req_relaxed, get_req_relaxed, req_relaxed, ReqRelaxed
    );
    pattern_bool_option!(
        /// REQ_CORRELATE: match replies to requests by a request id.
        set_req_correlate, get_req_correlate, req_correlate, ReqCorrelate
    );
    pattern_bool_option!(
        /// XPUB_VERBOSE: pass every subscription to the application.
        set_xpub_verbose, get_xpub_verbose, xpub_verbose, XPubVerbose
    );
    pattern_bool_option!(
        /// XPUB_VERBOSER: pass every subscription and unsubscription to the application.
        set_xpub_verboser, get_xpub_verboser, xpub_verboser, XPubVerboser
    );
    pattern_bool_option!(
        /// XPUB_NODROP: fail with EAGAIN when a subscriber is full, instead of dropping.
        set_xpub_nodrop, get_xpub_nodrop, xpub_nodrop, XPubNoDrop
    );
    pattern_bool_option!(
        /// XPUB_MANUAL: the application decides subscriptions.
        set_xpub_manual, get_xpub_manual, xpub_manual, XPubManual
    );
    pattern_bool_option!(
        /// INVERT_MATCHING: PUB/XPUB deliver, and SUB accepts, what does not match.
        set_invert_matching, get_invert_matching, invert_matching, InvertMatching
    );
    pattern_bool_option!(
        /// STREAM_NOTIFY: a STREAM socket reports connects and disconnects (default on).
        set_stream_notify, get_stream_notify, stream_notify, StreamNotify
    );

    /// XPUB_WELCOME_MSG: a message sent to each new subscriber (empty clears it).
    pub fn set_xpub_welcome_msg(&self, msg: &[u8]) -> Result<()> {
        let value = (!msg.is_empty()).then(|| Bytes::copy_from_slice(msg));
        self.set_pattern_option(PatternOption::XPubWelcomeMsg(value.clone()))?;
        self.update(|o| o.xpub_welcome_msg = value);
        Ok(())
    }

    /// SUBSCRIBE: a SUB socket receives messages starting with `prefix` (empty: all).
    pub fn set_subscribe(&self, prefix: &[u8]) -> Result<()> {
        self.set_pattern_option(PatternOption::Subscribe(Bytes::copy_from_slice(prefix)))
    }

    /// UNSUBSCRIBE: removes one subscription made with [`Socket::set_subscribe`].
    pub fn set_unsubscribe(&self, prefix: &[u8]) -> Result<()> {
        self.set_pattern_option(PatternOption::Unsubscribe(Bytes::copy_from_slice(prefix)))
    }

    /// DISH: receive messages sent to `group`.
    pub fn join(&self, group: &str) -> Result<()> {
        self.set_pattern_option(PatternOption::Join(Bytes::copy_from_slice(
            group.as_bytes(),
        )))
    }

    /// DISH: stop receiving messages sent to `group`.
    pub fn leave(&self, group: &str) -> Result<()> {
        self.set_pattern_option(PatternOption::Leave(Bytes::copy_from_slice(
            group.as_bytes(),
        )))
    }

    /// PLAIN_SERVER: act as a PLAIN server (clients must log in).
    pub fn set_plain_server(&self, value: bool) -> Result<()> {
        self.update(|o| o.plain_server = value);
        Ok(())
    }

    /// PLAIN_USERNAME: log in to PLAIN servers with this user name.
    pub fn set_plain_username(&self, value: Option<&str>) -> Result<()> {
        self.update(|o| o.plain_username = value.map(|v| Bytes::copy_from_slice(v.as_bytes())));
        Ok(())
    }

    /// PLAIN_PASSWORD: log in to PLAIN servers with this password.
    pub fn set_plain_password(&self, value: Option<&str>) -> Result<()> {
        self.update(|o| o.plain_password = value.map(|v| Bytes::copy_from_slice(v.as_bytes())));
        Ok(())
    }

    /// ZAP_DOMAIN: the domain sent in ZAP requests.
    pub fn set_zap_domain(&self, domain: &str) -> Result<()> {
        self.update(|o| o.zap_domain = Bytes::copy_from_slice(domain.as_bytes()));
        Ok(())
    }

    /// The value set with [`Socket::set_zap_domain`] (empty by default).
    pub fn get_zap_domain(&self) -> Result<String> {
        Ok(self.read(|o| text(Some(&o.zap_domain))))
    }

    /// The value set with [`Socket::set_plain_server`].
    pub fn get_plain_server(&self) -> Result<bool> {
        Ok(self.read(|o| o.plain_server))
    }

    /// The value set with [`Socket::set_plain_username`] (empty when unset).
    pub fn get_plain_username(&self) -> Result<String> {
        Ok(self.read(|o| text(o.plain_username.as_deref())))
    }

    /// The value set with [`Socket::set_plain_password`] (empty when unset).
    pub fn get_plain_password(&self) -> Result<String> {
        Ok(self.read(|o| text(o.plain_password.as_deref())))
    }

    /// The value set with [`Socket::set_connect_routing_id`], until the next `connect` uses
    /// it (empty when unset).
    pub fn get_connect_routing_id(&self) -> Result<Vec<u8>> {
        Ok(self.read(|o| octets(o.connect_routing_id.as_deref())))
    }

    /// The value set with [`Socket::set_xpub_welcome_msg`] (empty when unset).
    pub fn get_xpub_welcome_msg(&self) -> Result<Vec<u8>> {
        Ok(self.read(|o| octets(o.xpub_welcome_msg.as_deref())))
    }

    /// CURVE_SERVER: act as a CURVE server (needs CURVE_PUBLICKEY and CURVE_SECRETKEY).
    pub fn set_curve_server(&self, value: bool) -> Result<()> {
        self.update(|o| o.curve_server = value);
        Ok(())
    }

    /// The value set with [`Socket::set_curve_server`].
    pub fn get_curve_server(&self) -> Result<bool> {
        Ok(self.read(|o| o.curve_server))
    }

    /// CURVE_PUBLICKEY: our long-term public key, 32 octets or 40 Z85 characters.
    pub fn set_curve_publickey(&self, key: &[u8]) -> Result<()> {
        let key = zmtp_proto::CurvePublicKey::try_from(key)
            .map_err(|e| Error::invalid(format!("CURVE_PUBLICKEY: {e}")))?;
        self.update(|o| o.curve_public = Some(key));
        Ok(())
    }

    /// Our long-term public key, 32 octets (empty when unset).
    pub fn get_curve_publickey(&self) -> Result<Vec<u8>> {
        Ok(self.read(|o| octets(o.curve_public.as_ref().map(|k| &k.as_bytes()[..]))))
    }

    /// CURVE_SECRETKEY: our long-term secret key, 32 octets or 40 Z85 characters.
    pub fn set_curve_secretkey(&self, key: &[u8]) -> Result<()> {
        let key = zmtp_proto::CurveSecretKey::try_from(key)
            .map_err(|e| Error::invalid(format!("CURVE_SECRETKEY: {e}")))?;
        self.update(|o| o.curve_secret = Some(key));
        Ok(())
    }

    /// Our long-term secret key, 32 octets (empty when unset), as libzmq's getter.
    pub fn get_curve_secretkey(&self) -> Result<Vec<u8>> {
        Ok(self.read(|o| octets(o.curve_secret.as_ref().map(|k| &k.as_bytes()[..]))))
    }

    /// CURVE_SERVERKEY: the server's long-term public key, which makes this socket a CURVE
    /// client (with CURVE_PUBLICKEY and CURVE_SECRETKEY); 32 octets or 40 Z85 characters.
    pub fn set_curve_serverkey(&self, key: &[u8]) -> Result<()> {
        let key = zmtp_proto::CurvePublicKey::try_from(key)
            .map_err(|e| Error::invalid(format!("CURVE_SERVERKEY: {e}")))?;
        self.update(|o| o.curve_server_key = Some(key));
        Ok(())
    }

    /// The server key set with [`Socket::set_curve_serverkey`], 32 octets (empty when unset).
    pub fn get_curve_serverkey(&self) -> Result<Vec<u8>> {
        Ok(self.read(|o| octets(o.curve_server_key.as_ref().map(|k| &k.as_bytes()[..]))))
    }

    /// Counters for every peer of this socket: where each is, what is queued for and from
    /// it, and how much traffic went each way (libzmq has this only as a draft). Use it to
    /// see where a pipeline backs up.
    pub fn peer_stats(&self) -> Vec<PeerStatistics> {
        let state = self.shared.lock();
        state
            .peers
            .iter()
            .filter_map(|(key, slot)| {
                let peer = PeerId(key);
                let stats = state.pattern.peer_stats(peer)?;
                let lane = state.lane_counts(peer);
                Some(PeerStatistics {
                    endpoint: slot.label.to_string(),
                    routing_id: state.pattern.routing_id_of(peer).map(|id| id.to_vec()),
                    connected: matches!(slot.link, PeerLink::Conn(Some(_)) | PeerLink::Inproc(..)),
                    queued_out: stats.queued_out,
                    queued_in: stats.queued_in,
                    msgs_out: stats.msgs_out + lane.msgs_out,
                    msgs_in: stats.msgs_in + lane.msgs_in,
                    bytes_out: stats.bytes_out + lane.bytes_out,
                    bytes_in: stats.bytes_in + lane.bytes_in,
                })
            })
            .collect()
    }

    /// LAST_ENDPOINT: the endpoint of the last bind (resolved: a wildcard port shows the port
    /// chosen) or connect.
    pub fn get_last_endpoint(&self) -> Result<String> {
        Ok(self.read(|o| o.last_endpoint.clone()))
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let mut effects = Effects::new();
        {
            let state = self.shared.lock();
            let inproc: Vec<PeerId> = state
                .peers
                .iter()
                .filter(|(_, slot)| {
                    matches!(slot.link, PeerLink::Inproc(..) | PeerLink::InprocPending)
                })
                .map(|(key, _)| PeerId(key))
                .collect();
            for peer in inproc {
                // Hand what is queued to the link first: the other side may still read it.
                if let Some(PeerSlot {
                    link: PeerLink::Inproc(link, side),
                    ..
                }) = state.peers.get(peer.0)
                {
                    effects.push(Effect::InprocDetach(link.clone(), *side));
                }
            }
        }
        // Deliver queued inproc traffic before the machine forgets its peers.
        run_effects(&mut effects);
        // Lingering and closing are the I/O thread's work, on connections it reads.
        self.shared.direct.release(&self.shared.io);
        {
            let mut registry = self.ctx.lock_inproc();
            let id = self.shared.id;
            registry
                .bound
                .retain(|_, s| s.upgrade().is_some_and(|s| s.id != id));
            for waiting in registry.pending.values_mut() {
                waiting.retain(|(s, _)| s.upgrade().is_some_and(|s| s.id != id));
            }
        }
        self.shared.monitor.stop();
        self.shared
            .io
            .submit(IoCommand::CloseSocket(self.shared.clone()));
        if self.user {
            self.ctx.release_user();
        }
    }
}

/// An option's octets as its getter returns them: empty when unset, as libzmq.
fn octets(value: Option<&[u8]>) -> Vec<u8> {
    value.map(<[u8]>::to_vec).unwrap_or_default()
}

/// An option's text as its getter returns it: empty when unset.
fn text(value: Option<&[u8]>) -> String {
    value
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
}

/// A fresh id for the pipe of one `connect` (see `PeerSlot::owner`).
fn next_owner() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Offers a whole message to the machine while waiting for room: `None` once queued, the
/// message back when there is still no room, an error for any other refusal.
fn offer(state: &mut SocketState, msg: Msg, effects: &mut Effects) -> Result<Option<Msg>> {
    match state.send(state.recent_now, msg, effects) {
        Ok(_) => Ok(None),
        Err(e) if e.kind == SendErrorKind::WouldBlock => Ok(Some(e.msg)),
        Err(e) => Err(send_error(e.kind)),
    }
}

fn send_error(kind: SendErrorKind) -> Error {
    match kind {
        SendErrorKind::InvalidState => Error::InvalidState(
            "this socket must receive (or was not asked) before it can send".into(),
        ),
        SendErrorKind::HostUnreachable => Error::HostUnreachable,
        SendErrorKind::NotSupported => Error::NotSupported("this socket type does not send".into()),
        SendErrorKind::InvalidMessage => {
            Error::invalid("the message does not fit this socket type")
        }
        _ => Error::WouldBlock,
    }
}

/// The transport settings a socket's options ask for.
pub(crate) fn transport_config(options: &SocketOptions) -> TransportConfig {
    let unset_if_negative = |v: i32| u32::try_from(v).ok();
    TransportConfig {
        ipv6: options.ipv6,
        backlog: u32::try_from(options.backlog).unwrap_or(TransportConfig::DEFAULT_BACKLOG),
        sndbuf: unset_if_negative(options.sndbuf),
        rcvbuf: unset_if_negative(options.rcvbuf),
        tcp_keepalive: match options.tcp_keepalive {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        },
        tcp_keepalive_idle: unset_if_negative(options.tcp_keepalive_idle),
        tcp_keepalive_intvl: unset_if_negative(options.tcp_keepalive_intvl),
        tcp_keepalive_cnt: unset_if_negative(options.tcp_keepalive_cnt),
        ..TransportConfig::default()
    }
}

/// The ZMTP session settings a socket's options ask for. An incomplete CURVE setup is an
/// error, never a silent fall back to NULL (libzmq refuses the connection too).
pub(crate) fn session_config(socket: &SocketShared) -> std::result::Result<SessionConfig, String> {
    let state = socket.lock();
    let o = &state.options;
    let mut config = SessionConfig::new(socket.socket_type);
    config.routing_id = o.routing_id.clone();
    let wants_curve = o.curve_server || o.curve_server_key.is_some();
    config.mechanism = if wants_curve {
        config.rng_seed = crate::random::seed();
        match (&o.curve_public, &o.curve_secret, &o.curve_server_key) {
            (Some(public), Some(secret), _) if o.curve_server => MechanismConfig::CurveServer {
                public: *public,
                secret: secret.clone(),
            },
            (Some(public), Some(secret), Some(server_public)) => MechanismConfig::CurveClient {
                server_public: *server_public,
                public: *public,
                secret: secret.clone(),
            },
            _ => {
                return Err(
                    "CURVE needs CURVE_PUBLICKEY and CURVE_SECRETKEY (and, for a \
                     client, CURVE_SERVERKEY): not connecting without encryption"
                        .into(),
                );
            }
        }
    } else if o.plain_server {
        MechanismConfig::PlainServer
    } else if let Some(username) = &o.plain_username {
        MechanismConfig::PlainClient {
            username: username.clone(),
            password: o.plain_password.clone().unwrap_or_default(),
        }
    } else {
        MechanismConfig::Null
    };
    // NULL asks ZAP only when a domain is set, as libzmq 4.3 (PLAIN and CURVE servers always).
    config.authenticate = !o.zap_domain.is_empty();
    config.max_msg_size = u64::try_from(o.maxmsgsize).ok();
    config.read_bodies_apart_from = Some(crate::io::READ_APART_FROM);
    config.handshake_timeout = positive_millis(o.handshake_ivl);
    config.heartbeat_interval = positive_millis(o.heartbeat_ivl);
    config.heartbeat_ttl = positive_millis(o.heartbeat_ttl);
    config.heartbeat_timeout = positive_millis(o.heartbeat_timeout);
    config.metadata = o.metadata.clone();
    Ok(config)
}

impl Socket {
    #[doc(hidden)]
    pub fn debug_state(&self) -> String {
        let mut state = self.shared.lock();
        let peers: Vec<String> = state
            .peers
            .iter()
            .map(|(k, slot)| {
                format!(
                    "peer {k}: {:?} sched={} stats={:?}",
                    slot.link,
                    slot.tx_scheduled,
                    state.pattern.peer_stats(PeerId(k))
                )
            })
            .collect();
        let (reply, answer) = std::sync::mpsc::channel();
        self.shared.io.submit(IoCommand::Dump(reply));
        let io = answer.recv().unwrap_or_default();
        format!(
            "id={} readable={} writable={} blocked={} peers={peers:#?}\nio:\n{io}",
            self.shared.id,
            state.pattern.is_readable(),
            state.pattern.is_writable(),
            state.blocked
        )
    }
}

/// How long a send waits on its core for room on a full inproc lane before it sleeps.
const LANE_AWAIT: Duration = Duration::from_micros(50);

/// How long a receive waits on its core for inproc traffic before it sleeps.
const INPROC_AWAIT: Duration = Duration::from_micros(20);

/// Waits up to [`INPROC_AWAIT`] until a peer on one of the links queues traffic for us,
/// reading only the links' hints; says whether one did.
fn await_inproc_traffic(links: &InprocLinks) -> bool {
    for (link, side) in links.iter() {
        link.ask_to_stage(side.other());
    }
    crate::awake::wait_until(INPROC_AWAIT, || any_inproc_traffic(links))
}

/// How long a receive waits on its core for a peer that queued traffic to stage it (see
/// `inproc`) before it pulls the traffic from the peer's machine: a streaming sender asked
/// to stage does so at its next send, well within this.
const STAGE_AWAIT: Duration = Duration::from_micros(2);

/// Whether a peer on one of the links staged or queued traffic for us since we last pulled
/// from it.
fn any_inproc_traffic(links: &InprocLinks) -> bool {
    links
        .iter()
        .any(|(link, side)| link.staged(side.other()) || link.queued_since_pull(side.other()))
}

/// Whether a peer on one of the links staged traffic for us that we have yet to take.
fn any_inproc_staged(links: &InprocLinks) -> bool {
    links.iter().any(|(link, side)| link.staged(side.other()))
}

/// Pulls what inproc peers have for a receive. With nothing staged but traffic queued by a
/// peer that streams, asks the peers to stage and waits a moment for them (see
/// [`STAGE_AWAIT`]): taking a staged batch needs neither the peer's lock nor its machine,
/// which a streaming peer is using.
/// Then pulls, from the peers' machines what they did not stage, and what they staged
/// unless the receive's next attempt takes it (`direct`).
fn pull_for_receive(links: &InprocLinks, direct: bool, effects: &mut Effects) {
    if !any_inproc_staged(links) {
        let mut queued = false;
        for (link, side) in links.iter() {
            if link.queued_since_pull(side.other()) && link.streams(side.other()) {
                link.ask_to_stage(side.other());
                queued = true;
            }
        }
        if queued {
            crate::awake::wait_until(STAGE_AWAIT, || any_inproc_staged(links));
        }
    }
    for &(ref link, side) in links.iter() {
        if !(direct && link.staged(side.other())) {
            link.pull(side.other(), effects);
        }
    }
}

/// Pulls what peers on the links queued for us (see [`crate::inproc::InprocLink::pull`]),
/// and runs what that sets off. Call without the socket's lock.
fn pull_inproc_links(links: &InprocLinks) {
    let mut effects = Effects::new();
    for &(ref link, side) in links.iter() {
        link.pull(side.other(), &mut effects);
    }
    run_effects(&mut effects);
}
