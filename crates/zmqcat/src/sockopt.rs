//! `-o NAME=VALUE`: socket options by libzmq's names.
//!
//! One table row per option: its name, other names it answers to, what its value is, and the
//! function that applies it. Adding an option is one more row.
//!
//! PLAIN_SERVER and CURVE_SERVER also tell the session to start a ZAP handler that lets every
//! client in (see [`Setup::plain_server`]).

use std::time::Duration;

use zmq_rs::Socket;

/// What options change besides the socket itself.
#[derive(Debug)]
pub struct Setup<'a> {
    /// The socket being configured.
    pub socket: &'a Socket,
    /// RCVTIMEO: the longest zmqcat waits for a message (`None`: forever).
    pub recv_timeout: Option<Duration>,
    /// SNDTIMEO: the longest zmqcat waits to send one (`None`: forever).
    pub send_timeout: Option<Duration>,
    /// True once a SUBSCRIBE option was applied (then SUB does not subscribe to everything).
    pub subscribed: bool,
    /// PLAIN_SERVER=1 was given: the session lets any user name and password in.
    pub plain_server: bool,
    /// CURVE_SERVER=1 was given: the session lets any client key in (still encrypted).
    pub curve_server: bool,
    /// CURVE_PUBLICKEY was given.
    pub curve_public: bool,
    /// CURVE_SECRETKEY, as given (the session derives a missing public key from it).
    pub curve_secret: Option<String>,
    /// CURVE_SERVERKEY was given (the socket is a CURVE client).
    pub curve_serverkey: bool,
}

/// Why an option could not be applied.
#[derive(Debug)]
pub enum OptionError {
    /// The value does not parse as the option's kind of value.
    BadValue(String),
    /// The socket refused the option (wrong socket type, out of range).
    Refused(zmq_rs::Error),
}

impl From<zmq_rs::Error> for OptionError {
    fn from(e: zmq_rs::Error) -> Self {
        Self::Refused(e)
    }
}

impl std::fmt::Display for OptionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadValue(why) => f.write_str(why),
            Self::Refused(e) => write!(f, "{e}"),
        }
    }
}

type Apply = fn(&mut Setup<'_>, &str) -> Result<(), OptionError>;

/// One option zmqcat can set.
#[derive(Debug)]
pub struct SocketOption {
    /// libzmq's name without `ZMQ_`.
    pub name: &'static str,
    /// Older or alternative names.
    pub aliases: &'static [&'static str],
    /// The value, as `--help` describes it.
    pub value: &'static str,
    apply: Apply,
}

impl SocketOption {
    /// The option called `name`: any case, `ZMQ_` prefix optional.
    pub fn by_name(name: &str) -> Option<&'static Self> {
        let upper = name.to_ascii_uppercase();
        let bare = upper.strip_prefix("ZMQ_").unwrap_or(&upper);
        OPTIONS
            .iter()
            .find(|o| o.name == bare || o.aliases.contains(&bare))
    }

    /// Applies `value` to the socket (or to zmqcat's own settings).
    pub fn apply(&self, setup: &mut Setup<'_>, value: &str) -> Result<(), OptionError> {
        (self.apply)(setup, value)
    }
}

const fn row(name: &'static str, value: &'static str, apply: Apply) -> SocketOption {
    SocketOption {
        name,
        aliases: &[],
        value,
        apply,
    }
}

