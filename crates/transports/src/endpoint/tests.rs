//! Unit tests: every endpoint form, every parse error, and the round trip through `Display`.

use super::*;

fn parse(s: &str) -> Endpoint {
    match s.parse::<Endpoint>() {
        Ok(ep) => ep,
        Err(e) => panic!("`{s}` should parse: {e}"),
    }
}

fn problem(s: &str) -> EndpointProblem {
    match s.parse::<Endpoint>() {
        Err(TransportError::InvalidEndpoint { endpoint, reason }) => {
            assert_eq!(endpoint, s, "the error quotes the endpoint");
            reason
        }
        other => panic!("`{s}` should be an invalid endpoint, got {other:?}"),
    }
}

fn tcp(s: &str) -> TcpEndpoint {
    match parse(s) {
        Endpoint::Tcp(tcp) => tcp,
        other => panic!("`{s}` should be tcp, got {other:?}"),
    }
}

fn hp(host: Host, port: Port) -> HostPort {
    HostPort { host, port }
}

#[test]
fn tcp_ipv4_host_and_port() {
    assert_eq!(
        tcp("tcp://127.0.0.1:5555"),
        TcpEndpoint {
            source: None,
            addr: hp(
                Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                Port::Number(5555)
            ),
        }
    );
}

#[test]
fn tcp_host_name() {
    let ep = tcp("tcp://example.com:80");
    assert_eq!(ep.addr.host, Host::Name("example.com".into()));
    assert_eq!(ep.addr.port, Port::Number(80));
    assert_eq!(
        tcp("tcp://my_host-1:1").addr.host,
        Host::Name("my_host-1".into())
    );
}

#[test]
fn tcp_interface_name_parses_as_a_name() {
    assert_eq!(tcp("tcp://eth0:5555").addr.host, Host::Name("eth0".into()));
}

#[test]
fn tcp_wildcard_host_binds_all_interfaces() {
    assert_eq!(
        tcp("tcp://*:5555").addr,
        hp(Host::Wildcard, Port::Number(5555))
    );
}

#[test]
fn tcp_wildcard_and_zero_ports_are_ephemeral() {
    assert_eq!(tcp("tcp://127.0.0.1:*").addr.port, Port::Wildcard);
    assert_eq!(tcp("tcp://*:*").addr, hp(Host::Wildcard, Port::Wildcard));
    assert_eq!(tcp("tcp://127.0.0.1:0").addr.port, Port::Number(0));
    assert_eq!(tcp("tcp://127.0.0.1:65535").addr.port, Port::Number(65535));
}

#[test]
fn tcp_bracketed_and_bare_ipv6() {
    let v6 = Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST));
    assert_eq!(
        tcp("tcp://[::1]:5555").addr,
        hp(v6.clone(), Port::Number(5555))
    );
    // libzmq splits at the last colon, so brackets are optional.
    assert_eq!(tcp("tcp://::1:5555").addr, hp(v6, Port::Number(5555)));
    assert_eq!(
        tcp("tcp://[::]:*").addr.host,
        Host::Ip(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
    );
    // An IPv4 address in brackets is still an address.
    assert_eq!(
        tcp("tcp://[127.0.0.1]:1").addr.host,
        Host::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
    );
}

#[test]
fn tcp_ipv6_with_zone() {
    let expected = |zone: &str| Host::ScopedIpv6 {
        addr: "fe80::1".parse().unwrap(),
        zone: zone.into(),
    };
    assert_eq!(tcp("tcp://[fe80::1%eth0]:5555").addr.host, expected("eth0"));
    assert_eq!(tcp("tcp://[fe80::1%2]:5555").addr.host, expected("2"));
}

#[test]
fn tcp_source_address() {
    let ep = tcp("tcp://192.168.1.17:*;192.168.1.1:5555");
    assert_eq!(
        ep.source,
        Some(hp(
            Host::Ip(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 17))),
            Port::Wildcard
        ))
    );
    assert_eq!(
        ep.addr,
        hp(
            Host::Ip(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1))),
            Port::Number(5555)
        )
    );
    let v6 = tcp("tcp://[::1]:0;[::1]:7");
    assert_eq!(v6.source.map(|s| s.port), Some(Port::Number(0)));
}

