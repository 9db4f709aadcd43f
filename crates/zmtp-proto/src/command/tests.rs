//! Tests for commands: golden bytes from RFC 37 (READY, SUBSCRIBE, CANCEL, PING, PONG, JOIN,
//! LEAVE) and RFC 24 (HELLO, WELCOME, INITIATE), the malformed inputs libzmq has had CVEs for,
//! and quickcheck round trips.

use bytes::BytesMut;
use quickcheck::{Arbitrary, Gen, QuickCheck};

use super::*;
use crate::frame::{Frame, FrameDecoder};

fn encoded(cmd: &Command) -> Vec<u8> {
    let mut out = Vec::new();
    cmd.encode(&mut out);
    assert_eq!(out.len(), cmd.encoded_len(), "encoded_len of {cmd:?}");
    out
}

fn decoded(bytes: &[u8]) -> Result<Command, DecodeError> {
    match Command::decode(bytes)? {
        Decoded::Complete { value, consumed } => {
            assert_eq!(consumed, bytes.len());
            Ok(value)
        }
        Decoded::Incomplete { needed } => panic!("incomplete, {needed} more octets needed"),
    }
}

fn props(entries: &[(&'static [u8], &'static [u8])]) -> Properties {
    let mut p = Properties::new();
    for (n, v) in entries {
        p.insert(Bytes::from_static(n), Bytes::from_static(v));
    }
    p
}

#[test]
fn ready_from_dealer_matches_the_rfc37_worked_example() {
    let ready = Command::Ready {
        properties: props(&[(b"Socket-Type", b"DEALER"), (b"Identity", b"")]),
    };
    let mut golden = vec![0x04, 41, 5];
    golden.extend_from_slice(b"READY");
    golden.push(11);
    golden.extend_from_slice(b"Socket-Type");
    golden.extend_from_slice(&[0, 0, 0, 6]);
    golden.extend_from_slice(b"DEALER");
    golden.push(8);
    golden.extend_from_slice(b"Identity");
    golden.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(encoded(&ready), golden);
    assert_eq!(decoded(&golden), Ok(ready));
}

#[test]
fn ready_from_router_matches_the_rfc37_worked_example() {
    let ready = Command::Ready {
        properties: props(&[(b"Socket-Type", b"ROUTER")]),
    };
    let golden = b"\x04\x1c\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER";
    assert_eq!(encoded(&ready), golden);
    assert_eq!(decoded(golden), Ok(ready));
}

#[test]
fn subscribe_and_cancel_golden_bytes_rfc37() {
    let sub = Command::Subscribe {
        topic: Bytes::from_static(b"A"),
    };
    assert_eq!(encoded(&sub), b"\x04\x0b\x09SUBSCRIBEA");
    assert_eq!(decoded(b"\x04\x0b\x09SUBSCRIBEA"), Ok(sub));
    let cancel = Command::Cancel {
        topic: Bytes::new(),
    };
    assert_eq!(encoded(&cancel), b"\x04\x07\x06CANCEL");
    assert_eq!(decoded(b"\x04\x07\x06CANCEL"), Ok(cancel));
}

#[test]
fn ping_and_pong_golden_bytes_rfc37() {
    let ping = Command::Ping {
        ttl: 0x0102,
        context: Bytes::from_static(b"ctx"),
    };
    assert_eq!(encoded(&ping), b"\x04\x0a\x04PING\x01\x02ctx");
    assert_eq!(decoded(b"\x04\x0a\x04PING\x01\x02ctx"), Ok(ping));
    // libzmq's own PING: TTL only, no context.
    assert_eq!(
        decoded(b"\x04\x07\x04PING\x00\x64"),
        Ok(Command::Ping {
            ttl: 100,
            context: Bytes::new()
        })
    );
    let pong = Command::Pong {
        context: Bytes::from_static(b"ctx"),
    };
    assert_eq!(encoded(&pong), b"\x04\x08\x04PONGctx");
    assert_eq!(decoded(b"\x04\x08\x04PONGctx"), Ok(pong));
}

#[test]
fn ping_without_ttl_is_malformed_rfc37() {
    assert_eq!(
        decoded(b"\x04\x06\x04PING\x00"),
        Err(DecodeError::MalformedCommand {
            command: CommandKind::Ping
        })
    );
}

