//! Peers from pyzmq, whose wheels bundle a libzmq 4.3 built with CURVE (the `zmq` crate's
//! libzmq has no libsodium, hence no CURVE).
//!
//! On first use a virtual environment is made under the cargo target's temp dir and pinned
//! [`PYZMQ_VERSION`] is installed into it from PyPI, once for every test process (a lock file
//! guards the install); later runs reuse it. `ZMQ_RS_TEST_PYTHON` may name a Python that
//! already has pyzmq instead. If neither works the test fails, saying what to install.
//!
//! A peer is one run of [`PEER_SCRIPT`]: a socket configured from a JSON description,
//! optionally with a ZAP handler and a monitor, that performs a list of steps and reports
//! what happens as one line per fact on its standard output:
//!
//! | line | meaning |
//! | --- | --- |
//! | `bound ENDPOINT` | a bind succeeded (wildcards resolved) |
//! | `recv xHEX xHEX ...` | a message arrived, one word per frame (`x` alone: an empty frame) |
//! | `user ID` | the ZAP user id of the message just reported |
//! | `timeout` | a receive gave up |
//! | `echoed LEN LEN ...` | a message was received and sent back |
//! | `sent` / `blocked` | a send without waiting (or within its time) queued the message, or could not |
//! | `zap MECHANISM WHO allow\|deny` | the ZAP handler answered a request |
//! | `event NUMBER VALUE ENDPOINT` | a monitor event (libzmq's numbers) |
//! | `done` | all steps finished |
//! | `error TEXT` | something went wrong (the peer exits non-zero) |
//!
//! Every peer exits by itself: each receive has a timeout and the whole run a deadline.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The pyzmq release the tests install (it bundles libzmq 4.3.5 with CURVE).
pub const PYZMQ_VERSION: &str = "27.3.0";

/// libzmq's `ZMQ_EVENT_HANDSHAKE_SUCCEEDED`.
pub const EVENT_HANDSHAKE_SUCCEEDED: u32 = 0x1000;
/// libzmq's `ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL`.
pub const EVENT_HANDSHAKE_FAILED_PROTOCOL: u32 = 0x2000;
/// libzmq's `ZMQ_EVENT_HANDSHAKE_FAILED_AUTH`.
pub const EVENT_HANDSHAKE_FAILED_AUTH: u32 = 0x4000;
/// libzmq's `ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND`.
pub const PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND: u32 = 0x1000_0001;
/// libzmq's `ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC`.
pub const PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: u32 = 0x1100_0001;
/// libzmq's `ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH`.
pub const PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: u32 = 0x1100_0002;

/// How long a test waits for one line from a peer.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(8);

/// The peer program (see the module docs for its output).
pub const PEER_SCRIPT: &str = r#"
import json, os, struct, sys, threading
import zmq
import zmq.utils.z85

cfg = json.loads(sys.argv[1])
out = threading.Lock()

def say(*words):
    with out:
        sys.stdout.write(" ".join(str(w) for w in words) + "\n")
        sys.stdout.flush()

def die():
    say("error deadline")
    os._exit(3)

watchdog = threading.Timer(cfg.get("deadline", 10), die)
watchdog.daemon = True
watchdog.start()

def frames_of(words):
    return [bytes.fromhex(w[1:]) for w in words]

def words_of(frames):
    return ["x" + bytes(f).hex() for f in frames]

ctx = zmq.Context()
zap = cfg.get("zap")
if zap is not None:
    handler = ctx.socket(zmq.REP)
    handler.linger = 0
    handler.bind("inproc://zeromq.zap.01")

    def serve():
        try:
            answer()
        except Exception as e:
            say("error", repr(e).replace("\n", " "))
            os._exit(2)

    def answer():
        while True:
            try:
                req = handler.recv_multipart()
            except zmq.ZMQError:
                handler.close()
                return
            mechanism, creds = req[5].decode(), req[6:]
            user = b""
            if mechanism == "CURVE":
                who = zmq.utils.z85.encode(creds[0]).decode()
                ok = who in zap.get("keys", [])
                user = who.encode()
            elif mechanism == "PLAIN":
                who = creds[0].decode() + ":" + creds[1].decode()
                ok = who in zap.get("users", [])
                user = creds[0]
            else:
                who, ok = "-", False
            say("zap", mechanism, who, "allow" if ok else "deny")
            handler.send_multipart([b"1.0", req[1], b"200" if ok else b"400",
                                    b"OK" if ok else b"denied", user if ok else b"", b""])

    threading.Thread(target=serve, daemon=True).start()

