//! The machine's map from the driver's peer ids to its pipe keys, consulted for every message
//! delivered: a vector indexed by the id for the small dense ids drivers use (the facade's
//! slab indices), a hash map for any other id.

use crate::api::PeerId;
use crate::core::Key;
use crate::hash::IntMap;

/// Ids below this are looked up by index (at most this many slots, 16 octets each).
const DENSE: usize = 1 << 16;

#[derive(Debug, Default)]
pub(crate) struct PeerIndex {
    dense: Vec<Option<Key>>,
    sparse: IntMap<PeerId, Key>,
}

impl PeerIndex {
    /// The pipe of `peer`, if the machine knows it.
    pub(crate) fn get(&self, peer: PeerId) -> Option<Key> {
        if peer.0 < DENSE {
            self.dense.get(peer.0).copied().flatten()
        } else {
            self.sparse.get(&peer).copied()
        }
    }

    pub(crate) fn insert(&mut self, peer: PeerId, key: Key) {
        if peer.0 < DENSE {
            if self.dense.len() <= peer.0 {
                self.dense.resize(peer.0 + 1, None);
            }
            if let Some(slot) = self.dense.get_mut(peer.0) {
                *slot = Some(key);
            }
        } else {
            self.sparse.insert(peer, key);
        }
    }

    /// Forgets `peer` if it still names `key` (a reattached id may name a newer pipe).
    pub(crate) fn remove_if(&mut self, peer: PeerId, key: Key) {
        if peer.0 < DENSE {
            if let Some(slot) = self.dense.get_mut(peer.0)
                && *slot == Some(key)
            {
                *slot = None;
            }
        } else if self.sparse.get(&peer) == Some(&key) {
            self.sparse.remove(&peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_ids_map_to_their_keys_and_are_forgotten() {
        let mut index = PeerIndex::default();
        let far = PeerId(usize::MAX - 3);
        index.insert(PeerId(7), 1);
        index.insert(far, 2);
        assert_eq!(index.get(PeerId(7)), Some(1));
        assert_eq!(index.get(far), Some(2));
        assert_eq!(
            index.get(PeerId(6)),
            None,
            "a slot below a known id is empty"
        );
        assert_eq!(index.get(PeerId(8)), None, "beyond the vector");
        assert_eq!(index.get(PeerId(DENSE)), None);
        index.remove_if(PeerId(7), 1);
        index.remove_if(far, 2);
        assert_eq!(index.get(PeerId(7)), None);
        assert_eq!(index.get(far), None);
    }

    #[test]
    fn an_id_reattached_to_a_newer_pipe_is_not_forgotten_by_the_older_one() {
        let mut index = PeerIndex::default();
        for peer in [PeerId(3), PeerId(DENSE + 3)] {
            index.insert(peer, 10);
            index.insert(peer, 11);
            index.remove_if(peer, 10);
            assert_eq!(index.get(peer), Some(11), "{peer:?}");
        }
    }
}
