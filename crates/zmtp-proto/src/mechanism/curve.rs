//! The CURVE mechanism (RFC 25 ZMTP-CURVE over RFC 26 CurveZMQ), as libzmq 4.3 runs it.
//!
//! ```text
//! curve = C:hello ( S:welcome | S:error )
//!         C:initiate ( S:ready | S:error )
//!      *( C:message | S:message )
//! ```
//!
//! Keys: C/c and S/s are the client's and server's long-term public/secret keys, C'/c' and
//! S'/s' their short-term ones, made for this connection from the session's
//! [`crate::RngSeed`]. "`Box [X](A → B)`" is X sealed with NaCl's `crypto_box` from
//! A's secret key to B's public key.
//!
//! 1. The client sends HELLO: C' and `Box [64 zeros](C' → S)`, which only the holder of s can
//!    open. A HELLO that is not exactly 200 octets (its anti-amplification padding missing or
//!    cut) or does not open gets no WELCOME.
//! 2. The server sends WELCOME: `Box [S' + cookie](S → C')`, the cookie being `Box [C' + s'](K)`
//!    under a cookie key K that this connection alone uses and forgets once INITIATE has
//!    brought the cookie back (RFC 26 asks for at most 60 s; libzmq keeps one key per
//!    connection too).
//! 3. The client sends INITIATE: the cookie and `Box [C + vouch + metadata](C' → S')`, where the
//!    vouch is `Box [C' + S](C → S')`: proof that the holder of c speaks on this connection to
//!    this server.
//! 4. The server checks the cookie, the box, the vouch and the metadata, then asks the driver
//!    about C ([`Step::Authenticate`] with `mechanism = "CURVE"` and the key). If allowed it
//!    sends READY: `Box [metadata](S' → C')`.
//! 5. Every frame then travels as a MESSAGE: `Box [flags + body](C' → S' or S' → C')`, the
//!    flags octet carrying MORE (bit 0) and COMMAND (bit 1) as libzmq lays it out, so that
//!    PING, SUBSCRIBE and the rest are encrypted too. libzmq puts MESSAGE in a frame without
//!    the COMMAND flag, and so do we; we accept either.
//!
//! Short nonces count up from 1 on each side (the client's HELLO is 1, its INITIATE 2, its
//! first MESSAGE 3; the server's READY is 1, its first MESSAGE 2, exactly as libzmq). Each
//! side refuses a short nonce that does not exceed the last one it accepted from the peer, so
//! a replayed or reordered command kills the connection. Long nonces (WELCOME, cookie, vouch)
//! are 16 random octets.
//!
//! Secrets live no longer than their last use: the client forgets c and c' once INITIATE is
//! sealed, the server s once WELCOME is sealed and s' and the cookie key once INITIATE is
//! checked. After the handshake only the session's box key remains; everything secret is
//! wiped when dropped.
//!
//! Stricter than libzmq, where that cannot hurt a well-behaved peer: INITIATE's nonce must
//! exceed HELLO's; HELLO's box must hold zeros; the vouch must name our long-term key S as
//! well as C'; the MESSAGE flags octet may not set bits 2-7; public keys of small order are
//! refused.

use bytes::{Buf, BufMut, Bytes};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::command::{self, Command, CommandKind};
use crate::curve::crypto::{BoxKey, SeededRng, TAG_LEN, long_nonce, short_nonce};
use crate::curve::wire::MESSAGE_NAME;
use crate::curve::{
    CurvePublicKey, CurveSecretKey, Hello, Initiate, Message, Ready, RngSeed, Welcome,
};
use crate::error::{CryptoFailure, DecodeError, Incompatibility, Misbehaviour, SessionError};
use crate::frame::{Frame, FrameMut, put_header};
use crate::mechanism::{HandshakeCtx, Mechanism, Step, check_allowed, peer_error, unexpected};
use crate::parse;
use crate::session::{AuthRequest, AuthResult};
use crate::txbuf::TxBuf;

