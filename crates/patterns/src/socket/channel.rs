//! CHANNEL (RFC 52, draft): PAIR restricted to single-frame messages ("MUST NOT send
//! multipart messages", "MUST discard any part of a multipart message").

use zmtp_proto::SocketType;

use super::pair::Pair;
use crate::machine::Machine;

pub(crate) fn new() -> Machine<Pair> {
    Machine::new(SocketType::Channel, Pair::new(true))
}
