//! The command line: hand-written parsing (no argument crate: zmqcat builds in seconds) and
//! the help text.

use crate::kind::{KINDS, Kind, Mode};
use crate::sockopt::{OPTIONS, SocketOption};

/// How to join the socket to each address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// `-b`
    Bind,
    /// `-c`
    Connect,
}

/// Everything the command line asked for.
#[derive(Debug)]
pub struct Config {
    /// The socket type.
    pub kind: &'static Kind,
    /// Read, write, or the REQ/REP cycles.
    pub mode: Mode,
    /// Bind or connect.
    pub join: Join,
    /// The addresses, in order.
    pub addresses: Vec<String>,
    /// `-o` options, in order, already known by name.
    pub options: Vec<(&'static SocketOption, String)>,
    /// `-s` values, in order.
    pub prefixes: Vec<String>,
    /// The record separator: newline, or NUL with `-0`.
    pub separator: u8,
    /// `-n`: stop after this many messages (or request-reply cycles).
    pub count: Option<u64>,
}

/// What the command line asks zmqcat to do.
#[derive(Debug)]
pub enum Command {
    /// Run with this configuration.
    Run(Box<Config>),
    /// Print the help text.
    Help,
    /// Print the version.
    Version,
    /// Print a new CURVE key pair as `-o` arguments.
    CurveKeypair,
}

/// Parses the arguments after the program name. `Err` holds a message for the user.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let mut positional = Vec::new();
    let mut mode = None;
    let mut join = None;
    let mut options = Vec::new();
    let mut prefixes = Vec::new();
    let mut separator = b'\n';
    let mut count = None;
    let mut only_positional = false;

    while let Some(arg) = args.next() {
        if only_positional || arg == "-" || !arg.starts_with('-') {
            positional.push(arg);
            continue;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (long, None),
            };
            let mut value = |flag: &str| match inline.clone() {
                Some(v) => Ok(v),
                None => args.next().ok_or_else(|| format!("--{flag} needs a value")),
            };
            match name {
                "" => only_positional = true,
                "help" => return Ok(Command::Help),
                "version" => return Ok(Command::Version),
                "curve-keypair" => return Ok(Command::CurveKeypair),
                "null" => separator = 0,
                "read" => set_mode(&mut mode, Mode::Read)?,
                "write" => set_mode(&mut mode, Mode::Write)?,
                "bind" => set_join(&mut join, Join::Bind)?,
                "connect" => set_join(&mut join, Join::Connect)?,
                "count" => count = Some(parse_count(&value("count")?)?),
                "option" => options.push(parse_option(&value("option")?)?),
                "subscribe" => prefixes.push(value("subscribe")?),
                _ => return Err(format!("unknown flag --{name}")),
            }
            continue;
        }
        // Short flags, possibly clustered (`-rb`); one that takes a value takes the rest of
        // the argument (`-n5`) or the next argument (`-n 5`).
        let cluster = &arg[1..];
        for (i, flag) in cluster.char_indices() {
            let rest = &cluster[i + flag.len_utf8()..];
            let mut value = || {
                if rest.is_empty() {
                    args.next().ok_or_else(|| format!("-{flag} needs a value"))
                } else {
                    Ok(rest.to_owned())
                }
            };
            match flag {
                'h' => return Ok(Command::Help),
                'V' => return Ok(Command::Version),
                '0' => separator = 0,
                'r' => set_mode(&mut mode, Mode::Read)?,
                'w' => set_mode(&mut mode, Mode::Write)?,
                'b' => set_join(&mut join, Join::Bind)?,
                'c' => set_join(&mut join, Join::Connect)?,
                'n' => {
                    count = Some(parse_count(&value()?)?);
                    break;
                }
                'o' => {
                    options.push(parse_option(&value()?)?);
                    break;
                }
                's' => {
                    prefixes.push(value()?);
                    break;
                }
                _ => return Err(format!("unknown flag -{flag}")),
            }
        }
    }

    let mut positional = positional.into_iter();
    let type_name = positional
        .next()
        .ok_or("missing SOCK_TYPE and ADDRESS (see zmqcat --help)")?;
    let kind = Kind::by_name(&type_name).ok_or_else(|| {
        format!(
            "unknown socket type {type_name:?}; zmqcat knows {}",
            Kind::all_names()
        )
    })?;
    let addresses: Vec<String> = positional.collect();
    if addresses.is_empty() {
        return Err("missing ADDRESS, e.g. tcp://127.0.0.1:5555 (see zmqcat --help)".into());
    }
    let join = join.ok_or("say whether to bind (-b) or connect (-c) to the addresses")?;
    let mode = kind.mode(mode)?;
    check_prefixes(kind, &prefixes)?;
    Ok(Command::Run(Box::new(Config {
        kind,
        mode,
        join,
        addresses,
        options,
        prefixes,
        separator,
        count,
    })))
}