const HELLO_PREFIX: &[u8; 16] = b"CurveZMQHELLO---";
const INITIATE_PREFIX: &[u8; 16] = b"CurveZMQINITIATE";
const READY_PREFIX: &[u8; 16] = b"CurveZMQREADY---";
const MESSAGE_FROM_CLIENT: &[u8; 16] = b"CurveZMQMESSAGEC";
const MESSAGE_FROM_SERVER: &[u8; 16] = b"CurveZMQMESSAGES";
const WELCOME_PREFIX: &[u8; 8] = b"WELCOME-";
const COOKIE_PREFIX: &[u8; 8] = b"COOKIE--";
const VOUCH_PREFIX: &[u8; 8] = b"VOUCH---";

/// MORE in a MESSAGE box's flags octet (libzmq's `msg_t::more`).
const FLAG_MORE: u8 = 0x01;
/// COMMAND in a MESSAGE box's flags octet (libzmq's `msg_t::command`).
const FLAG_COMMAND: u8 = 0x02;

fn crypto(failure: CryptoFailure) -> SessionError {
    SessionError::CryptoFailed(failure)
}

/// `a ‖ b`, for comparing against a box's contents.
fn concat(a: &[u8; 32], b: &[u8; 32]) -> Zeroizing<[u8; 64]> {
    let mut out = Zeroizing::new([0u8; 64]);
    let (head, tail) = out.split_at_mut(32);
    head.copy_from_slice(a);
    tail.copy_from_slice(b);
    out
}

/// Our metadata as CURVE carries it inside INITIATE and READY boxes.
fn metadata_plaintext(ctx: &HandshakeCtx<'_>, prefix: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(
        prefix.len() + command::properties_len(ctx.metadata),
    ));
    out.extend_from_slice(prefix);
    command::encode_properties(ctx.metadata, &mut *out);
    out
}

/// The peer's metadata from the end of a box, checked.
fn peer_metadata(ctx: &HandshakeCtx<'_>, plaintext: &[u8]) -> Result<Step, SessionError> {
    let properties = command::decode_properties(&Bytes::copy_from_slice(plaintext))?;
    ctx.check_peer_metadata(properties)
}

/// The next short nonce to send, counting up from 1. `None` once 2^64 - 1 have gone out
/// (RFC 26 forbids more on one connection; a nonce is never reused).
fn take_nonce(next: &mut u64) -> Option<u64> {
    let nonce = *next;
    *next = nonce.checked_add(1)?;
    Some(nonce)
}

/// Refuses a short nonce that does not exceed the peer's previous one.
fn check_increasing(last: Option<u64>, nonce: u64) -> Result<(), SessionError> {
    match last {
        Some(last) if nonce <= last => Err(SessionError::PeerMisbehaved(
            Misbehaviour::NonceNotIncreasing { nonce, last },
        )),
        _ => Ok(()),
    }
}

/// Out of short nonces: nothing more may be sealed on this connection.
fn nonces_exhausted() -> SessionError {
    crypto(CryptoFailure::Message)
}

// ---- traffic ------------------------------------------------------------------------------------

/// Both roles after the handshake: every frame boxed as a MESSAGE between C' and S'.
struct MessageCodec {
    key: BoxKey,
    send_prefix: &'static [u8; 16],
    recv_prefix: &'static [u8; 16],
    next_nonce: u64,
    peer_nonce: u64,
}

impl std::fmt::Debug for MessageCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageCodec")
            .field("key", &self.key)
            .field("next_nonce", &self.next_nonce)
            .field("peer_nonce", &self.peer_nonce)
            .finish_non_exhaustive()
    }
}

/// Octets a MESSAGE adds to a frame's body: name, short nonce, tag, flags.
const MESSAGE_OVERHEAD: usize = Message::HEADER_LEN + TAG_LEN + 1;

