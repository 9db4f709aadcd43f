//! `cargo xtask`: the project's automation (ci, fuzz, bench, interop).

fn main() {}