/// Every option, in the order `--help` lists them.
pub const OPTIONS: &[SocketOption] = &[
    SocketOption {
        name: "ROUTING_ID",
        aliases: &["IDENTITY"],
        value: "text",
        apply: |s, v| Ok(s.socket.set_routing_id(v.as_bytes())?),
    },
    row("CONNECT_ROUTING_ID", "text", |s, v| {
        Ok(s.socket.set_connect_routing_id(v.as_bytes())?)
    }),
    row("SUBSCRIBE", "text", |s, v| {
        s.socket.set_subscribe(v.as_bytes())?;
        s.subscribed = true;
        Ok(())
    }),
    row("SNDHWM", "messages", |s, v| {
        Ok(s.socket.set_sndhwm(int(v)?)?)
    }),
    row("RCVHWM", "messages", |s, v| {
        Ok(s.socket.set_rcvhwm(int(v)?)?)
    }),
    row("LINGER", "ms", |s, v| Ok(s.socket.set_linger(int(v)?)?)),
    row("SNDTIMEO", "ms", |s, v| {
        s.send_timeout = timeout(v)?;
        Ok(())
    }),
    row("RCVTIMEO", "ms", |s, v| {
        s.recv_timeout = timeout(v)?;
        Ok(())
    }),
    row("MAXMSGSIZE", "octets", |s, v| {
        Ok(s.socket.set_maxmsgsize(parse(v, "a whole number")?)?)
    }),
    row("RECONNECT_IVL", "ms", |s, v| {
        Ok(s.socket.set_reconnect_ivl(int(v)?)?)
    }),
    row("RECONNECT_IVL_MAX", "ms", |s, v| {
        Ok(s.socket.set_reconnect_ivl_max(int(v)?)?)
    }),
    row("HANDSHAKE_IVL", "ms", |s, v| {
        Ok(s.socket.set_handshake_ivl(int(v)?)?)
    }),
    row("HEARTBEAT_IVL", "ms", |s, v| {
        Ok(s.socket.set_heartbeat_ivl(int(v)?)?)
    }),
    row("HEARTBEAT_TTL", "ms", |s, v| {
        Ok(s.socket.set_heartbeat_ttl(int(v)?)?)
    }),
    row("HEARTBEAT_TIMEOUT", "ms", |s, v| {
        Ok(s.socket.set_heartbeat_timeout(int(v)?)?)
    }),
    row("IMMEDIATE", "0|1", |s, v| {
        Ok(s.socket.set_immediate(flag(v)?)?)
    }),
    row("CONFLATE", "0|1", |s, v| {
        Ok(s.socket.set_conflate(flag(v)?)?)
    }),
    row("IPV6", "0|1", |s, v| Ok(s.socket.set_ipv6(flag(v)?)?)),
    row("BACKLOG", "connections", |s, v| {
        Ok(s.socket.set_backlog(int(v)?)?)
    }),
    row("SNDBUF", "octets", |s, v| {
        Ok(s.socket.set_sndbuf(int(v)?)?)
    }),
    row("RCVBUF", "octets", |s, v| {
        Ok(s.socket.set_rcvbuf(int(v)?)?)
    }),
    row("TCP_KEEPALIVE", "-1|0|1", |s, v| {
        Ok(s.socket.set_tcp_keepalive(int(v)?)?)
    }),
    row("TCP_KEEPALIVE_IDLE", "s", |s, v| {
        Ok(s.socket.set_tcp_keepalive_idle(int(v)?)?)
    }),
    row("TCP_KEEPALIVE_CNT", "count", |s, v| {
        Ok(s.socket.set_tcp_keepalive_cnt(int(v)?)?)
    }),
    row("TCP_KEEPALIVE_INTVL", "s", |s, v| {
        Ok(s.socket.set_tcp_keepalive_intvl(int(v)?)?)
    }),
    row("ROUTER_MANDATORY", "0|1", |s, v| {
        Ok(s.socket.set_router_mandatory(flag(v)?)?)
    }),
    row("ROUTER_HANDOVER", "0|1", |s, v| {
        Ok(s.socket.set_router_handover(flag(v)?)?)
    }),
    row("PROBE_ROUTER", "0|1", |s, v| {
        Ok(s.socket.set_probe_router(flag(v)?)?)
    }),
    row("REQ_RELAXED", "0|1", |s, v| {
        Ok(s.socket.set_req_relaxed(flag(v)?)?)
    }),
    row("REQ_CORRELATE", "0|1", |s, v| {
        Ok(s.socket.set_req_correlate(flag(v)?)?)
    }),
    row("XPUB_VERBOSE", "0|1", |s, v| {
        Ok(s.socket.set_xpub_verbose(flag(v)?)?)
    }),
    row("XPUB_VERBOSER", "0|1", |s, v| {
        Ok(s.socket.set_xpub_verboser(flag(v)?)?)
    }),
    row("XPUB_NODROP", "0|1", |s, v| {
        Ok(s.socket.set_xpub_nodrop(flag(v)?)?)
    }),
    row("XPUB_WELCOME_MSG", "text", |s, v| {
        Ok(s.socket.set_xpub_welcome_msg(v.as_bytes())?)
    }),
    row("INVERT_MATCHING", "0|1", |s, v| {
        Ok(s.socket.set_invert_matching(flag(v)?)?)
    }),
    row("PLAIN_SERVER", "0|1", |s, v| {
        let on = flag(v)?;
        s.socket.set_plain_server(on)?;
        s.plain_server = on;
        Ok(())
    }),
    row("PLAIN_USERNAME", "text", |s, v| {
        Ok(s.socket.set_plain_username(Some(v))?)
    }),
    row("PLAIN_PASSWORD", "text", |s, v| {
        Ok(s.socket.set_plain_password(Some(v))?)
    }),
    row("ZAP_DOMAIN", "text", |s, v| {
        Ok(s.socket.set_zap_domain(v)?)
    }),
    row("CURVE_SERVER", "0|1", |s, v| {
        let on = flag(v)?;
        s.socket.set_curve_server(on)?;
        s.curve_server = on;
        Ok(())
    }),
    row("CURVE_PUBLICKEY", "key", |s, v| {
        s.socket.set_curve_publickey(z85_key(v)?)?;
        s.curve_public = true;
        Ok(())
    }),
    row("CURVE_SECRETKEY", "key", |s, v| {
        let key = z85_key(v)?;
        s.socket.set_curve_secretkey(key)?;
        s.curve_secret = Some(String::from_utf8_lossy(key).into_owned());
        Ok(())
    }),
    row("CURVE_SERVERKEY", "key", |s, v| {
        s.socket.set_curve_serverkey(z85_key(v)?)?;
        s.curve_serverkey = true;
        Ok(())
    }),
];

