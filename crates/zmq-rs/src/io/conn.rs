//! One tcp or ipc connection: a transport stream, its ZMTP session, and its buffers.
//!
//! Servicing a connection alternates three steps until none makes progress:
//! deliver what was decoded (as long as the pattern's inbound queue for the peer has room),
//! read and decode more, and pull queued traffic from the pattern, encode it and write it.
//! Reads are large and decoded in place (frames leave as `Bytes` slices of the read buffer);
//! writes gather many messages into one vectored write of two loopback TCP segments
//! (`WRITE_BATCH`), cut there even inside a large frame.

use std::collections::VecDeque;
use std::io::{IoSlice, Read, Write};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use mio::{Interest, Token};
use patterns::{AttachInfo, PeerId, PeerInfo};
use transports::Stream;
use zmtp_proto::{HandshakeFailure, Session, SessionEvent, Traffic, TxBuf};

use super::{ConnLink, ConnRef, Entity, IoCommand, IoLoop, Origin, TimerKey};
use crate::core::{Effects, PeerLink, PeerSlot, SocketShared, run_effects};
use crate::monitor::SocketEvent;
use crate::zap::Decision;

/// Bytes asked of the kernel per read, at most.
const READ_CHUNK: usize = 64 * 1024;
/// A frame body of at least this many octets, arriving over several reads, is read straight
/// into a buffer of its size (`Session::awaited_body`) instead of growing the read buffer
/// around it: what arrived before is copied once (a read's worth at most), no buffer grows
/// past malloc's mmap threshold (faulted in and unmapped at every message), and the payload
/// owns its memory, which `Message::buffer`'s pool takes back for the next one.
pub(crate) const READ_APART_FROM: usize = 16 * 1024;
/// ... and at most this many: a body a peer announces larger costs memory only as it
/// arrives, in reads of the usual size.
const READ_APART_UP_TO: usize = crate::recycle::MAX_SIZE;
/// Bytes asked per read at first: an idle connection holds little memory, and a busy one
/// doubles its reads up to [`READ_CHUNK`].
const FIRST_READ: usize = 8 * 1024;
/// Below this much free room, a read starts a new buffer instead of reading a sliver.
const MIN_READ: usize = 8 * 1024;
/// Stop pulling traffic from the pattern once this much is waiting to be written, and write
/// no more than this per call: two full TCP segments on Linux loopback (MTU 65536, MSS 65483
/// with timestamps). With TCP_NODELAY every write ends its last segment, so a write a little
/// over a segment (a 64 KiB message and its header) sends a tail of a few hundred octets as a
/// segment of its own, which costs loopback as much as a full one: writes of exactly 64 KiB
/// are five times slower than writes a little under. Against writes of a little under 64 KiB,
/// two segments' worth took 64 KiB messages from 46-48 K to 49-52 K a second (half the
/// calls); 64-octet ones are unchanged (8.0 and 8.1 M, medians of ten runs). Elsewhere (MSS
/// 1448 on Ethernet) the tail is one small segment in ninety.
const WRITE_BATCH: usize = 2 * 65483;
/// Encode more only while less than this waits to be written. More waiting means the kernel
/// took part of the last batch and has no room now; encoding behind it would only make the
/// transmit buffer move the unwritten rest to make room.
const REFILL_BELOW: usize = 8 * 1024;
/// Events decoded before delivering them to the pattern under one lock.
const DELIVER_BATCH: usize = 1024;
/// Bytes a connection may move per service before yielding to others.
const SERVICE_BUDGET: usize = 4 * 1024 * 1024;
/// After writing less than this, an I/O thread yields its core before it takes the queue
/// again, unless other connections' events or commands wait in the same round. Small
/// messages reach it already framed (`Traffic::Framed`), so taking and writing them costs
/// it almost nothing per message, and left alone it would write every few messages as they
/// trickle in: each `writev` costs microseconds in the kernel (on loopback, the receiving
/// side's processing too), and 64-octet streams needed ten times the calls. Yielding lets a
/// sender on the same core queue a batch worth a call; with nobody waiting, it returns at
/// once. With other work waiting it does that work instead: a broker's threads waited on an
/// I/O thread that yielded after every small write (`broker_thr` -10%).
const COALESCE_BELOW: usize = 16 * 1024;
/// Slices handed to one vectored write.
const MAX_IOV: usize = 64;

/// What [`IoLoop::add_conn`] needs to know of a new connection.
pub(super) struct NewConn {
    pub socket: Arc<SocketShared>,
    pub stream: Stream,
    pub origin: Origin,
    /// The pipe it serves, when it already exists (a connecting socket's).
    pub peer: Option<PeerId>,
    pub endpoint: Arc<str>,
    pub peer_address: Option<String>,
    /// The transport connection is already up (accepted), so the session starts now.
    pub connected: bool,
}

