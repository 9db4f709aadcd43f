//! [`Listener`]: a bound, listening tcp or ipc socket that accepts without blocking.
//!
//! Binding follows libzmq's `tcp_listener_t` and `ipc_listener_t`:
//! - tcp: `SO_REUSEADDR` (as on every non-Windows platform), dual-stack on `[::]` when `ipv6` is
//!   on, `SO_SNDBUF`/`SO_RCVBUF` before `listen`, then `listen(backlog)`. Every accepted
//!   connection gets `TCP_NODELAY`, the keepalive options and `TCP_USER_TIMEOUT`.
//! - ipc: a socket file left behind by an earlier run is removed before binding; `ipc://*`
//!   binds `socket` inside a new private (`0700`) temporary directory; abstract names
//!   (`ipc://@name`) have no file.
//!
//! [`Listener::local_endpoint`] is the value libzmq returns as `ZMQ_LAST_ENDPOINT`, with the
//! port or path the system chose filled in: `tcp://127.0.0.1:41234`, `tcp://[::]:41234`,
//! `ipc:///tmp/tmpa1B2c3/socket`.
//!
//! Dropping a `Listener` closes it and removes what its bind created: the socket file (only if
//! it is still the one this listener bound, so a later listener's file is never taken away) and,
//! for `ipc://*`, the temporary directory. libzmq 4.3 leaves the file of an explicit path behind
//! and removes it at the next bind; removing it on drop is this crate's choice.

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use mio::event::Source;
use mio::net::{TcpListener, UnixListener};
use mio::{Interest, Registry, Token};
use socket2::{Domain, SockAddr, SockRef, Socket, Type};

use crate::config::TransportConfig;
use crate::endpoint::{Endpoint, IpcEndpoint};
use crate::error::TransportError;
use crate::resolve::{Resolved, ResolvedAddr, Role, resolve};
use crate::sockopt;
use crate::stream::{IPC_PEER_ADDRESS, Stream, ip_string, ipc_sockaddr, tcp_endpoint_string};

/// A listening tcp or ipc socket; see the module documentation.
#[derive(Debug)]
pub struct Listener {
    socket: ListenerSocket,
    local_endpoint: String,
    config: TransportConfig,
    cleanup: Option<IpcCleanup>,
}

#[derive(Debug)]
enum ListenerSocket {
    Tcp(TcpListener),
    Ipc(UnixListener),
}

/// What to remove when an ipc listener is dropped.
#[derive(Debug)]
struct IpcCleanup {
    /// The socket file, made absolute at bind time so a later `chdir` does not matter.
    path: PathBuf,
    /// Device and inode of the file this listener created.
    identity: (u64, u64),
    /// The temporary directory created for `ipc://*`.
    temp_dir: Option<PathBuf>,
}

impl Listener {
    /// Binds to `endpoint` and listens, applying `config`.
    ///
    /// Host names are looked up (and may block) as in libzmq's `zmq_bind`. With `ipv6` on, a
    /// kernel without IPv6 (`EAFNOSUPPORT`) makes it retry over IPv4, as libzmq does.
    pub fn bind(endpoint: &Endpoint, config: &TransportConfig) -> Result<Self, TransportError> {
        let resolved = resolve(endpoint, Role::Bind, config)?;
        match Self::bind_resolved(&resolved, config) {
            Err(e) if config.ipv6 && e.io_error().is_some_and(sockopt::family_unsupported) => {
                let ipv4 = TransportConfig {
                    ipv6: false,
                    ..config.clone()
                };
                Self::bind_resolved(&resolve(endpoint, Role::Bind, &ipv4)?, &ipv4)
            }
            other => other,
        }
    }

    /// Binds to an endpoint [`resolve`]d for [`Role::Bind`] and listens, applying `config`.
    pub fn bind_resolved(
        resolved: &Resolved,
        config: &TransportConfig,
    ) -> Result<Self, TransportError> {
        if resolved.role() != Role::Bind {
            return Err(resolved.bind_error(io::Error::new(
                io::ErrorKind::InvalidInput,
                "endpoint was resolved for connect, not bind",
            )));
        }
        let listener = match resolved.addr() {
            ResolvedAddr::Tcp { addr, .. } => bind_tcp(*addr, config),
            ResolvedAddr::Ipc(ipc) => bind_ipc(ipc, config),
        };
        listener.map_err(|e| resolved.bind_error(e))
    }

