//! A compressed (radix) trie over byte strings, the storage behind both subscription matchers.
//!
//! libzmq uses one node per octet and, in older versions, recursion per octet. Here each node
//! holds its whole key (a `Bytes` that shares the subscription's buffer), edges are labelled by
//! the slice between a parent's key and a child's, and children are kept sorted by their first
//! label octet. Every operation is a loop: nothing recurses, whatever a peer sends.
//!
//! * matching walks down the data once: O(length of the longest matching subscription) octet
//!   comparisons plus a binary search per level;
//! * inserting splits at most one edge; removing prunes an emptied leaf and merges at most one
//!   single-child node, so the tree stays compressed.

use bytes::Bytes;
use slab::Slab;
use smallvec::SmallVec;

/// What a node stores; a node whose value is empty and that has at most one child goes away.
pub(crate) trait NodeValue: Default {
    fn is_empty(&self) -> bool;
}

#[derive(Debug)]
struct Node<V> {
    /// The node's whole prefix.
    key: Bytes,
    parent: usize,
    /// (first octet of the edge label, child), sorted by octet.
    children: SmallVec<[(u8, usize); 4]>,
    value: V,
}

const ROOT: usize = 0;

/// Radix trie mapping byte-string prefixes to values.
#[derive(Debug)]
pub(crate) struct PrefixTree<V> {
    nodes: Slab<Node<V>>,
}

impl<V: NodeValue> Default for PrefixTree<V> {
    fn default() -> Self {
        let mut nodes = Slab::new();
        let root = nodes.insert(Node {
            key: Bytes::new(),
            parent: ROOT,
            children: SmallVec::new(),
            value: V::default(),
        });
        debug_assert_eq!(root, ROOT);
        Self { nodes }
    }
}

fn common_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl<V: NodeValue> PrefixTree<V> {
    fn child(&self, node: usize, octet: u8) -> Option<usize> {
        let children = &self.nodes[node].children;
        children
            .binary_search_by_key(&octet, |&(b, _)| b)
            .ok()
            .map(|i| children[i].1)
    }

    fn add_child(&mut self, parent: usize, octet: u8, child: usize) {
        let children = &mut self.nodes[parent].children;
        match children.binary_search_by_key(&octet, |&(b, _)| b) {
            Ok(i) => children[i].1 = child,
            Err(i) => children.insert(i, (octet, child)),
        }
    }

    fn remove_child(&mut self, parent: usize, octet: u8) {
        let children = &mut self.nodes[parent].children;
        if let Ok(i) = children.binary_search_by_key(&octet, |&(b, _)| b) {
            children.remove(i);
        }
    }

    /// The node whose key is exactly `prefix`, if any.
    pub(crate) fn find(&self, prefix: &[u8]) -> Option<usize> {
        let mut node = ROOT;
        loop {
            let depth = self.nodes[node].key.len();
            if depth == prefix.len() {
                return Some(node);
            }
            let child = self.child(node, prefix[depth])?;
            let key = &self.nodes[child].key;
            if key.len() > prefix.len() || key[depth..] != prefix[depth..key.len()] {
                return None;
            }
            node = child;
        }
    }

    /// The node for `prefix`, created (with an empty value) if needed. `prefix` is stored as
    /// given, so pass an owned copy rather than a slice of a large receive buffer.
    pub(crate) fn insert(&mut self, prefix: &Bytes) -> usize {
        let mut node = ROOT;
        loop {
            let depth = self.nodes[node].key.len();
            if depth == prefix.len() {
                return node;
            }
            let octet = prefix[depth];
            let Some(child) = self.child(node, octet) else {
                let leaf = self.nodes.insert(Node {
                    key: prefix.clone(),
                    parent: node,
                    children: SmallVec::new(),
                    value: V::default(),
                });
                self.add_child(node, octet, leaf);
                return leaf;
            };
            let child_key = self.nodes[child].key.clone();
            let common = depth + common_len(&child_key[depth..], &prefix[depth..]);
            if common == child_key.len() {
                node = child;
                continue;
            }
            // Split the edge: a middle node holding the common part.
            let middle = self.nodes.insert(Node {
                key: child_key.slice(..common),
                parent: node,
                children: SmallVec::new(),
                value: V::default(),
            });
            self.add_child(node, octet, middle);
            self.nodes[child].parent = middle;
            self.add_child(middle, child_key[common], child);
            if common == prefix.len() {
                return middle;
            }
            let leaf = self.nodes.insert(Node {
                key: prefix.clone(),
                parent: middle,
                children: SmallVec::new(),
                value: V::default(),
            });
            self.add_child(middle, prefix[common], leaf);
            return leaf;
        }
    }

    pub(crate) fn value_mut(&mut self, node: usize) -> &mut V {
        &mut self.nodes[node].value
    }

    /// Removes `node` if its value is empty and it is redundant, then whatever that made
    /// redundant above it. Call after emptying a value.
    pub(crate) fn prune(&mut self, node: usize) {
        let mut node = node;
        while node != ROOT && self.nodes[node].value.is_empty() {
            let parent = self.nodes[node].parent;
            let octet = self.nodes[node].key[self.nodes[parent].key.len()];
            match self.nodes[node].children.len() {
                0 => {
                    self.remove_child(parent, octet);
                    self.nodes.remove(node);
                    node = parent;
                }
                1 => {
                    // Merge: the only child hangs from the parent directly (keys are whole
                    // prefixes, so nothing needs rewriting).
                    let only = self.nodes[node].children[0].1;
                    self.nodes[only].parent = parent;
                    self.add_child(parent, octet, only);
                    self.nodes.remove(node);
                    return;
                }
                _ => return,
            }
        }
    }

    /// Calls `f` on the value of every node whose key is a prefix of `data`, shortest first,
    /// until `f` returns false.
    pub(crate) fn for_each_prefix_of(&self, data: &[u8], mut f: impl FnMut(&V) -> bool) {
        let mut node = ROOT;
        loop {
            let n = &self.nodes[node];
            if !f(&n.value) {
                return;
            }
            let depth = n.key.len();
            if depth == data.len() {
                return;
            }
            let Some(child) = self.child(node, data[depth]) else {
                return;
            };
            let key = &self.nodes[child].key;
            if key.len() > data.len() || key[depth..] != data[depth..key.len()] {
                return;
            }
            node = child;
        }
    }

    /// Calls `f` on every node with a non-empty value, in lexicographic order of keys
    /// (libzmq's pre-order walk of its trie).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Bytes, &V)) {
        let mut stack: Vec<usize> = vec![ROOT];
        while let Some(node) = stack.pop() {
            let n = &self.nodes[node];
            if !n.value.is_empty() {
                f(&n.key, &n.value);
            }
            stack.extend(n.children.iter().rev().map(|&(_, c)| c));
        }
    }

    /// Number of nodes (for tests of compression).
    #[cfg(test)]
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }
}
