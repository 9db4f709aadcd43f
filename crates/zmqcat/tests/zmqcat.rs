//! The built `zmqcat` against zmq-rs sockets and libzmq sockets (the `zmq` crate): every mode,
//! the separators, `-n`, the exit statuses and signals.

#[path = "../../zmq-rs/tests/common/pyzmq.rs"]
mod pyzmq;
mod support;

use std::time::{Duration, Instant};

use support::{DEADLINE, Zmqcat, bind_ours, bind_theirs, ours, theirs};

/// A socket of either implementation, driven through the few calls these tests need.
trait Peer {
    fn bind_any(&self) -> String;
    fn connect_to(&self, endpoint: &str);
    fn send_parts(&self, parts: &[&[u8]]);
    /// A whole message, or `None` after the receive timeout.
    fn recv_parts(&self) -> Option<Vec<Vec<u8>>>;
    fn recv_parts_now(&self) -> Option<Vec<Vec<u8>>>;
    fn set_id(&self, id: &[u8]);
}

impl Peer for zmq_rs::Socket {
    fn bind_any(&self) -> String {
        bind_ours(self)
    }
    fn connect_to(&self, endpoint: &str) {
        self.connect(endpoint).expect("connect");
    }
    fn send_parts(&self, parts: &[&[u8]]) {
        self.send_multipart(parts.iter().copied(), 0).expect("send");
    }
    fn recv_parts(&self) -> Option<Vec<Vec<u8>>> {
        self.recv_multipart(0).ok()
    }
    fn recv_parts_now(&self) -> Option<Vec<Vec<u8>>> {
        self.recv_multipart(zmq_rs::DONTWAIT).ok()
    }
    fn set_id(&self, id: &[u8]) {
        self.set_routing_id(id).expect("routing id");
    }
}

impl Peer for zmq::Socket {
    fn bind_any(&self) -> String {
        bind_theirs(self)
    }
    fn connect_to(&self, endpoint: &str) {
        self.connect(endpoint).expect("libzmq connect");
    }
    fn send_parts(&self, parts: &[&[u8]]) {
        self.send_multipart(parts.iter().copied(), 0)
            .expect("libzmq send");
    }
    fn recv_parts(&self) -> Option<Vec<Vec<u8>>> {
        self.recv_multipart(0).ok()
    }
    fn recv_parts_now(&self) -> Option<Vec<Vec<u8>>> {
        self.recv_multipart(zmq::DONTWAIT).ok()
    }
    fn set_id(&self, id: &[u8]) {
        self.set_identity(id).expect("libzmq identity");
    }
}

/// Runs `scenario` once with a zmq-rs peer and once with a libzmq peer of type `t`.
fn with_each_peer(t: zmq_rs::SocketType, scenario: impl Fn(&dyn Peer, &str)) {
    let ctx = zmq_rs::Context::new();
    let ours = ours(&ctx, t);
    scenario(&ours, "zmq-rs");
    let ctx = zmq::Context::new();
    let theirs = theirs(&ctx, libzmq_type(t));
    scenario(&theirs, "libzmq");
}

fn libzmq_type(t: zmq_rs::SocketType) -> zmq::SocketType {
    match t {
        zmq_rs::PUSH => zmq::PUSH,
        zmq_rs::PULL => zmq::PULL,
        zmq_rs::PUB => zmq::PUB,
        zmq_rs::REQ => zmq::REQ,
        zmq_rs::REP => zmq::REP,
        zmq_rs::DEALER => zmq::DEALER,
        zmq_rs::XPUB => zmq::XPUB,
        other => panic!("no libzmq type for {other} in these tests"),
    }
}

// ---- PUSH/PULL ---------------------------------------------------------------------------

#[test]
fn write_mode_push_delivers_every_record_before_exiting() {
    with_each_peer(zmq_rs::PULL, |pull, label| {
        let ep = pull.bind_any();
        let input: String = (0..200).map(|i| format!("line {i}\n")).collect();
        let done = Zmqcat::run(&["-w", "-c", "PUSH", &ep], input.as_bytes());
        assert_eq!(done.code(), Some(0), "{label}: {}", done.stderr);
        for i in 0..200 {
            let msg = pull
                .recv_parts()
                .unwrap_or_else(|| panic!("{label}: #{i} lost"));
            assert_eq!(msg, [format!("line {i}").into_bytes()], "{label}");
        }
        assert!(pull.recv_parts_now().is_none(), "{label}: nothing extra");
    });
}

