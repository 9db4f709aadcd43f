//! SCATTER (RFC 49, draft): PUSH that refuses multipart messages ("MUST NOT send multi-part
//! messages"; libzmq's `scatter_t` fails them with EINVAL).

use zmtp_proto::SocketType;

use super::push::Push;
use crate::machine::Machine;

pub(crate) fn new() -> Machine<Push> {
    Machine::new(SocketType::Scatter, Push::new(true))
}
