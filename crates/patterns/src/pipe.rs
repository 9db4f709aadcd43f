//! One peer's double queue (libzmq's `pipe_t`, both ends folded into one value).
//!
//! The outbound queue is written by the socket (`send`) and read by the connection
//! ([`Pattern::poll_transmit`](crate::Pattern::poll_transmit)); the inbound queue is written by
//! the connection ([`Pattern::handle_traffic`](crate::Pattern::handle_traffic)) and read by the
//! socket (`recv`). Each direction keeps libzmq's flow-control counters exactly:
//!
//! * the writer counts messages written, the reader counts messages read;
//! * the reader tells the writer how far it has read only every `lwm` messages
//!   (`pipe_t::read` sends `activate_write` when `msgs_read % lwm == 0`), with
//!   `lwm = (hwm + 1) / 2` (`pipe_t::compute_lwm`);
//! * the writer counts as full when `written - peer_read >= hwm` (`pipe_t::check_hwm`), and once
//!   it found itself full it stays inactive until the next `activate_write`.
//!
//! So a full queue takes writes again only after the reader has drained about half of it, as
//! in libzmq; an HWM of 0 means no limit. With CONFLATE a queue keeps only the newest item and
//! never fills (libzmq creates conflating pipes with an infinite HWM).

use std::collections::VecDeque;

use bytes::Bytes;
use zmtp_proto::{FramePacker, Framed, Msg, Traffic};

use crate::api::{PeerId, PeerStats, UserFrame};

/// What a socket queues for a peer: [`Traffic`], or a one-frame message kept as its frame
/// ([`OneFrame`]) until it is queued, so that the common send moves a `Bytes` down to the
/// queue rather than a whole `Msg`.
pub(crate) trait Outbound: Sized {
    /// Payload octets, for statistics.
    fn payload_len(&self) -> usize;
    /// Appends it to `queue` as a queue entry.
    fn queue_into(self, queue: &mut VecDeque<Traffic>);
    /// Packs it when it is a message small enough, returning what the packer sealed to make
    /// room; hands it back otherwise.
    fn pack_into(self, packer: &mut FramePacker) -> Result<Option<Framed>, Self>;
}

impl Outbound for Traffic {
    fn payload_len(&self) -> usize {
        traffic_len(self)
    }

    fn queue_into(self, queue: &mut VecDeque<Traffic>) {
        queue.push_back(self);
    }

    fn pack_into(self, packer: &mut FramePacker) -> Result<Option<Framed>, Self> {
        match self {
            Self::Message(msg) if FramePacker::fits(&msg) => Ok(packer.push(&msg)),
            other => Err(other),
        }
    }
}

/// A one-frame message, held as its frame.
pub(crate) struct OneFrame<'a>(pub(crate) UserFrame<'a>);

impl Outbound for OneFrame<'_> {
    fn payload_len(&self) -> usize {
        self.0.len()
    }

    fn queue_into(self, queue: &mut VecDeque<Traffic>) {
        match self.0 {
            UserFrame::Borrowed(data) => Traffic::push_copied(queue, data),
            UserFrame::Shared(bytes) => queue.push_back(Traffic::Message(Msg::single(bytes))),
        }
    }

    fn pack_into(self, packer: &mut FramePacker) -> Result<Option<Framed>, Self> {
        if FramePacker::fits_frame(self.0.len()) {
            Ok(packer.push_frames(std::slice::from_ref(&self.0)))
        } else {
            Err(self)
        }
    }
}

/// libzmq's `pipe_t::compute_lwm`: half the high-water mark, rounded up.
pub(crate) const fn compute_lwm(hwm: u64) -> u64 {
    hwm.div_ceil(2)
}

/// Not in a fair-queue / load-balancer / distributor.
pub(crate) const NO_POS: usize = usize::MAX;

