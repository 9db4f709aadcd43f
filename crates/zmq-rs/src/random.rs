//! Randomness from the operating system (`/dev/urandom`), for CURVE: per-connection seeds for
//! the sans-IO sessions, and key pairs for users.

use std::io::Read;

use zmtp_proto::rand_core::{CryptoRng, RngCore};

/// Fills `out` from the operating system's CSPRNG.
pub(crate) fn fill(out: &mut [u8]) -> std::io::Result<()> {
    std::fs::File::open("/dev/urandom")?.read_exact(out)
}

/// A fresh 32-octet seed, or `None` if the operating system would not give one.
pub(crate) fn seed() -> Option<zmtp_proto::RngSeed> {
    let mut bytes = [0u8; 32];
    fill(&mut bytes).ok()?;
    Some(zmtp_proto::RngSeed::new(bytes))
}

/// An `RngCore` over the operating system's CSPRNG, filled in advance so that its methods
/// cannot fail.
pub(crate) struct OsRandom {
    pool: [u8; 64],
    used: usize,
}

impl OsRandom {
    pub fn new() -> std::io::Result<Self> {
        let mut pool = [0u8; 64];
        fill(&mut pool)?;
        Ok(Self { pool, used: 0 })
    }
}

impl RngCore for OsRandom {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            if self.used == self.pool.len() {
                // Refill; if the operating system fails now, mix what we have rather than
                // panic (key generation asked for `new` to succeed first).
                if fill(&mut self.pool).is_err() {
                    self.pool.rotate_left(1);
                }
                self.used = 0;
            }
            *byte = self.pool[self.used];
            self.pool[self.used] = 0;
            self.used += 1;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), zmtp_proto::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for OsRandom {}
