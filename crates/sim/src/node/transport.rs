//! A node's transport connections: opening them, taking in what the link delivers, and
//! ending them — with what each ending means for the machine's pipe (kept and
//! `handle_peer_disconnected` on a connecting node, detached otherwise).

use bytes::BytesMut;
use patterns::PeerId;
use zmtp_proto::{RngSeed, Session, TxBuf};

use super::{Closing, Conn, Node};
use crate::config::{ConnId, End, LinkId};
use crate::net::{Flight, Net, Payload};
use crate::trace::{CloseCause, TraceEvent};

impl Node {
    pub(super) fn start_attempt(&mut self, link: LinkId, net: &mut Net) {
        let attempt = net.open(link);
        let now = net.now;
        let ivl = self.config.reconnect_ivl;
        let timeout = self.config.connect_timeout;
        if let Some(c) = self.connecters.get_mut(&link) {
            c.attempt = attempt;
            c.attempt_deadline = attempt.map(|_| now + timeout);
            if attempt.is_none() {
                c.reconnect_at = ivl.map(|d| now + d);
            }
        }
    }

    /// A chunk arrived for this node.
    pub(crate) fn deliver(&mut self, flight: Flight, net: &mut Net) {
        self.deadline.set(None);
        let id = flight.conn;
        match flight.payload {
            Payload::Syn => {
                let conn = self.new_conn(End::Binder, None, net);
                self.conns.insert(id, conn);
                self.trace(net, || TraceEvent::Established {
                    node: self.id,
                    conn: id,
                    end: End::Binder,
                });
                net.send_control(id, End::Connecter, Payload::SynAck);
            }
            Payload::SynAck => {
                let Some(c) = self.connecters.get(&id.link) else {
                    return;
                };
                if c.attempt != Some(id) {
                    return;
                }
                let peer = c.peer;
                if let Some(c) = self.connecters.get_mut(&id.link) {
                    c.attempt_deadline = None;
                }
                let conn = self.new_conn(End::Connecter, peer, net);
                self.conns.insert(id, conn);
                if let Some(slot) = peer.and_then(|p| self.peers.get_mut(&p)) {
                    slot.conn = Some(id);
                }
                self.trace(net, || TraceEvent::Established {
                    node: self.id,
                    conn: id,
                    end: End::Connecter,
                });
                net.plan_fault(id);
            }
            Payload::Data(bytes) => {
                if let Some(conn) = self.conns.get_mut(&id) {
                    conn.unread.extend_from_slice(&bytes);
                }
            }
            Payload::Fin => {
                if let Some(conn) = self.conns.get_mut(&id) {
                    conn.fin = true;
                }
            }
        }
    }

    pub(super) fn new_conn(&mut self, end: End, peer: Option<PeerId>, net: &Net) -> Conn {
        let mut config = self.config.session.clone();
        if config.rng_seed.is_some() {
            // CURVE: a fresh seed per connection, as from the operating system's RNG.
            let mut seed = [0u8; 32];
            for chunk in seed.chunks_mut(8) {
                chunk.copy_from_slice(&self.rng.next_u64().to_le_bytes());
            }
            config.rng_seed = Some(RngSeed::new(seed));
        }
        Conn {
            end,
            session: Session::new(net.now, config),
            rx: BytesMut::new(),
            unread: BytesMut::new(),
            tx: TxBuf::new(),
            peer,
            ready: false,
            rx_blocked: false,
            fin: false,
        }
    }

    /// The link was reset: every connection over it ends here at once, an attempt in
    /// progress fails.
    pub(crate) fn reset_link(&mut self, link: LinkId, net: &mut Net) {
        self.deadline.set(None);
        let ids: Vec<ConnId> = self
            .conns
            .keys()
            .filter(|c| c.link == link)
            .copied()
            .collect();
        for id in ids {
            self.close(id, CloseCause::Reset, Closing::Abrupt, net);
        }
        let now = net.now;
        let ivl = self.config.reconnect_ivl;
        if let Some(c) = self.connecters.get_mut(&link) {
            if c.attempt.is_some() {
                c.attempt = None;
                c.attempt_deadline = None;
                c.reconnect_at = ivl.map(|d| now + d);
            }
        }
    }

    /// Ends a connection at this end and tells the machine what that means for its pipe.
    pub(super) fn close(&mut self, id: ConnId, cause: CloseCause, closing: Closing, net: &mut Net) {
        let Some(mut conn) = self.conns.remove(&id) else {
            return;
        };
        let now = net.now;
        let other = conn.end.other();
        if closing == Closing::Graceful {
            conn.session.poll_transmit(now, &mut conn.tx);
            net.write(id, other, &mut conn.tx);
            net.send_control(id, other, Payload::Fin);
        }
        net.close_stream(id, conn.end);
        self.trace(net, || TraceEvent::Closed {
            node: self.id,
            conn: id,
            cause: cause.clone(),
        });
        if let Some(peer) = conn.peer {
            let kept = conn.end == End::Connecter
                && !self.config.immediate
                && self
                    .connecters
                    .get(&id.link)
                    .is_some_and(|c| c.peer == Some(peer));
            if let Some(slot) = self.peers.get_mut(&peer) {
                slot.conn = None;
                // As the facade does: pull again as soon as a connection is back.
                slot.tx_wanted = kept;
            }
            if kept {
                if conn.ready {
                    self.pattern.handle_peer_disconnected(now, peer);
                    self.trace(net, || TraceEvent::Disconnected {
                        node: self.id,
                        peer,
                    });
                }
            } else {
                self.detach(peer, cause, net);
            }
        }
        if conn.end == End::Connecter {
            let ivl = self.config.reconnect_ivl;
            if let Some(c) = self.connecters.get_mut(&id.link) {
                if c.attempt == Some(id) {
                    c.attempt = None;
                    c.reconnect_at = ivl.map(|d| now + d);
                }
            }
        }
        self.drain_actions(net);
    }
}