/// Flow-control counters for one direction of a pipe.
#[derive(Debug, Clone, Default)]
pub(crate) struct Flow {
    hwm: u64,
    lwm: u64,
    written: u64,
    read: u64,
    /// Reads left until `read` is a multiple of `lwm` again, when the reader reports (kept
    /// so that a read costs no division; 0 without a high-water mark).
    reads_to_report: u64,
    peer_read: u64,
    /// libzmq's `_out_active` on the writer's side: false once a write found the queue full,
    /// until the reader's next `activate_write`.
    pub(crate) writer_active: bool,
}

impl Flow {
    fn new(hwm: usize) -> Self {
        let hwm = hwm as u64;
        Self {
            hwm,
            lwm: compute_lwm(hwm),
            written: 0,
            read: 0,
            reads_to_report: compute_lwm(hwm),
            peer_read: 0,
            writer_active: true,
        }
    }

    /// libzmq's `check_hwm`: true while the writer may add a message.
    pub(crate) fn has_room(&self) -> bool {
        self.hwm == 0 || self.written - self.peer_read < self.hwm
    }

    fn set_hwm(&mut self, hwm: usize) {
        self.hwm = hwm as u64;
        self.lwm = compute_lwm(self.hwm);
        self.reads_to_report = if self.lwm > 0 {
            self.lwm - self.read % self.lwm
        } else {
            0
        };
    }

    /// Counts a read; true when this read reactivates a writer that had found the queue full.
    fn on_read(&mut self) -> bool {
        self.read += 1;
        if self.lwm == 0 {
            return false;
        }
        self.reads_to_report -= 1;
        if self.reads_to_report == 0 {
            self.reads_to_report = self.lwm;
            self.peer_read = self.read;
            if !self.writer_active && self.has_room() {
                self.writer_active = true;
                return true;
            }
        }
        false
    }

    /// Counts `n` reads at once; true when they reactivate a writer that had found the queue
    /// full (the same as `n` calls of [`Flow::on_read`]).
    fn on_read_many(&mut self, n: u64) -> bool {
        self.read += n;
        if self.lwm == 0 {
            return false;
        }
        if n < self.reads_to_report {
            self.reads_to_report -= n;
        } else {
            // At least one multiple of `lwm` was passed: report the last one.
            let past = self.read % self.lwm;
            self.reads_to_report = self.lwm - past;
            self.peer_read = self.read - past;
            if !self.writer_active && self.has_room() {
                self.writer_active = true;
                return true;
            }
        }
        false
    }

    /// Forgets `n` unread messages as if read, without waking the writer.
    fn forget(&mut self, n: u64) {
        self.written -= n;
    }
}

/// One peer's state: its two queues, counters and the routing data some socket types keep.
#[derive(Debug)]
pub(crate) struct Pipe {
    /// The driver's name for the peer.
    pub(crate) id: PeerId,
    /// False once the driver detached the peer: its outbound side is gone, what it sent can
    /// still be received (libzmq delivers pending messages up to the pipe's delimiter).
    pub(crate) live: bool,
    /// True while a connection is up on this pipe.
    pub(crate) connected: bool,
    conflate: bool,
    out: VecDeque<Traffic>,
    /// Small messages for a connection that sends frames as they are, packed as they are
    /// queued; logically the tail of `out`, sealed into it as a [`Traffic::Framed`] before
    /// anything else is queued or the queue is read.
    packer: Option<FramePacker>,
    /// Payload octets in `out` and the packer, counted as they are queued: taking the whole
    /// queue then costs O(1), and the driver does it under the socket's lock while the sender
    /// waits.
    out_bytes: usize,
    /// Items in `out` and the packer as the flow control counts them: one per message or
    /// command, a packed buffer as many as it holds.
    out_items: usize,
    inq: VecDeque<Msg>,
    pub(crate) out_flow: Flow,
    pub(crate) in_flow: Flow,
    /// Reader's side of the inbound queue: true while the pipe sits in the active part of the
    /// fair-queue (libzmq's `_in_active`).
    pub(crate) in_active: bool,
    /// Position in the fair-queue, load-balancer and distributor, or [`NO_POS`].
    pub(crate) fq_pos: usize,
    pub(crate) lb_pos: usize,
    pub(crate) dist_pos: usize,
    /// ROUTER, REP, STREAM: the routing id, once known.
    pub(crate) routing_id: Option<Bytes>,
    /// SERVER, PEER: the 32-bit routing id (never 0 once assigned).
    pub(crate) server_id: u32,
    /// Whether [`crate::core::Core`] counts this pipe in its "has outbound room" tally.
    pub(crate) counted: bool,
    stats: PeerStats,
}

