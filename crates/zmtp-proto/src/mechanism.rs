//! Security mechanisms (RFC 23 "Authentication and Confidentiality"): the state machines that
//! run between the greeting and traffic, behind one internal interface.
//!
//! A mechanism sees the handshake's command frames, queues its own commands through a
//! [`HandshakeCtx`], asks the driver to authenticate a peer ([`Step::Authenticate`]), and
//! finally hands over the peer's metadata ([`Step::Ready`]). NULL (RFC 23) and PLAIN (RFC 24)
//! leave traffic frames untouched; CURVE (RFC 25/26) will encrypt every frame once its
//! handshake is over, which is what [`Mechanism::is_transparent`], [`Mechanism::encode_frame`]
//! and [`Mechanism::decode_frame`] are for.

use std::fmt;

use bytes::{BufMut, Bytes};

use crate::command::{self, Command, CommandKind};
use crate::error::{Incompatibility, Misbehaviour, SessionError};
use crate::frame::{Frame, FrameHeader};
use crate::greeting::MechanismName;
use crate::msg::Properties;
use crate::session::{AuthRequest, AuthResult};
use crate::socket_type::SocketType;
use crate::txbuf::TxBuf;

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
}

impl MechanismConfig {
    /// The name announced in the greeting.
    pub fn name(&self) -> MechanismName {
        match self {
            Self::Null => MechanismName::NULL,
            Self::PlainClient { .. } | Self::PlainServer => MechanismName::PLAIN,
        }
    }

    /// The greeting's as-server flag: set for the PLAIN server (RFC 24), clear otherwise
    /// (RFC 23: NULL "as-server field MUST be zero"). We never require it from a peer: libzmq
    /// 4.3 sends 0 whatever its role.
    pub fn as_server(&self) -> bool {
        matches!(self, Self::PlainServer)
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

    /// Decodes one incoming traffic frame (CURVE: decrypts a MESSAGE command).
    fn decode_frame(&mut self, frame: Frame) -> Result<Frame, SessionError> {
        Ok(frame)
    }
}

/// The mechanism for a configuration.
pub(crate) fn build(config: &MechanismConfig, authenticate: bool) -> Box<dyn Mechanism> {
    match config {
        MechanismConfig::Null => Box::new(null::NullMechanism::new(authenticate)),
        MechanismConfig::PlainClient { username, password } => {
            Box::new(plain::PlainClient::new(username.clone(), password.clone()))
        }
        MechanismConfig::PlainServer => Box::new(plain::PlainServer::new()),
    }
}