pub(crate) struct Conn {
    pub generation: u64,
    /// Its key in the I/O thread's poll.
    pub token: usize,
    /// What the I/O thread's poll watches it for. Readable while the I/O thread reads it;
    /// writable once a write found the kernel's buffer full (and at first, for the connect).
    /// `None`: not registered at all (taken over by a user's thread, with nothing to write;
    /// see `direct.rs`).
    pub interest: Option<Interest>,
    pub stream: Stream,
    pub socket: Arc<SocketShared>,
    pub origin: Origin,
    /// None until the TCP connect completes (for connections we initiate).
    pub session: Option<Session>,
    pub rx: BytesMut,
    /// A large frame body being read straight into a buffer of its size, its header already
    /// taken off `rx` by the session (see `READ_APART_FROM`).
    awaited: Option<AwaitedBody>,
    /// How much the next read asks for (grows while reads fill it).
    pub read_size: usize,
    /// The last read returned less than it asked for: the kernel had nothing more then, and
    /// anything arriving since raises a new readiness event. No need to ask again until then.
    pub drained: bool,
    /// A readiness event said the peer closed its side: read on until the end, whatever
    /// `drained` says (the end of input raises no event of its own after a short read).
    pub hup_seen: bool,
    /// Stop reading at a short read (`drained`) instead of reading on until the kernel says
    /// it has nothing: set while a user's thread services the connection (see `direct`),
    /// where every read is latency.
    pub stop_when_drained: bool,
    pub tx: TxBuf,
    /// `tx.chunk_octets_written()` as last reported to the socket's pacing.
    chunks_reported: u64,
    /// Decoded traffic the pattern could not take yet.
    pub pending_in: VecDeque<Traffic>,
    /// Traffic taken from the pattern, not yet encoded.
    pub pending_out: VecDeque<Traffic>,
    /// The peer's pipe in the pattern, once attached (for a connecting socket, from the
    /// start: the pipe outlives connections).
    pub peer: Option<PeerId>,
    /// The handshake completed and the pattern was told.
    pub ready: bool,
    /// A STREAM socket's connection: raw bytes, no ZMTP session.
    pub raw: bool,
    pub peer_address: Option<String>,
    /// The endpoint this connection was accepted on or connected to (for monitor events).
    pub endpoint: Arc<str>,
    /// The peer's READY properties plus `Peer-Address`, attached to every received message.
    pub metadata: Option<Arc<zmtp_proto::Properties>>,
    /// The stream reported end of input.
    pub eof: bool,
    /// The session's next timer, as scheduled in the loop's heap.
    pub deadline: Option<Instant>,
    /// Set when the socket was closed: flush until then, then close.
    pub linger_until: Option<Option<Instant>>,
    /// The I/O thread closed it; a user thread holding a handle must leave it alone.
    pub closed: bool,
    /// A user's thread blocked in `recv` reads it (see `direct`); the I/O thread does not
    /// watch it for input meanwhile.
    pub direct: bool,
    /// The socket's options cannot make a session (an incomplete CURVE setup): close.
    pub refused: Option<String>,
    /// This connection's own cell, handed to the socket for direct writes.
    pub me: Weak<Mutex<Self>>,
}

/// A connection shared by its I/O thread and, for direct writes, the user's thread.
pub(crate) type ConnCell = Arc<Mutex<Conn>>;

