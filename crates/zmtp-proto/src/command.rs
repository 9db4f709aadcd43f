//! Commands: single frames with the COMMAND flag, carrying a name and data (RFC 23
//! "Commands"; RFC 37 SUBSCRIBE, CANCEL, PING, PONG, JOIN, LEAVE; RFC 24 HELLO, WELCOME,
//! INITIATE).
//!
//! ```text
//! command-body = command-name command-data
//! command-name = short-size 1*255command-name-char   ; ALPHA
//! metadata = *property
//! property = name value
//! name = short-size 1*255name-char
//! value = 4OCTET *OCTET                               ; size in network order, < 2^31
//! ```
//!
//! [`Command`] is a small validated repr: decoding checks the grammar of every command it
//! knows, and the `Bytes` fields of a command decoded with [`Command::from_body`] share the
//! frame's memory.

use std::fmt;

use bytes::{BufMut, Bytes};

use crate::decoded::Decoded;
use crate::error::DecodeError;
use crate::frame::FrameHeader;
use crate::msg::Properties;
use crate::parse;

/// Most octets of PING context a PONG echoes (RFC 37: "MUST not exceed 16 octets").
pub const PING_CONTEXT_MAX: usize = 16;

/// Most metadata properties accepted in one READY or INITIATE. RFC 23 sets no limit; this one
/// bounds the memory a hostile peer can make us spend per octet it sends (a property costs
/// six octets on the wire and 64 in memory). libzmq itself sends two or three.
pub const MAX_PROPERTIES: usize = 256;

/// Longest RADIO/DISH group (RFC 48 "Length MUST be between 0 to 255 bytes").
const GROUP_MAX: usize = 255;

/// Most value octets of one property (RFC 23: 2^31-1).
const VALUE_MAX: usize = 0x7FFF_FFFF;

/// The commands this crate knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandKind {
    /// READY (RFC 23): metadata at the end of the handshake.
    Ready,
    /// ERROR (RFC 23): a fatal handshake error.
    Error,
    /// SUBSCRIBE (RFC 37).
    Subscribe,
    /// CANCEL (RFC 37).
    Cancel,
    /// PING (RFC 37).
    Ping,
    /// PONG (RFC 37).
    Pong,
    /// JOIN (RFC 37, RFC 48).
    Join,
    /// LEAVE (RFC 37, RFC 48).
    Leave,
    /// HELLO (RFC 24, PLAIN).
    Hello,
    /// WELCOME (RFC 24, PLAIN).
    Welcome,
    /// INITIATE (RFC 24, PLAIN).
    Initiate,
    /// MESSAGE (RFC 25/26, CURVE): one encrypted frame of traffic. [`Command`] keeps it as
    /// [`Command::Unknown`]; [`crate::curve::Message`] reads its layout.
    Message,
}

impl CommandKind {
    /// Every known command.
    pub const ALL: [Self; 12] = [
        Self::Ready,
        Self::Error,
        Self::Subscribe,
        Self::Cancel,
        Self::Ping,
        Self::Pong,
        Self::Join,
        Self::Leave,
        Self::Hello,
        Self::Welcome,
        Self::Initiate,
        Self::Message,
    ];

