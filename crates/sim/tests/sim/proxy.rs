//! RFC 29 through a forwarder (`zmq_proxy` between an XSUB and an XPUB): PUB ← XSUB | XPUB
//! ← SUBs. Subscriptions travel upstream through the proxy application (XPUB hands them up,
//! XSUB sends them on), data travels down. A reference-model random walk as in `model`:
//! after each transition the world and the proxy settle, and a publication must reach
//! exactly the subscribers whose whole path is up and whose subscriptions match. That
//! covers XPUB's subscription counting across subscribers, the unsubscriptions XPUB reports
//! when a subscriber's pipe goes away, and XSUB resending its set after a reconnect.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use patterns::PatternOption;
use sim::{LinkId, NodeConfig, NodeId, RecvPolicy, Sim, for_each_seed};
use zmtp_proto::SocketType;

use crate::support::{random_link, tag_of, tagged};

const PREFIXES: [&[u8]; 4] = [b"a", b"ab", b"b", b""];
const TOPICS: [&[u8]; 4] = [b"a", b"ab", b"b", b"c"];

struct Forwarder {
    sim: Sim,
    publisher: NodeId,
    xsub: NodeId,
    xpub: NodeId,
    subs: Vec<NodeId>,
    upstream: LinkId,
    downstream: Vec<LinkId>,
}

impl Forwarder {
    fn new(seed: u64) -> Self {
        let mut sim = Sim::new(seed);
        let publisher = sim.add_node(NodeConfig::new(SocketType::Pub));
        let xsub = sim.add_node(NodeConfig::new(SocketType::XSub));
        let xpub = sim.add_node(NodeConfig::new(SocketType::XPub));
        let subs: Vec<NodeId> = (0..3)
            .map(|_| sim.add_node(NodeConfig::new(SocketType::Sub).recv(RecvPolicy::Eager)))
            .collect();
        let config = random_link(sim.rng(), 3);
        let upstream = sim.connect(xsub, publisher, config);
        let downstream = subs
            .iter()
            .map(|&s| {
                let config = random_link(sim.rng(), 3);
                sim.connect(s, xpub, config)
            })
            .collect();
        Self {
            sim,
            publisher,
            xsub,
            xpub,
            subs,
            upstream,
            downstream,
        }
    }

    /// The proxy application: moves what each side has to the other. True if it moved any.
    fn pump(&mut self) -> bool {
        let mut moved = false;
        while let Ok(subscription) = self.sim.recv(self.xpub) {
            let first = subscription.first().and_then(|f| f.first().copied());
            assert!(
                matches!(first, Some(0 | 1)),
                "XPUB hands up (un)subscriptions"
            );
            self.sim
                .send(self.xsub, subscription)
                .expect("XSUB takes subscriptions");
            moved = true;
        }
        while let Ok(data) = self.sim.recv(self.xsub) {
            self.sim.send(self.xpub, data).expect("XPUB never refuses");
            moved = true;
        }
        moved
    }

    fn settle(&mut self) {
        loop {
            self.sim.run_until_idle();
            if !self.pump() {
                return;
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Subscribe(usize, &'static [u8]),
    Unsubscribe(usize, &'static [u8]),
    UserSend(&'static [u8]),
    /// Link 0 is upstream, 1.. are the subscribers'.
    PeerDisconnect(usize),
    PeerConnect(usize),
    Tick(u64),
}

fn step(sim: &mut Sim) -> Step {
    let rng = sim.rng();
    let sub = rng.below(3) as usize;
    let link = rng.below(4) as usize;
    let prefix = *rng.pick(&PREFIXES).expect("prefixes");
    match rng.below(12) {
        0 | 1 => Step::Subscribe(sub, prefix),
        2 => Step::Unsubscribe(sub, prefix),
        3..=6 => Step::UserSend(rng.pick(&TOPICS).expect("topics")),
        7 => Step::PeerDisconnect(link),
        8 | 9 => Step::PeerConnect(link),
        _ => Step::Tick(rng.below(300)),
    }
}

fn forwarder_walk(seed: u64) {
    let mut f = Forwarder::new(seed);
    let links: Vec<LinkId> = std::iter::once(f.upstream)
        .chain(f.downstream.iter().copied())
        .collect();
    let mut down = [false; 4];
    let mut subscribed: Vec<BTreeMap<&[u8], usize>> = vec![BTreeMap::new(); 3];
    let mut seq = 0;
    let mut deliveries = 0;
    f.settle();
    for n in 0..400 {
        let transition = step(&mut f.sim);
        let mut published = None;
        match transition {
            Step::Subscribe(i, prefix) => {
                f.sim
                    .set_option(
                        f.subs[i],
                        PatternOption::Subscribe(Bytes::from_static(prefix)),
                    )
                    .expect("subscribe");
                *subscribed[i].entry(prefix).or_default() += 1;
            }
            Step::Unsubscribe(i, prefix) => {
                f.sim
                    .set_option(
                        f.subs[i],
                        PatternOption::Unsubscribe(Bytes::from_static(prefix)),
                    )
                    .expect("unsubscribe");
                if let Some(count) = subscribed[i].get_mut(prefix) {
                    *count -= 1;
                    if *count == 0 {
                        subscribed[i].remove(prefix);
                    }
                }
            }
            Step::UserSend(topic) => {
                f.sim
                    .send(f.publisher, tagged(topic, 0, seq, 0))
                    .expect("PUB never refuses");
                published = Some((topic, seq));
                seq += 1;
            }
            Step::PeerDisconnect(l) => {
                f.sim.partition(links[l], Duration::from_secs(3600));
                down[l] = true;
            }
            Step::PeerConnect(l) => {
                f.sim.heal(links[l]);
                down[l] = false;
            }
            Step::Tick(ms) => f.sim.run_for(Duration::from_millis(ms)),
        }
        f.settle();
        for (l, &link) in links.iter().enumerate() {
            assert_eq!(f.sim.is_connected(link), !down[l], "step {n}: link {l}");
        }
        for (i, &sub) in f.subs.iter().enumerate() {
            let got: Vec<u64> = f
                .sim
                .take_inbox(sub)
                .iter()
                .map(|d| {
                    let topic_len = d.msg.first().map_or(0, |b| {
                        b.iter().take_while(|c| c.is_ascii_alphabetic()).count()
                    });
                    tag_of(&d.msg, topic_len).1
                })
                .collect();
            let expected: Vec<u64> = match published {
                Some((topic, s))
                    if !down[0]
                        && !down[i + 1]
                        && subscribed[i].keys().any(|p| topic.starts_with(p)) =>
                {
                    vec![s]
                }
                _ => vec![],
            };
            assert_eq!(
                got,
                expected,
                "step {n} {transition:?}: subscriber {i} with {:?}, links down {down:?}",
                subscribed[i].keys().collect::<Vec<_>>()
            );
            deliveries += got.len();
        }
    }
    assert!(deliveries > 10, "the walk delivered little: {deliveries}");
}

#[test]
fn rfc29_forwarder_model_walk_xsub_xpub_proxy_delivers_exactly() {
    for_each_seed("rfc29_forwarder_model_walk", forwarder_walk);
}