impl MessageCodec {
    /// Seals one frame into `tx` as a MESSAGE, encrypting in place in the staging area: the
    /// body is copied once, where it is encrypted.
    fn encode(&mut self, frame: &Frame, tx: &mut TxBuf) {
        let Some(nonce) = take_nonce(&mut self.next_nonce) else {
            // Unreachable in practice (2^64 frames); never reuse a nonce.
            return;
        };
        let body_len = MESSAGE_OVERHEAD + frame.body.len();
        tx.reserve(9 + body_len);
        let staging = tx.staging_mut();
        put_header(staging, false, false, body_len);
        staging.put_slice(MESSAGE_NAME);
        staging.put_u64(nonce);
        let tag_at = staging.len();
        staging.put_bytes(0, TAG_LEN);
        let mut flags = 0;
        if frame.more {
            flags |= FLAG_MORE;
        }
        if frame.command {
            flags |= FLAG_COMMAND;
        }
        staging.put_u8(flags);
        staging.put_slice(&frame.body);
        let full_nonce = short_nonce(self.send_prefix, nonce);
        if let Some((tag, plaintext)) = staging
            .get_mut(tag_at..)
            .and_then(|s| s.split_first_chunk_mut::<TAG_LEN>())
        {
            *tag = self.key.seal_in_place(&full_nonce, plaintext);
        }
    }

    /// Opens one MESSAGE in place; the frame's body then shares the receive buffer.
    fn decode(&mut self, mut frame: FrameMut) -> Result<Frame, SessionError> {
        let body = &mut frame.body;
        if !body.starts_with(MESSAGE_NAME) {
            let name = parse::command_name(body)
                .map(|(name, _)| Bytes::copy_from_slice(name))
                .unwrap_or_default();
            return Err(SessionError::PeerMisbehaved(
                Misbehaviour::UnexpectedCommand { name },
            ));
        }
        if body.len() < Message::MIN_LEN {
            return Err(DecodeError::MalformedCommand {
                command: CommandKind::Message,
            }
            .into());
        }
        let (nonce, tag) = match (
            body.get(8..16).and_then(|n| <[u8; 8]>::try_from(n).ok()),
            body.get(16..32)
                .and_then(|t| <[u8; TAG_LEN]>::try_from(t).ok()),
        ) {
            (Some(nonce), Some(tag)) => (u64::from_be_bytes(nonce), tag),
            _ => {
                return Err(DecodeError::MalformedCommand {
                    command: CommandKind::Message,
                }
                .into());
            }
        };
        check_increasing(Some(self.peer_nonce), nonce)?;
        let sealed = body.get_mut(32..).unwrap_or_default();
        self.key
            .open_in_place(&short_nonce(self.recv_prefix, nonce), sealed, &tag)
            .map_err(|_| crypto(CryptoFailure::Message))?;
        self.peer_nonce = nonce;
        let flags = body.get(32).copied().unwrap_or_default();
        if flags & !(FLAG_MORE | FLAG_COMMAND) != 0 {
            return Err(DecodeError::ReservedFlags { flags }.into());
        }
        body.advance(MESSAGE_OVERHEAD);
        Ok(Frame {
            more: flags & FLAG_MORE != 0,
            command: flags & FLAG_COMMAND != 0,
            body: frame.body.freeze(),
        })
    }
}

// ---- client -------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    /// HELLO queued; waiting for WELCOME.
    AwaitingWelcome,
    /// INITIATE queued; waiting for READY.
    AwaitingReady,
    /// READY received: traffic.
    Done,
}

