//! Load-balancing over the peers' outbound queues (libzmq's `lb_t`).
//!
//! The pipes sit in one array whose first `active` entries may take a message. Sending writes
//! to the pipe at `current` and moves on; a pipe found full is swapped out of the active part
//! and swapped back in by `write_activated` once its connection has drained enough. Each send
//! is amortised O(1): a full pipe is skipped once, then not visited until it has room again.

use crate::core::{Core, Key};
use crate::pipe::{NO_POS, Outbound};

/// libzmq's `lb_t` over pipe keys; positions are kept in [`crate::pipe::Pipe::lb_pos`].
#[derive(Debug, Default)]
pub(crate) struct LoadBalancer {
    pipes: Vec<Key>,
    active: usize,
    current: usize,
}

impl LoadBalancer {
    fn swap(&mut self, core: &mut Core, i: usize, j: usize) {
        if i == j {
            return;
        }
        self.pipes.swap(i, j);
        core.pipes[self.pipes[i]].lb_pos = i;
        core.pipes[self.pipes[j]].lb_pos = j;
    }

    /// Adds a pipe, active at once (`lb_t::attach`).
    pub(crate) fn attach(&mut self, core: &mut Core, key: Key) {
        if core.pipes[key].lb_pos != NO_POS {
            return;
        }
        self.pipes.push(key);
        core.pipes[key].lb_pos = self.pipes.len() - 1;
        self.activated(core, key);
    }

    /// The pipe has room again (`lb_t::activated`).
    pub(crate) fn activated(&mut self, core: &mut Core, key: Key) {
        let Some(pos) = core.pipe(key).map(|p| p.lb_pos) else {
            return;
        };
        if pos == NO_POS || pos < self.active {
            return;
        }
        self.swap(core, pos, self.active);
        self.active += 1;
    }

    /// Removes a pipe (`lb_t::pipe_terminated`).
    pub(crate) fn remove(&mut self, core: &mut Core, key: Key) {
        let Some(pos) = core.pipe(key).map(|p| p.lb_pos) else {
            return;
        };
        if pos == NO_POS {
            return;
        }
        let mut index = pos;
        if index < self.active {
            self.active -= 1;
            self.swap(core, index, self.active);
            index = self.active;
            if self.current == self.active {
                self.current = 0;
            }
        }
        let last = self.pipes.len() - 1;
        self.swap(core, index, last);
        self.pipes.pop();
        core.pipes[key].lb_pos = NO_POS;
    }

    /// Queues the traffic on the next pipe with room (`lb_t::sendpipe`) and says which;
    /// hands the traffic back when no pipe has room.
    pub(crate) fn send<T: Outbound>(&mut self, core: &mut Core, mut item: T) -> Result<Key, T> {
        while self.active > 0 {
            let key = self.pipes[self.current];
            match core.write(key, item) {
                Ok(()) => {
                    self.current += 1;
                    if self.current >= self.active {
                        self.current = 0;
                    }
                    return Ok(key);
                }
                Err(back) => {
                    item = back;
                    self.active -= 1;
                    if self.current < self.active {
                        self.swap(core, self.current, self.active);
                    } else {
                        self.current = 0;
                    }
                }
            }
        }
        Err(item)
    }

    /// Whether a send would succeed (`lb_t::has_out`); deactivates full pipes on the way.
    pub(crate) fn has_out(&mut self, core: &mut Core) -> bool {
        while self.active > 0 {
            let key = self.pipes[self.current];
            if core.check_write(key) {
                return true;
            }
            self.active -= 1;
            self.swap(core, self.current, self.active);
            if self.current == self.active {
                self.current = 0;
            }
        }
        false
    }
}