s = ctx.socket(getattr(zmq, cfg["type"]))
s.linger = cfg.get("linger", 0)
s.sndtimeo = 5000
for name, value in cfg.get("options", []):
    s.setsockopt(getattr(zmq, name), value.encode() if isinstance(value, str) else value)

if cfg.get("monitor"):
    mon = s.get_monitor_socket()

    def watch():
        while True:
            try:
                head, endpoint = mon.recv_multipart()
            except zmq.ZMQError:
                mon.close()
                return
            event, value = struct.unpack("<HI", head[:6])
            say("event", event, value, endpoint.decode() or "-")
            if event == zmq.EVENT_MONITOR_STOPPED:
                mon.close()
                return

    threading.Thread(target=watch, daemon=True).start()

def receive(timeout):
    s.rcvtimeo = timeout
    try:
        msg = s.recv_multipart(copy=False)
    except zmq.Again:
        say("timeout")
        return None
    say("recv", *words_of(m.bytes for m in msg))
    try:
        user = msg[0].get("User-Id")
    except zmq.ZMQError:
        user = None
    if user:
        say("user", user)
    return [m.bytes for m in msg]

try:
    for ep in cfg.get("bind", []):
        s.bind(ep)
        say("bound", s.last_endpoint.decode())
    for ep in cfg.get("connect", []):
        s.connect(ep)
    for step in cfg.get("steps", []):
        op, args = step[0], step[1:]
        if op == "send":
            s.send_multipart(frames_of(args))
        elif op == "send_nowait":
            try:
                s.send_multipart(frames_of(args), zmq.DONTWAIT)
                say("sent")
            except zmq.Again:
                say("blocked")
        elif op == "send_within":
            s.sndtimeo = args[0]
            try:
                s.send_multipart(frames_of(args[1:]))
                say("sent")
            except zmq.Again:
                say("blocked")
            s.sndtimeo = 5000
        elif op == "recv":
            receive(args[0] if args else 5000)
        elif op == "recv_until":
            end = frames_of(args)
            while True:
                got = receive(5000)
                if got is None or got == end:
                    break
        elif op == "echo":
            s.rcvtimeo = 5000
            msg = s.recv_multipart()
            say("echoed", *[len(f) for f in msg])
            s.send_multipart(msg)
        elif op == "wait":
            sys.stdin.readline()
        else:
            raise ValueError("unknown step " + op)
    say("done")
    s.close()
    ctx.term()
except Exception as e:
    say("error", repr(e).replace("\n", " "))
    os._exit(2)
"#;

/// The Python to run peers with: pyzmq installed on first use (see the module docs).
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PYTHON.get_or_init(find_or_install) {
        Ok(path) => path,
        Err(why) => panic!(
            "{why}\n\nThe interop tests need pyzmq {PYZMQ_VERSION} (its wheels bundle libzmq 4.3 \
             with CURVE). They install it by themselves into a virtual environment under \
             {}, which needs `python3 -m venv` (Debian: apt-get install python3-venv) and \
             pip reaching PyPI. Alternatively set ZMQ_RS_TEST_PYTHON to a Python that has \
             it (pip install pyzmq=={PYZMQ_VERSION}).",
            env!("CARGO_TARGET_TMPDIR")
        ),
    }
}

fn find_or_install() -> Result<PathBuf, String> {
    if let Some(python) = std::env::var_os("ZMQ_RS_TEST_PYTHON") {
        let python = PathBuf::from(python);
        check_pyzmq(&python)?;
        return Ok(python);
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("pyzmq-{PYZMQ_VERSION}"));
    let venv = dir.join("venv");
    let python = venv.join("bin").join("python");
    let ready = venv.join("zmq-rs-ready");
    if ready.exists() {
        return Ok(python);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let lock = dir.join("install.lock");
    let give_up = Instant::now() + Duration::from_secs(600);
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(mut file) => {
                let _ = write!(file, "{}", std::process::id());
                let result = if ready.exists() {
                    Ok(())
                } else {
                    install(&venv, &ready)
                };
                let _ = std::fs::remove_file(&lock);
                return result.map(|()| python);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if ready.exists() {
                    return Ok(python);
                }
                if holder_is_gone(&lock) {
                    let _ = std::fs::remove_file(&lock);
                    continue;
                }
                if Instant::now() > give_up {
                    return Err(format!(
                        "another test process has been installing pyzmq for 10 minutes \
                         (lock file {})",
                        lock.display()
                    ));
                }
                // Another process is installing: look again shortly.
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(format!("cannot create {}: {e}", lock.display())),
        }
    }
}

