//! [`Sim`]: the world a test drives. It owns the virtual clock, the nodes and the network,
//! and advances time only from one event to the next.
//!
//! Promises: time never goes backwards and never depends on the real clock (read once, for
//! the base instant); the same seed and the same calls give the same run, event for event;
//! after every call that returns, the world has settled (every machine's actions handled,
//! every decodable byte delivered, every writable byte written) except for what only time
//! can move.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use patterns::{OptionError, Pattern, PatternOption, PeerId, RecvError, SendError};
use zmtp_proto::Msg;

use crate::config::{ConnId, End, Faults, LinkConfig, LinkId, NodeConfig, NodeId};
use crate::net::{LinkEvent, Net, Scheduled};
use crate::node::{Delivery, Node, earliest};
use crate::rng::Rng;
use crate::trace::Traced;

/// Rounds of servicing every node at one instant before the simulation declares a livelock.
const SETTLE_LIMIT: usize = 100_000;

/// Steps at one instant before the simulation declares a livelock (a timer that stays due).
const SAME_INSTANT_LIMIT: u32 = 10_000;

/// How far [`Sim::run_until_idle`] may advance virtual time before it gives up.
const IDLE_LIMIT: Duration = Duration::from_secs(3600);

/// A deterministic simulated network of sockets. See the crate docs for an example.
#[derive(Debug)]
pub struct Sim {
    seed: u64,
    net: Net,
    nodes: Vec<Node>,
    /// Draws for the test's own decisions.
    rng: Rng,
    /// Forked once per link and once per node.
    link_rngs: Rng,
    steps: u64,
    steps_at_instant: u32,
    /// Nodes that may have work to do without time passing (see [`Sim::settle`]).
    dirty: Vec<bool>,
}

impl Sim {
    /// A simulation seeded with `seed`. Reads the real clock once, for the base instant.
    pub fn new(seed: u64) -> Self {
        Self::with_base(seed, Instant::now())
    }

    /// A simulation whose virtual time starts at `base`.
    pub fn with_base(seed: u64, base: Instant) -> Self {
        let mut root = Rng::new(seed);
        Self {
            seed,
            net: Net::new(base),
            nodes: Vec::new(),
            rng: root.fork(),
            link_rngs: root.fork(),
            steps: 0,
            steps_at_instant: 0,
            dirty: Vec::new(),
        }
    }

