//! The subscriber-side subscription set (libzmq's `trie_t`): prefixes with reference counts.
//!
//! SUB and XSUB count how often each prefix was subscribed: only the unsubscribe that brings
//! the count to zero is sent upstream, and received messages are filtered against the
//! prefixes whose count is above zero.

use bytes::Bytes;

use crate::prefix_tree::{NodeValue, PrefixTree};

#[derive(Debug, Default)]
struct RefCount(u32);

impl NodeValue for RefCount {
    fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

/// Reference-counted prefix set.
#[derive(Debug, Default)]
pub(crate) struct Trie {
    tree: PrefixTree<RefCount>,
}

impl Trie {
    /// Adds one reference to `prefix`; true when it is new (`trie_t::add`).
    pub(crate) fn add(&mut self, prefix: &[u8]) -> bool {
        let node = self.tree.insert(&Bytes::copy_from_slice(prefix));
        let count = &mut self.tree.value_mut(node).0;
        *count = count.saturating_add(1);
        *count == 1
    }

    /// Drops one reference; true when that was the last (`trie_t::rm`). Removing a prefix
    /// that is not there does nothing and returns false.
    pub(crate) fn rm(&mut self, prefix: &[u8]) -> bool {
        let Some(node) = self.tree.find(prefix) else {
            return false;
        };
        let count = &mut self.tree.value_mut(node).0;
        if *count == 0 {
            return false;
        }
        *count -= 1;
        if *count == 0 {
            self.tree.prune(node);
            true
        } else {
            false
        }
    }

    /// Whether some prefix of `data` is subscribed (`trie_t::check`).
    pub(crate) fn check(&self, data: &[u8]) -> bool {
        let mut found = false;
        self.tree.for_each_prefix_of(data, |count| {
            found = count.0 > 0;
            !found
        });
        found
    }

    /// Every subscribed prefix once, in lexicographic order (`trie_t::apply`).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Bytes)) {
        self.tree.for_each(|key, _| f(key));
    }

    /// Whether nothing is subscribed.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        let mut empty = true;
        self.for_each(|_| empty = false);
        empty
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use quickcheck::{Arbitrary, Gen, QuickCheck};

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Add(Vec<u8>),
        Rm(Vec<u8>),
        Check(Vec<u8>),
    }

    fn small_bytes(g: &mut Gen, max: usize) -> Vec<u8> {
        let len = usize::arbitrary(g) % (max + 1);
        (0..len)
            .map(|_| *g.choose(b"ab").unwrap_or(&b'a'))
            .collect()
    }

    impl Arbitrary for Op {
        fn arbitrary(g: &mut Gen) -> Self {
            match u8::arbitrary(g) % 3 {
                0 => Self::Add(small_bytes(g, 4)),
                1 => Self::Rm(small_bytes(g, 4)),
                _ => Self::Check(small_bytes(g, 6)),
            }
        }
    }

    fn run(ops: Vec<Op>) -> bool {
        let mut real = Trie::default();
        let mut model: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
        for op in ops {
            let ok = match op {
                Op::Add(p) => {
                    let c = model.entry(p.clone()).or_insert(0);
                    *c += 1;
                    real.add(&p) == (*c == 1)
                }
                Op::Rm(p) => {
                    let expected = match model.get_mut(&p) {
                        Some(c) => {
                            *c -= 1;
                            if *c == 0 {
                                model.remove(&p);
                                true
                            } else {
                                false
                            }
                        }
                        None => false,
                    };
                    real.rm(&p) == expected
                }
                Op::Check(d) => real.check(&d) == model.keys().any(|p| d.starts_with(p)),
            };
            let mut listed = Vec::new();
            real.for_each(|k| listed.push(k.to_vec()));
            let expected: Vec<Vec<u8>> = model.keys().cloned().collect();
            if !ok || listed != expected {
                return false;
            }
        }
        true
    }

    #[test]
    fn trie_refcounts_agree_with_a_naive_model() {
        QuickCheck::new()
            .tests(500)
            .rng(Gen::new(60))
            .quickcheck(run as fn(Vec<Op>) -> bool);
    }

    #[test]
    fn empty_prefix_matches_everything() {
        let mut t = Trie::default();
        assert!(!t.check(b"anything"));
        assert!(t.add(b""));
        assert!(t.check(b"anything"));
        assert!(t.check(b""));
        assert!(t.rm(b""));
        assert!(t.is_empty());
    }
}
