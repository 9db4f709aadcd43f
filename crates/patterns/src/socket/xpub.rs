//! XPUB (RFC 29): a publisher that hands the subscriptions to the application.
//!
//! Sending matches the first frame against every subscriber's prefixes (byte-wise, RFC 29
//! "SHALL perform a binary comparison of the subscription against the start of the first
//! frame") and queues the message on each matching subscriber. A subscriber whose queue is
//! full loses the message and never blocks the sender (RFC 29 "SHALL silently drop the message
//! if the queue for a subscriber is full"), unless XPUB_NODROP: then `send` fails with
//! `WouldBlock` while any matching subscriber is full. INVERT_MATCHING sends to the
//! subscribers that do not match.
//!
//! Subscriptions (`Traffic::Subscribe`/`Cancel`, or, from ZMTP 3.0 peers and XSUB
//! applications, message frames starting with 0x01/0x00) are applied at once and, as libzmq's
//! `xpub_t`, reported to the application as `0x01 + topic` / `0x00 + topic`:
//! * a subscribe only when the topic is new (no subscriber had it), unless XPUB_VERBOSE or
//!   XPUB_VERBOSER;
//! * an unsubscribe when the topic lost its last subscriber, or the peer had not subscribed
//!   to it at all (libzmq's `rm_result != values_remain`), unless XPUB_VERBOSER, which
//!   reports every one;
//! * when a subscriber goes, its subscriptions are removed and the topics left without
//!   subscribers are reported as unsubscribes (all of them under XPUB_VERBOSER), in
//!   lexicographic order.
//!
//! Other messages from peers go up to the application (libzmq passes upstream XSUB traffic to
//! an XPUB application). Deviation: libzmq checks every frame of a multipart message for a
//! subscription prefix and passes the remaining frames up with their MORE flags; here the
//! non-subscription frames of one message go up as one message.
//!
//! XPUB_MANUAL: subscriptions are not applied but still reported (all of them); receiving one
//! makes its peer the "last pipe", to which `Subscribe`/`Unsubscribe` options then apply.
//! XPUB_MANUAL_LAST_VALUE also sends the next message only to that peer. XPUB_WELCOME_MSG is
//! queued to every new pipe when it is attached.
//!
//! The same machine serves PUB (see [`super::pub_`]): it drops upstream messages and reports
//! nothing; libzmq's `pub_t` inherits every XPUB option, and so does this one.

use std::collections::VecDeque;

use bytes::Bytes;
use zmtp_proto::{Msg, Traffic};

use crate::api::{AttachInfo, OptionError, PatternOption, RecvError, SendError, SendErrorKind};
use crate::core::{Core, Key};
use crate::dist::Distributor;
use crate::machine::{Behaviour, not_applicable};
use crate::mtrie::{Mtrie, RmResult};

/// XPUB and PUB.
#[derive(Debug, Default)]
pub(crate) struct XPub {
    is_pub: bool,
    subscriptions: Mtrie,
    manual_subscriptions: Mtrie,
    dist: Distributor,
    verbose_subs: bool,
    verbose_unsubs: bool,
    lossy: bool,
    manual: bool,
    send_last_pipe: bool,
    last_pipe: Option<Key>,
    pending_pipes: VecDeque<Option<Key>>,
    welcome: Option<Bytes>,
    pending: VecDeque<Msg>,
}

impl XPub {
    pub(crate) fn new(is_pub: bool) -> Self {
        Self {
            is_pub,
            lossy: true,
            ..Self::default()
        }
    }

    fn subscription(&mut self, key: Key, subscribe: bool, topic: &[u8]) {
        let notify = if self.manual {
            if subscribe {
                self.manual_subscriptions.add(topic, key);
            } else {
                self.manual_subscriptions.rm(topic, key);
            }
            self.pending_pipes.push_back(Some(key));
            true
        } else if subscribe {
            self.subscriptions.add(topic, key) || self.verbose_subs
        } else {
            self.subscriptions.rm(topic, key) != RmResult::ValuesRemain || self.verbose_unsubs
        };
        // PUB never reads these (libzmq queues them anyway in manual mode; not here).
        if notify && !self.is_pub {
            let mut frame = Vec::with_capacity(topic.len() + 1);
            frame.push(u8::from(subscribe));
            frame.extend_from_slice(topic);
            self.pending.push_back(Msg::single(frame));
        }
    }

    /// libzmq's `send_unsubscription` callback, for a departing peer's topics.
    fn report_unsubscription(&mut self, topic: &Bytes) {
        if self.is_pub {
            return;
        }
        let mut frame = Vec::with_capacity(topic.len() + 1);
        frame.push(0);
        frame.extend_from_slice(topic);
        self.pending.push_back(Msg::single(frame));
        if self.manual {
            self.last_pipe = None;
            self.pending_pipes.push_back(None);
        }
    }
}

