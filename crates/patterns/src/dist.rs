//! Distribution to many peers at once (libzmq's `dist_t`), for PUB, XPUB, RADIO and the
//! upstream side of XSUB, SUB and DISH.
//!
//! The pipes sit in one array: the first `matching` are the targets of the message being
//! sent, the first `eligible` have room. A pipe whose queue is full when a message reaches it
//! misses that message and leaves the eligible part until `write_activated`; the sender never
//! blocks. Messages are whole at this API, so libzmq's third boundary (`active`, for pipes
//! attached in the middle of a multipart message) always equals `eligible` and is left out.

use zmtp_proto::Traffic;

use crate::core::{Core, Key};
use crate::pipe::NO_POS;

/// libzmq's `dist_t` over pipe keys; positions are kept in [`crate::pipe::Pipe::dist_pos`].
#[derive(Debug, Default)]
pub(crate) struct Distributor {
    pipes: Vec<Key>,
    matching: usize,
    eligible: usize,
}

impl Distributor {
    fn swap(&mut self, core: &mut Core, i: usize, j: usize) {
        if i == j {
            return;
        }
        self.pipes.swap(i, j);
        core.pipes[self.pipes[i]].dist_pos = i;
        core.pipes[self.pipes[j]].dist_pos = j;
    }

    fn pos(core: &Core, key: Key) -> usize {
        core.pipe(key).map_or(NO_POS, |p| p.dist_pos)
    }

    /// Adds a pipe, eligible at once (`dist_t::attach`).
    pub(crate) fn attach(&mut self, core: &mut Core, key: Key) {
        if Self::pos(core, key) != NO_POS {
            return;
        }
        self.pipes.push(key);
        let last = self.pipes.len() - 1;
        core.pipes[key].dist_pos = last;
        self.swap(core, self.eligible, last);
        self.eligible += 1;
    }

    /// Whether the pipe is in the distributor (`dist_t::has_pipe`).
    pub(crate) fn has_pipe(&self, core: &Core, key: Key) -> bool {
        Self::pos(core, key) != NO_POS
    }

    /// Marks the pipe as a target of the next message (`dist_t::match`); a pipe without room
    /// is left out.
    pub(crate) fn mark(&mut self, core: &mut Core, key: Key) {
        let pos = Self::pos(core, key);
        if pos == NO_POS || pos < self.matching || pos >= self.eligible {
            return;
        }
        self.swap(core, pos, self.matching);
        self.matching += 1;
    }

    /// Targets exactly the eligible pipes that were not targeted (`dist_t::reverse_match`).
    pub(crate) fn reverse_match(&mut self, core: &mut Core) {
        let prev = self.matching;
        self.matching = 0;
        for i in prev..self.eligible {
            self.swap(core, i, self.matching);
            self.matching += 1;
        }
    }

    /// Clears the targets (`dist_t::unmatch`).
    pub(crate) fn unmatch(&mut self) {
        self.matching = 0;
    }

    /// Removes a pipe (`dist_t::pipe_terminated`).
    pub(crate) fn remove(&mut self, core: &mut Core, key: Key) {
        let pos = Self::pos(core, key);
        if pos == NO_POS {
            return;
        }
        if pos < self.matching {
            self.swap(core, pos, self.matching - 1);
            self.matching -= 1;
        }
        let pos = Self::pos(core, key);
        if pos < self.eligible {
            self.swap(core, pos, self.eligible - 1);
            self.eligible -= 1;
        }
        let pos = Self::pos(core, key);
        let last = self.pipes.len() - 1;
        self.swap(core, pos, last);
        self.pipes.pop();
        core.pipes[key].dist_pos = NO_POS;
    }

    /// The pipe has room again (`dist_t::activated`).
    pub(crate) fn activated(&mut self, core: &mut Core, key: Key) {
        let pos = Self::pos(core, key);
        if pos == NO_POS || pos < self.eligible {
            return;
        }
        self.swap(core, pos, self.eligible);
        self.eligible += 1;
    }

    /// Whether every target has room (`dist_t::check_hwm`, for XPUB_NODROP).
    pub(crate) fn check_hwm(&self, core: &Core) -> bool {
        self.pipes[..self.matching]
            .iter()
            .all(|&k| core.check_hwm(k))
    }

    /// Queues the traffic on every eligible pipe (`dist_t::send_to_all`).
    pub(crate) fn send_to_all(&mut self, core: &mut Core, traffic: Traffic) {
        self.matching = self.eligible;
        self.send_to_matching(core, traffic);
    }

    /// Queues the traffic on every target (`dist_t::send_to_matching`); a full target loses
    /// it and stops being eligible. The targets are cleared afterwards.
    pub(crate) fn send_to_matching(&mut self, core: &mut Core, traffic: Traffic) {
        let mut original = Some(traffic);
        let mut i = 0;
        while i < self.matching {
            let key = self.pipes[i];
            // The last target takes the original (no copy); a failed write hands it back.
            let last = i + 1 == self.matching;
            let item = if last {
                original.take()
            } else {
                original.clone()
            };
            let Some(item) = item else {
                break;
            };
            match core.write(key, item) {
                Ok(()) => i += 1,
                Err(back) => {
                    if last {
                        original = Some(back);
                    }
                    // libzmq's dist_t::write failure: out of matching and eligible.
                    self.swap(core, i, self.matching - 1);
                    self.matching -= 1;
                    let pos = Self::pos(core, key);
                    self.swap(core, pos, self.eligible - 1);
                    self.eligible -= 1;
                }
            }
        }
        self.matching = 0;
    }
}
