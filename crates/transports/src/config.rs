//! [`TransportConfig`]: the socket options this crate applies, with libzmq's defaults.
//!
//! Each field names the `zmq_setsockopt` option it mirrors. libzmq's `-1` ("leave the operating
//! system's default") is `None` here.

use std::time::Duration;

/// Socket options applied to tcp and ipc sockets before they bind, listen or connect, and to
/// tcp connections once established. `Default` gives libzmq's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// `ZMQ_IPV6` (default off). Off: host names resolve to IPv4 only, IPv6 literals are
    /// refused, and `*` binds `0.0.0.0`. On: names prefer IPv6 and fall back to IPv4-mapped
    /// addresses, `*` binds `[::]` dual-stack (`IPV6_V6ONLY` off), and IPv4 literals become
    /// IPv4-mapped IPv6 addresses, all as libzmq does.
    pub ipv6: bool,
    /// `ZMQ_BACKLOG` (default 100): the `listen` queue length, for tcp and ipc.
    pub backlog: u32,
    /// `ZMQ_SNDBUF` (default `None` = OS default): `SO_SNDBUF` on tcp sockets.
    pub sndbuf: Option<u32>,
    /// `ZMQ_RCVBUF` (default `None` = OS default): `SO_RCVBUF` on tcp sockets.
    pub rcvbuf: Option<u32>,
    /// `ZMQ_TCP_KEEPALIVE`: `None` (libzmq `-1`, the default) leaves `SO_KEEPALIVE` alone,
    /// `Some(false)` (`0`) turns it off, `Some(true)` (`1`) turns it on.
    pub tcp_keepalive: Option<bool>,
    /// `ZMQ_TCP_KEEPALIVE_IDLE` in seconds (`TCP_KEEPIDLE`); applied only when
    /// [`tcp_keepalive`](Self::tcp_keepalive) is `Some`, as libzmq does.
    pub tcp_keepalive_idle: Option<u32>,
    /// `ZMQ_TCP_KEEPALIVE_INTVL` in seconds (`TCP_KEEPINTVL`); applied only when
    /// [`tcp_keepalive`](Self::tcp_keepalive) is `Some`.
    pub tcp_keepalive_intvl: Option<u32>,
    /// `ZMQ_TCP_KEEPALIVE_CNT` (`TCP_KEEPCNT`); applied only when
    /// [`tcp_keepalive`](Self::tcp_keepalive) is `Some`.
    pub tcp_keepalive_cnt: Option<u32>,
    /// `ZMQ_TCP_MAXRT` (default `None`): `TCP_USER_TIMEOUT` on Linux, ignored elsewhere.
    pub tcp_maxrt: Option<Duration>,
}

impl TransportConfig {
    /// libzmq's default `ZMQ_BACKLOG`.
    pub const DEFAULT_BACKLOG: u32 = 100;
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            ipv6: false,
            backlog: Self::DEFAULT_BACKLOG,
            sndbuf: None,
            rcvbuf: None,
            tcp_keepalive: None,
            tcp_keepalive_idle: None,
            tcp_keepalive_intvl: None,
            tcp_keepalive_cnt: None,
            tcp_maxrt: None,
        }
    }
}