    /// The bound endpoint in libzmq's `ZMQ_LAST_ENDPOINT` form, with the actual port or path.
    pub fn local_endpoint(&self) -> &str {
        &self.local_endpoint
    }

    /// The bound socket address, for tcp listeners.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match &self.socket {
            ListenerSocket::Tcp(l) => l.local_addr().ok(),
            ListenerSocket::Ipc(_) => None,
        }
    }

    /// Accepts one pending connection, without blocking: the stream and the peer's address as
    /// [`Stream::peer_address`] gives it (for `Peer-Address` metadata and ZAP).
    ///
    /// `WouldBlock` means no connection is pending. Under edge-triggered readiness, call it until
    /// it returns `WouldBlock`. Other errors (`ECONNABORTED`, `EMFILE`, a failure to tune the new
    /// socket, after which it is closed) concern one connection: libzmq reports them as
    /// `ZMQ_EVENT_ACCEPT_FAILED` and keeps listening.
    pub fn accept(&self) -> io::Result<(Stream, String)> {
        match &self.socket {
            ListenerSocket::Tcp(listener) => {
                let (stream, peer) = listener.accept()?;
                sockopt::tune_tcp(SockRef::from(&stream), &self.config)?;
                Ok((Stream::Tcp(stream), ip_string(&peer)))
            }
            ListenerSocket::Ipc(listener) => {
                let (stream, _) = listener.accept()?;
                sockopt::set_nosigpipe(&SockRef::from(&stream))?;
                Ok((Stream::Ipc(stream), IPC_PEER_ADDRESS.to_owned()))
            }
        }
    }

    /// The listening socket, borrowed for reading or setting options with socket2.
    pub fn socket(&self) -> SockRef<'_> {
        match &self.socket {
            ListenerSocket::Tcp(l) => SockRef::from(l),
            ListenerSocket::Ipc(l) => SockRef::from(l),
        }
    }

    /// For ipc listeners bound to a path, the socket file.
    pub fn ipc_path(&self) -> Option<&Path> {
        self.cleanup.as_ref().map(|c| c.path.as_path())
    }
}

fn backlog(config: &TransportConfig) -> i32 {
    i32::try_from(config.backlog).unwrap_or(i32::MAX)
}

fn bind_tcp(addr: SocketAddr, config: &TransportConfig) -> io::Result<Listener> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    sockopt::open_tcp(&socket, addr.is_ipv6(), config)?;
    socket.set_reuse_address(true)?;
    socket.bind(&SockAddr::from(addr))?;
    socket.listen(backlog(config))?;
    socket.set_nonblocking(true)?;
    let listener = TcpListener::from_std(socket.into());
    let local_endpoint = tcp_endpoint_string(&listener.local_addr()?);
    Ok(Listener {
        socket: ListenerSocket::Tcp(listener),
        local_endpoint,
        config: config.clone(),
        cleanup: None,
    })
}

fn bind_ipc(ipc: &IpcEndpoint, config: &TransportConfig) -> io::Result<Listener> {
    let (target, temp_dir) = match ipc {
        IpcEndpoint::Wildcard => {
            let dir = create_temp_dir()?;
            (IpcEndpoint::Path(dir.join("socket")), Some(dir))
        }
        other => (other.clone(), None),
    };
    let bound = bind_ipc_at(&target, config);
    if bound.is_err() {
        if let Some(dir) = &temp_dir {
            // Best effort: the bind error is the one worth reporting.
            let _ = fs::remove_dir(dir);
        }
    }
    let (listener, local_endpoint, file) = bound?;
    let cleanup = file.map(|(path, identity)| IpcCleanup {
        path,
        identity,
        temp_dir,
    });
    Ok(Listener {
        socket: ListenerSocket::Ipc(listener),
        local_endpoint,
        config: config.clone(),
        cleanup,
    })
}

