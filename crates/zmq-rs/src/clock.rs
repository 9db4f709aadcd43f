//! The facade's one source of time: every `now` handed to the sans-IO layers comes from here.

use std::time::Instant;

/// The current instant.
pub(crate) fn now() -> Instant {
    Instant::now()
}
