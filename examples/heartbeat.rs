//! # heartbeat: notice when a peer stops responding
//!
//! A *heartbeater* pings every heart on a PUB socket and collects the answers on a ROUTER
//! socket, where each heart is known by the routing id of its DEALER. A *heart* subscribes to
//! the pings (SUB) and sends each one straight back (DEALER). A heart that misses LIVENESS
//! pings in a row is reported lost; one that answers again is reported back.
//!
//! ```text
//!                 PUB  ── ping 7 ──▶  SUB   ┐
//!   heartbeater                             ├ heart-1, heart-2, ...
//!                 ROUTER ◀─ ping 7 ── DEALER┘   (routing id = the heart's name)
//! ```
//!
//! Run it:
//!
//! ```text
//! cargo run --release --example heartbeat                      # the whole demonstration
//! cargo run --release --example heartbeat -- demo 8            # ... with 8 hearts
//! cargo run --release --example heartbeat -- heartbeater tcp://*:5555 tcp://*:5556
//! cargo run --release --example heartbeat -- heart tcp://127.0.0.1:5555 tcp://127.0.0.1:5556 alice
//! ```
//!
//! The demonstration starts a heartbeater and five hearts in one process over tcp, stops one
//! heart on purpose, shows the heartbeater noticing, and exits by itself (status 0, or 1 if the
//! loss went unnoticed). The heartbeater and hearts also run as separate processes; stop them
//! with Ctrl-C. A heart is an echo: a libzmq SUB+DEALER pair that sends back what it receives
//! is a heart too.
//!
//! This is application-level heartbeating, which tells you a *peer application* is alive.
//! ZMTP's own PING/PONG (the HEARTBEAT_IVL option) keeps a *connection* honest instead.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zmq_rs::{Context, POLLIN, PollItem, Socket};

/// How often to ping and how many pings a heart may miss.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Time between pings.
    pub interval: Duration,
    /// Pings a heart may miss in a row before it is reported lost.
    pub liveness: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(200),
            liveness: 3,
        }
    }
}

/// Something the heartbeater noticed.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A heart answered for the first time.
    Joined {
        heart: String,
        ping: u64,
        round_trip: Duration,
    },
    /// A heart missed `missed` pings in a row.
    Lost {
        heart: String,
        missed: u64,
        silent_for: Duration,
    },
    /// A lost heart answered again.
    Back { heart: String, ping: u64 },
    /// Every few pings: how many hearts answer.
    Status {
        ping: u64,
        alive: usize,
        known: usize,
    },
}

/// What the heartbeater knows of one heart.
#[derive(Debug)]
struct Heart {
    last_ping: u64,
    last_seen: Instant,
    alive: bool,
}

/// Pings on PUB, collects answers on ROUTER.
#[derive(Debug)]
pub struct Heartbeater {
    pings: Socket,
    pongs: Socket,
    settings: Settings,
    sequence: u64,
    sent: VecDeque<(u64, Instant)>,
    hearts: BTreeMap<String, Heart>,
    next_ping: Instant,
}

impl Heartbeater {
    /// Binds the ping (PUB) and pong (ROUTER) sockets.
    pub fn bind(
        ctx: &Context,
        ping_endpoint: &str,
        pong_endpoint: &str,
        settings: Settings,
    ) -> zmq_rs::Result<Self> {
        let pings = ctx.socket(zmq_rs::PUB)?;
        pings.set_linger(0)?;
        pings.bind(ping_endpoint)?;
        let pongs = ctx.socket(zmq_rs::ROUTER)?;
        pongs.set_linger(0)?;
        pongs.bind(pong_endpoint)?;
        Ok(Self {
            pings,
            pongs,
            settings,
            sequence: 0,
            sent: VecDeque::new(),
            hearts: BTreeMap::new(),
            next_ping: Instant::now(),
        })
    }

    /// The endpoints the hearts connect to: (pings, pongs).
    pub fn endpoints(&self) -> zmq_rs::Result<(String, String)> {
        Ok((
            self.pings.get_last_endpoint()?,
            self.pongs.get_last_endpoint()?,
        ))
    }

