//! Security mechanisms (RFC 23 "Authentication and Confidentiality"): the state machines that
//! run between the greeting and traffic, behind one internal interface.
//!
//! A mechanism sees the handshake's command frames, queues its own commands through a
//! [`HandshakeCtx`], asks the driver to authenticate a peer ([`Step::Authenticate`]), and
//! finally hands over the peer's metadata ([`Step::Ready`]). NULL (RFC 23) and PLAIN (RFC 24)
//! leave traffic frames untouched; CURVE (RFC 25/26) encrypts every frame once its handshake
//! is over, which is what [`Mechanism::is_transparent`], [`Mechanism::encode_frame`] and
//! [`Mechanism::decode_frame`] are for.

use std::fmt;

use bytes::{BufMut, Bytes};

use crate::command::{self, Command, CommandKind};
use crate::curve::{CurvePublicKey, CurveSecretKey, RngSeed};
use crate::error::{ConfigError, Incompatibility, Misbehaviour, SessionError};
use crate::frame::{Frame, FrameHeader, FrameMut};
use crate::greeting::MechanismName;
use crate::msg::Properties;
use crate::session::{AuthRequest, AuthResult};
use crate::socket_type::SocketType;
use crate::txbuf::TxBuf;

mod curve;
mod null;
mod plain;

/// Which security mechanism a session uses, and its role and credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MechanismConfig {
    /// NULL (RFC 23): no authentication, no confidentiality.
    #[default]
    Null,
    /// PLAIN client (RFC 24): sends these credentials in HELLO.
    PlainClient {
        /// User name, at most 255 octets.
        username: Bytes,
        /// Password, at most 255 octets.
        password: Bytes,
    },
    /// PLAIN server (RFC 24): asks the driver to check every client's credentials.
    PlainServer,
    /// CURVE client (RFC 25/26): authenticates the server by its long-term public key and
    /// encrypts all traffic. Needs [`crate::SessionConfig::rng_seed`].
    CurveClient {
        /// The server's long-term public key (libzmq's `ZMQ_CURVE_SERVERKEY`).
        server_public: CurvePublicKey,
        /// Our long-term public key (`ZMQ_CURVE_PUBLICKEY`); must match `secret`.
        public: CurvePublicKey,
        /// Our long-term secret key (`ZMQ_CURVE_SECRETKEY`).
        secret: CurveSecretKey,
    },
    /// CURVE server (RFC 25/26, libzmq's `ZMQ_CURVE_SERVER`): asks the driver to authenticate
    /// every client's long-term public key and encrypts all traffic. Needs
    /// [`crate::SessionConfig::rng_seed`].
    CurveServer {
        /// Our long-term public key (`ZMQ_CURVE_PUBLICKEY`); must match `secret`.
        public: CurvePublicKey,
        /// Our long-term secret key (`ZMQ_CURVE_SECRETKEY`).
        secret: CurveSecretKey,
    },
}

impl MechanismConfig {
    /// The name announced in the greeting.
    pub fn name(&self) -> MechanismName {
        match self {
            Self::Null => MechanismName::NULL,
            Self::PlainClient { .. } | Self::PlainServer => MechanismName::PLAIN,
            Self::CurveClient { .. } | Self::CurveServer { .. } => MechanismName::CURVE,
        }
    }

    /// The greeting's as-server flag: set for the PLAIN and CURVE servers (RFC 24, RFC 25),
    /// clear otherwise (RFC 23: NULL "as-server field MUST be zero"). We never require it from
    /// a peer: libzmq 4.3 sends 0 whatever its role.
    pub fn as_server(&self) -> bool {
        matches!(self, Self::PlainServer | Self::CurveServer { .. })
    }

    /// Checks the keys: a public key must belong to its secret key, and a server key must be
    /// a usable Curve25519 point. Costs a scalar multiplication per key pair.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::CurveClient {
                server_public,
                public,
                secret,
            } => {
                if crate::curve::crypto::is_weak_public_key(server_public.as_bytes()) {
                    return Err(ConfigError::WeakCurveKey);
                }
                check_pair(public, secret)
            }
            Self::CurveServer { public, secret } => check_pair(public, secret),
            Self::Null | Self::PlainClient { .. } | Self::PlainServer => Ok(()),
        }
    }
}

