//! `Context`: the I/O threads, the inproc namespace, and termination.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use patterns::PeerId;
use zmtp_proto::SocketType;

use crate::core::SocketShared;
use crate::error::{Error, Result};
use crate::io::IoThread;
use crate::socket::Socket;

/// A ZeroMQ context: the I/O threads that move bytes for its sockets, and the namespace of
/// its `inproc://` endpoints.
///
/// Cloning a context gives another handle to the same one. The I/O threads stop once the last
/// handle and the last socket are gone, after each closed socket's LINGER has run out.
///
/// ```
/// let ctx = zmq_rs::Context::new();
/// let push = ctx.socket(zmq_rs::PUSH).unwrap();
/// let pull = ctx.socket(zmq_rs::PULL).unwrap();
/// pull.bind("inproc://doc-example").unwrap();
/// push.connect("inproc://doc-example").unwrap();
/// push.send("hello", 0).unwrap();
/// assert_eq!(pull.recv_bytes(0).unwrap(), b"hello");
/// ```
#[derive(Debug)]
pub struct Context {
    inner: Arc<ContextInner>,
}

impl Clone for Context {
    fn clone(&self) -> Self {
        self.inner.users.fetch_add(1, Ordering::SeqCst);
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        self.inner.release_user();
    }
}

#[derive(Debug)]
pub(crate) struct ContextInner {
    io_threads: Vec<IoThread>,
    next_io: AtomicUsize,
    pub(crate) inproc: Mutex<InprocRegistry>,
    sockets: Mutex<Vec<Weak<SocketShared>>>,
    terminated: AtomicBool,
    /// Context handles and user sockets alive. Internal sockets (the ZAP client, monitors)
    /// hold the context too; when the last user goes they are stopped, so the context can go.
    users: AtomicUsize,
    /// The ZAP client, once a handshake needed one.
    pub(crate) zap: Mutex<Option<Arc<crate::zap::ZapClient>>>,
}

/// The names bound with `inproc://` in one context, and the connects waiting for them.
#[derive(Debug, Default)]
pub(crate) struct InprocRegistry {
    pub bound: HashMap<String, Weak<SocketShared>>,
    pub pending: HashMap<String, Vec<(Weak<SocketShared>, PeerId)>>,
}

impl Context {
    /// A context with one I/O thread, as libzmq's default.
    ///
    /// # Panics
    /// If the operating system refuses to create a thread or a poller (out of resources);
    /// use [`Context::with_io_threads`] to handle that as an error.
    pub fn new() -> Self {
        match Self::with_io_threads(1) {
            Ok(ctx) => ctx,
            Err(e) => panic!("zmq-rs: cannot start the I/O thread: {e}"),
        }
    }

    /// A context with `count` I/O threads (at least one). Sockets are spread over them.
    pub fn with_io_threads(count: usize) -> Result<Self> {
        let io_threads = (0..count.max(1))
            .map(IoThread::spawn)
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| Error::invalid(format!("cannot start an I/O thread: {e}")))?;
        Ok(Self {
            inner: Arc::new(ContextInner {
                io_threads,
                next_io: AtomicUsize::new(0),
                inproc: Mutex::new(InprocRegistry::default()),
                sockets: Mutex::new(Vec::new()),
                terminated: AtomicBool::new(false),
                users: AtomicUsize::new(1),
                zap: Mutex::new(None),
            }),
        })
    }

    /// Creates a socket of the given type.
    pub fn socket(&self, socket_type: SocketType) -> Result<Socket> {
        if self.inner.terminated.load(Ordering::SeqCst) {
            return Err(Error::Terminated);
        }
        let socket = Socket::new(self.inner.clone(), socket_type)?;
        let mut sockets = self.inner.lock_sockets();
        sockets.retain(|s| s.strong_count() > 0);
        sockets.push(Arc::downgrade(socket.shared()));
        Ok(socket)
    }

    /// Terminates the context, as `zmq_ctx_term` begins: every blocking call on its sockets
    /// returns [`Error::Terminated`] (ETERM) from now on, and so does every later call except
    /// close. The I/O threads finish once the sockets are dropped.
    pub fn term(&self) {
        self.inner.terminated.store(true, Ordering::SeqCst);
        let sockets = self.inner.lock_sockets().clone();
        for socket in sockets.iter().filter_map(Weak::upgrade) {
            let mut state = socket.lock();
            state.terminated = true;
            state.watchers.fire_all();
            drop(state);
            socket.wake_blocked();
        }
    }

    /// Number of I/O threads.
    pub fn io_threads(&self) -> usize {
        self.inner.io_threads.len()
    }
}

impl Default for Context {
    fn default() -> Self {
        Self::new()
    }
}

impl ContextInner {
    fn lock_sockets(&self) -> std::sync::MutexGuard<'_, Vec<Weak<SocketShared>>> {
        self.sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The I/O thread for the next socket, round-robin.
    pub(crate) fn pick_io(&self) -> Arc<crate::io::IoShared> {
        let i = self.next_io.fetch_add(1, Ordering::Relaxed) % self.io_threads.len();
        self.io_threads[i].shared.clone()
    }

    pub(crate) fn lock_inproc(&self) -> std::sync::MutexGuard<'_, InprocRegistry> {
        self.inproc
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.terminated.load(Ordering::SeqCst)
    }

    /// Counts a new user socket.
    pub(crate) fn add_user(&self) {
        self.users.fetch_add(1, Ordering::SeqCst);
    }

    /// A context handle or user socket went away; the last one stops the internal sockets.
    pub(crate) fn release_user(&self) {
        if self.users.fetch_sub(1, Ordering::SeqCst) == 1 {
            let zap = self
                .zap
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if let Some(zap) = zap {
                zap.stop();
            }
        }
    }

    /// Whether a live socket is bound to `inproc://name`.
    pub(crate) fn inproc_bound(&self, name: &str) -> bool {
        self.lock_inproc()
            .bound
            .get(name)
            .is_some_and(|s| s.strong_count() > 0)
    }
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        for io in &mut self.io_threads {
            io.shutdown();
        }
    }
}
