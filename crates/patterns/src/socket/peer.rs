//! PEER (RFC 51, draft): SERVER whose routing ids also name the peers we connect to. The id
//! is assigned when the pipe is attached, which for a connecting socket is at connect time,
//! so the facade can return it from `zmq_connect_peer` at once with
//! [`crate::Pattern::routing_id_of`] (4 octets, big-endian) and messages can be queued for
//! the peer before it is up. libzmq refuses `connect_peer` under IMMEDIATE; that is the
//! facade's check.

use zmtp_proto::SocketType;

use super::server::Server;
use crate::machine::Machine;

pub(crate) fn new(seed: u32) -> Machine<Server> {
    Machine::new(SocketType::Peer, Server::new(seed))
}
