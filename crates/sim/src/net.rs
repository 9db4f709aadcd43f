//! The network between nodes: the virtual clock, the links, the heap of byte chunks in flight
//! and the timeline of scheduled link events.
//!
//! Promises: each direction of a connection is a TCP-like stream (chunks arrive in the order
//! they were written, each after its own random latency but never before the chunk ahead of
//! it); a writer never has more than the link's window outstanding (in flight plus unread at
//! the receiver); a reset or blackholed link delivers nothing more. Every random choice comes
//! from the link's own seeded generator.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use zmtp_proto::TxBuf;

use crate::config::{ConnId, End, LinkConfig, LinkId, NodeId};
use crate::rng::Rng;
use crate::trace::Tracer;

/// Something that happens to a link, now or at a scheduled time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// Reset every connection on the link (a TCP RST at both ends): nothing in flight arrives.
    Reset,
    /// Reset, then refuse new connections for this long (a partition, a crashed peer).
    Partition(Duration),
    /// Drop every chunk silently for this long, without either end noticing (a half-open
    /// connection: only heartbeats can tell), and refuse new connections meanwhile.
    Blackhole(Duration),
    /// End any partition or blackhole now.
    Heal,
}

/// What a chunk carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Payload {
    /// The connecting end's connection request.
    Syn,
    /// The binding end accepted: the connection is up at the connecting end on arrival.
    SynAck,
    /// Stream bytes.
    Data(Bytes),
    /// The sender closed the connection after everything before it.
    Fin,
}

/// A chunk in flight towards one end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Flight {
    pub(crate) at: Instant,
    seq: u64,
    pub(crate) conn: ConnId,
    pub(crate) to: End,
    pub(crate) payload: Payload,
}

impl Ord for Flight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl PartialOrd for Flight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A link event on the timeline. `generation` limits a fault to the connection it was drawn
/// for (a later connection is not reset by an earlier one's fault).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scheduled {
    pub(crate) at: Instant,
    seq: u64,
    pub(crate) link: LinkId,
    pub(crate) event: LinkEvent,
    pub(crate) generation: Option<u64>,
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// One direction of one connection.
#[derive(Debug)]
struct Stream {
    /// When the last chunk written arrives: the next may not arrive earlier.
    last_at: Instant,
    /// Bytes written and not yet read by the receiving driver.
    unacked: usize,
    /// Blackholed: nothing written any more arrives, and nothing in flight does either, but
    /// the writer is not told (its window fills and stays full).
    dead: bool,
}

/// A `connect` from one node to another.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) connecter: NodeId,
    pub(crate) binder: NodeId,
    pub(crate) config: LinkConfig,
    rng: Rng,
    /// The last connection attempt's generation.
    pub(crate) generation: u64,
    refuse_until: Option<Instant>,
    blackhole_until: Option<Instant>,
}

impl Link {
    /// The node at `end`.
    pub(crate) fn node(&self, end: End) -> NodeId {
        match end {
            End::Connecter => self.connecter,
            End::Binder => self.binder,
        }
    }

    /// True while the link refuses connections (partitioned or blackholed).
    pub(crate) fn refuses(&self, now: Instant) -> bool {
        self.refuse_until.is_some_and(|t| now < t) || self.blackholed(now)
    }

    /// True while chunks vanish.
    pub(crate) fn blackholed(&self, now: Instant) -> bool {
        self.blackhole_until.is_some_and(|t| now < t)
    }
}

/// The network: clock, links, chunks in flight, scheduled link events.
#[derive(Debug)]
pub(crate) struct Net {
    base: Instant,
    pub(crate) now: Instant,
    pub(crate) links: Vec<Link>,
    flights: BinaryHeap<Reverse<Flight>>,
    timeline: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    streams: BTreeMap<(ConnId, End), Stream>,
    /// Nodes whose window just opened: they may write more at once.
    woken: Vec<NodeId>,
    pub(crate) tracer: Tracer,
}

impl Net {
    pub(crate) fn new(base: Instant) -> Self {
        Self {
            base,
            now: base,
            links: Vec::new(),
            flights: BinaryHeap::new(),
            timeline: BinaryHeap::new(),
            seq: 0,
            streams: BTreeMap::new(),
            woken: Vec::new(),
            tracer: Tracer::default(),
        }
    }

