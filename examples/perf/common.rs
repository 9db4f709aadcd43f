//! What the perf tools share: argument parsing and libzmq's perf-tool output lines, so that
//! any of ours pairs with libzmq's (`local_thr` from one, `remote_thr` from the other).

#![allow(dead_code)]

use std::time::Duration;

/// Parses the positional arguments after the program name, or prints the usage and exits.
pub fn args<const N: usize>(usage: &str) -> [String; N] {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match <[String; N]>::try_from(args) {
        Ok(args) => args,
        Err(_) => {
            println!("usage: {usage}");
            std::process::exit(1);
        }
    }
}

/// Parses a non-negative number argument, or exits with libzmq's message.
pub fn number(value: &str, what: &str) -> usize {
    value.parse().unwrap_or_else(|_| {
        eprintln!("bad {what}: {value}");
        std::process::exit(1)
    })
}

/// Exits with libzmq's error line.
pub fn fail(what: &str, error: impl std::fmt::Display) -> ! {
    eprintln!("error in {what}: {error}");
    std::process::exit(1)
}

/// An optional high-water mark from the environment (`PERF_SNDHWM`, `PERF_RCVHWM`).
pub fn hwm_from_env(name: &str) -> Option<i32> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v >= 0)
}

/// Prints throughput as libzmq's `local_thr` does.
pub fn print_thr(size: usize, count: usize, elapsed: Duration) {
    let micros = elapsed.as_secs_f64() * 1e6;
    let micros = if micros <= 0.0 { 1.0 } else { micros };
    let msgs = count as f64 / micros * 1e6;
    let mbits = msgs * size as f64 * 8.0 / 1e6;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {} [msg/s]", msgs as i64);
    println!("mean throughput: {mbits:.3} [Mb/s]");
}

/// Prints one-way latency as libzmq's `remote_lat` does.
pub fn print_lat(size: usize, roundtrips: usize, elapsed: Duration) {
    let micros = elapsed.as_secs_f64() * 1e6;
    println!("message size: {size} [B]");
    println!("roundtrip count: {roundtrips}");
    println!(
        "average latency: {:.3} [us]",
        micros / (roundtrips as f64 * 2.0)
    );
}

/// Receives one frame into `msg` and checks its size, as libzmq's tools do (`zmq_msg_recv`
/// into one `zmq_msg_t`, reused).
#[inline]
pub fn recv_sized(socket: &zmq_rs::Socket, msg: &mut zmq_rs::Message, size: usize) {
    let len = socket
        .recv_into(msg, 0)
        .unwrap_or_else(|e| fail("zmq_msg_recv", e));
    if len != size {
        eprintln!("message of incorrect size received ({len})");
        std::process::exit(1);
    }
}

/// A message of `size` octets, one per call as libzmq's tools make them with
/// `zmq_msg_init_size`, the first 64 octets written as the C peers (`../shared/bench/c`)
/// write them. Up to `Message::INLINE_MAX` octets (64) the payload is copied in and kept
/// inside the `Message`, as libzmq keeps payloads of up to 33 octets inside `zmq_msg_t`;
/// larger ones come from `Message::buffer_sized`, `zmq_msg_init_size`'s counterpart, which
/// reuses payloads the library is done with and, like it, leaves the rest as it was.
/// Inline, as the C peers' loop is: built in the caller, the message's fields reach the send
/// without a round trip through memory.
#[inline]
pub fn message(size: usize) -> zmq_rs::Message {
    const WRITTEN: usize = 64;
    static XS: [u8; WRITTEN] = [b'x'; WRITTEN];
    if size <= zmq_rs::Message::INLINE_MAX.min(WRITTEN) {
        return zmq_rs::Message::copy_from(&XS[..size]);
    }
    let head = size.min(WRITTEN);
    let mut data = zmq_rs::Message::buffer_sized(size);
    data[..head].fill(b'x');
    zmq_rs::Message::from(data)
}
