//! The per-connection ZMTP machine: greeting → security handshake → traffic → closed, with
//! the handshake timeout and ZMTP 3.1 heartbeats.
//!
//! A [`Session`] owns no buffer and no clock. Its methods fall into four groups, as quinn's
//! `Connection` does:
//!
//! * getters: [`Session::is_ready`], [`Session::peer_minor_version`], [`Session::error`], ...;
//! * inputs: [`Session::poll_event`] (bytes in, one event out), [`Session::handle_auth`],
//!   [`Session::handle_timeout`];
//! * user commands: [`Session::send`];
//! * outputs: [`Session::poll_transmit`] (bytes out) and [`Session::poll_timeout`].
//!
//! After any input, drain `poll_event` until `Ok(None)`, then `poll_transmit`, then re-arm the
//! timer from `poll_timeout`. The crate documentation gives the whole drive loop.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::command::{Command, CommandKind, PING_CONTEXT_MAX};
use crate::curve::{CurvePublicKey, RngSeed};
use crate::decoded::Decoded;
use crate::error::{
    ConfigError, DecodeError, HandshakeFailure, Misbehaviour, SendNotReady, SessionError,
};
use crate::frame::{Frame, FrameDecoder, put_header};
use crate::greeting::{self, Greeting, MechanismName};
use crate::mechanism::{self, HandshakeCtx, Mechanism, MechanismConfig, Step};
use crate::msg::{Msg, Properties, Traffic};
use crate::packed::Framed;
use crate::parse::{self, GreetingPrefix};
use crate::socket_type::SocketType;
use crate::txbuf::TxBuf;

/// libzmq's default `ZMQ_HANDSHAKE_IVL`: 30 seconds.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What a session announces and enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our socket type, sent as `Socket-Type` and checked against the peer's.
    pub socket_type: SocketType,
    /// Our routing id, sent as `Identity` (at most 255 octets). As libzmq does, only REQ,
    /// DEALER and ROUTER send `Identity` (empty when `None`); other types never do.
    pub routing_id: Option<Bytes>,
    /// The security mechanism and our role in it.
    pub mechanism: MechanismConfig,
    /// With NULL, ask the driver ([`SessionEvent::Authenticate`]) before accepting a peer, as
    /// libzmq does when a ZAP domain is set. A PLAIN server always asks.
    pub authenticate: bool,
    /// libzmq's `ZMQ_MAXMSGSIZE`: the largest frame, and the largest multipart message, we
    /// accept. `None`: no limit.
    pub max_msg_size: Option<u64>,
    /// Time allowed for the greeting and handshake (libzmq's `ZMQ_HANDSHAKE_IVL`). `None`: no
    /// limit.
    pub handshake_timeout: Option<Duration>,
    /// Send a PING this often once ready (to ZMTP 3.1 peers). `None`: no heartbeats.
    pub heartbeat_interval: Option<Duration>,
    /// The time-to-live announced in our PINGs (rounded down to tenths of a second, at most
    /// 6553.5 s). `None`: 0, no TTL.
    pub heartbeat_ttl: Option<Duration>,
    /// How long to wait for any traffic after a PING before giving up. `None`: the interval,
    /// as libzmq.
    pub heartbeat_timeout: Option<Duration>,
    /// Extra metadata we announce: names must start with `X-` (RFC 23: "reserved for
    /// application use"). Sent sorted by name, after `Socket-Type` and `Identity`, as libzmq
    /// sends its `ZMQ_METADATA`.
    pub metadata: Properties,
    /// 32 octets from the operating system's CSPRNG, fresh for every connection: CURVE draws
    /// its short-term keys, cookie key and long nonces from them (this crate never reads a
    /// global RNG). Required by [`MechanismConfig::CurveClient`] and
    /// [`MechanismConfig::CurveServer`] ([`ConfigError::MissingRngSeed`] otherwise); unused
    /// by NULL and PLAIN.
    pub rng_seed: Option<RngSeed>,
    /// A frame of at least this many octets whose body has not all arrived has its header
    /// taken off the receive buffer, so that the driver can read the body straight into a
    /// buffer of its size ([`Session::awaited_body`]). `None`: never.
    pub read_bodies_apart_from: Option<usize>,
}

impl SessionConfig {
    /// A configuration with libzmq's defaults: NULL security, no routing id, no size limit,
    /// a 30 s handshake timeout, no heartbeats.
    pub fn new(socket_type: SocketType) -> Self {
        Self {
            socket_type,
            routing_id: None,
            mechanism: MechanismConfig::Null,
            authenticate: false,
            max_msg_size: None,
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
            heartbeat_interval: None,
            heartbeat_ttl: None,
            heartbeat_timeout: None,
            read_bodies_apart_from: None,
            metadata: Properties::new(),
            rng_seed: None,
        }
    }

