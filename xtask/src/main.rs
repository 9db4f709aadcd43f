//! `cargo xtask`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! ```text
//! cargo xtask ci                          # what .ci/run does: fmt, clippy, tests, fuzz build
//! cargo xtask fuzz [TARGET] [--secs N]    # run one fuzz target (or all) for N seconds each
//! cargo xtask fuzz --build-only           # just build the fuzz targets
//! cargo xtask bench [--quick] [--no-criterion] [--baseline NAME]
//!                                         # criterion benches, then the libzmq comparison
//! cargo xtask sim [--seeds N | --seed S]  # the deterministic network simulation, many seeds
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("sim") => sim(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | fuzz [TARGET] [--secs N] [--build-only] | \
                 bench [--quick] [--no-criterion] [--baseline NAME] | sim [--seeds N | --seed S]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, String>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run(cmd: &mut Command) -> Result {
    eprintln!("$ {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}

fn ci() -> Result {
    run(Command::new(root().join(".ci/run")).current_dir(root()))
}

const FUZZ_TARGETS: &[&str] = &["greeting", "frame", "command", "session_bytes"];

fn fuzz_targets() -> Vec<String> {
    let dir = root().join("fuzz/fuzz_targets");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    name.strip_suffix(".rs").map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    if found.is_empty() {
        found = FUZZ_TARGETS.iter().map(|s| (*s).to_owned()).collect();
    }
    found.sort();
    found
}

fn ensure_cargo_fuzz() -> Result {
    let installed = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

fn fuzz(args: &[String]) -> Result {
    let mut secs = 60u64;
    let mut target = None;
    let mut build_only = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--secs" => {
                secs = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--secs needs a number")?;
            }
            "--build-only" => build_only = true,
            other if !other.starts_with('-') => target = Some(other.to_owned()),
            other => return Err(format!("unknown fuzz argument {other}")),
        }
    }
    ensure_cargo_fuzz()?;
    let fuzz_dir = root().join("fuzz");
    if build_only {
        return run(Command::new("cargo")
            .args(["+nightly", "fuzz", "build"])
            .current_dir(&fuzz_dir));
    }
    let targets = match target {
        Some(t) => vec![t],
        None => fuzz_targets(),
    };
    for t in targets {
        run(Command::new("cargo")
            .args(["+nightly", "fuzz", "run", &t, "--"])
            .arg(format!("-max_total_time={secs}"))
            .current_dir(&fuzz_dir))?;
    }
    Ok(())
}

/// Criterion benches of the pieces, then the side-by-side run against libzmq with the bench
/// harness in `../shared/bench` (or `$ZMQRS_BENCH_DIR`), then a table and a plot in
/// `target/bench/`.
fn bench(args: &[String]) -> Result {
    let quick = args.iter().any(|a| a == "--quick");
    if !args.iter().any(|a| a == "--no-criterion") {
        let mut cmd = Command::new("cargo");
        cmd.args(["bench", "--workspace"]).current_dir(root());
        if let Some(i) = args.iter().position(|a| a == "--baseline") {
            let name = args.get(i + 1).ok_or("--baseline needs a name")?;
            cmd.args(["--", "--save-baseline", name]);
        }
        run(&mut cmd)?;
    }
    let harness = std::env::var_os("ZMQRS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/bench"));
    if !harness.join("run_bench.py").exists() {
        return Err(format!(
            "no bench harness at {} (set ZMQRS_BENCH_DIR)",
            harness.display()
        ));
    }
    let has_libzmq = Command::new("pkg-config")
        .args(["--exists", "libzmq"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_libzmq {
        run(Command::new("apt-get").args(["install", "-y", "libzmq3-dev", "pkg-config"]))?;
    }
    let out = root().join("target/bench");
    let peers = out.join("libzmq-peers");
    run(Command::new("make")
        .arg("-C")
        .arg(harness.join("c"))
        .arg(format!("OUT={}", peers.display())))?;
    run(Command::new("cargo")
        .args(["build", "--release", "-p", "zmq-rs", "--examples"])
        .current_dir(root()))?;
    // Where that build went: `CARGO_TARGET_DIR` (relative to the workspace, where cargo
    // ran) when set, or the workspace's `target/`; never a stale build from elsewhere.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root().join(dir))
        .unwrap_or_else(|| root().join("target"));
    let ours = target.join("release/examples");
    let json = out.join("compare.json");
    let tests = "tcp-thr-64,tcp-thr-1024,tcp-thr-65536,ipc-thr-64,inproc-thr-64,tcp-lat-64,ipc-lat-64,inproc-lat-64";
    let mut cmd = Command::new(harness.join("run_bench.py"));
    cmd.arg("--impl")
        .arg(format!("libzmq={}", peers.display()))
        .arg("--impl")
        .arg(format!("ours={}", ours.display()))
        .args(["--pairs", "libzmq:libzmq,ours:ours,ours:libzmq,libzmq:ours"])
        .args(["--tests", tests])
        .args(["--runs", if quick { "3" } else { "7" }])
        .args(["--scale", if quick { "0.3" } else { "1" }])
        .arg("--out")
        .arg(&json);
    run(&mut cmd)?;
    run(Command::new(root().join("scripts/bench_report.py"))
        .arg(&json)
        .arg(&out))?;
    eprintln!(
        "wrote {} and {}",
        out.join("table.md").display(),
        out.join("ratios.svg").display()
    );
    Ok(())
}

fn sim(args: &[String]) -> Result {
    let mut cmd = Command::new("cargo");
    cmd.args(["test", "--release", "-p", "sim"])
        .current_dir(root());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seeds" => {
                let n = it.next().ok_or("--seeds needs a number")?;
                cmd.env("SIM_SEEDS", n);
            }
            "--seed" => {
                let s = it.next().ok_or("--seed needs a number")?;
                cmd.env("SIM_SEED", s);
            }
            other => return Err(format!("unknown sim argument {other}")),
        }
    }
    run(&mut cmd)
}