/// True if the process that wrote the lock file has exited (it died mid-install).
fn holder_is_gone(lock: &Path) -> bool {
    match std::fs::read_to_string(lock) {
        Ok(pid) => match pid.trim().parse::<u32>() {
            Ok(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
            // Written but not yet filled in: the holder is alive.
            Err(_) => false,
        },
        // Removed meanwhile: try to take it.
        Err(_) => true,
    }
}

fn install(venv: &Path, ready: &Path) -> Result<(), String> {
    if venv.exists() {
        std::fs::remove_dir_all(venv)
            .map_err(|e| format!("cannot remove a half-made {}: {e}", venv.display()))?;
    }
    let base = std::env::var_os("PYTHON3").unwrap_or_else(|| "python3".into());
    run(Command::new(&base).arg("-m").arg("venv").arg(venv))?;
    let python = venv.join("bin").join("python");
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--timeout",
        "30",
        "--retries",
        "2",
        "--only-binary",
        "pyzmq",
        &format!("pyzmq=={PYZMQ_VERSION}"),
    ]))?;
    check_pyzmq(&python)?;
    std::fs::write(ready, PYZMQ_VERSION)
        .map_err(|e| format!("cannot write {}: {e}", ready.display()))
}

/// Checks that `python` has pyzmq with CURVE and ipc.
fn check_pyzmq(python: &Path) -> Result<(), String> {
    run(Command::new(python).args([
        "-c",
        "import zmq, sys; sys.exit(0 if zmq.has('curve') and zmq.has('ipc') else \
         'pyzmq ' + zmq.pyzmq_version() + ' (libzmq ' + zmq.zmq_version() + ') lacks CURVE or ipc')",
    ]))
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The peer script, written once per version of its text (atomically: another test process
/// may be reading it).
fn script() -> &'static Path {
    static SCRIPT: OnceLock<PathBuf> = OnceLock::new();
    SCRIPT.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        PEER_SCRIPT.hash(&mut hasher);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(dir).expect("target temp dir");
        let path = dir.join(format!("pyzmq-peer-{:016x}.py", hasher.finish()));
        if !path.exists() {
            let partial = dir.join(format!("pyzmq-peer.{}.partial", std::process::id()));
            std::fs::write(&partial, PEER_SCRIPT).expect("write the peer script");
            std::fs::rename(&partial, &path).expect("put the peer script in place");
        }
        path
    })
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_list(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(","))
}

/// A frame as the peer's `x`-prefixed hex.
pub fn hex_word(frame: &[u8]) -> String {
    let mut word = String::with_capacity(1 + 2 * frame.len());
    word.push('x');
    for b in frame {
        word.push_str(&format!("{b:02x}"));
    }
    word
}