/// Locks a connection (a poisoned lock is taken over: the state is valid between calls).
pub(crate) fn lock(cell: &Mutex<Conn>) -> MutexGuard<'_, Conn> {
    cell.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl IoLoop {
    /// Registers a new stream and starts its session (or waits for its connect to finish).
    /// The caller services it once it has recorded the returned reference.
    pub(super) fn add_conn(&mut self, new: NewConn) -> Option<ConnRef> {
        let NewConn {
            socket,
            mut stream,
            origin,
            peer,
            endpoint,
            peer_address,
            connected,
        } = new;
        let raw = socket.socket_type == zmtp_proto::SocketType::Stream;
        let generation = self.generation();
        let entry = self.entities.vacant_entry();
        let token = entry.key();
        self.poll
            .registry()
            .register(
                &mut stream,
                Token(token),
                Interest::READABLE | Interest::WRITABLE,
            )
            .ok()?;
        let mut conn = Conn {
            generation,
            token,
            interest: Some(Interest::READABLE | Interest::WRITABLE),
            stream,
            socket,
            origin,
            session: None,
            rx: BytesMut::new(),
            awaited: None,
            read_size: FIRST_READ,
            drained: false,
            hup_seen: false,
            stop_when_drained: false,
            tx: TxBuf::new(),
            chunks_reported: 0,
            pending_in: VecDeque::new(),
            pending_out: VecDeque::new(),
            peer,
            ready: false,
            raw,
            peer_address,
            endpoint,
            metadata: None,
            eof: false,
            deadline: None,
            linger_until: None,
            closed: false,
            direct: false,
            refused: None,
            me: Weak::new(),
        };
        if connected && !conn.raw {
            conn.start_session();
        }
        let cell = Arc::new_cyclic(|me| {
            conn.me = me.clone();
            Mutex::new(conn)
        });
        entry.insert(Entity::Conn(cell));
        Some(ConnRef { token, generation })
    }

    /// Does all the work a connection can do now.
    pub(super) fn service_conn(&mut self, token: usize) {
        let Some(cell) = self.conn_cell(token) else {
            return;
        };
        let mut effects = Effects::new();
        let outcome = {
            let mut conn = lock(&cell);
            let conn_ref = ConnRef {
                token,
                generation: conn.generation,
            };
            // With other work waiting (another connection's event or command), the thread has
            // it to do between this connection's writes: no yield.
            let may_coalesce = !self.more_work;
            conn.service(conn_ref, &mut effects, may_coalesce)
                .map(|again| again.then_some(conn_ref))
        };
        run_effects(&mut effects);
        match outcome {
            Ok(again) => {
                self.reschedule(token);
                if let Some(conn) = again {
                    std::thread::yield_now();
                    self.shared.submit(IoCommand::Flush(conn));
                }
            }
            Err(reason) => self.close_conn(token, Some(reason)),
        }
    }

    fn reschedule(&mut self, token: usize) {
        let Some(cell) = self.conn_cell(token) else {
            return;
        };
        let mut conn = lock(&cell);
        let mut next = conn.session.as_ref().and_then(Session::poll_timeout);
        if let Some(Some(linger)) = conn.linger_until {
            next = Some(next.map_or(linger, |n| n.min(linger)));
        }
        if next != conn.deadline {
            conn.deadline = next;
            if let Some(at) = next {
                let key = TimerKey::Conn(ConnRef {
                    token,
                    generation: conn.generation,
                });
                self.timers.schedule(at, key);
            }
        }
        let done = conn.linger_done();
        drop(conn);
        if done {
            self.close_conn(token, None);
        }
    }

    pub(super) fn conn_timeout(&mut self, token: usize, now: Instant) {
        let Some(cell) = self.conn_cell(token) else {
            return;
        };
        // `Some(reason)`: close, with a reason when the session failed.
        let close = {
            let mut guard = lock(&cell);
            let conn = &mut *guard;
            if matches!(conn.linger_until, Some(Some(linger)) if now >= linger) {
                Some(None)
            } else {
                match conn.session.as_mut().map(|s| s.handle_timeout(now)) {
                    Some(Err(e)) => {
                        if let Some(session) = conn.session.as_mut() {
                            session.poll_transmit(now, &mut conn.tx);
                        }
                        let _ = conn.write_some();
                        Some(Some(e.to_string()))
                    }
                    _ => None,
                }
            }
        };
        match close {
            Some(reason) => self.close_conn(token, reason),
            None => self.service_conn(token),
        }
    }

    /// The socket was closed: keep flushing this connection for at most `linger`.
    pub(super) fn start_linger(&mut self, token: usize, now: Instant, linger: Option<Duration>) {
        let Some(cell) = self.conn_cell(token) else {
            return;
        };
        let unready_accepted = {
            let mut conn = lock(&cell);
            conn.linger_until = Some(linger.map(|d| now + d));
            // A connection we initiate may still be handshaking: it flushes once ready.
            !conn.ready && conn.origin == Origin::Accepted
        };
        if linger == Some(Duration::ZERO) || unready_accepted {
            self.close_conn(token, None);
        } else {
            self.service_conn(token);
        }
    }

    /// Closes a connection and tells the socket's pattern.
    pub(super) fn close_conn(&mut self, token: usize, _reason: Option<String>) {
        let Some(Entity::Conn(_)) = self.entities.get(token) else {
            return;
        };
        let Entity::Conn(cell) = self.entities.remove(token) else {
            return;
        };
        let mut conn = lock(&cell);
        conn.closed = true;
        let _ = self.poll.registry().deregister(&mut conn.stream);
        conn.report_close();
        let mut effects = Effects::new();
        let lingering = conn.linger_until.is_some();
        let mut kept_pipe = false;
        if let Some(peer) = conn.peer {
            let mut state = conn.socket.lock();
            // A lingering connection that could not deliver everything keeps the pipe, so
            // that its connecter can try again within LINGER.
            let delivered = conn.tx.is_empty()
                && conn.pending_out.is_empty()
                && state
                    .peers
                    .get(peer.0)
                    .is_none_or(|slot| !slot.tx_scheduled);
            let expired = matches!(conn.linger_until, Some(Some(d)) if crate::clock::now() >= d);
            kept_pipe = matches!(conn.origin, Origin::Connected { .. })
                && !state.options.immediate
                && !(lingering && (delivered || expired));
            if kept_pipe {
                if let Some(slot) = state.peers.get_mut(peer.0) {
                    slot.link = PeerLink::Conn(None);
                    slot.tx_scheduled = true;
                }
                if conn.ready {
                    state
                        .pattern
                        .handle_peer_disconnected(crate::clock::now(), peer);
                }
            } else {
                conn.socket.detach_peer(&mut state, peer, &mut effects);
            }
            conn.socket.after_change(&mut state, &mut effects);
        }
        run_effects(&mut effects);
        if let Origin::Connected { connecter, .. } = conn.origin {
            if let Some(c) = self.connecters.get_mut(connecter)
                && c.conn.map(|r| r.token) == Some(token)
            {
                c.peer = if kept_pipe { conn.peer } else { None };
            }
            self.schedule_reconnect(connecter);
        }
    }
}

