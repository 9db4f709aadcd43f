//! SERVER (RFC 41, draft): every peer gets a non-zero 32-bit routing id when its pipe is
//! attached ("SHALL NOT allow the peer to specify its routing id explicitly"); a received
//! message carries it (`Msg::routing_id`), a sent message is routed by it.
//!
//! * ids come from a counter that starts at [`crate::PatternConfig::seed`] (libzmq starts it
//!   at random) and skips 0, and, unlike libzmq which asserts, ids still in use after the
//!   counter wraps;
//! * sending a multipart message fails with `InvalidMessage` (EINVAL); an unknown routing id
//!   fails with `HostUnreachable` (RFC 41 "SHALL return an error if the queue does not
//!   exist"); a full peer fails with `WouldBlock`;
//! * multipart messages from peers are dropped.
//!
//! The same machine serves PEER (see [`super::peer`]).

use bytes::Bytes;
use zmtp_proto::{Msg, Traffic};

use super::push::{multipart_refused, refuses};
use crate::api::{AttachInfo, RecvError, SendError, SendErrorKind};
use crate::core::{Core, Key};
use crate::hash::IntMap;
use crate::machine::Behaviour;

/// SERVER and PEER.
#[derive(Debug)]
pub(crate) struct Server {
    by_id: IntMap<u32, Key>,
    next_id: u32,
}

impl Server {
    pub(crate) fn new(seed: u32) -> Self {
        Self {
            by_id: IntMap::default(),
            next_id: seed,
        }
    }
}

impl Behaviour for Server {
    fn attached(&mut self, core: &mut Core, key: Key, _info: &AttachInfo) {
        let id = loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if id != 0 && !self.by_id.contains_key(&id) {
                break id;
            }
        };
        if let Some(pipe) = core.pipes.get_mut(key) {
            pipe.server_id = id;
        }
        self.by_id.insert(id, key);
        core.fq_attach(key);
    }

    fn detached(&mut self, core: &mut Core, key: Key) {
        if let Some(pipe) = core.pipe(key) {
            self.by_id.remove(&pipe.server_id);
        }
    }

    fn traffic(&mut self, core: &mut Core, key: Key, traffic: Traffic) {
        if let Traffic::Message(msg) = traffic {
            if msg.len() == 1 {
                core.push_in(key, msg);
            }
        }
    }

    fn send(&mut self, core: &mut Core, msg: Msg) -> Result<(), SendError> {
        if refuses(true, &msg) {
            return Err(multipart_refused(msg));
        }
        let mut msg = msg;
        let Some(&key) = self.by_id.get(&msg.routing_id()) else {
            return Err(SendError {
                kind: SendErrorKind::HostUnreachable,
                msg,
            });
        };
        if !core.check_write(key) {
            return Err(SendError {
                kind: SendErrorKind::WouldBlock,
                msg,
            });
        }
        msg.set_routing_id(0);
        let _ = core.write(key, Traffic::Message(msg));
        Ok(())
    }

    fn recv(&mut self, core: &mut Core) -> Result<Msg, RecvError> {
        let (key, mut msg) = core.recv().ok_or(RecvError::WouldBlock)?;
        if let Some(pipe) = core.pipe(key) {
            msg.set_routing_id(pipe.server_id);
        }
        Ok(msg)
    }

    fn is_readable(&self, core: &Core) -> bool {
        core.has_in()
    }

    fn refresh_writable(&mut self, _core: &mut Core) -> bool {
        // libzmq: "In theory, SERVER socket is always ready for writing."
        true
    }

    fn routing_id_of(&self, core: &Core, key: Key) -> Option<Bytes> {
        core.pipe(key)
            .map(|p| Bytes::copy_from_slice(&p.server_id.to_be_bytes()))
    }
}