type IpcBound = (UnixListener, String, Option<(PathBuf, (u64, u64))>);

fn bind_ipc_at(target: &IpcEndpoint, config: &TransportConfig) -> io::Result<IpcBound> {
    let addr = ipc_sockaddr(target)?;
    if let IpcEndpoint::Path(path) = target {
        remove_stale_socket(path)?;
    }
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.bind(&addr)?;
    socket.listen(backlog(config))?;
    socket.set_nonblocking(true)?;
    let file = match target {
        IpcEndpoint::Path(path) => {
            let meta = fs::symlink_metadata(path)?;
            let absolute = if path.is_absolute() {
                path.clone()
            } else {
                std::env::current_dir()?.join(path)
            };
            Some((absolute, (meta.dev(), meta.ino())))
        }
        IpcEndpoint::Abstract(_) | IpcEndpoint::Wildcard => None,
    };
    let fd: OwnedFd = socket.into();
    let listener = UnixListener::from_std(fd.into());
    // libzmq reports the address as given (a relative path stays relative).
    let local_endpoint = target.to_string();
    Ok((listener, local_endpoint, file))
}

/// libzmq unlinks whatever is at the path before binding, so a socket file left by a process
/// that died is no obstacle. This removes only sockets: anything else at the path is left alone
/// and the bind then fails with `EADDRINUSE`.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// libzmq's `create_ipc_wildcard_address`: a fresh `0700` directory named `tmpXXXXXX` under the
/// first of `$TMPDIR`, `$TEMPDIR`, `$TMP` that is a directory. Where libzmq would then fall back
/// to the working directory, this uses the system's temporary directory.
fn create_temp_dir() -> io::Result<PathBuf> {
    let base = ["TMPDIR", "TEMPDIR", "TMP"]
        .into_iter()
        .filter_map(std::env::var_os)
        .map(PathBuf::from)
        .find(|dir| dir.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let mut last_error = io::Error::new(io::ErrorKind::AlreadyExists, "no free temporary name");
    for attempt in 0..64u32 {
        let dir = base.join(format!("tmp{}", temp_suffix(attempt)));
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = e,
            Err(e) => return Err(e),
        }
    }
    Err(last_error)
}

/// Six characters from `[A-Za-z0-9]`, as `mkdtemp` would choose, from std's randomly keyed
/// hasher. Uniqueness does not rest on it: the directory is created exclusively.
fn temp_suffix(attempt: u32) -> String {
    use std::hash::{BuildHasher, Hasher};
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u32(attempt);
    let mut bits = hasher.finish();
    let alphabet_len = ALPHABET.len() as u64;
    (0..6)
        .map(|_| {
            let c = ALPHABET[usize::try_from(bits % alphabet_len).unwrap_or(0)];
            bits /= alphabet_len;
            char::from(c)
        })
        .collect()
}

impl Drop for Listener {
    fn drop(&mut self) {
        let Some(cleanup) = &self.cleanup else {
            return;
        };
        // Remove the file only if it is still ours: a later bind to the same path (by us or
        // anyone) replaced it, and that listener's file must stay.
        let ours = fs::symlink_metadata(&cleanup.path)
            .is_ok_and(|meta| (meta.dev(), meta.ino()) == cleanup.identity);
        if ours {
            // Errors cannot be reported from drop; what is left behind is removed at next bind.
            let _ = fs::remove_file(&cleanup.path);
        }
        if let Some(dir) = &cleanup.temp_dir {
            let _ = fs::remove_dir(dir);
        }
    }
}

impl Source for Listener {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match &mut self.socket {
            ListenerSocket::Tcp(l) => l.register(registry, token, interests),
            ListenerSocket::Ipc(l) => l.register(registry, token, interests),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match &mut self.socket {
            ListenerSocket::Tcp(l) => l.reregister(registry, token, interests),
            ListenerSocket::Ipc(l) => l.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match &mut self.socket {
            ListenerSocket::Tcp(l) => l.deregister(registry),
            ListenerSocket::Ipc(l) => l.deregister(registry),
        }
    }
}