impl Conn {
    pub(super) fn describe(&self) -> String {
        format!(
            "socket {} gen {} origin {:?} peer {:?} ready {} session {:?} rx {} tx {} pending_in {} eof {}",
            self.socket.id,
            self.generation,
            self.origin,
            self.peer,
            self.ready,
            self.session.as_ref().map(|s| (s.is_ready(), s.is_closed())),
            self.rx.len(),
            self.tx.len(),
            self.pending_in.len(),
            self.eof
        )
    }

    /// Reports the end of the connection to the monitor: a failed handshake, then the
    /// disconnection (or, for a connect that never completed, the closed descriptor).
    fn report_close(&self) {
        let monitor = &self.socket.monitor;
        let Some(session) = &self.session else {
            monitor.emit(SocketEvent::Closed, self.fd(), &self.endpoint);
            return;
        };
        match session.handshake_failure() {
            Some(HandshakeFailure::NoDetail) => {
                monitor.emit(SocketEvent::HandshakeFailedNoDetail, 0, &self.endpoint);
            }
            Some(HandshakeFailure::Protocol(code)) => {
                monitor.emit(
                    SocketEvent::HandshakeFailedProtocol,
                    code.to_raw(),
                    &self.endpoint,
                );
            }
            Some(HandshakeFailure::Auth { status_code }) => {
                monitor.emit(
                    SocketEvent::HandshakeFailedAuth,
                    u32::from(status_code),
                    &self.endpoint,
                );
            }
            _ => {}
        }
        monitor.emit(SocketEvent::Disconnected, self.fd(), &self.endpoint);
    }

    fn start_session(&mut self) {
        match crate::socket::session_config(&self.socket) {
            Ok(config) => self.session = Some(Session::new(crate::clock::now(), config)),
            Err(reason) => self.refused = Some(reason),
        }
    }

    /// True once a closed socket's connection has nothing left to send.
    fn linger_done(&self) -> bool {
        if self.linger_until.is_none() || !self.tx.is_empty() || !self.pending_out.is_empty() {
            return false;
        }
        let Some(peer) = self.peer else {
            return true;
        };
        if !self.ready {
            // A connection we initiate is still handshaking: deliver once it is up.
            return false;
        }
        let state = self.socket.lock();
        state
            .peers
            .get(peer.0)
            .is_none_or(|slot| !slot.tx_scheduled)
    }