impl Pipe {
    pub(crate) fn new(id: PeerId, sndhwm: usize, rcvhwm: usize, conflate: bool) -> Self {
        let (sndhwm, rcvhwm) = if conflate { (0, 0) } else { (sndhwm, rcvhwm) };
        Self {
            id,
            live: true,
            connected: false,
            conflate,
            out: VecDeque::new(),
            packer: None,
            out_bytes: 0,
            out_items: 0,
            inq: VecDeque::new(),
            out_flow: Flow::new(sndhwm),
            in_flow: Flow::new(rcvhwm),
            in_active: false,
            fq_pos: NO_POS,
            lb_pos: NO_POS,
            dist_pos: NO_POS,
            routing_id: None,
            server_id: 0,
            counted: false,
            stats: PeerStats::default(),
        }
    }

    pub(crate) fn set_hwms(&mut self, sndhwm: usize, rcvhwm: usize) {
        if !self.conflate {
            self.out_flow.set_hwm(sndhwm);
            self.in_flow.set_hwm(rcvhwm);
        }
    }

    // ---- outbound: written by the socket, read by the connection ----

    /// Lets the outbound queue pack small messages as their wire frames (see
    /// [`zmtp_proto::FramePacker`]); never with CONFLATE, whose queue keeps one message.
    pub(crate) fn pack_frames(&mut self) {
        if !self.conflate && self.packer.is_none() {
            self.packer = Some(FramePacker::new());
        }
    }

    /// Moves what the packer holds to the end of `out`, before anything else goes there.
    fn seal(&mut self) {
        if let Some(framed) = self.packer.as_mut().and_then(FramePacker::seal) {
            self.out.push_back(Traffic::Framed(framed));
        }
    }

    /// libzmq's `check_write`: a live pipe whose writer is active and below the HWM. A failed
    /// check deactivates the writer until the connection has read enough.
    pub(crate) fn check_write(&mut self) -> bool {
        if !self.live || !self.out_flow.writer_active {
            return false;
        }
        if !self.out_flow.has_room() {
            self.out_flow.writer_active = false;
            return false;
        }
        true
    }

    /// Whether the outbound queue is below its HWM (`check_hwm`, ignores the active flag).
    pub(crate) fn out_has_room(&self) -> bool {
        self.out_flow.has_room()
    }

    /// Appends to the outbound queue (the caller checked [`Pipe::check_write`]); true when
    /// the queue was empty before.
    pub(crate) fn push_out(&mut self, item: impl Outbound) -> bool {
        if self.conflate {
            let dropped = self.out.len() as u64;
            self.out.clear();
            self.out_bytes = 0;
            self.out_items = 0;
            self.out_flow.forget(dropped);
        }
        let was_empty = self.out_items == 0;
        self.out_bytes += item.payload_len();
        self.out_items += 1;
        self.out_flow.written += 1;
        let Some(packer) = &mut self.packer else {
            item.queue_into(&mut self.out);
            return was_empty;
        };
        match item.pack_into(packer) {
            Ok(full) => {
                if let Some(full) = full {
                    self.out.push_back(Traffic::Framed(full));
                }
            }
            Err(item) => {
                self.seal();
                item.queue_into(&mut self.out);
            }
        }
        was_empty
    }

