//! Turning a parsed [`Endpoint`] into addresses the operating system can use.
//!
//! [`resolve`] applies libzmq's rules for the direction the endpoint is used in ([`Role`]) and
//! for the `ipv6` option, and looks host names up with the standard library's resolver
//! (`getaddrinfo`). A look-up can take as long as the system resolver does, so the socket layer
//! should call [`resolve`] off its event loop whenever [`Endpoint::needs_lookup`] is true, and
//! hand the [`Resolved`] value to [`crate::connect_resolved`]. Names in the reserved `.invalid`
//! domain (RFC 6761) fail at once, without asking the system.
//!
//! libzmq's rules, as implemented in its `ip_resolver_t` and `tcp_address_t`:
//! - `ZMQ_IPV6` off: names resolve to their first IPv4 address; IPv6 literals are refused.
//! - `ZMQ_IPV6` on: names resolve to their first IPv6 address, or else to an IPv4-mapped one
//!   (`AI_V4MAPPED`); IPv4 literals become IPv4-mapped IPv6 addresses; `*` is `[::]`.
//! - A source address (`source;host:port`) must be numeric: it is never looked up in DNS.
//! - Binding may name a network interface; this implementation recognises such names (on Linux)
//!   and refuses them clearly instead of binding to the interface's address.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, ToSocketAddrs};

use crate::config::TransportConfig;
use crate::endpoint::{Endpoint, Host, HostPort, IpcEndpoint, Port};
use crate::error::{EndpointProblem, TransportError};

/// Whether an endpoint is about to be bound or connected to: some forms are valid only one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// `zmq_bind`: wildcards allowed, source addresses refused.
    Bind,
    /// `zmq_connect`: wildcards refused, source addresses allowed.
    Connect,
}

/// An endpoint checked for its [`Role`] and resolved to socket addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    endpoint: Endpoint,
    role: Role,
    addr: ResolvedAddr,
}

/// The address part of a [`Resolved`] endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResolvedAddr {
    /// A tcp endpoint.
    Tcp {
        /// Where to bind or connect.
        addr: SocketAddr,
        /// The local address to bind before connecting, if the endpoint gave one.
        source: Option<SocketAddr>,
    },
    /// An ipc endpoint (checked, but nothing to look up).
    Ipc(IpcEndpoint),
}

impl Resolved {
    /// The endpoint that was resolved.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The direction it was resolved for.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The resolved address.
    pub fn addr(&self) -> &ResolvedAddr {
        &self.addr
    }

    /// A [`TransportError::Connect`] for this endpoint.
    pub(crate) fn connect_error(&self, source: io::Error) -> TransportError {
        role_error(Role::Connect, &self.endpoint, source)
    }

    /// A [`TransportError::Bind`] for this endpoint.
    pub(crate) fn bind_error(&self, source: io::Error) -> TransportError {
        role_error(Role::Bind, &self.endpoint, source)
    }
}

impl Endpoint {
    /// Whether [`resolve`] may have to ask the system resolver (and so may block): true for a
    /// tcp endpoint whose host is a name.
    pub fn needs_lookup(&self) -> bool {
        matches!(self, Self::Tcp(tcp) if matches!(tcp.addr.host, Host::Name(_)))
    }
}

fn role_error(role: Role, endpoint: &Endpoint, source: io::Error) -> TransportError {
    let endpoint = endpoint.to_string();
    match role {
        Role::Bind => TransportError::Bind { endpoint, source },
        Role::Connect => TransportError::Connect { endpoint, source },
    }
}

/// Checks `endpoint` for `role` and resolves it with `config.ipv6`, looking host names up in the
/// system resolver (which may block; see the module documentation).
///
/// Errors: [`TransportError::InvalidEndpoint`] for a form that cannot be used this way (an
/// inproc endpoint, a wildcard on connect, an IPv6 literal without `ipv6`, ...);
/// [`TransportError::Bind`] or [`TransportError::Connect`] when a name does not resolve.
pub fn resolve(
    endpoint: &Endpoint,
    role: Role,
    config: &TransportConfig,
) -> Result<Resolved, TransportError> {
    let invalid = |reason| TransportError::invalid(endpoint.to_string(), reason);
    let addr = match endpoint {
        Endpoint::Inproc(_) => return Err(invalid(EndpointProblem::InprocNotATransport)),
        Endpoint::Ipc(ipc) => {
            check_ipc(ipc, role).map_err(invalid)?;
            ResolvedAddr::Ipc(ipc.clone())
        }
        Endpoint::Tcp(tcp) => {
            let source = match (&tcp.source, role) {
                (Some(_), Role::Bind) => return Err(invalid(EndpointProblem::SourceOnBind)),
                (Some(source), Role::Connect) => Some(
                    resolve_host_port(source, Lookup::Source, config.ipv6).map_err(
                        |e| match e {
                            HostError::Invalid(reason) => invalid(reason),
                            HostError::Os(source) => role_error(role, endpoint, source),
                        },
                    )?,
                ),
                (None, _) => None,
            };
            let lookup = match role {
                Role::Bind => Lookup::Bind,
                Role::Connect => Lookup::Connect,
            };
            let addr = resolve_host_port(&tcp.addr, lookup, config.ipv6).map_err(|e| match e {
                HostError::Invalid(reason) => invalid(reason),
                HostError::Os(source) => role_error(role, endpoint, source),
            })?;
            ResolvedAddr::Tcp { addr, source }
        }
    };
    Ok(Resolved {
        endpoint: endpoint.clone(),
        role,
        addr,
    })
}

