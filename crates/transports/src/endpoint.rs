//! Endpoint strings parsed into typed values, and printed back in libzmq's canonical form.
//!
//! Parsing is pure: it never touches the network or the file system, so it cannot block and
//! does not depend on whether an endpoint will be bound or connected to. What only makes sense
//! one way (a wildcard port, a source address) is checked when the endpoint is used, by
//! [`crate::resolve`].
//!
//! | form | value |
//! | --- | --- |
//! | `tcp://host:port`, `tcp://192.0.2.1:5555`, `tcp://[::1]:5555` | [`Endpoint::Tcp`] |
//! | `tcp://*:5555` (all interfaces), `tcp://127.0.0.1:*` / `tcp://*:*` (ephemeral port) | [`Host::Wildcard`], [`Port::Wildcard`] |
//! | `tcp://[fe80::1%eth0]:5555` (IPv6 with a zone) | [`Host::ScopedIpv6`] |
//! | `tcp://source:port;host:port` (connect from a source address) | [`TcpEndpoint::source`] |
//! | `ipc:///abs/path`, `ipc://relative/path` | [`IpcEndpoint::Path`] |
//! | `ipc://@name` (Linux abstract namespace) | [`IpcEndpoint::Abstract`] |
//! | `ipc://*` (a fresh temporary path) | [`IpcEndpoint::Wildcard`] |
//! | `inproc://name` | [`Endpoint::Inproc`] |
//!
//! The scheme is matched case-sensitively, as libzmq does. Ports are decimal numbers from 0 to
//! 65535 (libzmq's `atoi` would silently accept `5555abc` or wrap `70000`; we refuse both).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::{EndpointProblem, TransportError};

/// The longest ipc path, in bytes, that fits in `sockaddr_un.sun_path` with its terminating NUL
/// (libzmq refuses a path whose length is `>= sizeof sun_path` with `ENAMETOOLONG`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const IPC_PATH_MAX: usize = 107;
/// The longest ipc path, in bytes, that fits in `sockaddr_un.sun_path` with its terminating NUL
/// (libzmq refuses a path whose length is `>= sizeof sun_path` with `ENAMETOOLONG`).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const IPC_PATH_MAX: usize = 103;

/// A parsed ZeroMQ endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `tcp://...`
    Tcp(TcpEndpoint),
    /// `ipc://...`
    Ipc(IpcEndpoint),
    /// `inproc://name`: only parsed here; the socket layer owns inproc.
    Inproc(String),
}

/// A `tcp://` endpoint: where to bind or connect, and optionally which local address to connect
/// from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TcpEndpoint {
    /// The local address to bind before connecting (`tcp://source:port;host:port`).
    pub source: Option<HostPort>,
    /// The address to bind to or connect to.
    pub addr: HostPort,
}

/// A host and a port, as written in a tcp endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// The host part.
    pub host: Host,
    /// The port part.
    pub port: Port,
}

/// The host part of a tcp endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// `*`: every interface (bind only).
    Wildcard,
    /// An IPv4 or IPv6 literal (IPv6 may be written with or without brackets).
    Ip(IpAddr),
    /// An IPv6 literal with a zone (RFC 4007): `[fe80::1%eth0]` or `[fe80::1%2]`.
    ScopedIpv6 {
        /// The address.
        addr: Ipv6Addr,
        /// The zone: an interface name or a decimal interface index.
        zone: String,
    },
    /// A host name to look up (or, for libzmq, possibly a network interface name).
    Name(String),
}

/// The port part of a tcp endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    /// `*`: let the system choose an ephemeral port (bind only).
    Wildcard,
    /// A port number; `0` also asks for an ephemeral port when binding.
    Number(u16),
}

/// An `ipc://` endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IpcEndpoint {
    /// A file-system path, absolute (`ipc:///tmp/x`) or relative to the working directory
    /// (`ipc://x`).
    Path(PathBuf),
    /// A name in the Linux abstract socket namespace (`ipc://@name`), stored without the `@`.
    Abstract(String),
    /// `ipc://*`: bind to a fresh path in a new temporary directory.
    Wildcard,
}

impl Endpoint {
    /// The scheme: `"tcp"`, `"ipc"` or `"inproc"`.
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::Tcp(_) => "tcp",
            Self::Ipc(_) => "ipc",
            Self::Inproc(_) => "inproc",
        }
    }

    /// Parses an endpoint string; the same as `s.parse::<Endpoint>()`.
    pub fn parse(s: &str) -> Result<Self, TransportError> {
        s.parse()
    }
}

impl FromStr for Endpoint {
    type Err = TransportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| TransportError::invalid(s, reason);
        let Some(sep) = s.find("://") else {
            return Err(invalid(EndpointProblem::MissingScheme));
        };
        let scheme = &s[..sep];
        let address = &s[sep + 3..];
        // libzmq checks for emptiness (EINVAL) before it checks the scheme (EPROTONOSUPPORT).
        if scheme.is_empty() {
            return Err(invalid(EndpointProblem::EmptyScheme));
        }
        if address.is_empty() {
            return Err(invalid(if scheme == "inproc" {
                EndpointProblem::EmptyInprocName
            } else {
                EndpointProblem::EmptyAddress
            }));
        }
        match scheme {
            "tcp" => parse_tcp(address).map(Self::Tcp).map_err(invalid),
            "ipc" => parse_ipc(address).map(Self::Ipc).map_err(invalid),
            "inproc" => Ok(Self::Inproc(address.to_owned())),
            other => Err(TransportError::UnsupportedScheme {
                endpoint: s.to_owned(),
                scheme: other.to_owned(),
            }),
        }
    }
}

