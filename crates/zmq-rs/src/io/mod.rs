//! The I/O thread: the only code that owns mio, reads the clock for timers, and moves bytes
//! between the operating system and the sans-IO machines.
//!
//! Each I/O thread runs one loop:
//!
//! 1. wait in `mio::Poll` until a socket is ready, a command arrives, or the earliest timer;
//! 2. service every ready listener (accept) and connection (read, decode, deliver; pull,
//!    encode, write);
//! 3. run the commands other threads queued (flush a peer, resume reading, bind, connect,
//!    close), all of them in one batch;
//! 4. fire due timers (session handshake and heartbeat deadlines, reconnects, linger).
//!
//! Other threads hand work over with [`IoShared::submit`]: a push onto a mutex-protected
//! vector, plus one wake-up of the poll only if the loop is about to sleep or sleeping, so a
//! burst of sends costs one wake-up, not one per message.

mod conn;
mod direct;
mod timers;

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};
use patterns::PeerId;
use slab::Slab;
use transports::{Backoff, Endpoint, Listener};

use crate::core::{Effects, SocketShared};
use crate::monitor::SocketEvent;
use conn::NewConn;
pub(crate) use conn::{ConnCell, READ_APART_FROM};
pub(crate) use direct::{DirectReceive, DirectStep, DirectWait, direct_flush, resume_read_here};
use timers::{TimerKey, Timers};

const WAKER: Token = Token(usize::MAX);

/// Linux's EINPROGRESS, the value libzmq gives CONNECT_DELAYED.
const EINPROGRESS: u32 = 115;

/// Names one connection on an I/O thread; the generation tells a reused slot apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ConnRef {
    token: usize,
    generation: u64,
}

/// A peer's connection as its socket knows it: the name, and the connection itself for
/// direct writes from the user's thread.
#[derive(Clone)]
pub(crate) struct ConnLink {
    pub at: ConnRef,
    pub cell: ConnCell,
}

impl std::fmt::Debug for ConnLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.at.fmt(f)
    }
}

/// Work handed to an I/O thread by other threads.
#[derive(Debug)]
pub(crate) enum IoCommand {
    /// The peer on this connection has traffic queued.
    Flush(ConnRef),
    /// The peer's inbound queue has room again.
    ResumeRead(ConnRef),
    /// A user's thread keeps this connection taken over between `recv` calls: take it back
    /// if that lasts (see `direct`).
    WatchLease(ConnRef),
    /// The pattern dropped this connection's peer: close it.
    Close(ConnRef),
    /// The ZAP handler answered this connection's authentication request.
    AuthReply(ConnRef, zmtp_proto::AuthResult),
    /// Accept connections for a socket.
    Listen(Box<ListenRequest>),
    /// Keep a socket connected to an endpoint (reconnecting as configured).
    Connect(Box<ConnectRequest>),
    /// Stop listening on an endpoint; the reply says whether the socket was bound to it.
    Unbind {
        socket_id: u64,
        endpoint: String,
        reply: std::sync::mpsc::Sender<bool>,
    },
    /// Stop connecting to an endpoint; the reply says whether the socket was connected to it.
    Disconnect {
        socket_id: u64,
        endpoint: String,
        reply: std::sync::mpsc::Sender<bool>,
    },
    /// The user closed the socket: stop listening and reconnecting, linger, then close.
    CloseSocket(Arc<SocketShared>),
    /// The context is going away: finish lingering, then end the thread.
    Shutdown,
    /// Debugging aid: describe every listener and connection on this thread.
    Dump(std::sync::mpsc::Sender<String>),
}

impl IoCommand {
    /// The connection this command asks to flush, if it is a flush.
    fn flushed(&self) -> Option<ConnRef> {
        match self {
            Self::Flush(conn) => Some(*conn),
            _ => None,
        }
    }
}

/// For each of a round's `commands`, whether other work follows it in the round: any later
/// command but a flush of the connection it flushes (that connection's own stream). In one
/// pass from the end.
fn other_work_after(commands: &[IoCommand], more: &mut Vec<bool>) {
    more.clear();
    more.resize(commands.len(), false);
    // What follows the current command: `None` while nothing does; else the connection all
    // of it flushes, or `None` inside when it is anything else.
    let mut after: Option<Option<ConnRef>> = None;
    for (i, command) in commands.iter().enumerate().rev() {
        let this = command.flushed();
        more[i] = match after {
            None => false,
            Some(only) => this.is_none() || only != this,
        };
        after = Some(match after {
            None => this,
            Some(only) if only == this => this,
            Some(_) => None,
        });
    }
}