    /// Reads, delivers and writes until nothing moves. With `may_coalesce` (the I/O thread,
    /// when no other connection's work waits) it stops after a small write, `Ok(true)`, to be
    /// serviced again once the thread has yielded its core (see `COALESCE_BELOW`).
    pub(super) fn service(
        &mut self,
        me: ConnRef,
        effects: &mut Effects,
        may_coalesce: bool,
    ) -> Result<bool, String> {
        if let Some(reason) = &self.refused {
            return Err(reason.clone());
        }
        if self.session.is_none() && !(self.raw && self.ready) {
            // A connect in progress: it is done when the stream is writable without error.
            match self.stream.take_error() {
                Ok(None) => {}
                Ok(Some(e)) | Err(e) => return Err(format!("connect failed: {e}")),
            }
            match self.stream.connect_status() {
                Ok(transports::ConnectStatus::Connected) => {}
                Ok(_) => return Ok(false),
                Err(e) => return Err(format!("connect failed: {e}")),
            }
            if self.peer_address.is_none() {
                // A connection we initiated (an accepted one knows its peer already).
                self.peer_address = self.stream.peer_address().ok();
                self.socket
                    .monitor
                    .emit(SocketEvent::Connected, self.fd(), &self.endpoint);
            }
            if self.raw {
                // STREAM: no handshake, the peer is there as soon as TCP is.
                let info = PeerInfo {
                    socket_type: zmtp_proto::SocketType::Stream,
                    routing_id: None,
                };
                self.attach_peer(me, info, zmtp_proto::Properties::new(), effects)?;
            } else {
                self.start_session();
                if let Some(reason) = &self.refused {
                    return Err(reason.clone());
                }
            }
        }
        let mut moved = 0;
        let mut coalesce = false;
        // Called on a readiness event or a command: read at least once.
        self.drained = false;
        loop {
            let before = moved;
            moved += self.input(me, effects)?;
            let wrote = self.output(me, effects)?;
            moved += wrote;
            if moved == before {
                break;
            }
            if may_coalesce && wrote > 0 && wrote < COALESCE_BELOW {
                // A small batch written: yield before taking more (see `COALESCE_BELOW`).
                // Input was read up to what the kernel had.
                coalesce = true;
                break;
            }
            if moved >= SERVICE_BUDGET {
                // Yield to the other connections, and come back: edge-triggered readiness
                // will not say again that this one has more to do.
                self.socket.io.submit(IoCommand::Flush(me));
                break;
            }
        }
        if self.eof && self.pending_in.is_empty() {
            return Err("the peer closed the connection".into());
        }
        Ok(coalesce)
    }

    /// Delivers pending traffic, then reads and decodes. Returns bytes read.
    fn input(&mut self, me: ConnRef, effects: &mut Effects) -> Result<usize, String> {
        if !self.deliver_pending(effects) {
            // Not looking now: whatever the last read found may be stale by the time we do.
            self.drained = false;
            return Ok(0);
        }
        if self.eof || (self.stop_when_drained && self.drained && !self.hup_seen) {
            // Nothing more will arrive (or has arrived), but what did may not be decoded
            // yet (the pattern was full): finish it first.
            if !self.raw {
                self.decode(me, effects)?;
            }
            return Ok(0);
        }
        if let Some(read) = self.read_awaited_body(me, effects)? {
            return Ok(read);
        }
        let start = self.rx.len();
        if self.rx.capacity() - start < MIN_READ.min(self.read_size) {
            // Frames already handed out keep the old buffer alive: start a new one. Buffers
            // stay below malloc's mmap threshold so that they are recycled, not faulted in.
            self.rx.reserve(self.read_size);
        }
        let room = (self.rx.capacity() - start).min(self.read_size);
        self.rx.resize(start + room, 0);
        let (read, drained) = match read_once(&mut self.stream, &mut self.rx[start..]) {
            Ok(ReadOutcome::Some { read, drained }) => (read, drained),
            Ok(ReadOutcome::End) => {
                self.eof = true;
                (0, true)
            }
            Err(e) => {
                self.rx.truncate(start);
                return Err(format!("read failed: {e}"));
            }
        };
        self.rx.truncate(start + read);
        self.drained = drained;
        if read == room && self.read_size < READ_CHUNK {
            self.read_size *= 2;
        }
        if self.raw {
            if !self.rx.is_empty() {
                let chunk = self.rx.split().freeze();
                self.pending_in
                    .push_back(Traffic::Message(zmtp_proto::Msg::single(chunk)));
                self.deliver_pending(effects);
            }
            return Ok(read);
        }
        self.decode(me, effects)?;
        Ok(read)
    }