fn check_pair(public: &CurvePublicKey, secret: &CurveSecretKey) -> Result<(), ConfigError> {
    if secret.public_key() == *public {
        Ok(())
    } else {
        Err(ConfigError::CurveKeyMismatch)
    }
}

/// What the session must do after a mechanism step.
#[derive(Debug)]
pub(crate) enum Step {
    /// Nothing more until the next command.
    Continue,
    /// Ask the driver to authenticate the peer; feed no more commands until it answers.
    Authenticate(AuthRequest),
    /// The handshake is complete; these are the peer's (checked) metadata properties.
    Ready {
        /// All the peer's metadata properties.
        properties: Properties,
        /// Its `Socket-Type`, checked against ours.
        socket_type: SocketType,
    },
}

/// What a mechanism may use and do while it handshakes.
pub(crate) struct HandshakeCtx<'a> {
    /// Where commands to send go (the session flushes them to the transmit buffer).
    pub(crate) out: &'a mut TxBuf,
    /// Our metadata, in wire order (Socket-Type, Identity when sent, X- properties).
    pub(crate) metadata: &'a Properties,
    /// Our socket type, to check the peer's against.
    pub(crate) socket_type: SocketType,
}

impl HandshakeCtx<'_> {
    /// Queues a command.
    pub(crate) fn send(&mut self, cmd: &Command) {
        cmd.encode(self.out.staging_mut());
    }

    /// Queues a command frame with this body (name included).
    pub(crate) fn send_body(&mut self, body: &[u8]) {
        let out = self.out.staging_mut();
        FrameHeader::new(false, true, body.len() as u64).encode(out);
        out.put_slice(body);
    }

    /// Queues READY or INITIATE carrying our metadata, without copying it into a `Command`.
    pub(crate) fn send_metadata(&mut self, kind: CommandKind) {
        let name = kind.name().as_bytes();
        let body_len = 1 + name.len() + command::properties_len(self.metadata);
        let out = self.out.staging_mut();
        FrameHeader::new(false, true, body_len as u64).encode(out);
        out.put_u8(name.len() as u8);
        out.put_slice(name);
        command::encode_properties(self.metadata, out);
    }

    /// Checks the peer's metadata: its `Socket-Type` must be one ours may talk to (RFC 23
    /// "The Socket-Type Property", libzmq's `mechanism_t::check_socket_type`).
    /// On success, the handshake step that completes with these properties.
    pub(crate) fn check_peer_metadata(&self, peer: Properties) -> Result<Step, SessionError> {
        let theirs = peer.get("Socket-Type").ok_or(SessionError::PeerMisbehaved(
            Misbehaviour::MissingSocketType,
        ))?;
        match SocketType::from_name(theirs) {
            Some(socket_type) if self.socket_type.is_compatible_with(socket_type) => {
                Ok(Step::Ready {
                    properties: peer,
                    socket_type,
                })
            }
            _ => Err(SessionError::PeerIncompatible(
                Incompatibility::SocketType {
                    ours: self.socket_type,
                    theirs: theirs.clone(),
                },
            )),
        }
    }
}

/// A command the current handshake stage does not allow.
pub(crate) fn unexpected(body: &Bytes, data_at: usize) -> SessionError {
    let name = if (1..=body.len()).contains(&data_at) {
        body.slice(1..data_at)
    } else {
        Bytes::new()
    };
    SessionError::PeerMisbehaved(Misbehaviour::UnexpectedCommand { name })
}

/// A ZAP answer as a server's handshake takes it: go on when allowed, fail with the
/// handler's status when denied.
pub(crate) fn check_allowed(result: &AuthResult) -> Result<(), SessionError> {
    match result {
        AuthResult::Allow { .. } => Ok(()),
        AuthResult::Deny {
            status_code,
            reason,
        } => Err(SessionError::AuthenticationFailed {
            status_code: *status_code,
            reason: reason.clone(),
        }),
    }
}

