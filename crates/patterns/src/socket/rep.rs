//! REP (RFC 28): a ROUTER that receives one request and sends one reply, in turn.
//!
//! * requests are fair-queued (RFC 28 "SHALL receive incoming messages from its peers using a
//!   fair-queuing strategy");
//! * the envelope, every frame up to and including the first empty delimiter, is removed and
//!   kept (RFC 28 "SHALL remove and store the address envelope, including the delimiter"); the
//!   application sees the frames after it;
//! * a request without a delimiter followed by at least one frame is discarded silently, as
//!   libzmq's `rep_t::xrecv` rolls it back (checked on arrival here, so `is_readable` is
//!   exact);
//! * the reply gets the envelope back and goes to the peer that asked: the pipe the request
//!   came from while it is live under the same routing id, else the pipe that has that id
//!   now; a peer that has gone, or is full, loses the reply silently (RFC 28 "SHALL silently
//!   discard the reply ... if the originating peer is no longer connected"). libzmq routes
//!   at receive time and asserts if ROUTER_MANDATORY is set and the peer is gone; here the
//!   reply is just dropped.
//! * `recv` while a reply is owed, or `send` with no request to answer, fail with
//!   `InvalidState` (EFSM).
//!
//! REP accepts ROUTER's options (ROUTER_MANDATORY, ROUTER_HANDOVER, PROBE_ROUTER) because
//! libzmq's `rep_t` inherits `router_t::xsetsockopt`.

use bytes::Bytes;
use smallvec::SmallVec;
use zmtp_proto::{Msg, Traffic};

use super::router::Router;
use crate::api::{
    AttachError, AttachInfo, OptionError, PatternOption, PeerInfo, RecvError, SendError,
    SendErrorKind,
};
use crate::core::{Core, Key};
use crate::machine::Behaviour;

/// REP.
#[derive(Debug)]
pub(crate) struct Rep {
    router: Router,
    sending_reply: bool,
    reply_to: Bytes,
    /// The pipe the request came from, tried first for the reply.
    reply_pipe: Key,
    envelope: SmallVec<[Bytes; 3]>,
}

impl Rep {
    pub(crate) fn new(seed: u32) -> Self {
        Self {
            router: Router::new(seed),
            sending_reply: false,
            reply_to: Bytes::new(),
            reply_pipe: 0,
            envelope: SmallVec::new(),
        }
    }
}

/// Index of the delimiter that ends the envelope, if a body follows it.
fn delimiter_index(msg: &Msg) -> Option<usize> {
    let f = msg.frames();
    f.iter()
        .position(<[u8]>::is_empty)
        .filter(|&i| i + 1 < f.len())
}

impl Behaviour for Rep {
    fn recv_is_stateless(&self) -> bool {
        false
    }

    fn set_option(&mut self, core: &mut Core, option: PatternOption) -> Result<(), OptionError> {
        self.router.set_option(core, option)
    }

    fn attached(&mut self, core: &mut Core, key: Key, info: &AttachInfo) {
        self.router.attached(core, key, info);
    }

    fn connected(&mut self, core: &mut Core, key: Key, info: &PeerInfo) -> Result<(), AttachError> {
        self.router.connected(core, key, info)
    }

    fn detached(&mut self, core: &mut Core, key: Key) {
        self.router.detached(core, key);
    }

    fn traffic(&mut self, core: &mut Core, key: Key, traffic: Traffic) {
        if let Traffic::Message(msg) = &traffic {
            if delimiter_index(msg).is_none() {
                return;
            }
        }
        self.router.traffic(core, key, traffic);
    }

    fn send(&mut self, core: &mut Core, msg: Msg) -> Result<(), SendError> {
        if !self.sending_reply {
            return Err(SendError {
                kind: SendErrorKind::InvalidState,
                msg,
            });
        }
        let mut msg = msg;
        for frame in self.envelope.drain(..).rev() {
            msg.push_front(frame);
        }
        self.sending_reply = false;
        // Gone or full: the reply is lost silently, whatever ROUTER_MANDATORY says.
        let _ = self
            .router
            .route_likely(core, self.reply_pipe, &self.reply_to, msg);
        Ok(())
    }

    fn recv(&mut self, core: &mut Core) -> Result<Msg, RecvError> {
        if self.sending_reply {
            return Err(RecvError::InvalidState);
        }
        let (id, mut msg, pipe) = self
            .router
            .recv_with_id(core)
            .ok_or(RecvError::WouldBlock)?;
        let end = delimiter_index(&msg).unwrap_or(0);
        self.envelope = msg.split_front(end + 1);
        self.reply_to = id;
        self.reply_pipe = pipe;
        self.sending_reply = true;
        Ok(msg)
    }

    fn is_readable(&self, core: &Core) -> bool {
        !self.sending_reply && core.has_in()
    }

    fn refresh_writable(&mut self, core: &mut Core) -> bool {
        self.sending_reply && self.router.refresh_writable(core)
    }
}
