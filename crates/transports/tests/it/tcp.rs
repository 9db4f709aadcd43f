//! tcp over loopback: ephemeral ports, the last endpoint, traffic, refusal, source addresses,
//! IPv6 and dual-stack, name resolution.

use std::io;
use std::time::{Duration, Instant};

use transports::{
    Listener, Role, TransportConfig, TransportError, connect, connect_resolved, resolve,
};

use crate::support::{Net, ep, establish, exchange, expect_connect_failure};

fn ipv6() -> TransportConfig {
    TransportConfig {
        ipv6: true,
        ..TransportConfig::default()
    }
}

fn bind(s: &str, config: &TransportConfig) -> Listener {
    Listener::bind(&ep(s), config).unwrap_or_else(|e| panic!("bind `{s}`: {e}"))
}

fn port_of(listener: &Listener) -> u16 {
    listener
        .local_addr()
        .expect("tcp listener has an address")
        .port()
}

#[test]
fn ephemeral_port_is_resolved_in_the_last_endpoint() {
    let listener = bind("tcp://127.0.0.1:*", &TransportConfig::default());
    let port = port_of(&listener);
    assert_ne!(port, 0);
    assert_eq!(listener.local_endpoint(), format!("tcp://127.0.0.1:{port}"));
    // The last endpoint is itself a valid endpoint.
    assert_eq!(
        ep(listener.local_endpoint()).to_string(),
        listener.local_endpoint()
    );

    let zero = bind("tcp://127.0.0.1:0", &TransportConfig::default());
    assert_ne!(port_of(&zero), 0);

    let all = bind("tcp://*:*", &TransportConfig::default());
    assert_eq!(
        all.local_endpoint(),
        format!("tcp://0.0.0.0:{}", port_of(&all))
    );
}

#[test]
fn bytes_flow_both_ways_with_edge_triggered_readiness() {
    let config = TransportConfig::default();
    let mut listener = bind("tcp://127.0.0.1:*", &config);
    let client = connect(&ep(listener.local_endpoint()), &config).expect("connect");
    let mut net = Net::new();
    let mut pair = establish(&mut net, &mut listener, client);
    // Larger than the socket buffers, so both sides see WouldBlock and writable edges.
    exchange(&mut net, &mut pair, 4 * 1024 * 1024);
}

#[test]
fn accept_reports_the_numeric_peer_ip_and_streams_know_their_endpoints() {
    let config = TransportConfig::default();
    let mut listener = bind("tcp://127.0.0.1:*", &config);
    let client = connect(&ep(listener.local_endpoint()), &config).expect("connect");
    let mut net = Net::new();
    let pair = establish(&mut net, &mut listener, client);
    assert_eq!(pair.peer_address, "127.0.0.1");
    assert_eq!(pair.server.peer_address().expect("peer"), "127.0.0.1");
    assert_eq!(pair.client.peer_address().expect("peer"), "127.0.0.1");
    assert_eq!(
        pair.server.local_endpoint().expect("local"),
        listener.local_endpoint()
    );
    let client_local = pair.client.local_endpoint().expect("local");
    assert!(
        client_local.starts_with("tcp://127.0.0.1:"),
        "{client_local}"
    );
    assert!(pair.client.is_tcp());
}

#[test]
fn connect_before_bind_reports_refused_cleanly() {
    // A port that was just free: bind, note it, release it.
    let port = port_of(&bind("tcp://127.0.0.1:*", &TransportConfig::default()));
    let attempt = connect(
        &ep(&format!("tcp://127.0.0.1:{port}")),
        &TransportConfig::default(),
    );
    let mut net = Net::new();
    let error = expect_connect_failure(&mut net, attempt);
    assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{error}");
}

#[test]
fn binding_a_port_in_use_is_a_bind_error_naming_the_endpoint() {
    let first = bind("tcp://127.0.0.1:*", &TransportConfig::default());
    let taken = first.local_endpoint().to_owned();
    match Listener::bind(&ep(&taken), &TransportConfig::default()) {
        Err(TransportError::Bind { endpoint, source }) => {
            assert_eq!(endpoint, taken);
            assert_eq!(source.kind(), io::ErrorKind::AddrInUse);
        }
        other => panic!("expected a bind error, got {other:?}"),
    }
}

#[test]
fn source_address_is_bound_before_connecting() {
    let config = TransportConfig::default();
    let mut listener = bind("tcp://127.0.0.1:*", &config);
    // All of 127.0.0.0/8 is loopback on Linux, so 127.0.0.2 is a distinct, usable source.
    let endpoint = format!("tcp://127.0.0.2:*;127.0.0.1:{}", port_of(&listener));
    let client = connect(&ep(&endpoint), &config).expect("connect with a source address");
    let mut net = Net::new();
    let mut pair = establish(&mut net, &mut listener, client);
    assert_eq!(pair.peer_address, "127.0.0.2");
    let local = pair.client.local_endpoint().expect("local");
    assert!(local.starts_with("tcp://127.0.0.2:"), "{local}");
    exchange(&mut net, &mut pair, 1024);
}