    /// The command name as it appears on the wire (case-sensitive).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ready => "READY",
            Self::Error => "ERROR",
            Self::Subscribe => "SUBSCRIBE",
            Self::Cancel => "CANCEL",
            Self::Ping => "PING",
            Self::Pong => "PONG",
            Self::Join => "JOIN",
            Self::Leave => "LEAVE",
            Self::Hello => "HELLO",
            Self::Welcome => "WELCOME",
            Self::Initiate => "INITIATE",
            Self::Message => "MESSAGE",
        }
    }

    /// The kind with this exact name.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name().as_bytes() == name)
    }
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A ZMTP command.
///
/// HELLO, WELCOME and INITIATE are decoded in their PLAIN shape (RFC 24); a mechanism with
/// other shapes for them (CURVE, RFC 25) parses the frame body itself.
///
/// Field limits, which encoding enforces by truncation: an ERROR reason and each PLAIN
/// credential hold at most 255 octets, a command or property name at most 255, a property value
/// at most 2^31-1. A PING context should not exceed [`PING_CONTEXT_MAX`] octets; decoding
/// accepts longer ones (libzmq does, and truncates its PONG), encoding writes it as is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// READY: the sender's metadata (Socket-Type, Identity, X-...).
    Ready {
        /// The metadata properties, in wire order.
        properties: Properties,
    },
    /// ERROR: why the sender is closing the connection.
    Error {
        /// Free-form reason (ZAP status codes "300", "400", "500" by convention).
        reason: Bytes,
    },
    /// SUBSCRIBE: add a subscription prefix.
    Subscribe {
        /// The prefix (the rest of the body).
        topic: Bytes,
    },
    /// CANCEL: remove a subscription prefix.
    Cancel {
        /// The prefix (the rest of the body).
        topic: Bytes,
    },
    /// PING: a heartbeat request.
    Ping {
        /// Time to live, in tenths of a second (0: none).
        ttl: u16,
        /// Opaque context for the PONG to echo.
        context: Bytes,
    },
    /// PONG: a heartbeat reply.
    Pong {
        /// The PING's context.
        context: Bytes,
    },
    /// JOIN: a DISH joins a group.
    Join {
        /// The group (0 to 255 octets, none of them zero).
        group: Bytes,
    },
    /// LEAVE: a DISH leaves a group.
    Leave {
        /// The group.
        group: Bytes,
    },
    /// HELLO (PLAIN): the client's credentials.
    Hello {
        /// The user name.
        username: Bytes,
        /// The password.
        password: Bytes,
    },
    /// WELCOME (PLAIN): the server accepted the credentials.
    Welcome,
    /// INITIATE (PLAIN): the client's metadata.
    Initiate {
        /// The metadata properties.
        properties: Properties,
    },
    /// Any other command (RFC 37: ignored after the handshake).
    Unknown {
        /// Its name.
        name: Bytes,
        /// Its data.
        data: Bytes,
    },
}

fn clamp(b: &[u8], max: usize) -> &[u8] {
    b.get(..max).unwrap_or(b)
}

/// Octets of `metadata` for these properties.
pub(crate) fn properties_len(props: &Properties) -> usize {
    props
        .iter()
        .map(|(n, v)| 1 + clamp(n, 255).len() + 4 + clamp(v, VALUE_MAX).len())
        .sum()
}

/// Writes `metadata` for these properties, in their order.
pub(crate) fn encode_properties(props: &Properties, out: &mut impl BufMut) {
    for (name, value) in props.iter() {
        let name = clamp(name, 255);
        let value = clamp(value, VALUE_MAX);
        out.put_u8(name.len() as u8);
        out.put_slice(name);
        out.put_u32(value.len() as u32);
        out.put_slice(value);
    }
}

/// Decodes `metadata` from `data`, a slice of a frame body. Names are unique afterwards: when
/// a peer repeats one (case-insensitively), the first value wins, as in libzmq's metadata map.
pub(crate) fn decode_properties(data: &Bytes) -> Result<Properties, DecodeError> {
    let spans = parse::properties(data, MAX_PROPERTIES)?;
    let entries: Vec<(Bytes, Bytes)> = spans
        .into_iter()
        .map(|(name, value)| (data.slice(name), data.slice(value)))
        .collect();
    Ok(Properties::from_unique_entries(first_of_each_name(entries)))
}

/// Keeps the first entry of each name (compared ASCII case-insensitively), in O(n log n) and
/// without copying names.
fn first_of_each_name(entries: Vec<(Bytes, Bytes)>) -> Vec<(Bytes, Bytes)> {
    if entries.len() < 2 {
        return entries;
    }
    let caseless = |a: &[u8], b: &[u8]| {
        a.iter()
            .map(u8::to_ascii_lowercase)
            .cmp(b.iter().map(u8::to_ascii_lowercase))
    };
    let mut order: Vec<(&[u8], usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (&name[..], i))
        .collect();
    // Sorted by name, then by position: the first of each run is the first on the wire.
    order.sort_unstable_by(|a, b| caseless(a.0, b.0).then(a.1.cmp(&b.1)));
    let mut drop = vec![false; entries.len()];
    let mut any = false;
    for pair in order.windows(2) {
        if let [(a, _), (b, later)] = pair {
            if a.eq_ignore_ascii_case(b) {
                if let Some(d) = drop.get_mut(*later) {
                    *d = true;
                    any = true;
                }
            }
        }
    }
    if !any {
        return entries;
    }
    entries
        .into_iter()
        .zip(drop)
        .filter_map(|(entry, drop)| (!drop).then_some(entry))
        .collect()
}

