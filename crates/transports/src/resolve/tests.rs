//! Unit tests: libzmq's resolution rules for each role and for the `ipv6` option. Only
//! literals, `localhost` and `.invalid` names, so no test depends on the network.

use super::*;

fn endpoint(s: &str) -> Endpoint {
    match s.parse() {
        Ok(ep) => ep,
        Err(e) => panic!("`{s}`: {e}"),
    }
}

fn cfg(ipv6: bool) -> TransportConfig {
    TransportConfig {
        ipv6,
        ..TransportConfig::default()
    }
}

fn tcp_addr(s: &str, role: Role, ipv6: bool) -> (SocketAddr, Option<SocketAddr>) {
    match resolve(&endpoint(s), role, &cfg(ipv6)) {
        Ok(r) => match r.addr() {
            ResolvedAddr::Tcp { addr, source } => (*addr, *source),
            other => panic!("`{s}` resolved to {other:?}"),
        },
        Err(e) => panic!("`{s}` should resolve: {e}"),
    }
}

fn problem(s: &str, role: Role, ipv6: bool) -> EndpointProblem {
    match resolve(&endpoint(s), role, &cfg(ipv6)) {
        Err(TransportError::InvalidEndpoint { endpoint, reason }) => {
            assert_eq!(endpoint, s);
            reason
        }
        other => panic!("`{s}` should be refused for {role:?}, got {other:?}"),
    }
}

fn sa(s: &str) -> SocketAddr {
    match s.parse() {
        Ok(a) => a,
        Err(e) => panic!("{s}: {e}"),
    }
}

#[test]
fn wildcards_bind_the_any_address_of_the_chosen_family() {
    assert_eq!(tcp_addr("tcp://*:*", Role::Bind, false).0, sa("0.0.0.0:0"));
    assert_eq!(
        tcp_addr("tcp://*:5555", Role::Bind, true).0,
        sa("[::]:5555")
    );
    assert_eq!(
        tcp_addr("tcp://127.0.0.1:0", Role::Bind, false).0,
        sa("127.0.0.1:0")
    );
}

#[test]
fn wildcards_cannot_be_connected_to() {
    assert_eq!(
        problem("tcp://127.0.0.1:*", Role::Connect, false),
        EndpointProblem::WildcardPortOnConnect
    );
    assert_eq!(
        problem("tcp://*:5555", Role::Connect, false),
        EndpointProblem::WildcardHostOnConnect
    );
    assert_eq!(
        problem("ipc://*", Role::Connect, false),
        EndpointProblem::IpcWildcardOnConnect
    );
}

#[test]
fn ipv4_literals_are_mapped_when_ipv6_is_on() {
    assert_eq!(
        tcp_addr("tcp://127.0.0.1:1", Role::Connect, false).0,
        sa("127.0.0.1:1")
    );
    assert_eq!(
        tcp_addr("tcp://127.0.0.1:1", Role::Connect, true).0,
        sa("[::ffff:127.0.0.1]:1")
    );
}

#[test]
fn ipv6_literals_need_the_ipv6_option() {
    assert_eq!(
        problem("tcp://[::1]:1", Role::Connect, false),
        EndpointProblem::Ipv6Disabled {
            host: "[::1]".into()
        }
    );
    assert!(matches!(
        problem("tcp://[fe80::1%1]:1", Role::Bind, false),
        EndpointProblem::Ipv6Disabled { .. }
    ));
    assert_eq!(
        tcp_addr("tcp://[::1]:1", Role::Connect, true).0,
        sa("[::1]:1")
    );
}

#[test]
fn numeric_zone_becomes_the_scope_id() {
    match tcp_addr("tcp://[fe80::1%3]:9", Role::Connect, true).0 {
        SocketAddr::V6(v6) => {
            assert_eq!(v6.scope_id(), 3);
            assert_eq!(v6.port(), 9);
        }
        other => panic!("expected IPv6, got {other}"),
    }
}

#[cfg(target_os = "linux")]
#[test]
fn named_zone_becomes_the_interface_index() {
    // The loopback interface exists on every Linux machine.
    let expected = std::fs::read_to_string("/sys/class/net/lo/ifindex")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok());
    let Some(expected) = expected else {
        panic!("/sys/class/net/lo/ifindex should exist on Linux");
    };
    match tcp_addr("tcp://[fe80::1%lo]:9", Role::Connect, true).0 {
        SocketAddr::V6(v6) => assert_eq!(v6.scope_id(), expected),
        other => panic!("expected IPv6, got {other}"),
    }
    assert_eq!(
        problem("tcp://[fe80::1%nosuchif0]:9", Role::Connect, true),
        EndpointProblem::BadZone {
            zone: "nosuchif0".into()
        }
    );
}

