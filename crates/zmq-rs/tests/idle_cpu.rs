//! Waiting costs no CPU: a poll over 100 idle sockets (tcp and inproc) sleeps in the kernel.
//! Alone in its own test binary so that the process's CPU time is this test's.

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
}