#[test]
fn join_and_leave_golden_bytes_rfc37() {
    let join = Command::Join {
        group: Bytes::from_static(b"weather"),
    };
    assert_eq!(encoded(&join), b"\x04\x0c\x04JOINweather");
    assert_eq!(decoded(b"\x04\x0c\x04JOINweather"), Ok(join));
    let leave = Command::Leave {
        group: Bytes::from_static(b"tv"),
    };
    assert_eq!(encoded(&leave), b"\x04\x08\x05LEAVEtv");
    assert_eq!(decoded(b"\x04\x08\x05LEAVEtv"), Ok(leave));
}

#[test]
fn join_group_is_at_most_255_non_zero_octets_rfc48() {
    let mut body = BytesMut::from(&b"\x04JOIN"[..]);
    body.extend_from_slice(&[b'g'; 256]);
    assert_eq!(
        Command::from_body(body.freeze()),
        Err(DecodeError::MalformedCommand {
            command: CommandKind::Join
        })
    );
    assert_eq!(
        Command::from_body(Bytes::from_static(b"\x05LEAVEa\x00b")),
        Err(DecodeError::MalformedCommand {
            command: CommandKind::Leave
        })
    );
}

#[test]
fn plain_hello_welcome_initiate_golden_bytes_rfc24() {
    let hello = Command::Hello {
        username: Bytes::from_static(b"admin"),
        password: Bytes::from_static(b"secret"),
    };
    let golden = b"\x04\x13\x05HELLO\x05admin\x06secret";
    assert_eq!(encoded(&hello), golden);
    assert_eq!(decoded(golden), Ok(hello));
    assert_eq!(encoded(&Command::Welcome), b"\x04\x08\x07WELCOME");
    assert_eq!(decoded(b"\x04\x08\x07WELCOME"), Ok(Command::Welcome));
    let initiate = Command::Initiate {
        properties: props(&[(b"Socket-Type", b"REQ")]),
    };
    let golden = b"\x04\x1c\x08INITIATE\x0bSocket-Type\x00\x00\x00\x03REQ";
    assert_eq!(encoded(&initiate), golden);
    assert_eq!(decoded(golden), Ok(initiate));
}

#[test]
fn welcome_with_data_is_malformed_like_libzmq() {
    assert_eq!(
        decoded(b"\x04\x09\x07WELCOMEx"),
        Err(DecodeError::MalformedCommand {
            command: CommandKind::Welcome
        })
    );
}

#[test]
fn error_golden_bytes_rfc23() {
    let error = Command::Error {
        reason: Bytes::from_static(b"400"),
    };
    assert_eq!(encoded(&error), b"\x04\x0a\x05ERROR\x03400");
    assert_eq!(decoded(b"\x04\x0a\x05ERROR\x03400"), Ok(error));
}

#[test]
fn error_reason_running_past_the_frame_is_malformed() {
    assert_eq!(
        decoded(b"\x04\x0a\x05ERROR\x09400"),
        Err(DecodeError::MalformedCommand {
            command: CommandKind::Error
        })
    );
}

#[test]
fn oversized_fields_are_truncated_on_encode() {
    let error = Command::Error {
        reason: Bytes::from(vec![b'x'; 300]),
    };
    let bytes = encoded(&error);
    assert_eq!(
        decoded(&bytes),
        Ok(Command::Error {
            reason: Bytes::from(vec![b'x'; 255])
        })
    );
}

#[test]
fn unknown_commands_decode_with_name_and_data() {
    assert_eq!(
        decoded(b"\x04\x08\x05HELOOab"),
        Ok(Command::Unknown {
            name: Bytes::from_static(b"HELOO"),
            data: Bytes::from_static(b"ab"),
        })
    );
    // Names are case-sensitive.
    assert!(matches!(
        decoded(b"\x04\x06\x05ready"),
        Ok(Command::Unknown { .. })
    ));
}

#[test]
fn command_name_length_running_past_the_frame_is_refused() {
    // Name size 10 in a 5-octet body (the invalid command-name length class of bugs).
    assert_eq!(
        decoded(b"\x04\x05\x0aPING"),
        Err(DecodeError::BadCommandName)
    );
    assert_eq!(
        Command::from_body(Bytes::from_static(b"\xffREADY")),
        Err(DecodeError::BadCommandName)
    );
}

#[test]
fn empty_or_non_alphabetic_command_names_are_refused_rfc23() {
    for body in [&b""[..], b"\x00", b"\x00READY", b"\x04PI G", b"\x03AB1"] {
        assert_eq!(
            Command::from_body(Bytes::copy_from_slice(body)),
            Err(DecodeError::BadCommandName),
            "{body:?}"
        );
    }
}

