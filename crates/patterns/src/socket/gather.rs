//! GATHER (RFC 49, draft): PULL that discards multipart messages ("MUST discard any part of a
//! multipart message").

use zmtp_proto::SocketType;

use super::pull::Pull;
use crate::machine::Machine;

pub(crate) fn new() -> Machine<Pull> {
    Machine::new(SocketType::Gather, Pull::new(true))
}
