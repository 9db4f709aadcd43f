//! STREAM: raw TCP connections, each named by a routing id.
//!
//! * `recv` gives `[routing id, data]`, data being a chunk as read from the connection;
//!   `send` takes `[routing id, data]` and queues `data` as one chunk;
//! * an empty data frame asks to close that connection: `Action::Detach(ClosedByApplication)`
//!   (data still queued for it is dropped, as libzmq's comment says);
//! * with STREAM_NOTIFY (on by default, as in libzmq) `[id, ""]` is delivered when a
//!   connection comes up and when it goes down;
//! * an unknown id fails with `HostUnreachable` (libzmq does so whatever ROUTER_MANDATORY
//!   says), a full peer with `WouldBlock`;
//! * routing ids are `CONNECT_ROUTING_ID` for a pipe we connected with one, otherwise `0x00` +
//!   a 32-bit big-endian counter starting at [`crate::PatternConfig::seed`], assigned when the
//!   pipe is attached.
//!
//! Deviation: libzmq takes any number of frames and pairs them up (a trailing odd frame
//! corrupts the next send); here a message must have exactly two frames, else
//! `InvalidMessage`.

use std::collections::HashMap;

use bytes::Bytes;
use zmtp_proto::{Msg, Traffic};

use crate::api::{
    Action, AttachInfo, DetachReason, OptionError, PatternOption, PeerInfo, RecvError, SendError,
    SendErrorKind,
};
use crate::core::{Core, Key};
use crate::machine::{Behaviour, not_applicable};

/// STREAM.
#[derive(Debug)]
pub(crate) struct Stream {
    by_id: HashMap<Bytes, Key>,
    next_id: u32,
    notify: bool,
}

impl Stream {
    pub(crate) fn new(seed: u32) -> Self {
        Self {
            by_id: HashMap::new(),
            next_id: seed,
            notify: true,
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

    fn notification(&self, core: &mut Core, key: Key) {
        if self.notify {
            core.push_in(key, Msg::single(Bytes::new()));
        }
    }
}

impl Behaviour for Stream {
    fn set_option(&mut self, core: &mut Core, option: PatternOption) -> Result<(), OptionError> {
        match option {
            PatternOption::StreamNotify(on) => {
                self.notify = on;
                Ok(())
            }
            other => Err(not_applicable(core.socket_type, &other)),
        }
    }

    fn attached(&mut self, core: &mut Core, key: Key, info: &AttachInfo) {
        let connect_id = info
            .connect_routing_id
            .as_ref()
            .filter(|id| info.locally_initiated && !id.is_empty())
            .cloned();
        let id = match connect_id {
            Some(id) if self.by_id.contains_key(&id) => {
                if let Some(pipe) = core.pipe(key) {
                    let peer = pipe.id;
                    core.push_action(Action::Detach {
                        peer,
                        reason: DetachReason::DuplicateRoutingId,
                    });
                }
                return;
            }
            Some(id) => id,
            None => self.generate_id(),
        };
        if let Some(pipe) = core.pipes.get_mut(key) {
            pipe.routing_id = Some(id.clone());
        }
        self.by_id.insert(id, key);
        core.fq_attach(key);
    }

    fn connected(
        &mut self,
        core: &mut Core,
        key: Key,
        _info: &PeerInfo,
    ) -> Result<(), crate::api::AttachError> {
        self.notification(core, key);
        Ok(())
    }

    fn disconnected(&mut self, core: &mut Core, key: Key) {
        self.notification(core, key);
    }

    fn detached(&mut self, core: &mut Core, key: Key) {
        let Some(pipe) = core.pipe(key) else {
            return;
        };
        let (connected, id) = (pipe.connected, pipe.routing_id.clone());
        if connected {
            // Delivered after whatever the connection sent before it went.
            self.notification(core, key);
        }
        if let Some(id) = id {
            if self.by_id.get(&id) == Some(&key) {
                self.by_id.remove(&id);
            }
        }
    }

    fn traffic(&mut self, core: &mut Core, key: Key, traffic: Traffic) {
        if let Traffic::Message(msg) = traffic {
            core.push_in(key, msg);
        }
    }

    fn send(&mut self, core: &mut Core, mut msg: Msg) -> Result<(), SendError> {
        if msg.len() != 2 {
            return Err(SendError {
                kind: SendErrorKind::InvalidMessage,
                msg,
            });
        }
        let f = msg.frames();
        let Some(&key) = self.by_id.get(&f[0]) else {
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
        if f[1].is_empty() {
            if let Some(pipe) = core.pipe(key) {
                let peer = pipe.id;
                core.push_action(Action::Detach {
                    peer,
                    reason: DetachReason::ClosedByApplication,
                });
            }
            return Ok(());
        }
        let data = msg.pop_back().unwrap_or_default();
        let _ = core.write(key, Traffic::Message(Msg::single(data)));
        Ok(())
    }

    fn recv(&mut self, core: &mut Core) -> Result<Msg, RecvError> {
        let (key, mut msg) = core.recv().ok_or(RecvError::WouldBlock)?;
        let id = core
            .pipe(key)
            .and_then(|p| p.routing_id.clone())
            .unwrap_or_default();
        msg.push_front(id);
        Ok(msg)
    }

    fn is_readable(&self, core: &Core) -> bool {
        core.has_in()
    }

    fn refresh_writable(&mut self, _core: &mut Core) -> bool {
        true
    }

    fn routing_id_of(&self, core: &Core, key: Key) -> Option<Bytes> {
        core.pipe(key).and_then(|p| p.routing_id.clone())
    }
}
