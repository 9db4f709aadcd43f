//! One run of zmqcat: set the socket up, move records until done, shut down in order.
//!
//! Every wait is cut into slices of [`SLICE`] so that a signal is noticed within one slice
//! and RCVTIMEO/SNDTIMEO are measured by zmqcat itself.

use std::io::Write;
use std::time::{Duration, Instant};

use zmq_rs::{Authenticator, Context, Error, Message, Socket};

use crate::cli::{Config, Join};
use crate::exit::Failure;
use crate::kind::{Mode, PrefixUse};
use crate::records::{Next, RecordSink, RecordSource};
use crate::signals;
use crate::sockopt::Setup;

/// The longest zmqcat blocks before looking for a signal.
pub const SLICE: Duration = Duration::from_millis(100);

/// Runs the configuration to its end.
pub fn run(config: &Config) -> Result<(), Failure> {
    let ctx = Context::new();
    let socket = ctx
        .socket(config.kind.socket_type)
        .map_err(|e| Failure::Usage(format!("cannot make a {} socket: {e}", config.kind.name)))?;
    let mut peer = Peer::set_up(&ctx, &socket, config)?;
    let outcome = match config.mode {
        Mode::Read => peer.read_all(config),
        Mode::Write => peer.write_all(config),
        Mode::Request => peer.request_all(config),
        Mode::Reply => peer.reply_all(config),
    };
    let interrupted = matches!(outcome, Err(Failure::Signalled(_)));
    if interrupted || config.mode == Mode::Read {
        // Nothing of ours is worth waiting for (a reader only ever queued subscriptions).
        let _ = socket.set_linger(0);
    }
    // The ZAP handler goes after the socket and before the context (which it holds).
    let authenticator = peer.authenticator.take();
    drop(peer);
    drop(socket);
    drop(authenticator);
    close_context(ctx);
    match (outcome, signals::caught()) {
        (Ok(()), Some(signal)) => Err(Failure::Signalled(signal)),
        (outcome, _) => outcome,
    }
}

/// Drops the context, which waits for each socket's LINGER, unless a signal comes first.
fn close_context(ctx: Context) {
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let closer = std::thread::Builder::new()
        .name("zmqcat-close".into())
        .spawn(move || {
            drop(ctx);
            drop(done);
        });
    if closer.is_err() {
        // No thread to spare: give up lingering rather than risk waiting forever.
        return;
    }
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(SLICE) {
        if signals::caught().is_some() {
            return;
        }
    }
}

/// The socket with what the run needs around it.
struct Peer<'a> {
    socket: &'a Socket,
    recv_timeout: Option<Duration>,
    send_timeout: Option<Duration>,
    /// RADIO: the group of every message.
    group: Option<String>,
    sink: RecordSink<std::io::StdoutLock<'static>>,
    /// The ZAP handler of a PLAIN or CURVE server.
    authenticator: Option<Authenticator>,
}

/// How a step of a loop ended, besides failing.
enum Flow {
    Continue,
    /// Standard input ended, or standard output was closed by its reader.
    Done,
}

impl<'a> Peer<'a> {
    fn set_up(ctx: &Context, socket: &'a Socket, config: &Config) -> Result<Self, Failure> {
        let mut setup = Setup {
            socket,
            recv_timeout: None,
            send_timeout: None,
            subscribed: false,
            plain_server: false,
            curve_server: false,
            curve_public: false,
            curve_secret: None,
            curve_serverkey: false,
        };
        for (option, value) in &config.options {
            option.apply(&mut setup, value).map_err(|e| {
                Failure::Usage(format!(
                    "-o {}={value}: {e} (for a {} socket)",
                    option.name, config.kind.name
                ))
            })?;
        }
        let (recv_timeout, send_timeout, subscribed) =
            (setup.recv_timeout, setup.send_timeout, setup.subscribed);
        complete_curve_keys(&setup)?;
        let authenticator = admit_everyone(ctx, setup.plain_server, setup.curve_server)?;
        let slice_ms = i32::try_from(SLICE.as_millis()).unwrap_or(i32::MAX);
        socket
            .set_rcvtimeo(slice_ms)
            .and_then(|()| socket.set_sndtimeo(slice_ms))
            .map_err(|e| Failure::Runtime(format!("cannot set timeouts: {e}")))?;
        let mut group = None;
        match config.kind.prefix_use {
            PrefixUse::Subscribe => {
                for prefix in &config.prefixes {
                    subscribe(socket, prefix)?;
                }
                if config.prefixes.is_empty() && !subscribed {
                    subscribe(socket, "")?;
                }
            }
            PrefixUse::JoinGroup => {
                for prefix in &config.prefixes {
                    socket
                        .join(prefix)
                        .map_err(|e| Failure::Usage(format!("-s {prefix}: {e}")))?;
                }
            }
            PrefixUse::SendGroup => group = config.prefixes.first().cloned(),
            PrefixUse::SubscriptionMessage | PrefixUse::None => {}
        }
        for address in &config.addresses {
            join(socket, config.join, address)?;
        }
        let peer = Self {
            socket,
            recv_timeout,
            send_timeout,
            group,
            sink: RecordSink::new(std::io::stdout().lock(), config.separator),
            authenticator,
        };
        if config.kind.prefix_use == PrefixUse::SubscriptionMessage {
            for prefix in &config.prefixes {
                let mut subscription = vec![1u8];
                subscription.extend_from_slice(prefix.as_bytes());
                peer.send(subscription)?;
            }
        }
        Ok(peer)
    }

