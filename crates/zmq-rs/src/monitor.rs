//! The socket monitor: libzmq's connection events, delivered on a PAIR socket in libzmq's
//! framing (so libzmq-era tools can read them), or as typed [`MonitorEvent`]s.
//!
//! libzmq's framing (version 1, what `zmq_socket_monitor` sends in 4.3): two frames, the first
//! six octets holding the event number (16 bits) and its value (32 bits), little-endian, the
//! second the endpoint the event concerns.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::socket::{DONTWAIT, Socket};

/// One of libzmq's monitor events (`ZMQ_EVENT_*`), with libzmq's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketEvent {
    /// A connection we initiated is up (value: the file descriptor).
    Connected,
    /// A connect is in progress (value: the errno, EINPROGRESS).
    ConnectDelayed,
    /// A reconnect is scheduled (value: the delay in milliseconds).
    ConnectRetried,
    /// The socket listens on the endpoint (value: the file descriptor).
    Listening,
    /// A bind failed (value: the errno).
    BindFailed,
    /// A connection was accepted (value: the file descriptor).
    Accepted,
    /// Accepting a connection failed (value: the errno).
    AcceptFailed,
    /// A connection or listener was closed (value: the file descriptor).
    Closed,
    /// Closing failed (value: the errno).
    CloseFailed,
    /// A session with a peer ended (value: the file descriptor).
    Disconnected,
    /// Monitoring stopped; the last event.
    MonitorStopped,
    /// A handshake failed without details (a timeout).
    HandshakeFailedNoDetail,
    /// A ZMTP handshake completed.
    HandshakeSucceeded,
    /// A handshake failed on a protocol error (value: libzmq's `ZMQ_PROTOCOL_ERROR_*`).
    HandshakeFailedProtocol,
    /// A handshake failed on authentication (value: the ZAP status code).
    HandshakeFailedAuth,
}

/// Every event: the mask for [`Socket::monitor`].
pub const EVENT_ALL: i32 = 0xFFFF;

impl SocketEvent {
    const ALL: [Self; 15] = [
        Self::Connected,
        Self::ConnectDelayed,
        Self::ConnectRetried,
        Self::Listening,
        Self::BindFailed,
        Self::Accepted,
        Self::AcceptFailed,
        Self::Closed,
        Self::CloseFailed,
        Self::Disconnected,
        Self::MonitorStopped,
        Self::HandshakeFailedNoDetail,
        Self::HandshakeSucceeded,
        Self::HandshakeFailedProtocol,
        Self::HandshakeFailedAuth,
    ];

    /// libzmq's number for the event (`ZMQ_EVENT_CONNECTED` is 1, ...).
    pub const fn to_raw(self) -> u16 {
        match self {
            Self::Connected => 0x0001,
            Self::ConnectDelayed => 0x0002,
            Self::ConnectRetried => 0x0004,
            Self::Listening => 0x0008,
            Self::BindFailed => 0x0010,
            Self::Accepted => 0x0020,
            Self::AcceptFailed => 0x0040,
            Self::Closed => 0x0080,
            Self::CloseFailed => 0x0100,
            Self::Disconnected => 0x0200,
            Self::MonitorStopped => 0x0400,
            Self::HandshakeFailedNoDetail => 0x0800,
            Self::HandshakeSucceeded => 0x1000,
            Self::HandshakeFailedProtocol => 0x2000,
            Self::HandshakeFailedAuth => 0x4000,
        }
    }

    /// The event for libzmq's number.
    pub fn from_raw(raw: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.to_raw() == raw)
    }
}

/// One event, as [`Monitor::recv`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorEvent {
    /// What happened.
    pub event: SocketEvent,
    /// The event's value (see each [`SocketEvent`]).
    pub value: u32,
    /// The endpoint it concerns.
    pub endpoint: String,
}

impl MonitorEvent {
    /// The two frames libzmq sends for the event.
    pub fn to_frames(&self) -> [Bytes; 2] {
        let mut head = Vec::with_capacity(6);
        head.extend_from_slice(&self.event.to_raw().to_le_bytes());
        head.extend_from_slice(&self.value.to_le_bytes());
        [
            Bytes::from(head),
            Bytes::copy_from_slice(self.endpoint.as_bytes()),
        ]
    }

