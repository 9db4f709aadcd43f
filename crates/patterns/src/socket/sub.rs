//! SUB (RFC 29): XSUB whose subscriptions come from the SUBSCRIBE / UNSUBSCRIBE options, which
//! filters what it receives by prefix (libzmq filters on the subscriber side too, so a
//! publisher that ignores subscriptions cannot flood the application), and which never sends
//! (`NotSupported`). INVERT_MATCHING delivers the messages that match no subscription.
//! Subscribing twice to a prefix needs two unsubscribes before the publishers are told.

use zmtp_proto::SocketType;

use super::xsub::XSub;
use crate::machine::Machine;

pub(crate) fn new() -> Machine<XSub> {
    Machine::new(SocketType::Sub, XSub::new(true))
}