impl Behaviour for XPub {
    fn recv_is_stateless(&self) -> bool {
        !self.manual
    }

    fn set_option(&mut self, core: &mut Core, option: PatternOption) -> Result<(), OptionError> {
        match option {
            PatternOption::XPubVerbose(on) => {
                self.verbose_subs = on;
                self.verbose_unsubs = false;
            }
            PatternOption::XPubVerboser(on) => {
                self.verbose_subs = on;
                self.verbose_unsubs = on;
            }
            PatternOption::XPubNoDrop(on) => self.lossy = !on,
            PatternOption::XPubManual(on) => self.manual = on,
            PatternOption::XPubManualLastValue(on) => {
                self.manual = on;
                self.send_last_pipe = on;
            }
            PatternOption::XPubWelcomeMsg(msg) => {
                self.welcome = msg.filter(|m| !m.is_empty());
            }
            PatternOption::Subscribe(topic) if self.manual => {
                if let Some(key) = self.last_pipe {
                    self.subscriptions.add(&topic, key);
                }
            }
            PatternOption::Unsubscribe(topic) if self.manual => {
                if let Some(key) = self.last_pipe {
                    self.subscriptions.rm(&topic, key);
                }
            }
            other => return Err(not_applicable(core.socket_type, &other)),
        }
        Ok(())
    }

    fn attached(&mut self, core: &mut Core, key: Key, _info: &AttachInfo) {
        self.dist.attach(core, key);
        if let Some(welcome) = &self.welcome {
            let _ = core.write(key, Traffic::Message(Msg::single(welcome.clone())));
        }
    }

    fn detached(&mut self, core: &mut Core, key: Key) {
        let mut gone = Vec::new();
        if self.manual {
            self.manual_subscriptions
                .rm_peer(key, false, |t| gone.push(t.clone()));
            self.subscriptions.rm_peer(key, false, |_| {});
            if self.last_pipe == Some(key) {
                self.last_pipe = None;
            }
        } else {
            self.subscriptions
                .rm_peer(key, !self.verbose_unsubs, |t| gone.push(t.clone()));
        }
        for topic in &gone {
            self.report_unsubscription(topic);
        }
        self.dist.remove(core, key);
    }

    fn traffic(&mut self, _core: &mut Core, key: Key, traffic: Traffic) {
        match traffic {
            Traffic::Subscribe(topic) => self.subscription(key, true, &topic),
            Traffic::Cancel(topic) => self.subscription(key, false, &topic),
            Traffic::Message(msg) => {
                let mut upstream = Msg::new();
                for frame in msg.into_frames() {
                    match frame.first() {
                        Some(&flag @ (0 | 1)) => self.subscription(key, flag == 1, &frame[1..]),
                        _ => upstream.push_back(frame),
                    }
                }
                if !upstream.is_empty() && !self.is_pub {
                    self.pending.push_back(upstream);
                }
            }
            Traffic::Join(_) | Traffic::Leave(_) | Traffic::Framed(_) => {}
        }
    }

    fn write_activated(&mut self, core: &mut Core, key: Key) {
        self.dist.activated(core, key);
    }

    fn send(&mut self, core: &mut Core, msg: Msg) -> Result<(), SendError> {
        self.dist.unmatch();
        let topic: &[u8] = msg.first().unwrap_or_default();
        if self.manual && self.send_last_pipe && self.last_pipe.is_some() {
            let last = self.last_pipe.take();
            let (subscriptions, dist) = (&self.subscriptions, &mut self.dist);
            subscriptions.for_each_match(topic, |k| {
                if Some(k) == last {
                    dist.mark(core, k);
                }
            });
        } else {
            let (subscriptions, dist) = (&self.subscriptions, &mut self.dist);
            subscriptions.for_each_match(topic, |k| dist.mark(core, k));
        }
        if core.invert_matching {
            self.dist.reverse_match(core);
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

    fn recv(&mut self, core: &mut Core) -> Result<Msg, RecvError> {
        if self.is_pub {
            return Err(RecvError::NotSupported);
        }
        if self.pending.is_empty() {
            return Err(RecvError::WouldBlock);
        }
        if self.manual {
            if let Some(last) = self.pending_pipes.pop_front() {
                // A peer the distributor no longer knows has gone: no manual subscriptions
                // for it.
                self.last_pipe = last.filter(|&k| self.dist.has_pipe(core, k));
            }
        }
        self.pending.pop_front().ok_or(RecvError::WouldBlock)
    }

    fn is_readable(&self, _core: &Core) -> bool {
        !self.is_pub && !self.pending.is_empty()
    }

    fn refresh_writable(&mut self, _core: &mut Core) -> bool {
        // libzmq's dist_t::has_out is always true, XPUB_NODROP or not.
        true
    }
}
