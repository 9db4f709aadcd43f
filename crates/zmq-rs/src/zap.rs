//! The ZAP client (RFC 27): how a handshake that needs authentication asks the handler bound
//! at `inproc://zeromq.zap.01`, without blocking the I/O thread.
//!
//! The first request of a context starts a DEALER connected to the handler and a thread that
//! reads its replies; each reply is matched to its connection by the request id and handed to
//! that connection's I/O thread. Without a handler, decisions follow libzmq 4.3: NULL and
//! CURVE accept every peer, PLAIN refuses every client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use zmtp_proto::{AuthRequest, AuthResult};

use crate::context::ContextInner;
use crate::core::SocketShared;
use crate::io::{ConnRef, IoCommand, IoShared};
use crate::socket::{DONTWAIT, Socket};

/// The endpoint RFC 27 reserves for the handler.
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";
const ZAP_NAME: &str = "zeromq.zap.01";

/// What the I/O thread should do with an authentication request.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Answer the session now.
    Now(AuthResult),
    /// A handler was asked; its reply arrives as [`IoCommand::AuthReply`].
    Asked,
}

/// Decides, or asks the handler, for one connection of `socket`.
pub(crate) fn authenticate(
    socket: &SocketShared,
    request: &AuthRequest,
    io: &Arc<IoShared>,
    conn: ConnRef,
    peer_address: Option<&str>,
) -> Decision {
    let Some(ctx) = socket.ctx.upgrade() else {
        return Decision::Now(deny(500, "the context is gone"));
    };
    if ctx.inproc_bound(ZAP_NAME)
        && let Some(client) = ctx.zap_client()
    {
        let (domain, identity) = {
            let state = socket.lock();
            (
                state.options.zap_domain.clone(),
                state.options.routing_id.clone().unwrap_or_default(),
            )
        };
        let address = Bytes::copy_from_slice(peer_address.unwrap_or("").as_bytes());
        if client.ask(io, conn, request, domain, address, identity) {
            return Decision::Asked;
        }
        return Decision::Now(deny(500, "the ZAP handler is not answering"));
    }
    // libzmq 4.3 without a handler: PLAIN servers refuse every client; NULL and CURVE
    // accept every peer (CURVE still encrypts: "encryption without authentication").
    if request.mechanism == "PLAIN" {
        Decision::Now(deny(500, "no ZAP handler to check PLAIN credentials"))
    } else {
        Decision::Now(AuthResult::Allow {
            user_id: Bytes::new(),
        })
    }
}

fn deny(status_code: u16, reason: &str) -> AuthResult {
    AuthResult::Deny {
        status_code,
        reason: Bytes::copy_from_slice(reason.as_bytes()),
    }
}

/// One context's connection to its ZAP handler.
#[derive(Debug)]
pub(crate) struct ZapClient {
    dealer: Socket,
    next_id: AtomicU64,
    waiting: Mutex<HashMap<u64, (Arc<IoShared>, ConnRef)>>,
}

impl ZapClient {
    /// Connects to the handler and starts the reply reader.
    pub fn start(dealer: Socket) -> crate::Result<Arc<Self>> {
        dealer.set_linger(0)?;
        dealer.connect(ZAP_ENDPOINT)?;
        let client = Arc::new(Self {
            dealer,
            next_id: AtomicU64::new(1),
            waiting: Mutex::new(HashMap::new()),
        });
        let reader = client.clone();
        std::thread::Builder::new()
            .name("zmq-rs-zap".into())
            .spawn(move || reader.read_replies())
            .map_err(|e| crate::Error::invalid(format!("cannot start the ZAP thread: {e}")))?;
        Ok(client)
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (Arc<IoShared>, ConnRef)>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends a request (RFC 27 "ZAP request"); false if it could not be queued.
    fn ask(
        &self,
        io: &Arc<IoShared>,
        conn: ConnRef,
        request: &AuthRequest,
        domain: Bytes,
        address: Bytes,
        identity: Bytes,
    ) -> bool {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut frames = vec![
            Bytes::new(), // delimiter: handlers are usually REP sockets
            Bytes::from_static(b"1.0"),
            Bytes::from(id.to_string()),
            domain,
            address,
            identity,
            Bytes::from_static(request.mechanism.as_bytes()),
        ];
        match request.mechanism {
            "PLAIN" => {
                frames.push(request.username.clone().unwrap_or_default());
                frames.push(request.password.clone().unwrap_or_default());
            }
            "CURVE" => {
                if let Some(key) = &request.curve_public_key {
                    frames.push(Bytes::copy_from_slice(key.as_bytes()));
                }
            }
            _ => {}
        }
        self.lock_waiting().insert(id, (io.clone(), conn));
        if self.dealer.send_multipart(frames, DONTWAIT).is_err() {
            self.lock_waiting().remove(&id);
            return false;
        }
        true
    }

    fn read_replies(self: Arc<Self>) {
        while let Ok(frames) = self.dealer.recv_frames(0) {
            let Some((id, result)) = parse_reply(&frames) else {
                continue;
            };
            if let Some((io, conn)) = self.lock_waiting().remove(&id) {
                io.submit(IoCommand::AuthReply(conn, result));
            }
        }
    }

    /// Ends the reader (its receive returns ETERM) and the connection to the handler.
    pub fn stop(&self) {
        self.dealer.terminate();
    }
}

/// Parses `["", "1.0", id, status, text, user id, metadata]`.
fn parse_reply(frames: &[Bytes]) -> Option<(u64, AuthResult)> {
    let frames = match frames.first() {
        Some(first) if first.is_empty() => &frames[1..],
        _ => frames,
    };
    let [version, id, status, text, user_id, ..] = frames else {
        return None;
    };
    if &version[..] != b"1.0" {
        return None;
    }
    let id = std::str::from_utf8(id).ok()?.parse().ok()?;
    let status: u16 = std::str::from_utf8(status).ok()?.parse().ok()?;
    let result = if status == 200 {
        AuthResult::Allow {
            user_id: user_id.clone(),
        }
    } else {
        AuthResult::Deny {
            status_code: status,
            reason: text.clone(),
        }
    };
    Some((id, result))
}

impl ContextInner {
    /// The context's ZAP client, started on first use.
    pub(crate) fn zap_client(self: &Arc<Self>) -> Option<Arc<ZapClient>> {
        let mut slot = self
            .zap
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = slot.as_ref() {
            return Some(client.clone());
        }
        let dealer = Socket::internal(self.clone(), zmtp_proto::SocketType::Dealer).ok()?;
        let client = ZapClient::start(dealer).ok()?;
        *slot = Some(client.clone());
        Some(client)
    }
}