    // ---- the four modes --------------------------------------------------------------

    fn read_all(&mut self, config: &Config) -> Result<(), Failure> {
        let mut received = 0;
        while config.count.is_none_or(|n| received < n) {
            if let Flow::Done = self.receive_and_print()? {
                break;
            }
            received += 1;
        }
        Ok(())
    }

    fn write_all(&self, config: &Config) -> Result<(), Failure> {
        let mut input = stdin_records(config)?;
        let mut sent = 0;
        while config.count.is_none_or(|n| sent < n) {
            let Some(record) = next_record(&mut input)? else {
                break;
            };
            self.send(record)?;
            sent += 1;
        }
        Ok(())
    }

    fn request_all(&mut self, config: &Config) -> Result<(), Failure> {
        let mut input = stdin_records(config)?;
        let mut cycles = 0;
        while config.count.is_none_or(|n| cycles < n) {
            let Some(record) = next_record(&mut input)? else {
                break;
            };
            self.send(record)?;
            if let Flow::Done = self.receive_and_print()? {
                break;
            }
            cycles += 1;
        }
        Ok(())
    }

    fn reply_all(&mut self, config: &Config) -> Result<(), Failure> {
        let mut input = stdin_records(config)?;
        let mut cycles = 0;
        while config.count.is_none_or(|n| cycles < n) {
            if let Flow::Done = self.receive_and_print()? {
                break;
            }
            let Some(record) = next_record(&mut input)? else {
                break;
            };
            self.send(record)?;
            cycles += 1;
        }
        Ok(())
    }

    // ---- steps -----------------------------------------------------------------------

    /// Receives one whole message and prints it, one record per frame.
    fn receive_and_print(&mut self) -> Result<Flow, Failure> {
        let deadline = self.recv_timeout.map(|t| Instant::now() + t);
        let first = loop {
            check_signal()?;
            match self.socket.recv_msg(0) {
                Ok(frame) => break frame,
                Err(Error::WouldBlock) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(Failure::TimedOut(
                            "no message arrived within RCVTIMEO".into(),
                        ));
                    }
                }
                Err(e) => return Err(Failure::Runtime(format!("receive failed: {e}"))),
            }
        };
        let mut frames = vec![first];
        while frames.last().is_some_and(Message::get_more) {
            // The rest of a message arrives with its first frame: this does not wait.
            let frame = self
                .socket
                .recv_msg(0)
                .map_err(|e| Failure::Runtime(format!("receive failed mid-message: {e}")))?;
            frames.push(frame);
        }
        match self.sink.write_message(&frames) {
            Ok(()) => Ok(Flow::Continue),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Flow::Done),
            Err(e) => Err(Failure::Runtime(format!(
                "cannot write standard output: {e}"
            ))),
        }
    }

    /// Sends one single-frame message, waiting for room as long as SNDTIMEO allows.
    fn send(&self, record: Vec<u8>) -> Result<(), Failure> {
        let mut message = Message::from(record);
        if let Some(group) = &self.group {
            message.set_group(group.clone().into_bytes());
        }
        let deadline = self.send_timeout.map(|t| Instant::now() + t);
        loop {
            check_signal()?;
            match self.socket.send(&message, 0) {
                Ok(()) => return Ok(()),
                Err(Error::WouldBlock) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(Failure::TimedOut(
                            "no peer took the message within SNDTIMEO".into(),
                        ));
                    }
                }
                Err(e) => return Err(Failure::Runtime(format!("send failed: {e}"))),
            }
        }
    }
}