/// The client side: HELLO, INITIATE once WELCOME opens, traffic once READY opens.
#[derive(Debug)]
pub(crate) struct CurveClient {
    /// S.
    server_public: CurvePublicKey,
    /// C.
    public: CurvePublicKey,
    /// c, until the vouch is sealed.
    secret: Option<CurveSecretKey>,
    /// C'.
    transient_public: CurvePublicKey,
    /// c', until the session key is computed: after the handshake only that key remains.
    transient_secret: Option<CurveSecretKey>,
    /// The vouch's long nonce.
    vouch_nonce: [u8; 16],
    /// The box key between C' and S, for HELLO and WELCOME.
    hello_key: Option<BoxKey>,
    /// The box key between C' and S', for INITIATE and READY, until traffic takes it.
    session_key: Option<BoxKey>,
    next_nonce: u64,
    traffic: Option<MessageCodec>,
    state: ClientState,
}

impl CurveClient {
    pub(crate) fn new(
        server_public: CurvePublicKey,
        public: CurvePublicKey,
        secret: CurveSecretKey,
        seed: &RngSeed,
    ) -> Self {
        let mut rng = SeededRng::new(seed);
        let transient_secret = CurveSecretKey::generate(&mut rng);
        let transient_public = transient_secret.public_key();
        let vouch_nonce = *rng.array::<16>();
        let hello_key = BoxKey::precompute(server_public.as_bytes(), transient_secret.as_bytes());
        Self {
            server_public,
            public,
            secret: Some(secret),
            transient_public,
            transient_secret: Some(transient_secret),
            vouch_nonce,
            hello_key,
            session_key: None,
            next_nonce: 1,
            traffic: None,
            state: ClientState::AwaitingWelcome,
        }
    }

    fn on_welcome(
        &mut self,
        ctx: &mut HandshakeCtx<'_>,
        body: &Bytes,
    ) -> Result<Step, SessionError> {
        let welcome = Welcome::decode(body)?;
        let hello_key = self
            .hello_key
            .take()
            .ok_or(crypto(CryptoFailure::Welcome))?;
        let plaintext = hello_key
            .open(&long_nonce(WELCOME_PREFIX, &welcome.nonce), &welcome.sealed)
            .map_err(|_| crypto(CryptoFailure::Welcome))?;
        // Neither secret is needed once INITIATE is sealed: forget them now.
        let (Some(secret), Some(transient_secret)) =
            (self.secret.take(), self.transient_secret.take())
        else {
            return Err(crypto(CryptoFailure::Welcome));
        };
        // S' (32) and the cookie (96): the box's size is fixed, so these always fit.
        let (Some(server_transient), Some(cookie)) = (
            plaintext.first_chunk::<32>().copied(),
            plaintext
                .get(32..)
                .and_then(|c| <[u8; 96]>::try_from(c).ok()),
        ) else {
            return Err(crypto(CryptoFailure::Welcome));
        };
        let session_key = BoxKey::precompute(&server_transient, transient_secret.as_bytes())
            .ok_or(crypto(CryptoFailure::WeakPeerKey))?;
        let vouch_key = BoxKey::precompute(&server_transient, secret.as_bytes())
            .ok_or(crypto(CryptoFailure::WeakPeerKey))?;

        // vouch = Box [C' + S](C -> S')
        let mut vouch_box = Vec::with_capacity(80);
        vouch_key.seal_to(
            &long_nonce(VOUCH_PREFIX, &self.vouch_nonce),
            &*concat(
                self.transient_public.as_bytes(),
                self.server_public.as_bytes(),
            ),
            &mut vouch_box,
        );
        let mut prefix = Vec::with_capacity(128);
        prefix.extend_from_slice(self.public.as_bytes());
        prefix.extend_from_slice(&self.vouch_nonce);
        prefix.extend_from_slice(&vouch_box);
        let plaintext = metadata_plaintext(ctx, &prefix);

        let nonce = take_nonce(&mut self.next_nonce).ok_or_else(nonces_exhausted)?;
        let mut sealed = Vec::with_capacity(TAG_LEN + plaintext.len());
        session_key.seal_to(
            &short_nonce(INITIATE_PREFIX, nonce),
            &plaintext,
            &mut sealed,
        );
        let initiate = Initiate {
            cookie,
            nonce,
            sealed: Bytes::from(sealed),
        };
        let mut out = Vec::with_capacity(initiate.body_len());
        initiate.encode_body(&mut out);
        ctx.send_body(&out);
        self.session_key = Some(session_key);
        self.state = ClientState::AwaitingReady;
        Ok(Step::Continue)
    }

