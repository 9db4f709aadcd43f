//! Security helpers: Z85 (RFC 32), CURVE key pairs, and a ready-made ZAP handler
//! ([`Authenticator`], RFC 27) so that users need not write one.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
pub use zmtp_proto::CurveKeyPair;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::zap::ZAP_ENDPOINT;

/// Encodes octets as Z85 (RFC 32); the length must be a multiple of 4.
pub fn z85_encode(data: &[u8]) -> Result<String> {
    zmtp_proto::z85::encode(data).map_err(|e| Error::invalid(format!("Z85: {e}")))
}

/// Decodes Z85 text (RFC 32); the length must be a multiple of 5.
pub fn z85_decode(text: &str) -> Result<Vec<u8>> {
    zmtp_proto::z85::decode(text).map_err(|e| Error::invalid(format!("Z85: {e}")))
}

/// A fresh CURVE key pair from the operating system's CSPRNG, as `zmq_curve_keypair`.
/// `pair.public.to_z85()` and `pair.secret.to_z85()` give libzmq's 40-character forms.
pub fn curve_keypair() -> Result<CurveKeyPair> {
    let mut rng = crate::random::OsRandom::new()
        .map_err(|e| Error::invalid(format!("no randomness from the operating system: {e}")))?;
    Ok(CurveKeyPair::generate(&mut rng))
}

/// The public key (40 Z85 characters) of a secret key given as 40 Z85 characters or 32
/// octets, as `zmq_curve_public`.
pub fn curve_public(secret: &[u8]) -> Result<String> {
    let secret = zmtp_proto::CurveSecretKey::try_from(secret)
        .map_err(|e| Error::invalid(format!("CURVE secret key: {e}")))?;
    Ok(zmtp_proto::curve_public(&secret).to_z85())
}

/// Who the [`Authenticator`] lets in.
#[derive(Debug, Default)]
struct Policy {
    allowed_addresses: HashSet<String>,
    denied_addresses: HashSet<String>,
    plain_users: HashMap<Vec<u8>, Vec<u8>>,
    plain_any: bool,
    curve_keys: HashSet<[u8; 32]>,
    curve_any: bool,
}

impl Policy {
    /// `(status code, status text, user id)` for one request (RFC 27 frames after the
    /// request id: domain, address, identity, mechanism, credentials).
    fn decide(
        &self,
        address: &[u8],
        mechanism: &[u8],
        credentials: &[Bytes],
    ) -> (u16, &'static str, Bytes) {
        let address = String::from_utf8_lossy(address);
        if self.denied_addresses.contains(address.as_ref())
            || (!self.allowed_addresses.is_empty()
                && !self.allowed_addresses.contains(address.as_ref()))
        {
            return (400, "address not allowed", Bytes::new());
        }
        match mechanism {
            b"NULL" => (200, "OK", Bytes::new()),
            b"PLAIN" => {
                let [user, password, ..] = credentials else {
                    return (400, "malformed PLAIN credentials", Bytes::new());
                };
                let known = self
                    .plain_users
                    .get(&user[..])
                    .is_some_and(|p| p.as_slice() == &password[..]);
                if self.plain_any || known {
                    (200, "OK", user.clone())
                } else {
                    (400, "invalid user name or password", Bytes::new())
                }
            }
            b"CURVE" => {
                let Some(key) = credentials
                    .first()
                    .and_then(|k| <[u8; 32]>::try_from(&k[..]).ok())
                else {
                    return (400, "malformed CURVE credentials", Bytes::new());
                };
                if self.curve_any || self.curve_keys.contains(&key) {
                    let id = zmtp_proto::z85::encode(&key).unwrap_or_default();
                    (200, "OK", Bytes::from(id))
                } else {
                    (400, "unknown CURVE key", Bytes::new())
                }
            }
            _ => (400, "unknown mechanism", Bytes::new()),
        }
    }
}

