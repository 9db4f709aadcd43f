//! Errors, classified by whose fault they are (as rustls does): malformed bytes, a peer that
//! misbehaved, a peer we cannot talk to, a peer that said no, a clock that ran out, or an API
//! misuse. All are `Clone + PartialEq` so tests can compare them.

use bytes::Bytes;

use crate::command::CommandKind;
use crate::greeting::MechanismName;
use crate::msg::Traffic;
use crate::socket_type::SocketType;

/// Bytes that do not follow the ZMTP grammar (RFC 23, RFC 37, RFC 24).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The greeting starts like a ZMTP 2.0+ signature but octet 9 is not 0x7F (RFC 23
    /// "signature = %xFF padding %x7F").
    #[error("malformed greeting signature (octet 9 is not 0x7F)")]
    BadSignature,
    /// The peer speaks ZMTP 1.0 (no signature, or bit 0 of octet 9 clear, RFC 37 "Detecting
    /// ZMTP 1.0 and 2.0 Peers") or ZMTP 2.0 (major version below 3). We refuse both: a legacy
    /// header can only ask for NULL security, which would let it bypass the configured one.
    #[error("peer speaks ZMTP {version}.0; ZMTP 3.0 or later is required")]
    LegacyPeer {
        /// 1 or 2.
        version: u8,
    },
    /// The greeting's mechanism field is not an upper-case name padded with zero octets.
    #[error("malformed mechanism name in greeting")]
    BadMechanism,
    /// A frame's flags octet sets one of the reserved bits 3-7 (RFC 23 "Framing"), or the
    /// flags octet inside a CURVE MESSAGE box one of bits 2-7 (libzmq uses bit 0 for MORE and
    /// bit 1 for COMMAND there, and sends no other).
    #[error("frame flags {flags:#04x} set reserved bits")]
    ReservedFlags {
        /// The flags octet as received.
        flags: u8,
    },
    /// A long frame's size has its top bit set (RFC 23: a long frame is at most 2^63-1
    /// octets), or does not fit this platform's address space.
    #[error("frame size {len} is out of range")]
    LengthOutOfRange {
        /// The size as received.
        len: u64,
    },
    /// A frame is larger than the configured maximum message size (libzmq's MAXMSGSIZE).
    #[error("frame of {len} octets exceeds the maximum message size of {max}")]
    FrameTooLarge {
        /// The frame's announced size.
        len: u64,
        /// The configured maximum.
        max: u64,
    },
    /// The frames of one multipart message add up to more than the configured maximum.
    #[error("message of at least {len} octets exceeds the maximum message size of {max}")]
    MessageTooLarge {
        /// The message's size so far, including the frame that crossed the limit.
        len: u64,
        /// The configured maximum.
        max: u64,
    },
    /// A multipart message has more frames than a configured maximum message size allows
    /// (see [`crate::FrameDecoder`]): each frame costs memory even when it is empty.
    #[error("message has more than {max} frames")]
    TooManyFrames {
        /// The frame limit derived from the maximum message size.
        max: u64,
    },
    /// A message frame where a command frame was required.
    #[error("expected a command frame")]
    NotACommand,
    /// A command's name is empty, runs past the end of the frame, or is not alphabetic (RFC 23
    /// "command-name = short-size 1*255command-name-char").
    #[error("malformed command name")]
    BadCommandName,
    /// A known command whose body does not follow its grammar.
    #[error("malformed {command} command")]
    MalformedCommand {
        /// Which command.
        command: CommandKind,
    },
    /// A metadata property whose name is empty or whose name or value runs past the end of the
    /// command (RFC 23 "metadata = *property").
    #[error("malformed metadata property")]
    MalformedProperty,
    /// More metadata properties than [`crate::MAX_PROPERTIES`] in one command.
    #[error("too many metadata properties")]
    TooManyProperties,
}

/// How a peer broke the protocol, although every frame it sent was well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Misbehaviour {
    /// A command that the current stage of the handshake does not allow.
    #[error("unexpected command {}", String::from_utf8_lossy(name))]
    UnexpectedCommand {
        /// The command's name.
        name: Bytes,
    },
    /// A message frame before the handshake completed (RFC 23: traffic follows the handshake).
    #[error("message frame during the security handshake")]
    MessageDuringHandshake,
    /// The peer's READY (or INITIATE) has no `Socket-Type` property.
    #[error("peer metadata lacks Socket-Type")]
    MissingSocketType,
    /// A CURVE short nonce that does not exceed the peer's previous one (RFC 26: nonces
    /// increase strictly; a repeat is a replay).
    #[error("CURVE nonce {nonce} does not exceed the previous {last}")]
    NonceNotIncreasing {
        /// The nonce received.
        nonce: u64,
        /// The highest nonce received before it.
        last: u64,
    },
}

