//! Waiting costs no CPU: a poll over 100 idle sockets (tcp and inproc) sleeps in the kernel,
//! and so do receives waiting for answers that do not come (they wait awake only briefly).
//! Alone in its own test binary, one test, so that the process's CPU time is this test's.

use std::time::Duration;

/// User plus system CPU time of this process, in clock ticks (`/proc/self/stat`).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[test]
fn polling_idle_sockets_uses_no_cpu() {
    let ctx = zmq_rs::Context::new();
    let sockets: Vec<zmq_rs::Socket> = (0..100)
        .map(|i| {
            let s = ctx.socket(zmq_rs::PULL).expect("socket");
            if i % 2 == 0 {
                s.bind("tcp://127.0.0.1:*").expect("bind tcp");
            } else {
                s.bind(&format!("inproc://idle-{i}")).expect("bind inproc");
            }
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let before = cpu_ticks();
    let mut items: Vec<zmq_rs::PollItem<'_>> = sockets
        .iter()
        .map(|s| s.as_poll_item(zmq_rs::POLLIN))
        .collect();
    assert_eq!(zmq_rs::poll(&mut items, 1000).expect("poll"), 0);
    let used = cpu_ticks() - before;
    // Clock ticks are 10 ms: a second of busy looping would be ~100.
    assert!(used <= 5, "a one-second idle poll used {used} ticks of CPU");

    // REQs whose requests went out, over tcp and inproc, waiting a second in `recv` for
    // replies their REPs never send: each may poll awake a few microseconds, then sleeps.
    let waiting: Vec<_> = ["tcp://127.0.0.1:*", "inproc://idle-req"]
        .into_iter()
        .map(|endpoint| {
            let rep = ctx.socket(zmq_rs::REP).expect("rep");
            rep.bind(endpoint).expect("bind");
            let req = ctx.socket(zmq_rs::REQ).expect("req");
            req.set_rcvtimeo(1000).expect("rcvtimeo");
            req.connect(&rep.get_last_endpoint().expect("endpoint"))
                .expect("connect");
            req.send("request", 0).expect("request");
            rep.recv_bytes(0).expect("request arrives");
            (req, rep)
        })
        .collect();
    let before = cpu_ticks();
    std::thread::scope(|scope| {
        for (req, _) in &waiting {
            scope.spawn(move || {
                assert!(matches!(req.recv_bytes(0), Err(zmq_rs::Error::WouldBlock)));
            });
        }
    });
    let used = cpu_ticks() - before;
    assert!(
        used <= 5,
        "two receives waiting a second used {used} ticks of CPU"
    );
}
