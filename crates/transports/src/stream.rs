//! [`Stream`], one tcp or ipc connection, and [`connect`], which starts one without blocking.
//!
//! A connect returns at once with a [`Stream`] whose connection may still be in progress. The
//! caller registers it with mio for `WRITABLE` (and, as libzmq does, treats a readable or error
//! event the same way), and on each event calls [`Stream::connect_status`]: `Connected`, still
//! `InProgress` (a spurious wake-up), or the error that ended the attempt, such as
//! `ConnectionRefused` when nothing listens. After an error the stream is finished; drop it and
//! let the reconnect policy ([`crate::Backoff`]) decide when to try again.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::OwnedFd;

use mio::event::Source;
use mio::net::{TcpStream, UnixStream};
use mio::{Interest, Registry, Token};
use socket2::{Domain, SockAddr, SockRef, Socket, Type};

use crate::config::TransportConfig;
use crate::endpoint::{Endpoint, IpcEndpoint};
use crate::error::TransportError;
use crate::resolve::{Resolved, ResolvedAddr, Role, resolve};
use crate::sockopt;

/// A non-blocking tcp or ipc connection.
#[derive(Debug)]
pub enum Stream {
    /// A tcp connection.
    Tcp(TcpStream),
    /// An ipc (Unix domain socket) connection.
    Ipc(UnixStream),
}

/// How far a non-blocking connect has got; see [`Stream::connect_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectStatus {
    /// The connection is established: start the handshake.
    Connected,
    /// Not finished yet; wait for the next readiness event.
    InProgress,
}

impl Stream {
    /// Reports whether a non-blocking connect has finished, as libzmq's connecter does when the
    /// socket polls writable: the pending `SO_ERROR`, if any, is the attempt's failure.
    ///
    /// Call it on every readiness event until it returns `Connected` or an error. It consumes
    /// the pending error, so after an `Err` the stream is done for.
    pub fn connect_status(&self) -> io::Result<ConnectStatus> {
        if let Some(err) = self.take_error()? {
            return Err(err);
        }
        let peer = match self {
            Self::Tcp(s) => s.peer_addr().map(drop),
            Self::Ipc(s) => s.peer_addr().map(drop),
        };
        match peer {
            Ok(()) => Ok(ConnectStatus::Connected),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(ConnectStatus::InProgress),
            Err(e) => Err(e),
        }
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Self::Tcp(s) => s.take_error(),
            Self::Ipc(s) => s.take_error(),
        }
    }

    /// The peer's address as libzmq reports it in the `Peer-Address` metadata property and to
    /// ZAP: the numeric IP without a port for tcp (`127.0.0.1`, `::1`, `::ffff:127.0.0.1`).
    /// For ipc, glibc's `getnameinfo` gives libzmq `localhost`; libzmq then appends
    /// `:uid:gid:pid` from `SO_PEERCRED`, which needs unsafe code here and is left out.
    pub fn peer_address(&self) -> io::Result<String> {
        match self {
            Self::Tcp(s) => s.peer_addr().map(|a| ip_string(&a)),
            Self::Ipc(s) => s.peer_addr().map(|_| IPC_PEER_ADDRESS.to_owned()),
        }
    }

    /// This end's address as a libzmq endpoint string, as in monitor events:
    /// `tcp://127.0.0.1:49152`, `ipc:///tmp/x` for an accepted ipc connection, `ipc://` for a
    /// connecting one (its socket has no name).
    pub fn local_endpoint(&self) -> io::Result<String> {
        match self {
            Self::Tcp(s) => s.local_addr().map(|a| tcp_endpoint_string(&a)),
            Self::Ipc(s) => s.local_addr().map(|a| ipc_endpoint_string(&a)),
        }
    }

    /// Shuts down the read, write or both halves of the connection.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.shutdown(how),
            Self::Ipc(s) => s.shutdown(how),
        }
    }

    /// The socket, borrowed for reading or setting options with socket2.
    pub fn socket(&self) -> SockRef<'_> {
        match self {
            Self::Tcp(s) => SockRef::from(s),
            Self::Ipc(s) => SockRef::from(s),
        }
    }

    /// Whether this is a tcp connection.
    pub fn is_tcp(&self) -> bool {
        matches!(self, Self::Tcp(_))
    }
}

/// What libzmq's `getnameinfo(NI_NUMERICHOST)` yields for an `AF_UNIX` peer on glibc.
pub(crate) const IPC_PEER_ADDRESS: &str = "localhost";

/// The numeric host of a socket address, as `getnameinfo(NI_NUMERICHOST)` prints it (with a
/// numeric zone where libzmq would print the interface name).
pub(crate) fn ip_string(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) if a.scope_id() != 0 => format!("{}%{}", a.ip(), a.scope_id()),
        SocketAddr::V6(a) => a.ip().to_string(),
    }
}

/// `tcp://host:port` as libzmq's `tcp_address_t::to_string` writes it.
pub(crate) fn tcp_endpoint_string(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(_) => format!("tcp://{}:{}", ip_string(addr), addr.port()),
        SocketAddr::V6(_) => format!("tcp://[{}]:{}", ip_string(addr), addr.port()),
    }
}

/// `ipc://path`, `ipc://@name` or `ipc://` as libzmq's `ipc_address_t::to_string` writes them.
pub(crate) fn ipc_endpoint_string(addr: &std::os::unix::net::SocketAddr) -> String {
    if let Some(path) = addr.as_pathname() {
        return format!("ipc://{}", path.display());
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        if let Some(name) = addr.as_abstract_name() {
            return format!("ipc://@{}", String::from_utf8_lossy(name));
        }
    }
    "ipc://".to_owned()
}

