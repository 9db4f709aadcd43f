//! Runs the built `zmqcat` as a child process, with a deadline on everything.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest any zmqcat run may take before the test fails (and kills it).
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A running zmqcat.
pub struct Zmqcat {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    args: Vec<String>,
}

/// How a zmqcat run ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

impl Zmqcat {
    /// Starts zmqcat with `args`; `input` (if any) is written to its standard input, which is
    /// then closed. With `None`, standard input stays open until the run ends.
    pub fn start(args: &[&str], input: Option<&[u8]>) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zmqcat"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("zmqcat starts");
        let stdin = child.stdin.take().expect("stdin");
        match input {
            Some(input) => {
                let input = input.to_vec();
                std::thread::spawn(move || {
                    let mut stdin = stdin;
                    // zmqcat may exit (with -n) before reading everything: ignore EPIPE.
                    let _ = stdin.write_all(&input);
                });
            }
            None => {
                // Keep it open: leak it into a thread that holds it until the process ends.
                std::thread::spawn(move || {
                    let _keep = stdin;
                    std::thread::sleep(DEADLINE);
                });
            }
        }
        let stdout = collect(child.stdout.take().expect("stdout"));
        let stderr = collect(child.stderr.take().expect("stderr"));
        Self {
            child,
            stdout,
            stderr,
            args: args.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Runs zmqcat to its end with `input` on standard input.
    pub fn run(args: &[&str], input: &[u8]) -> Finished {
        Self::start(args, Some(input)).finish()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What zmqcat printed so far.
    pub fn stdout_so_far(&self) -> Vec<u8> {
        self.stdout.lock().expect("stdout lock").clone()
    }

    /// The address zmqcat reports having bound to (it binds a wildcard port).
    pub fn bound_endpoint(&mut self) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let stderr = String::from_utf8_lossy(&self.stderr.lock().expect("lock")).into_owned();
            // Whole lines only: the reader may have taken part of the last one so far.
            let complete = stderr.rfind('\n').map_or("", |end| &stderr[..end]);
            if let Some(line) = complete
                .lines()
                .find_map(|l| l.strip_prefix("zmqcat: bound to "))
            {
                return line.trim().to_owned();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "zmqcat {:?} exited ({status}) before binding: {stderr}",
                    self.args
                );
            }
            assert!(
                Instant::now() < deadline,
                "zmqcat {:?} did not bind: {stderr}",
                self.args
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// True once the process has exited.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits for the end (killing zmqcat and failing the test past [`DEADLINE`]).
    pub fn finish(mut self) -> Finished {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "zmqcat {:?} still running after {DEADLINE:?}; stdout {:?}, stderr {:?}",
                    self.args,
                    String::from_utf8_lossy(&self.stdout_so_far()),
                    String::from_utf8_lossy(&self.stderr.lock().expect("lock")),
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // The readers see end-of-file once the process is gone; give them a moment.
        let settle = Instant::now() + Duration::from_secs(2);
        while Arc::strong_count(&self.stdout) > 1 || Arc::strong_count(&self.stderr) > 1 {
            if Instant::now() >= settle {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Finished {
            status,
            stdout: self.stdout_so_far(),
            stderr: String::from_utf8_lossy(&self.stderr.lock().expect("lock")).into_owned(),
        }
    }

    /// Sends a signal (by number) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }
}

impl Drop for Zmqcat {
    fn drop(&mut self) {
        // A test that failed halfway must not leave zmqcat running.
        if !self.has_exited() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn collect(mut from: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = buffer.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        loop {
            match from.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => writer.lock().expect("lock").extend_from_slice(&chunk[..n]),
            }
        }
    });
    buffer
}

/// Our socket with timeouts and no linger.
pub fn ours(ctx: &zmq_rs::Context, socket_type: zmq_rs::SocketType) -> zmq_rs::Socket {
    let s = ctx.socket(socket_type).expect("our socket");
    s.set_rcvtimeo(5000).expect("rcvtimeo");
    s.set_sndtimeo(5000).expect("sndtimeo");
    s.set_linger(0).expect("linger");
    s
}

/// libzmq's socket with timeouts and no linger.
pub fn theirs(ctx: &zmq::Context, socket_type: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(socket_type).expect("libzmq socket");
    s.set_rcvtimeo(5000).expect("rcvtimeo");
    s.set_sndtimeo(5000).expect("sndtimeo");
    s.set_linger(0).expect("linger");
    s
}

/// Binds our socket to an ephemeral tcp port and returns the endpoint.
pub fn bind_ours(s: &zmq_rs::Socket) -> String {
    s.bind("tcp://127.0.0.1:*").expect("bind");
    s.get_last_endpoint().expect("endpoint")
}

/// Binds libzmq's socket to an ephemeral tcp port and returns the endpoint.
pub fn bind_theirs(s: &zmq::Socket) -> String {
    s.bind("tcp://127.0.0.1:*").expect("libzmq bind");
    s.get_last_endpoint()
        .expect("libzmq endpoint")
        .expect("utf-8 endpoint")
}