#[test]
fn a_short_input_is_delivered_even_though_stdin_ends_at_once() {
    // End of input arrives before the connection is made: what is queued must still go.
    with_each_peer(zmq_rs::PULL, |pull, label| {
        let ep = pull.bind_any();
        let done = Zmqcat::run(&["-c", "push", &ep], b"only\nlast-unterminated");
        assert_eq!(done.code(), Some(0), "{label}: {}", done.stderr);
        assert_eq!(pull.recv_parts(), Some(vec![b"only".to_vec()]), "{label}");
        assert_eq!(
            pull.recv_parts(),
            Some(vec![b"last-unterminated".to_vec()]),
            "{label}"
        );
    });
}

#[test]
fn read_mode_pull_prints_each_message_and_stops_after_count() {
    with_each_peer(zmq_rs::PUSH, |push, label| {
        let mut cat = Zmqcat::start(&["-n", "3", "-b", "PULL", "tcp://127.0.0.1:*"], None);
        let ep = cat.bound_endpoint();
        push.connect_to(&ep);
        for m in ["one", "two", "three", "four"] {
            push.send_parts(&[m.as_bytes()]);
        }
        let done = cat.finish();
        assert_eq!(done.code(), Some(0), "{label}: {}", done.stderr);
        assert_eq!(done.stdout_text(), "one\ntwo\nthree\n", "{label}");
    });
}

#[test]
fn count_limits_what_write_mode_sends() {
    with_each_peer(zmq_rs::PULL, |pull, label| {
        let ep = pull.bind_any();
        let done = Zmqcat::run(&["-n", "2", "-w", "-c", "PUSH", &ep], b"a\nb\nc\nd\n");
        assert_eq!(done.code(), Some(0), "{label}: {}", done.stderr);
        assert_eq!(pull.recv_parts(), Some(vec![b"a".to_vec()]), "{label}");
        assert_eq!(pull.recv_parts(), Some(vec![b"b".to_vec()]), "{label}");
        std::thread::sleep(Duration::from_millis(100));
        assert!(pull.recv_parts_now().is_none(), "{label}: only two sent");
    });
}

// ---- separators --------------------------------------------------------------------------

#[test]
fn nul_separator_applies_to_input_and_output() {
    with_each_peer(zmq_rs::PULL, |pull, label| {
        let ep = pull.bind_any();
        let done = Zmqcat::run(&["-0", "-c", "PUSH", &ep], b"two\nlines\0second\0");
        assert_eq!(done.code(), Some(0), "{label}: {}", done.stderr);
        assert_eq!(pull.recv_parts(), Some(vec![b"two\nlines".to_vec()]));
        assert_eq!(pull.recv_parts(), Some(vec![b"second".to_vec()]));
    });
    with_each_peer(zmq_rs::PUSH, |push, label| {
        let mut cat = Zmqcat::start(&["-0", "-n", "1", "-b", "PULL", "tcp://127.0.0.1:*"], None);
        push.connect_to(&cat.bound_endpoint());
        push.send_parts(&[b"x\ny"]);
        let done = cat.finish();
        assert_eq!(done.code(), Some(0), "{label}: {}", done.stderr);
        assert_eq!(done.stdout, b"x\ny\0", "{label}");
    });
}

// ---- PUB/SUB -----------------------------------------------------------------------------

#[test]
fn sub_prints_only_what_matches_its_prefixes() {
    with_each_peer(zmq_rs::PUB, |publisher, label| {
        let ep = publisher.bind_any();
        let mut cat = Zmqcat::start(
            &["-n", "4", "-c", "SUB", "-s", "keep", "-s", "also", &ep],
            None,
        );
        let deadline = Instant::now() + DEADLINE;
        let mut i = 0;
        // The subscription reaches the publisher some time after the connection: publish
        // until zmqcat has printed four messages and exited.
        while !cat.has_exited() {
            assert!(
                Instant::now() < deadline,
                "{label}: SUB never got 4 messages"
            );
            publisher.send_parts(&[format!("skip {i}").as_bytes()]);
            publisher.send_parts(&[format!("keep {i}").as_bytes()]);
            publisher.send_parts(&[format!("also {i}").as_bytes()]);
            i += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
        let done = cat.finish();
        assert_eq!(done.code(), Some(0), "{label}: {}", done.stderr);
        let text = done.stdout_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{label}: {lines:?}");
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("keep ") || l.starts_with("also ")),
            "{label}: {lines:?}"
        );
    });
}

