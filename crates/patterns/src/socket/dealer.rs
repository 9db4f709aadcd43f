//! DEALER (RFC 28): round-robin out to peers with room, fair-queue in, no envelope rules.
//!
//! The same machine serves CLIENT (see [`super::client`]) and is the base of REQ. With
//! PROBE_ROUTER an empty message is queued to each new pipe when it is attached, as libzmq's
//! `dealer_t::xattach_pipe` does.

use bytes::Bytes;
use zmtp_proto::{Msg, Traffic};

use super::pull::fq_recv;
use super::push::{lb_send, lb_send_frame, multipart_refused, refuses};
use crate::api::{AttachInfo, OptionError, PatternOption, RecvError, SendError, UserFrame};
use crate::core::{Core, Key};
use crate::lb::LoadBalancer;
use crate::machine::{Behaviour, Inbound, not_applicable};

/// DEALER and CLIENT.
#[derive(Debug, Default)]
pub(crate) struct Dealer {
    pub(crate) lb: LoadBalancer,
    probe_router: bool,
    single_frame: bool,
}

impl Dealer {
    pub(crate) fn new(single_frame: bool) -> Self {
        Self {
            single_frame,
            ..Self::default()
        }
    }
}

impl Behaviour for Dealer {
    fn set_option(&mut self, core: &mut Core, option: PatternOption) -> Result<(), OptionError> {
        match option {
            PatternOption::ProbeRouter(on) if !self.single_frame => {
                self.probe_router = on;
                Ok(())
            }
            other => Err(not_applicable(core.socket_type, &other)),
        }
    }

    fn attached(&mut self, core: &mut Core, key: Key, _info: &AttachInfo) {
        if self.probe_router {
            // libzmq ignores a failed probe write ("not a bug").
            let _ = core.write(key, Traffic::Message(Msg::single(Bytes::new())));
        }
        core.fq_attach(key);
        self.lb.attach(core, key);
    }

    fn detached(&mut self, core: &mut Core, key: Key) {
        self.lb.remove(core, key);
    }

    fn traffic(&mut self, core: &mut Core, key: Key, traffic: Traffic) {
        if let Traffic::Message(msg) = traffic {
            // CLIENT drops multipart messages (libzmq drops them in client_t::xrecv).
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

    fn write_activated(&mut self, core: &mut Core, key: Key) {
        self.lb.activated(core, key);
    }

    fn send(&mut self, core: &mut Core, msg: Msg) -> Result<(), SendError> {
        if refuses(self.single_frame, &msg) {
            return Err(multipart_refused(msg));
        }
        lb_send(&mut self.lb, core, msg).map(|_| ())
    }

    fn send_frame(&mut self, core: &mut Core, frame: UserFrame<'_>) -> Result<(), SendError> {
        lb_send_frame(&mut self.lb, core, frame)
    }

    fn recv(&mut self, core: &mut Core) -> Result<Msg, RecvError> {
        fq_recv(core)
    }

    fn is_readable(&self, core: &Core) -> bool {
        core.has_in()
    }

    fn refresh_writable(&mut self, core: &mut Core) -> bool {
        self.lb.has_out(core)
    }
}