/// Why we cannot talk to a peer that follows the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Incompatibility {
    /// The peer speaks ZMTP 1.0 or 2.0 (see [`DecodeError::LegacyPeer`]).
    #[error("peer speaks ZMTP {version}.0")]
    LegacyVersion {
        /// 1 or 2.
        version: u8,
    },
    /// The peer's greeting names another security mechanism (RFC 23: "If the mechanism that
    /// the peer received does not exactly match the mechanism it sent, it MUST close").
    #[error("mechanism mismatch: we use {ours}, the peer {theirs}")]
    MechanismMismatch {
        /// Ours.
        ours: MechanismName,
        /// The peer's.
        theirs: MechanismName,
    },
    /// The client's HELLO asks for a CurveZMQ version other than 1.0 (RFC 26).
    #[error("CurveZMQ version {major}.{minor} is not 1.0")]
    CurveVersion {
        /// The major version asked for.
        major: u8,
        /// The minor version asked for.
        minor: u8,
    },
    /// The peer's `Socket-Type` is unknown or may not talk to ours (RFC 23 "The Socket-Type
    /// Property").
    #[error(
        "socket type {} may not talk to {ours}",
        String::from_utf8_lossy(theirs)
    )]
    SocketType {
        /// Our socket type.
        ours: SocketType,
        /// The peer's `Socket-Type` value, as sent.
        theirs: Bytes,
    },
}

/// A problem with a [`crate::SessionConfig`], found before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A PLAIN username or password longer than 255 octets (RFC 24 encodes their length in
    /// one octet).
    #[error("PLAIN {field} is {len} octets; at most 255 are allowed")]
    CredentialTooLong {
        /// `"username"` or `"password"`.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// A routing id longer than 255 octets (RFC 23 "identity = 0*255OCTET").
    #[error("routing id is {len} octets; at most 255 are allowed")]
    RoutingIdTooLong {
        /// Its length.
        len: usize,
    },
    /// An extra metadata property whose name does not start with `X-`, is longer than 255
    /// octets, or holds characters outside RFC 23's name-char set.
    #[error("invalid metadata property name {}", String::from_utf8_lossy(name))]
    BadPropertyName {
        /// The offending name.
        name: Bytes,
    },
    /// A metadata property value longer than 2^31-1 octets.
    #[error("metadata property value too long")]
    PropertyValueTooLong,
    /// CURVE needs [`crate::SessionConfig::rng_seed`]: this crate never reads a global RNG.
    #[error("CURVE needs a per-connection RNG seed (SessionConfig::rng_seed)")]
    MissingRngSeed,
    /// A CURVE public key that does not belong to the secret key configured with it.
    #[error("the CURVE public key does not match the secret key")]
    CurveKeyMismatch,
    /// A CURVE server key of small order (every shared secret with it would be known).
    #[error("the CURVE server key is not a usable Curve25519 public key")]
    WeakCurveKey,
}

/// A CURVE box (RFC 26) that did not open, or opened but held the wrong keys: bytes altered
/// in transit, a forgery, or a peer holding other keys than the configuration expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoFailure {
    /// The server could not open HELLO's signature box: the client sealed it for another
    /// server key.
    #[error("HELLO signature box does not open (the client expects another server key)")]
    HelloSignature,
    /// The client could not open WELCOME: it was not made with the server key we expect.
    #[error("WELCOME box does not open (the server holds another key)")]
    Welcome,
    /// The server could not open INITIATE's cookie, or the cookie holds other short-term keys
    /// than this connection's: forged, or taken from another connection.
    #[error("INITIATE cookie is not valid for this connection")]
    Cookie,
    /// The server could not open INITIATE's box.
    #[error("INITIATE box does not open")]
    Initiate,
    /// The server could not open the vouch: it was not made with the long-term key the
    /// client claims.
    #[error("INITIATE vouch does not open")]
    Vouch,
    /// The vouch opened but vouches for another short-term key or another server.
    #[error("INITIATE vouch is for another connection or server")]
    VouchMismatch,
    /// The client could not open READY.
    #[error("READY box does not open")]
    Ready,
    /// A MESSAGE box did not open: altered in transit, or forged.
    #[error("MESSAGE box does not open")]
    Message,
    /// The peer sent a public key of small order, which would make the shared secret known
    /// to anyone.
    #[error("peer sent a weak (small-order) public key")]
    WeakPeerKey,
}

