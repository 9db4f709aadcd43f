//! Socket options, read back from the kernel with socket2 on both ends of a real connection.

use std::time::Duration;

use socket2::{Domain, SockRef, Socket, Type};
use transports::{Listener, TransportConfig, connect};

use crate::support::{Net, Pair, ep, establish};

fn pair_with(config: &TransportConfig) -> (Listener, Pair) {
    let mut listener = Listener::bind(&ep("tcp://127.0.0.1:*"), config).expect("bind");
    let client = connect(&ep(listener.local_endpoint()), config).expect("connect");
    let mut net = Net::new();
    let pair = establish(&mut net, &mut listener, client);
    (listener, pair)
}

/// What the kernel reports for a buffer size request: Linux doubles the value it stores.
fn granted(requested: usize) -> usize {
    let probe = Socket::new(Domain::IPV4, Type::STREAM, None).expect("probe socket");
    probe.set_send_buffer_size(requested).expect("probe sndbuf");
    probe.send_buffer_size().expect("probe read")
}

#[test]
fn nodelay_keepalive_buffers_and_maxrt_are_applied_to_both_ends() {
    let config = TransportConfig {
        sndbuf: Some(96 * 1024),
        rcvbuf: Some(80 * 1024),
        tcp_keepalive: Some(true),
        tcp_keepalive_idle: Some(30),
        tcp_keepalive_intvl: Some(7),
        tcp_keepalive_cnt: Some(4),
        tcp_maxrt: Some(Duration::from_millis(2500)),
        ..TransportConfig::default()
    };
    let (listener, pair) = pair_with(&config);
    for (side, socket) in [
        ("client", pair.client.socket()),
        ("server", pair.server.socket()),
    ] {
        assert!(
            socket.tcp_nodelay().expect("nodelay"),
            "{side}: TCP_NODELAY"
        );
        assert!(
            socket.keepalive().expect("keepalive"),
            "{side}: SO_KEEPALIVE"
        );
        assert_eq!(
            socket.tcp_keepalive_time().expect("idle"),
            Duration::from_secs(30),
            "{side}"
        );
        assert_eq!(
            socket.tcp_keepalive_interval().expect("intvl"),
            Duration::from_secs(7),
            "{side}"
        );
        assert_eq!(socket.tcp_keepalive_retries().expect("cnt"), 4, "{side}");
        #[cfg(target_os = "linux")]
        assert_eq!(
            socket.tcp_user_timeout().expect("maxrt"),
            Some(Duration::from_millis(2500)),
            "{side}: TCP_USER_TIMEOUT"
        );
    }
    // Set before connect on the client, and inherited from the listener by the accepted socket.
    assert_eq!(
        pair.client.socket().send_buffer_size().expect("sndbuf"),
        granted(96 * 1024)
    );
    assert_eq!(
        pair.server.socket().send_buffer_size().expect("sndbuf"),
        granted(96 * 1024)
    );
    assert_eq!(
        listener.socket().send_buffer_size().expect("sndbuf"),
        granted(96 * 1024)
    );
    assert_eq!(
        listener.socket().recv_buffer_size().expect("rcvbuf"),
        granted(80 * 1024)
    );
    assert!(listener.socket().reuse_address().expect("SO_REUSEADDR"));
}

#[test]
fn defaults_turn_nodelay_on_and_leave_the_rest_to_the_os() {
    let (_listener, pair) = pair_with(&TransportConfig::default());
    let fresh = Socket::new(Domain::IPV4, Type::STREAM, None).expect("fresh socket");
    for socket in [pair.client.socket(), pair.server.socket()] {
        assert!(socket.tcp_nodelay().expect("nodelay"));
        assert_eq!(
            socket.keepalive().expect("keepalive"),
            fresh.keepalive().expect("default")
        );
        #[cfg(target_os = "linux")]
        assert_eq!(socket.tcp_user_timeout().expect("maxrt"), None);
    }
}

#[test]
fn keepalive_off_still_sets_its_parameters_as_libzmq_does() {
    let config = TransportConfig {
        tcp_keepalive: Some(false),
        tcp_keepalive_idle: Some(45),
        ..TransportConfig::default()
    };
    let (_listener, pair) = pair_with(&config);
    let socket: SockRef<'_> = pair.client.socket();
    assert!(!socket.keepalive().expect("keepalive"));
    assert_eq!(
        socket.tcp_keepalive_time().expect("idle"),
        Duration::from_secs(45)
    );
}

#[test]
fn keepalive_parameters_are_ignored_while_keepalive_is_left_to_the_os() {
    let config = TransportConfig {
        tcp_keepalive: None,
        tcp_keepalive_idle: Some(45),
        ..TransportConfig::default()
    };
    let (_listener, pair) = pair_with(&config);
    let fresh = Socket::new(Domain::IPV4, Type::STREAM, None).expect("fresh socket");
    assert_eq!(
        pair.client.socket().tcp_keepalive_time().expect("idle"),
        fresh.tcp_keepalive_time().expect("default idle")
    );
}

#[test]
fn defaults_match_libzmq() {
    let config = TransportConfig::default();
    assert!(!config.ipv6);
    assert_eq!(config.backlog, 100);
    assert_eq!(config.sndbuf, None);
    assert_eq!(config.rcvbuf, None);
    assert_eq!(config.tcp_keepalive, None);
    assert_eq!(config.tcp_keepalive_idle, None);
    assert_eq!(config.tcp_keepalive_intvl, None);
    assert_eq!(config.tcp_keepalive_cnt, None);
    assert_eq!(config.tcp_maxrt, None);
}