fn set_mode(slot: &mut Option<Mode>, mode: Mode) -> Result<(), String> {
    match slot {
        Some(other) if *other != mode => Err("-r and -w cannot be used together".into()),
        _ => {
            *slot = Some(mode);
            Ok(())
        }
    }
}

fn set_join(slot: &mut Option<Join>, join: Join) -> Result<(), String> {
    match slot {
        Some(other) if *other != join => Err("-b and -c cannot be used together".into()),
        _ => {
            *slot = Some(join);
            Ok(())
        }
    }
}

fn parse_count(value: &str) -> Result<u64, String> {
    value
        .parse()
        .map_err(|_| format!("-n needs a whole number of messages, not {value:?}"))
}

fn parse_option(value: &str) -> Result<(&'static SocketOption, String), String> {
    let (name, value) = value
        .split_once('=')
        .ok_or_else(|| format!("-o needs NAME=VALUE (e.g. -o SNDHWM=100), not {value:?}"))?;
    let option = SocketOption::by_name(name).ok_or_else(|| {
        format!("unknown or unsupported socket option {name:?} (zmqcat --help lists them)")
    })?;
    Ok((option, value.to_owned()))
}

fn check_prefixes(kind: &Kind, prefixes: &[String]) -> Result<(), String> {
    use crate::kind::PrefixUse;
    match kind.prefix_use {
        PrefixUse::None if !prefixes.is_empty() => Err(format!(
            "-s applies to SUB, XSUB, DISH and RADIO sockets, not {}",
            kind.name
        )),
        PrefixUse::SendGroup if prefixes.len() != 1 => {
            Err("RADIO needs exactly one -s GROUP: the group every record is sent to".into())
        }
        PrefixUse::JoinGroup if prefixes.is_empty() => {
            Err("DISH needs at least one -s GROUP to join".into())
        }
        _ => Ok(()),
    }
}

