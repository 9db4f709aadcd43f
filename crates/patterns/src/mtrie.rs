//! XPUB's subscription matcher (libzmq's `mtrie_t`): which peers subscribed to which prefixes.
//!
//! Each prefix holds the set of peers subscribed to it. As in libzmq a peer subscribing twice
//! to the same prefix is recorded once (the set ignores the duplicate) and one unsubscribe
//! removes it. A per-peer index of prefixes makes removing a departing peer cost its own
//! subscriptions only, instead of a walk over the whole trie, and yields them in libzmq's
//! order (lexicographic, as its pre-order walk).

use std::collections::BTreeSet;

use bytes::Bytes;
use smallvec::SmallVec;

use crate::core::Key;
use crate::hash::IntMap;
use crate::prefix_tree::{NodeValue, PrefixTree};

/// The peers subscribed to one prefix.
#[derive(Debug, Default)]
struct Subscribers(SmallVec<[Key; 2]>);

impl NodeValue for Subscribers {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What removing one subscription did (libzmq's `mtrie_t::rm_result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RmResult {
    /// The peer was not subscribed to that prefix.
    NotFound,
    /// The peer was the last subscriber of that prefix.
    LastValueRemoved,
    /// Other peers still subscribe to that prefix.
    ValuesRemain,
}

/// Prefix → subscribed peers, with exact-prefix add/remove and prefix matching.
#[derive(Debug, Default)]
pub(crate) struct Mtrie {
    tree: PrefixTree<Subscribers>,
    by_peer: IntMap<Key, BTreeSet<Bytes>>,
    prefixes: usize,
}

impl Mtrie {
    /// Subscribes `peer` to `prefix`; true when nobody had subscribed to it before.
    pub(crate) fn add(&mut self, prefix: &[u8], peer: Key) -> bool {
        let prefix = Bytes::copy_from_slice(prefix);
        let node = self.tree.insert(&prefix);
        let subs = &mut self.tree.value_mut(node).0;
        let first = subs.is_empty();
        if !subs.contains(&peer) {
            subs.push(peer);
            self.by_peer.entry(peer).or_default().insert(prefix);
        }
        if first {
            self.prefixes += 1;
        }
        first
    }

    /// Unsubscribes `peer` from `prefix`.
    pub(crate) fn rm(&mut self, prefix: &[u8], peer: Key) -> RmResult {
        let Some(node) = self.tree.find(prefix) else {
            return RmResult::NotFound;
        };
        let subs = &mut self.tree.value_mut(node).0;
        let Some(i) = subs.iter().position(|&k| k == peer) else {
            return RmResult::NotFound;
        };
        subs.swap_remove(i);
        let now_empty = subs.is_empty();
        if let Some(set) = self.by_peer.get_mut(&peer) {
            set.remove(prefix);
            if set.is_empty() {
                self.by_peer.remove(&peer);
            }
        }
        if now_empty {
            self.tree.prune(node);
            self.prefixes -= 1;
            RmResult::LastValueRemoved
        } else {
            RmResult::ValuesRemain
        }
    }

    /// Removes every subscription of `peer`, calling `f` with each prefix removed (only those
    /// left without subscribers when `only_unique`), in lexicographic order.
    pub(crate) fn rm_peer(&mut self, peer: Key, only_unique: bool, mut f: impl FnMut(&Bytes)) {
        let Some(prefixes) = self.by_peer.remove(&peer) else {
            return;
        };
        for prefix in &prefixes {
            let Some(node) = self.tree.find(prefix) else {
                continue;
            };
            let subs = &mut self.tree.value_mut(node).0;
            if let Some(i) = subs.iter().position(|&k| k == peer) {
                subs.swap_remove(i);
            }
            let now_empty = subs.is_empty();
            if !only_unique || now_empty {
                f(prefix);
            }
            if now_empty {
                self.tree.prune(node);
                self.prefixes -= 1;
            }
        }
    }

    /// Calls `f` for each peer subscribed to a prefix of `data` (a peer may come more than
    /// once, through different prefixes).
    pub(crate) fn for_each_match(&self, data: &[u8], mut f: impl FnMut(Key)) {
        self.tree.for_each_prefix_of(data, |subs| {
            for &k in &subs.0 {
                f(k);
            }
            true
        });
    }

