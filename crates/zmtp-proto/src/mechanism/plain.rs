//! The PLAIN mechanism (RFC 24): user name and password in clear text.
//!
//! ```text
//! plain = C:hello ( S:welcome | S:error )
//!         C:initiate ( S:ready | S:error )
//!      *( C:message | S:message )
//! hello = command-size %d5 "HELLO" username password
//! username = OCTET *VCHAR
//! password = OCTET *VCHAR
//! welcome = command-size %d7 "WELCOME"
//! initiate = command-size %d8 "INITIATE" metadata
//! ready = command-size %d5 "READY" metadata
//! ```
//!
//! The server asks the driver to check every HELLO (libzmq asks its ZAP handler); an ERROR
//! from either side ends the handshake.

use bytes::Bytes;

use crate::command::{Command, CommandKind};
use crate::error::SessionError;
use crate::mechanism::{
    HandshakeCtx, Mechanism, Step, accept_metadata, check_allowed, peer_error, unexpected,
};
use crate::session::{AuthRequest, AuthResult};

/// libzmq 4.3's PLAIN server starts its ERROR command with `^RROR` instead of the
/// length-prefixed name: its C literal `"\x05ERROR"` reads as the escape `\x05E` (`^`)
/// followed by `RROR`, so the name's length octet is lost too. A client must take it as ERROR
/// (the reason follows as usual) to report the refusal as libzmq's own client does: an
/// authentication failure, not a malformed command.
const LIBZMQ_PLAIN_ERROR: &[u8] = b"^RROR";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    /// HELLO queued; waiting for WELCOME.
    AwaitingWelcome,
    /// INITIATE queued; waiting for READY.
    AwaitingReady,
    /// READY received.
    Done,
}

/// The client side: HELLO, then INITIATE after WELCOME, then done on READY.
#[derive(Debug)]
pub(crate) struct PlainClient {
    username: Bytes,
    password: Bytes,
    state: ClientState,
}

impl PlainClient {
    pub(crate) fn new(username: Bytes, password: Bytes) -> Self {
        Self {
            username,
            password,
            state: ClientState::AwaitingWelcome,
        }
    }
}

impl Mechanism for PlainClient {
    fn start(&mut self, ctx: &mut HandshakeCtx<'_>) -> Result<Step, SessionError> {
        ctx.send(&Command::Hello {
            username: self.username.clone(),
            password: self.password.clone(),
        });
        self.state = ClientState::AwaitingWelcome;
        Ok(Step::Continue)
    }

    fn handle_command(
        &mut self,
        ctx: &mut HandshakeCtx<'_>,
        body: Bytes,
    ) -> Result<Step, SessionError> {
        let (kind, data_at) = if body.starts_with(LIBZMQ_PLAIN_ERROR) {
            (Some(CommandKind::Error), LIBZMQ_PLAIN_ERROR.len())
        } else {
            Command::peek(&body)?
        };
        match (kind, self.state) {
            (Some(CommandKind::Welcome), ClientState::AwaitingWelcome) => {
                Command::decode_known(CommandKind::Welcome, &body, data_at)?;
                ctx.send_metadata(CommandKind::Initiate);
                self.state = ClientState::AwaitingReady;
                Ok(Step::Continue)
            }
            (Some(CommandKind::Ready), ClientState::AwaitingReady) => {
                let step = accept_metadata(ctx, CommandKind::Ready, &body, data_at)?;
                self.state = ClientState::Done;
                Ok(step)
            }
            (Some(CommandKind::Error), _) => Err(peer_error(&body, data_at)),
            _ => Err(unexpected(&body, data_at)),
        }
    }

    fn handle_auth(
        &mut self,
        _ctx: &mut HandshakeCtx<'_>,
        _result: &AuthResult,
    ) -> Result<Step, SessionError> {
        // A PLAIN client never asks.
        Ok(Step::Continue)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    /// Waiting for HELLO.
    AwaitingHello,
    /// Waiting for the driver's decision on the credentials.
    AwaitingAuth,
    /// WELCOME queued; waiting for INITIATE.
    AwaitingInitiate,
    /// READY queued.
    Done,
}

/// The server side: authenticate HELLO, WELCOME, check INITIATE, READY.
#[derive(Debug)]
pub(crate) struct PlainServer {
    state: ServerState,
}

impl PlainServer {
    pub(crate) fn new() -> Self {
        Self {
            state: ServerState::AwaitingHello,
        }
    }
}

impl Mechanism for PlainServer {
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
            (Some(CommandKind::Hello), ServerState::AwaitingHello) => {
                let Command::Hello { username, password } =
                    Command::decode_known(CommandKind::Hello, &body, data_at)?
                else {
                    return Err(unexpected(&body, data_at));
                };
                self.state = ServerState::AwaitingAuth;
                Ok(Step::Authenticate(AuthRequest {
                    mechanism: "PLAIN",
                    username: Some(username),
                    password: Some(password),
                    curve_public_key: None,
                }))
            }
            (Some(CommandKind::Initiate), ServerState::AwaitingInitiate) => {
                let step = accept_metadata(ctx, CommandKind::Initiate, &body, data_at)?;
                ctx.send_metadata(CommandKind::Ready);
                self.state = ServerState::Done;
                Ok(step)
            }
            (Some(CommandKind::Error), _) => Err(peer_error(&body, data_at)),
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
        ctx.send(&Command::Welcome);
        self.state = ServerState::AwaitingInitiate;
        Ok(Step::Continue)
    }
}