    /// Parses libzmq's two frames; `None` if they are not a monitor event.
    pub fn from_frames(frames: &[impl AsRef<[u8]>]) -> Option<Self> {
        let [head, endpoint] = frames else {
            return None;
        };
        let head = head.as_ref();
        let event = u16::from_le_bytes(head.get(..2)?.try_into().ok()?);
        let value = u32::from_le_bytes(head.get(2..6)?.try_into().ok()?);
        Some(Self {
            event: SocketEvent::from_raw(event)?,
            value,
            endpoint: String::from_utf8_lossy(endpoint.as_ref()).into_owned(),
        })
    }
}

/// Where a monitored socket's events go: the PAIR socket bound to the monitor endpoint.
#[derive(Debug, Default)]
pub(crate) struct MonitorSink {
    /// Fast check: is anyone monitoring?
    active: AtomicBool,
    inner: Mutex<Option<(Socket, u16)>>,
}

impl MonitorSink {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Socket, u16)>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends an event if it is monitored. Never blocks: a monitor that does not keep up
    /// loses events, as in libzmq. Never call with a socket's state lock held.
    pub fn emit(&self, event: SocketEvent, value: u32, endpoint: &str) {
        if !self.active.load(Ordering::Relaxed) {
            return;
        }
        let inner = self.lock();
        if let Some((socket, mask)) = inner.as_ref()
            && mask & event.to_raw() != 0
        {
            let frames = MonitorEvent {
                event,
                value,
                endpoint: endpoint.to_owned(),
            }
            .to_frames();
            let _ = socket.send_multipart(frames, DONTWAIT);
        }
    }

    /// Starts sending events through `socket`, ending any previous monitor.
    pub fn start(&self, socket: Socket, mask: u16) {
        self.stop();
        *self.lock() = Some((socket, mask));
        self.active.store(true, Ordering::Relaxed);
    }

    /// Sends MONITOR_STOPPED (if asked for) and stops.
    pub fn stop(&self) {
        self.emit(SocketEvent::MonitorStopped, 0, "");
        self.active.store(false, Ordering::Relaxed);
        self.lock().take();
    }
}

/// A typed stream of a socket's monitor events (see [`Socket::monitor_events`]).
#[derive(Debug)]
pub struct Monitor {
    socket: Socket,
}

impl Monitor {
    /// The next event, waiting at most `timeout` (`None`: forever).
    pub fn recv(&self, timeout: Option<Duration>) -> Result<MonitorEvent> {
        let ms = timeout.map_or(-1, |t| i32::try_from(t.as_millis()).unwrap_or(i32::MAX));
        self.socket.set_rcvtimeo(ms)?;
        let frames = self.socket.recv_frames(0)?;
        MonitorEvent::from_frames(&frames)
            .ok_or_else(|| Error::invalid("the monitor socket received a malformed event"))
    }

    /// The next event if one is waiting.
    pub fn try_recv(&self) -> Result<MonitorEvent> {
        let frames = self.socket.recv_frames(DONTWAIT)?;
        MonitorEvent::from_frames(&frames)
            .ok_or_else(|| Error::invalid("the monitor socket received a malformed event"))
    }
}

impl Socket {
    /// Publishes this socket's connection events on a PAIR socket bound to `endpoint` (an
    /// `inproc://` name), as `zmq_socket_monitor`: connect a PAIR socket there and read
    /// two-frame events in libzmq's framing. `events` is a mask of [`SocketEvent::to_raw`]
    /// values ([`EVENT_ALL`] for all). An empty `endpoint` stops monitoring (the last event
    /// is MONITOR_STOPPED).
    pub fn monitor(&self, endpoint: &str, events: i32) -> Result<()> {
        let sink = &self.shared().monitor;
        if endpoint.is_empty() {
            sink.stop();
            return Ok(());
        }
        if !endpoint.starts_with("inproc://") {
            return Err(Error::NotSupported(
                "monitor endpoints must be inproc:// (as in libzmq)".into(),
            ));
        }
        let pair = self.sibling(zmtp_proto::SocketType::Pair)?;
        pair.set_linger(0)?;
        pair.bind(endpoint)?;
        sink.start(pair, (events & EVENT_ALL) as u16);
        Ok(())
    }

    /// This socket's connection events, as a typed stream (`events` as for
    /// [`Socket::monitor`]).
    pub fn monitor_events(&self, events: i32) -> Result<Monitor> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let endpoint = format!(
            "inproc://zmq-rs-monitor-{}-{}",
            self.shared().id,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.monitor(&endpoint, events)?;
        let socket = self.sibling(zmtp_proto::SocketType::Pair)?;
        socket.connect(&endpoint)?;
        Ok(Monitor { socket })
    }
}
