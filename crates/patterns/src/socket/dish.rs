//! DISH (RFC 48, draft): receives the messages of the groups it joined.
//!
//! * `PatternOption::Join` / `Leave` send `Traffic::Join` / `Leave` to every radio (a full
//!   queue misses it, as with libzmq's `send_to_all`); joining a group twice, leaving one not
//!   joined, or a group longer than 255 octets fails with `InvalidValue` (EINVAL);
//! * the joined groups are queued to each new pipe and again when its connection drops
//!   (libzmq's `hiccup`), so each connection starts with the full set;
//! * a message from a radio must be `[group, body]` with a group of at most 255 octets: libzmq's
//!   `dish_session_t` treats anything else as a protocol error and drops the connection, here
//!   `Action::Detach(ProtocolViolation)`;
//! * messages of groups not joined are discarded (libzmq checks in `recv`; here on arrival and
//!   again on `Leave`, so `is_readable` is exact). `recv` gives `[group, body]`.
//! * DISH never sends (`NotSupported`); libzmq still reports it writable.

use std::collections::BTreeSet;

use bytes::Bytes;
use zmtp_proto::{Msg, Traffic};

use super::pull::fq_recv;
use super::radio::GROUP_MAX_LENGTH;
use crate::api::{Action, AttachInfo, DetachReason, OptionError, PatternOption, RecvError};
use crate::core::{Core, Key};
use crate::dist::Distributor;
use crate::machine::{Behaviour, not_applicable, option_name};

/// DISH.
#[derive(Debug, Default)]
pub(crate) struct Dish {
    groups: BTreeSet<Bytes>,
    dist: Distributor,
}

impl Dish {
    fn send_joins(&self, core: &mut Core, key: Key) {
        for group in &self.groups {
            let _ = core.write(key, Traffic::Join(group.clone()));
        }
    }
}

impl Behaviour for Dish {
    fn set_option(&mut self, core: &mut Core, option: PatternOption) -> Result<(), OptionError> {
        let invalid = |o: &PatternOption| OptionError::InvalidValue {
            option: option_name(o),
        };
        match &option {
            PatternOption::Join(group) => {
                if group.len() > GROUP_MAX_LENGTH || self.groups.contains(group) {
                    return Err(invalid(&option));
                }
                let group = Bytes::copy_from_slice(group);
                self.groups.insert(group.clone());
                self.dist.send_to_all(core, Traffic::Join(group));
                Ok(())
            }
            PatternOption::Leave(group) => {
                if group.len() > GROUP_MAX_LENGTH || !self.groups.remove(group) {
                    return Err(invalid(&option));
                }
                self.dist.send_to_all(core, Traffic::Leave(group.clone()));
                let groups = &self.groups;
                core.retain_in(|m| m.first().is_some_and(|g| groups.contains(g)));
                Ok(())
            }
            _ => Err(not_applicable(core.socket_type, &option)),
        }
    }

    fn attached(&mut self, core: &mut Core, key: Key, _info: &AttachInfo) {
        core.fq_attach(key);
        self.dist.attach(core, key);
        self.send_joins(core, key);
    }

    fn disconnected(&mut self, core: &mut Core, key: Key) {
        if core.clear_out(key) {
            self.dist.activated(core, key);
        }
        self.send_joins(core, key);
    }

    fn detached(&mut self, core: &mut Core, key: Key) {
        self.dist.remove(core, key);
    }

    fn traffic(&mut self, core: &mut Core, key: Key, traffic: Traffic) {
        let Traffic::Message(msg) = traffic else {
            return;
        };
        if msg.len() != 2 || msg.frames()[0].len() > GROUP_MAX_LENGTH {
            if let Some(pipe) = core.pipe(key) {
                let peer = pipe.id;
                core.push_action(Action::Detach {
                    peer,
                    reason: DetachReason::ProtocolViolation,
                });
            }
            return;
        }
        if self.groups.contains(&msg.frames()[0]) {
            core.push_in(key, msg);
        }
    }

    fn recv_is_fair_queued(&self) -> bool {
        true
    }

    fn write_activated(&mut self, core: &mut Core, key: Key) {
        self.dist.activated(core, key);
    }

    fn recv(&mut self, core: &mut Core) -> Result<Msg, RecvError> {
        fq_recv(core)
    }

    fn is_readable(&self, core: &Core) -> bool {
        core.has_in()
    }

    fn refresh_writable(&mut self, _core: &mut Core) -> bool {
        true
    }
}