#[test]
fn property_value_length_running_past_the_frame_is_refused() {
    // Value size 100 with 3 octets left.
    let body = b"\x05READY\x0bSocket-Type\x00\x00\x00\x64DEA";
    assert_eq!(
        Command::from_body(Bytes::from_static(body)),
        Err(DecodeError::MalformedProperty)
    );
    // Value size field itself cut short.
    let body = b"\x05READY\x0bSocket-Type\x00\x00";
    assert_eq!(
        Command::from_body(Bytes::from_static(body)),
        Err(DecodeError::MalformedProperty)
    );
    // Value size of 2^31 and more, which RFC 23 forbids.
    let body = b"\x05READY\x01A\x80\x00\x00\x00";
    assert_eq!(
        Command::from_body(Bytes::from_static(body)),
        Err(DecodeError::MalformedProperty)
    );
}

#[test]
fn property_name_running_past_the_frame_or_empty_is_refused() {
    for body in [
        &b"\x05READY\x20Socket"[..],
        b"\x05READY\x00\x00\x00\x00\x00",
        b"\x05READY\x01",
    ] {
        assert_eq!(
            Command::from_body(Bytes::copy_from_slice(body)),
            Err(DecodeError::MalformedProperty),
            "{body:?}"
        );
    }
}

#[test]
fn oversized_plain_username_is_refused() {
    // Username length 200 with 5 octets following.
    let body = b"\x05HELLO\xc8admin\x06secret";
    assert_eq!(
        Command::from_body(Bytes::from_static(body)),
        Err(DecodeError::MalformedCommand {
            command: CommandKind::Hello
        })
    );
    // Trailing octets after the password are refused too, as libzmq does.
    assert_eq!(
        Command::from_body(Bytes::from_static(b"\x05HELLO\x01u\x01pX")),
        Err(DecodeError::MalformedCommand {
            command: CommandKind::Hello
        })
    );
}

#[test]
fn duplicate_property_names_keep_the_first_value() {
    let body = b"\x05READY\x01A\x00\x00\x00\x011\x01a\x00\x00\x00\x012\x01B\x00\x00\x00\x013";
    let Ok(Command::Ready { properties }) = Command::from_body(Bytes::from_static(body)) else {
        panic!("valid READY");
    };
    assert_eq!(properties.len(), 2);
    assert_eq!(properties.get("a").map(|v| &v[..]), Some(&b"1"[..]));
    assert_eq!(properties.get("B").map(|v| &v[..]), Some(&b"3"[..]));
}

#[test]
fn too_many_properties_are_refused() {
    let mut body = BytesMut::from(&b"\x05READY"[..]);
    for _ in 0..=MAX_PROPERTIES {
        body.extend_from_slice(b"\x01A\x00\x00\x00\x00");
    }
    assert_eq!(
        Command::from_body(body.freeze()),
        Err(DecodeError::TooManyProperties)
    );
}

#[test]
fn decode_reports_incomplete_commands_and_refuses_message_frames() {
    assert_eq!(
        Command::decode(b"\x04\x0b\x09SUBSC"),
        Ok(Decoded::Incomplete { needed: 5 })
    );
    assert_eq!(Command::decode(b"\x00\x01a"), Err(DecodeError::NotACommand));
}

#[test]
fn from_body_shares_the_frame_memory() {
    let body = Bytes::from_static(b"\x09SUBSCRIBEtopic");
    let Ok(Command::Subscribe { topic }) = Command::from_body(body.clone()) else {
        panic!("valid SUBSCRIBE");
    };
    assert_eq!(topic.as_ptr(), body[10..].as_ptr());
}

// ---- quickcheck ----------------------------------------------------------------------------

fn arb_bytes(g: &mut Gen, max: usize) -> Bytes {
    let len = usize::arbitrary(g) % (max + 1);
    Bytes::from((0..len).map(|_| u8::arbitrary(g)).collect::<Vec<u8>>())
}

fn arb_name(g: &mut Gen, charset: &[u8], max: usize) -> Bytes {
    let len = 1 + usize::arbitrary(g) % max;
    Bytes::from(
        (0..len)
            .map(|_| *g.choose(charset).unwrap_or(&b'A'))
            .collect::<Vec<u8>>(),
    )
}

const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const NAME_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+";

fn arb_properties(g: &mut Gen) -> Properties {
    let mut p = Properties::new();
    for _ in 0..usize::arbitrary(g) % 5 {
        let name = arb_name(g, NAME_CHARS, 20);
        if p.get(&String::from_utf8_lossy(&name)).is_none() {
            p.insert(name, arb_bytes(g, 40));
        }
    }
    p
}