    fn on_ready(&mut self, ctx: &HandshakeCtx<'_>, body: &Bytes) -> Result<Step, SessionError> {
        let ready = Ready::decode(body)?;
        let key = self
            .session_key
            .take()
            .ok_or(crypto(CryptoFailure::Ready))?;
        let plaintext = key
            .open(&short_nonce(READY_PREFIX, ready.nonce), &ready.sealed)
            .map_err(|_| crypto(CryptoFailure::Ready))?;
        let step = peer_metadata(ctx, &plaintext)?;
        self.traffic = Some(MessageCodec {
            key,
            send_prefix: MESSAGE_FROM_CLIENT,
            recv_prefix: MESSAGE_FROM_SERVER,
            next_nonce: self.next_nonce,
            peer_nonce: ready.nonce,
        });
        self.state = ClientState::Done;
        Ok(step)
    }
}

impl Mechanism for CurveClient {
    fn start(&mut self, ctx: &mut HandshakeCtx<'_>) -> Result<Step, SessionError> {
        let hello_key = self
            .hello_key
            .as_ref()
            .ok_or(crypto(CryptoFailure::WeakPeerKey))?;
        let nonce = take_nonce(&mut self.next_nonce).ok_or_else(nonces_exhausted)?;
        let mut signature = Vec::with_capacity(80);
        hello_key.seal_to(&short_nonce(HELLO_PREFIX, nonce), &[0; 64], &mut signature);
        let hello = Hello {
            major: 1,
            minor: 0,
            client_key: *self.transient_public.as_bytes(),
            nonce,
            signature: signature
                .try_into()
                .map_err(|_| crypto(CryptoFailure::HelloSignature))?,
        };
        let mut out = Vec::with_capacity(Hello::LEN);
        hello.encode_body(&mut out);
        ctx.send_body(&out);
        self.state = ClientState::AwaitingWelcome;
        Ok(Step::Continue)
    }

    fn handle_command(
        &mut self,
        ctx: &mut HandshakeCtx<'_>,
        body: Bytes,
    ) -> Result<Step, SessionError> {
        let (kind, data_at) = Command::peek(&body)?;
        match (kind, self.state) {
            (Some(CommandKind::Welcome), ClientState::AwaitingWelcome) => {
                self.on_welcome(ctx, &body)
            }
            (Some(CommandKind::Ready), ClientState::AwaitingReady) => self.on_ready(ctx, &body),
            (
                Some(CommandKind::Error),
                ClientState::AwaitingWelcome | ClientState::AwaitingReady,
            ) => Err(peer_error(&body, data_at)),
            _ => Err(unexpected(&body, data_at)),
        }
    }

    fn handle_auth(
        &mut self,
        _ctx: &mut HandshakeCtx<'_>,
        _result: &AuthResult,
    ) -> Result<Step, SessionError> {
        // A CURVE client never asks.
        Ok(Step::Continue)
    }

    fn is_transparent(&self) -> bool {
        false
    }

    fn encode_frame(&mut self, frame: Frame, tx: &mut TxBuf) {
        seal(self.traffic.as_mut(), &frame, tx);
    }

    fn decode_frame(&mut self, frame: FrameMut) -> Result<Frame, SessionError> {
        open(self.traffic.as_mut(), frame)
    }
}

/// Seals a traffic frame with the codec the handshake set up (there is none before: the session
/// sends no traffic then).
fn seal(codec: Option<&mut MessageCodec>, frame: &Frame, tx: &mut TxBuf) {
    if let Some(codec) = codec {
        codec.encode(frame, tx);
    }
}

