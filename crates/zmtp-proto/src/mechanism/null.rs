//! The NULL mechanism (RFC 23 "The NULL Security Mechanism"): each side sends READY with its
//! metadata and waits for the other's.
//!
//! ```text
//! null = ready *message | error
//! ```
//!
//! When the driver asked to authenticate NULL peers (libzmq does so when a ZAP domain is set),
//! the authentication request goes out before our READY, as in libzmq's `null_mechanism_t`,
//! and READY is only sent once the driver allows the peer.

use bytes::Bytes;

use crate::command::{Command, CommandKind};
use crate::error::SessionError;
use crate::mechanism::{
    HandshakeCtx, Mechanism, Step, accept_metadata, check_allowed, peer_error, unexpected,
};
use crate::session::{AuthRequest, AuthResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the driver's authentication decision.
    AwaitingAuth,
    /// Our READY is queued; waiting for the peer's.
    ReadySent,
    /// Both READYs exchanged.
    Done,
}

#[derive(Debug)]
pub(crate) struct NullMechanism {
    authenticate: bool,
    state: State,
}

impl NullMechanism {
    pub(crate) fn new(authenticate: bool) -> Self {
        Self {
            authenticate,
            state: State::AwaitingAuth,
        }
    }
}

impl Mechanism for NullMechanism {
    fn start(&mut self, ctx: &mut HandshakeCtx<'_>) -> Result<Step, SessionError> {
        if self.authenticate {
            self.state = State::AwaitingAuth;
            return Ok(Step::Authenticate(AuthRequest {
                mechanism: "NULL",
                username: None,
                password: None,
                curve_public_key: None,
            }));
        }
        ctx.send_metadata(CommandKind::Ready);
        self.state = State::ReadySent;
        Ok(Step::Continue)
    }

    fn handle_command(
        &mut self,
        ctx: &mut HandshakeCtx<'_>,
        body: Bytes,
    ) -> Result<Step, SessionError> {
        let (kind, data_at) = Command::peek(&body)?;
        match (kind, self.state) {
            (Some(CommandKind::Ready), State::ReadySent) => {
                let step = accept_metadata(ctx, CommandKind::Ready, &body, data_at)?;
                self.state = State::Done;
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
        if self.state != State::AwaitingAuth {
            return Ok(Step::Continue);
        }
        check_allowed(result)?;
        ctx.send_metadata(CommandKind::Ready);
        self.state = State::ReadySent;
        Ok(Step::Continue)
    }
}
