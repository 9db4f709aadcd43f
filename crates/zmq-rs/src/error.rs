//! The one error type of the facade, with libzmq's errno vocabulary.

use transports::TransportError;

/// The result type of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a call to this crate.
///
/// Each variant maps to the errno libzmq would report ([`Error::errno`]), so code ported from
/// libzmq, pyzmq or the `zmq` crate keeps its intuitions: `EAGAIN` is [`Error::WouldBlock`],
/// `EFSM` is [`Error::InvalidState`], and so on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// EAGAIN: the call would have to wait (nothing to receive, no peer can take the message,
    /// or the timeout expired). Retry later, wait with a `Poller`, or call without `DONTWAIT`.
    #[error("operation would block (EAGAIN): retry later or wait for readiness with a poller")]
    WouldBlock,
    /// EFSM: the socket is in the wrong state, e.g. a REQ socket sending twice without
    /// receiving the reply. Follow the socket type's send/receive order.
    #[error("operation not allowed in the socket's current state (EFSM): {0}")]
    InvalidState(String),
    /// EHOSTUNREACH: the routing id names no connected peer (ROUTER_MANDATORY, SERVER, PEER).
    #[error("no peer has that routing id (EHOSTUNREACH)")]
    HostUnreachable,
    /// ETERM: the context was terminated; close the socket.
    #[error("the context was terminated (ETERM): close this socket")]
    Terminated,
    /// EINVAL: an argument does not fit (an option for another socket type, a bad value).
    #[error("invalid argument (EINVAL): {0}")]
    InvalidArgument(String),
    /// ENOTSUP: the socket type does not support the operation (e.g. recv on PUSH).
    #[error("operation not supported by this socket type (ENOTSUP): {0}")]
    NotSupported(String),
    /// ENOENT: unbind or disconnect named an endpoint the socket is not bound or connected to.
    #[error("the socket is not bound or connected to {0} (ENOENT)")]
    NoSuchEndpoint(String),
    /// EPROTONOSUPPORT and friends: an endpoint could not be parsed, bound or connected.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// EINTR: a blocking call was interrupted.
    #[error("interrupted (EINTR)")]
    Interrupted,
}

impl Error {
    /// The errno libzmq reports for this error (Linux values; libzmq's own codes for EFSM and
    /// ETERM).
    pub fn errno(&self) -> i32 {
        match self {
            Self::WouldBlock => 11,
            Self::InvalidState(_) => ZMQ_HAUSNUMERO + 51,
            Self::HostUnreachable => 113,
            Self::Terminated => ZMQ_HAUSNUMERO + 53,
            Self::InvalidArgument(_) => 22,
            Self::NotSupported(_) => 95,
            Self::NoSuchEndpoint(_) => 2,
            Self::Transport(e) => transport_errno(e),
            Self::Interrupted => 4,
        }
    }

    /// True for [`Error::WouldBlock`] (EAGAIN).
    pub fn is_would_block(&self) -> bool {
        matches!(self, Self::WouldBlock)
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Self::InvalidArgument(msg.into())
    }
}

/// libzmq's base for its own error numbers.
const ZMQ_HAUSNUMERO: i32 = 156_384_712;

fn transport_errno(e: &TransportError) -> i32 {
    match e {
        TransportError::Bind { source, .. } | TransportError::Connect { source, .. } => {
            source.raw_os_error().unwrap_or(22)
        }
        TransportError::UnsupportedScheme { .. } => 93,
        _ => 22,
    }
}