#[test]
fn xsub_sends_a_subscription_message_for_each_prefix() {
    with_each_peer(zmq_rs::XPUB, |xpub, label| {
        let ep = xpub.bind_any();
        let cat = Zmqcat::start(&["-r", "-n", "1", "-c", "XSUB", "-s", "topic", &ep], None);
        assert_eq!(
            xpub.recv_parts(),
            Some(vec![b"\x01topic".to_vec()]),
            "{label}"
        );
        xpub.send_parts(&[b"other"]);
        xpub.send_parts(&[b"topic news"]);
        let done = cat.finish();
        assert_eq!(done.code(), Some(0), "{label}: {}", done.stderr);
        assert_eq!(done.stdout_text(), "topic news\n", "{label}");
    });
}

// ---- REQ/REP -----------------------------------------------------------------------------

#[test]
fn req_sends_each_record_and_prints_each_reply() {
    with_each_peer(zmq_rs::REP, |rep, label| {
        let ep = rep.bind_any();
        let cat = Zmqcat::start(&["-c", "REQ", &ep], Some(b"one\ntwo\n"));
        for _ in 0..2 {
            let request = rep
                .recv_parts()
                .unwrap_or_else(|| panic!("{label}: request"));
            let reply = String::from_utf8_lossy(&request[0]).to_uppercase();
            rep.send_parts(&[reply.as_bytes()]);
        }
        let done = cat.finish();
        assert_eq!(done.code(), Some(0), "{label}: {}", done.stderr);
        assert_eq!(done.stdout_text(), "ONE\nTWO\n", "{label}");
    });
}

#[test]
fn rep_prints_each_request_and_answers_with_the_next_record() {
    with_each_peer(zmq_rs::REQ, |req, label| {
        // -r is ignored by REP, as documented.
        let mut cat = Zmqcat::start(
            &["-r", "-n", "2", "-b", "REP", "tcp://127.0.0.1:*"],
            Some(b"first reply\nsecond reply\nnever sent\n"),
        );
        req.connect_to(&cat.bound_endpoint());
        req.send_parts(&[b"q1"]);
        assert_eq!(
            req.recv_parts(),
            Some(vec![b"first reply".to_vec()]),
            "{label}"
        );
        req.send_parts(&[b"q2"]);
        assert_eq!(
            req.recv_parts(),
            Some(vec![b"second reply".to_vec()]),
            "{label}"
        );
        let done = cat.finish();
        assert_eq!(done.code(), Some(0), "{label}: {}", done.stderr);
        assert_eq!(done.stdout_text(), "q1\nq2\n", "{label}");
    });
}

// ---- ROUTER ------------------------------------------------------------------------------

#[test]
fn router_prints_the_peer_identity_before_the_frames() {
    with_each_peer(zmq_rs::DEALER, |dealer, label| {
        let mut cat = Zmqcat::start(&["-n", "1", "-b", "router", "tcp://127.0.0.1:*"], None);
        dealer.set_id(b"alice");
        dealer.connect_to(&cat.bound_endpoint());
        dealer.send_parts(&[b"hello", b"", b"world"]);
        let done = cat.finish();
        assert_eq!(done.code(), Some(0), "{label}: {}", done.stderr);
        assert_eq!(done.stdout_text(), "alice\nhello\n\nworld\n", "{label}");
    });
}

// ---- security ----------------------------------------------------------------------------

#[test]
fn plain_server_accepts_any_credentials_from_libzmq() {
    let mut cat = Zmqcat::start(
        &[
            "-n",
            "2",
            "-o",
            "plain_server=1",
            "-b",
            "PULL",
            "tcp://127.0.0.1:*",
        ],
        None,
    );
    let ep = cat.bound_endpoint();
    let ctx = zmq::Context::new();
    let mut clients = Vec::new();
    for (user, password) in [("anyone", "anything"), ("root", "hunter2")] {
        let push = theirs(&ctx, zmq::PUSH);
        push.set_plain_username(Some(user)).expect("user");
        push.set_plain_password(Some(password)).expect("password");
        push.connect(&ep).expect("connect");
        push.send(format!("from {user}").as_str(), 0).expect("send");
        clients.push(push);
    }
    let done = cat.finish();
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    let mut lines: Vec<_> = done.stdout_text().lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(lines, ["from anyone", "from root"]);
}

/// A key pair in Z85.
fn keys() -> (String, String) {
    let pair = zmq_rs::curve_keypair().expect("key pair");
    (pair.public.to_z85(), pair.secret.to_z85().to_string())
}

/// zmqcat as a CURVE PULL server that prints `count` messages; returns it and its endpoint.
fn zmqcat_curve_server(secret: &str, count: &str) -> (Zmqcat, String) {
    let secret = format!("CURVE_SECRETKEY={secret}");
    let mut cat = Zmqcat::start(
        &[
            "-n",
            count,
            "-o",
            "CURVE_SERVER=1",
            "-o",
            &secret,
            "-b",
            "PULL",
            "tcp://127.0.0.1:*",
        ],
        None,
    );
    let ep = cat.bound_endpoint();
    (cat, ep)
}