/// The peer's metadata command (`kind`: READY, or a PLAIN client's INITIATE): its properties
/// checked against our socket type (RFC 23), the handshake's last step on this side.
pub(crate) fn accept_metadata(
    ctx: &HandshakeCtx<'_>,
    kind: CommandKind,
    body: &Bytes,
    data_at: usize,
) -> Result<Step, SessionError> {
    match Command::decode_known(kind, body, data_at)? {
        Command::Ready { properties } | Command::Initiate { properties } => {
            ctx.check_peer_metadata(properties)
        }
        _ => Err(unexpected(body, data_at)),
    }
}

/// Handles an ERROR command received during the handshake (RFC 23: fatal).
pub(crate) fn peer_error(body: &Bytes, data_at: usize) -> SessionError {
    match Command::decode_known(CommandKind::Error, body, data_at) {
        Ok(Command::Error { reason }) => SessionError::PeerSentError { reason },
        Ok(_) => SessionError::PeerSentError {
            reason: Bytes::new(),
        },
        Err(e) => e.into(),
    }
}

/// One security mechanism's handshake and traffic hooks.
pub(crate) trait Mechanism: fmt::Debug + Send + Sync {
    /// Starts the handshake once greetings are exchanged: queue the first commands, or ask
    /// for authentication.
    fn start(&mut self, ctx: &mut HandshakeCtx<'_>) -> Result<Step, SessionError>;

    /// A command frame's body, received during the handshake.
    fn handle_command(
        &mut self,
        ctx: &mut HandshakeCtx<'_>,
        body: Bytes,
    ) -> Result<Step, SessionError>;

    /// The driver's answer to [`Step::Authenticate`].
    fn handle_auth(
        &mut self,
        ctx: &mut HandshakeCtx<'_>,
        result: &AuthResult,
    ) -> Result<Step, SessionError>;

    /// True when traffic frames go on the wire unchanged (NULL and PLAIN). When false, the
    /// session passes every traffic frame through `encode_frame` and `decode_frame`.
    fn is_transparent(&self) -> bool {
        true
    }

    /// Encodes one outgoing traffic frame (CURVE: as an encrypted MESSAGE command).
    fn encode_frame(&mut self, frame: Frame, tx: &mut TxBuf) {
        frame.header().encode(tx.staging_mut());
        tx.put_bytes(frame.body);
    }

    /// Decodes one incoming traffic frame (CURVE: decrypts a MESSAGE command in place).
    fn decode_frame(&mut self, frame: FrameMut) -> Result<Frame, SessionError> {
        Ok(frame.freeze())
    }
}

/// A mechanism for a session that is closed from the start (its configuration was refused).
pub(crate) fn null_placeholder() -> null::NullMechanism {
    null::NullMechanism::new(false)
}

/// The mechanism for a configuration (already validated, see [`MechanismConfig::validate`]).
pub(crate) fn build(
    config: &MechanismConfig,
    authenticate: bool,
    rng_seed: Option<&RngSeed>,
) -> Result<Box<dyn Mechanism>, ConfigError> {
    Ok(match config {
        MechanismConfig::Null => Box::new(null::NullMechanism::new(authenticate)),
        MechanismConfig::PlainClient { username, password } => {
            Box::new(plain::PlainClient::new(username.clone(), password.clone()))
        }
        MechanismConfig::PlainServer => Box::new(plain::PlainServer::new()),
        MechanismConfig::CurveClient {
            server_public,
            public,
            secret,
        } => {
            let seed = rng_seed.ok_or(ConfigError::MissingRngSeed)?;
            Box::new(curve::CurveClient::new(
                *server_public,
                *public,
                secret.clone(),
                seed,
            ))
        }
        MechanismConfig::CurveServer { public, secret } => {
            let seed = rng_seed.ok_or(ConfigError::MissingRngSeed)?;
            Box::new(curve::CurveServer::new(*public, secret.clone(), seed))
        }
    })
}