/// Any valid command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArbCommand(pub(crate) Command);

impl Arbitrary for ArbCommand {
    fn arbitrary(g: &mut Gen) -> Self {
        let group = |g: &mut Gen| {
            Bytes::from(
                arb_bytes(g, 255)
                    .iter()
                    .map(|&b| b.max(1))
                    .collect::<Vec<u8>>(),
            )
        };
        let cmd = match u8::arbitrary(g) % 12 {
            0 => Command::Ready {
                properties: arb_properties(g),
            },
            1 => Command::Error {
                reason: arb_bytes(g, 255),
            },
            2 => Command::Subscribe {
                topic: arb_bytes(g, 300),
            },
            3 => Command::Cancel {
                topic: arb_bytes(g, 300),
            },
            4 => Command::Ping {
                ttl: u16::arbitrary(g),
                context: arb_bytes(g, PING_CONTEXT_MAX),
            },
            5 => Command::Pong {
                context: arb_bytes(g, PING_CONTEXT_MAX),
            },
            6 => Command::Join { group: group(g) },
            7 => Command::Leave { group: group(g) },
            8 => Command::Hello {
                username: arb_bytes(g, 255),
                password: arb_bytes(g, 255),
            },
            9 => Command::Welcome,
            10 => Command::Initiate {
                properties: arb_properties(g),
            },
            _ => {
                let mut name = arb_name(g, ALPHA, 12);
                if CommandKind::from_name(&name).is_some() {
                    name = Bytes::from_static(b"XUNKNOWN");
                }
                Command::Unknown {
                    name,
                    data: arb_bytes(g, 64),
                }
            }
        };
        Self(cmd)
    }
}

#[test]
fn any_command_decodes_to_what_was_encoded() {
    fn prop(cmd: ArbCommand) -> bool {
        let bytes = encoded(&cmd.0);
        Command::decode(&bytes)
            == Ok(Decoded::Complete {
                value: cmd.0,
                consumed: bytes.len(),
            })
    }
    QuickCheck::new()
        .tests(500)
        .quickcheck(prop as fn(ArbCommand) -> bool);
}

/// One item of a ZMTP stream: a message (frames) or a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    Message(Vec<Bytes>),
    Command(Command),
}

impl Arbitrary for Item {
    fn arbitrary(g: &mut Gen) -> Self {
        if bool::arbitrary(g) {
            Self::Command(ArbCommand::arbitrary(g).0)
        } else {
            let frames = 1 + usize::arbitrary(g) % 4;
            Self::Message(
                (0..frames)
                    .map(|_| {
                        // Now and then a long frame.
                        let max = if u8::arbitrary(g) % 8 == 0 { 700 } else { 40 };
                        arb_bytes(g, max)
                    })
                    .collect(),
            )
        }
    }
}

#[test]
fn any_sequence_of_messages_and_commands_decodes_to_itself() {
    fn prop(items: Vec<Item>) -> bool {
        let mut rx = BytesMut::new();
        for item in &items {
            match item {
                Item::Message(frames) => {
                    for (i, f) in frames.iter().enumerate() {
                        Frame::message(f.clone(), i + 1 < frames.len()).encode(&mut rx);
                    }
                }
                Item::Command(cmd) => cmd.encode(&mut rx),
            }
        }
        let mut decoder = FrameDecoder::new(None);
        let mut out = Vec::new();
        let mut partial = Vec::new();
        while let Ok(Decoded::Complete { value, .. }) = decoder.decode(&mut rx) {
            if value.command {
                match Command::from_body(value.body) {
                    Ok(cmd) => out.push(Item::Command(cmd)),
                    Err(_) => return false,
                }
            } else {
                partial.push(value.body);
                if !value.more {
                    out.push(Item::Message(std::mem::take(&mut partial)));
                }
            }
        }
        rx.is_empty() && partial.is_empty() && out == items
    }
    QuickCheck::new()
        .tests(300)
        .quickcheck(prop as fn(Vec<Item>) -> bool);
}

#[test]
fn arbitrary_bytes_never_panic_the_command_decoder() {
    fn prop(bytes: Vec<u8>) -> bool {
        let _ = Command::decode(&bytes);
        let _ = Command::from_body(Bytes::from(bytes));
        true
    }
    QuickCheck::new()
        .tests(2000)
        .quickcheck(prop as fn(Vec<u8>) -> bool);
}