#[test]
fn curve_server_accepts_any_zmq_rs_client_key_and_refuses_null() {
    let (server_public, server_secret) = keys();
    let (cat, ep) = zmqcat_curve_server(&server_secret, "2");
    let ctx = zmq_rs::Context::new();
    // A NULL client first: it must not get through (its message would take a place).
    let null = ours(&ctx, zmq_rs::PUSH);
    null.connect(&ep).expect("connect");
    let _ = null.send("in the clear", zmq_rs::DONTWAIT);
    let mut clients = Vec::new();
    for name in ["alice", "bob"] {
        let (public, secret) = keys();
        let push = ours(&ctx, zmq_rs::PUSH);
        push.set_curve_serverkey(server_public.as_bytes())
            .expect("server key");
        push.set_curve_publickey(public.as_bytes()).expect("public");
        push.set_curve_secretkey(secret.as_bytes()).expect("secret");
        push.connect(&ep).expect("connect");
        push.send(format!("sealed by {name}").as_str(), 0)
            .expect("send");
        clients.push(push);
    }
    let done = cat.finish();
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    let mut lines: Vec<_> = done.stdout_text().lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(lines, ["sealed by alice", "sealed by bob"]);
}

#[test]
fn curve_server_accepts_a_pyzmq_client() {
    let (server_public, server_secret) = keys();
    let (client_public, client_secret) = keys();
    let (cat, ep) = zmqcat_curve_server(&server_secret, "1");
    let peer = pyzmq::Spec::new("PUSH")
        .curve_client(&server_public, &client_public, &client_secret)
        .linger(2000)
        .send(&[b"sealed by libzmq"])
        .connect(&ep)
        .start();
    let done = cat.finish();
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    assert_eq!(done.stdout_text(), "sealed by libzmq\n");
    peer.finish();
}

#[test]
fn curve_client_options_reach_a_pyzmq_curve_server() {
    let (server_public, server_secret) = keys();
    let mut peer = pyzmq::Spec::new("PULL")
        .curve_server(&server_public, &server_secret)
        .recv()
        .bind("tcp://127.0.0.1:*")
        .start();
    let ep = peer.bound();
    // No pair of its own: zmqcat makes a fresh one.
    let serverkey = format!("CURVE_SERVERKEY={server_public}");
    let done = Zmqcat::run(&["-c", "PUSH", "-o", &serverkey, &ep], b"hush\n");
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    assert_eq!(peer.received(), [b"hush"]);
    peer.finish();
}

#[test]
fn curve_keypair_prints_a_fresh_matching_pair() {
    let pair = || {
        let done = Zmqcat::run(&["--curve-keypair"], b"");
        assert_eq!(done.code(), Some(0), "{}", done.stderr);
        let text = done.stdout_text();
        let lines: Vec<&str> = text.lines().collect();
        let [public, secret] = lines[..] else {
            panic!("two lines expected: {text:?}")
        };
        let public = public
            .strip_prefix("CURVE_PUBLICKEY=")
            .expect("public line");
        let secret = secret
            .strip_prefix("CURVE_SECRETKEY=")
            .expect("secret line");
        assert_eq!(
            zmq_rs::curve_public(secret.as_bytes()).expect("a Z85 secret key"),
            public
        );
        (public.to_owned(), secret.to_owned())
    };
    assert_ne!(pair(), pair());
}

#[test]
fn plain_client_options_log_in_to_a_libzmq_plain_server() {
    let ctx = zmq::Context::new();
    // libzmq's PLAIN server needs a ZAP handler: this one lets "admin" in.
    let zap = ctx.socket(zmq::REP).expect("zap socket");
    zap.set_rcvtimeo(5000).expect("zap rcvtimeo");
    zap.bind("inproc://zeromq.zap.01").expect("zap bind");
    let handler = std::thread::spawn(move || {
        let request = zap.recv_multipart(0).expect("a ZAP request");
        // version, request id, domain, address, identity, mechanism, user name, password
        assert_eq!(request[5], b"PLAIN");
        assert_eq!(
            (&request[6][..], &request[7][..]),
            (&b"admin"[..], &b"pw"[..])
        );
        let reply: [&[u8]; 6] = [b"1.0", &request[1], b"200", b"OK", b"admin", b""];
        zap.send_multipart(reply, 0).expect("ZAP reply");
    });
    let pull = theirs(&ctx, zmq::PULL);
    pull.set_plain_server(true).expect("plain server");
    let ep = bind_theirs(&pull);
    let done = Zmqcat::run(
        &[
            "-c",
            "PUSH",
            "-o",
            "PLAIN_USERNAME=admin",
            "-o",
            "ZMQ_PLAIN_PASSWORD=pw",
            &ep,
        ],
        b"logged in\n",
    );
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    assert_eq!(
        pull.recv_multipart(0).expect("recv"),
        [b"logged in".to_vec()]
    );
    handler.join().expect("ZAP handler");
}