/// Fills in the CURVE keys a command line may leave out, and refuses what cannot work (a
/// socket with CURVE options but without the keys to use them would otherwise talk NULL):
/// the public key follows from the secret key; a client without a pair of its own gets a
/// fresh one; a server needs its secret key.
fn complete_curve_keys(setup: &Setup<'_>) -> Result<(), Failure> {
    let socket = setup.socket;
    let wants_curve = setup.curve_server || setup.curve_serverkey;
    match (&setup.curve_secret, setup.curve_public) {
        (Some(secret), false) => {
            let public = zmq_rs::curve_public(secret.as_bytes())
                .map_err(|e| Failure::Usage(format!("-o CURVE_SECRETKEY: {e}")))?;
            socket
                .set_curve_publickey(public.as_bytes())
                .map_err(|e| Failure::Usage(format!("-o CURVE_SECRETKEY: {e}")))?;
        }
        (None, true) => {
            return Err(Failure::Usage(
                "-o CURVE_PUBLICKEY needs its CURVE_SECRETKEY too".into(),
            ));
        }
        (None, false) if setup.curve_server => {
            return Err(Failure::Usage(
                "-o CURVE_SERVER=1 needs -o CURVE_SECRETKEY=... (zmqcat --curve-keypair \
                 makes a pair)"
                    .into(),
            ));
        }
        (None, false) if wants_curve => {
            let pair = zmq_rs::curve_keypair()
                .map_err(|e| Failure::Runtime(format!("cannot make a CURVE key pair: {e}")))?;
            socket
                .set_curve_publickey(pair.public.as_bytes())
                .and_then(|()| socket.set_curve_secretkey(pair.secret.as_bytes()))
                .map_err(|e| Failure::Runtime(format!("cannot set a CURVE key pair: {e}")))?;
        }
        _ => {}
    }
    Ok(())
}

/// A PLAIN or CURVE server lets every client in, as libzmq's tools do: without a ZAP handler
/// libzmq 4.3 refuses every PLAIN client, so zmqcat runs one that accepts any user name and
/// password, and any CURVE key (traffic is still encrypted). Started before any bind or
/// connect, so that no handshake finds it missing.
fn admit_everyone(
    ctx: &Context,
    plain_server: bool,
    curve_server: bool,
) -> Result<Option<Authenticator>, Failure> {
    if !plain_server && !curve_server {
        return Ok(None);
    }
    let authenticator = Authenticator::start(ctx)
        .map_err(|e| Failure::Runtime(format!("cannot start the ZAP handler: {e}")))?;
    authenticator.allow_any_plain(plain_server);
    authenticator.allow_any_curve(curve_server);
    Ok(Some(authenticator))
}

fn subscribe(socket: &Socket, prefix: &str) -> Result<(), Failure> {
    socket
        .set_subscribe(prefix.as_bytes())
        .map_err(|e| Failure::Usage(format!("-s {prefix}: {e}")))
}

fn join(socket: &Socket, how: Join, address: &str) -> Result<(), Failure> {
    match how {
        Join::Bind => {
            socket
                .bind(address)
                .map_err(|e| Failure::Endpoint(format!("cannot bind to {address}: {e}")))?;
            if let Ok(resolved) = socket.get_last_endpoint()
                && resolved != address
            {
                // A wildcard was resolved (a port the system chose): say which.
                eprintln!("zmqcat: bound to {resolved}");
                let _ = std::io::stderr().flush();
            }
            Ok(())
        }
        Join::Connect => socket
            .connect(address)
            .map_err(|e| Failure::Endpoint(format!("cannot connect to {address}: {e}"))),
    }
}

fn stdin_records(config: &Config) -> Result<RecordSource, Failure> {
    RecordSource::spawn(std::io::BufReader::new(std::io::stdin()), config.separator)
        .map_err(|e| Failure::Runtime(format!("cannot start reading standard input: {e}")))
}

/// The next record of standard input, `None` at its end.
fn next_record(input: &mut RecordSource) -> Result<Option<Vec<u8>>, Failure> {
    loop {
        check_signal()?;
        match input.next(SLICE) {
            Next::Record(record) => return Ok(Some(record)),
            Next::End => {
                return match input.error() {
                    Some(e) => Err(Failure::Runtime(format!("cannot read standard input: {e}"))),
                    None => Ok(None),
                };
            }
            Next::NotYet => {}
        }
    }
}

fn check_signal() -> Result<(), Failure> {
    match signals::caught() {
        Some(signal) => Err(Failure::Signalled(signal)),
        None => Ok(()),
    }
}