    /// Checks the limits the wire imposes on credentials, routing id and metadata, and the
    /// CURVE keys and seed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.prepare().map(|_| ())
    }

    /// Our metadata and the mechanism, or why this configuration cannot run.
    fn prepare(&self) -> Result<(Properties, Box<dyn Mechanism>), ConfigError> {
        let metadata = self.local_metadata()?;
        self.mechanism.validate()?;
        let mechanism =
            mechanism::build(&self.mechanism, self.authenticate, self.rng_seed.as_ref())?;
        Ok((metadata, mechanism))
    }

    /// Our READY/INITIATE metadata, in libzmq's order.
    fn local_metadata(&self) -> Result<Properties, ConfigError> {
        if let MechanismConfig::PlainClient { username, password } = &self.mechanism {
            for (field, value) in [("username", username), ("password", password)] {
                if value.len() > 255 {
                    return Err(ConfigError::CredentialTooLong {
                        field,
                        len: value.len(),
                    });
                }
            }
        }
        let routing_id = self.routing_id.clone().unwrap_or_default();
        if routing_id.len() > 255 {
            return Err(ConfigError::RoutingIdTooLong {
                len: routing_id.len(),
            });
        }
        let mut props = Properties::new();
        props.insert(
            Bytes::from_static(b"Socket-Type"),
            Bytes::from_static(self.socket_type.as_str().as_bytes()),
        );
        if matches!(
            self.socket_type,
            SocketType::Req | SocketType::Dealer | SocketType::Router
        ) {
            props.insert(Bytes::from_static(b"Identity"), routing_id);
        }
        let mut extra: Vec<(&Bytes, &Bytes)> = self.metadata.iter().collect();
        extra.sort_by(|a, b| a.0.cmp(b.0));
        for (name, value) in extra {
            if !valid_app_property_name(name) {
                return Err(ConfigError::BadPropertyName { name: name.clone() });
            }
            if value.len() > 0x7FFF_FFFF {
                return Err(ConfigError::PropertyValueTooLong);
            }
            props.insert(name.clone(), value.clone());
        }
        Ok(props)
    }
}

/// RFC 23 `name = short-size 1*255name-char`, with the `X-` prefix for application use.
fn valid_app_property_name(name: &[u8]) -> bool {
    name.len() <= 255
        && name.len() > 2
        && name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case(b"X-"))
        && name
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'+'))
}

/// What the peer told us at the end of the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The peer's socket type (checked compatible with ours).
    pub socket_type: SocketType,
    /// The peer's `Identity`, when it sent a non-empty one.
    pub routing_id: Option<Bytes>,
    /// All the peer's metadata properties (`Socket-Type`, `Identity`, `X-*`, ...), plus
    /// `User-Id` when the driver allowed the peer with a non-empty user id (as libzmq adds
    /// ZAP's user id).
    pub properties: Arc<Properties>,
    /// The minor protocol version the peer announced (0: ZMTP 3.0, 1: ZMTP 3.1).
    pub minor: u8,
}

/// A request for the driver to authenticate the peer, answered with
/// [`Session::handle_auth`]. Its fields map to a ZAP request (RFC 27).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthRequest {
    /// `"NULL"`, `"PLAIN"` or `"CURVE"`.
    pub mechanism: &'static str,
    /// PLAIN's user name.
    pub username: Option<Bytes>,
    /// PLAIN's password.
    pub password: Option<Bytes>,
    /// CURVE's client long-term public key, vouched for during the handshake (ZAP's one
    /// credentials frame for CURVE is its 32 octets).
    pub curve_public_key: Option<CurvePublicKey>,
}

/// The driver's answer to an [`AuthRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthResult {
    /// Accept the peer (ZAP status 200).
    Allow {
        /// The user id the authenticator assigned (may be empty).
        user_id: Bytes,
    },
    /// Refuse the peer: an ERROR command carrying the status code goes to the peer (none for
    /// 300, "temporary failure", as in libzmq), then the session fails with
    /// [`SessionError::AuthenticationFailed`].
    Deny {
        /// ZAP status code: 300, 400 or 500.
        status_code: u16,
        /// ZAP status text.
        reason: Bytes,
    },
}

/// What [`Session::poll_event`] hands up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The handshake completed: from now on [`Session::send`] works.
    Ready(Handshake),
    /// Traffic from the peer.
    Traffic(Traffic),
    /// The driver must decide whether to accept the peer.
    Authenticate(AuthRequest),
}

/// What [`Session::hot_step`] found at the front of the receive buffer.
enum HotStep {
    /// A single-frame message's body.
    Single(Bytes),
    /// A single-frame message of at most [`Msg::SMALL_MAX`] octets, handed to the caller's
    /// copy and consumed.
    Copied,
    /// Another traffic frame (a command, or the first of a multipart message).
    Frame(Frame),
    /// Not a whole frame yet.
    Incomplete,
    /// A framing error.
    Failed(DecodeError),
    /// Not the hot path's case: the slow path decides.
    Slow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Greeting,
    Handshake,
    Traffic,
    Closed,
}

/// How much of our greeting is queued (libzmq sends it in three steps: the signature, the
/// major version once the peer's signature is in, the rest once the peer's major version is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GreetingTx {
    Signature,
    Major,
    Whole,
}

/// Heartbeat settings, resolved.
#[derive(Debug, Clone, Copy)]
struct Heartbeat {
    interval: Option<Duration>,
    /// Our PING TTL in tenths of a second.
    ttl: u16,
    timeout: Option<Duration>,
}

