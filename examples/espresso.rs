//! # espresso: the zguide's pub-sub proxy with a capture socket
//!
//! A publisher (PUB) sends random "X-12345" updates; a subscriber (SUB) wants only those
//! starting with "A" or "B". Between them sits a proxy: an XSUB socket facing the publisher
//! and an XPUB socket facing the subscribers. Subscriptions flow upstream through it and
//! updates flow downstream, and the proxy copies *everything* it relays to a capture socket,
//! where a listener prints it: the subscriptions (0x01 + prefix) as well as the updates.
//!
//! ```text
//! publisher PUB ──▶ XSUB [proxy] XPUB ──▶ SUB subscriber
//!                         │ capture (PAIR, inproc)
//!                         ▼
//!                      listener
//!
//! cargo run --release --example espresso              # 5 updates for the subscriber
//! cargo run --release --example espresso -- 20
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use zmq_rs::{Context, Socket};

/// The proxy's sockets.
#[derive(Debug)]
pub struct Proxy {
    /// Connects to the publishers.
    pub upstream: Socket,
    /// Subscribers connect here.
    pub downstream: Socket,
    /// Gets a copy of every message relayed.
    pub capture: Socket,
}

impl Proxy {
    /// Connects upstream to `publisher`, binds `subscribers` downstream and `capture` for the
    /// listener.
    pub fn new(
        ctx: &Context,
        publisher: &str,
        subscribers: &str,
        capture: &str,
    ) -> zmq_rs::Result<Self> {
        let upstream = ctx.socket(zmq_rs::XSUB)?;
        upstream.connect(publisher)?;
        let downstream = ctx.socket(zmq_rs::XPUB)?;
        downstream.bind(subscribers)?;
        let capture_socket = ctx.socket(zmq_rs::PAIR)?;
        capture_socket.bind(capture)?;
        Ok(Self {
            upstream,
            downstream,
            capture: capture_socket,
        })
    }

    /// Relays until `control` receives TERMINATE (or forever without one).
    pub fn run(&self, control: Option<&Socket>) -> zmq_rs::Result<()> {
        match control {
            Some(control) => zmq_rs::proxy_steerable(
                &self.upstream,
                &self.downstream,
                Some(&self.capture),
                control,
            ),
            None => zmq_rs::proxy(&self.upstream, &self.downstream, Some(&self.capture)),
        }
    }
}

/// Publishes a random update every `pause` until `stop` is set. Returns how many it sent.
pub fn publisher_task(
    publisher: &Socket,
    pause: Duration,
    stop: &AtomicBool,
) -> zmq_rs::Result<u64> {
    let mut state: u64 = 0x853c_49e6_748f_ea9b;
    let mut sent = 0;
    while !stop.load(Ordering::SeqCst) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let letter = char::from(b'A' + (state % 10) as u8);
        publisher.send(format!("{letter}-{:05}", (state >> 8) % 100_000), 0)?;
        sent += 1;
        std::thread::sleep(pause);
    }
    Ok(sent)
}

/// Subscribes to `prefixes` and returns the first `count` updates.
pub fn subscriber_task(
    ctx: &Context,
    endpoint: &str,
    prefixes: &[&str],
    count: usize,
) -> zmq_rs::Result<Vec<String>> {
    let subscriber = ctx.socket(zmq_rs::SUB)?;
    subscriber.connect(endpoint)?;
    for prefix in prefixes {
        subscriber.set_subscribe(prefix.as_bytes())?;
    }
    (0..count)
        .map(|_| Ok(subscriber.recv_string(0)?.unwrap_or_default()))
        .collect()
}

/// Prints every captured frame until `stop` is set; returns them.
pub fn listener_task(
    ctx: &Context,
    capture: &str,
    stop: &AtomicBool,
) -> zmq_rs::Result<Vec<Vec<u8>>> {
    let pipe = ctx.socket(zmq_rs::PAIR)?;
    pipe.set_rcvtimeo(50)?;
    pipe.connect(capture)?;
    let mut captured = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        match pipe.recv_bytes(0) {
            Ok(frame) => {
                println!("captured {}", printable(&frame));
                captured.push(frame);
            }
            Err(zmq_rs::Error::WouldBlock) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(captured)
}

/// Text as text, anything else (such as a subscription's 0x01) as hex.
pub fn printable(frame: &[u8]) -> String {
    match std::str::from_utf8(frame) {
        Ok(text) if text.chars().all(|c| !c.is_control()) => format!("[{text}]"),
        _ => frame.iter().map(|b| format!("{b:02X}")).collect(),
    }
}

/// What the whole demonstration saw.
#[derive(Debug)]
pub struct Report {
    /// What the subscriber received.
    pub received: Vec<String>,
    /// What the listener captured.
    pub captured: Vec<Vec<u8>>,
}

/// The zguide's demonstration, in one process over tcp (ephemeral ports): the subscriber
/// takes `updates` updates starting with A or B, then everything stops.
pub fn run(updates: usize) -> zmq_rs::Result<Report> {
    let ctx = Context::new();
    let publisher = ctx.socket(zmq_rs::PUB)?;
    publisher.bind("tcp://127.0.0.1:*")?;
    let proxy = Proxy::new(
        &ctx,
        &publisher.get_last_endpoint()?,
        "tcp://127.0.0.1:*",
        "inproc://espresso-capture",
    )?;
    let subscribers = proxy.downstream.get_last_endpoint()?;
    let control = ctx.socket(zmq_rs::PAIR)?;
    control.bind("inproc://espresso-control")?;
    let stop = Arc::new(AtomicBool::new(false));

    let publishing = {
        let stop = stop.clone();
        std::thread::spawn(move || publisher_task(&publisher, Duration::from_millis(10), &stop))
    };
    let listening = {
        let (ctx, stop) = (ctx.clone(), stop.clone());
        std::thread::spawn(move || listener_task(&ctx, "inproc://espresso-capture", &stop))
    };
    let proxying = {
        let ctx = ctx.clone();
        std::thread::spawn(move || -> zmq_rs::Result<()> {
            let control = ctx.socket(zmq_rs::PAIR)?;
            control.connect("inproc://espresso-control")?;
            proxy.run(Some(&control))
        })
    };
    let received = subscriber_task(&ctx, &subscribers, &["A", "B"], updates)?;
    control.send("TERMINATE", 0)?;
    // The listener stays until the proxy has stopped: the proxy copies to the capture socket
    // with a blocking send (as libzmq's), and a PAIR without its peer would block it for good
    // (the subscriber's departure still makes XPUB relay an unsubscribe after TERMINATE).
    proxying.join().expect("proxy thread")?;
    stop.store(true, Ordering::SeqCst);
    publishing.join().expect("publisher thread")?;
    let captured = listening.join().expect("listener thread")?;
    Ok(Report { received, captured })
}

fn main() -> zmq_rs::Result<()> {
    let updates = std::env::args()
        .nth(1)
        .map_or(5, |n| n.parse().expect("UPDATES must be a number"));
    let report = run(updates)?;
    for update in &report.received {
        println!("subscriber got {update}");
    }
    println!(
        "espresso: the subscriber got {} updates; the listener captured {} frames",
        report.received.len(),
        report.captured.len()
    );
    Ok(())
}