fn unhex_word(word: &str) -> Vec<u8> {
    let hex = word.strip_prefix('x').expect("a frame word starts with x");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// What a pyzmq peer is to do (built up, then [`Spec::start`]ed).
#[derive(Debug, Clone)]
pub struct Spec {
    socket_type: String,
    options: Vec<String>,
    bind: Vec<String>,
    connect: Vec<String>,
    zap: Option<String>,
    monitor: bool,
    linger: i32,
    steps: Vec<String>,
}

impl Spec {
    /// A socket of pyzmq's type `socket_type` (`"PUSH"`, `"SUB"`, ...).
    pub fn new(socket_type: &str) -> Self {
        Self {
            socket_type: socket_type.to_owned(),
            options: Vec::new(),
            bind: Vec::new(),
            connect: Vec::new(),
            zap: None,
            monitor: false,
            linger: 0,
            steps: Vec::new(),
        }
    }

    /// Sets a text option (`"CURVE_SERVERKEY"`, `"PLAIN_USERNAME"`, `"SUBSCRIBE"`, ...).
    pub fn option(mut self, name: &str, value: &str) -> Self {
        self.options
            .push(json_list([json_str(name), json_str(value)]));
        self
    }

    /// Sets a number option (`"CURVE_SERVER"`, ...).
    pub fn option_int(mut self, name: &str, value: i64) -> Self {
        self.options
            .push(json_list([json_str(name), value.to_string()]));
        self
    }

    /// A CURVE server with this key pair (Z85).
    pub fn curve_server(self, public: &str, secret: &str) -> Self {
        self.option_int("CURVE_SERVER", 1)
            .option("CURVE_PUBLICKEY", public)
            .option("CURVE_SECRETKEY", secret)
    }

    /// A CURVE client of the server `server_key` with this key pair (Z85).
    pub fn curve_client(self, server_key: &str, public: &str, secret: &str) -> Self {
        self.option("CURVE_SERVERKEY", server_key)
            .option("CURVE_PUBLICKEY", public)
            .option("CURVE_SECRETKEY", secret)
    }

    /// Binds to `endpoint` (reported as `bound ...`).
    pub fn bind(mut self, endpoint: &str) -> Self {
        self.bind.push(json_str(endpoint));
        self
    }

    /// Connects to `endpoint`.
    pub fn connect(mut self, endpoint: &str) -> Self {
        self.connect.push(json_str(endpoint));
        self
    }

    /// Runs a ZAP handler letting in these CURVE keys (Z85) and PLAIN `user:password`s, and
    /// nobody else.
    pub fn zap(mut self, curve_keys: &[&str], plain_users: &[&str]) -> Self {
        self.zap = Some(format!(
            "{{\"keys\":{},\"users\":{}}}",
            json_list(curve_keys.iter().map(|k| json_str(k))),
            json_list(plain_users.iter().map(|u| json_str(u)))
        ));
        self
    }

    /// Reports every monitor event.
    pub fn monitor(mut self) -> Self {
        self.monitor = true;
        self
    }

    /// LINGER in milliseconds (default 0; a sender that exits right away needs some).
    pub fn linger(mut self, ms: i32) -> Self {
        self.linger = ms;
        self
    }

    fn step(mut self, op: &str, args: impl IntoIterator<Item = String>) -> Self {
        self.steps
            .push(json_list(std::iter::once(json_str(op)).chain(args)));
        self
    }

    fn frames(frames: &[&[u8]]) -> Vec<String> {
        frames.iter().map(|f| json_str(&hex_word(f))).collect()
    }

    /// Sends a message (waiting up to 5 s).
    pub fn send(self, frames: &[&[u8]]) -> Self {
        self.step("send", Self::frames(frames))
    }

    /// Queues a message without waiting (reports `sent` or `blocked`).
    pub fn send_nowait(self, frames: &[&[u8]]) -> Self {
        self.step("send_nowait", Self::frames(frames))
    }

    /// Sends a message if it can within `ms` (reports `sent` or `blocked`).
    pub fn send_within(self, ms: u32, frames: &[&[u8]]) -> Self {
        let args = std::iter::once(ms.to_string()).chain(Self::frames(frames));
        self.step("send_within", args)
    }

    /// Receives one message within 5 s (reports `recv ...` or `timeout`).
    pub fn recv(self) -> Self {
        self.step("recv", [])
    }

    /// Receives one message within `ms` (reports `recv ...` or `timeout`).
    pub fn recv_within(self, ms: u32) -> Self {
        self.step("recv", [ms.to_string()])
    }

    /// Receives and reports messages until one equals `last` (or 5 s pass without one).
    pub fn recv_until(self, last: &[&[u8]]) -> Self {
        self.step("recv_until", Self::frames(last))
    }

    /// Receives one message within 5 s and sends it back.
    pub fn echo(self) -> Self {
        self.step("echo", [])
    }

    /// Waits for [`Peer::go`] (or the deadline).
    pub fn wait(self) -> Self {
        self.step("wait", [])
    }

    fn to_json(&self) -> String {
        let mut fields = vec![
            format!("\"type\":{}", json_str(&self.socket_type)),
            format!("\"options\":{}", json_list(self.options.iter().cloned())),
            format!("\"bind\":{}", json_list(self.bind.iter().cloned())),
            format!("\"connect\":{}", json_list(self.connect.iter().cloned())),
            format!("\"monitor\":{}", self.monitor),
            format!("\"linger\":{}", self.linger),
            format!("\"steps\":{}", json_list(self.steps.iter().cloned())),
        ];
        if let Some(zap) = &self.zap {
            fields.push(format!("\"zap\":{zap}"));
        }
        format!("{{{}}}", fields.join(","))
    }

    /// Starts the peer.
    pub fn start(self) -> Peer {
        let python = python();
        let mut child = Command::new(python)
            .arg(script())
            .arg(self.to_json())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut pipe = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        });
        Peer {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            claimed: Vec::new(),
            stderr: Some(stderr),
            spec: self,
        }
    }
}

/// A running pyzmq peer.
#[derive(Debug)]
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    claimed: Vec<bool>,
    stderr: Option<JoinHandle<String>>,
    spec: Spec,
}