    /// Reads a large frame's body straight into a buffer of its size (see `READ_APART_FROM`),
    /// and decodes it once whole. `None` when no such body is awaited: read as usual.
    fn read_awaited_body(
        &mut self,
        me: ConnRef,
        effects: &mut Effects,
    ) -> Result<Option<usize>, String> {
        if self.awaited.is_none() {
            let Some(len) = self.session.as_ref().and_then(Session::awaited_body) else {
                return Ok(None);
            };
            if !(READ_APART_FROM..=READ_APART_UP_TO).contains(&len) || self.rx.len() >= len {
                return Ok(None);
            }
            // The start of the body, alone at the front of `rx`, moves to the new buffer;
            // `rx` keeps its room for the reads after this body.
            let mut body = crate::recycle::take_filled(len);
            let have = self.rx.len();
            body[..have].copy_from_slice(&self.rx);
            self.rx.clear();
            self.awaited = Some(AwaitedBody { body, filled: have });
        }
        let Some(awaited) = self.awaited.as_mut() else {
            return Ok(None);
        };
        let (read, drained) = match read_once(&mut self.stream, &mut awaited.body[awaited.filled..])
        {
            Ok(ReadOutcome::Some { read, drained }) => (read, drained),
            Ok(ReadOutcome::End) => {
                self.eof = true;
                (0, true)
            }
            Err(e) => return Err(format!("read failed: {e}")),
        };
        awaited.filled += read;
        self.drained = drained;
        if read > 0
            && let Some(session) = self.session.as_mut()
        {
            session.handle_body_progress();
        }
        if awaited.filled == awaited.body.len()
            && let Some(whole) = self.awaited.take()
        {
            let spare = std::mem::replace(&mut self.rx, whole.body);
            self.decode(me, effects)?;
            if self.rx.is_empty() {
                self.rx = spare;
            }
            // The next frame is likely as large: a short read finds its header, and little
            // of its body to copy.
            self.read_size = FIRST_READ;
        }
        Ok(Some(read))
    }

    /// Decodes what was read and hands it to the pattern, in batches under one lock.
    fn decode(&mut self, me: ConnRef, effects: &mut Effects) -> Result<(), String> {
        let now = crate::clock::now();
        loop {
            let Some(session) = self.session.as_mut() else {
                return Ok(());
            };
            let mut progressed = false;
            let mut ready = None;
            loop {
                let queued = self.pending_in.len();
                let event =
                    session.poll_traffic(now, &mut self.rx, &mut self.pending_in, DELIVER_BATCH);
                progressed |= self.pending_in.len() > queued;
                match event {
                    Ok(Some(SessionEvent::Traffic(t))) => {
                        // `poll_traffic` queues traffic itself; kept for completeness.
                        self.pending_in.push_back(t);
                        progressed = true;
                    }
                    Ok(Some(SessionEvent::Ready(handshake))) => {
                        ready = Some(handshake);
                        break;
                    }
                    Ok(Some(SessionEvent::Authenticate(request))) => {
                        let decision = crate::zap::authenticate(
                            &self.socket,
                            &request,
                            &self.socket.io,
                            me,
                            self.peer_address.as_deref(),
                        );
                        if let Decision::Now(result) = decision {
                            session.handle_auth(now, result);
                        }
                        progressed = true;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        session.poll_transmit(now, &mut self.tx);
                        let _ = self.write_some();
                        // What the peer sent before the bad bytes is delivered, as far as the
                        // pattern takes it (libzmq hands each message on as it decodes it).
                        self.deliver_pending(effects);
                        return Err(e.to_string());
                    }
                }
            }
            if let Some(handshake) = ready {
                self.on_ready(me, handshake, effects)?;
                progressed = true;
            }
            if !self.deliver_pending(effects) || !progressed {
                return Ok(());
            }
        }
    }

    /// Hands decoded traffic to the pattern while it has room. False when it is full.
    fn deliver_pending(&mut self, effects: &mut Effects) -> bool {
        if self.pending_in.is_empty() {
            return true;
        }
        let Some(peer) = self.peer else {
            // Traffic before attachment cannot happen (the session emits Ready first); a
            // detached peer's traffic is dropped.
            self.pending_in.clear();
            return true;
        };
        let now = crate::clock::now();
        self.refresh_metadata();
        let mut state = self.socket.lock();
        state.recent_now = now;
        // Room is asked once per run of deliveries, not once per message; each delivery
        // takes at most one place in the queue, so a run stays within it.
        while !self.pending_in.is_empty() {
            let room = state.pattern.receive_room(peer);
            if room == 0 {
                break;
            }
            for traffic in self.pending_in.iter_mut().take(room) {
                if let Traffic::Message(msg) = traffic {
                    msg.set_metadata(self.metadata.clone());
                }
            }
            let taken = state
                .pattern
                .handle_traffic_batch(now, peer, &mut self.pending_in, room);
            if taken == 0 {
                break;
            }
        }
        self.socket.after_change(&mut state, effects);
        self.pending_in.is_empty()
    }