    // ---- getters -----------------------------------------------------------------------

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The virtual now.
    pub fn now(&self) -> Instant {
        self.net.now
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.net.elapsed()
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// A generator for the test's own random decisions (independent of the links').
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// A node's machine, to read its state (readiness, peer statistics).
    pub fn pattern(&self, node: NodeId) -> &dyn Pattern {
        &*self.nodes[node.0].pattern
    }

    /// A node's configuration.
    pub fn node_config(&self, node: NodeId) -> &NodeConfig {
        self.nodes[node.0].config()
    }

    /// The pipes a node's driver knows.
    pub fn peers(&self, node: NodeId) -> Vec<PeerId> {
        self.nodes[node.0].peers().collect()
    }

    /// The pipe standing for `link` at `node` (see [`Sim::connect`]), if any.
    pub fn peer_of(&self, node: NodeId, link: LinkId) -> Option<PeerId> {
        self.nodes[node.0].peer_of(link)
    }

    /// The link's current connection, when both ends completed its handshake.
    pub fn connection(&self, link: LinkId) -> Option<ConnId> {
        let l = self.net.link(link);
        let conn = ConnId {
            link,
            generation: l.generation,
        };
        [End::Connecter, End::Binder]
            .iter()
            .all(|end| self.nodes[l.node(*end).0].is_ready(conn))
            .then_some(conn)
    }

    /// Whether both ends of `link` have a working connection.
    pub fn is_connected(&self, link: LinkId) -> bool {
        self.connection(link).is_some()
    }

    /// Messages the node's machine holds, over all its pipes: (outbound, inbound).
    pub fn queued(&self, node: NodeId) -> (usize, usize) {
        let n = &self.nodes[node.0];
        n.peers()
            .filter_map(|p| n.pattern.peer_stats(p))
            .fold((0, 0), |(o, i), s| (o + s.queued_out, i + s.queued_in))
    }

    /// Octets the node's connections hold in transmit and receive buffers.
    pub fn buffered_bytes(&self, node: NodeId) -> usize {
        self.nodes[node.0].buffered_bytes()
    }

    /// Chunks in flight.
    pub fn flights_in_air(&self) -> usize {
        self.net.flights_in_air()
    }

    /// Octets written towards `to` on `conn` and not yet read there.
    pub fn unacked(&self, conn: ConnId, to: End) -> usize {
        self.net.unacked(conn, to)
    }

    // ---- building the world ------------------------------------------------------------

    /// Adds a node (one socket).
    pub fn add_node(&mut self, config: NodeConfig) -> NodeId {
        let id = NodeId(self.nodes.len());
        let rng = self.link_rngs.fork();
        self.nodes.push(Node::new(id, config, self.net.now, rng));
        self.dirty.push(true);
        id
    }

    /// `from` connects to `to` (which is bound) over a new link. `from` attaches its pipe now
    /// (unless IMMEDIATE) and keeps it across reconnects; `to` attaches a pipe per handshake.
    pub fn connect(&mut self, from: NodeId, to: NodeId, config: LinkConfig) -> LinkId {
        assert_ne!(from, to, "a node cannot connect to itself here");
        let rng = self.link_rngs.fork();
        let link = self.net.add_link(from, to, config, rng);
        self.nodes[from.0].connect(link, &mut self.net);
        self.dirty[from.0] = true;
        link
    }

    // ---- the application ---------------------------------------------------------------

    /// The application sends on `node` (`zmq_msg_send`).
    pub fn send(&mut self, node: NodeId, msg: Msg) -> Result<(), SendError> {
        self.dirty[node.0] = true;
        self.nodes[node.0].send(msg, &mut self.net)
    }

    /// The application receives on `node` (`zmq_msg_recv`, non-blocking).
    pub fn recv(&mut self, node: NodeId) -> Result<Msg, RecvError> {
        self.dirty[node.0] = true;
        self.nodes[node.0].recv(&mut self.net)
    }

    /// The application sets an option on `node`.
    pub fn set_option(&mut self, node: NodeId, option: PatternOption) -> Result<(), OptionError> {
        self.dirty[node.0] = true;
        self.nodes[node.0].set_option(option, &mut self.net)
    }

    /// What an eager or slow application on `node` has read so far, oldest first.
    pub fn inbox(&mut self, node: NodeId) -> &mut VecDeque<Delivery> {
        &mut self.nodes[node.0].inbox
    }

    /// Takes everything from `node`'s inbox.
    pub fn take_inbox(&mut self, node: NodeId) -> Vec<Delivery> {
        self.nodes[node.0].inbox.drain(..).collect()
    }

    // ---- link events -------------------------------------------------------------------

    /// Resets every connection on `link` now; the connecting node reconnects.
    pub fn reset(&mut self, link: LinkId) {
        self.apply(link, LinkEvent::Reset);
    }

    /// Resets `link` and refuses connections over it for `duration`.
    pub fn partition(&mut self, link: LinkId, duration: Duration) {
        self.apply(link, LinkEvent::Partition(duration));
    }

    /// Silently drops everything on `link` for `duration`: its connections stay open at
    /// both ends but never deliver again; new connections are refused meanwhile.
    pub fn blackhole(&mut self, link: LinkId, duration: Duration) {
        self.apply(link, LinkEvent::Blackhole(duration));
    }

    /// Ends any partition or blackhole on `link` now.
    pub fn heal(&mut self, link: LinkId) {
        self.apply(link, LinkEvent::Heal);
    }

    /// Starts or stops random faults on `link` (stopping also cancels resets already drawn).
    pub fn set_faults(&mut self, link: LinkId, faults: Option<Faults>) {
        self.net.set_faults(link, faults);
    }

    /// The links, in creation order.
    pub fn links(&self) -> Vec<LinkId> {
        (0..self.net.links.len()).map(LinkId).collect()
    }

    /// The nodes at the connecting and binding ends of `link`.
    pub fn ends(&self, link: LinkId) -> (NodeId, NodeId) {
        let l = self.net.link(link);
        (l.connecter, l.binder)
    }

    /// Schedules a link event.
    pub fn schedule(&mut self, at: Instant, link: LinkId, event: LinkEvent) {
        self.net.schedule(at, link, event, None);
    }

    fn apply(&mut self, link: LinkId, event: LinkEvent) {
        match event {
            LinkEvent::Reset | LinkEvent::Partition(_) => {
                let l = self.net.link(link);
                let ends = [l.connecter, l.binder];
                self.net.close_link_streams(link);
                for node in ends {
                    self.nodes[node.0].reset_link(link, &mut self.net);
                    self.dirty[node.0] = true;
                }
            }
            LinkEvent::Blackhole(_) => self.net.kill_link_streams(link),
            LinkEvent::Heal => {}
        }
        self.net.apply_link_state(link, &event);
    }

    fn apply_scheduled(&mut self, s: Scheduled) {
        if let Some(generation) = s.generation {
            if self.net.link(s.link).generation != generation {
                return;
            }
        }
        self.apply(s.link, s.event);
    }

    // ---- time --------------------------------------------------------------------------

    /// Services every node that may have work until nothing more moves without time
    /// passing. A node has work after a chunk, a timer or a user command reached it, or when
    /// the window of a link it writes to opened; servicing it may give work to others.
    pub fn settle(&mut self) {
        for _ in 0..SETTLE_LIMIT {
            for node in self.net.take_woken() {
                self.dirty[node.0] = true;
            }
            let mut progress = false;
            for (node, dirty) in self.nodes.iter_mut().zip(&mut self.dirty) {
                if std::mem::take(dirty) {
                    let moved = node.service(&mut self.net);
                    // Something moved: look again, it may have unblocked more.
                    *dirty = moved;
                    progress |= moved;
                }
            }
            progress |= self.net.has_woken();
            if !progress {
                return;
            }
        }
        panic!(
            "seed {}: no quiescence after {SETTLE_LIMIT} rounds at {:?}",
            self.seed,
            self.elapsed()
        );
    }

    /// When the next thing happens: a chunk arrives, a timer fires, a link event is due.
    pub fn next_event(&self) -> Option<Instant> {
        let mut next = earliest(self.net.next_flight_at(), self.net.next_scheduled_at());
        for node in &self.nodes {
            next = earliest(next, node.next_deadline());
        }
        next
    }

    /// Advances to the next event, feeds in everything due then, and settles. Returns the
    /// new now, or `None` when nothing is left to happen.
    pub fn step(&mut self) -> Option<Instant> {
        self.settle();
        let next = self.next_event()?;
        if next > self.net.now {
            self.net.now = next;
            self.steps_at_instant = 0;
        } else {
            self.steps_at_instant += 1;
            assert!(
                self.steps_at_instant < SAME_INSTANT_LIMIT,
                "seed {}: livelock, {SAME_INSTANT_LIMIT} steps at {:?}",
                self.seed,
                self.elapsed()
            );
        }
        self.steps += 1;
        while let Some(s) = self.net.pop_due_scheduled() {
            self.apply_scheduled(s);
        }
        while let Some(flight) = self.net.pop_due_flight() {
            if !self.net.is_open(flight.conn, flight.to) {
                continue;
            }
            let node = self.net.link(flight.conn.link).node(flight.to);
            self.nodes[node.0].deliver(flight, &mut self.net);
            self.dirty[node.0] = true;
        }
        let now = self.net.now;
        for (node, dirty) in self.nodes.iter_mut().zip(&mut self.dirty) {
            if node.next_deadline().is_some_and(|t| t <= now) {
                node.fire_timers(&mut self.net);
                *dirty = true;
            }
        }
        self.settle();
        Some(self.net.now)
    }

    /// Runs every event up to and including `at`, then sets the clock to `at`.
    pub fn run_until(&mut self, at: Instant) {
        self.settle();
        while self.next_event().is_some_and(|t| t <= at) {
            self.step();
        }
        if at > self.net.now {
            self.net.now = at;
            self.steps_at_instant = 0;
        }
        self.settle();
    }

    /// Runs for `duration` of virtual time.
    pub fn run_for(&mut self, duration: Duration) {
        self.run_until(self.net.now + duration);
    }

    /// Whether the world is idle: nothing in flight, and nothing that will happen on its own
    /// except periodic timers (heartbeats, a slow reader with nothing to read, reconnects to
    /// links that refuse them) and scheduled link events.
    pub fn is_idle(&self) -> bool {
        self.net.flights_in_air() == 0 && !self.nodes.iter().any(|n| n.has_pending_work(&self.net))
    }

    /// Steps until [`Sim::is_idle`]; returns the virtual time it took. Panics if the world is
    /// not idle within an hour of virtual time.
    pub fn run_until_idle(&mut self) -> Duration {
        let start = self.net.now;
        self.settle();
        while !self.is_idle() {
            assert!(
                self.net.now - start < IDLE_LIMIT,
                "seed {}: not idle after {IDLE_LIMIT:?}",
                self.seed
            );
            if self.step().is_none() {
                break;
            }
        }
        self.net.now - start
    }

    /// Link events still scheduled.
    pub fn scheduled_events(&self) -> usize {
        self.net.scheduled_count()
    }

    // ---- the trace ---------------------------------------------------------------------

    /// Starts recording the trace (see [`crate::TraceEvent`]).
    pub fn enable_trace(&mut self) {
        self.net.tracer.enable();
    }

    /// Takes what the trace recorded since the last call.
    pub fn take_trace(&mut self) -> Vec<Traced> {
        self.net.tracer.take()
    }
}