/// The per-connection ZMTP machine. See the module and crate docs for how to drive it.
#[derive(Debug)]
pub struct Session {
    socket_type: SocketType,
    /// PUB or XPUB: single-frame messages starting with 0x01/0x00 are subscriptions.
    reads_subscriptions: bool,
    /// The most octets of a one-frame message copied into it rather than shared with the
    /// read buffer ([`Msg::SMALL_MAX`]); none for ROUTER, which puts the sender's identity
    /// in front of every message it receives, and would then copy an inline frame out again.
    copy_small_max: usize,
    mechanism_name: MechanismName,
    as_server: bool,
    local_metadata: Properties,
    phase: Phase,
    greeting_tx: GreetingTx,
    peer_minor: Option<u8>,
    /// The peer speaks ZMTP 3.1 or later (subscriptions as commands, PINGs welcome).
    peer_v31: bool,
    mechanism: Box<dyn Mechanism>,
    transparent: bool,
    awaiting_auth: bool,
    user_id: Option<Bytes>,
    /// An event produced outside `poll_event` (by `handle_auth`), handed out next.
    pending_event: Option<SessionEvent>,
    decoder: FrameDecoder,
    /// Frames of a multipart message received so far.
    partial: Msg,
    /// Octets and frames of `partial`, counted after decryption for the maximum message size
    /// (an encrypting mechanism hides MORE from the frame decoder, which then sees every
    /// frame as a message of its own).
    decrypted_len: u64,
    decrypted_frames: u64,
    /// Our own bytes (greeting, handshake, PING, PONG, ERROR) not yet given to the caller.
    out: TxBuf,
    /// The context of the latest PING, to echo in a PONG. Like libzmq, we answer a burst of
    /// PINGs with one PONG, so a peer cannot make us queue output faster than we send it.
    pending_pong: Option<Bytes>,
    error: Option<SessionError>,
    failed_in_handshake: bool,
    heartbeat: Heartbeat,
    handshake_deadline: Option<Instant>,
    next_ping: Option<Instant>,
    /// Armed when we send a PING: traffic must arrive before it.
    pong_deadline: Option<Instant>,
    /// Armed by the peer's PING TTL: traffic must arrive before it.
    ttl_deadline: Option<Instant>,
    /// `rx.len()` when the last `poll_event` returned, to notice newly arrived bytes.
    rx_left: usize,
}

impl Session {
    /// A session for a freshly established connection. It queues the 10-octet signature for
    /// [`Session::poll_transmit`]. An invalid configuration (see [`SessionConfig::validate`])
    /// gives a session that is already closed with [`SessionError::Config`]; use
    /// [`Session::try_new`] to get the error up front.
    pub fn new(now: Instant, config: SessionConfig) -> Self {
        match config.prepare() {
            Ok((metadata, mechanism)) => Self::with_parts(now, &config, metadata, mechanism),
            Err(err) => {
                // A placeholder mechanism: the session never gets to use it.
                let placeholder = Box::new(mechanism::null_placeholder());
                let mut session = Self::with_parts(now, &config, Properties::new(), placeholder);
                session.out.clear();
                session.phase = Phase::Closed;
                session.error = Some(SessionError::Config(err));
                session
            }
        }
    }

    /// Like [`Session::new`], but refuses an invalid configuration.
    pub fn try_new(now: Instant, config: SessionConfig) -> Result<Self, ConfigError> {
        let (metadata, mechanism) = config.prepare()?;
        Ok(Self::with_parts(now, &config, metadata, mechanism))
    }

    fn with_parts(
        now: Instant,
        config: &SessionConfig,
        local_metadata: Properties,
        mechanism: Box<dyn Mechanism>,
    ) -> Self {
        let transparent = mechanism.is_transparent();
        let interval = config.heartbeat_interval.filter(|d| !d.is_zero());
        let ttl = config.heartbeat_ttl.map_or(0, |d| {
            u16::try_from(d.as_millis() / 100).unwrap_or(u16::MAX)
        });
        let timeout = config
            .heartbeat_timeout
            .or(interval)
            .filter(|d| !d.is_zero());
        let mut out = TxBuf::new();
        // libzmq's padding: its routing id's length plus one (RFC 37's pseudo-signature).
        let id_len = config.routing_id.as_ref().map_or(0, Bytes::len) as u64;
        greeting::encode_signature(out.staging_mut(), id_len + 1);
        Self {
            socket_type: config.socket_type,
            reads_subscriptions: matches!(config.socket_type, SocketType::Pub | SocketType::XPub),
            copy_small_max: if config.socket_type == SocketType::Router {
                0
            } else {
                Msg::SMALL_MAX
            },
            mechanism_name: config.mechanism.name(),
            as_server: config.mechanism.as_server(),
            local_metadata,
            phase: Phase::Greeting,
            greeting_tx: GreetingTx::Signature,
            peer_minor: None,
            peer_v31: false,
            mechanism,
            transparent,
            awaiting_auth: false,
            user_id: None,
            pending_event: None,
            decoder: {
                let mut decoder = FrameDecoder::new(config.max_msg_size);
                if let Some(min) = config.read_bodies_apart_from {
                    decoder.take_headers_from(min);
                }
                decoder
            },
            partial: Msg::new(),
            decrypted_len: 0,
            decrypted_frames: 0,
            out,
            pending_pong: None,
            error: None,
            failed_in_handshake: false,
            heartbeat: Heartbeat {
                interval,
                ttl,
                timeout,
            },
            handshake_deadline: config
                .handshake_timeout
                .filter(|d| !d.is_zero())
                .and_then(|d| now.checked_add(d)),
            next_ping: None,
            pong_deadline: None,
            ttl_deadline: None,
            rx_left: 0,
        }
    }

