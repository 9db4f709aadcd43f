//! REQ (RFC 28): a DEALER that alternates strictly between one request and one reply.
//!
//! * `send` while a reply is awaited fails with `InvalidState` (EFSM), unless REQ_RELAXED,
//!   which abandons the outstanding request;
//! * `recv` before a request was sent fails with `InvalidState`;
//! * a request goes out as `["", body…]` (RFC 28 "SHALL prefix the outgoing message with an
//!   empty delimiter frame") to the next peer with room, round-robin;
//! * with REQ_CORRELATE it goes out as `[request id, "", body…]`, the id being 4 octets in
//!   host byte order as libzmq `memcpy`s its `uint32_t` (little-endian on x86 and ARM; this
//!   crate always writes little-endian). The id starts from [`crate::PatternConfig::seed`]
//!   and is incremented before each request, as libzmq's random start is;
//! * a reply is accepted only from the peer the request went to (RFC 28 "SHALL accept an
//!   incoming message only from the last peer that it sent a request to"), only if it starts
//!   with the delimiter (after the matching request id under REQ_CORRELATE); anything else is
//!   discarded silently. libzmq checks this in `recv`; here it is checked on arrival, against
//!   the same state, so `is_readable` is exact.
//! * a reply that breaks the envelope grammar libzmq's `req_session_t` enforces (no
//!   delimiter, or a 4-octet id not followed by one) is a protocol error there and drops the
//!   connection: here it yields `Action::Detach` with `ProtocolViolation`.
//! * sending a new request discards every reply still queued (libzmq drains its pipes so an
//!   old reply is never mistaken for the new one).

use bytes::Bytes;
use zmtp_proto::{Msg, Traffic};

use super::dealer::Dealer;
use super::push::lb_send;
use crate::api::{
    Action, AttachInfo, DetachReason, OptionError, PatternOption, RecvError, SendError,
    SendErrorKind,
};
use crate::core::{Core, Key};
use crate::machine::Behaviour;

/// REQ.
#[derive(Debug)]
pub(crate) struct Req {
    dealer: Dealer,
    receiving_reply: bool,
    reply_pipe: Option<Key>,
    correlate: bool,
    strict: bool,
    request_id: u32,
}

impl Req {
    pub(crate) fn new(seed: u32) -> Self {
        Self {
            dealer: Dealer::new(false),
            receiving_reply: false,
            reply_pipe: None,
            correlate: false,
            strict: true,
            request_id: seed,
        }
    }
}

/// libzmq's `req_session_t::push_msg` grammar: `("" | id4 "") body+`.
fn reply_envelope_is_well_formed(msg: &Msg) -> bool {
    let f = msg.frames();
    match f.first().map(<[u8]>::len) {
        Some(0) => f.len() >= 2,
        Some(4) => f.len() >= 3 && f[1].is_empty(),
        _ => false,
    }
}

impl Behaviour for Req {
    fn recv_is_stateless(&self) -> bool {
        false
    }

    fn set_option(&mut self, core: &mut Core, option: PatternOption) -> Result<(), OptionError> {
        match option {
            PatternOption::ReqRelaxed(on) => {
                self.strict = !on;
                Ok(())
            }
            PatternOption::ReqCorrelate(on) => {
                self.correlate = on;
                Ok(())
            }
            other => self.dealer.set_option(core, other),
        }
    }

    fn attached(&mut self, core: &mut Core, key: Key, info: &AttachInfo) {
        self.dealer.attached(core, key, info);
    }

    fn detached(&mut self, core: &mut Core, key: Key) {
        self.dealer.detached(core, key);
    }

    fn terminated(&mut self, _core: &mut Core, key: Key) {
        // libzmq's req_t::xpipe_terminated: with the asked peer gone, a reply from any peer
        // is accepted.
        if self.reply_pipe == Some(key) {
            self.reply_pipe = None;
        }
    }

    fn traffic(&mut self, core: &mut Core, key: Key, traffic: Traffic) {
        let Traffic::Message(msg) = traffic else {
            return;
        };
        if !reply_envelope_is_well_formed(&msg) {
            if let Some(pipe) = core.pipe(key) {
                let peer = pipe.id;
                core.push_action(Action::Detach {
                    peer,
                    reason: DetachReason::ProtocolViolation,
                });
            }
            return;
        }
        if !self.receiving_reply || self.reply_pipe.is_some_and(|k| k != key) {
            return;
        }
        let f = msg.frames();
        let delimiter_at = if self.correlate {
            if f[0][..] != self.request_id.to_le_bytes() {
                return;
            }
            1
        } else {
            0
        };
        if !f[delimiter_at].is_empty() || f.len() <= delimiter_at + 1 {
            return;
        }
        core.push_in(key, msg);
    }

    fn write_activated(&mut self, core: &mut Core, key: Key) {
        self.dealer.write_activated(core, key);
    }

    fn send(&mut self, core: &mut Core, msg: Msg) -> Result<(), SendError> {
        if self.receiving_reply {
            if self.strict {
                return Err(SendError {
                    kind: SendErrorKind::InvalidState,
                    msg,
                });
            }
            self.receiving_reply = false;
        }
        self.reply_pipe = None;
        let mut msg = msg;
        msg.push_front(Bytes::new());
        let mut prefix = 1;
        if self.correlate {
            self.request_id = self.request_id.wrapping_add(1);
            msg.push_front(Bytes::copy_from_slice(&self.request_id.to_le_bytes()));
            prefix = 2;
        }
        match lb_send(&mut self.dealer.lb, core, msg) {
            Ok(key) => {
                self.reply_pipe = Some(key);
                core.discard_in();
                self.receiving_reply = true;
                Ok(())
            }
            Err(mut e) => {
                e.msg.drop_front(prefix);
                Err(e)
            }
        }
    }

    fn recv(&mut self, core: &mut Core) -> Result<Msg, RecvError> {
        if !self.receiving_reply {
            return Err(RecvError::InvalidState);
        }
        let (_, mut msg) = core.recv().ok_or(RecvError::WouldBlock)?;
        msg.drop_front(if self.correlate { 2 } else { 1 });
        self.receiving_reply = false;
        Ok(msg)
    }

    fn is_readable(&self, core: &Core) -> bool {
        self.receiving_reply && core.has_in()
    }

    fn refresh_writable(&mut self, core: &mut Core) -> bool {
        if self.receiving_reply && self.strict {
            return false;
        }
        self.dealer.refresh_writable(core)
    }
}