#[test]
fn ipv6_loopback_with_the_ipv6_option() {
    let mut listener = bind("tcp://[::1]:*", &ipv6());
    let port = port_of(&listener);
    assert_eq!(listener.local_endpoint(), format!("tcp://[::1]:{port}"));
    let client = connect(&ep(listener.local_endpoint()), &ipv6()).expect("connect");
    let mut net = Net::new();
    let mut pair = establish(&mut net, &mut listener, client);
    assert_eq!(pair.peer_address, "::1");
    exchange(&mut net, &mut pair, 64 * 1024);
}

#[test]
fn ipv6_wildcard_bind_is_dual_stack() {
    let mut listener = bind("tcp://*:*", &ipv6());
    let port = port_of(&listener);
    assert_eq!(listener.local_endpoint(), format!("tcp://[::]:{port}"));
    assert!(!listener.socket().only_v6().expect("IPV6_V6ONLY"));
    // An IPv4-only client reaches the IPv6 listener through an IPv4-mapped address.
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let client = connect(&ep(&endpoint), &TransportConfig::default()).expect("connect");
    let mut net = Net::new();
    let mut pair = establish(&mut net, &mut listener, client);
    assert_eq!(pair.peer_address, "::ffff:127.0.0.1");
    exchange(&mut net, &mut pair, 1024);
}

#[test]
fn ipv4_literal_with_the_ipv6_option_binds_the_mapped_address() {
    // libzmq resolves with AF_INET6 + AI_V4MAPPED, and reports the mapped form.
    let mut listener = bind("tcp://127.0.0.1:*", &ipv6());
    let port = port_of(&listener);
    assert_eq!(
        listener.local_endpoint(),
        format!("tcp://[::ffff:127.0.0.1]:{port}")
    );
    // And an ipv6-enabled client reaches it through the same mapping.
    let client = connect(&ep(&format!("tcp://127.0.0.1:{port}")), &ipv6()).expect("connect");
    let mut net = Net::new();
    let mut pair = establish(&mut net, &mut listener, client);
    assert_eq!(pair.peer_address, "::ffff:127.0.0.1");
    exchange(&mut net, &mut pair, 1024);
}

#[test]
fn host_names_resolve_for_bind_and_connect() {
    let config = TransportConfig::default();
    let mut listener = bind("tcp://localhost:*", &config);
    assert!(
        listener.local_endpoint().starts_with("tcp://127."),
        "{}",
        listener.local_endpoint()
    );
    let endpoint = format!("tcp://localhost:{}", port_of(&listener));
    assert!(ep(&endpoint).needs_lookup());
    // The facade's split: resolve (possibly on another thread), then connect on the loop.
    let resolved = std::thread::spawn(move || resolve(&ep(&endpoint), Role::Connect, &config))
        .join()
        .expect("resolver thread")
        .expect("localhost resolves");
    let client = connect_resolved(&resolved, &TransportConfig::default()).expect("connect");
    let mut net = Net::new();
    let mut pair = establish(&mut net, &mut listener, client);
    exchange(&mut net, &mut pair, 1024);
}

#[test]
fn a_bad_host_name_is_an_error_quickly() {
    let started = Instant::now();
    let endpoint = "tcp://no-such-host.invalid:5555";
    match connect(&ep(endpoint), &TransportConfig::default()) {
        Err(TransportError::Connect {
            endpoint: quoted,
            source,
        }) => {
            assert_eq!(quoted, endpoint);
            assert!(
                source.to_string().contains("no-such-host.invalid"),
                "{source}"
            );
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
    assert!(matches!(
        Listener::bind(
            &ep("tcp://no-such-host.invalid:*"),
            &TransportConfig::default()
        ),
        Err(TransportError::Bind { .. })
    ));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn misuse_is_refused_before_any_socket_exists() {
    let config = TransportConfig::default();
    let invalid =
        |r: Result<_, TransportError>| matches!(r, Err(TransportError::InvalidEndpoint { .. }));
    assert!(invalid(
        connect(&ep("tcp://127.0.0.1:*"), &config).map(drop)
    ));
    assert!(invalid(connect(&ep("tcp://*:5555"), &config).map(drop)));
    assert!(invalid(connect(&ep("inproc://x"), &config).map(drop)));
    assert!(invalid(connect(&ep("tcp://[::1]:5555"), &config).map(drop)));
    assert!(invalid(
        Listener::bind(&ep("tcp://127.0.0.2:0;127.0.0.1:0"), &config).map(drop)
    ));
    assert!(invalid(
        Listener::bind(&ep("inproc://x"), &config).map(drop)
    ));
    // A resolution for one role cannot be used for the other.
    let for_bind = resolve(&ep("tcp://127.0.0.1:0"), Role::Bind, &config).expect("resolve");
    assert!(matches!(
        connect_resolved(&for_bind, &config),
        Err(TransportError::Connect { .. })
    ));
    assert_eq!(for_bind.endpoint().to_string(), "tcp://127.0.0.1:0");
    assert_eq!(for_bind.role(), Role::Bind);
}
