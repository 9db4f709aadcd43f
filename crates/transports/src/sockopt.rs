//! Applying [`TransportConfig`] to sockets with socket2, in the order and with the meaning
//! libzmq gives each option (`tcp.cpp`: `tune_tcp_socket`, `tune_tcp_keepalives`,
//! `tune_tcp_maxrt`, `set_tcp_send_buffer`, `set_tcp_receive_buffer`; `ip.cpp`:
//! `enable_ipv4_mapping`), plus the few `errno` values std does not classify.

use std::io;
use std::time::Duration;

use socket2::{SockRef, Socket, TcpKeepalive};

use crate::config::TransportConfig;

/// `EINPROGRESS`: a non-blocking connect has started.
#[cfg(any(target_os = "linux", target_os = "android"))]
const EINPROGRESS: i32 = 115;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const EINPROGRESS: i32 = 36;

/// `EAFNOSUPPORT`: the address family (here IPv6) is not supported by this kernel.
#[cfg(any(target_os = "linux", target_os = "android"))]
const EAFNOSUPPORT: i32 = 97;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const EAFNOSUPPORT: i32 = 47;

/// Whether a `connect` error only means "started, not finished" (libzmq folds `EINTR` into
/// `EINPROGRESS` too).
pub(crate) fn connect_in_progress(e: &io::Error) -> bool {
    e.raw_os_error() == Some(EINPROGRESS) || e.kind() == io::ErrorKind::Interrupted
}

/// Whether an error says the kernel has no IPv6, the case where libzmq retries with IPv4.
pub(crate) fn family_unsupported(e: &io::Error) -> bool {
    e.raw_os_error() == Some(EAFNOSUPPORT)
}

/// What `tcp_open_socket` does to a fresh tcp socket, before bind or connect: dual-stack for
/// IPv6 sockets, then `SO_SNDBUF` and `SO_RCVBUF` when configured.
pub(crate) fn open_tcp(
    socket: &Socket,
    ipv6_socket: bool,
    config: &TransportConfig,
) -> io::Result<()> {
    if ipv6_socket {
        // libzmq's `enable_ipv4_mapping`: accept IPv4 clients on `[::]`.
        socket.set_only_v6(false)?;
    }
    set_buffers(socket, config)
}

fn set_buffers(socket: &Socket, config: &TransportConfig) -> io::Result<()> {
    if let Some(size) = config.sndbuf {
        socket.set_send_buffer_size(usize::try_from(size).unwrap_or(usize::MAX))?;
    }
    if let Some(size) = config.rcvbuf {
        socket.set_recv_buffer_size(usize::try_from(size).unwrap_or(usize::MAX))?;
    }
    Ok(())
}

/// What libzmq does to every tcp connection, accepted or connected: `TCP_NODELAY` on, the
/// keepalive options, and `TCP_USER_TIMEOUT`.
pub(crate) fn tune_tcp(socket: SockRef<'_>, config: &TransportConfig) -> io::Result<()> {
    // ZeroMQ batches at its own level; Nagle would only add latency.
    socket.set_tcp_nodelay(true)?;
    if let Some(on) = config.tcp_keepalive {
        set_keepalive_params(&socket, config)?;
        // Last, because socket2 turns SO_KEEPALIVE on while it sets the parameters; libzmq sets
        // the parameters even when keepalive is being turned off.
        socket.set_keepalive(on)?;
    }
    set_maxrt(&socket, config.tcp_maxrt)?;
    set_nosigpipe(&socket)
}

fn set_keepalive_params(socket: &SockRef<'_>, config: &TransportConfig) -> io::Result<()> {
    let secs = |s: u32| Duration::from_secs(u64::from(s));
    let mut params = TcpKeepalive::new();
    let mut any = false;
    if let Some(idle) = config.tcp_keepalive_idle {
        params = params.with_time(secs(idle));
        any = true;
    }
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "dragonfly",
        target_os = "illumos",
        target_os = "fuchsia",
    ))]
    {
        if let Some(intvl) = config.tcp_keepalive_intvl {
            params = params.with_interval(secs(intvl));
            any = true;
        }
        if let Some(cnt) = config.tcp_keepalive_cnt {
            params = params.with_retries(cnt);
            any = true;
        }
    }
    if any {
        socket.set_tcp_keepalive(&params)?;
    }
    Ok(())
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
fn set_maxrt(socket: &SockRef<'_>, maxrt: Option<Duration>) -> io::Result<()> {
    // libzmq sets TCP_USER_TIMEOUT only for a positive ZMQ_TCP_MAXRT.
    match maxrt {
        Some(timeout) if !timeout.is_zero() => socket.set_tcp_user_timeout(Some(timeout)),
        _ => Ok(()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "fuchsia")))]
fn set_maxrt(_socket: &SockRef<'_>, _maxrt: Option<Duration>) -> io::Result<()> {
    Ok(())
}

/// Where the platform signals a write to a closed peer with SIGPIPE rather than `EPIPE`,
/// turn that off for this socket, as libzmq's `set_nosigpipe` does.
#[cfg(target_vendor = "apple")]
pub(crate) fn set_nosigpipe(socket: &SockRef<'_>) -> io::Result<()> {
    socket.set_nosigpipe(true)
}

/// Elsewhere SIGPIPE stays as libzmq leaves it (libzmq's plain `send` can raise it on Linux);
/// Rust programs ignore SIGPIPE from the start, so a write to a closed peer fails with `EPIPE`.
#[cfg(not(target_vendor = "apple"))]
pub(crate) fn set_nosigpipe(_socket: &SockRef<'_>) -> io::Result<()> {
    Ok(())
}
