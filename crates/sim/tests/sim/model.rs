//! Reference models and random walks (firezone's approach, without proptest): a seeded walk
//! of transitions — `UserSend`, `PeerConnect`, `PeerDisconnect`, `Tick` (plus subscription
//! changes for PUB/SUB) — applied both to the simulation and to a tiny model of what RFC 29
//! and RFC 30 promise. After each transition the world settles (`run_until_idle`), and the
//! model must predict the observable state exactly: which links are up, what each send
//! returns, and which application received which message.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use patterns::{PatternOption, SendErrorKind};
use sim::{LinkId, NodeConfig, NodeId, RecvPolicy, Sim, for_each_seed};
use zmtp_proto::SocketType;

use crate::support::{random_link, tag_of, tagged};

/// Long enough to count as forever within a walk; the walk heals links explicitly.
const FOREVER: Duration = Duration::from_secs(3600);

/// The transitions of the pipeline walk.
#[derive(Debug, Clone, Copy)]
enum PipelineStep {
    UserSend(usize),
    PeerDisconnect(usize),
    PeerConnect(usize),
    Tick(u64),
}

fn pipeline_step(sim: &mut Sim, pullers: usize) -> PipelineStep {
    let rng = sim.rng();
    match rng.below(10) {
        0..=4 => PipelineStep::UserSend(rng.in_range(1..=5)),
        5 | 6 => PipelineStep::PeerDisconnect(rng.below(pullers as u64) as usize),
        7 | 8 => PipelineStep::PeerConnect(rng.below(pullers as u64) as usize),
        _ => PipelineStep::Tick(rng.below(300)),
    }
}

/// RFC 30 model. A PUSH connects to three PULLs. With IMMEDIATE off its pipes outlive the
/// connections, so a message may wait in the pipe of a partitioned peer (and only there);
/// with IMMEDIATE on, there are pipes only to connected peers. Either way a settled world
/// has lost nothing: every message sent is received exactly once or is still queued.
fn pipeline_walk(seed: u64, immediate: bool) {
    let mut sim = Sim::new(seed);
    let push = sim.add_node(NodeConfig::new(SocketType::Push).immediate(immediate));
    let pulls: Vec<NodeId> = (0..3)
        .map(|_| sim.add_node(NodeConfig::new(SocketType::Pull).recv(RecvPolicy::Eager)))
        .collect();
    let links: Vec<LinkId> = pulls
        .iter()
        .map(|&p| {
            let config = random_link(sim.rng(), 3);
            sim.connect(push, p, config)
        })
        .collect();
    sim.run_until_idle();
    // The model.
    let mut partitioned = [false; 3];
    let mut sent = 0u64;
    let mut received: Vec<Option<usize>> = Vec::new();
    for step in 0..300 {
        let transition = pipeline_step(&mut sim, pulls.len());
        match transition {
            PipelineStep::UserSend(n) => {
                for _ in 0..n {
                    let result = sim.send(push, tagged(b"", 0, sent, 0));
                    let has_pipe = !immediate || partitioned.contains(&false);
                    match result {
                        Ok(()) => {
                            assert!(has_pipe, "step {step}: sent without a pipe");
                            sent += 1;
                            received.push(None);
                        }
                        Err(e) => {
                            assert!(!has_pipe, "step {step}: refused {e:?} with a pipe");
                            assert_eq!(e.kind, SendErrorKind::WouldBlock);
                        }
                    }
                }
            }
            PipelineStep::PeerDisconnect(i) => {
                sim.partition(links[i], FOREVER);
                partitioned[i] = true;
            }
            PipelineStep::PeerConnect(i) => {
                sim.heal(links[i]);
                partitioned[i] = false;
            }
            PipelineStep::Tick(ms) => sim.run_for(Duration::from_millis(ms)),
        }
        sim.run_until_idle();
        // Links: up exactly when not partitioned.
        for (i, &link) in links.iter().enumerate() {
            assert_eq!(
                sim.is_connected(link),
                !partitioned[i],
                "step {step} {transition:?}: link {i}"
            );
        }
        // Messages: each received at most once, in order per puller...
        for (i, &pull) in pulls.iter().enumerate() {
            let mut last = None;
            for d in sim.take_inbox(pull) {
                let (_, seq) = tag_of(&d.msg, 0);
                assert!(last < Some(seq), "step {step}: out of order at puller {i}");
                last = Some(seq);
                let slot = &mut received[seq as usize];
                assert_eq!(*slot, None, "step {step}: {seq} received twice");
                *slot = Some(i);
            }
        }
        // ... and what is not received waits in a pipe of a partitioned peer.
        let missing = received.iter().filter(|r| r.is_none()).count();
        let (queued_out, _) = sim.queued(push);
        assert_eq!(
            missing, queued_out,
            "step {step} {transition:?}: lost messages"
        );
        for (i, &link) in links.iter().enumerate() {
            let waiting = sim
                .peer_of(push, link)
                .and_then(|p| sim.pattern(push).peer_stats(p))
                .map_or(0, |s| s.queued_out);
            assert!(
                waiting == 0 || partitioned[i],
                "step {step}: {waiting} wait for connected peer {i}"
            );
        }
        if immediate {
            assert_eq!(missing, 0, "step {step}: IMMEDIATE parks nothing");
        }
    }
    // Heal everything: the parked messages arrive.
    for &link in &links {
        sim.heal(link);
    }
    sim.run_until_idle();
    for (i, &pull) in pulls.iter().enumerate() {
        for d in sim.take_inbox(pull) {
            let (_, seq) = tag_of(&d.msg, 0);
            assert_eq!(received[seq as usize], None, "{seq} received twice");
            received[seq as usize] = Some(i);
        }
    }
    assert!(
        received.iter().all(Option::is_some),
        "all delivered once healed"
    );
    assert!(sent > 50, "the walk sent little: {sent}");
}