    /// Virtual time since the start.
    pub(crate) fn elapsed(&self) -> Duration {
        self.now - self.base
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(crate) fn add_link(
        &mut self,
        connecter: NodeId,
        binder: NodeId,
        config: LinkConfig,
        rng: Rng,
    ) -> LinkId {
        self.links.push(Link {
            connecter,
            binder,
            config,
            rng,
            generation: 0,
            refuse_until: None,
            blackhole_until: None,
        });
        LinkId(self.links.len() - 1)
    }

    pub(crate) fn link(&self, id: LinkId) -> &Link {
        &self.links[id.0]
    }

    /// Starts a new connection attempt on `link`; `None` when the link refuses it now.
    pub(crate) fn open(&mut self, link: LinkId) -> Option<ConnId> {
        let now = self.now;
        let l = &mut self.links[link.0];
        l.generation += 1;
        let conn = ConnId {
            link,
            generation: l.generation,
        };
        let ok = !l.refuses(now);
        let at = self.elapsed();
        self.tracer
            .record(at, || crate::trace::TraceEvent::ConnectAttempt { conn, ok });
        if !ok {
            return None;
        }
        for end in [End::Connecter, End::Binder] {
            self.streams.insert(
                (conn, end),
                Stream {
                    last_at: now,
                    unacked: 0,
                    dead: false,
                },
            );
        }
        self.send_control(conn, End::Binder, Payload::Syn);
        Some(conn)
    }

    /// The stream towards `to` is gone (that end closed): later writes vanish, chunks in
    /// flight are dropped.
    pub(crate) fn close_stream(&mut self, conn: ConnId, to: End) {
        self.streams.remove(&(conn, to));
    }

    /// Whether a chunk towards `to` on `conn` can still arrive.
    pub(crate) fn is_open(&self, conn: ConnId, to: End) -> bool {
        self.streams.get(&(conn, to)).is_some_and(|s| !s.dead)
    }

    /// Every stream of `link` is gone (a reset).
    pub(crate) fn close_link_streams(&mut self, link: LinkId) {
        self.streams.retain(|(conn, _), _| conn.link != link);
    }

    /// Every stream of `link` goes silent without its ends knowing (a blackhole).
    pub(crate) fn kill_link_streams(&mut self, link: LinkId) {
        for ((conn, _), stream) in &mut self.streams {
            if conn.link == link {
                stream.dead = true;
            }
        }
    }

    /// Queues a control chunk (SYN, SYN-ACK, FIN) in order with the stream's data.
    pub(crate) fn send_control(&mut self, conn: ConnId, to: End, payload: Payload) {
        self.push(conn, to, payload);
    }

    fn push(&mut self, conn: ConnId, to: End, payload: Payload) {
        let now = self.now;
        let link = &mut self.links[conn.link.0];
        let latency = link
            .rng
            .duration(link.config.latency_min, link.config.latency_max);
        let Some(stream) = self.streams.get_mut(&(conn, to)).filter(|s| !s.dead) else {
            return;
        };
        let at = (now + latency).max(stream.last_at);
        stream.last_at = at;
        let seq = self.next_seq();
        self.flights.push(Reverse(Flight {
            at,
            seq,
            conn,
            to,
            payload,
        }));
    }

    /// Writes what the window allows from `tx` towards `to`, cut at random points into
    /// chunks. Returns the number of bytes taken from `tx`. Bytes towards an end that has
    /// closed are taken and lost, as a kernel accepts them before the peer's RST.
    pub(crate) fn write(&mut self, conn: ConnId, to: End, tx: &mut TxBuf) -> usize {
        if tx.is_empty() {
            return 0;
        }
        let window = self.links[conn.link.0].config.window;
        let Some(stream) = self.streams.get_mut(&(conn, to)) else {
            let n = tx.len();
            tx.advance(n);
            return n;
        };
        let n = tx.len().min(window.saturating_sub(stream.unacked));
        if n == 0 {
            return 0;
        }
        stream.unacked += n;
        if stream.dead {
            tx.advance(n);
            return n;
        }
        let mut data = BytesMut::with_capacity(n);
        while data.len() < n {
            let chunk = tx.chunk();
            let take = chunk.len().min(n - data.len());
            data.extend_from_slice(&chunk[..take]);
            tx.advance(take);
        }
        let mut data = data.freeze();
        let link = &mut self.links[conn.link.0];
        let pieces = link.rng.in_range(1..=link.config.max_pieces.min(n));
        let mut cuts: Vec<usize> = (1..pieces).map(|_| link.rng.in_range(1..=n - 1)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut at = 0;
        for cut in cuts {
            let piece = data.split_to(cut - at);
            at = cut;
            self.push(conn, to, Payload::Data(piece));
        }
        self.push(conn, to, Payload::Data(data));
        n
    }

    /// The driver at `at_end` read `n` bytes off the link: the writer's window opens by as
    /// much.
    pub(crate) fn consumed(&mut self, conn: ConnId, at_end: End, n: usize) {
        if let Some(stream) = self.streams.get_mut(&(conn, at_end)) {
            stream.unacked = stream.unacked.saturating_sub(n);
            if n > 0 {
                let writer = self.links[conn.link.0].node(at_end.other());
                self.woken.push(writer);
            }
        }
    }

    /// Whether a window opened since the last [`Net::take_woken`].
    pub(crate) fn has_woken(&self) -> bool {
        !self.woken.is_empty()
    }

    /// Takes the nodes whose window opened since the last call.
    pub(crate) fn take_woken(&mut self) -> Vec<NodeId> {
        std::mem::take(&mut self.woken)
    }

    /// Bytes written towards `to` on `conn` and not yet read there.
    pub(crate) fn unacked(&self, conn: ConnId, to: End) -> usize {
        self.streams.get(&(conn, to)).map_or(0, |s| s.unacked)
    }

    pub(crate) fn next_flight_at(&self) -> Option<Instant> {
        self.flights.peek().map(|f| f.0.at)
    }

    pub(crate) fn flights_in_air(&self) -> usize {
        self.flights.len()
    }

    /// The next chunk due by now, if any.
    pub(crate) fn pop_due_flight(&mut self) -> Option<Flight> {
        if self.flights.peek()?.0.at > self.now {
            return None;
        }
        self.flights.pop().map(|f| f.0)
    }

    /// Schedules `event` on `link` at `at`; with a generation, only for that connection.
    pub(crate) fn schedule(
        &mut self,
        at: Instant,
        link: LinkId,
        event: LinkEvent,
        generation: Option<u64>,
    ) {
        let seq = self.next_seq();
        self.timeline.push(Reverse(Scheduled {
            at,
            seq,
            link,
            event,
            generation,
        }));
    }

    pub(crate) fn next_scheduled_at(&self) -> Option<Instant> {
        self.timeline.peek().map(|s| s.0.at)
    }

    pub(crate) fn scheduled_count(&self) -> usize {
        self.timeline.len()
    }

    pub(crate) fn pop_due_scheduled(&mut self) -> Option<Scheduled> {
        if self.timeline.peek()?.0.at > self.now {
            return None;
        }
        self.timeline.pop().map(|s| s.0)
    }

    /// Applies the refusal and blackhole parts of an event (the resets are the nodes' job).
    pub(crate) fn apply_link_state(&mut self, link: LinkId, event: &LinkEvent) {
        let now = self.now;
        let l = &mut self.links[link.0];
        match event {
            LinkEvent::Reset => {}
            LinkEvent::Partition(d) => l.refuse_until = Some(now + *d),
            LinkEvent::Blackhole(d) => l.blackhole_until = Some(now + *d),
            LinkEvent::Heal => {
                l.refuse_until = None;
                l.blackhole_until = None;
            }
        }
    }

    /// Replaces the link's random faults; `None` also cancels the resets already drawn.
    pub(crate) fn set_faults(&mut self, link: LinkId, faults: Option<crate::config::Faults>) {
        if faults.is_none() {
            self.timeline
                .retain(|s| !(s.0.link == link && s.0.generation.is_some()));
        }
        self.links[link.0].config.faults = faults;
    }

    /// When and how the connection that just came up on `conn` should fail, if the link has
    /// faults; schedules that failure and the refusal after it.
    pub(crate) fn plan_fault(&mut self, conn: ConnId) {
        let now = self.now;
        let link = &mut self.links[conn.link.0];
        let Some(faults) = link.config.faults.clone() else {
            return;
        };
        let up = link.rng.duration(faults.up.0, faults.up.1);
        let down = link.rng.duration(faults.down.0, faults.down.1);
        let event = if faults.half_open && link.rng.chance(1, 2) {
            LinkEvent::Blackhole(down)
        } else {
            LinkEvent::Partition(down)
        };
        self.schedule(now + up, conn.link, event, Some(conn.generation));
    }
}
