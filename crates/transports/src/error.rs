//! The one error family of this crate: [`TransportError`], with [`EndpointProblem`] saying
//! precisely what is wrong with an endpoint string.
//!
//! Errors are classified by whose fault they are: a malformed or unusable endpoint
//! ([`TransportError::InvalidEndpoint`], [`TransportError::UnsupportedScheme`]) is the caller's,
//! and is detected before any socket exists; [`TransportError::Bind`] and
//! [`TransportError::Connect`] carry the operating system's `io::Error` (or the resolver's) with
//! the endpoint as context.

use std::io;

/// Everything that can go wrong while turning an endpoint into a listening or connecting socket.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The endpoint string is malformed, or cannot be used the way it was asked to be used
    /// (a wildcard port on connect, an IPv6 address without the `ipv6` option, ...).
    ///
    /// libzmq reports these as `EINVAL`.
    #[error("invalid endpoint `{endpoint}`: {reason}")]
    InvalidEndpoint {
        /// The endpoint as the caller wrote it.
        endpoint: String,
        /// What is wrong with it.
        reason: EndpointProblem,
    },
    /// The scheme (the part before `://`) is not one this crate knows.
    ///
    /// libzmq reports this as `EPROTONOSUPPORT`.
    #[error(
        "unsupported transport `{scheme}` in endpoint `{endpoint}` (supported: tcp, ipc, inproc)"
    )]
    UnsupportedScheme {
        /// The endpoint as the caller wrote it.
        endpoint: String,
        /// The scheme that was not recognised.
        scheme: String,
    },
    /// Creating, configuring, binding or listening on a socket failed, or a host name to bind
    /// to did not resolve.
    #[error("cannot bind to `{endpoint}`: {source}")]
    Bind {
        /// The endpoint that was being bound.
        endpoint: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Creating, configuring or connecting a socket failed, or the host name did not resolve.
    #[error("cannot connect to `{endpoint}`: {source}")]
    Connect {
        /// The endpoint that was being connected to.
        endpoint: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl TransportError {
    /// Builds an [`TransportError::InvalidEndpoint`].
    pub(crate) fn invalid(endpoint: impl Into<String>, reason: EndpointProblem) -> Self {
        Self::InvalidEndpoint {
            endpoint: endpoint.into(),
            reason,
        }
    }

    /// The endpoint this error is about, as the caller wrote it.
    pub fn endpoint(&self) -> &str {
        match self {
            Self::InvalidEndpoint { endpoint, .. }
            | Self::UnsupportedScheme { endpoint, .. }
            | Self::Bind { endpoint, .. }
            | Self::Connect { endpoint, .. } => endpoint,
        }
    }

    /// The underlying operating-system error, for [`TransportError::Bind`] and
    /// [`TransportError::Connect`].
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Self::Bind { source, .. } | Self::Connect { source, .. } => Some(source),
            Self::InvalidEndpoint { .. } | Self::UnsupportedScheme { .. } => None,
        }
    }
}

/// What exactly is wrong with an endpoint (see [`TransportError::InvalidEndpoint`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointProblem {
    /// There is no `://` separating the transport from the address.
    #[error("expected `transport://address` (for example `tcp://127.0.0.1:5555`)")]
    MissingScheme,
    /// Nothing precedes `://`.
    #[error("the transport name before `://` is empty")]
    EmptyScheme,
    /// Nothing follows `://`.
    #[error("the address after `://` is empty")]
    EmptyAddress,
    /// An `inproc://` endpoint without a name.
    #[error("the inproc name is empty")]
    EmptyInprocName,
    /// A tcp address without `:port`.
    #[error("missing port: expected `host:port`, `host:*` or `[ipv6]:port`")]
    MissingPort,
    /// The port is neither a number nor `*`.
    #[error("port `{port}` is not a number (or `*` to bind to an ephemeral port)")]
    BadPort {
        /// The port text.
        port: String,
    },
    /// The port is a number above 65535.
    #[error("port `{port}` is out of range (0 to 65535)")]
    PortOutOfRange {
        /// The port text.
        port: String,
    },
    /// The host part of a tcp address is empty.
    #[error("missing host before `:port` (use `*` to bind to all interfaces)")]
    EmptyHost,
    /// The host contains characters that no IP address, host name or interface name has.
    #[error("host `{host}` is not an IP address, host name or interface name")]
    BadHost {
        /// The host text.
        host: String,
    },
    /// An IPv6 zone (`%eth0`, `%2`) that is empty, zero, or names no network interface.
    #[error("IPv6 zone `{zone}` is not a network interface name or a non-zero index")]
    BadZone {
        /// The zone text.
        zone: String,
    },
    /// `*` as the port of an endpoint being connected to.
    #[error("cannot connect to port `*`: a wildcard port is only meaningful when binding")]
    WildcardPortOnConnect,
    /// `*` as the host of an endpoint being connected to.
    #[error("cannot connect to host `*`: a wildcard host is only meaningful when binding")]
    WildcardHostOnConnect,
    /// An IPv6 address used while the `ipv6` option (`ZMQ_IPV6`) is off, as libzmq refuses it.
    #[error("`{host}` is an IPv6 address, which needs the ipv6 option (ZMQ_IPV6) to be enabled")]
    Ipv6Disabled {
        /// The address text.
        host: String,
    },
    /// A source address (`source;host:port`) that is a host name: libzmq resolves source
    /// addresses without DNS.
    #[error(
        "source address `{host}` must be an IP address (source addresses are not looked up in DNS)"
    )]
    SourceNotNumeric {
        /// The source host text.
        host: String,
    },
    /// A source address (`source;host:port`) on an endpoint being bound.
    #[error("a source address (`source;host:port`) only applies when connecting, not when binding")]
    SourceOnBind,
    /// A network interface name (`tcp://eth0:5555`), which this implementation does not resolve.
    #[error(
        "`{name}` is a network interface; binding by interface name is not supported, use one of its IP addresses"
    )]
    InterfaceNameUnsupported {
        /// The interface name.
        name: String,
    },
    /// An ipc path that does not fit in `sockaddr_un`.
    #[error("ipc path is {len} bytes long; the limit is {max} bytes")]
    IpcPathTooLong {
        /// Length of the path in bytes.
        len: usize,
        /// The longest path the platform accepts.
        max: usize,
    },
    /// `ipc://@` without a name after the `@`.
    #[error("the abstract socket name after `@` is empty")]
    EmptyAbstractName,
    /// An abstract socket name (`ipc://@name`) on a platform without the abstract namespace.
    #[error("abstract ipc names (`ipc://@name`) exist only on Linux and Android")]
    AbstractUnsupported,
    /// A NUL byte inside an ipc path or name.
    #[error("the ipc path contains a NUL byte")]
    NulInPath,
    /// `ipc://*` as an endpoint to connect to.
    #[error("cannot connect to `ipc://*`: a wildcard path is only meaningful when binding")]
    IpcWildcardOnConnect,
    /// An `inproc://` endpoint given to the OS transports: inproc is handled by the socket itself.
    #[error("inproc endpoints are not operating-system sockets; the socket layer handles them")]
    InprocNotATransport,
}
