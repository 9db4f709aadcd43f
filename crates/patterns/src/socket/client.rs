//! CLIENT (RFC 41, draft): DEALER restricted to single-frame messages. Sending a multipart
//! message fails with `InvalidMessage` (EINVAL in libzmq); received multipart messages are
//! dropped ("MUST discard any part of a multipart message").

use zmtp_proto::SocketType;

use super::dealer::Dealer;
use crate::machine::Machine;

pub(crate) fn new() -> Machine<Dealer> {
    Machine::new(SocketType::Client, Dealer::new(true))
}