/// Opens a traffic frame's MESSAGE box; a frame before the handshake ended is misbehaviour.
fn open(codec: Option<&mut MessageCodec>, frame: FrameMut) -> Result<Frame, SessionError> {
    match codec {
        Some(codec) => codec.decode(frame),
        None => Err(SessionError::PeerMisbehaved(
            Misbehaviour::MessageDuringHandshake,
        )),
    }
}

// ---- server -------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    /// Waiting for HELLO.
    AwaitingHello,
    /// WELCOME queued; waiting for INITIATE.
    AwaitingInitiate,
    /// Waiting for the driver's decision on the client's key.
    AwaitingAuth,
    /// READY queued: traffic.
    Done,
}

/// The server side: WELCOME for a valid HELLO, then check INITIATE, ask the driver, READY.
#[derive(Debug)]
pub(crate) struct CurveServer {
    /// S.
    public: CurvePublicKey,
    /// s, until WELCOME is sealed.
    secret: Option<CurveSecretKey>,
    /// S'.
    transient_public: CurvePublicKey,
    /// s', until INITIATE is checked: after the handshake only the session key remains.
    transient_secret: Option<CurveSecretKey>,
    /// K: seals the cookie; forgotten once INITIATE brings the cookie back.
    cookie_key: Option<BoxKey>,
    cookie_nonce: [u8; 16],
    welcome_nonce: [u8; 16],
    /// C', from HELLO.
    client_transient: [u8; 32],
    /// The client's last short nonce.
    peer_nonce: Option<u64>,
    /// The box key between S' and C', from INITIATE until traffic takes it.
    session_key: Option<BoxKey>,
    /// The handshake's outcome, held while the driver decides.
    pending: Option<Step>,
    next_nonce: u64,
    traffic: Option<MessageCodec>,
    state: ServerState,
}

impl CurveServer {
    pub(crate) fn new(public: CurvePublicKey, secret: CurveSecretKey, seed: &RngSeed) -> Self {
        let mut rng = SeededRng::new(seed);
        let transient_secret = CurveSecretKey::generate(&mut rng);
        let transient_public = transient_secret.public_key();
        let cookie_key = BoxKey::symmetric(&rng.array::<32>());
        let cookie_nonce = *rng.array::<16>();
        let welcome_nonce = *rng.array::<16>();
        Self {
            public,
            secret: Some(secret),
            transient_public,
            transient_secret: Some(transient_secret),
            cookie_key: Some(cookie_key),
            cookie_nonce,
            welcome_nonce,
            client_transient: [0; 32],
            peer_nonce: None,
            session_key: None,
            pending: None,
            next_nonce: 1,
            traffic: None,
            state: ServerState::AwaitingHello,
        }
    }