    /// Before a large batch, gives the connection's metadata a handle of its own if the user
    /// still holds messages carrying the current one. Every message clones the handle (an
    /// atomic increment here) and the user's thread drops it (a decrement there): sharing one
    /// counter would bounce its cache line between the two cores once per message.
    fn refresh_metadata(&mut self) {
        const BATCH: usize = 32;
        if self.pending_in.len() >= BATCH
            && let Some(metadata) = &self.metadata
            && Arc::strong_count(metadata) > 1
        {
            self.metadata = Some(Arc::new((**metadata).clone()));
        }
    }

    fn on_ready(
        &mut self,
        me: ConnRef,
        handshake: zmtp_proto::Handshake,
        effects: &mut Effects,
    ) -> Result<(), String> {
        let info = PeerInfo {
            socket_type: handshake.socket_type,
            routing_id: handshake.routing_id.clone(),
        };
        self.attach_peer(me, info, (*handshake.properties).clone(), effects)?;
        self.socket
            .monitor
            .emit(SocketEvent::HandshakeSucceeded, 0, &self.endpoint);
        Ok(())
    }

    /// Gives the peer a pipe in the pattern (or reuses the one a connecting socket keeps)
    /// and reports it connected.
    fn attach_peer(
        &mut self,
        me: ConnRef,
        info: PeerInfo,
        mut properties: zmtp_proto::Properties,
        effects: &mut Effects,
    ) -> Result<(), String> {
        let now = crate::clock::now();
        if let Some(address) = &self.peer_address {
            properties.insert(
                bytes::Bytes::from_static(b"Peer-Address"),
                bytes::Bytes::copy_from_slice(address.as_bytes()),
            );
        }
        self.metadata = Some(Arc::new(properties));
        let mut state = self.socket.lock();
        let existing = match self.origin {
            Origin::Connected { owner, .. } => self.peer.filter(|p| {
                matches!(state.peers.get(p.0), Some(slot) if slot.owner == owner
                    && matches!(slot.link, PeerLink::Conn(None)))
            }),
            Origin::Accepted => None,
        };
        let peer = match existing {
            Some(peer) => peer,
            None => {
                let owner = match self.origin {
                    Origin::Connected { owner, .. } => owner,
                    Origin::Accepted => 0,
                };
                let entry = state.peers.vacant_entry();
                let peer = PeerId(entry.key());
                entry.insert(PeerSlot {
                    link: PeerLink::Conn(None),
                    tx_scheduled: false,
                    owner,
                    label: self.label(),
                    lane: crate::core::LaneCounts::default(),
                });
                let packs_frames = state.options.sends_plain_frames(self.socket.socket_type);
                let connect_routing_id = match self.origin {
                    Origin::Connected { .. } => state.options.connect_routing_id.take(),
                    Origin::Accepted => None,
                };
                state.pattern.handle_peer_attached(
                    now,
                    peer,
                    AttachInfo {
                        locally_initiated: matches!(self.origin, Origin::Connected { .. }),
                        connect_routing_id,
                        packs_frames,
                    },
                );
                peer
            }
        };
        if let Some(slot) = state.peers.get_mut(peer.0) {
            slot.link = PeerLink::Conn(self.me.upgrade().map(|cell| ConnLink { at: me, cell }));
            slot.tx_scheduled = true;
            slot.label = self.label();
        }
        self.peer = Some(peer);
        self.ready = true;
        let result = state.pattern.handle_peer_connected(now, peer, info);
        if let Err(e) = result {
            self.socket.detach_peer(&mut state, peer, effects);
            self.peer = None;
            self.ready = false;
            self.socket.after_change(&mut state, effects);
            return Err(format!("peer refused: {e}"));
        }
        self.socket.after_change(&mut state, effects);
        Ok(())
    }

    /// The endpoint, and the peer's address after a space when known.
    fn label(&self) -> Arc<str> {
        match &self.peer_address {
            Some(address) => Arc::from(format!("{} {address}", self.endpoint)),
            None => self.endpoint.clone(),
        }
    }

    /// The file descriptor, as monitor events report it.
    pub(super) fn fd(&self) -> u32 {
        self.stream.socket().as_raw_fd() as u32
    }

