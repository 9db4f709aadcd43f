//! ROUTER (RFC 28): every peer has a routing id; received messages are prefixed with it and
//! sent messages are routed by their first frame, in O(1) through a hash map.
//!
//! Routing ids, as libzmq's `router_t::identify_peer`:
//! * a pipe we connected with `CONNECT_ROUTING_ID` takes that id when it is attached;
//! * otherwise the id the peer announced in its handshake, if not empty;
//! * otherwise a generated one: `0x00` followed by a 32-bit big-endian counter that starts at
//!   [`crate::PatternConfig::seed`] (libzmq starts it at random). Unlike libzmq, which asserts,
//!   a generated id that a peer already announced is skipped.
//!
//! A peer announcing an id already in use is refused with `DuplicateRoutingId` (libzmq leaves
//! such a pipe unidentified, so it is never routed to and never read: refusing it is the
//! observable equivalent), unless ROUTER_HANDOVER is set: then the new peer takes the id, the
//! old one is renamed with a generated id and asked to go with `Detach(HandedOver)`. After a
//! reconnect the peer keeps the id it had ("the current implementation assumes that the peer
//! always uses the same routing id").
//!
//! Sending to an unknown id, or to a peer whose queue is full, drops the message silently
//! (RFC 28 "SHALL either silently drop the message, or return an error, depending on
//! configuration"); with ROUTER_MANDATORY it fails with `HostUnreachable`, or `WouldBlock`
//! when the peer exists but is full. A message of one frame only is dropped silently, as
//! libzmq ignores "a prefix with no subsequent message". PROBE_ROUTER queues an empty message
//! to each new pipe. The same routing core serves REP.

use std::collections::HashMap;

use bytes::Bytes;
use zmtp_proto::{Msg, Traffic};

use crate::api::{
    Action, AttachError, AttachInfo, DetachReason, OptionError, PatternOption, PeerInfo, RecvError,
    SendError, SendErrorKind,
};
use crate::core::{Core, Key};
use crate::machine::{Behaviour, not_applicable};

/// ROUTER, and the routing half of REP.
#[derive(Debug)]
pub(crate) struct Router {
    by_id: HashMap<Bytes, Key>,
    next_id: u32,
    mandatory: bool,
    handover: bool,
    probe_router: bool,
}

impl Router {
    pub(crate) fn new(seed: u32) -> Self {
        Self {
            by_id: HashMap::new(),
            next_id: seed,
            mandatory: false,
            handover: false,
            probe_router: false,
        }
    }

    fn generate_id(&mut self) -> Bytes {
        loop {
            let n = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            let mut id = [0u8; 5];
            id[1..].copy_from_slice(&n.to_be_bytes());
            if !self.by_id.contains_key(&id[..]) {
                return Bytes::copy_from_slice(&id);
            }
        }
    }

    fn identify(&mut self, core: &mut Core, key: Key, id: Bytes) {
        if let Some(pipe) = core.pipes.get_mut(key) {
            pipe.routing_id = Some(id.clone());
        }
        self.by_id.insert(id, key);
        core.fq_attach(key);
        core.set_counted(key, true);
    }

    /// Routes `msg` (without its routing-id frame) to the peer named `id`.
    pub(crate) fn route(&self, core: &mut Core, id: &[u8], msg: Msg) -> Result<(), SendError> {
        self.route_to(core, self.by_id.get(id).copied(), msg)
    }

    /// Routes `msg` to the peer named `id`, which was pipe `likely` when it was last seen
    /// (REP's requester): while that pipe is live under the same id, without hashing the id.
    pub(crate) fn route_likely(
        &self,
        core: &mut Core,
        likely: Key,
        id: &[u8],
        msg: Msg,
    ) -> Result<(), SendError> {
        let same = core
            .pipe(likely)
            .is_some_and(|p| p.live && p.routing_id.as_deref() == Some(id));
        if same {
            // A live pipe's routing id is always its entry in `by_id` (see `identify`).
            self.route_to(core, Some(likely), msg)
        } else {
            self.route(core, id, msg)
        }
    }

    fn route_to(&self, core: &mut Core, key: Option<Key>, msg: Msg) -> Result<(), SendError> {
        let Some(key) = key else {
            return if self.mandatory {
                Err(SendError {
                    kind: SendErrorKind::HostUnreachable,
                    msg,
                })
            } else {
                Ok(())
            };
        };
        if !core.check_write(key) {
            let full = !core.check_hwm(key);
            return if self.mandatory {
                Err(SendError {
                    kind: if full {
                        SendErrorKind::WouldBlock
                    } else {
                        SendErrorKind::HostUnreachable
                    },
                    msg,
                })
            } else {
                Ok(())
            };
        }
        // check_write passed, so the write cannot fail.
        let _ = core.write(key, Traffic::Message(msg));
        Ok(())
    }

