//! Why zmqcat stopped, and the exit status each reason gives.

/// A reason to stop other than success.
#[derive(Debug)]
pub enum Failure {
    /// Bad command line, socket type, option or value, or a mode the type lacks.
    Usage(String),
    /// An address could not be bound or connected.
    Endpoint(String),
    /// A socket or I/O error while running.
    Runtime(String),
    /// RCVTIMEO or SNDTIMEO ran out.
    TimedOut(String),
    /// SIGINT or SIGTERM (the signal number).
    Signalled(i32),
}

/// Exit status: done.
pub const SUCCESS: u8 = 0;
/// Exit status: a socket or I/O error while running.
pub const RUNTIME: u8 = 1;
/// Exit status: bad usage.
pub const USAGE: u8 = 2;
/// Exit status: an address could not be bound or connected.
pub const ENDPOINT: u8 = 3;
/// Exit status: waited longer than RCVTIMEO or SNDTIMEO.
pub const TIMED_OUT: u8 = 4;

impl Failure {
    /// The process exit status.
    pub fn status(&self) -> u8 {
        match self {
            Self::Usage(_) => USAGE,
            Self::Endpoint(_) => ENDPOINT,
            Self::Runtime(_) => RUNTIME,
            Self::TimedOut(_) => TIMED_OUT,
            // As a shell reports a process killed by the signal.
            Self::Signalled(signal) => u8::try_from(128 + signal).unwrap_or(RUNTIME),
        }
    }

    /// What to tell the user on standard error, if anything.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Usage(m) | Self::Endpoint(m) | Self::Runtime(m) | Self::TimedOut(m) => Some(m),
            Self::Signalled(_) => None,
        }
    }
}
