//! `proxy` and `proxy_steerable`: libzmq's built-in message relay between two sockets.

use crate::error::{Error, Result};
use crate::poll::{POLLIN, PollItem, poll};
use crate::socket::{DONTWAIT, Socket};

/// Messages relayed in one direction before looking at the other, so that a busy side cannot
/// starve the other one.
const BURST: usize = 256;

/// Traffic counters of one side of a proxy, as `zmq_proxy_steerable`'s STATISTICS reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxySideStats {
    /// Messages received on this side.
    pub msgs_in: u64,
    /// Payload octets received on this side.
    pub bytes_in: u64,
    /// Messages sent on this side.
    pub msgs_out: u64,
    /// Payload octets sent on this side.
    pub bytes_out: u64,
}

#[derive(Debug, Default)]
struct Stats {
    frontend: ProxySideStats,
    backend: ProxySideStats,
}

/// Relays messages between `frontend` and `backend` in both directions until an error (for
/// example [`Error::Terminated`] once the context is terminated), as `zmq_proxy`. Every
/// message also goes to `capture`, if given.
///
/// Typical pairs: ROUTER/DEALER (a request-reply broker), XSUB/XPUB (a pub-sub forwarder,
/// subscriptions flow upstream), PULL/PUSH (a pipeline streamer).
pub fn proxy(frontend: &Socket, backend: &Socket, capture: Option<&Socket>) -> Result<()> {
    run(frontend, backend, capture, None)
}

/// Like [`proxy`], steered by commands received on `control` (as `zmq_proxy_steerable`):
/// `PAUSE` stops relaying, `RESUME` restarts it, `TERMINATE` makes the call return `Ok`, and
/// `STATISTICS` answers (on `control`, which should then be a REP socket) with eight 8-octet
/// frames: frontend messages in, bytes in, messages out, bytes out, then the same for the
/// backend.
pub fn proxy_steerable(
    frontend: &Socket,
    backend: &Socket,
    capture: Option<&Socket>,
    control: &Socket,
) -> Result<()> {
    run(frontend, backend, capture, Some(control))
}

fn run(
    frontend: &Socket,
    backend: &Socket,
    capture: Option<&Socket>,
    control: Option<&Socket>,
) -> Result<()> {
    let mut stats = Stats::default();
    let mut paused = false;
    loop {
        let mut items = vec![
            PollItem::new(frontend, POLLIN),
            PollItem::new(backend, POLLIN),
        ];
        if let Some(control) = control {
            items.push(PollItem::new(control, POLLIN));
        }
        poll(&mut items, -1)?;
        let (front_ready, back_ready) = (items[0].is_readable(), items[1].is_readable());
        let control_ready = items.get(2).is_some_and(PollItem::is_readable);
        drop(items);
        if let Some(control) = control.filter(|_| control_ready) {
            let command = control.recv_frames(0)?;
            match command.first().map(|c| &c[..]) {
                Some(b"PAUSE") => paused = true,
                Some(b"RESUME") => paused = false,
                Some(b"TERMINATE") => return Ok(()),
                Some(b"STATISTICS") => {
                    let f = stats.frontend;
                    let b = stats.backend;
                    let values = [
                        f.msgs_in,
                        f.bytes_in,
                        f.msgs_out,
                        f.bytes_out,
                        b.msgs_in,
                        b.bytes_in,
                        b.msgs_out,
                        b.bytes_out,
                    ];
                    control.send_multipart(values.map(|v| v.to_ne_bytes().to_vec()), 0)?;
                }
                _ => {
                    return Err(Error::invalid(
                        "proxy control commands are PAUSE, RESUME, TERMINATE and STATISTICS",
                    ));
                }
            }
        }
        if paused {
            // libzmq stops polling the data sockets while paused.
            if let Some(control) = control {
                let mut items = [PollItem::new(control, POLLIN)];
                poll(&mut items, -1)?;
            }
            continue;
        }
        if front_ready {
            relay(
                frontend,
                backend,
                capture,
                &mut stats.frontend,
                &mut stats.backend,
            )?;
        }
        if back_ready {
            relay(
                backend,
                frontend,
                capture,
                &mut stats.backend,
                &mut stats.frontend,
            )?;
        }
    }
}

/// Moves up to a burst of whole messages from `from` to `to`.
fn relay(
    from: &Socket,
    to: &Socket,
    capture: Option<&Socket>,
    from_stats: &mut ProxySideStats,
    to_stats: &mut ProxySideStats,
) -> Result<()> {
    for _ in 0..BURST {
        let frames = match from.recv_frames(DONTWAIT) {
            Ok(frames) => frames,
            Err(Error::WouldBlock) => return Ok(()),
            Err(e) => return Err(e),
        };
        let size: u64 = frames.iter().map(|f| f.len() as u64).sum();
        from_stats.msgs_in += 1;
        from_stats.bytes_in += size;
        if let Some(capture) = capture {
            capture.send_multipart(frames.iter().cloned(), 0)?;
        }
        to.send_multipart(frames, 0)?;
        to_stats.msgs_out += 1;
        to_stats.bytes_out += size;
    }
    Ok(())
}
