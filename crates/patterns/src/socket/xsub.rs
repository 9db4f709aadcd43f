//! XSUB (RFC 29): a subscriber whose application sends the subscriptions as messages.
//!
//! * a message (or frame) starting with 0x01 subscribes to the rest, 0x00 unsubscribes; the
//!   subscription set counts references (libzmq's `trie_t`): every subscribe goes upstream as
//!   `Traffic::Subscribe` (libzmq stopped deduplicating them, XPUB does that), an unsubscribe
//!   goes upstream as `Traffic::Cancel` only when it drops the last reference;
//! * other messages go upstream to every publisher (libzmq's `send_to_all`), as do
//!   subscriptions: a publisher whose queue is full misses them (RFC 29 "SHALL silently drop
//!   the message if the outgoing queue for a publisher is full"); `send` never blocks;
//! * every subscription is queued to each new pipe when it is attached, and again when its
//!   connection drops (libzmq's pipe `hiccup` throws away the queued outbound traffic and
//!   `xhiccuped` resends the set), so each connection starts with the full set;
//! * received messages are fair-queued and, for XSUB, not filtered.
//!
//! Deviation: libzmq checks each frame of a multipart message sent by the application for the
//! 0x01/0x00 prefix and forwards the others with their MORE flags; here the subscription
//! frames are applied and the remaining frames go upstream as one message.
//!
//! The same machine serves SUB (see [`super::sub`]).

use bytes::Bytes;
use zmtp_proto::{Msg, Traffic};

use super::pull::fq_recv;
use crate::api::{AttachInfo, OptionError, PatternOption, RecvError, SendError, SendErrorKind};
use crate::core::{Core, Key};
use crate::dist::Distributor;
use crate::machine::{Behaviour, not_applicable};
use crate::trie::Trie;

/// XSUB and SUB.
#[derive(Debug, Default)]
pub(crate) struct XSub {
    is_sub: bool,
    subscriptions: Trie,
    dist: Distributor,
}

impl XSub {
    pub(crate) fn new(is_sub: bool) -> Self {
        Self {
            is_sub,
            ..Self::default()
        }
    }

    fn send_subscriptions(&self, core: &mut Core, key: Key) {
        self.subscriptions.for_each(|topic| {
            // A full queue loses it, as libzmq's xsub_t::send_subscription does.
            let _ = core.write(key, Traffic::Subscribe(topic.clone()));
        });
    }

    fn subscribe(&mut self, core: &mut Core, topic: Bytes) {
        self.subscriptions.add(&topic);
        self.dist.send_to_all(core, Traffic::Subscribe(topic));
        if core.invert_matching {
            self.purge(core);
        }
    }

    fn unsubscribe(&mut self, core: &mut Core, topic: Bytes) {
        if self.subscriptions.rm(&topic) {
            self.dist.send_to_all(core, Traffic::Cancel(topic));
        }
        if !core.invert_matching {
            self.purge(core);
        }
    }

    /// Whether SUB delivers a message: its first frame matches a subscription (or, with
    /// INVERT_MATCHING, matches none).
    fn accepts(&self, invert: bool, msg: &Msg) -> bool {
        if !self.is_sub {
            return true;
        }
        let topic: &[u8] = msg.first().unwrap_or_default();
        self.subscriptions.check(topic) != invert
    }

    /// Drops queued messages that no longer pass the filter (libzmq filters in `recv`, so a
    /// message queued before an unsubscribe is not delivered after it).
    fn purge(&self, core: &mut Core) {
        if self.is_sub {
            let invert = core.invert_matching;
            core.retain_in(|m| self.accepts(invert, m));
        }
    }
}

impl Behaviour for XSub {
    fn set_option(&mut self, core: &mut Core, option: PatternOption) -> Result<(), OptionError> {
        match option {
            PatternOption::Subscribe(topic) if self.is_sub => {
                self.subscribe(core, Bytes::copy_from_slice(&topic));
                Ok(())
            }
            PatternOption::Unsubscribe(topic) if self.is_sub => {
                self.unsubscribe(core, Bytes::copy_from_slice(&topic));
                Ok(())
            }
            other => Err(not_applicable(core.socket_type, &other)),
        }
    }

    fn attached(&mut self, core: &mut Core, key: Key, _info: &AttachInfo) {
        core.fq_attach(key);
        self.dist.attach(core, key);
        self.send_subscriptions(core, key);
    }

    fn disconnected(&mut self, core: &mut Core, key: Key) {
        // libzmq's hiccup: the queued outbound traffic goes, the subscriptions are resent.
        if core.clear_out(key) {
            self.dist.activated(core, key);
        }
        self.send_subscriptions(core, key);
    }

    fn detached(&mut self, core: &mut Core, key: Key) {
        self.dist.remove(core, key);
    }

    fn traffic(&mut self, core: &mut Core, key: Key, traffic: Traffic) {
        if let Traffic::Message(msg) = traffic {
            if self.accepts(core.invert_matching, &msg) {
                core.push_in(key, msg);
            }
        }
    }

    fn recv_is_fair_queued(&self) -> bool {
        true
    }

    fn write_activated(&mut self, core: &mut Core, key: Key) {
        self.dist.activated(core, key);
    }

    fn send(&mut self, core: &mut Core, msg: Msg) -> Result<(), SendError> {
        if self.is_sub {
            return Err(SendError {
                kind: SendErrorKind::NotSupported,
                msg,
            });
        }
        let mut upstream = Msg::new();
        for frame in msg.into_frames() {
            match frame.first() {
                Some(1) => self.subscribe(core, frame.slice(1..)),
                Some(0) => self.unsubscribe(core, frame.slice(1..)),
                _ => upstream.push_back(frame),
            }
        }
        if !upstream.is_empty() {
            self.dist.send_to_all(core, Traffic::Message(upstream));
        }
        Ok(())
    }

    fn recv(&mut self, core: &mut Core) -> Result<Msg, RecvError> {
        fq_recv(core)
    }

    fn is_readable(&self, core: &Core) -> bool {
        core.has_in()
    }

    fn refresh_writable(&mut self, _core: &mut Core) -> bool {
        // libzmq: XSUB is always writable ("subscription can be added/removed anytime"), SUB
        // never is.
        !self.is_sub
    }
}