// ---- exit statuses -----------------------------------------------------------------------

#[test]
fn usage_mistakes_exit_2_with_the_reason() {
    for (args, reason) in [
        (
            &["-c", "SPOON", "tcp://127.0.0.1:1"][..],
            "unknown socket type",
        ),
        (
            &[
                "-c",
                "PUSH",
                "-o",
                "CURVE_SERVERKEY=short",
                "tcp://127.0.0.1:1",
            ],
            "CURVE_SERVERKEY",
        ),
        (
            &["-c", "PUSH", "-o", "CURVE_SERVER=1", "tcp://127.0.0.1:1"],
            "CURVE_SECRETKEY",
        ),
        (
            &["-c", "PUSH", "-o", "SUBSCRIBE=x", "tcp://127.0.0.1:1"],
            "SUBSCRIBE",
        ),
        (
            &["-c", "PUSH", "-o", "SNDHWM=lots", "tcp://127.0.0.1:1"],
            "whole number",
        ),
        (&["-c", "DEALER", "tcp://127.0.0.1:1"], "-r"),
        (&["-w", "-b", "ROUTER", "tcp://127.0.0.1:*"], "routing id"),
        (&["PUSH", "tcp://127.0.0.1:1"], "-b"),
    ] {
        let done = Zmqcat::run(args, b"");
        assert_eq!(done.code(), Some(2), "{args:?}: {}", done.stderr);
        assert!(done.stderr.contains(reason), "{args:?}: {}", done.stderr);
    }
}

#[test]
fn endpoint_failures_exit_3_with_the_reason() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let in_use = format!("tcp://{}", taken.local_addr().expect("addr"));
    for (args, reason) in [
        (vec!["-b", "PULL", in_use.as_str()], "cannot bind"),
        (
            vec!["-b", "PULL", "tcp://127.0.0.1:notaport"],
            "cannot bind",
        ),
        (
            vec!["-c", "PUSH", "carrier-pigeon://coop"],
            "cannot connect",
        ),
    ] {
        let done = Zmqcat::run(&args, b"");
        assert_eq!(done.code(), Some(3), "{args:?}: {}", done.stderr);
        assert!(done.stderr.contains(reason), "{args:?}: {}", done.stderr);
    }
}

#[test]
fn rcvtimeo_ends_a_silent_read_with_status_4() {
    let start = Instant::now();
    let done = Zmqcat::run(
        &["-o", "RCVTIMEO=200", "-b", "PULL", "tcp://127.0.0.1:*"],
        b"",
    );
    assert_eq!(done.code(), Some(4), "{}", done.stderr);
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert!(done.stderr.contains("RCVTIMEO"), "{}", done.stderr);
}

#[test]
fn sigint_and_sigterm_stop_a_blocked_reader_cleanly() {
    for (signal, status) in [("INT", 130), ("TERM", 143)] {
        let ctx = zmq_rs::Context::new();
        let push = ours(&ctx, zmq_rs::PUSH);
        let mut cat = Zmqcat::start(&["-b", "PULL", "tcp://127.0.0.1:*"], None);
        push.connect_to(&cat.bound_endpoint());
        push.send("before the signal", 0).expect("send");
        let deadline = Instant::now() + DEADLINE;
        while cat.stdout_so_far().is_empty() {
            assert!(Instant::now() < deadline, "nothing printed");
            std::thread::sleep(Duration::from_millis(5));
        }
        cat.signal(signal);
        let done = cat.finish();
        assert_eq!(done.code(), Some(status), "SIG{signal}: {}", done.stderr);
        assert_eq!(done.stdout_text(), "before the signal\n");
    }
}

#[test]
fn help_explains_usage_and_exit_statuses() {
    let done = Zmqcat::run(&["--help"], b"");
    assert_eq!(done.code(), Some(0));
    let text = done.stdout_text();
    for needle in [
        "Usage: zmqcat",
        "Exit status",
        "ROUTING_ID",
        "-0, --null",
        "130",
    ] {
        assert!(text.contains(needle), "--help lacks {needle:?}");
    }
}