    /// Number of distinct prefixes with at least one subscriber (ZMQ_TOPICS_COUNT).
    #[cfg(test)]
    pub(crate) fn num_prefixes(&self) -> usize {
        self.prefixes
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use quickcheck::{Arbitrary, Gen, QuickCheck};

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Add(Vec<u8>, Key),
        Rm(Vec<u8>, Key),
        RmPeer(Key, bool),
        Match(Vec<u8>),
    }

    fn small_bytes(g: &mut Gen, max: usize) -> Vec<u8> {
        let len = usize::arbitrary(g) % (max + 1);
        (0..len)
            .map(|_| *g.choose(b"abc").unwrap_or(&b'a'))
            .collect()
    }

    impl Arbitrary for Op {
        fn arbitrary(g: &mut Gen) -> Self {
            let peer = usize::arbitrary(g) % 4;
            match u8::arbitrary(g) % 7 {
                0..=2 => Self::Add(small_bytes(g, 4), peer),
                3 | 4 => Self::Rm(small_bytes(g, 4), peer),
                5 => Self::RmPeer(peer, bool::arbitrary(g)),
                _ => Self::Match(small_bytes(g, 6)),
            }
        }
    }

    /// The obvious model: a map from prefix to the set of subscribers.
    #[derive(Default)]
    struct Model(BTreeMap<Vec<u8>, BTreeSet<Key>>);

    fn run(ops: Vec<Op>) -> bool {
        let mut real = Mtrie::default();
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Add(p, k) => {
                    let set = model.0.entry(p.clone()).or_default();
                    let first = set.is_empty();
                    set.insert(k);
                    if real.add(&p, k) != first {
                        return false;
                    }
                }
                Op::Rm(p, k) => {
                    let removed = model.0.get_mut(&p).is_some_and(|set| set.remove(&k));
                    let expected = if !removed {
                        RmResult::NotFound
                    } else if model.0.get(&p).is_some_and(BTreeSet::is_empty) {
                        model.0.remove(&p);
                        RmResult::LastValueRemoved
                    } else {
                        RmResult::ValuesRemain
                    };
                    if real.rm(&p, k) != expected {
                        return false;
                    }
                }
                Op::RmPeer(k, only_unique) => {
                    let mut expected = Vec::new();
                    model.0.retain(|p, set| {
                        if set.remove(&k) && (!only_unique || set.is_empty()) {
                            expected.push(p.clone());
                        }
                        !set.is_empty()
                    });
                    let mut got = Vec::new();
                    real.rm_peer(k, only_unique, |p| got.push(p.to_vec()));
                    if got != expected {
                        return false;
                    }
                }
                Op::Match(data) => {
                    let expected: BTreeSet<Key> = model
                        .0
                        .iter()
                        .filter(|(p, _)| data.starts_with(p))
                        .flat_map(|(_, s)| s.iter().copied())
                        .collect();
                    let mut got = BTreeSet::new();
                    real.for_each_match(&data, |k| {
                        got.insert(k);
                    });
                    if got != expected {
                        return false;
                    }
                }
            }
            if real.num_prefixes() != model.0.len() {
                return false;
            }
        }
        true
    }

    #[test]
    fn mtrie_agrees_with_a_naive_model() {
        QuickCheck::new()
            .tests(500)
            .rng(Gen::new(60))
            .quickcheck(run as fn(Vec<Op>) -> bool);
    }

    #[test]
    fn mtrie_handles_64k_prefixes_without_one_node_per_octet() {
        let mut m = Mtrie::default();
        let long = vec![b'x'; 65_536];
        assert!(m.add(&long, 1));
        assert!(m.add(&long[..32_768], 2));
        assert!(m.tree.node_count() <= 3, "root, a split node and a leaf");
        let mut hits = Vec::new();
        m.for_each_match(&long, |k| hits.push(k));
        hits.sort_unstable();
        assert_eq!(hits, vec![1, 2]);
        assert_eq!(m.rm(&long, 1), RmResult::LastValueRemoved);
        assert_eq!(m.rm(&long, 1), RmResult::NotFound);
        assert_eq!(m.tree.node_count(), 2, "pruned back to root and one leaf");
    }
}