    /// Receives the next message, the routing id of the peer that sent it and its pipe.
    pub(crate) fn recv_with_id(&self, core: &mut Core) -> Option<(Bytes, Msg, Key)> {
        let (key, msg) = core.recv()?;
        let id = core
            .pipe(key)
            .and_then(|p| p.routing_id.clone())
            .unwrap_or_default();
        Some((id, msg, key))
    }
}

impl Behaviour for Router {
    fn set_option(&mut self, core: &mut Core, option: PatternOption) -> Result<(), OptionError> {
        match option {
            PatternOption::RouterMandatory(on) => self.mandatory = on,
            PatternOption::RouterHandover(on) => self.handover = on,
            PatternOption::ProbeRouter(on) => self.probe_router = on,
            other => return Err(not_applicable(core.socket_type, &other)),
        }
        Ok(())
    }

    fn attached(&mut self, core: &mut Core, key: Key, info: &AttachInfo) {
        if self.probe_router {
            let _ = core.write(key, Traffic::Message(Msg::single(Bytes::new())));
        }
        let connect_id = info
            .connect_routing_id
            .as_ref()
            .filter(|id| info.locally_initiated && !id.is_empty());
        if let Some(id) = connect_id {
            if self.by_id.contains_key(id) {
                // libzmq asserts here; the facade should refuse such a connect earlier.
                if let Some(pipe) = core.pipe(key) {
                    let peer = pipe.id;
                    core.push_action(Action::Detach {
                        peer,
                        reason: DetachReason::DuplicateRoutingId,
                    });
                }
                return;
            }
            self.identify(core, key, id.clone());
        }
    }

    fn connected(&mut self, core: &mut Core, key: Key, info: &PeerInfo) -> Result<(), AttachError> {
        if core.pipe(key).is_some_and(|p| p.routing_id.is_some()) {
            return Ok(());
        }
        let id = match &info.routing_id {
            Some(id) if !id.is_empty() => Bytes::copy_from_slice(id),
            _ => self.generate_id(),
        };
        if let Some(&old) = self.by_id.get(&id) {
            if !self.handover {
                return Err(AttachError::DuplicateRoutingId);
            }
            let renamed = self.generate_id();
            self.by_id.insert(renamed.clone(), old);
            if let Some(pipe) = core.pipes.get_mut(old) {
                pipe.routing_id = Some(renamed);
                let peer = pipe.id;
                core.push_action(Action::Detach {
                    peer,
                    reason: DetachReason::HandedOver,
                });
            }
        }
        self.identify(core, key, id);
        Ok(())
    }

    fn detached(&mut self, core: &mut Core, key: Key) {
        let id = core.pipe(key).and_then(|p| p.routing_id.clone());
        if let Some(id) = id {
            if self.by_id.get(&id) == Some(&key) {
                self.by_id.remove(&id);
            }
        }
    }

    fn traffic(&mut self, core: &mut Core, key: Key, traffic: Traffic) {
        if let Traffic::Message(msg) = traffic {
            if core.pipe(key).is_some_and(|p| p.routing_id.is_some()) {
                core.push_in(key, msg);
            }
        }
    }

    fn send(&mut self, core: &mut Core, msg: Msg) -> Result<(), SendError> {
        if msg.len() < 2 {
            return Ok(());
        }
        let mut msg = msg;
        let id = msg.pop_front().unwrap_or_default();
        self.route(core, &id, msg).map_err(|mut e| {
            e.msg.push_front(id);
            e
        })
    }

    fn recv(&mut self, core: &mut Core) -> Result<Msg, RecvError> {
        let (id, mut msg, _) = self.recv_with_id(core).ok_or(RecvError::WouldBlock)?;
        msg.push_front(id);
        Ok(msg)
    }

    fn is_readable(&self, core: &Core) -> bool {
        core.has_in()
    }

    fn refresh_writable(&mut self, core: &mut Core) -> bool {
        // libzmq: always writable, except under ROUTER_MANDATORY where some peer needs room.
        !self.mandatory || core.any_counted_with_room()
    }

    fn routing_id_of(&self, core: &Core, key: Key) -> Option<Bytes> {
        core.pipe(key).and_then(|p| p.routing_id.clone())
    }
}