fn valid_group(group: &[u8]) -> bool {
    group.len() <= GROUP_MAX && !group.contains(&0)
}

impl Command {
    /// Which known command this is (`None` for [`Command::Unknown`]).
    pub fn kind(&self) -> Option<CommandKind> {
        Some(match self {
            Self::Ready { .. } => CommandKind::Ready,
            Self::Error { .. } => CommandKind::Error,
            Self::Subscribe { .. } => CommandKind::Subscribe,
            Self::Cancel { .. } => CommandKind::Cancel,
            Self::Ping { .. } => CommandKind::Ping,
            Self::Pong { .. } => CommandKind::Pong,
            Self::Join { .. } => CommandKind::Join,
            Self::Leave { .. } => CommandKind::Leave,
            Self::Hello { .. } => CommandKind::Hello,
            Self::Welcome => CommandKind::Welcome,
            Self::Initiate { .. } => CommandKind::Initiate,
            Self::Unknown { .. } => return None,
        })
    }

    /// The command name, as sent (at most 255 octets are encoded).
    pub fn name(&self) -> &[u8] {
        match self {
            Self::Unknown { name, .. } => clamp(name, 255),
            other => other.kind().map_or(&[][..], |k| k.name().as_bytes()),
        }
    }

    /// Octets of command data (the body after the name).
    pub fn data_len(&self) -> usize {
        match self {
            Self::Ready { properties } | Self::Initiate { properties } => {
                properties_len(properties)
            }
            Self::Error { reason } => 1 + clamp(reason, 255).len(),
            Self::Subscribe { topic } | Self::Cancel { topic } => topic.len(),
            Self::Join { group } | Self::Leave { group } => group.len(),
            Self::Ping { context, .. } => 2 + context.len(),
            Self::Pong { context } => context.len(),
            Self::Hello { username, password } => {
                2 + clamp(username, 255).len() + clamp(password, 255).len()
            }
            Self::Welcome => 0,
            Self::Unknown { data, .. } => data.len(),
        }
    }

    /// Octets of the frame body: name size, name, data.
    pub fn body_len(&self) -> usize {
        1 + self.name().len() + self.data_len()
    }

    /// Octets of the whole command frame, header included.
    pub fn encoded_len(&self) -> usize {
        let body = self.body_len();
        FrameHeader::new(false, true, body as u64).encoded_len() + body
    }

    /// Writes the whole command frame (header and body).
    pub fn encode(&self, out: &mut impl BufMut) {
        FrameHeader::new(false, true, self.body_len() as u64).encode(out);
        self.encode_body(out);
    }

    /// Writes the frame body only: name size, name, data.
    pub fn encode_body(&self, out: &mut impl BufMut) {
        let name = self.name();
        out.put_u8(name.len() as u8);
        out.put_slice(name);
        match self {
            Self::Ready { properties } | Self::Initiate { properties } => {
                encode_properties(properties, out);
            }
            Self::Error { reason } => {
                let reason = clamp(reason, 255);
                out.put_u8(reason.len() as u8);
                out.put_slice(reason);
            }
            Self::Subscribe { topic } | Self::Cancel { topic } => out.put_slice(topic),
            Self::Join { group } | Self::Leave { group } => out.put_slice(group),
            Self::Ping { ttl, context } => {
                out.put_u16(*ttl);
                out.put_slice(context);
            }
            Self::Pong { context } => out.put_slice(context),
            Self::Hello { username, password } => {
                for s in [username, password] {
                    let s = clamp(s, 255);
                    out.put_u8(s.len() as u8);
                    out.put_slice(s);
                }
            }
            Self::Welcome => {}
            Self::Unknown { data, .. } => out.put_slice(data),
        }
    }

