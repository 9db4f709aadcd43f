//! ZeroMQ socket types, their ZMTP names, and which pairs may talk.

/// Every ZeroMQ socket type, with the name ZMTP carries in the `Socket-Type` property.
///
/// The draft types (RFC 41, 48, 49, 51, 52) are included; `Stream` speaks raw TCP and never
/// appears in a ZMTP handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SocketType {
    /// Exclusive pair (RFC 31).
    Pair,
    /// Publisher (RFC 29).
    Pub,
    /// Subscriber (RFC 29).
    Sub,
    /// Requester (RFC 28).
    Req,
    /// Replier (RFC 28).
    Rep,
    /// Asynchronous requester (RFC 28).
    Dealer,
    /// Asynchronous replier, routes by identity (RFC 28).
    Router,
    /// Pipeline sink (RFC 30).
    Pull,
    /// Pipeline source (RFC 30).
    Push,
    /// Publisher that sees subscriptions (RFC 29).
    XPub,
    /// Subscriber that sends subscriptions as messages (RFC 29).
    XSub,
    /// Raw TCP with a routing id frame (no ZMTP).
    Stream,
    /// Draft: server side of client-server (RFC 41).
    Server,
    /// Draft: client side of client-server (RFC 41).
    Client,
    /// Draft: group publisher (RFC 48).
    Radio,
    /// Draft: group subscriber (RFC 48).
    Dish,
    /// Draft: fair-queued collector (RFC 49).
    Gather,
    /// Draft: round-robin distributor (RFC 49).
    Scatter,
    /// Draft: datagram socket (UDP only in libzmq).
    Dgram,
    /// Draft: peer-to-peer (RFC 51).
    Peer,
    /// Draft: exclusive thread-safe pair (RFC 52).
    Channel,
}

impl SocketType {
    /// All socket types, in libzmq's numbering order.
    pub const ALL: [Self; 21] = [
        Self::Pair,
        Self::Pub,
        Self::Sub,
        Self::Req,
        Self::Rep,
        Self::Dealer,
        Self::Router,
        Self::Pull,
        Self::Push,
        Self::XPub,
        Self::XSub,
        Self::Stream,
        Self::Server,
        Self::Client,
        Self::Radio,
        Self::Dish,
        Self::Gather,
        Self::Scatter,
        Self::Dgram,
        Self::Peer,
        Self::Channel,
    ];

    /// The name sent in the READY command's `Socket-Type` property (RFC 23).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pair => "PAIR",
            Self::Pub => "PUB",
            Self::Sub => "SUB",
            Self::Req => "REQ",
            Self::Rep => "REP",
            Self::Dealer => "DEALER",
            Self::Router => "ROUTER",
            Self::Pull => "PULL",
            Self::Push => "PUSH",
            Self::XPub => "XPUB",
            Self::XSub => "XSUB",
            Self::Stream => "STREAM",
            Self::Server => "SERVER",
            Self::Client => "CLIENT",
            Self::Radio => "RADIO",
            Self::Dish => "DISH",
            Self::Gather => "GATHER",
            Self::Scatter => "SCATTER",
            Self::Dgram => "DGRAM",
            Self::Peer => "PEER",
            Self::Channel => "CHANNEL",
        }
    }

    /// libzmq's numeric value for this type (`ZMQ_PAIR` is 0, ..., `ZMQ_CHANNEL` is 20).
    pub const fn to_raw(self) -> i32 {
        self as i32
    }

    /// The type for libzmq's numeric value, if there is one.
    pub fn from_raw(raw: i32) -> Option<Self> {
        usize::try_from(raw)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// Parses a `Socket-Type` property value. ZMTP names are upper case and compared exactly.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().as_bytes() == name)
    }

    /// Whether a socket of this type accepts a peer of type `peer` (RFC 23's table, plus the
    /// draft pairs as libzmq 4.3 checks them in `mechanism_t::check_socket_type`).
    pub const fn is_compatible_with(self, peer: Self) -> bool {
        use SocketType::*;
        matches!(
            (self, peer),
            (Req, Rep | Router)
                | (Rep, Req | Dealer)
                | (Dealer, Rep | Dealer | Router)
                | (Router, Req | Dealer | Router)
                | (Pub, Sub | XSub)
                | (XPub, Sub | XSub)
                | (Sub, Pub | XPub)
                | (XSub, Pub | XPub)
                | (Push, Pull)
                | (Pull, Push)
                | (Pair, Pair)
                | (Server, Client)
                | (Client, Server)
                | (Radio, Dish)
                | (Dish, Radio)
                | (Gather, Scatter)
                | (Scatter, Gather)
                | (Dgram, Dgram)
                | (Peer, Peer)
                | (Channel, Channel)
        )
    }
}

impl std::fmt::Display for SocketType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::SocketType;

    #[test]
    fn names_round_trip_and_raw_values_match_libzmq() {
        for (i, t) in SocketType::ALL.into_iter().enumerate() {
            assert_eq!(SocketType::from_name(t.as_str().as_bytes()), Some(t));
            assert_eq!(t.to_raw(), i as i32);
            assert_eq!(SocketType::from_raw(i as i32), Some(t));
        }
        assert_eq!(SocketType::from_raw(21), None);
        assert_eq!(SocketType::from_name(b"req"), None, "ZMTP names are exact");
    }

    #[test]
    fn compatibility_table_is_symmetric_rfc23() {
        // RFC 23 "Socket type compatibility": every allowed pair is allowed both ways.
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(a.is_compatible_with(b), b.is_compatible_with(a), "{a} {b}");
            }
        }
        assert!(SocketType::Req.is_compatible_with(SocketType::Router));
        assert!(!SocketType::Req.is_compatible_with(SocketType::Req));
        assert!(!SocketType::Pub.is_compatible_with(SocketType::Pub));
        assert!(!SocketType::Stream.is_compatible_with(SocketType::Stream));
    }
}
