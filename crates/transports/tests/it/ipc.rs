//! ipc over Unix domain sockets: the socket file's life cycle, stale files, `ipc://*`,
//! the abstract namespace, relative paths, refusal, and traffic.

use std::fs;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use transports::{
    EndpointProblem, IpcEndpoint, Listener, Stream, TransportConfig, TransportError, connect,
};

use crate::support::{
    Net, ep, establish, exchange, expect_connect_failure, temp_ipc_path, unique_name,
};

fn bind(s: &str) -> Listener {
    Listener::bind(&ep(s), &TransportConfig::default())
        .unwrap_or_else(|e| panic!("bind `{s}`: {e}"))
}

fn connect_to(s: &str) -> Stream {
    connect(&ep(s), &TransportConfig::default()).unwrap_or_else(|e| panic!("connect `{s}`: {e}"))
}

fn is_socket(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

#[test]
fn socket_file_is_created_on_bind_and_removed_on_drop() {
    let path = temp_ipc_path("lifecycle");
    let endpoint = format!("ipc://{}", path.display());
    assert!(!path.exists());
    let listener = bind(&endpoint);
    assert!(is_socket(&path), "bind creates the socket file");
    assert_eq!(listener.local_endpoint(), endpoint);
    assert_eq!(listener.ipc_path(), Some(path.as_path()));
    drop(listener);
    assert!(!path.exists(), "drop removes the socket file");
}

#[test]
fn bytes_flow_both_ways_over_ipc() {
    let path = temp_ipc_path("traffic");
    let endpoint = format!("ipc://{}", path.display());
    let mut listener = bind(&endpoint);
    let mut net = Net::new();
    let mut pair = establish(&mut net, &mut listener, connect_to(&endpoint));
    assert_eq!(pair.peer_address, "localhost");
    assert!(!pair.client.is_tcp());
    assert_eq!(pair.server.local_endpoint().expect("local"), endpoint);
    assert_eq!(pair.client.local_endpoint().expect("local"), "ipc://");
    exchange(&mut net, &mut pair, 4 * 1024 * 1024);
}

#[test]
fn a_stale_socket_file_is_replaced_at_bind() {
    let path = temp_ipc_path("stale");
    // A listener whose process "died": std leaves its file behind.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("std bind"));
    assert!(is_socket(&path));
    let endpoint = format!("ipc://{}", path.display());
    let mut listener = bind(&endpoint);
    let mut net = Net::new();
    let mut pair = establish(&mut net, &mut listener, connect_to(&endpoint));
    exchange(&mut net, &mut pair, 1024);
    drop(listener);
    assert!(!path.exists());
}

#[test]
fn a_file_that_is_not_a_socket_is_never_removed() {
    let path = temp_ipc_path("regular");
    fs::write(&path, b"precious").expect("write file");
    let endpoint = format!("ipc://{}", path.display());
    match Listener::bind(&ep(&endpoint), &TransportConfig::default()) {
        Err(TransportError::Bind {
            endpoint: quoted,
            source,
        }) => {
            assert_eq!(quoted, endpoint);
            assert_eq!(source.kind(), io::ErrorKind::AddrInUse);
        }
        other => panic!("expected a bind error, got {other:?}"),
    }
    assert_eq!(fs::read(&path).expect("still there"), b"precious");
    fs::remove_file(&path).expect("clean up");
}

#[test]
fn dropping_a_replaced_listener_leaves_the_new_file_alone() {
    let path = temp_ipc_path("rebind");
    let endpoint = format!("ipc://{}", path.display());
    let first = bind(&endpoint);
    // As libzmq, a second bind to the same path takes it over.
    let mut second = bind(&endpoint);
    drop(first);
    assert!(is_socket(&path), "the second listener's file survives");
    let mut net = Net::new();
    let mut pair = establish(&mut net, &mut second, connect_to(&endpoint));
    exchange(&mut net, &mut pair, 16);
    drop(second);
    assert!(!path.exists());
}

#[test]
fn wildcard_binds_a_fresh_temporary_path_and_cleans_it_up() {
    let mut listener = bind("ipc://*");
    let endpoint = listener.local_endpoint().to_owned();
    let Ok(transports::Endpoint::Ipc(IpcEndpoint::Path(path))) = endpoint.parse() else {
        panic!("the last endpoint should be an ipc path: {endpoint}");
    };
    assert!(path.is_absolute(), "{endpoint}");
    assert_eq!(path.file_name().and_then(|n| n.to_str()), Some("socket"));
    let dir = path.parent().expect("a directory").to_owned();
    let dir_name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 name");
    assert!(
        dir_name.starts_with("tmp") && dir_name.len() == 9,
        "{dir_name}"
    );
    assert!(is_socket(&path));

    let mut net = Net::new();
    let mut pair = establish(&mut net, &mut listener, connect_to(&endpoint));
    exchange(&mut net, &mut pair, 1024);

    // Each wildcard bind gets its own directory.
    let other = bind("ipc://*");
    assert_ne!(other.local_endpoint(), endpoint);

    drop(listener);
    assert!(!path.exists());
    assert!(!dir.exists(), "the temporary directory is removed too");
}

#[test]
fn relative_paths_are_reported_as_given() {
    let name = format!("{}.ipc", unique_name("relative"));
    let endpoint = format!("ipc://{name}");
    let mut listener = bind(&endpoint);
    assert_eq!(listener.local_endpoint(), endpoint);
    let absolute = std::env::current_dir().expect("cwd").join(&name);
    assert_eq!(listener.ipc_path(), Some(absolute.as_path()));
    assert!(is_socket(&absolute));
    let mut net = Net::new();
    let mut pair = establish(&mut net, &mut listener, connect_to(&endpoint));
    exchange(&mut net, &mut pair, 16);
    drop(listener);
    assert!(!absolute.exists());
}

#[cfg(target_os = "linux")]
#[test]
fn abstract_names_work_without_a_file() {
    let name = unique_name("abstract");
    let endpoint = format!("ipc://@{name}");
    let mut listener = bind(&endpoint);
    assert_eq!(listener.local_endpoint(), endpoint);
    assert_eq!(listener.ipc_path(), None);
    assert!(!Path::new(&name).exists());
    let mut net = Net::new();
    let mut pair = establish(&mut net, &mut listener, connect_to(&endpoint));
    assert_eq!(pair.server.local_endpoint().expect("local"), endpoint);
    exchange(&mut net, &mut pair, 64 * 1024);
}

#[test]
fn connecting_to_a_path_nobody_bound_fails_at_once() {
    let path = temp_ipc_path("nobody");
    let mut net = Net::new();
    let error = expect_connect_failure(
        &mut net,
        connect(
            &ep(&format!("ipc://{}", path.display())),
            &TransportConfig::default(),
        ),
    );
    assert_eq!(error.kind(), io::ErrorKind::NotFound, "{error}");
}

#[test]
fn connecting_to_a_stale_socket_file_is_refused() {
    let path = temp_ipc_path("refused");
    drop(std::os::unix::net::UnixListener::bind(&path).expect("std bind"));
    let mut net = Net::new();
    let error = expect_connect_failure(
        &mut net,
        connect(
            &ep(&format!("ipc://{}", path.display())),
            &TransportConfig::default(),
        ),
    );
    assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{error}");
    fs::remove_file(&path).expect("clean up");
}

#[test]
fn wildcard_cannot_be_connected_to() {
    match connect(&ep("ipc://*"), &TransportConfig::default()) {
        Err(TransportError::InvalidEndpoint { reason, .. }) => {
            assert_eq!(reason, EndpointProblem::IpcWildcardOnConnect);
        }
        other => panic!("expected an invalid endpoint, got {other:?}"),
    }
}

#[cfg(target_os = "linux")]
#[test]
fn backlog_bounds_the_connections_waiting_to_be_accepted() {
    // Linux lets `backlog + 1` ipc connections wait; the next non-blocking connect gets EAGAIN.
    let path = temp_ipc_path("backlog");
    let endpoint = format!("ipc://{}", path.display());
    let config = TransportConfig {
        backlog: 2,
        ..TransportConfig::default()
    };
    let _listener = Listener::bind(&ep(&endpoint), &config).expect("bind");
    let mut waiting = Vec::new();
    let error = loop {
        match connect(&ep(&endpoint), &config) {
            Ok(stream) => waiting.push(stream),
            Err(e) => break e,
        }
        assert!(waiting.len() <= 3, "the backlog of 2 was not applied");
    };
    assert_eq!(waiting.len(), 3);
    assert_eq!(
        error.io_error().map(io::Error::kind),
        Some(io::ErrorKind::WouldBlock),
        "{error}"
    );
}