    /// Takes the oldest outbound item; the flag says whether this read reactivated a writer
    /// that had found the queue full (libzmq's `activate_write` → `write_activated`).
    pub(crate) fn pop_out(&mut self) -> Option<(Traffic, bool)> {
        if self.out.is_empty() {
            self.seal();
        }
        let traffic = self.out.pop_front()?;
        let len = traffic_len(&traffic);
        let items = traffic_items(&traffic);
        self.out_bytes -= len;
        self.out_items -= items;
        self.stats.msgs_out += items as u64;
        self.stats.bytes_out += len as u64;
        let activated = if items == 1 {
            self.out_flow.on_read()
        } else {
            self.out_flow.on_read_many(items as u64)
        };
        Some((traffic, activated && self.live))
    }

    /// Takes up to `max` queued outbound items at once, appending them to `into` (an O(1)
    /// swap when it takes them all and `into` is empty); returns how many and whether this
    /// reactivated the writer.
    pub(crate) fn take_out(&mut self, max: usize, into: &mut VecDeque<Traffic>) -> (usize, bool) {
        self.seal();
        let n = self.out.len().min(max);
        if n == 0 {
            return (0, false);
        }
        let (bytes, items) = if n == self.out.len() {
            (self.out_bytes, self.out_items)
        } else {
            self.out
                .iter()
                .take(n)
                .fold((0, 0), |(bytes, items), traffic| {
                    (bytes + traffic_len(traffic), items + traffic_items(traffic))
                })
        };
        self.out_bytes -= bytes;
        self.out_items -= items;
        if n < self.out.len() {
            into.extend(self.out.drain(..n));
        } else if into.is_empty() {
            std::mem::swap(&mut self.out, into);
        } else {
            into.append(&mut self.out);
        }
        self.stats.msgs_out += items as u64;
        self.stats.bytes_out += bytes as u64;
        let activated = self.out_flow.on_read_many(items as u64) && self.live;
        (n, activated)
    }

    pub(crate) fn out_is_empty(&self) -> bool {
        self.out_items == 0
    }

    /// Drops everything queued outbound (detach, or libzmq's `hiccup` on a reconnect of a
    /// subscriber). The writer is active again afterwards; true if it had been inactive.
    pub(crate) fn clear_out(&mut self) -> bool {
        let dropped = self.out_items as u64;
        self.seal();
        self.out.clear();
        self.out_bytes = 0;
        self.out_items = 0;
        self.out_flow.forget(dropped);
        let was_inactive = !self.out_flow.writer_active;
        self.out_flow.writer_active = true;
        was_inactive
    }

    // ---- inbound: written by the connection, read by the socket ----

    /// Whether the connection may hand over more traffic.
    pub(crate) fn can_receive(&self) -> bool {
        self.live && self.in_flow.writer_active && self.in_flow.has_room()
    }

    /// How many more messages the connection may hand over before the queue is full.
    pub(crate) fn receive_room(&self) -> usize {
        if !self.can_receive() {
            return 0;
        }
        let flow = &self.in_flow;
        if flow.hwm == 0 {
            return usize::MAX;
        }
        usize::try_from(flow.hwm - (flow.written - flow.peer_read)).unwrap_or(usize::MAX)
    }

    /// Counts traffic received from the peer (whether it is queued or consumed at once).
    pub(crate) fn count_in(&mut self, traffic: &Traffic) {
        self.stats.msgs_in += 1;
        self.stats.bytes_in += traffic_len(traffic) as u64;
    }

    /// Queues a received message; returns how many queued messages it replaced (CONFLATE).
    pub(crate) fn push_in(&mut self, msg: Msg) -> usize {
        let mut dropped = 0;
        if self.conflate {
            dropped = self.inq.len();
            self.inq.clear();
            self.in_flow.forget(dropped as u64);
        }
        self.inq.push_back(msg);
        self.in_flow.written += 1;
        if !self.in_flow.has_room() {
            // The connection's next check would fail: it stops reading until ResumeReceive.
            self.in_flow.writer_active = false;
        }
        dropped
    }

    /// Takes the oldest queued inbound message; the flag says whether the connection may read
    /// again (it had been stopped by a full queue).
    pub(crate) fn pop_in(&mut self) -> Option<(Msg, bool)> {
        let msg = self.inq.pop_front()?;
        let resumed = self.in_flow.on_read() && self.live;
        Some((msg, resumed))
    }

