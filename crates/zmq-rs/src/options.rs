//! Socket options: libzmq's names, defaults and value ranges, stored per socket.

use std::time::Duration;

use bytes::Bytes;
use zmtp_proto::Properties;

/// Every option value a socket keeps, with libzmq 4.3's defaults.
///
/// Options that change a pattern's behaviour are also handed to the pattern machine, which
/// refuses those that do not fit its socket type; the values here answer the getters.
#[derive(Debug, Clone)]
pub(crate) struct SocketOptions {
    pub sndhwm: i32,
    pub rcvhwm: i32,
    pub linger: i32,
    pub reconnect_ivl: i32,
    pub reconnect_ivl_max: i32,
    pub routing_id: Option<Bytes>,
    pub connect_routing_id: Option<Bytes>,
    pub sndtimeo: i32,
    pub rcvtimeo: i32,
    pub maxmsgsize: i64,
    pub handshake_ivl: i32,
    pub immediate: bool,
    pub conflate: bool,
    pub router_mandatory: bool,
    pub router_handover: bool,
    pub probe_router: bool,
    pub req_relaxed: bool,
    pub req_correlate: bool,
    pub xpub_verbose: bool,
    pub xpub_verboser: bool,
    pub xpub_nodrop: bool,
    pub xpub_manual: bool,
    pub xpub_welcome_msg: Option<Bytes>,
    pub invert_matching: bool,
    pub stream_notify: bool,
    pub tcp_keepalive: i32,
    pub tcp_keepalive_idle: i32,
    pub tcp_keepalive_cnt: i32,
    pub tcp_keepalive_intvl: i32,
    pub sndbuf: i32,
    pub rcvbuf: i32,
    pub backlog: i32,
    pub ipv6: bool,
    pub heartbeat_ivl: i32,
    pub heartbeat_ttl: i32,
    pub heartbeat_timeout: i32,
    pub plain_server: bool,
    pub plain_username: Option<Bytes>,
    pub plain_password: Option<Bytes>,
    pub zap_domain: Bytes,
    pub curve_server: bool,
    pub curve_public: Option<zmtp_proto::CurvePublicKey>,
    pub curve_secret: Option<zmtp_proto::CurveSecretKey>,
    pub curve_server_key: Option<zmtp_proto::CurvePublicKey>,
    pub metadata: Properties,
    pub last_endpoint: String,
}

impl SocketOptions {
    /// Whether connections made with these options send message frames as they are (NULL
    /// or PLAIN; CURVE encrypts each, STREAM sends raw bytes), so that a peer's queue may
    /// hold small messages already framed ([`patterns::AttachInfo::packs_frames`]).
    pub fn sends_plain_frames(&self, socket_type: zmtp_proto::SocketType) -> bool {
        let curve = self.curve_server || self.curve_server_key.is_some();
        socket_type != zmtp_proto::SocketType::Stream && !curve
    }
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            sndhwm: 1000,
            rcvhwm: 1000,
            linger: -1,
            reconnect_ivl: 100,
            reconnect_ivl_max: 0,
            routing_id: None,
            connect_routing_id: None,
            sndtimeo: -1,
            rcvtimeo: -1,
            maxmsgsize: -1,
            handshake_ivl: 30_000,
            immediate: false,
            conflate: false,
            router_mandatory: false,
            router_handover: false,
            probe_router: false,
            req_relaxed: false,
            req_correlate: false,
            xpub_verbose: false,
            xpub_verboser: false,
            xpub_nodrop: false,
            xpub_manual: false,
            xpub_welcome_msg: None,
            invert_matching: false,
            stream_notify: true,
            tcp_keepalive: -1,
            tcp_keepalive_idle: -1,
            tcp_keepalive_cnt: -1,
            tcp_keepalive_intvl: -1,
            sndbuf: -1,
            rcvbuf: -1,
            backlog: 100,
            ipv6: false,
            heartbeat_ivl: 0,
            heartbeat_ttl: 0,
            heartbeat_timeout: -1,
            plain_server: false,
            plain_username: None,
            plain_password: None,
            zap_domain: Bytes::new(),
            curve_server: false,
            curve_public: None,
            curve_secret: None,
            curve_server_key: None,
            metadata: Properties::new(),
            last_endpoint: String::new(),
        }
    }
}

/// A libzmq millisecond option where -1 means "forever" and 0 means "do not wait".
pub(crate) fn millis(value: i32) -> Option<Duration> {
    u64::try_from(value).ok().map(Duration::from_millis)
}

/// A libzmq millisecond option where 0 (or less) means "off".
pub(crate) fn positive_millis(value: i32) -> Option<Duration> {
    u64::try_from(value)
        .ok()
        .filter(|&v| v > 0)
        .map(Duration::from_millis)
}
