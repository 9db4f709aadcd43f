//! A node's pipes: created with the lowest free id (as the facade's slab does), and
//! detached for good with their connection.

use patterns::{AttachInfo, PeerId};

use super::{Closing, Node, PeerSlot};
use crate::config::LinkId;
use crate::net::Net;
use crate::trace::{CloseCause, TraceEvent};

impl Node {
    /// Creates a pipe for `link` (the lowest free id, as the facade's slab does).
    pub(super) fn attach(
        &mut self,
        link: LinkId,
        locally_initiated: bool,
        net: &mut Net,
    ) -> PeerId {
        let peer = PeerId(
            (0..)
                .find(|i| !self.peers.contains_key(&PeerId(*i)))
                .unwrap_or(0),
        );
        self.peers.insert(
            peer,
            PeerSlot {
                link,
                conn: None,
                tx_wanted: false,
            },
        );
        self.pattern.handle_peer_attached(
            net.now,
            peer,
            AttachInfo {
                locally_initiated,
                connect_routing_id: None,
                packs_frames: self.config.packs_frames,
            },
        );
        self.trace(net, || TraceEvent::Attached {
            node: self.id,
            peer,
            link,
            locally_initiated,
        });
        self.drain_actions(net);
        peer
    }

    /// The pipe is gone for good: tell the machine, close its connection.
    pub(super) fn detach(&mut self, peer: PeerId, cause: CloseCause, net: &mut Net) {
        let Some(slot) = self.peers.remove(&peer) else {
            return;
        };
        self.pattern.handle_peer_detached(net.now, peer);
        self.trace(net, || TraceEvent::Detached {
            node: self.id,
            peer,
        });
        if let Some(c) = self.connecters.get_mut(&slot.link) {
            if c.peer == Some(peer) {
                c.peer = None;
            }
        }
        if let Some(id) = slot.conn {
            if let Some(conn) = self.conns.get_mut(&id) {
                conn.peer = None;
                conn.ready = false;
            }
            self.close(id, cause, Closing::Graceful, net);
        }
        self.drain_actions(net);
    }
}