/// A bound listener to serve.
#[derive(Debug)]
pub(crate) struct ListenRequest {
    pub socket: Arc<SocketShared>,
    pub listener: Listener,
    pub endpoint: String,
}

/// An endpoint to stay connected to.
#[derive(Debug)]
pub(crate) struct ConnectRequest {
    pub socket: Arc<SocketShared>,
    /// The pipe made at `connect` time (`None` with IMMEDIATE).
    pub peer: Option<PeerId>,
    /// Marks that pipe (see `PeerSlot::owner`).
    pub owner: u64,
    pub endpoint: Endpoint,
    pub endpoint_str: String,
}

/// The part of an I/O thread other threads talk to.
#[derive(Debug)]
pub(crate) struct IoShared {
    waker: Waker,
    /// The thread's poll registry, for a user's thread that takes over reading one of its
    /// connections (see `direct`).
    registry: mio::Registry,
    commands: Mutex<Vec<IoCommand>>,
    /// True while the loop may be blocked in `poll` (or about to be).
    sleeping: AtomicBool,
}

impl IoShared {
    /// Queues a command and wakes the loop if it sleeps.
    pub fn submit(&self, command: IoCommand) {
        self.commands
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(command);
        if self.sleeping.swap(false, Ordering::SeqCst) {
            // A failed wake-up leaves the command queued for the next poll timeout; nothing
            // better can be done, and the eventfd write does not fail in practice.
            let _ = self.waker.wake();
        }
    }

    /// Whether the loop is asleep with nothing asked of it: no other connection keeps it
    /// busy, so a user's thread reading its own connection spares it nothing (see `direct`).
    pub fn is_idle(&self) -> bool {
        self.sleeping.load(Ordering::SeqCst)
    }

    /// Moves every queued command to the end of `into`.
    fn take_commands(&self, into: &mut Vec<IoCommand>) {
        let mut queue = self
            .commands
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if into.is_empty() {
            std::mem::swap(&mut *queue, into);
        } else {
            into.append(&mut queue);
        }
    }
}

/// An I/O thread: its shared handle and its join handle.
#[derive(Debug)]
pub(crate) struct IoThread {
    pub shared: Arc<IoShared>,
    join: Option<JoinHandle<()>>,
}

impl IoThread {
    pub fn spawn(index: usize) -> std::io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let shared = Arc::new(IoShared {
            waker,
            registry: poll.registry().try_clone()?,
            commands: Mutex::new(Vec::new()),
            sleeping: AtomicBool::new(false),
        });
        let mut io_loop = IoLoop {
            poll,
            shared: shared.clone(),
            entities: Slab::new(),
            more_work: false,
            connecters: Slab::new(),
            timers: Timers::default(),
            next_generation: 1,
            shutting_down: false,
            jitter: Jitter::seeded(index),
        };
        let join = std::thread::Builder::new()
            .name(format!("zmq-rs-io-{index}"))
            .spawn(move || io_loop.run())?;
        Ok(Self {
            shared,
            join: Some(join),
        })
    }

    /// Asks the thread to finish and waits for it.
    pub fn shutdown(&mut self) {
        self.shared.submit(IoCommand::Shutdown);
        if let Some(join) = self.join.take() {
            let _ = join.join();
        }
    }
}

enum Entity {
    Listener {
        listener: Listener,
        socket: Arc<SocketShared>,
        endpoint: String,
    },
    Conn(ConnCell),
}

/// Where a connection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Accepted,
    Connected { connecter: usize, owner: u64 },
}

/// A socket's wish to stay connected to one endpoint.
struct Connecter {
    socket: Arc<SocketShared>,
    /// The pipe the pattern keeps across reconnects (`None` with IMMEDIATE, or once detached).
    peer: Option<PeerId>,
    /// Marks the pipe this connecter created (see `PeerSlot::owner`).
    owner: u64,
    endpoint: Endpoint,
    endpoint_str: String,
    backoff: Backoff,
    conn: Option<ConnRef>,
    generation: u64,
    /// Set once the socket is closed while traffic is still queued for this endpoint: keep
    /// (re)connecting until it is delivered or the LINGER deadline (`None`: forever) passes.
    closing: Option<Option<Instant>>,
}

