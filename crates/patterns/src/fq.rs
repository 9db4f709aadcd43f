//! Fair-queueing over the peers' inbound queues (libzmq's `fq_t`).
//!
//! The pipes sit in one array whose first `active` entries may hold messages. Receiving reads
//! one whole message from the pipe at `current` and moves on to the next, so every peer with
//! queued input gets one turn per round however much it has queued; a pipe found empty is
//! swapped out of the active part, and swapped back in when a message arrives. The swaps are
//! libzmq's, so the order of service matches libzmq's exactly. Every step is O(1).

use slab::Slab;
use zmtp_proto::Msg;

use crate::core::Key;
use crate::pipe::{NO_POS, Pipe};

/// libzmq's `fq_t` over pipe keys; positions are kept in [`Pipe::fq_pos`].
#[derive(Debug, Default)]
pub(crate) struct FairQueue {
    pipes: Vec<Key>,
    active: usize,
    current: usize,
}

impl FairQueue {
    fn swap(&mut self, pipes: &mut Slab<Pipe>, i: usize, j: usize) {
        if i == j {
            return;
        }
        self.pipes.swap(i, j);
        pipes[self.pipes[i]].fq_pos = i;
        pipes[self.pipes[j]].fq_pos = j;
    }

    /// Adds a pipe, active at once (`fq_t::attach`).
    pub(crate) fn attach(&mut self, pipes: &mut Slab<Pipe>, key: Key) {
        if pipes[key].fq_pos != NO_POS {
            return;
        }
        let last = self.pipes.len();
        self.pipes.push(key);
        pipes[key].fq_pos = last;
        self.swap(pipes, self.active, last);
        self.active += 1;
        pipes[key].in_active = true;
    }

    /// The pipe has messages again (`fq_t::activated`).
    pub(crate) fn activated(&mut self, pipes: &mut Slab<Pipe>, key: Key) {
        let pos = pipes[key].fq_pos;
        if pos == NO_POS || pos < self.active {
            return;
        }
        self.swap(pipes, pos, self.active);
        self.active += 1;
        pipes[key].in_active = true;
    }

    /// Removes a pipe (`fq_t::pipe_terminated`).
    pub(crate) fn remove(&mut self, pipes: &mut Slab<Pipe>, key: Key) {
        let pos = pipes[key].fq_pos;
        if pos == NO_POS {
            return;
        }
        let mut index = pos;
        if index < self.active {
            self.active -= 1;
            self.swap(pipes, index, self.active);
            index = self.active;
            if self.current == self.active {
                self.current = 0;
            }
        }
        // array_t::erase: the last entry takes the hole.
        let last = self.pipes.len() - 1;
        self.swap(pipes, index, last);
        self.pipes.pop();
        pipes[key].fq_pos = NO_POS;
        pipes[key].in_active = false;
    }

    /// The pipe whose turn it is when it is the only one that may hold messages: reading
    /// many from it in a row is then what as many [`FairQueue::recvpipe`] calls would do.
    pub(crate) fn sole_active(&self) -> Option<Key> {
        (self.active == 1).then(|| self.pipes[0])
    }

    /// Reads one message round-robin (`fq_t::recvpipe`): the pipe's key, the message, and
    /// whether the read reopened the pipe's connection for reading.
    #[inline]
    pub(crate) fn recvpipe(&mut self, pipes: &mut Slab<Pipe>) -> Option<(Key, Msg, bool)> {
        while self.active > 0 {
            let key = self.pipes[self.current];
            if let Some((msg, resumed)) = pipes[key].pop_in() {
                // The next one, wrapping, without a division.
                self.current += 1;
                if self.current >= self.active {
                    self.current = 0;
                }
                return Some((key, msg, resumed));
            }
            // Found empty: out of the active part, without moving `current`.
            pipes[key].in_active = false;
            self.active -= 1;
            self.swap(pipes, self.current, self.active);
            if self.current == self.active {
                self.current = 0;
            }
        }
        None
    }
}