/// Starts a non-blocking connect to `endpoint`; see the module documentation for finishing it.
///
/// Resolves the endpoint first ([`resolve`] with [`Role::Connect`]), which asks the system
/// resolver for host names; call [`resolve`] off the event loop and [`connect_resolved`] on it
/// to keep look-ups off the hot path. As libzmq does, an IPv6 address that the kernel cannot
/// open (`EAFNOSUPPORT`) with `ipv6` on is retried over IPv4.
///
/// A refusal may be reported here (`TransportError::Connect`, when the system knows at once,
/// as for an ipc path nobody listens on) or later by [`Stream::connect_status`].
pub fn connect(endpoint: &Endpoint, config: &TransportConfig) -> Result<Stream, TransportError> {
    let resolved = resolve(endpoint, Role::Connect, config)?;
    match connect_resolved(&resolved, config) {
        Err(e) if config.ipv6 && e.io_error().is_some_and(sockopt::family_unsupported) => {
            let ipv4 = TransportConfig {
                ipv6: false,
                ..config.clone()
            };
            connect_resolved(&resolve(endpoint, Role::Connect, &ipv4)?, &ipv4)
        }
        other => other,
    }
}

/// Starts a non-blocking connect to an endpoint [`resolve`]d for [`Role::Connect`].
///
/// Before connecting it applies `config` as libzmq does: `SO_SNDBUF`/`SO_RCVBUF`, dual-stack for
/// IPv6, `TCP_NODELAY`, the keepalive options and `TCP_USER_TIMEOUT`; with a source address it
/// sets `SO_REUSEADDR` and binds to it first.
pub fn connect_resolved(
    resolved: &Resolved,
    config: &TransportConfig,
) -> Result<Stream, TransportError> {
    if resolved.role() != Role::Connect {
        return Err(resolved.connect_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "endpoint was resolved for bind, not connect",
        )));
    }
    let stream = match resolved.addr() {
        ResolvedAddr::Tcp { addr, source } => connect_tcp(*addr, *source, config),
        ResolvedAddr::Ipc(ipc) => connect_ipc(ipc),
    };
    stream.map_err(|e| resolved.connect_error(e))
}

fn connect_tcp(
    addr: SocketAddr,
    source: Option<SocketAddr>,
    config: &TransportConfig,
) -> io::Result<Stream> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    sockopt::open_tcp(&socket, addr.is_ipv6(), config)?;
    socket.set_nonblocking(true)?;
    if let Some(source) = source {
        // As libzmq: lets several connections share one source port towards different peers.
        socket.set_reuse_address(true)?;
        socket.bind(&SockAddr::from(source))?;
    }
    sockopt::tune_tcp(SockRef::from(&socket), config)?;
    start_connect(&socket, &SockAddr::from(addr))?;
    Ok(Stream::Tcp(TcpStream::from_std(socket.into())))
}

fn connect_ipc(ipc: &IpcEndpoint) -> io::Result<Stream> {
    let addr = ipc_sockaddr(ipc)?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    sockopt::set_nosigpipe(&SockRef::from(&socket))?;
    start_connect(&socket, &addr)?;
    let fd: OwnedFd = socket.into();
    Ok(Stream::Ipc(UnixStream::from_std(fd.into())))
}

fn start_connect(socket: &Socket, addr: &SockAddr) -> io::Result<()> {
    match socket.connect(addr) {
        Ok(()) => Ok(()),
        Err(e) if sockopt::connect_in_progress(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The `sockaddr_un` for an ipc endpoint: a path, or an abstract name (leading NUL byte).
pub(crate) fn ipc_sockaddr(ipc: &IpcEndpoint) -> io::Result<SockAddr> {
    match ipc {
        IpcEndpoint::Path(path) => SockAddr::unix(path),
        IpcEndpoint::Abstract(name) => abstract_sockaddr(name),
        IpcEndpoint::Wildcard => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "`ipc://*` has no address until it is bound",
        )),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_sockaddr(name: &str) -> io::Result<SockAddr> {
    use std::os::unix::ffi::OsStrExt;
    let mut bytes = Vec::with_capacity(name.len() + 1);
    bytes.push(0);
    bytes.extend_from_slice(name.as_bytes());
    SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_sockaddr(_name: &str) -> io::Result<SockAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract ipc names exist only on Linux and Android",
    ))
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Read for &Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match *self {
            Stream::Tcp(s) => (&*s).read(buf),
            Stream::Ipc(s) => (&*s).read(buf),
        }
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        match *self {
            Stream::Tcp(s) => (&*s).read_vectored(bufs),
            Stream::Ipc(s) => (&*s).read_vectored(bufs),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

impl Write for &Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match *self {
            Stream::Tcp(s) => (&*s).write(buf),
            Stream::Ipc(s) => (&*s).write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match *self {
            Stream::Tcp(s) => (&*s).write_vectored(bufs),
            Stream::Ipc(s) => (&*s).write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match *self {
            Stream::Tcp(s) => (&*s).flush(),
            Stream::Ipc(s) => (&*s).flush(),
        }
    }
}

impl Source for Stream {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.register(registry, token, interests),
            Self::Ipc(s) => s.register(registry, token, interests),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.reregister(registry, token, interests),
            Self::Ipc(s) => s.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.deregister(registry),
            Self::Ipc(s) => s.deregister(registry),
        }
    }
}
