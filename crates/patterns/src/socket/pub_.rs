//! PUB (RFC 29): XPUB that never receives. Subscriptions from subscribers are applied but not
//! reported (RFC 29 "SHALL NOT deliver these commands to its calling application"), other
//! messages from them are dropped ("SHALL silently discard any messages that subscribers send
//! it"), and `recv` fails with `NotSupported` (ENOTSUP).

use zmtp_proto::SocketType;

use super::xpub::XPub;
use crate::machine::Machine;

pub(crate) fn new() -> Machine<XPub> {
    Machine::new(SocketType::Pub, XPub::new(true))
}
