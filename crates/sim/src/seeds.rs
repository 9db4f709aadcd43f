//! Which seeds a test runs, and what a failing seed prints.
//!
//! * `SIM_SEED=<n>` runs only seed `n` (replaying a failure);
//! * `SIM_SEEDS=<count>` runs seeds `0..count` (default [`DEFAULT_SEEDS`], small enough that
//!   `cargo test --workspace` stays fast; `cargo xtask sim --seeds N` runs more in release).
//!
//! A failing seed prints itself and the command that replays it, then the failure goes on
//! unwinding so the test fails.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// Seeds per test when `SIM_SEEDS` is not set.
pub const DEFAULT_SEEDS: u64 = 8;

/// The seeds to run: `SIM_SEED` alone if set, else `0..SIM_SEEDS`.
pub fn seeds() -> Vec<u64> {
    if let Some(seed) = env_u64("SIM_SEED") {
        return vec![seed];
    }
    (0..env_u64("SIM_SEEDS").unwrap_or(DEFAULT_SEEDS)).collect()
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={value:?} is not a number"),
    }
}

/// Runs `test` once per seed of [`seeds`]. When a seed fails, prints it with the command that
/// replays it, then fails the same way.
pub fn for_each_seed(name: &str, test: impl Fn(u64)) {
    for seed in seeds() {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| test(seed))) {
            eprintln!(
                "\n*** simulation `{name}` failed with seed {seed}\n*** replay: \
                 SIM_SEED={seed} cargo test -p sim -- {name}\n"
            );
            resume_unwind(panic);
        }
    }
}
