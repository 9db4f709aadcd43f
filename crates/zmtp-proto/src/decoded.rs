//! The status of a decode attempt over a possibly incomplete byte stream (httparse style).

/// The outcome of decoding from bytes that may not all have arrived yet.
///
/// Running out of input is not an error: it is [`Decoded::Incomplete`], and the caller simply
/// tries again once more bytes are in. Malformed input is an `Err(DecodeError)` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<T> {
    /// A whole value was decoded from the first `consumed` octets of the input.
    Complete {
        /// The decoded value.
        value: T,
        /// How many input octets it took.
        consumed: usize,
    },
    /// The input ends before the value does.
    Incomplete {
        /// At least this many more octets are needed before trying again (a lower bound: a
        /// later step may ask for more). Never zero.
        needed: usize,
    },
}

impl<T> Decoded<T> {
    /// The value, if decoding completed.
    pub fn complete(self) -> Option<T> {
        match self {
            Self::Complete { value, .. } => Some(value),
            Self::Incomplete { .. } => None,
        }
    }

    /// True when more input is needed.
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Self::Incomplete { .. })
    }

    /// Maps the decoded value, keeping the status.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Decoded<U> {
        match self {
            Self::Complete { value, consumed } => Decoded::Complete {
                value: f(value),
                consumed,
            },
            Self::Incomplete { needed } => Decoded::Incomplete { needed },
        }
    }
}