fn check_ipc(ipc: &IpcEndpoint, role: Role) -> Result<(), EndpointProblem> {
    match ipc {
        IpcEndpoint::Wildcard if role == Role::Connect => {
            Err(EndpointProblem::IpcWildcardOnConnect)
        }
        IpcEndpoint::Abstract(_) if !cfg!(any(target_os = "linux", target_os = "android")) => {
            Err(EndpointProblem::AbstractUnsupported)
        }
        _ => Ok(()),
    }
}

/// How a host is being resolved, after libzmq's `ip_resolver_options_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// bindable, DNS and interface names allowed.
    Bind,
    /// not bindable, DNS allowed, interface names not.
    Connect,
    /// bindable, interface names allowed, DNS not.
    Source,
}

#[derive(Debug)]
enum HostError {
    Invalid(EndpointProblem),
    Os(io::Error),
}

impl From<EndpointProblem> for HostError {
    fn from(problem: EndpointProblem) -> Self {
        Self::Invalid(problem)
    }
}

fn resolve_host_port(hp: &HostPort, lookup: Lookup, ipv6: bool) -> Result<SocketAddr, HostError> {
    let port = match hp.port {
        Port::Number(port) => port,
        Port::Wildcard if lookup == Lookup::Connect => {
            return Err(EndpointProblem::WildcardPortOnConnect.into());
        }
        Port::Wildcard => 0,
    };
    let ip = match &hp.host {
        Host::Wildcard if lookup == Lookup::Connect => {
            return Err(EndpointProblem::WildcardHostOnConnect.into());
        }
        Host::Wildcard if ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        Host::Wildcard => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Host::Ip(IpAddr::V4(v4)) if ipv6 => IpAddr::V6(v4.to_ipv6_mapped()),
        Host::Ip(IpAddr::V4(v4)) => IpAddr::V4(*v4),
        Host::Ip(IpAddr::V6(v6)) => {
            if !ipv6 {
                return Err(ipv6_disabled(&hp.host));
            }
            IpAddr::V6(*v6)
        }
        Host::ScopedIpv6 { addr, zone } => {
            if !ipv6 {
                return Err(ipv6_disabled(&hp.host));
            }
            let scope =
                zone_index(zone).ok_or_else(|| EndpointProblem::BadZone { zone: zone.clone() })?;
            return Ok(SocketAddr::V6(SocketAddrV6::new(*addr, port, 0, scope)));
        }
        Host::Name(name) => {
            if lookup != Lookup::Connect && is_interface(name) {
                return Err(
                    EndpointProblem::InterfaceNameUnsupported { name: name.clone() }.into(),
                );
            }
            if lookup == Lookup::Source {
                return Err(EndpointProblem::SourceNotNumeric { host: name.clone() }.into());
            }
            lookup_host(name, ipv6).map_err(HostError::Os)?
        }
    };
    Ok(SocketAddr::new(ip, port))
}

fn ipv6_disabled(host: &Host) -> HostError {
    EndpointProblem::Ipv6Disabled {
        host: host.to_string(),
    }
    .into()
}

/// Looks `name` up with the system resolver, choosing an address the way libzmq's
/// `getaddrinfo` hints do (see the module documentation).
pub(crate) fn lookup_host(name: &str, ipv6: bool) -> io::Result<IpAddr> {
    if in_invalid_domain(name) {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "host `{name}` is in the reserved `.invalid` domain (RFC 6761) and never resolves"
            ),
        ));
    }
    let addrs: Vec<IpAddr> = (name, 0)
        .to_socket_addrs()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve host `{name}`: {e}")))?
        .map(|a| a.ip())
        .collect();
    let first_v4 = addrs.iter().find_map(|a| match a {
        IpAddr::V4(v4) => Some(*v4),
        IpAddr::V6(_) => None,
    });
    let chosen = if ipv6 {
        addrs
            .iter()
            .find(|a| a.is_ipv6())
            .copied()
            .or_else(|| first_v4.map(|v4| IpAddr::V6(v4.to_ipv6_mapped())))
    } else {
        first_v4.map(IpAddr::V4)
    };
    chosen.ok_or_else(|| {
        let wanted = if ipv6 { "" } else { "IPv4 " };
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("host `{name}` has no {wanted}address"),
        )
    })
}

fn in_invalid_domain(name: &str) -> bool {
    name.trim_end_matches('.')
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.eq_ignore_ascii_case("invalid"))
}

/// The index of a zone: a decimal index, or (on Linux) an interface name.
fn zone_index(zone: &str) -> Option<u32> {
    if let Ok(index) = zone.parse::<u32>() {
        return (index != 0).then_some(index);
    }
    interface_index(zone)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn interface_index(name: &str) -> Option<u32> {
    if !is_interface(name) {
        return None;
    }
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex")).ok()?;
    text.trim().parse::<u32>().ok().filter(|&index| index != 0)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn interface_index(_name: &str) -> Option<u32> {
    None
}

/// Whether `name` is the name of a network interface on this machine (Linux only; elsewhere
/// always false, so such names go to the resolver and fail there).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn is_interface(name: &str) -> bool {
    // The parser admits only `[A-Za-z0-9._-]` in names; refuse the two that are paths here.
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && std::path::Path::new("/sys/class/net").join(name).exists()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn is_interface(_name: &str) -> bool {
    false
}

#[cfg(test)]
mod tests;
