//! PAIR (RFC 31): exactly one peer; messages both ways, unchanged.
//!
//! The first pipe attached becomes the pair; any other is refused, as libzmq's
//! `pair_t::xattach_pipe` terminates it: a pipe we connected is refused at once with
//! `Action::Detach(AlreadyPaired)`, an accepted one when its handshake is reported
//! (`AttachError::AlreadyPaired`). When the pair is detached its already-received messages can
//! still be read, and a new peer is accepted only once they have been (libzmq clears the pair
//! in `xpipe_terminated`, after the pipe's pending messages). Sending without a peer, or when
//! its queue is full, fails with `WouldBlock` (RFC 31 "SHALL block on sending, or return a
//! suitable error, when it has no available peer").
//!
//! The same machine serves CHANNEL (see [`super::channel`]), single-frame only.

use std::collections::HashSet;

use zmtp_proto::{Msg, Traffic};

use super::pull::fq_recv;
use super::push::{into_msg, multipart_refused, refuses};
use crate::api::{
    Action, AttachError, AttachInfo, DetachReason, PeerInfo, RecvError, SendError, SendErrorKind,
    UserFrame,
};
use crate::core::{Core, Key};
use crate::machine::Behaviour;
use crate::pipe::OneFrame;

/// PAIR and CHANNEL.
#[derive(Debug, Default)]
pub(crate) struct Pair {
    pipe: Option<Key>,
    refused: HashSet<Key>,
    single_frame: bool,
}

impl Pair {
    pub(crate) fn new(single_frame: bool) -> Self {
        Self {
            single_frame,
            ..Self::default()
        }
    }
}

impl Behaviour for Pair {
    fn attached(&mut self, core: &mut Core, key: Key, info: &AttachInfo) {
        if self.pipe.is_none() {
            self.pipe = Some(key);
            core.fq_attach(key);
            return;
        }
        self.refused.insert(key);
        if info.locally_initiated {
            if let Some(pipe) = core.pipe(key) {
                let peer = pipe.id;
                core.push_action(Action::Detach {
                    peer,
                    reason: DetachReason::AlreadyPaired,
                });
            }
        }
    }

    fn connected(
        &mut self,
        _core: &mut Core,
        key: Key,
        _info: &PeerInfo,
    ) -> Result<(), AttachError> {
        if self.refused.contains(&key) {
            Err(AttachError::AlreadyPaired)
        } else {
            Ok(())
        }
    }

    fn detached(&mut self, _core: &mut Core, key: Key) {
        self.refused.remove(&key);
    }

    fn terminated(&mut self, _core: &mut Core, key: Key) {
        if self.pipe == Some(key) {
            self.pipe = None;
        }
    }

    fn traffic(&mut self, core: &mut Core, key: Key, traffic: Traffic) {
        if self.pipe != Some(key) {
            return;
        }
        if let Traffic::Message(msg) = traffic {
            // CHANNEL drops multipart messages (libzmq drops them in channel_t::xrecv).
            if !self.single_frame || msg.len() == 1 {
                core.push_in(key, msg);
            }
        }
    }

    fn recv_is_fair_queued(&self) -> bool {
        true
    }

    fn send(&mut self, core: &mut Core, msg: Msg) -> Result<(), SendError> {
        if refuses(self.single_frame, &msg) {
            return Err(multipart_refused(msg));
        }
        let Some(key) = self.pipe else {
            return Err(SendError {
                kind: SendErrorKind::WouldBlock,
                msg,
            });
        };
        core.write(key, Traffic::Message(msg))
            .map_err(|t| SendError {
                kind: SendErrorKind::WouldBlock,
                msg: into_msg(t),
            })
    }

    fn send_frame(&mut self, core: &mut Core, frame: UserFrame<'_>) -> Result<(), SendError> {
        let would_block = |frame: UserFrame<'_>| SendError {
            kind: SendErrorKind::WouldBlock,
            msg: frame.into_msg(),
        };
        let Some(key) = self.pipe else {
            return Err(would_block(frame));
        };
        core.write(key, OneFrame(frame))
            .map_err(|OneFrame(frame)| would_block(frame))
    }

    fn recv(&mut self, core: &mut Core) -> Result<Msg, RecvError> {
        fq_recv(core)
    }

    fn is_readable(&self, core: &Core) -> bool {
        core.has_in()
    }

    fn refresh_writable(&mut self, core: &mut Core) -> bool {
        self.pipe.is_some_and(|k| core.check_write(k))
    }
}