#[test]
fn rfc30_model_walk_push_pull_parks_and_delivers_exactly() {
    for_each_seed("rfc30_model_walk_push_pull", |seed| {
        pipeline_walk(seed, false);
        pipeline_walk(seed, true);
    });
}

/// The transitions of the PUB/SUB walk.
#[derive(Debug, Clone, Copy)]
enum PubSubStep {
    Subscribe(usize, &'static [u8]),
    Unsubscribe(usize, &'static [u8]),
    UserSend(&'static [u8]),
    PeerDisconnect(usize),
    PeerConnect(usize),
    Tick(u64),
}

const PREFIXES: [&[u8]; 5] = [b"", b"a", b"ab", b"b", b"abc"];
const TOPICS: [&[u8]; 5] = [b"a", b"ab", b"abc", b"b", b"c"];

fn pubsub_step(sim: &mut Sim, subs: usize) -> PubSubStep {
    let rng = sim.rng();
    let sub = rng.below(subs as u64) as usize;
    let prefix = *rng.pick(&PREFIXES).expect("prefixes");
    match rng.below(12) {
        0 | 1 => PubSubStep::Subscribe(sub, prefix),
        2 | 3 => PubSubStep::Unsubscribe(sub, prefix),
        4..=7 => PubSubStep::UserSend(rng.pick(&TOPICS).expect("topics")),
        8 => PubSubStep::PeerDisconnect(sub),
        9 | 10 => PubSubStep::PeerConnect(sub),
        _ => PubSubStep::Tick(rng.below(300)),
    }
}

/// RFC 29 model: each SUB's subscriptions counted per prefix (subscribing twice needs two
/// unsubscribes, as in libzmq), links up unless partitioned. Once settled, a publication
/// reaches exactly the connected subscribers with a matching prefix.
///
/// With `publisher_connects`, the PUB connects to bound SUBs. Its pipes then outlive the
/// connections, as in libzmq ("queues will fill on outgoing connections even if the
/// connection has not completed", ZMQ_IMMEDIATE): a message published while a subscriber
/// is away waits in that subscriber's pipe if it matches the subscriptions the pipe holds
/// (a set: what the subscriber announced, less what it cancelled, while connected; a
/// subscriber announces its whole current set again on each connection), and on reconnect
/// the subscriber keeps those that match its own current set.
fn pubsub_walk(seed: u64, publisher_connects: bool) {
    let mut sim = Sim::new(seed);
    let publisher = sim.add_node(NodeConfig::new(SocketType::Pub));
    let subs: Vec<NodeId> = (0..3)
        .map(|_| sim.add_node(NodeConfig::new(SocketType::Sub).recv(RecvPolicy::Eager)))
        .collect();
    let links: Vec<LinkId> = subs
        .iter()
        .map(|&s| {
            let config = random_link(sim.rng(), 3);
            if publisher_connects {
                sim.connect(publisher, s, config)
            } else {
                sim.connect(s, publisher, config)
            }
        })
        .collect();
    let mut partitioned = [false; 3];
    let mut subscribed: Vec<BTreeMap<&[u8], usize>> = vec![BTreeMap::new(); 3];
    // The publisher's view, per pipe, when its pipes are kept; and what waits in them.
    let mut pipe_subs: Vec<BTreeSet<&[u8]>> = vec![BTreeSet::new(); 3];
    let mut parked: Vec<Vec<(&[u8], u64)>> = vec![Vec::new(); 3];
    let mut seq = 0;
    let mut deliveries = 0;
    for step in 0..400 {
        let transition = pubsub_step(&mut sim, subs.len());
        let mut expected: Vec<Vec<u64>> = vec![Vec::new(); 3];
        match transition {
            PubSubStep::Subscribe(i, prefix) => {
                sim.set_option(
                    subs[i],
                    PatternOption::Subscribe(Bytes::from_static(prefix)),
                )
                .expect("subscribe");
                *subscribed[i].entry(prefix).or_default() += 1;
                if !partitioned[i] {
                    pipe_subs[i].insert(prefix);
                }
            }
            PubSubStep::Unsubscribe(i, prefix) => {
                sim.set_option(
                    subs[i],
                    PatternOption::Unsubscribe(Bytes::from_static(prefix)),
                )
                .expect("unsubscribe");
                if let Some(n) = subscribed[i].get_mut(prefix) {
                    *n -= 1;
                    if *n == 0 {
                        subscribed[i].remove(prefix);
                        if !partitioned[i] {
                            pipe_subs[i].remove(prefix);
                        }
                    }
                }
            }
            PubSubStep::UserSend(topic) => {
                sim.send(publisher, tagged(topic, 0, seq, 0))
                    .expect("PUB never refuses");
                for i in 0..subs.len() {
                    if !partitioned[i] {
                        if subscribed[i].keys().any(|p| topic.starts_with(p)) {
                            expected[i].push(seq);
                        }
                    } else if publisher_connects
                        && pipe_subs[i].iter().any(|p| topic.starts_with(p))
                    {
                        parked[i].push((topic, seq));
                    }
                }
                seq += 1;
            }
            PubSubStep::PeerDisconnect(i) => {
                sim.partition(links[i], FOREVER);
                partitioned[i] = true;
            }
            PubSubStep::PeerConnect(i) => {
                sim.heal(links[i]);
                if partitioned[i] {
                    for (topic, n) in parked[i].drain(..) {
                        if subscribed[i].keys().any(|p| topic.starts_with(p)) {
                            expected[i].push(n);
                        }
                    }
                    pipe_subs[i].extend(subscribed[i].keys().copied());
                }
                partitioned[i] = false;
            }
            PubSubStep::Tick(ms) => sim.run_for(Duration::from_millis(ms)),
        }
        sim.run_until_idle();
        for (i, &sub) in subs.iter().enumerate() {
            assert_eq!(
                sim.is_connected(links[i]),
                !partitioned[i],
                "step {step} {transition:?}: link {i}"
            );
            let got: Vec<u64> = sim
                .take_inbox(sub)
                .iter()
                .map(|d| {
                    tag_of(
                        &d.msg,
                        d.msg.first().map_or(0, |b| {
                            b.iter().take_while(|c| c.is_ascii_alphabetic()).count()
                        }),
                    )
                    .1
                })
                .collect();
            assert_eq!(
                got,
                expected[i],
                "step {step} {transition:?}: subscriber {i} with {:?}",
                subscribed[i].keys().collect::<Vec<_>>()
            );
            deliveries += got.len();
        }
    }
    assert!(deliveries > 20, "the walk delivered little: {deliveries}");
}

#[test]
fn rfc29_model_walk_pub_sub_delivers_exactly_to_matching_connected_subscribers() {
    for_each_seed("rfc29_model_walk_pub_sub", |seed| {
        pubsub_walk(seed, false);
        pubsub_walk(seed, true);
    });
}

/// The transitions of the RADIO/DISH walk.
#[derive(Debug, Clone, Copy)]
enum GroupStep {
    Join(usize, &'static [u8]),
    Leave(usize, &'static [u8]),
    UserSend(&'static [u8]),
    PeerDisconnect(usize),
    PeerConnect(usize),
    Tick(u64),
}

const GROUPS: [&[u8]; 4] = [b"news", b"weather", b"new", b"sport"];

/// RFC 48 model: each DISH's set of groups (joining twice or leaving a group not joined is
/// refused with EINVAL), links up unless partitioned. Once settled, a message reaches
/// exactly the connected dishes that joined its group (exact match, not prefix).
fn radio_dish_walk(seed: u64) {
    let mut sim = Sim::new(seed);
    let radio = sim.add_node(NodeConfig::new(SocketType::Radio));
    let dishes: Vec<NodeId> = (0..3)
        .map(|_| sim.add_node(NodeConfig::new(SocketType::Dish).recv(RecvPolicy::Eager)))
        .collect();
    let links: Vec<LinkId> = dishes
        .iter()
        .map(|&d| {
            let config = random_link(sim.rng(), 3);
            sim.connect(d, radio, config)
        })
        .collect();
    let mut partitioned = [false; 3];
    let mut joined: Vec<BTreeSet<&[u8]>> = vec![BTreeSet::new(); 3];
    let mut seq = 0u64;
    let mut deliveries = 0;
    for step in 0..300 {
        let transition = {
            let rng = sim.rng();
            let dish = rng.below(3) as usize;
            let group = *rng.pick(&GROUPS).expect("groups");
            match rng.below(12) {
                0 | 1 => GroupStep::Join(dish, group),
                2 => GroupStep::Leave(dish, group),
                3..=6 => GroupStep::UserSend(group),
                7 => GroupStep::PeerDisconnect(dish),
                8 | 9 => GroupStep::PeerConnect(dish),
                _ => GroupStep::Tick(rng.below(300)),
            }
        };
        let mut published = None;
        match transition {
            GroupStep::Join(i, group) => {
                let result =
                    sim.set_option(dishes[i], PatternOption::Join(Bytes::from_static(group)));
                assert_eq!(result.is_ok(), joined[i].insert(group), "step {step}: join");
            }
            GroupStep::Leave(i, group) => {
                let result =
                    sim.set_option(dishes[i], PatternOption::Leave(Bytes::from_static(group)));
                assert_eq!(
                    result.is_ok(),
                    joined[i].remove(group),
                    "step {step}: leave"
                );
            }
            GroupStep::UserSend(group) => {
                let body = Bytes::from(format!("0:{seq}"));
                let msg = zmtp_proto::Msg::from_frames([Bytes::from_static(group), body]);
                sim.send(radio, msg).expect("RADIO never refuses");
                published = Some((group, seq));
                seq += 1;
            }
            GroupStep::PeerDisconnect(i) => {
                sim.partition(links[i], FOREVER);
                partitioned[i] = true;
            }
            GroupStep::PeerConnect(i) => {
                sim.heal(links[i]);
                partitioned[i] = false;
            }
            GroupStep::Tick(ms) => sim.run_for(Duration::from_millis(ms)),
        }
        sim.run_until_idle();
        for (i, &dish) in dishes.iter().enumerate() {
            assert_eq!(sim.is_connected(links[i]), !partitioned[i], "step {step}");
            let got: Vec<(Bytes, u64)> = sim
                .take_inbox(dish)
                .iter()
                .map(|d| {
                    (
                        Bytes::copy_from_slice(&d.msg.frames()[0]),
                        tag_of(&d.msg, 0).1,
                    )
                })
                .collect();
            let expected: Vec<(Bytes, u64)> = match published {
                Some((group, n)) if !partitioned[i] && joined[i].contains(group) => {
                    vec![(Bytes::from_static(group), n)]
                }
                _ => vec![],
            };
            assert_eq!(
                got, expected,
                "step {step} {transition:?}: dish {i} in {:?}",
                joined[i]
            );
            deliveries += got.len();
        }
    }
    assert!(deliveries > 20, "the walk delivered little: {deliveries}");
}

#[test]
fn rfc48_model_walk_radio_dish_delivers_exactly_to_joined_connected_dishes() {
    for_each_seed("rfc48_model_walk_radio_dish", radio_dish_walk);
}