    /// Decodes a whole command frame (header and body) from the start of `buf`. The fields are
    /// copied out of `buf`; use [`FrameDecoder`](crate::FrameDecoder) and
    /// [`Command::from_body`] to share memory instead.
    pub fn decode(buf: &[u8]) -> Result<Decoded<Self>, DecodeError> {
        let (header, header_len) = match FrameHeader::decode(buf)? {
            Decoded::Complete { value, consumed } => (value, consumed),
            Decoded::Incomplete { needed } => return Ok(Decoded::Incomplete { needed }),
        };
        if !header.command {
            return Err(DecodeError::NotACommand);
        }
        let body_len = usize::try_from(header.len)
            .map_err(|_| DecodeError::LengthOutOfRange { len: header.len })?;
        let available = buf.len().saturating_sub(header_len);
        if available < body_len {
            return Ok(Decoded::Incomplete {
                needed: body_len - available,
            });
        }
        let body = buf
            .get(header_len..header_len + body_len)
            .ok_or(DecodeError::LengthOutOfRange { len: header.len })?;
        Ok(Decoded::Complete {
            value: Self::from_body(Bytes::copy_from_slice(body))?,
            consumed: header_len + body_len,
        })
    }

    /// Decodes a command from a command frame's body.
    pub fn from_body(body: Bytes) -> Result<Self, DecodeError> {
        let (kind, data_at) = Self::peek(&body)?;
        match kind {
            Some(kind) if kind != CommandKind::Message => Self::decode_known(kind, &body, data_at),
            _ => {
                let name_end = data_at;
                Ok(Self::Unknown {
                    name: body.slice(1..name_end),
                    data: body.slice(data_at..),
                })
            }
        }
    }

    /// Reads a body's command name: the known kind, if any, and where the data starts.
    pub(crate) fn peek(body: &[u8]) -> Result<(Option<CommandKind>, usize), DecodeError> {
        let (name, data_at) = parse::command_name(body)?;
        Ok((CommandKind::from_name(name), data_at))
    }

    /// Decodes a body already known (by [`Command::peek`]) to name `kind`, with data from
    /// `data_at`.
    pub(crate) fn decode_known(
        kind: CommandKind,
        body: &Bytes,
        data_at: usize,
    ) -> Result<Self, DecodeError> {
        let data = body.slice(data_at.min(body.len())..);
        let malformed = DecodeError::MalformedCommand { command: kind };
        Ok(match kind {
            CommandKind::Ready => Self::Ready {
                properties: decode_properties(&data)?,
            },
            CommandKind::Initiate => Self::Initiate {
                properties: decode_properties(&data)?,
            },
            CommandKind::Error => {
                // Octets after the reason are ignored, as libzmq does.
                let (reason, _) = parse::short_string(&data).ok_or(malformed)?;
                Self::Error {
                    reason: data.slice(reason),
                }
            }
            CommandKind::Subscribe => Self::Subscribe { topic: data },
            CommandKind::Cancel => Self::Cancel { topic: data },
            CommandKind::Join | CommandKind::Leave if !valid_group(&data) => return Err(malformed),
            CommandKind::Join => Self::Join { group: data },
            CommandKind::Leave => Self::Leave { group: data },
            CommandKind::Ping => {
                let (ttl, context) = parse::ping(&data).ok_or(malformed)?;
                Self::Ping {
                    ttl,
                    context: data.slice(context),
                }
            }
            CommandKind::Pong => Self::Pong { context: data },
            CommandKind::Hello => {
                let (username, password) = parse::hello(&data).ok_or(malformed)?;
                Self::Hello {
                    username: data.slice(username),
                    password: data.slice(password),
                }
            }
            CommandKind::Welcome if !data.is_empty() => return Err(malformed),
            CommandKind::Welcome => Self::Welcome,
            CommandKind::Message => Self::Unknown {
                name: Bytes::from_static(b"MESSAGE"),
                data,
            },
        })
    }
}

#[cfg(test)]
mod tests;