struct IoLoop {
    poll: Poll,
    shared: Arc<IoShared>,
    entities: Slab<Entity>,
    /// More events or commands of the current round wait behind the one being handled.
    more_work: bool,
    connecters: Slab<Connecter>,
    timers: Timers,
    next_generation: u64,
    shutting_down: bool,
    jitter: Jitter,
}

/// A small xorshift generator for reconnect jitter (libzmq randomises reconnect delays so
/// that many peers do not reconnect in lockstep). Not for anything secret.
struct Jitter(u64);

impl Jitter {
    fn seeded(index: usize) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self((nanos ^ ((index as u64) << 32)) | 1)
    }

    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 32) as u32
    }
}

impl IoLoop {
    fn run(&mut self) {
        let mut events = Events::with_capacity(256);
        let mut commands = Vec::new();
        // Whether other work follows each command of a round (see `other_work_after`).
        let mut more_work = Vec::new();
        loop {
            let now = crate::clock::now();
            self.fire_timers(now);
            self.shared.take_commands(&mut commands);
            if !commands.is_empty() {
                other_work_after(&commands, &mut more_work);
                for (command, more) in commands.drain(..).zip(more_work.iter()) {
                    self.more_work = *more;
                    self.handle_command(command);
                }
                continue;
            }
            if self.shutting_down && self.entities.is_empty() && self.connecters.is_empty() {
                return;
            }
            // Announce sleep, then look once more for commands that raced with it.
            self.shared.sleeping.store(true, Ordering::SeqCst);
            self.shared.take_commands(&mut commands);
            if !commands.is_empty() {
                self.shared.sleeping.store(false, Ordering::SeqCst);
                continue;
            }
            let timeout = self
                .timers
                .next()
                .map(|at| at.saturating_duration_since(crate::clock::now()));
            let polled = self.poll.poll(&mut events, timeout);
            self.shared.sleeping.store(false, Ordering::SeqCst);
            if let Err(e) = polled {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                // The poll itself failed: nothing can be serviced. Back off briefly rather
                // than spin, and keep trying (this has not been seen in practice).
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            let last = events
                .iter()
                .enumerate()
                .filter(|(_, e)| e.token() != WAKER)
                .map(|(i, _)| i)
                .last();
            for (i, event) in events.iter().enumerate() {
                let token = event.token();
                if token == WAKER {
                    continue;
                }
                self.more_work = last.is_some_and(|last| last > i);
                self.handle_event(token.0, event.is_read_closed() || event.is_error());
            }
        }
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    /// Services what became ready; `hup`: the event said the peer closed or the connection
    /// failed.
    fn handle_event(&mut self, token: usize, hup: bool) {
        match self.entities.get_mut(token) {
            Some(Entity::Listener { .. }) => self.accept(token),
            Some(Entity::Conn(cell)) => {
                if hup {
                    conn::lock(cell).hup_seen = true;
                }
                self.service_conn(token);
            }
            None => {}
        }
    }

    /// The connection at `token`, whatever its generation.
    fn conn_cell(&self, token: usize) -> Option<ConnCell> {
        match self.entities.get(token) {
            Some(Entity::Conn(c)) => Some(c.clone()),
            _ => None,
        }
    }

    /// The connection `conn` names, if it is still that one.
    fn conn_of(&self, conn: ConnRef) -> Option<ConnCell> {
        self.conn_cell(conn.token)
            .filter(|c| conn::lock(c).generation == conn.generation)
    }

    fn handle_command(&mut self, command: IoCommand) {
        match command {
            IoCommand::Flush(conn) | IoCommand::ResumeRead(conn) => {
                if self.conn_of(conn).is_some() {
                    self.service_conn(conn.token);
                }
            }
            IoCommand::AuthReply(conn, result) => {
                if let Some(cell) = self.conn_of(conn) {
                    if let Some(session) = conn::lock(&cell).session.as_mut() {
                        session.handle_auth(crate::clock::now(), result);
                    }
                    self.service_conn(conn.token);
                }
            }
            IoCommand::WatchLease(conn) => {
                let at = crate::clock::now() + direct::LEASE;
                self.timers.schedule(at, TimerKey::DirectLease(conn));
            }
            IoCommand::Close(conn) => {
                if let Some(cell) = self.conn_of(conn) {
                    // The pattern already forgot the peer.
                    conn::lock(&cell).peer = None;
                    self.close_conn(conn.token, None);
                }
            }
            IoCommand::Listen(request) => {
                let ListenRequest {
                    socket,
                    listener,
                    endpoint,
                } = *request;
                self.listen(socket, listener, endpoint);
            }
            IoCommand::Connect(request) => {
                let ConnectRequest {
                    socket,
                    peer,
                    owner,
                    endpoint,
                    endpoint_str,
                } = *request;
                let options = socket.lock().options.clone();
                let backoff = Backoff::new(options.reconnect_ivl, options.reconnect_ivl_max);
                let generation = self.generation();
                let key = self.connecters.insert(Connecter {
                    socket,
                    peer,
                    owner,
                    endpoint,
                    endpoint_str,
                    backoff,
                    conn: None,
                    generation,
                    closing: None,
                });
                self.start_connect(key);
            }
            IoCommand::Unbind {
                socket_id,
                endpoint,
                reply,
            } => {
                let found = self.entities.iter().find_map(|(token, e)| match e {
                    Entity::Listener {
                        socket,
                        endpoint: ep,
                        ..
                    } if socket.id == socket_id && *ep == endpoint => Some(token),
                    _ => None,
                });
                if let Some(token) = found {
                    self.remove_listener(token);
                }
                let _ = reply.send(found.is_some());
            }
            IoCommand::Disconnect {
                socket_id,
                endpoint,
                reply,
            } => {
                let found: Vec<usize> = self
                    .connecters
                    .iter()
                    .filter(|(_, c)| c.socket.id == socket_id && c.endpoint_str == endpoint)
                    .map(|(k, _)| k)
                    .collect();
                for &key in &found {
                    self.remove_connecter(key, true);
                }
                let _ = reply.send(!found.is_empty());
            }
            IoCommand::CloseSocket(socket) => self.close_socket(&socket),
            IoCommand::Dump(reply) => {
                let mut out = String::new();
                for (token, e) in &self.entities {
                    match e {
                        Entity::Listener {
                            socket, endpoint, ..
                        } => {
                            out += &format!("listener {token} socket {} {endpoint}\n", socket.id);
                        }
                        Entity::Conn(c) => {
                            out += &format!("conn {token} {}\n", conn::lock(c).describe());
                        }
                    }
                }
                let _ = reply.send(out);
            }
            IoCommand::Shutdown => {
                self.shutting_down = true;
                let sockets: Vec<Arc<SocketShared>> = self
                    .entities
                    .iter()
                    .map(|(_, e)| match e {
                        Entity::Listener { socket, .. } => socket.clone(),
                        Entity::Conn(c) => conn::lock(c).socket.clone(),
                    })
                    .collect();
                for socket in sockets {
                    self.close_socket(&socket);
                }
            }
        }
    }

    fn listen(&mut self, socket: Arc<SocketShared>, mut listener: Listener, endpoint: String) {
        let entry = self.entities.vacant_entry();
        let token = entry.key();
        if self
            .poll
            .registry()
            .register(&mut listener, Token(token), Interest::READABLE)
            .is_err()
        {
            return;
        }
        entry.insert(Entity::Listener {
            listener,
            socket,
            endpoint,
        });
        self.accept(token);
    }

    fn remove_listener(&mut self, token: usize) {
        if let Entity::Listener {
            mut listener,
            socket,
            endpoint,
        } = self.entities.remove(token)
        {
            let _ = self.poll.registry().deregister(&mut listener);
            let fd = listener.socket().as_raw_fd() as u32;
            drop(listener);
            socket.monitor.emit(SocketEvent::Closed, fd, &endpoint);
        }
    }

    fn accept(&mut self, token: usize) {
        loop {
            let Some(Entity::Listener {
                listener,
                socket,
                endpoint,
            }) = self.entities.get_mut(token)
            else {
                return;
            };
            let socket = socket.clone();
            let endpoint: Arc<str> = Arc::from(endpoint.as_str());
            match listener.accept() {
                Ok((stream, peer_address)) => {
                    socket.monitor.emit(
                        SocketEvent::Accepted,
                        stream.socket().as_raw_fd() as u32,
                        &endpoint,
                    );
                    if let Some(conn) = self.add_conn(NewConn {
                        socket,
                        stream,
                        origin: Origin::Accepted,
                        peer: None,
                        endpoint,
                        peer_address: Some(peer_address),
                        connected: true,
                    }) {
                        self.service_conn(conn.token);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // Out of file descriptors and the like: stop accepting for now; the listener
                // stays registered and the next incoming connection retries.
                Err(e) => {
                    let errno = e.raw_os_error().map_or(0, |v| v as u32);
                    socket
                        .monitor
                        .emit(SocketEvent::AcceptFailed, errno, &endpoint);
                    return;
                }
            }
        }
    }

    fn start_connect(&mut self, key: usize) {
        let Some(c) = self.connecters.get(key) else {
            return;
        };
        let socket = c.socket.clone();
        let peer = c.peer;
        let owner = c.owner;
        let endpoint: Arc<str> = Arc::from(c.endpoint_str.as_str());
        let config = crate::socket::transport_config(&socket.lock().options);
        match transports::connect(&c.endpoint, &config) {
            Ok(stream) => {
                // libzmq reports the connect in progress with EINPROGRESS.
                socket
                    .monitor
                    .emit(SocketEvent::ConnectDelayed, EINPROGRESS, &endpoint);
                let conn = self.add_conn(NewConn {
                    socket,
                    stream,
                    origin: Origin::Connected {
                        connecter: key,
                        owner,
                    },
                    peer,
                    endpoint,
                    peer_address: None,
                    connected: false,
                });
                if let Some(c) = self.connecters.get_mut(key) {
                    c.conn = conn;
                }
                let closing = self.connecters.get(key).and_then(|c| c.closing);
                match conn {
                    Some(conn) => {
                        if let Some(deadline) = closing
                            && let Some(cell) = self.conn_of(conn)
                        {
                            conn::lock(&cell).linger_until = Some(deadline);
                        }
                        self.service_conn(conn.token);
                    }
                    None => self.schedule_reconnect(key),
                }
            }
            Err(_) => self.schedule_reconnect(key),
        }
    }

    fn schedule_reconnect(&mut self, key: usize) {
        let Some(c) = self.connecters.get_mut(key) else {
            return;
        };
        c.conn = None;
        if let Some(deadline) = c.closing {
            let expired = deadline.is_some_and(|d| crate::clock::now() >= d);
            if expired || !has_queued_traffic(&c.socket, c.peer) {
                self.remove_connecter(key, true);
                return;
            }
        } else if self.shutting_down {
            return;
        }
        if let Some(delay) = c.backoff.next_delay(self.jitter.next()) {
            c.socket.monitor.emit(
                SocketEvent::ConnectRetried,
                u32::try_from(delay.as_millis()).unwrap_or(u32::MAX),
                &c.endpoint_str,
            );
            let generation = c.generation;
            self.timers.schedule(
                crate::clock::now() + delay,
                TimerKey::Reconnect {
                    connecter: key,
                    generation,
                },
            );
        }
    }

    fn remove_connecter(&mut self, key: usize, detach_peer: bool) {
        let c = self.connecters.remove(key);
        if let Some(conn) = c.conn
            && self.conn_of(conn).is_some()
        {
            self.close_conn(conn.token, None);
        }
        if detach_peer && let Some(peer) = c.peer {
            let mut effects = Effects::new();
            {
                let mut state = c.socket.lock();
                c.socket.detach_peer(&mut state, peer, &mut effects);
                c.socket.after_change(&mut state, &mut effects);
            }
            crate::core::run_effects(&mut effects);
        }
    }

    fn close_socket(&mut self, socket: &Arc<SocketShared>) {
        let listeners: Vec<usize> = self
            .entities
            .iter()
            .filter_map(|(t, e)| match e {
                Entity::Listener { socket: s, .. } if s.id == socket.id => Some(t),
                _ => None,
            })
            .collect();
        for token in listeners {
            self.remove_listener(token);
        }
        let connecters: Vec<usize> = self
            .connecters
            .iter()
            .filter(|(_, c)| c.socket.id == socket.id)
            .map(|(k, _)| k)
            .collect();
        let linger = crate::options::millis(socket.lock().options.linger);
        let now = crate::clock::now();
        for key in connecters {
            let c = &mut self.connecters[key];
            if linger != Some(Duration::ZERO) && has_queued_traffic(&c.socket, c.peer) {
                // libzmq keeps connecting to deliver what is queued, within LINGER; a live
                // connection lingers below and reconnects if it drops before it is done.
                c.closing = Some(linger.map(|d| now + d));
                continue;
            }
            // Stop reconnecting; a live connection stays to linger.
            let c = self.connecters.remove(key);
            if let Some(conn) = c.conn
                && let Some(cell) = self.conn_of(conn)
            {
                conn::lock(&cell).origin = Origin::Accepted;
            }
        }
        let conns: Vec<usize> = self
            .entities
            .iter()
            .filter_map(|(t, e)| match e {
                Entity::Conn(c) if conn::lock(c).socket.id == socket.id => Some(t),
                _ => None,
            })
            .collect();
        for token in conns {
            self.start_linger(token, now, linger);
        }
    }

    /// A direct-receive lease on `conn` is due: the receiver's socket decides whether its
    /// user is away. Never waits for the connection's lock: a receiver holding it is busy on
    /// it, not away, and waiting would contend with its hot path.
    fn lease_due(&mut self, conn: ConnRef, now: Instant) {
        let Some(cell) = self.conn_cell(conn.token) else {
            return;
        };
        let guard = match cell.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                self.timers
                    .schedule(now + direct::LEASE, TimerKey::DirectLease(conn));
                return;
            }
        };
        if guard.generation != conn.generation {
            return;
        }
        let socket = guard.socket.clone();
        drop(guard);
        if socket.direct.lease_over(conn, &self.shared) {
            self.timers
                .schedule(now + direct::LEASE, TimerKey::DirectLease(conn));
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some((at, key)) = self.timers.pop_due(now) {
            match key {
                TimerKey::Conn(conn) => {
                    let due = self.conn_of(conn).is_some_and(|cell| {
                        let mut c = conn::lock(&cell);
                        let due = c.deadline == Some(at);
                        if due {
                            c.deadline = None;
                        }
                        due
                    });
                    if due {
                        self.conn_timeout(conn.token, now);
                    }
                }
                TimerKey::DirectLease(conn) => self.lease_due(conn, now),
                TimerKey::Reconnect {
                    connecter,
                    generation,
                } => {
                    if matches!(self.connecters.get(connecter), Some(c) if c.generation == generation && c.conn.is_none())
                    {
                        self.start_connect(connecter);
                    }
                }
            }
        }
    }
}

/// Whether the socket's machine still has traffic queued for `peer`.
fn has_queued_traffic(socket: &SocketShared, peer: Option<PeerId>) -> bool {
    let Some(peer) = peer else {
        return false;
    };
    let state = socket.lock();
    state
        .pattern
        .peer_stats(peer)
        .is_some_and(|stats| stats.queued_out > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flush(token: usize) -> IoCommand {
        IoCommand::Flush(ConnRef {
            token,
            generation: 1,
        })
    }

    /// A flush yields its core after a small write only when nothing else waits in the
    /// round: later flushes of its own connection do not count, anything else does.
    #[test]
    fn other_work_after_a_command_is_anything_but_its_own_connections_flushes() {
        let mut more = Vec::new();
        let round = [
            flush(1),
            flush(1),
            flush(2),
            flush(2),
            IoCommand::Shutdown,
            flush(3),
        ];
        other_work_after(&round, &mut more);
        assert_eq!(more, [true, true, true, true, true, false]);
        let round = [flush(1), flush(1), flush(1)];
        other_work_after(&round, &mut more);
        assert_eq!(more, [false, false, false]);
        let round = [IoCommand::Shutdown, IoCommand::Shutdown];
        other_work_after(&round, &mut more);
        assert_eq!(more, [true, false]);
        other_work_after(&[], &mut more);
        assert!(more.is_empty());
    }
}
