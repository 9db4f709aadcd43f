//! The drive loop of one node: decode and deliver what connections received (while the
//! machine has room), pull and encode what the machine has for each peer, act on the
//! machine's actions.

use patterns::{Action, PeerInfo};
use zmtp_proto::{AuthResult, Handshake, SessionEvent, Traffic};

use super::{Closing, Node};
use crate::config::{ConnId, End, RecvPolicy};
use crate::net::Net;
use crate::trace::{CloseCause, TraceEvent};

impl Node {
    /// Does everything that can be done now without time passing: decode and deliver, pull
    /// and write, read for an eager application. True if anything moved.
    pub(crate) fn service(&mut self, net: &mut Net) -> bool {
        self.deadline.set(None);
        let mut progress = false;
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            progress |= self.input(id, net);
            progress |= self.output(id, net);
        }
        if self.config.recv == RecvPolicy::Eager {
            progress |= self.app_read(usize::MAX, net) > 0;
        }
        progress
    }

    /// Decodes and delivers what the connection received, as far as the machine takes it.
    pub(super) fn input(&mut self, id: ConnId, net: &mut Net) -> bool {
        let mut progress = false;
        loop {
            let now = net.now;
            let Some(conn) = self.conns.get_mut(&id) else {
                return progress;
            };
            if conn.rx_blocked {
                break;
            }
            if let Some(peer) = conn.peer.filter(|_| conn.ready) {
                if !self.pattern.can_receive_from(peer) {
                    conn.rx_blocked = true;
                    break;
                }
            }
            let before = conn.rx.len();
            let result = conn.session.poll_event(now, &mut conn.rx);
            progress |= conn.rx.len() < before;
            match result {
                Ok(None) if conn.unread.is_empty() => break,
                Ok(None) => {
                    // Read everything the socket holds.
                    let read = conn.unread.split();
                    net.consumed(id, conn.end, read.len());
                    conn.rx.unsplit(read);
                    progress = true;
                }
                Ok(Some(SessionEvent::Ready(handshake))) => {
                    progress = true;
                    self.on_ready(id, handshake, net);
                }
                Ok(Some(SessionEvent::Traffic(traffic))) => {
                    progress = true;
                    self.on_traffic(id, traffic, net);
                }
                Ok(Some(SessionEvent::Authenticate(request))) => {
                    // No ZAP handler: accept everyone, as libzmq 4.3 does.
                    let user_id = request.username.unwrap_or_default();
                    conn.session.handle_auth(now, AuthResult::Allow { user_id });
                    progress = true;
                }
                Err(e) => {
                    self.close(id, CloseCause::Session(e), Closing::Graceful, net);
                    return true;
                }
            }
        }
        if self.conns.get(&id).is_some_and(|c| c.fin && !c.rx_blocked) {
            self.close(id, CloseCause::PeerClosed, Closing::Abrupt, net);
            progress = true;
        }
        progress
    }

    pub(super) fn on_traffic(&mut self, id: ConnId, traffic: Traffic, net: &mut Net) {
        let Some(peer) = self.conns.get(&id).and_then(|c| c.peer) else {
            return;
        };
        if net.tracer.is_enabled() {
            let traffic = traffic.clone();
            self.trace(net, || TraceEvent::TrafficIn {
                node: self.id,
                conn: id,
                peer,
                traffic,
            });
        }
        self.pattern.handle_traffic(net.now, peer, traffic);
        self.drain_actions(net);
    }

    pub(super) fn on_ready(&mut self, id: ConnId, handshake: Handshake, net: &mut Net) {
        let Some(end) = self.conns.get(&id).map(|c| c.end) else {
            return;
        };
        let link = id.link;
        let peer = match end {
            End::Connecter => match self.connecters.get(&link).and_then(|c| c.peer) {
                Some(peer) => peer,
                None => {
                    let peer = self.attach(link, true, net);
                    if !self.config.immediate {
                        if let Some(c) = self.connecters.get_mut(&link) {
                            c.peer = Some(peer);
                        }
                    }
                    peer
                }
            },
            End::Binder => self.attach(link, false, net),
        };
        if let Some(slot) = self.peers.get_mut(&peer) {
            slot.conn = Some(id);
            slot.tx_wanted = true;
        }
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.peer = Some(peer);
            conn.ready = true;
        }
        let info = PeerInfo {
            socket_type: handshake.socket_type,
            routing_id: handshake.routing_id,
        };
        match self.pattern.handle_peer_connected(net.now, peer, info) {
            Ok(()) => self.trace(net, || TraceEvent::Connected {
                node: self.id,
                conn: id,
                peer,
            }),
            Err(error) => {
                self.trace(net, || TraceEvent::Refused {
                    node: self.id,
                    conn: id,
                    peer,
                    error,
                });
                if let Some(conn) = self.conns.get_mut(&id) {
                    conn.peer = None;
                    conn.ready = false;
                }
                if let Some(slot) = self.peers.get_mut(&peer) {
                    slot.conn = None;
                }
                self.detach(peer, CloseCause::Refused(error), net);
                self.close(id, CloseCause::Refused(error), Closing::Graceful, net);
            }
        }
        self.drain_actions(net);
    }

    /// Pulls the machine's traffic for the connection's peer and writes what the window
    /// allows.
    pub(super) fn output(&mut self, id: ConnId, net: &mut Net) -> bool {
        let now = net.now;
        let Some(conn) = self.conns.get_mut(&id) else {
            return false;
        };
        conn.session.poll_transmit(now, &mut conn.tx);
        let mut pulled = false;
        if let Some(peer) = conn.peer.filter(|_| conn.ready && !conn.fin) {
            if self.peers.get(&peer).is_some_and(|s| s.tx_wanted) {
                while conn.tx.len() < self.config.tx_batch {
                    let Some(traffic) = self.pattern.poll_transmit(peer) else {
                        if let Some(slot) = self.peers.get_mut(&peer) {
                            slot.tx_wanted = false;
                        }
                        break;
                    };
                    pulled = true;
                    if net.tracer.is_enabled() {
                        let at = net.elapsed();
                        let node = self.id;
                        // A packed buffer is traced as the messages it holds, one by one.
                        let items: Vec<Traffic> = match &traffic {
                            Traffic::Framed(framed) => framed
                                .clone()
                                .into_messages()
                                .map(Traffic::Message)
                                .collect(),
                            other => vec![other.clone()],
                        };
                        for traffic in items {
                            net.tracer.record(at, || TraceEvent::TrafficOut {
                                node,
                                conn: id,
                                peer,
                                traffic,
                            });
                        }
                    }
                    // Only refused before the handshake, and `ready` was checked.
                    let _ = conn.session.send(traffic, &mut conn.tx);
                }
            }
        }
        let written = net.write(id, conn.end.other(), &mut conn.tx);
        if pulled {
            self.drain_actions(net);
        }
        pulled || written > 0
    }

    /// Acts on everything the machine asks for.
    pub(super) fn drain_actions(&mut self, net: &mut Net) {
        while let Some(action) = self.pattern.poll_action() {
            match action {
                Action::Transmit { peer } => {
                    if let Some(slot) = self.peers.get_mut(&peer) {
                        slot.tx_wanted = true;
                    }
                }
                Action::ResumeReceive { peer } => {
                    let conn = self.peers.get(&peer).and_then(|s| s.conn);
                    if let Some(conn) = conn.and_then(|c| self.conns.get_mut(&c)) {
                        conn.rx_blocked = false;
                    }
                }
                Action::Detach { peer, .. } => self.detach(peer, CloseCause::Detached, net),
                _ => {}
            }
        }
    }
}