    fn on_hello(&mut self, ctx: &mut HandshakeCtx<'_>, body: &Bytes) -> Result<Step, SessionError> {
        let hello = Hello::decode(body)?;
        if (hello.major, hello.minor) != (1, 0) {
            return Err(SessionError::PeerIncompatible(
                Incompatibility::CurveVersion {
                    major: hello.major,
                    minor: hello.minor,
                },
            ));
        }
        // Our long-term secret serves this HELLO and WELCOME only.
        let secret = self
            .secret
            .take()
            .ok_or(crypto(CryptoFailure::HelloSignature))?;
        let transient_secret = self
            .transient_secret
            .as_ref()
            .ok_or(crypto(CryptoFailure::HelloSignature))?;
        let hello_key = BoxKey::precompute(&hello.client_key, secret.as_bytes())
            .ok_or(crypto(CryptoFailure::WeakPeerKey))?;
        let zeros = hello_key
            .open(&short_nonce(HELLO_PREFIX, hello.nonce), &hello.signature)
            .map_err(|_| crypto(CryptoFailure::HelloSignature))?;
        if !bool::from(zeros.as_slice().ct_eq(&[0u8; 64])) {
            return Err(crypto(CryptoFailure::HelloSignature));
        }
        self.client_transient = hello.client_key;
        self.peer_nonce = Some(hello.nonce);

        // cookie = Box [C' + s'](K)
        let cookie_key = self
            .cookie_key
            .as_ref()
            .ok_or(crypto(CryptoFailure::Cookie))?;
        let mut cookie_box = Vec::with_capacity(80);
        cookie_key.seal_to(
            &long_nonce(COOKIE_PREFIX, &self.cookie_nonce),
            &*concat(&self.client_transient, transient_secret.as_bytes()),
            &mut cookie_box,
        );
        // WELCOME = Box [S' + cookie](S -> C')
        let mut plaintext = Vec::with_capacity(128);
        plaintext.extend_from_slice(self.transient_public.as_bytes());
        plaintext.extend_from_slice(&self.cookie_nonce);
        plaintext.extend_from_slice(&cookie_box);
        let mut sealed = Vec::with_capacity(144);
        hello_key.seal_to(
            &long_nonce(WELCOME_PREFIX, &self.welcome_nonce),
            &plaintext,
            &mut sealed,
        );
        let welcome = Welcome {
            nonce: self.welcome_nonce,
            sealed: sealed
                .try_into()
                .map_err(|_| crypto(CryptoFailure::Welcome))?,
        };
        let mut out = Vec::with_capacity(Welcome::LEN);
        welcome.encode_body(&mut out);
        ctx.send_body(&out);
        self.state = ServerState::AwaitingInitiate;
        Ok(Step::Continue)
    }

    fn on_initiate(&mut self, ctx: &HandshakeCtx<'_>, body: &Bytes) -> Result<Step, SessionError> {
        let initiate = Initiate::decode(body)?;
        let transient_secret = self
            .transient_secret
            .take()
            .ok_or(crypto(CryptoFailure::Cookie))?;

        // The cookie must be ours, for this connection: Box [C' + s'](K).
        let cookie_key = self
            .cookie_key
            .take()
            .ok_or(crypto(CryptoFailure::Cookie))?;
        let (cookie_nonce, cookie_box) = initiate
            .cookie
            .split_first_chunk::<16>()
            .ok_or(crypto(CryptoFailure::Cookie))?;
        let cookie = cookie_key
            .open(&long_nonce(COOKIE_PREFIX, cookie_nonce), cookie_box)
            .map_err(|_| crypto(CryptoFailure::Cookie))?;
        let expected = concat(&self.client_transient, transient_secret.as_bytes());
        if !bool::from(cookie.as_slice().ct_eq(&expected[..])) {
            return Err(crypto(CryptoFailure::Cookie));
        }

        check_increasing(self.peer_nonce, initiate.nonce)?;
        let session_key = BoxKey::precompute(&self.client_transient, transient_secret.as_bytes())
            .ok_or(crypto(CryptoFailure::WeakPeerKey))?;
        let plaintext = session_key
            .open(
                &short_nonce(INITIATE_PREFIX, initiate.nonce),
                &initiate.sealed,
            )
            .map_err(|_| crypto(CryptoFailure::Initiate))?;
        // C (32), the vouch's nonce (16) and box (80), then the metadata; INITIATE's minimum
        // size guarantees the first 128.
        let (Some(client_public), Some(vouch_nonce), Some(vouch_box), Some(metadata)) = (
            plaintext.first_chunk::<32>().copied(),
            plaintext
                .get(32..48)
                .and_then(|n| <[u8; 16]>::try_from(n).ok()),
            plaintext.get(48..128),
            plaintext.get(128..),
        ) else {
            return Err(DecodeError::MalformedCommand {
                command: CommandKind::Initiate,
            }
            .into());
        };

        // vouch = Box [C' + S](C -> S')
        let vouch_key = BoxKey::precompute(&client_public, transient_secret.as_bytes())
            .ok_or(crypto(CryptoFailure::WeakPeerKey))?;
        let vouch = vouch_key
            .open(&long_nonce(VOUCH_PREFIX, &vouch_nonce), vouch_box)
            .map_err(|_| crypto(CryptoFailure::Vouch))?;
        let expected = concat(&self.client_transient, self.public.as_bytes());
        if !bool::from(vouch.as_slice().ct_eq(&expected[..])) {
            return Err(crypto(CryptoFailure::VouchMismatch));
        }
        self.peer_nonce = Some(initiate.nonce);

        let step = peer_metadata(ctx, metadata)?;
        self.pending = Some(step);
        self.session_key = Some(session_key);
        self.state = ServerState::AwaitingAuth;
        Ok(Step::Authenticate(AuthRequest {
            mechanism: "CURVE",
            username: None,
            password: None,
            curve_public_key: Some(CurvePublicKey::from_bytes(client_public)),
        }))
    }

