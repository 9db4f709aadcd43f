//! RFC 30 fair-queueing, end to end: a PULL with two PUSH peers, one offering ten times as
//! many messages as the other, read slowly enough that both stay backlogged.
//!
//! The bound: among the reads made while both peers had messages queued at the PULL's
//! machine, each pusher gets at least 45% (the fair-queue alternates, so the ideal is 50%),
//! and neither gets more than two such reads in a row. The backlog must be real: at least
//! half of all reads happen with both queued.

use std::time::Duration;

use patterns::PatternOption;
use sim::{LinkConfig, NodeConfig, Sim, for_each_seed};
use zmtp_proto::SocketType;

use crate::support::{random_link, tag_of, tagged};

/// What the reader saw: for each read, the pusher it came from and whether both pushers
/// had messages queued at that moment.
fn run_fairness(seed: u64, link: impl Fn(&mut Sim) -> LinkConfig) -> Vec<(u64, bool)> {
    let mut sim = Sim::new(seed);
    let hwm = 10;
    let pusher = |_| {
        NodeConfig::new(SocketType::Push)
            .option(PatternOption::SndHwm(hwm))
            .tx_batch(256)
    };
    let fast = sim.add_node(pusher(0));
    let slow = sim.add_node(pusher(1));
    let pull = sim.add_node(NodeConfig::new(SocketType::Pull).option(PatternOption::RcvHwm(hwm)));
    let config = link(&mut sim);
    let fast_link = sim.connect(fast, pull, config);
    let config = link(&mut sim);
    let slow_link = sim.connect(slow, pull, config);
    let mut seq = [0u64; 2];
    let mut reads = Vec::new();
    for _ in 0..600 {
        for (i, node, offered) in [(0, fast, 10), (1, slow, 1)] {
            for _ in 0..offered {
                if sim.send(node, tagged(b"", i, seq[i as usize], 32)).is_ok() {
                    seq[i as usize] += 1;
                }
            }
        }
        let queued = |sim: &Sim, link| {
            sim.peer_of(pull, link)
                .and_then(|p| sim.pattern(pull).peer_stats(p))
                .is_some_and(|s| s.queued_in > 0)
        };
        let both = queued(&sim, fast_link) && queued(&sim, slow_link);
        if let Ok(msg) = sim.recv(pull) {
            reads.push((tag_of(&msg, 0).0, both));
        }
        sim.run_for(Duration::from_millis(1));
    }
    reads
}

fn check_fair(reads: &[(u64, bool)]) {
    let contested: Vec<u64> = reads.iter().filter(|r| r.1).map(|r| r.0).collect();
    assert!(
        contested.len() * 2 >= reads.len(),
        "both were backlogged for only {} of {} reads",
        contested.len(),
        reads.len()
    );
    for pusher in [0, 1] {
        let share = contested.iter().filter(|p| **p == pusher).count();
        assert!(
            share * 100 >= contested.len() * 45,
            "pusher {pusher} got {share} of {} contested reads",
            contested.len()
        );
    }
    let longest = contested
        .chunk_by(|a, b| a == b)
        .map(<[u64]>::len)
        .max()
        .unwrap_or(0);
    assert!(
        longest <= 2,
        "{longest} contested reads in a row from one pusher"
    );
}

#[test]
fn rfc30_pull_fair_queues_a_fast_and_a_slow_pusher() {
    for_each_seed("rfc30_pull_fair_queues_a_fast_and_a_slow_pusher", |seed| {
        let reads = run_fairness(seed, |sim| random_link(sim.rng(), 3).window(1024));
        check_fair(&reads);
    });
}