    /// Takes up to `max` of the oldest queued inbound messages into `into`: how many, and
    /// whether the connection may read again (as that many [`Pipe::pop_in`]).
    pub(crate) fn pop_in_many(&mut self, max: usize, into: &mut VecDeque<Msg>) -> (usize, bool) {
        let n = self.inq.len().min(max);
        if n == 0 {
            return (0, false);
        }
        if n == self.inq.len() && into.is_empty() {
            // All of it: trade buffers instead of moving each message.
            std::mem::swap(&mut self.inq, into);
        } else {
            into.extend(self.inq.drain(..n));
        }
        let resumed = self.in_flow.on_read_many(n as u64) && self.live;
        (n, resumed)
    }

    /// Counts and queues items from the front of `batch` while the queue has room, at most
    /// `max`, for a socket type that queues every message as it comes (with
    /// `single_frame_only`, one-frame messages; what it does not queue it drops). Returns how
    /// many items were taken, how many messages were queued, and how many queued messages
    /// those replaced (CONFLATE): the same as that many [`Pipe::count_in`] and
    /// [`Pipe::push_in`] calls.
    pub(crate) fn push_in_batch(
        &mut self,
        batch: &mut VecDeque<Traffic>,
        max: usize,
        single_frame_only: bool,
    ) -> (usize, usize, usize) {
        if let Some(n) = self.room_for_messages(batch, max, single_frame_only) {
            // Every item is queued: count them, then move them in one pass.
            for traffic in batch.iter().take(n) {
                self.count_in(traffic);
            }
            self.inq
                .extend(batch.drain(..n).filter_map(|traffic| match traffic {
                    Traffic::Message(msg) => Some(msg),
                    _ => None,
                }));
            self.in_flow.written += n as u64;
            if !self.in_flow.has_room() {
                // As `push_in`: the connection stops reading until ResumeReceive.
                self.in_flow.writer_active = false;
            }
            return (n, n, 0);
        }
        let (mut taken, mut queued, mut replaced) = (0, 0, 0);
        while taken < max && self.can_receive() {
            let Some(traffic) = batch.pop_front() else {
                break;
            };
            self.count_in(&traffic);
            taken += 1;
            if let Traffic::Message(msg) = traffic
                && (!single_frame_only || msg.len() == 1)
            {
                replaced += self.push_in(msg);
                queued += 1;
            }
        }
        (taken, queued, replaced)
    }

    /// How many items from the front of `batch` (at most `max`) [`Pipe::push_in_batch`]
    /// would take, when each of them would be queued as it is: all messages (of one frame
    /// with `single_frame_only`), no CONFLATE. `None` when that does not hold.
    fn room_for_messages(
        &self,
        batch: &VecDeque<Traffic>,
        max: usize,
        single_frame_only: bool,
    ) -> Option<usize> {
        if self.conflate {
            return None;
        }
        let n = self.receive_room().min(max).min(batch.len());
        let all_queued = batch.iter().take(n).all(|traffic| match traffic {
            Traffic::Message(msg) => !single_frame_only || msg.len() == 1,
            _ => false,
        });
        all_queued.then_some(n)
    }

    pub(crate) fn in_len(&self) -> usize {
        self.inq.len()
    }

    /// Keeps only the queued inbound messages for which `keep` is true; the dropped ones count
    /// as read. Returns how many were dropped and whether the connection may read again.
    pub(crate) fn retain_in(&mut self, mut keep: impl FnMut(&Msg) -> bool) -> (usize, bool) {
        let before = self.inq.len();
        self.inq.retain(|m| keep(m));
        let dropped = before - self.inq.len();
        let mut resumed = false;
        for _ in 0..dropped {
            resumed |= self.in_flow.on_read();
        }
        (dropped, resumed && self.live)
    }

    pub(crate) fn stats(&self) -> PeerStats {
        PeerStats {
            queued_out: self.out_items,
            queued_in: self.inq.len(),
            ..self.stats
        }
    }
}