/// A ZAP handler (RFC 27) running in its own thread, bound at `inproc://zeromq.zap.01` of
/// one context: allow and deny by address, PLAIN users from a table (or anyone), CURVE
/// clients by public key (or anyone). NULL peers pass unless their address is refused.
///
/// Without any handler, libzmq 4.3 (and zmq-rs) refuses every PLAIN client and accepts every
/// CURVE client. Start an authenticator before binding the sockets it should protect; it
/// stops when dropped.
///
/// ```
/// let ctx = zmq_rs::Context::new();
/// let auth = zmq_rs::Authenticator::start(&ctx).unwrap();
/// auth.add_plain_user("admin", "secret");
/// let server = ctx.socket(zmq_rs::REP).unwrap();
/// server.set_plain_server(true).unwrap();
/// server.bind("tcp://127.0.0.1:*").unwrap();
/// ```
#[derive(Debug)]
pub struct Authenticator {
    policy: Arc<Mutex<PolicyHandle>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct PolicyHandle(Policy);

impl Authenticator {
    /// Binds the handler in `ctx` and starts answering (fails if one is already bound).
    pub fn start(ctx: &Context) -> Result<Self> {
        let socket = ctx.socket(zmtp_proto::SocketType::Rep)?;
        socket.set_linger(0)?;
        socket.set_rcvtimeo(100)?;
        socket.bind(ZAP_ENDPOINT)?;
        let policy = Arc::new(Mutex::new(PolicyHandle::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_policy, thread_stop) = (policy.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("zmq-rs-authenticator".into())
            .spawn(move || serve(&socket, &thread_policy, &thread_stop))
            .map_err(|e| Error::invalid(format!("cannot start the authenticator: {e}")))?;
        Ok(Self {
            policy,
            stop,
            thread: Some(thread),
        })
    }

    fn with(&self, f: impl FnOnce(&mut Policy)) {
        let mut policy = self
            .policy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut policy.0);
    }

    /// Lets in only these addresses (and those allowed before); others get status 400.
    pub fn allow(&self, address: &str) {
        self.with(|p| {
            p.allowed_addresses.insert(address.to_owned());
        });
    }

    /// Refuses this address.
    pub fn deny(&self, address: &str) {
        self.with(|p| {
            p.denied_addresses.insert(address.to_owned());
        });
    }

    /// Accepts PLAIN clients with this user name and password (the user id becomes the name).
    pub fn add_plain_user(&self, username: &str, password: &str) {
        self.with(|p| {
            p.plain_users
                .insert(username.as_bytes().to_vec(), password.as_bytes().to_vec());
        });
    }

    /// Accepts every PLAIN client, whatever its credentials.
    pub fn allow_any_plain(&self, any: bool) {
        self.with(|p| p.plain_any = any);
    }

    /// Accepts CURVE clients with this public key (32 octets or 40 Z85 characters).
    pub fn allow_curve_key(&self, public_key: &[u8]) -> Result<()> {
        let key = zmtp_proto::CurvePublicKey::try_from(public_key)
            .map_err(|e| Error::invalid(format!("CURVE public key: {e}")))?;
        self.with(|p| {
            p.curve_keys.insert(*key.as_bytes());
        });
        Ok(())
    }

    /// Accepts every CURVE client (traffic is still encrypted).
    pub fn allow_any_curve(&self, any: bool) {
        self.with(|p| p.curve_any = any);
    }
}

impl Drop for Authenticator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers ZAP requests until told to stop.
fn serve(socket: &crate::Socket, policy: &Mutex<PolicyHandle>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let frames = match socket.recv_frames(0) {
            Ok(frames) => frames,
            Err(Error::WouldBlock) => continue,
            Err(_) => return,
        };
        // version, request id, domain, address, identity, mechanism, credentials...
        let reply = match frames.as_slice() {
            [
                version,
                id,
                _domain,
                address,
                _identity,
                mechanism,
                credentials @ ..,
            ] if &version[..] == b"1.0" => {
                let (code, text, user_id) = policy
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0
                    .decide(address, mechanism, credentials);
                vec![
                    Bytes::from_static(b"1.0"),
                    id.clone(),
                    Bytes::from(code.to_string()),
                    Bytes::from_static(text.as_bytes()),
                    user_id,
                    Bytes::new(),
                ]
            }
            [_, id, ..] => vec![
                Bytes::from_static(b"1.0"),
                id.clone(),
                Bytes::from_static(b"500"),
                Bytes::from_static(b"malformed request"),
                Bytes::new(),
                Bytes::new(),
            ],
            _ => continue,
        };
        if socket.send_multipart(reply, 0).is_err() {
            return;
        }
    }
}
