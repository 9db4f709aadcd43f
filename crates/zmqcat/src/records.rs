//! Records: standard input split at a separator, and frames written out with one.
//!
//! Standard input is read on a thread of its own and handed over through a small channel, so
//! that the main loop can wait for the next record and for signals at the same time.

use std::io::{BufRead, Write};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

/// Records read ahead of the socket: enough to keep it busy, few enough to stay small.
const READ_AHEAD: usize = 64;

/// What the next look at standard input found.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A record, without its separator.
    Record(Vec<u8>),
    /// Standard input ended (or failed: the error is in [`RecordSource::error`]).
    End,
    /// Nothing yet within the time given.
    NotYet,
}

/// Standard input (or any reader) as a stream of records.
#[derive(Debug)]
pub struct RecordSource {
    records: Receiver<Result<Vec<u8>, std::io::Error>>,
    error: Option<std::io::Error>,
    ended: bool,
}

impl RecordSource {
    /// Starts reading `input` on a thread, splitting at `separator`.
    pub fn spawn(input: impl BufRead + Send + 'static, separator: u8) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(READ_AHEAD);
        std::thread::Builder::new()
            .name("zmqcat-stdin".into())
            .spawn(move || read_records(input, separator, &tx))?;
        Ok(Self {
            records: rx,
            error: None,
            ended: false,
        })
    }

    /// Waits up to `wait` for the next record.
    pub fn next(&mut self, wait: Duration) -> Next {
        if self.ended {
            return Next::End;
        }
        match self.records.recv_timeout(wait) {
            Ok(Ok(record)) => Next::Record(record),
            Ok(Err(e)) => {
                self.error = Some(e);
                self.ended = true;
                Next::End
            }
            Err(RecvTimeoutError::Timeout) => Next::NotYet,
            Err(RecvTimeoutError::Disconnected) => {
                self.ended = true;
                Next::End
            }
        }
    }

    /// The read error that ended the input early, if one did.
    pub fn error(&mut self) -> Option<std::io::Error> {
        self.error.take()
    }
}

/// Sends each record of `input` to `tx` until the input ends, fails, or nobody listens.
fn read_records(
    mut input: impl BufRead,
    separator: u8,
    tx: &SyncSender<Result<Vec<u8>, std::io::Error>>,
) {
    loop {
        let mut record = Vec::new();
        match input.read_until(separator, &mut record) {
            Ok(0) => return,
            Ok(_) => {
                let terminated = record.last() == Some(&separator);
                if terminated {
                    record.pop();
                }
                if tx.send(Ok(record)).is_err() || !terminated {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

/// Writes each frame followed by the separator, flushing after each whole message.
#[derive(Debug)]
pub struct RecordSink<W: Write> {
    out: W,
    separator: u8,
}

impl<W: Write> RecordSink<W> {
    /// A sink writing to `out`.
    pub fn new(out: W, separator: u8) -> Self {
        Self { out, separator }
    }

    /// Writes one message: one record per frame, in order, then flushes.
    pub fn write_message<F: AsRef<[u8]>>(&mut self, frames: &[F]) -> std::io::Result<()> {
        for frame in frames {
            self.out.write_all(frame.as_ref())?;
            self.out.write_all(&[self.separator])?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_records(input: &'static [u8], separator: u8) -> Vec<Vec<u8>> {
        let mut source = RecordSource::spawn(input, separator).expect("spawn");
        let mut records = Vec::new();
        loop {
            match source.next(Duration::from_secs(5)) {
                Next::Record(r) => records.push(r),
                Next::End => return records,
                Next::NotYet => panic!("a slice of bytes cannot be slow"),
            }
        }
    }

    #[test]
    fn records_split_at_newlines_and_keep_a_last_unterminated_one() {
        assert_eq!(
            all_records(b"one\ntwo\n\nlast", b'\n'),
            [&b"one"[..], b"two", b"", b"last"]
        );
        assert_eq!(all_records(b"one\n", b'\n'), [b"one"]);
        assert!(all_records(b"", b'\n').is_empty());
    }

    #[test]
    fn nul_separated_records_may_hold_newlines() {
        assert_eq!(all_records(b"a\nb\0c\0", 0), [&b"a\nb"[..], &b"c"[..]]);
    }

    #[test]
    fn sink_writes_one_record_per_frame() {
        let mut sink = RecordSink::new(Vec::new(), b'\n');
        sink.write_message(&[&b"id"[..], b"", b"body"])
            .expect("write");
        sink.write_message(&[b"x"]).expect("write");
        assert_eq!(sink.out, b"id\n\nbody\nx\n");
        let mut nul = RecordSink::new(Vec::new(), 0);
        nul.write_message(&[b"a\nb"]).expect("write");
        assert_eq!(nul.out, b"a\nb\0");
    }
}