fn parse_tcp(address: &str) -> Result<TcpEndpoint, EndpointProblem> {
    // As libzmq: the last `;` separates an optional source address from the destination.
    let (source, addr) = match address.rfind(';') {
        Some(i) => (Some(&address[..i]), &address[i + 1..]),
        None => (None, address),
    };
    Ok(TcpEndpoint {
        source: source.map(parse_host_port).transpose()?,
        addr: parse_host_port(addr)?,
    })
}

fn parse_host_port(s: &str) -> Result<HostPort, EndpointProblem> {
    // As libzmq: the last `:` separates host and port, since IPv6 addresses contain colons.
    let Some(i) = s.rfind(':') else {
        return Err(EndpointProblem::MissingPort);
    };
    let (host, port) = (&s[..i], &s[i + 1..]);
    if port.is_empty() || port.contains(']') {
        // `host:` or `[::1]` (whose last colon is inside the brackets).
        return Err(EndpointProblem::MissingPort);
    }
    Ok(HostPort {
        host: parse_host(host)?,
        port: parse_port(port)?,
    })
}

fn parse_port(port: &str) -> Result<Port, EndpointProblem> {
    if port == "*" {
        return Ok(Port::Wildcard);
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EndpointProblem::BadPort {
            port: port.to_owned(),
        });
    }
    // All digits, so the only possible failure is overflow.
    port.parse::<u16>()
        .map(Port::Number)
        .map_err(|_| EndpointProblem::PortOutOfRange {
            port: port.to_owned(),
        })
}

fn parse_host(host: &str) -> Result<Host, EndpointProblem> {
    let bad_host = || EndpointProblem::BadHost {
        host: host.to_owned(),
    };
    if host.is_empty() {
        return Err(EndpointProblem::EmptyHost);
    }
    if host == "*" {
        return Ok(Host::Wildcard);
    }
    let bracketed = host.len() >= 2 && host.starts_with('[') && host.ends_with(']');
    let inner = if bracketed {
        &host[1..host.len() - 1]
    } else {
        host
    };
    let (addr, zone) = match inner.rfind('%') {
        Some(i) => (&inner[..i], Some(&inner[i + 1..])),
        None => (inner, None),
    };
    if let Some(zone) = zone {
        if !valid_zone(zone) {
            return Err(EndpointProblem::BadZone {
                zone: zone.to_owned(),
            });
        }
    }
    if let Ok(v6) = addr.parse::<Ipv6Addr>() {
        return Ok(match zone {
            Some(zone) => Host::ScopedIpv6 {
                addr: v6,
                zone: zone.to_owned(),
            },
            None => Host::Ip(IpAddr::V6(v6)),
        });
    }
    if zone.is_some() {
        // A zone only qualifies an IPv6 address.
        return Err(bad_host());
    }
    if let Ok(v4) = addr.parse::<Ipv4Addr>() {
        return Ok(Host::Ip(IpAddr::V4(v4)));
    }
    // Brackets only ever surround an address; a name must start with a letter or digit and use
    // the characters libzmq's sanity check allows.
    let name_ok = !bracketed
        && addr.starts_with(|c: char| c.is_ascii_alphanumeric())
        && addr
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if name_ok {
        Ok(Host::Name(addr.to_owned()))
    } else {
        Err(bad_host())
    }
}

/// A zone is an interface name (starting with a letter, as libzmq tests with `isalpha`) or a
/// non-zero decimal index.
fn valid_zone(zone: &str) -> bool {
    match zone.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => zone
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')),
        Some(_) => zone.parse::<u32>().is_ok_and(|index| index != 0),
        None => false,
    }
}

fn parse_ipc(address: &str) -> Result<IpcEndpoint, EndpointProblem> {
    if address.contains('\0') {
        return Err(EndpointProblem::NulInPath);
    }
    if address == "*" {
        return Ok(IpcEndpoint::Wildcard);
    }
    if address.len() > IPC_PATH_MAX {
        return Err(EndpointProblem::IpcPathTooLong {
            len: address.len(),
            max: IPC_PATH_MAX,
        });
    }
    match address.strip_prefix('@') {
        Some("") => Err(EndpointProblem::EmptyAbstractName),
        Some(name) => Ok(IpcEndpoint::Abstract(name.to_owned())),
        None => Ok(IpcEndpoint::Path(PathBuf::from(address))),
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(tcp) => tcp.fmt(f),
            Self::Ipc(ipc) => ipc.fmt(f),
            Self::Inproc(name) => write!(f, "inproc://{name}"),
        }
    }
}

impl fmt::Display for TcpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tcp://")?;
        if let Some(source) = &self.source {
            write!(f, "{source};")?;
        }
        self.addr.fmt(f)
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wildcard => f.write_str("*"),
            Self::Ip(IpAddr::V4(v4)) => v4.fmt(f),
            Self::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]"),
            Self::ScopedIpv6 { addr, zone } => write!(f, "[{addr}%{zone}]"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wildcard => f.write_str("*"),
            Self::Number(n) => n.fmt(f),
        }
    }
}

impl fmt::Display for IpcEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => write!(f, "ipc://{}", path.display()),
            Self::Abstract(name) => write!(f, "ipc://@{name}"),
            Self::Wildcard => f.write_str("ipc://*"),
        }
    }
}

#[cfg(test)]
mod tests;