/// A libzmq protocol error code, as carried by its `ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL`
/// monitor event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolError {
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED`
    ZmtpUnspecified,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND`
    UnexpectedCommand,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE` (a CURVE nonce that does not increase)
    InvalidSequence,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE` (a CURVE vouch for other keys)
    KeyExchange,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED`
    MalformedCommandUnspecified,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE`
    MalformedCommandMessage,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO`
    MalformedCommandHello,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE`
    MalformedCommandInitiate,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR`
    MalformedCommandError,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY`
    MalformedCommandReady,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME`
    MalformedCommandWelcome,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA`
    InvalidMetadata,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC` (a CURVE box that does not open)
    Cryptographic,
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH`
    MechanismMismatch,
}

impl ProtocolError {
    /// The numeric value libzmq reports (`zmq.h`).
    pub const fn to_raw(self) -> u32 {
        match self {
            Self::ZmtpUnspecified => 0x1000_0000,
            Self::UnexpectedCommand => 0x1000_0001,
            Self::InvalidSequence => 0x1000_0002,
            Self::KeyExchange => 0x1000_0003,
            Self::MalformedCommandUnspecified => 0x1000_0011,
            Self::MalformedCommandMessage => 0x1000_0012,
            Self::MalformedCommandHello => 0x1000_0013,
            Self::MalformedCommandInitiate => 0x1000_0014,
            Self::MalformedCommandError => 0x1000_0015,
            Self::MalformedCommandReady => 0x1000_0016,
            Self::MalformedCommandWelcome => 0x1000_0017,
            Self::InvalidMetadata => 0x1000_0018,
            Self::Cryptographic => 0x1100_0001,
            Self::MechanismMismatch => 0x1100_0002,
        }
    }
}

/// Which of libzmq's handshake-failure monitor events a failure maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeFailure {
    /// `ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL` (timeouts).
    NoDetail,
    /// `ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL` with this code.
    Protocol(ProtocolError),
    /// `ZMQ_EVENT_HANDSHAKE_FAILED_AUTH` with this ZAP status code (300, 400 or 500).
    Auth {
        /// The ZAP status code.
        status_code: u16,
    },
}