/// The text of `--help`.
pub fn help() -> String {
    let types = KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(" ");
    let mut options = String::new();
    let mut line = String::from("   ");
    for option in OPTIONS {
        let mut entry = format!(" {}={}", option.name, option.value);
        for alias in option.aliases {
            entry.push_str(&format!(" ({alias})"));
        }
        if line.len() + entry.len() > 92 {
            options.push_str(&line);
            options.push('\n');
            line = String::from("   ");
        }
        line.push_str(&entry);
    }
    options.push_str(&line);
    format!(
        r#"zmqcat: pipe standard input to a ZeroMQ socket, or a socket to standard output.

Usage: zmqcat [-0] [-n COUNT] [-r|-w] (-b|-c) SOCK_TYPE [-o NAME=VALUE ...] [-s PREFIX ...] ADDRESS...
       zmqcat --curve-keypair

Try it (two terminals):
  zmqcat -b PULL tcp://127.0.0.1:5555              # prints each message pushed to port 5555
  echo hello | zmqcat -c PUSH tcp://127.0.0.1:5555 # sends one message, "hello"

More:
  zmqcat -c SUB -s weather tcp://host:5556     print messages starting with "weather"
  zmqcat -b REP tcp://*:5557 < replies.txt     print each request, answer with the next line
  echo ping | zmqcat -c REQ tcp://host:5557    send a request, print the reply
  zmqcat -r -b ROUTER tcp://127.0.0.1:*        print [identity, frames...]; the port chosen
                                               is reported on standard error

Encrypted (CURVE): make the server's key pair, serve, and give clients its public key:
  zmqcat --curve-keypair > server.key
  zmqcat -b PULL -o CURVE_SERVER=1 -o "$(grep SECRET server.key)" tcp://*:5558
  echo hush | zmqcat -c PUSH -o CURVE_SERVERKEY="$(sed -n 's/CURVE_PUBLICKEY=//p' server.key)" \
      tcp://host:5558

Socket (SOCK_TYPE, any case):
  {types}

Flags:
  -b, --bind           bind to every ADDRESS (tcp://*:5555, tcp://127.0.0.1:*, ipc:///tmp/x)
  -c, --connect        connect to every ADDRESS (connections are made and remade in the
                       background: zmqcat starts before its peer does, and waits)
  -r, --read           print each frame received, followed by the separator; a multipart
                       message is one record per frame, in order (ROUTER: the peer's
                       identity first). Standard output is flushed after every message.
  -w, --write          send each record of standard input (the text up to the separator,
                       or the last unterminated text) as a one-frame message; at the end of
                       input, deliver what is queued (for LINGER), then exit
                       Neither -r nor -w: PULL SUB DISH GATHER ROUTER SERVER PEER read,
                       PUSH PUB RADIO SCATTER write; the others need one.
                       REQ and REP ignore both: REQ sends a record, prints the reply, and
                       repeats; REP prints a request, replies with the next record, repeats.
  -0, --null           records are separated by NUL instead of newline, in and out
  -n, --count COUNT    stop after COUNT messages (received with -r, sent with -w) or
                       request-reply cycles (REQ, REP), and exit 0
  -s, --subscribe PREFIX
                       SUB: subscribe to PREFIX (repeatable; none given and no
                       -o SUBSCRIBE=...: everything); XSUB: send the subscription message
                       0x01+PREFIX; DISH: join group PREFIX; RADIO: send to group PREFIX
  -o, --option NAME=VALUE
                       set a socket option by libzmq's name (any case, ZMQ_ optional):
{options}
                       RCVTIMEO and SNDTIMEO bound how long zmqcat waits for one message
                       (exit status 4 past it).
                       Security: zmqcat authenticates no one. PLAIN_SERVER=1 accepts any
                       user name and password. CURVE_SERVER=1 needs CURVE_SECRETKEY (the
                       public key follows from it) and accepts any client key; traffic is
                       encrypted. A CURVE client sets CURVE_SERVERKEY, the server's public
                       key, and gets a fresh key pair unless given CURVE_SECRETKEY. Keys
                       are 40 Z85 characters, as libzmq prints them.
      --curve-keypair  print a new CURVE key pair as two lines, CURVE_PUBLICKEY=... and
                       CURVE_SECRETKEY=..., ready for -o
  -h, --help           this text
  -V, --version        the version

Exit status:
  0    done: end of input, COUNT reached, or standard output closed by its reader
  1    a socket or I/O error while running
  2    bad usage: unknown flag, socket type or option, bad value, or a mode the type lacks
  3    an ADDRESS could not be bound or connected (bad syntax, unknown scheme, in use, ...)
  4    waited longer than RCVTIMEO or SNDTIMEO
  130  interrupted by SIGINT (Ctrl-C); 143: stopped by SIGTERM. What was received is
       printed; what was not yet delivered is dropped.
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Box<Config>, String> {
        match parse(args.iter().map(|s| (*s).to_owned()))? {
            Command::Run(config) => Ok(config),
            other => panic!("expected a run, got {other:?}"),
        }
    }

    #[test]
    fn the_zmqc_form_parses() {
        let c = run(&[
            "-0",
            "-n",
            "3",
            "-w",
            "-c",
            "dealer",
            "-o",
            "sndhwm=5",
            "-o",
            "ZMQ_IDENTITY=me",
            "tcp://a:1",
            "ipc:///b",
        ])
        .expect("valid");
        assert_eq!(c.kind.name, "DEALER");
        assert_eq!(c.mode, Mode::Write);
        assert_eq!(c.join, Join::Connect);
        assert_eq!(c.separator, 0);
        assert_eq!(c.count, Some(3));
        assert_eq!(c.addresses, ["tcp://a:1", "ipc:///b"]);
        let names: Vec<_> = c
            .options
            .iter()
            .map(|(o, v)| (o.name, v.as_str()))
            .collect();
        assert_eq!(names, [("SNDHWM", "5"), ("ROUTING_ID", "me")]);
    }

    #[test]
    fn clustered_and_attached_short_flags_and_long_flags() {
        let c = run(&["-rb", "-n10", "PAIR", "--option=linger=0", "tcp://*:1"]).expect("ok");
        assert_eq!(
            (c.mode, c.join, c.count),
            (Mode::Read, Join::Bind, Some(10))
        );
        let c = run(&["--connect", "SUB", "--subscribe", "a", "-sb", "x"]).expect("ok");
        assert_eq!(c.prefixes, ["a", "b"]);
        assert_eq!(c.addresses, ["x"]);
    }

    #[test]
    fn mistakes_are_reported() {
        for (args, expected) in [
            (&["-c", "SPOON", "tcp://a:1"][..], "unknown socket type"),
            (
                &["-c", "PUSH", "-o", "BOGUS=1", "tcp://a:1"],
                "unknown or unsupported",
            ),
            (&["-c", "PUSH", "-o", "SNDHWM", "tcp://a:1"], "NAME=VALUE"),
            (&["PUSH", "tcp://a:1"], "bind (-b) or connect (-c)"),
            (
                &["-b", "-c", "PUSH", "tcp://a:1"],
                "cannot be used together",
            ),
            (
                &["-r", "-w", "-c", "PAIR", "tcp://a:1"],
                "cannot be used together",
            ),
            (&["-c", "PUSH"], "missing ADDRESS"),
            (&["-c"], "missing SOCK_TYPE"),
            (&["-c", "PAIR", "tcp://a:1"], "-r"),
            (&["-r", "-c", "PUSH", "tcp://a:1"], "cannot receive"),
            (&["-c", "PUSH", "-s", "x", "tcp://a:1"], "-s applies"),
            (&["-n", "many", "-c", "PUSH", "tcp://a:1"], "whole number"),
            (&["-x", "-c", "PUSH", "tcp://a:1"], "unknown flag -x"),
            (&["-c", "PUSH", "tcp://a:1", "-n"], "needs a value"),
        ] {
            let err = run(args).expect_err("refused");
            assert!(err.contains(expected), "{args:?}: {err}");
        }
    }

    #[test]
    fn help_and_version_win() {
        assert!(matches!(
            parse(["--curve-keypair".to_owned()]),
            Ok(Command::CurveKeypair)
        ));
        assert!(matches!(parse(["-h".to_owned()]), Ok(Command::Help)));
        assert!(matches!(
            parse(["-c".to_owned(), "--help".to_owned()]),
            Ok(Command::Help)
        ));
        assert!(matches!(parse(["-V".to_owned()]), Ok(Command::Version)));
        let text = help();
        assert!(text.contains("Exit status") && text.contains("ROUTING_ID=text (IDENTITY)"));
    }
}