    /// Queues READY; traffic follows.
    fn send_ready(&mut self, ctx: &mut HandshakeCtx<'_>) -> Result<Step, SessionError> {
        let key = self
            .session_key
            .take()
            .ok_or(crypto(CryptoFailure::Initiate))?;
        let nonce = take_nonce(&mut self.next_nonce).ok_or_else(nonces_exhausted)?;
        let plaintext = metadata_plaintext(ctx, &[]);
        let mut sealed = Vec::with_capacity(TAG_LEN + plaintext.len());
        key.seal_to(&short_nonce(READY_PREFIX, nonce), &plaintext, &mut sealed);
        let ready = Ready {
            nonce,
            sealed: Bytes::from(sealed),
        };
        let mut out = Vec::with_capacity(ready.body_len());
        ready.encode_body(&mut out);
        ctx.send_body(&out);
        self.traffic = Some(MessageCodec {
            key,
            send_prefix: MESSAGE_FROM_SERVER,
            recv_prefix: MESSAGE_FROM_CLIENT,
            next_nonce: self.next_nonce,
            peer_nonce: self.peer_nonce.unwrap_or_default(),
        });
        self.state = ServerState::Done;
        Ok(self.pending.take().unwrap_or(Step::Continue))
    }
}

impl Mechanism for CurveServer {
    fn start(&mut self, _ctx: &mut HandshakeCtx<'_>) -> Result<Step, SessionError> {
        self.state = ServerState::AwaitingHello;
        Ok(Step::Continue)
    }

    fn handle_command(
        &mut self,
        ctx: &mut HandshakeCtx<'_>,
        body: Bytes,
    ) -> Result<Step, SessionError> {
        let (kind, data_at) = Command::peek(&body)?;
        match (kind, self.state) {
            (Some(CommandKind::Hello), ServerState::AwaitingHello) => self.on_hello(ctx, &body),
            (Some(CommandKind::Initiate), ServerState::AwaitingInitiate) => {
                self.on_initiate(ctx, &body)
            }
            // RFC 26: "A client peer SHALL NOT send ERROR to the server"; libzmq counts it
            // as an unexpected command too.
            _ => Err(unexpected(&body, data_at)),
        }
    }

    fn handle_auth(
        &mut self,
        ctx: &mut HandshakeCtx<'_>,
        result: &AuthResult,
    ) -> Result<Step, SessionError> {
        if self.state != ServerState::AwaitingAuth {
            return Ok(Step::Continue);
        }
        check_allowed(result)?;
        self.send_ready(ctx)
    }

    fn is_transparent(&self) -> bool {
        false
    }

    fn encode_frame(&mut self, frame: Frame, tx: &mut TxBuf) {
        seal(self.traffic.as_mut(), &frame, tx);
    }

    fn decode_frame(&mut self, frame: FrameMut) -> Result<Frame, SessionError> {
        open(self.traffic.as_mut(), frame)
    }
}