    /// One turn of the loop: sends a ping if one is due, then waits for answers until the
    /// next one is. Returns what it noticed.
    pub fn step(&mut self) -> zmq_rs::Result<Vec<Event>> {
        let mut events = Vec::new();
        let now = Instant::now();
        if now >= self.next_ping {
            self.ping(now, &mut events)?;
        }
        let wait = self.next_ping.saturating_duration_since(Instant::now());
        let mut items = [PollItem::new(&self.pongs, POLLIN)];
        let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
        if zmq_rs::poll(&mut items, wait_ms)? > 0 {
            while let Ok(frames) = self.pongs.recv_multipart(zmq_rs::DONTWAIT) {
                self.pong(&frames, &mut events);
            }
        }
        Ok(events)
    }

    /// The number of pings sent so far.
    pub fn pings_sent(&self) -> u64 {
        self.sequence
    }

    /// The names of the hearts answering now.
    pub fn alive(&self) -> Vec<String> {
        self.hearts
            .iter()
            .filter(|(_, h)| h.alive)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Judges every heart on the pings so far, then sends the next ping.
    fn ping(&mut self, now: Instant, events: &mut Vec<Event>) -> zmq_rs::Result<()> {
        for (name, heart) in &mut self.hearts {
            let missed = self.sequence.saturating_sub(heart.last_ping);
            if heart.alive && missed >= self.settings.liveness {
                heart.alive = false;
                events.push(Event::Lost {
                    heart: name.clone(),
                    missed,
                    silent_for: now.duration_since(heart.last_seen),
                });
            }
        }
        self.sequence += 1;
        self.pings.send(self.sequence.to_string(), 0)?;
        self.sent.push_back((self.sequence, now));
        while self.sent.len() > 64 {
            self.sent.pop_front();
        }
        if self.sequence % 5 == 0 && !self.hearts.is_empty() {
            events.push(Event::Status {
                ping: self.sequence,
                alive: self.hearts.values().filter(|h| h.alive).count(),
                known: self.hearts.len(),
            });
        }
        // Keep to the schedule, but never try to catch up on pings missed while busy.
        self.next_ping = (self.next_ping + self.settings.interval).max(now);
        Ok(())
    }

    /// One answer: [routing id, ping number].
    fn pong(&mut self, frames: &[Vec<u8>], events: &mut Vec<Event>) {
        let [id, body] = frames else {
            return; // Not a heart's answer: ignore it.
        };
        let Some(ping) = std::str::from_utf8(body)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        else {
            return;
        };
        let now = Instant::now();
        let name = String::from_utf8_lossy(id).into_owned();
        match self.hearts.get_mut(&name) {
            None => {
                let sent = self.sent.iter().find(|(n, _)| *n == ping);
                events.push(Event::Joined {
                    heart: name.clone(),
                    ping,
                    round_trip: sent.map_or(Duration::ZERO, |(_, at)| now.duration_since(*at)),
                });
                self.hearts.insert(
                    name,
                    Heart {
                        last_ping: ping,
                        last_seen: now,
                        alive: true,
                    },
                );
            }
            Some(heart) => {
                heart.last_ping = heart.last_ping.max(ping);
                heart.last_seen = now;
                if !heart.alive {
                    heart.alive = true;
                    events.push(Event::Back { heart: name, ping });
                }
            }
        }
    }
}

/// A heart: answers every ping until `stop` is set. Returns how many it answered.
pub fn run_heart(
    ctx: &Context,
    ping_endpoint: &str,
    pong_endpoint: &str,
    name: &str,
    stop: &AtomicBool,
) -> zmq_rs::Result<u64> {
    let pings = ctx.socket(zmq_rs::SUB)?;
    pings.set_linger(0)?;
    pings.set_subscribe(b"")?;
    pings.set_rcvtimeo(50)?;
    pings.connect(ping_endpoint)?;
    let pongs = ctx.socket(zmq_rs::DEALER)?;
    pongs.set_linger(0)?;
    pongs.set_routing_id(name.as_bytes())?;
    pongs.connect(pong_endpoint)?;
    let mut answered = 0;
    while !stop.load(Ordering::SeqCst) {
        match pings.recv_bytes(0) {
            Ok(ping) => {
                pongs
                    .send(ping, zmq_rs::DONTWAIT)
                    .or_else(ignore_would_block)?;
                answered += 1;
            }
            Err(zmq_rs::Error::WouldBlock) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(answered)
}

/// A heart whose answers cannot leave (no connection yet) just misses that ping.
fn ignore_would_block(e: zmq_rs::Error) -> zmq_rs::Result<()> {
    if e.is_would_block() { Ok(()) } else { Err(e) }
}

/// One line of narration for an event.
pub fn describe(event: &Event) -> String {
    match event {
        Event::Joined {
            heart,
            ping,
            round_trip,
        } => format!(
            "{heart} joined: answered ping {ping} in {:.2} ms",
            round_trip.as_secs_f64() * 1e3
        ),
        Event::Lost {
            heart,
            missed,
            silent_for,
        } => format!(
            "{heart} LOST: missed {missed} pings in a row, silent for {:.2} s",
            silent_for.as_secs_f64()
        ),
        Event::Back { heart, ping } => format!("{heart} is back: answered ping {ping}"),
        Event::Status { ping, alive, known } => {
            format!("ping {ping}: {alive} of {known} hearts answering")
        }
    }
}

/// How the demonstration went.
#[derive(Debug)]
pub struct DemoReport {
    /// Everything the heartbeater noticed, in order.
    pub events: Vec<Event>,
    /// The heart stopped on purpose.
    pub stopped: String,
    /// How long after stopping it the heartbeater reported it lost (`None`: it did not).
    pub noticed_after: Option<Duration>,
    /// The hearts still answering at the end.
    pub alive_at_end: Vec<String>,
}

/// The demonstration: a heartbeater, `hearts` hearts, heart number `hearts / 2 + 1` stopped
/// after `stop_after` pings; ends `settings.liveness + 2` pings after the loss is noticed, or
/// at `give_up`. Narrates to `out`.
pub fn run_demo(
    hearts: usize,
    settings: Settings,
    stop_after: u64,
    give_up: Duration,
    out: &mut dyn std::io::Write,
) -> zmq_rs::Result<DemoReport> {
    let started = Instant::now();
    let stamp = move || format!("[{:6.3}s]", started.elapsed().as_secs_f64());
    let ctx = Context::new();
    let mut heartbeater =
        Heartbeater::bind(&ctx, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", settings)?;
    let (ping_ep, pong_ep) = heartbeater.endpoints()?;
    let say = |out: &mut dyn std::io::Write, line: String| {
        // The narration is best effort: a closed stdout does not stop the demonstration.
        let _ = writeln!(out, "{line}");
    };
    say(
        out,
        format!(
            "heartbeat: 1 heartbeater, {hearts} hearts, a ping every {} ms; a heart that \
             misses {} pings in a row is reported lost.",
            settings.interval.as_millis(),
            settings.liveness
        ),
    );
    say(
        out,
        format!("  heartbeater  PUB    {ping_ep}  sends the pings"),
    );
    say(
        out,
        format!("               ROUTER {pong_ep}  hears the answers, by DEALER routing id"),
    );

    let victim_index = hearts / 2 + 1;
    let mut flags = Vec::new();
    let mut threads = Vec::new();
    for i in 1..=hearts {
        let stop = Arc::new(AtomicBool::new(false));
        let (ctx, ping_ep, pong_ep, flag) =
            (ctx.clone(), ping_ep.clone(), pong_ep.clone(), stop.clone());
        let name = format!("heart-{i}");
        threads.push(
            std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || run_heart(&ctx, &ping_ep, &pong_ep, &name, &flag))
                .map_err(|e| zmq_rs::Error::InvalidArgument(format!("cannot spawn: {e}")))?,
        );
        flags.push(stop);
    }
    say(
        out,
        format!(
            "{} started heart-1 .. heart-{hearts} (each a SUB for pings and a DEALER named after itself)",
            stamp()
        ),
    );

    let stopped = format!("heart-{victim_index}");
    let mut stopped_at: Option<Instant> = None;
    let mut noticed_after = None;
    let mut finish_at_ping = None;
    let mut events = Vec::new();
    while started.elapsed() < give_up {
        for event in heartbeater.step()? {
            if let Event::Lost { heart, .. } = &event
                && *heart == stopped
                && noticed_after.is_none()
            {
                noticed_after = stopped_at.map(|at| at.elapsed());
                finish_at_ping = Some(heartbeater.pings_sent() + 2);
            }
            say(out, format!("{} {}", stamp(), describe(&event)));
            events.push(event);
        }
        if stopped_at.is_none() && heartbeater.pings_sent() >= stop_after {
            flags[victim_index - 1].store(true, Ordering::SeqCst);
            stopped_at = Some(Instant::now());
            say(out, format!("{} stopping {stopped} on purpose...", stamp()));
        }
        if finish_at_ping.is_some_and(|n| heartbeater.pings_sent() >= n) {
            break;
        }
    }
    let alive_at_end = heartbeater.alive();
    for flag in &flags {
        flag.store(true, Ordering::SeqCst);
    }
    for thread in threads {
        let _ = thread.join();
    }
    match noticed_after {
        Some(after) => say(
            out,
            format!(
                "done: {stopped} was reported lost {:.2} s after it stopped; {} of {hearts} \
                 hearts still answering.",
                after.as_secs_f64(),
                alive_at_end.len()
            ),
        ),
        None => say(
            out,
            format!("done: {stopped} stopped but its loss was NOT noticed in time."),
        ),
    }
    Ok(DemoReport {
        events,
        stopped,
        noticed_after,
        alive_at_end,
    })
}

const USAGE: &str = "usage:
  heartbeat [demo [HEARTS]]                      the whole demonstration in one process
  heartbeat heartbeater PING_ENDPOINT PONG_ENDPOINT   bind, ping, report (Ctrl-C stops)
  heartbeat heart PING_ENDPOINT PONG_ENDPOINT [NAME]  connect, answer pings (Ctrl-C stops)
e.g. heartbeat heartbeater tcp://*:5555 tcp://*:5556
     heartbeat heart tcp://127.0.0.1:5555 tcp://127.0.0.1:5556 alice";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] | ["demo"] => demo(5),
        ["demo", n] => match n.parse() {
            Ok(n) if n >= 2 => demo(n),
            _ => usage(),
        },
        ["heartbeater", ping, pong] => heartbeater(ping, pong),
        ["heart", ping, pong] => heart(ping, pong, &format!("heart-{}", std::process::id())),
        ["heart", ping, pong, name] => heart(ping, pong, name),
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("heartbeat: {e}");
        std::process::exit(1);
    }
}

fn usage() -> zmq_rs::Result<()> {
    eprintln!("{USAGE}");
    std::process::exit(2);
}

fn demo(hearts: usize) -> zmq_rs::Result<()> {
    let report = run_demo(
        hearts,
        Settings::default(),
        8,
        Duration::from_secs(10),
        &mut std::io::stdout(),
    )?;
    if report.noticed_after.is_none() {
        std::process::exit(1);
    }
    Ok(())
}

fn heartbeater(ping: &str, pong: &str) -> zmq_rs::Result<()> {
    let ctx = Context::new();
    let mut hb = Heartbeater::bind(&ctx, ping, pong, Settings::default())?;
    let (ping, pong) = hb.endpoints()?;
    println!("heartbeater: pings on {ping}, answers on {pong}; waiting for hearts (Ctrl-C stops)");
    let started = Instant::now();
    loop {
        for event in hb.step()? {
            println!(
                "[{:8.3}s] {}",
                started.elapsed().as_secs_f64(),
                describe(&event)
            );
        }
    }
}

fn heart(ping: &str, pong: &str, name: &str) -> zmq_rs::Result<()> {
    let ctx = Context::new();
    println!("{name}: answering pings from {ping} on {pong}");
    let never = AtomicBool::new(false);
    run_heart(&ctx, ping, pong, name, &never).map(drop)
}
