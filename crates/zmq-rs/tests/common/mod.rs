//! Helpers shared by the integration tests: both implementations' contexts, and endpoints.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

/// The transports tests run over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Ipc,
}

/// Which side of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    A,
    B,
}

/// A bindable endpoint: an ephemeral tcp port, or a fresh ipc path.
pub fn endpoint_for(transport: Transport) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    match transport {
        Transport::Tcp => "tcp://127.0.0.1:*".to_owned(),
        Transport::Ipc => {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("zmq-rs-test-{}-{n}.ipc", std::process::id()));
            // A file left there by an earlier run whose process had the same id (tests that
            // leave a socket file behind on purpose, or were killed) would make binding fail.
            let _ = std::fs::remove_file(&path);
            format!("ipc://{}", path.display())
        }
    }
}

/// A context of each implementation.
pub struct Both {
    pub ours: zmq_rs::Context,
    pub theirs: zmq::Context,
}

impl Both {
    pub fn new() -> Self {
        Self {
            ours: zmq_rs::Context::new(),
            theirs: zmq::Context::new(),
        }
    }

    /// Our socket, with receive and send timeouts and no linger.
    pub fn ours(&self, socket_type: zmq_rs::SocketType, timeout_ms: i32) -> zmq_rs::Socket {
        let s = self.ours.socket(socket_type).expect("our socket");
        s.set_rcvtimeo(timeout_ms).expect("rcvtimeo");
        s.set_sndtimeo(timeout_ms).expect("sndtimeo");
        s.set_linger(0).expect("linger");
        s
    }

    /// libzmq's socket, likewise.
    pub fn theirs(&self, socket_type: zmq_rs::SocketType, timeout_ms: i32) -> zmq::Socket {
        let s = self
            .theirs
            .socket(libzmq_type(socket_type))
            .expect("libzmq socket");
        s.set_rcvtimeo(timeout_ms).expect("libzmq rcvtimeo");
        s.set_sndtimeo(timeout_ms).expect("libzmq sndtimeo");
        s.set_linger(0).expect("libzmq linger");
        s
    }
}

/// The `zmq` crate's name for one of our socket types.
pub fn libzmq_type(t: zmq_rs::SocketType) -> zmq::SocketType {
    use zmq_rs::SocketType as T;
    match t {
        T::Pair => zmq::PAIR,
        T::Pub => zmq::PUB,
        T::Sub => zmq::SUB,
        T::Req => zmq::REQ,
        T::Rep => zmq::REP,
        T::Dealer => zmq::DEALER,
        T::Router => zmq::ROUTER,
        T::Pull => zmq::PULL,
        T::Push => zmq::PUSH,
        T::XPub => zmq::XPUB,
        T::XSub => zmq::XSUB,
        T::Stream => zmq::STREAM,
        other => panic!("the zmq crate has no {other} socket"),
    }
}

/// Voluntary context switches so far of every zmq-rs I/O thread in this process: how often
/// they went to sleep, so how often they were woken.
pub fn io_thread_sleeps() -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let dir = task.expect("a task").path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !comm.starts_with("zmq-rs-io") {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        total += status
            .lines()
            .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|count| count.trim().parse::<u64>().ok())
            .expect("voluntary_ctxt_switches in /proc/self/task/*/status");
    }
    total
}