#[test]
fn source_address_is_for_connect_only_and_numeric_only() {
    let (addr, source) = tcp_addr("tcp://127.0.0.2:0;127.0.0.1:5555", Role::Connect, false);
    assert_eq!(addr, sa("127.0.0.1:5555"));
    assert_eq!(source, Some(sa("127.0.0.2:0")));
    let (_, wildcard_source) = tcp_addr("tcp://*:*;127.0.0.1:5555", Role::Connect, false);
    assert_eq!(wildcard_source, Some(sa("0.0.0.0:0")));

    assert_eq!(
        problem("tcp://127.0.0.2:0;127.0.0.1:5555", Role::Bind, false),
        EndpointProblem::SourceOnBind
    );
    assert_eq!(
        problem("tcp://nosuchhost-zz:0;127.0.0.1:5555", Role::Connect, false),
        EndpointProblem::SourceNotNumeric {
            host: "nosuchhost-zz".into()
        }
    );
}

#[cfg(target_os = "linux")]
#[test]
fn binding_to_an_interface_name_is_refused_clearly() {
    assert_eq!(
        problem("tcp://lo:5555", Role::Bind, false),
        EndpointProblem::InterfaceNameUnsupported { name: "lo".into() }
    );
    let message = match resolve(&endpoint("tcp://lo:5555"), Role::Bind, &cfg(false)) {
        Err(e) => e.to_string(),
        Ok(r) => panic!("resolved to {r:?}"),
    };
    assert!(message.contains("`lo` is a network interface"), "{message}");
}

#[test]
fn inproc_is_not_an_os_transport() {
    assert_eq!(
        problem("inproc://x", Role::Bind, false),
        EndpointProblem::InprocNotATransport
    );
}

#[test]
fn ipc_endpoints_pass_through() {
    let r = resolve(&endpoint("ipc:///tmp/x"), Role::Connect, &cfg(false));
    assert!(matches!(
        r.as_ref().map(Resolved::addr),
        Ok(ResolvedAddr::Ipc(IpcEndpoint::Path(_)))
    ));
    let wildcard = resolve(&endpoint("ipc://*"), Role::Bind, &cfg(false));
    assert!(matches!(
        wildcard.as_ref().map(Resolved::addr),
        Ok(ResolvedAddr::Ipc(IpcEndpoint::Wildcard))
    ));
}

#[test]
fn names_in_the_invalid_domain_fail_fast_with_the_role_s_error() {
    for name in ["nosuch.invalid", "a.b.INVALID", "x.invalid.", "invalid"] {
        let err = lookup_host(name, false).err();
        assert_eq!(
            err.map(|e| e.kind()),
            Some(io::ErrorKind::NotFound),
            "{name}"
        );
    }
    match resolve(
        &endpoint("tcp://nosuch.invalid:5555"),
        Role::Connect,
        &cfg(false),
    ) {
        Err(TransportError::Connect { endpoint, source }) => {
            assert_eq!(endpoint, "tcp://nosuch.invalid:5555");
            assert!(source.to_string().contains("nosuch.invalid"), "{source}");
        }
        other => panic!("expected a Connect error, got {other:?}"),
    }
    assert!(matches!(
        resolve(
            &endpoint("tcp://nosuch.invalid:5555"),
            Role::Bind,
            &cfg(false)
        ),
        Err(TransportError::Bind { .. })
    ));
}

#[test]
fn localhost_resolves_through_the_system() {
    let (addr, _) = tcp_addr("tcp://localhost:5555", Role::Connect, false);
    assert!(addr.ip().is_loopback(), "{addr}");
    assert_eq!(addr.port(), 5555);
    let (mapped, _) = tcp_addr("tcp://localhost:5555", Role::Connect, true);
    assert!(
        mapped.is_ipv6(),
        "with ipv6 on, the result is IPv6 (native or mapped): {mapped}"
    );
}

#[test]
fn needs_lookup_only_for_host_names() {
    assert!(endpoint("tcp://localhost:1").needs_lookup());
    assert!(!endpoint("tcp://127.0.0.1:1").needs_lookup());
    assert!(!endpoint("tcp://*:1").needs_lookup());
    assert!(!endpoint("ipc://x").needs_lookup());
    assert!(!endpoint("inproc://x").needs_lookup());
}