#[test]
fn ipc_paths() {
    assert_eq!(
        parse("ipc:///tmp/feeds/0"),
        Endpoint::Ipc(IpcEndpoint::Path("/tmp/feeds/0".into()))
    );
    assert_eq!(
        parse("ipc://relative/path.ipc"),
        Endpoint::Ipc(IpcEndpoint::Path("relative/path.ipc".into()))
    );
}

#[test]
fn ipc_abstract_and_wildcard() {
    assert_eq!(
        parse("ipc://@name"),
        Endpoint::Ipc(IpcEndpoint::Abstract("name".into()))
    );
    assert_eq!(parse("ipc://*"), Endpoint::Ipc(IpcEndpoint::Wildcard));
}

#[test]
fn ipc_path_length_limit_is_that_of_sockaddr_un() {
    let longest = format!("ipc:///{}", "a".repeat(IPC_PATH_MAX - 1));
    assert!(matches!(
        parse(&longest),
        Endpoint::Ipc(IpcEndpoint::Path(_))
    ));
    let too_long = format!("ipc:///{}", "a".repeat(IPC_PATH_MAX));
    assert_eq!(
        problem(&too_long),
        EndpointProblem::IpcPathTooLong {
            len: IPC_PATH_MAX + 1,
            max: IPC_PATH_MAX,
        }
    );
    let abstract_too_long = format!("ipc://@{}", "a".repeat(IPC_PATH_MAX));
    assert!(matches!(
        problem(&abstract_too_long),
        EndpointProblem::IpcPathTooLong { .. }
    ));
}

#[test]
fn inproc_name() {
    assert_eq!(
        parse("inproc://workers"),
        Endpoint::Inproc("workers".into())
    );
    // Anything goes in an inproc name, even what looks like another endpoint.
    assert_eq!(
        parse("inproc://tcp://x:1"),
        Endpoint::Inproc("tcp://x:1".into())
    );
}

#[test]
fn scheme_accessor() {
    assert_eq!(parse("tcp://a:1").scheme(), "tcp");
    assert_eq!(parse("ipc://a").scheme(), "ipc");
    assert_eq!(parse("inproc://a").scheme(), "inproc");
}

#[test]
fn unknown_schemes_are_unsupported() {
    for (s, scheme) in [
        ("udp://127.0.0.1:5555", "udp"),
        ("ws://127.0.0.1:5555", "ws"),
        ("pgm://eth0;239.192.1.1:5555", "pgm"),
        ("TCP://127.0.0.1:5555", "TCP"),
    ] {
        match s.parse::<Endpoint>() {
            Err(TransportError::UnsupportedScheme {
                endpoint,
                scheme: got,
            }) => {
                assert_eq!(endpoint, s);
                assert_eq!(got, scheme);
            }
            other => panic!("`{s}`: expected UnsupportedScheme, got {other:?}"),
        }
    }
}

#[test]
fn structural_errors() {
    assert_eq!(problem("127.0.0.1:5555"), EndpointProblem::MissingScheme);
    assert_eq!(
        problem("tcp:/127.0.0.1:5555"),
        EndpointProblem::MissingScheme
    );
    assert_eq!(problem("://127.0.0.1:5555"), EndpointProblem::EmptyScheme);
    assert_eq!(problem("tcp://"), EndpointProblem::EmptyAddress);
    assert_eq!(problem("ipc://"), EndpointProblem::EmptyAddress);
    // As libzmq: emptiness (EINVAL) is checked before the scheme (EPROTONOSUPPORT).
    assert_eq!(problem("udp://"), EndpointProblem::EmptyAddress);
    assert_eq!(problem("inproc://"), EndpointProblem::EmptyInprocName);
}

#[test]
fn missing_port() {
    for s in [
        "tcp://127.0.0.1",
        "tcp://127.0.0.1:",
        "tcp://localhost",
        "tcp://[::1]",
        "tcp://*",
    ] {
        assert_eq!(problem(s), EndpointProblem::MissingPort, "{s}");
    }
    assert_eq!(
        problem("tcp://127.0.0.1;127.0.0.1:5555"),
        EndpointProblem::MissingPort
    );
}

