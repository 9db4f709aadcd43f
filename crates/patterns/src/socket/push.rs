//! PUSH (RFC 30): round-robin to the peers whose queue has room; never receives.
//!
//! The same machine serves SCATTER (see [`super::scatter`]), which adds the single-frame rule.
//! As libzmq's `push_t`, the load-balancer holds every attached pipe, connected or not: a
//! connecting PUSH queues messages for a peer that is not up yet. When every pipe is full, or
//! there is none, `send` fails with `WouldBlock` (RFC 30: "SHALL block on sending, or return
//! a suitable error") and nothing is discarded.

use zmtp_proto::{Msg, Traffic};

use crate::api::{AttachInfo, SendError, SendErrorKind, UserFrame};
use crate::core::{Core, Key};
use crate::lb::LoadBalancer;
use crate::machine::Behaviour;
use crate::pipe::OneFrame;

/// PUSH and SCATTER.
#[derive(Debug, Default)]
pub(crate) struct Push {
    lb: LoadBalancer,
    single_frame: bool,
}

impl Push {
    pub(crate) fn new(single_frame: bool) -> Self {
        Self {
            lb: LoadBalancer::default(),
            single_frame,
        }
    }
}

/// The message inside traffic handed back by a failed write.
pub(crate) fn into_msg(traffic: Traffic) -> Msg {
    match traffic {
        Traffic::Message(msg) => msg,
        _ => Msg::new(),
    }
}

/// Whether a single-frame (draft, thread-safe) socket type must refuse `msg`, a multipart
/// message (see [`multipart_refused`]). A check on a reference: moving the message through a
/// `Result` cost a copy of it on every send.
pub(crate) fn refuses(single_frame: bool, msg: &Msg) -> bool {
    single_frame && msg.len() != 1
}

/// The refusal of a multipart message by a single-frame socket type.
pub(crate) fn multipart_refused(msg: Msg) -> SendError {
    SendError {
        kind: SendErrorKind::InvalidMessage,
        msg,
    }
}

/// Load-balances a one-frame message held as its frame (see [`Behaviour::send_frame`]).
pub(crate) fn lb_send_frame(
    lb: &mut LoadBalancer,
    core: &mut Core,
    frame: UserFrame<'_>,
) -> Result<(), SendError> {
    match lb.send(core, OneFrame(frame)) {
        Ok(_) => Ok(()),
        Err(OneFrame(frame)) => Err(SendError {
            kind: SendErrorKind::WouldBlock,
            msg: frame.into_msg(),
        }),
    }
}

/// Load-balances a message, mapping "no pipe has room" to `WouldBlock`.
pub(crate) fn lb_send(lb: &mut LoadBalancer, core: &mut Core, msg: Msg) -> Result<Key, SendError> {
    lb.send(core, Traffic::Message(msg)).map_err(|t| SendError {
        kind: SendErrorKind::WouldBlock,
        msg: into_msg(t),
    })
}

impl Behaviour for Push {
    fn attached(&mut self, core: &mut Core, key: Key, _info: &AttachInfo) {
        self.lb.attach(core, key);
    }

    fn detached(&mut self, core: &mut Core, key: Key) {
        self.lb.remove(core, key);
    }

    fn traffic(&mut self, _core: &mut Core, _key: Key, _traffic: Traffic) {
        // A PULL peer sends nothing; libzmq's push_t never reads its pipes.
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

    fn is_readable(&self, _core: &Core) -> bool {
        false
    }

    fn refresh_writable(&mut self, core: &mut Core) -> bool {
        self.lb.has_out(core)
    }
}