/// A CURVE key as libzmq's tools print it: 40 Z85 characters (the facade also takes 32 raw
/// octets, which a command line cannot carry).
fn z85_key(value: &str) -> Result<&[u8], OptionError> {
    let key = value.trim();
    if key.len() == 40 {
        Ok(key.as_bytes())
    } else {
        Err(OptionError::BadValue(format!(
            "{value:?} is not a CURVE key: 40 Z85 characters (zmqcat --curve-keypair makes a pair)"
        )))
    }
}

fn parse<T: std::str::FromStr>(value: &str, what: &str) -> Result<T, OptionError> {
    value
        .trim()
        .parse()
        .map_err(|_| OptionError::BadValue(format!("{value:?} is not {what}")))
}

fn int(value: &str) -> Result<i32, OptionError> {
    parse(value, "a whole number")
}

/// libzmq's boolean options take 0 or 1; the usual words are accepted too.
fn flag(value: &str) -> Result<bool, OptionError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(OptionError::BadValue(format!(
            "{value:?} is not 0 or 1 (or true/false, yes/no, on/off)"
        ))),
    }
}

/// A libzmq timeout: milliseconds, -1 forever.
fn timeout(value: &str) -> Result<Option<Duration>, OptionError> {
    match int(value)? {
        -1 => Ok(None),
        ms if ms >= 0 => Ok(Some(Duration::from_millis(ms.unsigned_abs().into()))),
        _ => Err(OptionError::BadValue(format!(
            "{value:?}: a timeout is -1 (forever) or milliseconds"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup_for(socket: &Socket) -> Setup<'_> {
        Setup {
            socket,
            recv_timeout: None,
            send_timeout: None,
            subscribed: false,
            plain_server: false,
            curve_server: false,
            curve_public: false,
            curve_secret: None,
            curve_serverkey: false,
        }
    }

    #[test]
    fn names_match_in_any_case_with_or_without_the_zmq_prefix() {
        for name in ["sndhwm", "ZMQ_SNDHWM", "zmq_SndHwm", "SNDHWM"] {
            assert_eq!(SocketOption::by_name(name).map(|o| o.name), Some("SNDHWM"));
        }
        assert_eq!(
            SocketOption::by_name("identity").map(|o| o.name),
            Some("ROUTING_ID")
        );
        assert_eq!(
            SocketOption::by_name("zmq_curve_serverkey").map(|o| o.name),
            Some("CURVE_SERVERKEY")
        );
        assert!(SocketOption::by_name("CURVE_SECRET").is_none());
        assert!(SocketOption::by_name("ZMQ_").is_none());
    }

    #[test]
    fn every_name_is_unique() {
        let mut names: Vec<&str> = OPTIONS
            .iter()
            .flat_map(|o| std::iter::once(o.name).chain(o.aliases.iter().copied()))
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn values_reach_the_socket() {
        let ctx = zmq_rs::Context::new();
        let socket = ctx.socket(zmq_rs::DEALER).expect("socket");
        let mut setup = setup_for(&socket);
        let apply = |setup: &mut Setup<'_>, name: &str, value: &str| {
            SocketOption::by_name(name)
                .expect("known option")
                .apply(setup, value)
        };
        apply(&mut setup, "sndhwm", "7").expect("sndhwm");
        apply(&mut setup, "identity", "me").expect("identity");
        apply(&mut setup, "linger", "0").expect("linger");
        apply(&mut setup, "rcvtimeo", "250").expect("rcvtimeo");
        apply(&mut setup, "immediate", "yes").expect("immediate");
        assert_eq!(socket.get_sndhwm().expect("get"), 7);
        assert_eq!(socket.get_routing_id().expect("get"), b"me");
        assert_eq!(socket.get_linger().expect("get"), 0);
        assert!(socket.get_immediate().expect("get"));
        assert_eq!(setup.recv_timeout, Some(Duration::from_millis(250)));
    }

    #[test]
    fn bad_values_and_misfits_are_refused() {
        let ctx = zmq_rs::Context::new();
        let socket = ctx.socket(zmq_rs::PUSH).expect("socket");
        let mut setup = setup_for(&socket);
        let option = |name: &str| SocketOption::by_name(name).expect("known option");
        assert!(matches!(
            option("SNDHWM").apply(&mut setup, "many"),
            Err(OptionError::BadValue(_))
        ));
        assert!(matches!(
            option("SNDHWM").apply(&mut setup, "-5"),
            Err(OptionError::Refused(_))
        ));
        assert!(matches!(
            option("SUBSCRIBE").apply(&mut setup, "x"),
            Err(OptionError::Refused(_))
        ));
        assert!(matches!(
            option("IMMEDIATE").apply(&mut setup, "maybe"),
            Err(OptionError::BadValue(_))
        ));
        assert!(matches!(
            option("RCVTIMEO").apply(&mut setup, "-2"),
            Err(OptionError::BadValue(_))
        ));
        assert!(!setup.subscribed);
    }

    #[test]
    fn security_options_reach_the_socket_and_ask_for_a_zap_handler() {
        let ctx = zmq_rs::Context::new();
        let socket = ctx.socket(zmq_rs::PULL).expect("socket");
        let mut setup = setup_for(&socket);
        let option = |name: &str| SocketOption::by_name(name).expect("known option");
        let pair = zmq_rs::curve_keypair().expect("key pair");
        let (public, secret) = (pair.public.to_z85(), pair.secret.to_z85());
        option("CURVE_SERVER")
            .apply(&mut setup, "1")
            .expect("server");
        option("CURVE_PUBLICKEY")
            .apply(&mut setup, &public)
            .expect("public");
        option("CURVE_SECRETKEY")
            .apply(&mut setup, &secret)
            .expect("secret");
        option("CURVE_SERVERKEY")
            .apply(&mut setup, &public)
            .expect("server key");
        assert!(socket.get_curve_server().expect("get"));
        assert_eq!(
            socket.get_curve_publickey().expect("get"),
            pair.public.as_bytes()
        );
        assert_eq!(
            socket.get_curve_serverkey().expect("get"),
            pair.public.as_bytes()
        );
        assert!(setup.curve_server && !setup.plain_server);
        option("PLAIN_SERVER")
            .apply(&mut setup, "yes")
            .expect("plain");
        assert!(setup.plain_server);
        option("CURVE_SERVER").apply(&mut setup, "0").expect("off");
        assert!(!setup.curve_server);

        // 32 raw octets are not a command-line key; 40 characters outside Z85 are refused by
        // the socket.
        assert!(matches!(
            option("CURVE_SERVERKEY").apply(&mut setup, &public[..39]),
            Err(OptionError::BadValue(_))
        ));
        assert!(matches!(
            option("CURVE_SECRETKEY").apply(&mut setup, &"~".repeat(40)),
            Err(OptionError::Refused(_))
        ));
    }
}
