//! The socket types zmqcat knows by name, and what each can do from the command line.

use zmq_rs::SocketType;

/// Which way messages flow between standard input/output and the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Print every message received (`-r`).
    Read,
    /// Send every standard-input record (`-w`).
    Write,
    /// REQ: send a record, print the reply, repeat.
    Request,
    /// REP: print a request, send the next record as the reply, repeat.
    Reply,
}

/// One socket type as zmqcat sees it.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// The name on the command line (matched in any case).
    pub name: &'static str,
    /// The facade's type.
    pub socket_type: SocketType,
    /// Whether `-r` makes sense.
    pub can_read: bool,
    /// Whether `-w` makes sense; `Err` explains why not when the type sends but not the way
    /// zmqcat sends (one frame per record).
    pub can_write: Result<(), &'static str>,
    /// What `-s` means for this type, if anything.
    pub prefix_use: PrefixUse,
}

/// What `-s VALUE` does for a socket type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixUse {
    /// `-s` is refused.
    None,
    /// SUB: subscribe to each prefix (no `-s`: everything).
    Subscribe,
    /// XSUB: send the subscription message 0x01+prefix for each.
    SubscriptionMessage,
    /// DISH: join each group.
    JoinGroup,
    /// RADIO: the one group every record is sent to.
    SendGroup,
}

const CANNOT_SEND: Result<(), &str> = Err("it cannot send");
const SENDS: Result<(), &str> = Ok(());

/// Every type, in the order `--help` lists them.
pub const KINDS: &[Kind] = &[
    kind("PUSH", SocketType::Push, false, SENDS, PrefixUse::None),
    kind("PULL", SocketType::Pull, true, CANNOT_SEND, PrefixUse::None),
    kind("PUB", SocketType::Pub, false, SENDS, PrefixUse::None),
    kind(
        "SUB",
        SocketType::Sub,
        true,
        CANNOT_SEND,
        PrefixUse::Subscribe,
    ),
    kind("REQ", SocketType::Req, true, SENDS, PrefixUse::None),
    kind("REP", SocketType::Rep, true, SENDS, PrefixUse::None),
    kind("DEALER", SocketType::Dealer, true, SENDS, PrefixUse::None),
    kind(
        "ROUTER",
        SocketType::Router,
        true,
        Err("every ROUTER message starts with the routing id of its peer"),
        PrefixUse::None,
    ),
    kind("PAIR", SocketType::Pair, true, SENDS, PrefixUse::None),
    kind("XPUB", SocketType::XPub, true, SENDS, PrefixUse::None),
    kind(
        "XSUB",
        SocketType::XSub,
        true,
        SENDS,
        PrefixUse::SubscriptionMessage,
    ),
    kind("CLIENT", SocketType::Client, true, SENDS, PrefixUse::None),
    kind(
        "SERVER",
        SocketType::Server,
        true,
        Err("every SERVER message needs the routing id of its peer"),
        PrefixUse::None,
    ),
    kind(
        "RADIO",
        SocketType::Radio,
        false,
        SENDS,
        PrefixUse::SendGroup,
    ),
    kind(
        "DISH",
        SocketType::Dish,
        true,
        CANNOT_SEND,
        PrefixUse::JoinGroup,
    ),
    kind(
        "SCATTER",
        SocketType::Scatter,
        false,
        SENDS,
        PrefixUse::None,
    ),
    kind(
        "GATHER",
        SocketType::Gather,
        true,
        CANNOT_SEND,
        PrefixUse::None,
    ),
    kind(
        "PEER",
        SocketType::Peer,
        true,
        Err("every PEER message needs the routing id of its peer"),
        PrefixUse::None,
    ),
    kind("CHANNEL", SocketType::Channel, true, SENDS, PrefixUse::None),
];

const fn kind(
    name: &'static str,
    socket_type: SocketType,
    can_read: bool,
    can_write: Result<(), &'static str>,
    prefix_use: PrefixUse,
) -> Kind {
    Kind {
        name,
        socket_type,
        can_read,
        can_write,
        prefix_use,
    }
}

impl Kind {
    /// The type called `name`, in any case.
    pub fn by_name(name: &str) -> Option<&'static Self> {
        KINDS.iter().find(|k| k.name.eq_ignore_ascii_case(name))
    }

    /// The mode for the flags given: REQ and REP have their own; a type that zmqcat can only
    /// read from or only write to needs no flag; the others need `-r` or `-w`.
    pub fn mode(&self, asked: Option<Mode>) -> Result<Mode, String> {
        match self.socket_type {
            SocketType::Req => return Ok(Mode::Request),
            SocketType::Rep => return Ok(Mode::Reply),
            _ => {}
        }
        let mode = match asked {
            Some(mode) => mode,
            None if !self.can_read => Mode::Write,
            None if self.can_write.is_err() => Mode::Read,
            None => {
                return Err(format!(
                    "{} can send and receive: say which with -r (print what arrives) or -w \
                     (send standard input)",
                    self.name
                ));
            }
        };
        match mode {
            Mode::Read if !self.can_read => {
                Err(format!("-r: a {} socket cannot receive", self.name))
            }
            Mode::Write => match self.can_write {
                Ok(()) => Ok(mode),
                Err(why) => Err(format!(
                    "-w: zmqcat sends one frame per record to a {} socket, but {why}",
                    self.name
                )),
            },
            _ => Ok(mode),
        }
    }

    /// The names of every type, for messages.
    pub fn all_names() -> String {
        KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_in_any_case() {
        assert_eq!(
            Kind::by_name("dealer").map(|k| k.socket_type),
            Some(SocketType::Dealer)
        );
        assert_eq!(
            Kind::by_name("XSub").map(|k| k.socket_type),
            Some(SocketType::XSub)
        );
        assert!(Kind::by_name("STREAMER").is_none());
    }

    #[test]
    fn one_way_types_need_no_mode_flag() {
        let pull = Kind::by_name("PULL").expect("PULL");
        assert_eq!(pull.mode(None), Ok(Mode::Read));
        let push = Kind::by_name("PUSH").expect("PUSH");
        assert_eq!(push.mode(None), Ok(Mode::Write));
        assert!(push.mode(Some(Mode::Read)).is_err());
        assert!(pull.mode(Some(Mode::Write)).is_err());
    }

    #[test]
    fn two_way_types_need_a_mode_flag_and_req_rep_ignore_it() {
        let dealer = Kind::by_name("DEALER").expect("DEALER");
        assert!(dealer.mode(None).is_err());
        assert_eq!(dealer.mode(Some(Mode::Write)), Ok(Mode::Write));
        let req = Kind::by_name("REQ").expect("REQ");
        assert_eq!(req.mode(Some(Mode::Read)), Ok(Mode::Request));
        let rep = Kind::by_name("rep").expect("REP");
        assert_eq!(rep.mode(None), Ok(Mode::Reply));
    }

    #[test]
    fn router_refuses_write_with_a_reason() {
        let router = Kind::by_name("ROUTER").expect("ROUTER");
        let err = router.mode(Some(Mode::Write)).expect_err("refused");
        assert!(err.contains("routing id"), "{err}");
    }
}