/// Why a [`crate::Session`] ended. Once returned, the session is closed for good.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The peer sent bytes that are not ZMTP.
    #[error("malformed input: {0}")]
    Malformed(#[source] DecodeError),
    /// The peer broke the protocol with well-formed frames.
    #[error("peer misbehaved: {0}")]
    PeerMisbehaved(#[source] Misbehaviour),
    /// The peer follows the protocol but we cannot talk to it.
    #[error("peer incompatible: {0}")]
    PeerIncompatible(#[source] Incompatibility),
    /// The peer sent an ERROR command (RFC 23: fatal; do not reconnect with the same
    /// credentials).
    #[error("peer sent ERROR: {}", String::from_utf8_lossy(reason))]
    PeerSentError {
        /// The reason it gave.
        reason: Bytes,
    },
    /// A CURVE box did not open or held the wrong keys (RFC 26).
    #[error("CURVE: {0}")]
    CryptoFailed(#[source] CryptoFailure),
    /// The driver denied the peer (see [`crate::AuthResult::Deny`]).
    #[error(
        "authentication failed ({status_code}): {}",
        String::from_utf8_lossy(reason)
    )]
    AuthenticationFailed {
        /// The ZAP status code (300 temporary, 400 denied, 500 internal error).
        status_code: u16,
        /// The ZAP status text.
        reason: Bytes,
    },
    /// The greeting and security handshake did not finish in time.
    #[error("handshake timed out")]
    HandshakeTimedOut,
    /// No traffic arrived within the heartbeat timeout after our PING, or within the TTL the
    /// peer announced in its PING (RFC 37 "Connection Heartbeating").
    #[error("heartbeat timed out")]
    HeartbeatTimedOut,
    /// The session was created with an invalid configuration.
    #[error("invalid configuration: {0}")]
    Config(#[source] ConfigError),
}

impl From<DecodeError> for SessionError {
    fn from(err: DecodeError) -> Self {
        match err {
            DecodeError::LegacyPeer { version } => {
                Self::PeerIncompatible(Incompatibility::LegacyVersion { version })
            }
            other => Self::Malformed(other),
        }
    }
}

impl SessionError {
    /// Whether the session queues an ERROR command for the peer before closing: for a
    /// socket-type mismatch (RFC 23: "handle errors by returning an ERROR command, and then
    /// disconnecting") and for a denied authentication (except ZAP's 300 "temporary failure",
    /// which closes silently, as libzmq and RFC 26 do).
    pub fn sends_error_command(&self) -> bool {
        self.error_reason().is_some()
    }

    /// The reason carried by the ERROR command we send, if we send one. For a denied
    /// authentication it is the three-digit ZAP status code, exactly as libzmq sends it.
    pub(crate) fn error_reason(&self) -> Option<Bytes> {
        match self {
            Self::PeerIncompatible(Incompatibility::SocketType { .. })
            | Self::PeerMisbehaved(Misbehaviour::MissingSocketType) => {
                Some(Bytes::from_static(b"Invalid socket type"))
            }
            Self::AuthenticationFailed { status_code, .. } if *status_code != 300 => {
                let code = status_code.to_string();
                Some(Bytes::from(code.into_bytes()))
            }
            _ => None,
        }
    }

    /// How libzmq would report this failure in its monitor, were it to end a handshake
    /// (use [`crate::Session::handshake_failure`] to know whether it did).
    pub fn handshake_failure(&self) -> HandshakeFailure {
        use HandshakeFailure::{Auth, NoDetail, Protocol};
        match self {
            Self::HandshakeTimedOut | Self::HeartbeatTimedOut | Self::Config(_) => NoDetail,
            Self::AuthenticationFailed { status_code, .. } => Auth {
                status_code: *status_code,
            },
            Self::PeerSentError { reason } => match zap_status(reason) {
                Some(status_code) => Auth { status_code },
                None => Protocol(ProtocolError::ZmtpUnspecified),
            },
            Self::PeerIncompatible(Incompatibility::MechanismMismatch { .. }) => {
                Protocol(ProtocolError::MechanismMismatch)
            }
            Self::PeerIncompatible(Incompatibility::SocketType { .. })
            | Self::PeerMisbehaved(Misbehaviour::MissingSocketType) => {
                Protocol(ProtocolError::InvalidMetadata)
            }
            Self::PeerIncompatible(Incompatibility::LegacyVersion { .. }) => {
                Protocol(ProtocolError::ZmtpUnspecified)
            }
            // libzmq reports an unknown CurveZMQ version as a malformed HELLO.
            Self::PeerIncompatible(Incompatibility::CurveVersion { .. }) => {
                Protocol(ProtocolError::MalformedCommandHello)
            }
            Self::PeerMisbehaved(Misbehaviour::NonceNotIncreasing { .. }) => {
                Protocol(ProtocolError::InvalidSequence)
            }
            Self::CryptoFailed(CryptoFailure::VouchMismatch) => {
                Protocol(ProtocolError::KeyExchange)
            }
            Self::CryptoFailed(_) => Protocol(ProtocolError::Cryptographic),
            Self::PeerMisbehaved(Misbehaviour::UnexpectedCommand { .. }) => {
                Protocol(ProtocolError::UnexpectedCommand)
            }
            Self::PeerMisbehaved(Misbehaviour::MessageDuringHandshake) => {
                Protocol(ProtocolError::UnexpectedCommand)
            }
            Self::Malformed(DecodeError::MalformedCommand { command }) => Protocol(match command {
                CommandKind::Hello => ProtocolError::MalformedCommandHello,
                CommandKind::Initiate => ProtocolError::MalformedCommandInitiate,
                CommandKind::Error => ProtocolError::MalformedCommandError,
                CommandKind::Ready => ProtocolError::MalformedCommandReady,
                CommandKind::Welcome => ProtocolError::MalformedCommandWelcome,
                CommandKind::Message => ProtocolError::MalformedCommandMessage,
                _ => ProtocolError::MalformedCommandUnspecified,
            }),
            Self::Malformed(DecodeError::MalformedProperty | DecodeError::TooManyProperties) => {
                Protocol(ProtocolError::InvalidMetadata)
            }
            Self::Malformed(DecodeError::BadCommandName | DecodeError::NotACommand) => {
                Protocol(ProtocolError::MalformedCommandUnspecified)
            }
            Self::Malformed(_) => Protocol(ProtocolError::ZmtpUnspecified),
        }
    }
}

/// A ZAP status code (300, 400, 500) when an ERROR reason is exactly one, as libzmq's
/// `handle_error_reason` recognises it.
fn zap_status(reason: &[u8]) -> Option<u16> {
    match reason {
        [b'3', b'0', b'0'] => Some(300),
        [b'4', b'0', b'0'] => Some(400),
        [b'5', b'0', b'0'] => Some(500),
        _ => None,
    }
}

/// [`crate::Session::send`] was called before the session emitted
/// [`crate::SessionEvent::Ready`], or after it closed. The traffic is handed back untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("session is not ready to send")]
pub struct SendNotReady(pub Traffic);

impl SendNotReady {
    /// The traffic that was not sent.
    pub fn into_inner(self) -> Traffic {
        self.0
    }
}
