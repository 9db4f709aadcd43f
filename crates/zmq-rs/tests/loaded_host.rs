//! On a host whose cores other threads keep busy, waiting awake must not cost a time slice
//! per message: a thread that yields its core to wait for an answer is run again only after
//! the busy threads' slices (milliseconds), where one that sleeps is woken ahead of them.
//! So waits stop waiting awake once a yield took that long (`awake.rs`). In a binary of its
//! own: its busy threads would slow every test beside it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Threads that keep every core busy until dropped.
struct BusyCores {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl BusyCores {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for BusyCores {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// REQ-REP over inproc (RFC 28) beside busy threads: the round trips take about what a
/// sleeping thread's wake-up takes (libzmq's way), not a time slice each. 1,000 of them
/// took 2-4 s when every wait yielded its core; they take tens of milliseconds now.
#[test]
fn inproc_round_trips_beside_busy_cores_do_not_wait_for_their_time_slices_rfc28() {
    let ctx = zmq_rs::Context::new();
    let rep = ctx.socket(zmq_rs::REP).expect("rep");
    rep.set_rcvtimeo(10_000).expect("rcvtimeo");
    rep.bind("inproc://loaded-host").expect("bind");
    let req = ctx.socket(zmq_rs::REQ).expect("req");
    req.set_rcvtimeo(10_000).expect("rcvtimeo");
    req.connect("inproc://loaded-host").expect("connect");
    let count = 1000u32;
    let server = std::thread::spawn(move || {
        for _ in 0..count {
            let request = rep.recv_msg(0).expect("request");
            rep.send(request, 0).expect("reply");
        }
    });
    let busy = BusyCores::start();
    let started = Instant::now();
    for i in 0..count {
        req.send(&i.to_be_bytes(), 0).expect("request");
        assert_eq!(req.recv_bytes(0).expect("reply"), i.to_be_bytes());
    }
    let took = started.elapsed();
    drop(busy);
    server.join().expect("server");
    assert!(
        took < Duration::from_secs(1),
        "{count} round trips beside busy cores took {took:?}"
    );
}
