//! One module per socket type. Types that differ from another only by a rule or two share its
//! machine: SCATTER is PUSH, GATHER is PULL, CLIENT is DEALER, CHANNEL is PAIR (each
//! single-frame), PEER is SERVER, PUB is XPUB and SUB is XSUB, REP uses ROUTER's routing and
//! REQ is built on DEALER, as in libzmq.

use zmtp_proto::SocketType;

use crate::api::{Pattern, PatternConfig, UnsupportedSocketType};
use crate::machine::Machine;

pub(crate) mod channel;
pub(crate) mod client;
pub(crate) mod dealer;
pub(crate) mod dish;
pub(crate) mod gather;
pub(crate) mod pair;
pub(crate) mod peer;
pub(crate) mod pub_;
pub(crate) mod pull;
pub(crate) mod push;
pub(crate) mod radio;
pub(crate) mod rep;
pub(crate) mod req;
pub(crate) mod router;
pub(crate) mod scatter;
pub(crate) mod server;
pub(crate) mod stream;
pub(crate) mod sub;
pub(crate) mod xpub;
pub(crate) mod xsub;

/// Builds the machine for a socket type.
pub(crate) fn new(
    socket_type: SocketType,
    config: &PatternConfig,
) -> Result<Box<dyn Pattern>, UnsupportedSocketType> {
    let seed = config.seed;
    Ok(match socket_type {
        SocketType::Pair => Box::new(Machine::new(socket_type, pair::Pair::new(false))),
        SocketType::Channel => Box::new(channel::new()),
        SocketType::Pub => Box::new(pub_::new()),
        SocketType::XPub => Box::new(Machine::new(socket_type, xpub::XPub::new(false))),
        SocketType::Sub => Box::new(sub::new()),
        SocketType::XSub => Box::new(Machine::new(socket_type, xsub::XSub::new(false))),
        SocketType::Req => Box::new(Machine::new(socket_type, req::Req::new(seed))),
        SocketType::Rep => Box::new(Machine::new(socket_type, rep::Rep::new(seed))),
        SocketType::Dealer => Box::new(Machine::new(socket_type, dealer::Dealer::new(false))),
        SocketType::Client => Box::new(client::new()),
        SocketType::Router => Box::new(Machine::new(socket_type, router::Router::new(seed))),
        SocketType::Push => Box::new(Machine::new(socket_type, push::Push::new(false))),
        SocketType::Scatter => Box::new(scatter::new()),
        SocketType::Pull => Box::new(Machine::new(socket_type, pull::Pull::new(false))),
        SocketType::Gather => Box::new(gather::new()),
        SocketType::Stream => Box::new(Machine::new(socket_type, stream::Stream::new(seed))),
        SocketType::Server => Box::new(Machine::new(socket_type, server::Server::new(seed))),
        SocketType::Peer => Box::new(peer::new(seed)),
        SocketType::Radio => Box::new(Machine::new(socket_type, radio::Radio::new())),
        SocketType::Dish => Box::new(Machine::new(socket_type, dish::Dish::default())),
        other => return Err(UnsupportedSocketType(other)),
    })
}