/// Payload octets of a traffic item, for statistics.
pub(crate) fn traffic_len(traffic: &Traffic) -> usize {
    match traffic {
        Traffic::Message(m) => m.payload_len(),
        Traffic::Subscribe(t) | Traffic::Cancel(t) | Traffic::Join(t) | Traffic::Leave(t) => {
            t.len()
        }
        Traffic::Framed(framed) => framed.payload_len(),
    }
}

/// How many items of the flow control a traffic item is: a packed buffer counts each
/// message it holds.
fn traffic_items(traffic: &Traffic) -> usize {
    match traffic {
        Traffic::Framed(framed) => framed.messages(),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> Traffic {
        Traffic::Message(Msg::single(Bytes::from_static(b"x")))
    }

    #[test]
    fn lwm_is_half_the_hwm_rounded_up_as_libzmq() {
        assert_eq!(compute_lwm(1000), 500);
        assert_eq!(compute_lwm(5), 3);
        assert_eq!(compute_lwm(1), 1);
        assert_eq!(compute_lwm(0), 0);
    }

    #[test]
    fn full_outbound_reopens_only_after_lwm_reads() {
        let mut p = Pipe::new(PeerId(1), 4, 4, false);
        for _ in 0..4 {
            assert!(p.check_write());
            p.push_out(m());
        }
        assert!(!p.check_write(), "4 queued with SNDHWM 4");
        // lwm = 2: the first read does not tell the writer anything yet.
        assert!(matches!(p.pop_out(), Some((_, false))));
        assert!(!p.check_write(), "writer waits for activate_write");
        assert!(
            matches!(p.pop_out(), Some((_, true))),
            "second read reactivates"
        );
        assert!(p.check_write());
    }

    /// libzmq's `pipe_t::read` reports at every multiple of the low-water mark
    /// (`msgs_read % lwm == 0`): reading in batches of any size, with the high-water mark
    /// changed in between, reports exactly as reading one by one does.
    #[test]
    fn batched_reads_report_as_single_reads_across_hwm_changes() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        for _ in 0..200 {
            let hwm = next(12) as usize;
            let (mut one, mut many) = (Flow::new(hwm), Flow::new(hwm));
            for _ in 0..50 {
                if next(8) == 0 {
                    let hwm = next(12) as usize;
                    one.set_hwm(hwm);
                    many.set_hwm(hwm);
                }
                let n = next(9);
                // A writer that found the queue full, so that a report shows as reactivation.
                for flow in [&mut one, &mut many] {
                    flow.written = flow.read + n + flow.hwm;
                    flow.writer_active = false;
                }
                let mut reactivated = false;
                for _ in 0..n {
                    let before = one.peer_read;
                    reactivated |= one.on_read();
                    let due = one.lwm > 0 && one.read % one.lwm == 0;
                    let expected = if due { one.read } else { before };
                    assert_eq!(one.peer_read, expected, "read {} lwm {}", one.read, one.lwm);
                }
                assert_eq!(many.on_read_many(n), reactivated);
                assert_eq!((many.read, many.peer_read), (one.read, one.peer_read));
            }
        }
    }

    #[test]
    fn zero_hwm_never_fills() {
        let mut p = Pipe::new(PeerId(1), 0, 0, false);
        for _ in 0..10_000 {
            assert!(p.check_write());
            p.push_out(m());
            p.push_in(Msg::single(Bytes::new()));
        }
        assert!(p.can_receive());
    }

    #[test]
    fn conflate_keeps_only_the_newest_and_never_fills() {
        let mut p = Pipe::new(PeerId(1), 1, 1, true);
        for i in 0..5u8 {
            assert!(p.check_write());
            p.push_out(Traffic::Message(Msg::single(vec![i])));
            p.push_in(Msg::single(vec![i]));
        }
        assert_eq!(p.stats().queued_out, 1);
        assert_eq!(p.stats().queued_in, 1);
        assert!(p.can_receive());
        let (t, _) = p.pop_out().expect("one left");
        assert_eq!(t, Traffic::Message(Msg::single(vec![4u8])));
    }
}
