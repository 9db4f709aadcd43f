//! PULL (RFC 30): fair-queues whole messages from its peers; never sends.
//!
//! The same machine serves GATHER (see [`super::gather`]), which drops multipart messages
//! (libzmq drops them in `gather_t::xrecv`; here they are dropped on arrival, which the
//! application cannot tell apart).

use zmtp_proto::{Msg, Traffic};

use crate::api::{AttachInfo, RecvError};
use crate::core::{Core, Key};
use crate::machine::{Behaviour, Inbound};

/// PULL and GATHER.
#[derive(Debug, Default)]
pub(crate) struct Pull {
    single_frame: bool,
}

impl Pull {
    pub(crate) fn new(single_frame: bool) -> Self {
        Self { single_frame }
    }
}

/// Receives the next whole message by fair-queueing, or `WouldBlock`.
pub(crate) fn fq_recv(core: &mut Core) -> Result<Msg, RecvError> {
    core.recv().map(|(_, msg)| msg).ok_or(RecvError::WouldBlock)
}

impl Behaviour for Pull {
    fn attached(&mut self, core: &mut Core, key: Key, _info: &AttachInfo) {
        core.fq_attach(key);
    }

    fn detached(&mut self, _core: &mut Core, _key: Key) {}

    fn traffic(&mut self, core: &mut Core, key: Key, traffic: Traffic) {
        if let Traffic::Message(msg) = traffic {
            if !self.single_frame || msg.len() == 1 {
                core.push_in(key, msg);
            }
        }
    }

    fn inbound(&self) -> Inbound {
        Inbound::Queue {
            single_frame_only: self.single_frame,
        }
    }

    fn recv_is_fair_queued(&self) -> bool {
        true
    }

    fn recv(&mut self, core: &mut Core) -> Result<Msg, RecvError> {
        fq_recv(core)
    }

    fn is_readable(&self, core: &Core) -> bool {
        core.has_in()
    }

    fn refresh_writable(&mut self, _core: &mut Core) -> bool {
        false
    }
}