impl Peer {
    /// The next unclaimed line (in arrival order) whose words satisfy `wanted`, waiting up to
    /// [`LINE_TIMEOUT`]; the test fails, showing what the peer said, if none comes.
    pub fn wait_for(&mut self, what: &str, wanted: impl Fn(&[&str]) -> bool) -> Vec<String> {
        match self.try_wait_for(&wanted, LINE_TIMEOUT) {
            Ok(line) => line,
            Err(true) => self.fail(&format!("the peer exited without {what}")),
            Err(false) => self.fail(&format!("no {what} in time")),
        }
    }

    /// Like [`Peer::wait_for`], but waiting only up to `timeout`; `Err(true)` if the peer
    /// ended its output, `Err(false)` on timeout.
    pub fn try_wait_for(
        &mut self,
        wanted: impl Fn(&[&str]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<String>, bool> {
        let deadline = Instant::now() + timeout;
        let mut checked = 0;
        loop {
            while checked < self.seen.len() {
                let i = checked;
                checked += 1;
                let words: Vec<&str> = self.seen[i].split(' ').collect();
                if !self.claimed[i] && wanted(&words) {
                    self.claimed[i] = true;
                    return Ok(words.into_iter().map(str::to_owned).collect());
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line);
                    self.claimed.push(false);
                }
                Err(RecvTimeoutError::Timeout) => return Err(false),
                Err(RecvTimeoutError::Disconnected) => return Err(true),
            }
        }
    }

    /// The next unclaimed line starting with `word`.
    pub fn expect(&mut self, word: &str) -> Vec<String> {
        self.wait_for(word, |w| w[0] == word)
    }

    /// The endpoint the peer bound to.
    pub fn bound(&mut self) -> String {
        self.expect("bound")[1].clone()
    }

    /// The frames of the next message the peer reports receiving (fails on `timeout`).
    pub fn received(&mut self) -> Vec<Vec<u8>> {
        let line = self.wait_for("a received message", |w| {
            w[0] == "recv" || w[0] == "timeout" || w[0] == "error"
        });
        if line[0] != "recv" {
            self.fail("the peer received nothing");
        }
        line[1..].iter().map(|w| unhex_word(w)).collect()
    }

    /// Waits for the monitor event `event` with value `value` (any value: `None`).
    pub fn event(&mut self, event: u32, value: Option<u32>) -> Vec<String> {
        let (event, value) = (event.to_string(), value.map(|v| v.to_string()));
        let what = format!("event {event} (value {value:?})");
        self.wait_for(&what, |w| {
            w[0] == "event" && w[1] == event && value.as_ref().is_none_or(|v| w[2] == v)
        })
    }

    /// The peer's process id (to freeze it with SIGSTOP, say).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lets a peer waiting at a `wait` step go on.
    pub fn go(&mut self) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(b"go\n");
            let _ = stdin.flush();
        }
    }

    /// Every line so far, and whatever comes before the peer exits; fails unless the peer
    /// finished its steps and exited 0 within [`LINE_TIMEOUT`].
    pub fn finish(mut self) -> Vec<String> {
        self.expect("done");
        // Bounded: the peer's own deadline ends it even if closing its context hangs.
        match self.child.wait() {
            Ok(status) if status.success() => {}
            Ok(status) => self.fail(&format!("the peer exited with {status}")),
            Err(e) => self.fail(&format!("cannot wait for the peer: {e}")),
        }
        // Its standard output is closed now: take the rest.
        while let Ok(line) = self.lines.recv() {
            self.seen.push(line);
            self.claimed.push(false);
        }
        std::mem::take(&mut self.seen)
    }

    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The pipes are closed now: take what is left of both.
        while let Ok(line) = self.lines.recv() {
            self.seen.push(line);
        }
        let stderr = self
            .stderr
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        let mut spec = self.spec.to_json();
        if spec.len() > 2000 {
            spec.truncate(2000);
            spec.push_str("...");
        }
        panic!(
            "pyzmq peer: {why}\nspec: {spec}\nstdout:\n  {}\nstderr:\n{stderr}",
            self.seen.join("\n  "),
        );
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // A test that failed halfway must not leave the peer running.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The frames of a `recv ...` line of a transcript (`None` for other lines).
pub fn recv_line_frames(line: &str) -> Option<Vec<Vec<u8>>> {
    let mut words = line.split(' ');
    (words.next() == Some("recv")).then(|| words.map(unhex_word).collect())
}
