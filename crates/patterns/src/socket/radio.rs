//! RADIO (RFC 48, draft): sends each message to the peers that joined its group.
//!
//! At this API a radio/dish message is two frames, `[group, body]`, as they travel on the
//! wire; anything else fails with `InvalidMessage`, and so does a group longer than 255
//! octets (`ZMQ_GROUP_MAX_LENGTH` is 255 in libzmq 4.3, as RFC 48 says). Membership is an
//! exact match (RFC 48 "SHALL perform a group membership check using exact matching
//! algorithm"). As libzmq's multimap, a peer that joins a group twice is recorded twice and
//! must leave twice. A full dish loses the message (RFC 48 "SHALL silently drop the message
//! if the queue for a dish is full"), unless XPUB_NODROP, which libzmq's `radio_t` accepts:
//! then `send` fails with `WouldBlock`. Messages from dishes are dropped.

use std::collections::HashMap;

use bytes::Bytes;
use smallvec::SmallVec;
use zmtp_proto::{Msg, Traffic};

use crate::api::{AttachInfo, OptionError, PatternOption, SendError, SendErrorKind};
use crate::core::{Core, Key};
use crate::dist::Distributor;
use crate::hash::IntMap;
use crate::machine::{Behaviour, not_applicable};

/// libzmq's `ZMQ_GROUP_MAX_LENGTH`.
pub(crate) const GROUP_MAX_LENGTH: usize = 255;

/// RADIO.
#[derive(Debug)]
pub(crate) struct Radio {
    /// group → (peer, number of joins).
    groups: HashMap<Bytes, SmallVec<[(Key, u32); 2]>>,
    /// peer → groups it joined (for removal when it goes).
    by_peer: IntMap<Key, Vec<Bytes>>,
    dist: Distributor,
    lossy: bool,
}

impl Radio {
    pub(crate) fn new() -> Self {
        Self {
            groups: HashMap::new(),
            by_peer: IntMap::default(),
            dist: Distributor::default(),
            lossy: true,
        }
    }

    fn join(&mut self, key: Key, group: &[u8]) {
        let members = self
            .groups
            .entry(Bytes::copy_from_slice(group))
            .or_default();
        match members.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => {
                members.push((key, 1));
                self.by_peer
                    .entry(key)
                    .or_default()
                    .push(Bytes::copy_from_slice(group));
            }
        }
    }

    fn leave(&mut self, key: Key, group: &[u8]) {
        let Some(members) = self.groups.get_mut(group) else {
            return;
        };
        let Some(i) = members.iter().position(|(k, _)| *k == key) else {
            return;
        };
        members[i].1 -= 1;
        if members[i].1 == 0 {
            members.swap_remove(i);
            if members.is_empty() {
                self.groups.remove(group);
            }
            if let Some(list) = self.by_peer.get_mut(&key) {
                list.retain(|g| g[..] != *group);
            }
        }
    }
}

impl Behaviour for Radio {
    fn set_option(&mut self, core: &mut Core, option: PatternOption) -> Result<(), OptionError> {
        match option {
            PatternOption::XPubNoDrop(on) => {
                self.lossy = !on;
                Ok(())
            }
            other => Err(not_applicable(core.socket_type, &other)),
        }
    }

    fn attached(&mut self, core: &mut Core, key: Key, _info: &AttachInfo) {
        self.dist.attach(core, key);
    }

    fn detached(&mut self, core: &mut Core, key: Key) {
        for group in self.by_peer.remove(&key).unwrap_or_default() {
            if let Some(members) = self.groups.get_mut(&group) {
                members.retain(|(k, _)| *k != key);
                if members.is_empty() {
                    self.groups.remove(&group);
                }
            }
        }
        self.dist.remove(core, key);
    }

    fn traffic(&mut self, _core: &mut Core, key: Key, traffic: Traffic) {
        match traffic {
            Traffic::Join(group) => self.join(key, &group),
            Traffic::Leave(group) => self.leave(key, &group),
            _ => {}
        }
    }

    fn write_activated(&mut self, core: &mut Core, key: Key) {
        self.dist.activated(core, key);
    }

    fn send(&mut self, core: &mut Core, msg: Msg) -> Result<(), SendError> {
        if msg.len() != 2 || msg.frames()[0].len() > GROUP_MAX_LENGTH {
            return Err(SendError {
                kind: SendErrorKind::InvalidMessage,
                msg,
            });
        }
        self.dist.unmatch();
        if let Some(members) = self.groups.get(&msg.frames()[0]) {
            for &(key, _) in members {
                self.dist.mark(core, key);
            }
        }
        if self.lossy || self.dist.check_hwm(core) {
            self.dist.send_to_matching(core, Traffic::Message(msg));
            Ok(())
        } else {
            self.dist.unmatch();
            Err(SendError {
                kind: SendErrorKind::WouldBlock,
                msg,
            })
        }
    }

    fn is_readable(&self, _core: &Core) -> bool {
        false
    }

    fn refresh_writable(&mut self, _core: &mut Core) -> bool {
        true
    }
}