    // ---- getters -----------------------------------------------------------------------

    /// True once [`SessionEvent::Ready`] has been emitted and until the session closes.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Traffic
    }

    /// True once the session has failed.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// The minor version from the peer's greeting, once it has arrived.
    pub fn peer_minor_version(&self) -> Option<u8> {
        self.peer_minor
    }

    /// Why the session closed, if it did.
    pub fn error(&self) -> Option<&SessionError> {
        self.error.as_ref()
    }

    /// When the session failed before completing its handshake, how libzmq's monitor would
    /// report it (`HANDSHAKE_FAILED_*`); `None` if it has not failed or failed afterwards.
    pub fn handshake_failure(&self) -> Option<HandshakeFailure> {
        self.error
            .as_ref()
            .filter(|_| self.failed_in_handshake)
            .map(SessionError::handshake_failure)
    }

    /// Our socket type.
    pub fn socket_type(&self) -> SocketType {
        self.socket_type
    }

    // ---- inputs ------------------------------------------------------------------------

    /// Decodes at most one event from the front of `rx`, consuming its bytes. Internal
    /// commands (handshake steps, PING, PONG) are handled here and do not surface; unknown
    /// commands after the handshake are ignored (RFC 37). `Ok(None)`: more bytes are needed,
    /// or the session waits for [`Session::handle_auth`]. The caller may stop calling at any
    /// time (backpressure) and resume later.
    ///
    /// Received bytes count as a sign of life for the heartbeat timers.
    #[inline(always)]
    pub fn poll_event(
        &mut self,
        now: Instant,
        rx: &mut BytesMut,
    ) -> Result<Option<SessionEvent>, SessionError> {
        let mut copied = None;
        match self.hot_step(rx, |small| copied = Some(Msg::copied(small))) {
            HotStep::Single(body) => Ok(Some(SessionEvent::Traffic(Traffic::Message(
                Msg::single(body),
            )))),
            HotStep::Copied => Ok(copied.map(|msg| SessionEvent::Traffic(Traffic::Message(msg)))),
            HotStep::Frame(frame) => self.poll_event_slow(now, rx, Some(frame)),
            HotStep::Incomplete => Ok(None),
            HotStep::Failed(err) => Err(self.fail(err.into())),
            HotStep::Slow => self.poll_event_slow(now, rx, None),
        }
    }

    /// [`Session::poll_event`] for a driver that queues traffic: decodes traffic from `rx`
    /// into `into` until it holds `max` items, and returns the first other event. `Ok(None)`:
    /// more bytes are needed, the session waits for [`Session::handle_auth`], or `into` is
    /// full.
    ///
    /// Messages are built in `into` itself: one returned in an event and then queued was
    /// read back, in wide loads, right after the narrower stores that built it, which stalls
    /// the decoding loop at every message (a store-forwarding failure).
    #[inline(always)]
    pub fn poll_traffic(
        &mut self,
        now: Instant,
        rx: &mut BytesMut,
        into: &mut VecDeque<Traffic>,
        max: usize,
    ) -> Result<Option<SessionEvent>, SessionError> {
        while into.len() < max {
            let event = match self.hot_step(rx, |small| Traffic::push_copied(into, small)) {
                HotStep::Single(body) => {
                    into.push_back(Traffic::Message(Msg::single(body)));
                    continue;
                }
                HotStep::Copied => continue,
                HotStep::Frame(frame) => self.poll_event_slow(now, rx, Some(frame))?,
                HotStep::Incomplete => return Ok(None),
                HotStep::Failed(err) => return Err(self.fail(err.into())),
                HotStep::Slow => self.poll_event_slow(now, rx, None)?,
            };
            match event {
                Some(SessionEvent::Traffic(traffic)) => into.push_back(traffic),
                other => return Ok(other),
            }
        }
        Ok(None)
    }

    /// The hot path of [`Session::poll_event`]: in the traffic phase of a session without
    /// encryption or subscriptions to read, and between messages, one frame decoded here.
    /// Everything else (a closed session is never in Traffic) takes the slow path.
    #[inline(always)]
    fn hot_step(&mut self, rx: &mut BytesMut, small: impl FnOnce(&[u8])) -> HotStep {
        if rx.len() > self.rx_left {
            self.note_alive();
        }
        if !(self.phase == Phase::Traffic
            && self.transparent
            && !self.reads_subscriptions
            && self.partial.is_empty()
            && self.pending_event.is_none())
        {
            return HotStep::Slow;
        }
        match self
            .decoder
            .decode_or_copy_small(rx, self.copy_small_max, small)
        {
            Ok(Decoded::Complete { value: None, .. }) => {
                self.note_alive();
                self.rx_left = rx.len();
                HotStep::Copied
            }
            Ok(Decoded::Complete {
                value: Some(value), ..
            }) if !value.command && !value.more => {
                self.note_alive();
                self.rx_left = rx.len();
                HotStep::Single(value.body)
            }
            Ok(Decoded::Complete {
                value: Some(value), ..
            }) => HotStep::Frame(value),
            Ok(Decoded::Incomplete { .. }) => {
                self.rx_left = rx.len();
                HotStep::Incomplete
            }
            Err(err) => {
                self.rx_left = rx.len();
                HotStep::Failed(err)
            }
        }
    }

    /// Everything but the hot path of [`Session::poll_event`]; `first` is a traffic frame the
    /// hot path already decoded.
    #[inline(never)]
    fn poll_event_slow(
        &mut self,
        now: Instant,
        rx: &mut BytesMut,
        first: Option<Frame>,
    ) -> Result<Option<SessionEvent>, SessionError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        if let Some(event) = self.pending_event.take() {
            return Ok(Some(event));
        }
        let result = match first {
            Some(frame) => match self.traffic_frame(now, frame) {
                Ok(Some(event)) => Ok(Some(event)),
                Ok(None) => self.decode_event(now, rx),
                Err(err) => Err(err),
            },
            None => self.decode_event(now, rx),
        };
        self.rx_left = rx.len();
        result.map_err(|err| self.fail(err))
    }

    /// The driver's answer to [`SessionEvent::Authenticate`]. A denial queues an ERROR command
    /// (see [`AuthResult::Deny`]) and closes the session; the next `poll_event` reports
    /// [`SessionError::AuthenticationFailed`]. Ignored when no answer is awaited.
    pub fn handle_auth(&mut self, now: Instant, result: AuthResult) {
        if self.error.is_some() || !self.awaiting_auth {
            return;
        }
        self.awaiting_auth = false;
        if let AuthResult::Allow { user_id } = &result {
            self.user_id = Some(user_id.clone());
        }
        let mut ctx = HandshakeCtx {
            out: &mut self.out,
            metadata: &self.local_metadata,
            socket_type: self.socket_type,
        };
        match self.mechanism.handle_auth(&mut ctx, &result) {
            Ok(step) => self.pending_event = self.apply_step(now, step),
            Err(err) => {
                self.fail(err);
            }
        }
    }

    /// Runs the timers that are due at `now`: fails on an expired handshake or heartbeat,
    /// queues a PING when one is due.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), SessionError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if due(self.handshake_deadline) {
            return Err(self.fail(SessionError::HandshakeTimedOut));
        }
        if due(self.ttl_deadline) || due(self.pong_deadline) {
            return Err(self.fail(SessionError::HeartbeatTimedOut));
        }
        if due(self.next_ping) {
            self.queue_command(&Command::Ping {
                ttl: self.heartbeat.ttl,
                context: Bytes::new(),
            });
            self.next_ping = self.heartbeat.interval.and_then(|d| now.checked_add(d));
            if self.pong_deadline.is_none() {
                self.pong_deadline = self.heartbeat.timeout.and_then(|d| now.checked_add(d));
            }
        }
        Ok(())
    }

    // ---- user commands -----------------------------------------------------------------

    /// Encodes traffic into `tx`. Only allowed once [`SessionEvent::Ready`] has been emitted
    /// (sending earlier makes libzmq drop the connection) and until the session closes;
    /// otherwise the traffic is handed back.
    ///
    /// Subscriptions go as SUBSCRIBE/CANCEL commands to ZMTP 3.1 peers and as data frames
    /// (0x01/0x00 + topic) to ZMTP 3.0 peers; JOIN and LEAVE always go as commands. A message
    /// without frames sends nothing.
    // The error hands the traffic back by value (return to sender); boxing it would cost an
    // allocation for nothing on a path that is not hot.
    #[allow(clippy::result_large_err)]
    pub fn send(&mut self, traffic: Traffic, tx: &mut TxBuf) -> Result<(), SendNotReady> {
        if self.phase != Phase::Traffic {
            return Err(SendNotReady(traffic));
        }
        self.flush_out(tx);
        self.encode_traffic(traffic, tx);
        Ok(())
    }

    /// Encodes traffic from the front of `queue` into `tx` until `tx` holds `limit` octets or
    /// more, or the queue is empty; returns how many items it took. The same as
    /// [`Session::send`] for each, with the per-call checks done once; takes nothing before
    /// the handshake has completed.
    pub fn send_batch(
        &mut self,
        queue: &mut VecDeque<Traffic>,
        tx: &mut TxBuf,
        limit: usize,
    ) -> usize {
        if self.phase != Phase::Traffic {
            return 0;
        }
        self.flush_out(tx);
        let mut taken = 0;
        while tx.len() < limit {
            let Some(traffic) = queue.pop_front() else {
                break;
            };
            self.encode_traffic(traffic, tx);
            taken += 1;
        }
        taken
    }

    fn encode_traffic(&mut self, traffic: Traffic, tx: &mut TxBuf) {
        match traffic {
            Traffic::Message(msg) => self.send_message(msg, tx),
            Traffic::Subscribe(topic) => self.send_subscription(true, topic, tx),
            Traffic::Cancel(topic) => self.send_subscription(false, topic, tx),
            Traffic::Join(group) => self.send_command(&Command::Join { group }, tx),
            Traffic::Leave(group) => self.send_command(&Command::Leave { group }, tx),
            Traffic::Framed(framed) => self.send_framed(framed, tx),
        }
    }

    /// Packed messages go out as they are when the mechanism adds nothing to frames; one
    /// that does (CURVE) encodes them again frame by frame.
    fn send_framed(&mut self, framed: Framed, tx: &mut TxBuf) {
        if self.transparent {
            tx.put_bytes(framed.into_wire());
        } else {
            for msg in framed.into_messages() {
                self.send_message(msg, tx);
            }
        }
    }

    // ---- outputs -----------------------------------------------------------------------

    /// Appends our own pending bytes (greeting, handshake commands, PING, PONG, ERROR) to
    /// `tx`.
    pub fn poll_transmit(&mut self, now: Instant, tx: &mut TxBuf) {
        let _ = now;
        self.flush_out(tx);
    }

    /// The earliest instant at which [`Session::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.error.is_some() {
            return None;
        }
        [
            self.handshake_deadline,
            self.next_ping,
            self.pong_deadline,
            self.ttl_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- internals ---------------------------------------------------------------------

    /// Moves our pending bytes (a PONG first encoded if one is due) to `tx`.
    fn flush_out(&mut self, tx: &mut TxBuf) {
        if let Some(context) = self.pending_pong.take() {
            self.queue_command(&Command::Pong { context });
        }
        if !self.out.is_empty() {
            tx.append(&mut self.out);
        }
    }

    /// Closes the session with `err`, queueing an ERROR command first when the error calls
    /// for one. Returns the error for convenience.
    fn fail(&mut self, err: SessionError) -> SessionError {
        if self.error.is_none() {
            if let Some(reason) = err.error_reason() {
                if matches!(self.phase, Phase::Handshake | Phase::Traffic) {
                    self.queue_command(&Command::Error { reason });
                }
            }
            self.failed_in_handshake = self.phase != Phase::Traffic;
            self.phase = Phase::Closed;
            self.error = Some(err.clone());
            self.handshake_deadline = None;
            self.next_ping = None;
            self.pong_deadline = None;
            self.ttl_deadline = None;
            self.pending_pong = None;
        }
        err
    }

    /// The length of a frame body the receive buffer holds the start of, alone, its header
    /// taken off (see [`SessionConfig::read_bodies_apart_from`]): the next frame decoded
    /// once the buffer holds this many octets. The driver may move what the buffer holds into
    /// a buffer of this size, read the rest into it, and hand it back as the receive buffer.
    pub fn awaited_body(&self) -> Option<usize> {
        self.decoder.taken_header()
    }

    /// Octets arrived that the driver keeps aside for [`Session::awaited_body`]: a sign of
    /// life, as traffic is.
    pub fn handle_body_progress(&mut self) {
        self.note_alive();
    }

    /// Traffic from the peer is a sign of life: it answers our PING and renews its TTL.
    fn note_alive(&mut self) {
        self.pong_deadline = None;
        self.ttl_deadline = None;
    }

    fn decode_event(
        &mut self,
        now: Instant,
        rx: &mut BytesMut,
    ) -> Result<Option<SessionEvent>, SessionError> {
        loop {
            match self.phase {
                Phase::Greeting => {
                    if !self.receive_greeting(rx)? {
                        return Ok(None);
                    }
                    let mut ctx = HandshakeCtx {
                        out: &mut self.out,
                        metadata: &self.local_metadata,
                        socket_type: self.socket_type,
                    };
                    let step = self.mechanism.start(&mut ctx)?;
                    if let Some(event) = self.apply_step(now, step) {
                        return Ok(Some(event));
                    }
                }
                Phase::Handshake => {
                    if self.awaiting_auth {
                        return Ok(None);
                    }
                    let frame = match self.decoder.decode(rx)? {
                        Decoded::Complete { value, .. } => value,
                        Decoded::Incomplete { .. } => return Ok(None),
                    };
                    if !frame.command {
                        return Err(SessionError::PeerMisbehaved(
                            Misbehaviour::MessageDuringHandshake,
                        ));
                    }
                    let mut ctx = HandshakeCtx {
                        out: &mut self.out,
                        metadata: &self.local_metadata,
                        socket_type: self.socket_type,
                    };
                    let step = self.mechanism.handle_command(&mut ctx, frame.body)?;
                    if let Some(event) = self.apply_step(now, step) {
                        return Ok(Some(event));
                    }
                }
                Phase::Traffic => return self.decode_traffic(now, rx),
                Phase::Closed => return Ok(None),
            }
        }
    }

    /// Reads the peer's greeting, queueing the next part of ours as its first octets arrive.
    /// True once all 64 octets are in and accepted.
    fn receive_greeting(&mut self, rx: &mut BytesMut) -> Result<bool, SessionError> {
        let prefix = parse::greeting_prefix(rx)?;
        if self.greeting_tx == GreetingTx::Signature
            && matches!(prefix, GreetingPrefix::Signature | GreetingPrefix::Major(_))
        {
            self.out.staging_mut().put_u8(3);
            self.greeting_tx = GreetingTx::Major;
        }
        if self.greeting_tx == GreetingTx::Major && matches!(prefix, GreetingPrefix::Major(_)) {
            greeting::encode_after_major(
                self.out.staging_mut(),
                1,
                &self.mechanism_name,
                self.as_server,
            );
            self.greeting_tx = GreetingTx::Whole;
        }
        let peer = match Greeting::decode(rx)? {
            Decoded::Complete { value, consumed } => {
                rx.advance(consumed);
                value
            }
            Decoded::Incomplete { .. } => return Ok(false),
        };
        if peer.mechanism != self.mechanism_name {
            return Err(SessionError::PeerIncompatible(
                crate::error::Incompatibility::MechanismMismatch {
                    ours: self.mechanism_name,
                    theirs: peer.mechanism,
                },
            ));
        }
        self.peer_minor = Some(peer.version.minor);
        // RFC 23: "A peer MUST accept higher protocol versions as valid"; libzmq speaks 3.1 to
        // anything above 3.0.
        self.peer_v31 = peer.version.major > 3 || peer.version.minor >= 1;
        self.phase = Phase::Handshake;
        Ok(true)
    }

    /// Acts on a mechanism step; returns the event it produces, if any.
    fn apply_step(&mut self, now: Instant, step: Step) -> Option<SessionEvent> {
        match step {
            Step::Continue => None,
            Step::Authenticate(request) => {
                self.awaiting_auth = true;
                Some(SessionEvent::Authenticate(request))
            }
            Step::Ready {
                mut properties,
                socket_type,
            } => {
                let routing_id = properties
                    .get("Identity")
                    .filter(|id| !id.is_empty())
                    .cloned();
                if let Some(user_id) = self.user_id.take().filter(|u| !u.is_empty()) {
                    properties.insert(Bytes::from_static(b"User-Id"), user_id);
                }
                self.phase = Phase::Traffic;
                self.handshake_deadline = None;
                if self.peer_v31 {
                    self.next_ping = self.heartbeat.interval.and_then(|d| now.checked_add(d));
                }
                Some(SessionEvent::Ready(Handshake {
                    socket_type,
                    routing_id,
                    properties: Arc::new(properties),
                    minor: self.peer_minor.unwrap_or(0),
                }))
            }
        }
    }

    /// The traffic loop.
    fn decode_traffic(
        &mut self,
        now: Instant,
        rx: &mut BytesMut,
    ) -> Result<Option<SessionEvent>, SessionError> {
        loop {
            let frame = if self.transparent {
                match self.decoder.decode(rx)? {
                    Decoded::Complete { value, .. } => value,
                    Decoded::Incomplete { .. } => return Ok(None),
                }
            } else {
                // Decrypted in place: the plaintext shares the receive buffer.
                let sealed = match self.decoder.decode_mut(rx)? {
                    Decoded::Complete { value, .. } => value,
                    Decoded::Incomplete { .. } => return Ok(None),
                };
                let frame = self.mechanism.decode_frame(sealed)?;
                self.check_decrypted_size(&frame)?;
                frame
            };
            if let Some(event) = self.traffic_frame(now, frame)? {
                return Ok(Some(event));
            }
        }
    }

    /// Applies the maximum message size to the frames of a multipart message as they come out
    /// of an encrypting mechanism, as [`FrameDecoder`] does for clear frames.
    fn check_decrypted_size(&mut self, frame: &Frame) -> Result<(), DecodeError> {
        let (Some(max), Some(max_frames)) =
            (self.decoder.max_msg_size(), self.decoder.max_frames())
        else {
            return Ok(());
        };
        if frame.command {
            return Ok(());
        }
        let len = self.decrypted_len.saturating_add(frame.body.len() as u64);
        let frames = self.decrypted_frames.saturating_add(1);
        if len > max {
            return Err(DecodeError::MessageTooLarge { len, max });
        }
        if frames > max_frames {
            return Err(DecodeError::TooManyFrames { max: max_frames });
        }
        (self.decrypted_len, self.decrypted_frames) =
            if frame.more { (len, frames) } else { (0, 0) };
        Ok(())
    }

    /// One frame after the handshake; the event it completes, if any.
    fn traffic_frame(
        &mut self,
        now: Instant,
        frame: Frame,
    ) -> Result<Option<SessionEvent>, SessionError> {
        // Every frame is a sign of life; a PING below may re-arm its TTL.
        self.note_alive();
        if frame.command {
            return self.traffic_command(now, frame.body);
        }
        if frame.more {
            self.partial.push_back(frame.body);
            return Ok(None);
        }
        let msg = if self.partial.is_empty() {
            Msg::single(frame.body)
        } else {
            let mut msg = std::mem::take(&mut self.partial);
            msg.push_back(frame.body);
            msg
        };
        Ok(self.incoming_message(msg).map(SessionEvent::Traffic))
    }

    /// A whole message from the peer. PUB and XPUB read single-frame messages starting with
    /// 0x01/0x00 as subscriptions (ZMTP 3.0 peers and libzmq's XSUB send them so). PUB drops
    /// the other single-frame messages, as libzmq's does, but hands multipart ones up: libzmq
    /// also reads subscriptions from their frames, which is the pattern's business.
    fn incoming_message(&self, mut msg: Msg) -> Option<Traffic> {
        if !self.reads_subscriptions || msg.len() != 1 {
            return Some(Traffic::Message(msg));
        }
        match msg.first().and_then(<[u8]>::first) {
            Some(&flag @ (0 | 1)) => {
                let topic = msg.pop_back().unwrap_or_default().slice(1..);
                Some(if flag == 1 {
                    Traffic::Subscribe(topic)
                } else {
                    Traffic::Cancel(topic)
                })
            }
            _ if self.socket_type == SocketType::Pub => None,
            _ => Some(Traffic::Message(msg)),
        }
    }

    /// A command after the handshake.
    fn traffic_command(
        &mut self,
        now: Instant,
        body: Bytes,
    ) -> Result<Option<SessionEvent>, SessionError> {
        let (kind, data_at) = Command::peek(&body)?;
        let Some(kind) = kind else {
            return Ok(None);
        };
        let traffic = match kind {
            CommandKind::Ping => {
                if let Command::Ping { ttl, context } = Command::decode_known(kind, &body, data_at)?
                {
                    // RFC 37: echo the context (libzmq truncates it to 16 octets).
                    let context = context.slice(..context.len().min(PING_CONTEXT_MAX));
                    self.pending_pong = Some(context);
                    if ttl > 0 && self.ttl_deadline.is_none() {
                        let ttl = Duration::from_millis(u64::from(ttl) * 100);
                        self.ttl_deadline = now.checked_add(ttl);
                    }
                }
                return Ok(None);
            }
            CommandKind::Error => return Err(mechanism::peer_error(&body, data_at)),
            CommandKind::Subscribe
            | CommandKind::Cancel
            | CommandKind::Join
            | CommandKind::Leave => match Command::decode_known(kind, &body, data_at)? {
                Command::Subscribe { topic } => Traffic::Subscribe(topic),
                Command::Cancel { topic } => Traffic::Cancel(topic),
                Command::Join { group } => Traffic::Join(group),
                Command::Leave { group } => Traffic::Leave(group),
                _ => return Ok(None),
            },
            // PONG is only a sign of life; handshake commands after the handshake are ignored,
            // as libzmq does.
            _ => return Ok(None),
        };
        Ok(Some(SessionEvent::Traffic(traffic)))
    }

    /// Queues one of our own commands for `poll_transmit`.
    fn queue_command(&mut self, cmd: &Command) {
        if self.transparent || self.phase != Phase::Traffic {
            cmd.encode(self.out.staging_mut());
        } else {
            let mut body = BytesMut::with_capacity(cmd.body_len());
            cmd.encode_body(&mut body);
            self.mechanism
                .encode_frame(Frame::command(body.freeze()), &mut self.out);
        }
    }

    fn send_command(&mut self, cmd: &Command, tx: &mut TxBuf) {
        if self.transparent {
            cmd.encode(tx.staging_mut());
        } else {
            let mut body = BytesMut::with_capacity(cmd.body_len());
            cmd.encode_body(&mut body);
            self.mechanism
                .encode_frame(Frame::command(body.freeze()), tx);
        }
    }

    #[inline]
    fn send_message(&mut self, mut msg: Msg, tx: &mut TxBuf) {
        let count = msg.len();
        if self.transparent && count == 1 {
            // The common single-frame case, without moving the message into an iterator.
            if let Some(small) = msg.small() {
                tx.reserve(2 + small.len());
                put_header(tx.staging_mut(), false, false, small.len());
                tx.staging_mut().put_slice(small);
                return;
            }
            if let Some(body) = msg.pop_back() {
                put_frame(tx, false, body);
            }
            return;
        }
        for (i, body) in msg.into_frames().enumerate() {
            let more = i + 1 < count;
            if self.transparent {
                put_frame(tx, more, body);
            } else {
                self.mechanism.encode_frame(Frame::message(body, more), tx);
            }
        }
    }

    fn send_subscription(&mut self, subscribe: bool, topic: Bytes, tx: &mut TxBuf) {
        if self.peer_v31 {
            let cmd = if subscribe {
                Command::Subscribe { topic }
            } else {
                Command::Cancel { topic }
            };
            self.send_command(&cmd, tx);
            return;
        }
        let mut body = BytesMut::with_capacity(1 + topic.len());
        body.put_u8(u8::from(subscribe));
        body.put_slice(&topic);
        self.send_message(Msg::single(body.freeze()), tx);
    }
}

/// Writes one message frame: header and body copied into the staging area, or the header
/// there and a large body queued beside it without copying.
#[inline]
fn put_frame(tx: &mut TxBuf, more: bool, body: Bytes) {
    if body.len() < crate::txbuf::ZERO_COPY_THRESHOLD {
        tx.reserve(2 + body.len());
        put_header(tx.staging_mut(), more, false, body.len());
        tx.staging_mut().put_slice(&body);
        tx.retire(body);
    } else {
        tx.reserve(9);
        put_header(tx.staging_mut(), more, false, body.len());
        tx.put_bytes(body);
    }
}

#[cfg(test)]
mod tests;