    /// Pulls queued traffic from the pattern into the transmit buffer and writes.
    /// Returns bytes written.
    pub(super) fn output(&mut self, _me: ConnRef, effects: &mut Effects) -> Result<usize, String> {
        let now = crate::clock::now();
        let ready = match self.session.as_mut() {
            Some(session) => {
                session.poll_transmit(now, &mut self.tx);
                session.is_ready()
            }
            None => self.raw && self.ready,
        };
        if ready && let Some(peer) = self.peer {
            // Payloads written are handed to `Message::buffer` for reuse while it is used.
            self.tx.keep_spent(crate::recycle::in_use());
            if self.tx.len() >= REFILL_BELOW {
                return self.write_some();
            }
            if self.pending_out.is_empty() {
                // Take the peer's whole queue in one short critical section; it is encoded
                // below a batch at a time.
                let mut state = self.socket.lock();
                state.recent_now = now;
                if state
                    .pattern
                    .poll_transmit_batch(peer, &mut self.pending_out)
                    > 0
                {
                    self.socket.after_change(&mut state, effects);
                } else if let Some(slot) = state.peers.get_mut(peer.0) {
                    slot.tx_scheduled = false;
                }
            }
            match self.session.as_mut() {
                Some(session) => {
                    session.send_batch(&mut self.pending_out, &mut self.tx, WRITE_BATCH);
                }
                // STREAM: the data frame goes out as it is.
                None => {
                    while self.tx.len() < WRITE_BATCH {
                        let Some(traffic) = self.pending_out.pop_front() else {
                            break;
                        };
                        let tx = &mut self.tx;
                        let mut put = |msg: zmtp_proto::Msg| {
                            msg.into_frames().for_each(|frame| tx.put_bytes(frame));
                        };
                        match traffic {
                            Traffic::Message(msg) => put(msg),
                            // Never packed for STREAM (see `sends_plain_frames`); were it, its
                            // messages would still go out as they are.
                            Traffic::Framed(framed) => framed.into_messages().for_each(put),
                            _ => {}
                        }
                    }
                }
            }
        }
        self.write_some()
    }

    /// Changes what the I/O thread's poll watches this connection for. Arming an interest
    /// reports a readiness that is already there, so nothing that happened before is missed.
    pub(super) fn set_interest(&mut self, interest: Option<Interest>) -> Result<(), String> {
        if interest == self.interest || self.closed {
            return Ok(());
        }
        let registry = &self.socket.io.registry;
        let token = Token(self.token);
        match (self.interest, interest) {
            (Some(_), Some(wanted)) => registry.reregister(&mut self.stream, token, wanted),
            (None, Some(wanted)) => registry.register(&mut self.stream, token, wanted),
            (_, None) => registry.deregister(&mut self.stream),
        }
        .map_err(|e| format!("poll registration failed: {e}"))?;
        self.interest = interest;
        Ok(())
    }

    /// Writes as much of the transmit buffer as the kernel takes now.
    fn write_some(&mut self) -> Result<usize, String> {
        let mut written = 0;
        while !self.tx.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOV];
            let n = self.tx.io_slices_up_to(&mut slices, WRITE_BATCH);
            match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => return Err("the connection accepts no more bytes".into()),
                Ok(n) => {
                    self.tx.advance(n);
                    written += n;
                    if n == WRITE_BATCH
                        && self.tx.len() < REFILL_BELOW
                        && !self.pending_out.is_empty()
                    {
                        // The tail of a large frame, with more taken to send: written alone
                        // it would cross loopback as a segment of its own. The caller
                        // refills behind it first.
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if !self.interest.is_some_and(|i| i.is_writable()) {
                        let wanted = self
                            .interest
                            .map_or(Interest::WRITABLE, |i| i | Interest::WRITABLE);
                        self.set_interest(Some(wanted))?;
                    }
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("write failed: {e}")),
            }
        }
        crate::recycle::give_all(self.tx.drain_spent());
        let chunks = self.tx.chunk_octets_written();
        if chunks > self.chunks_reported {
            self.socket.pacing.wrote(chunks - self.chunks_reported);
            self.chunks_reported = chunks;
        }
        Ok(written)
    }
}

/// A large frame body being read into a buffer of its size (see `READ_APART_FROM`).
#[derive(Debug)]
struct AwaitedBody {
    /// Exactly the body's length; octets past `filled` are stale (a reused buffer) or zero.
    body: BytesMut,
    filled: usize,
}

/// What one read brought.
enum ReadOutcome {
    /// `read` octets (maybe none); `drained`: the kernel had no more (a short read, or
    /// nothing at all), so anything arriving raises a new readiness event.
    Some { read: usize, drained: bool },
    /// The peer closed its side.
    End,
}

/// Reads once into `buf` (non-blocking).
fn read_once(stream: &mut Stream, buf: &mut [u8]) -> std::io::Result<ReadOutcome> {
    let room = buf.len();
    match stream.read(buf) {
        Ok(0) => Ok(ReadOutcome::End),
        Ok(read) => Ok(ReadOutcome::Some {
            read,
            drained: read < room,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(ReadOutcome::Some {
            read: 0,
            drained: true,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(ReadOutcome::Some {
            read: 0,
            drained: false,
        }),
        Err(e) => Err(e),
    }
}