#[test]
fn bad_and_out_of_range_ports() {
    assert_eq!(
        problem("tcp://127.0.0.1:http"),
        EndpointProblem::BadPort {
            port: "http".into()
        }
    );
    assert_eq!(
        problem("tcp://127.0.0.1:5555abc"),
        EndpointProblem::BadPort {
            port: "5555abc".into()
        }
    );
    assert_eq!(
        problem("tcp://127.0.0.1:-1"),
        EndpointProblem::BadPort { port: "-1".into() }
    );
    for port in ["65536", "70000", "99999999999999999999"] {
        assert_eq!(
            problem(&format!("tcp://127.0.0.1:{port}")),
            EndpointProblem::PortOutOfRange { port: port.into() }
        );
    }
}

#[test]
fn bad_hosts() {
    assert_eq!(problem("tcp://:5555"), EndpointProblem::EmptyHost);
    for host in [
        "bad host",
        "-dash",
        "a/b",
        "[localhost]",
        "[::1",
        "1.2.3.4%eth0",
        "h%eth0",
    ] {
        assert_eq!(
            problem(&format!("tcp://{host}:5555")),
            EndpointProblem::BadHost { host: host.into() },
            "{host}"
        );
    }
}

#[test]
fn bad_zones() {
    for zone in ["", "0", "-1", "eth0/x"] {
        assert_eq!(
            problem(&format!("tcp://[fe80::1%{zone}]:5555")),
            EndpointProblem::BadZone { zone: zone.into() },
            "{zone:?}"
        );
    }
}

#[test]
fn bad_ipc() {
    assert_eq!(problem("ipc://@"), EndpointProblem::EmptyAbstractName);
    assert_eq!(problem("ipc:///tmp/a\0b"), EndpointProblem::NulInPath);
}

#[test]
fn errors_quote_the_endpoint_and_say_what_is_wrong() {
    let message = |s: &str| match s.parse::<Endpoint>() {
        Err(e) => e.to_string(),
        Ok(ep) => panic!("`{s}` parsed as {ep:?}"),
    };
    assert_eq!(
        message("tcp://127.0.0.1"),
        "invalid endpoint `tcp://127.0.0.1`: missing port: expected `host:port`, `host:*` or `[ipv6]:port`"
    );
    assert_eq!(
        message("tcp://127.0.0.1:70000"),
        "invalid endpoint `tcp://127.0.0.1:70000`: port `70000` is out of range (0 to 65535)"
    );
    assert_eq!(
        message("udp://127.0.0.1:1"),
        "unsupported transport `udp` in endpoint `udp://127.0.0.1:1` (supported: tcp, ipc, inproc)"
    );
    assert_eq!(
        message("inproc://"),
        "invalid endpoint `inproc://`: the inproc name is empty"
    );
}

#[test]
fn canonical_forms_round_trip_unchanged() {
    for s in [
        "tcp://127.0.0.1:5555",
        "tcp://*:5555",
        "tcp://127.0.0.1:*",
        "tcp://*:*",
        "tcp://127.0.0.1:0",
        "tcp://[::1]:5555",
        "tcp://[::]:*",
        "tcp://[::ffff:127.0.0.1]:1",
        "tcp://[fe80::1%eth0]:5555",
        "tcp://[fe80::1%2]:5555",
        "tcp://localhost:5555",
        "tcp://eth0:5555",
        "tcp://127.0.0.1:*;127.0.0.1:5555",
        "tcp://[::1]:0;[::1]:7",
        "ipc:///tmp/feeds/0",
        "ipc://relative/path",
        "ipc://@name",
        "ipc://*",
        "inproc://workers",
    ] {
        let ep = parse(s);
        assert_eq!(ep.to_string(), s, "Display of {ep:?}");
        assert_eq!(parse(&ep.to_string()), ep);
    }
}

#[test]
fn non_canonical_forms_normalise_and_then_round_trip() {
    for (s, canonical) in [
        ("tcp://::1:5555", "tcp://[::1]:5555"),
        ("tcp://[0:0::1]:5555", "tcp://[::1]:5555"),
        ("tcp://[127.0.0.1]:1", "tcp://127.0.0.1:1"),
        ("tcp://127.0.0.1:05555", "tcp://127.0.0.1:5555"),
        ("tcp://[::FFFF:7F00:1]:1", "tcp://[::ffff:127.0.0.1]:1"),
    ] {
        let ep = parse(s);
        assert_eq!(ep.to_string(), canonical);
        assert_eq!(parse(canonical), ep);
    }
}
