//! Helpers shared by the scenarios: tagged messages, random link settings, trace queries.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use sim::{CloseCause, ConnId, Faults, LinkConfig, NodeConfig, NodeId, Rng, TraceEvent, Traced};
use zmtp_proto::{CurveSecretKey, MechanismConfig, Msg, RngSeed, Traffic};

/// A message whose last frame says who sent it and its sequence number: `"<sender>:<seq>"`,
/// after an optional topic, padded with `.` to `pad` octets.
pub fn tagged(topic: &[u8], sender: u64, seq: u64, pad: usize) -> Msg {
    let mut body = topic.to_vec();
    body.extend_from_slice(format!("{sender}:{seq}").as_bytes());
    while body.len() < pad {
        body.push(b'.');
    }
    Msg::single(Bytes::from(body))
}

/// The `(sender, seq)` of a [`tagged`] message (its last frame), skipping `topic_len` octets.
pub fn tag_of(msg: &Msg, topic_len: usize) -> (u64, u64) {
    let body = msg.frames().last().expect("a frame");
    let tag = &body[topic_len..];
    let end = tag.iter().position(|&b| b == b'.').unwrap_or(tag.len());
    let colon = tag.iter().position(|&b| b == b':').expect("sender:seq");
    let number = |digits: &[u8]| {
        digits.iter().fold(0u64, |n, d| {
            assert!(d.is_ascii_digit(), "a tag is decimal");
            n * 10 + u64::from(d - b'0')
        })
    };
    (number(&tag[..colon]), number(&tag[colon + 1..end]))
}

/// A link with random latency (up to `max_latency_ms`) and random cutting of writes.
pub fn random_link(rng: &mut Rng, max_latency_ms: u64) -> LinkConfig {
    let lo = Duration::from_micros(rng.below(200) + 10);
    let hi = lo + Duration::from_micros(rng.below(max_latency_ms * 1000));
    LinkConfig::default()
        .latency(lo, hi)
        .max_pieces(rng.in_range(1..=8))
}

/// Random resets: connections live 30 ms to 400 ms, links refuse 1 ms to 150 ms afterwards.
pub fn flaky() -> Faults {
    Faults {
        up: (Duration::from_millis(30), Duration::from_millis(400)),
        down: (Duration::from_millis(1), Duration::from_millis(150)),
        half_open: false,
    }
}

/// Like [`flaky`], but half the failures are silent (half-open connections): only
/// heartbeats find them.
pub fn flaky_half_open() -> Faults {
    Faults {
        half_open: true,
        ..flaky()
    }
}

/// Whether a connection failed (rather than being closed in order by one end).
pub fn broke(cause: &CloseCause) -> bool {
    matches!(
        cause,
        CloseCause::Reset | CloseCause::Session(_) | CloseCause::ConnectTimedOut
    )
}

/// Connections that a node saw end, with when.
pub fn closed_conns(trace: &[Traced]) -> BTreeMap<ConnId, Vec<(NodeId, CloseCause)>> {
    let mut out: BTreeMap<ConnId, Vec<(NodeId, CloseCause)>> = BTreeMap::new();
    for t in trace {
        if let TraceEvent::Closed { node, conn, cause } = &t.event {
            out.entry(*conn).or_default().push((*node, cause.clone()));
        }
    }
    out
}

/// Number of connection failures in the trace, counted at each end (see [`broke`]).
pub fn failures(trace: &[Traced]) -> usize {
    trace
        .iter()
        .filter(|t| matches!(&t.event, TraceEvent::Closed { cause, .. } if broke(cause)))
        .count()
}

/// The message inside traffic, if it is one.
pub fn message(traffic: &Traffic) -> Option<&Msg> {
    match traffic {
        Traffic::Message(m) => Some(m),
        _ => None,
    }
}

/// The security mechanism a scenario runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// NULL.
    Null,
    /// PLAIN; the driver accepts every user, as libzmq without a ZAP handler.
    Plain,
    /// CURVE, with fixed long-term keys.
    Curve,
}

/// `config` set up as the server (the binding side) or a client of `security`.
pub fn secure(mut config: NodeConfig, security: Security, server: bool) -> NodeConfig {
    let server_secret = CurveSecretKey::from([7u8; 32]);
    let client_secret = CurveSecretKey::from([9u8; 32]);
    config.session.mechanism = match (security, server) {
        (Security::Null, _) => MechanismConfig::Null,
        (Security::Plain, true) => MechanismConfig::PlainServer,
        (Security::Plain, false) => MechanismConfig::PlainClient {
            username: Bytes::from_static(b"user"),
            password: Bytes::from_static(b"secret"),
        },
        (Security::Curve, true) => MechanismConfig::CurveServer {
            public: server_secret.public_key(),
            secret: server_secret,
        },
        (Security::Curve, false) => MechanismConfig::CurveClient {
            server_public: server_secret.public_key(),
            public: client_secret.public_key(),
            secret: client_secret,
        },
    };
    if security == Security::Curve {
        // Replaced by a fresh seed for every connection.
        config.session.rng_seed = Some(RngSeed::new([0; 32]));
    }
    config
}
