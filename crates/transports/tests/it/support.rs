//! Shared helpers: a small mio driver, unique temporary names, and two routines that every
//! transport test uses: establishing a connection and moving bytes both ways under
//! edge-triggered readiness (always drain to `WouldBlock`).

use std::io::{self, IoSlice, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::{Events, Interest, Poll, Token};
use transports::{ConnectStatus, Endpoint, Listener, Stream};

/// The longest any test waits for the network; loopback needs a tiny fraction of it.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub const LISTENER: Token = Token(0);
pub const CLIENT: Token = Token(1);
pub const SERVER: Token = Token(2);

/// A name no other test, process or run uses.
pub fn unique_name(tag: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("zmq-rs-it-{tag}-{}-{n}-{nanos}", std::process::id())
}

/// A fresh path for an ipc socket under the system temporary directory.
pub fn temp_ipc_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{}.ipc", unique_name(tag)))
}

pub fn ep(s: &str) -> Endpoint {
    s.parse()
        .unwrap_or_else(|e| panic!("`{s}` should parse: {e}"))
}

/// One readiness event, copied out of mio's `Events`.
#[derive(Debug, Clone, Copy)]
pub struct Ready {
    pub token: Token,
}

/// A mio `Poll` with its event buffer.
pub struct Net {
    pub poll: Poll,
    events: Events,
    started: Instant,
}

impl Net {
    pub fn new() -> Self {
        Self {
            poll: Poll::new().expect("mio Poll"),
            events: Events::with_capacity(64),
            started: Instant::now(),
        }
    }

    pub fn register(&self, source: &mut impl Source, token: Token, interest: Interest) {
        self.poll
            .registry()
            .register(source, token, interest)
            .expect("register with mio");
    }

    pub fn reregister(&self, source: &mut impl Source, token: Token, interest: Interest) {
        self.poll
            .registry()
            .reregister(source, token, interest)
            .expect("reregister with mio");
    }

    /// Waits up to 50 ms for events; panics once the test's deadline has passed.
    pub fn tick(&mut self) -> Vec<Ready> {
        assert!(
            self.started.elapsed() < DEADLINE,
            "no progress within {DEADLINE:?}"
        );
        match self
            .poll
            .poll(&mut self.events, Some(Duration::from_millis(50)))
        {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Vec::new(),
            Err(e) => panic!("poll failed: {e}"),
        }
        self.events
            .iter()
            .map(|e| Ready { token: e.token() })
            .collect()
    }
}

/// Both ends of an established connection.
pub struct Pair {
    pub client: Stream,
    pub server: Stream,
    /// The peer address `accept` reported.
    pub peer_address: String,
}

/// Drives `listener` and the connecting `client` through mio until the connection is both
/// accepted and reported `Connected`.
pub fn establish(net: &mut Net, listener: &mut Listener, mut client: Stream) -> Pair {
    net.register(listener, LISTENER, Interest::READABLE);
    net.register(&mut client, CLIENT, Interest::READABLE | Interest::WRITABLE);
    let mut connected = false;
    let mut accepted: Option<(Stream, String)> = None;
    while !(connected && accepted.is_some()) {
        for ready in net.tick() {
            match ready.token {
                LISTENER => loop {
                    match listener.accept() {
                        Ok(conn) => {
                            assert!(accepted.is_none(), "only one connection expected");
                            accepted = Some(conn);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("accept failed: {e}"),
                    }
                },
                CLIENT if !connected => match client.connect_status() {
                    Ok(ConnectStatus::Connected) => connected = true,
                    Ok(ConnectStatus::InProgress) => {}
                    Err(e) => panic!("connect failed: {e}"),
                },
                _ => {}
            }
        }
    }
    let (server, peer_address) = accepted.expect("loop ends only once accepted");
    listener
        .deregister(net.poll.registry())
        .expect("deregister listener");
    Pair {
        client,
        server,
        peer_address,
    }
}

/// Deterministic test data.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

struct Side<'a> {
    stream: &'a mut Stream,
    out: Vec<u8>,
    sent: usize,
    received: Vec<u8>,
    expected: usize,
    vectored: bool,
}

impl Side<'_> {
    /// Writes until done or `WouldBlock`, then reads until `WouldBlock`: what edge-triggered
    /// readiness requires, since no further event comes for readiness already reported.
    fn pump(&mut self) {
        while self.sent < self.out.len() {
            let rest = &self.out[self.sent..];
            let result = if self.vectored {
                // Two slices, to go through `write_vectored`.
                let (a, b) = rest.split_at(rest.len() / 2);
                self.stream
                    .write_vectored(&[IoSlice::new(a), IoSlice::new(b)])
            } else {
                self.stream.write(rest)
            };
            match result {
                Ok(0) => panic!("write returned 0"),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => panic!("write failed: {e}"),
            }
        }
        let mut buf = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    assert_eq!(self.received.len(), self.expected, "peer closed early");
                    break;
                }
                Ok(n) => self.received.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    fn done(&self) -> bool {
        self.sent == self.out.len() && self.received.len() >= self.expected
    }
}

/// Sends `len` bytes each way at once through mio, and checks both arrive intact. The client
/// writes with `write_vectored`, the server with `write`.
pub fn exchange(net: &mut Net, pair: &mut Pair, len: usize) {
    let interest = Interest::READABLE | Interest::WRITABLE;
    net.reregister(&mut pair.client, CLIENT, interest);
    net.register(&mut pair.server, SERVER, interest);
    let to_server = pattern(len, 1);
    let to_client = pattern(len, 2);
    let mut client = Side {
        stream: &mut pair.client,
        out: to_server.clone(),
        sent: 0,
        received: Vec::new(),
        expected: len,
        vectored: true,
    };
    let mut server = Side {
        stream: &mut pair.server,
        out: to_client.clone(),
        sent: 0,
        received: Vec::new(),
        expected: len,
        vectored: false,
    };
    while !(client.done() && server.done()) {
        for ready in net.tick() {
            match ready.token {
                CLIENT => client.pump(),
                SERVER => server.pump(),
                _ => {}
            }
        }
    }
    assert_eq!(server.received.len(), len);
    assert!(
        server.received == to_server,
        "client-to-server bytes differ"
    );
    assert!(
        client.received == to_client,
        "server-to-client bytes differ"
    );
}

/// Waits until a connect attempt is reported failed, and returns its error: either at once
/// from `connect`, or later from `connect_status`.
pub fn expect_connect_failure(
    net: &mut Net,
    attempt: Result<Stream, transports::TransportError>,
) -> io::Error {
    let mut stream = match attempt {
        Err(transports::TransportError::Connect { source, .. }) => return source,
        Err(other) => panic!("expected a connect error, got {other:?}"),
        Ok(stream) => stream,
    };
    net.register(&mut stream, CLIENT, Interest::READABLE | Interest::WRITABLE);
    loop {
        for ready in net.tick() {
            if ready.token == CLIENT {
                match stream.connect_status() {
                    Err(e) => return e,
                    Ok(ConnectStatus::InProgress) => {}
                    Ok(ConnectStatus::Connected) => panic!("connected to nothing"),
                }
            }
        }
    }
}
