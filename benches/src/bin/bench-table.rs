//! Runs every workload in alternating rounds and writes the tables into `BENCHMARKS.md`.
//!
//! ```text
//! CARGO_TARGET_DIR=target-bench nice cargo run -p beamline-benches --release --bin bench-table [-- --rounds 7]
//! ... --bin bench-table -- --quick            # 3 rounds at small N: checks the runner (minutes)
//! ... --bin bench-table -- --callgrind-only   # instruction counts only
//! ```
//!
//! Every sample is one `bench-scale` child process. In each round every system of every cell
//! is measured once, in an order rotated by the round number, so that a slow minute of a
//! shared machine hits every system alike and the ratios (taken within a round) stay honest.
//! After the rounds: instruction counts per operation under callgrind, the attach workload
//! (10) at 100,000 and 1,000,000 processes, the sampler and stream figures (5, 6) and the
//! observer's frame benchmark (7). Raw samples go to `<target>/bench-table/results.json`; the
//! tables replace the generated part of `BENCHMARKS.md` (prose outside the markers is kept),
//! except with `--quick`, which writes them to `<target>/bench-table/table.md` only. Exits 1 if
//! a build fails; a failed sample is reported and left out.

#[path = "bench-table/render.rs"]
mod render;

use beamline_benches::callgrind;
use beamline_benches::report::{PEERS, Results};
use beamline_benches::stats::rotated;
use beamline_benches::verdict::{ATTACH_VIAS, attach_key};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Sizes of one run.
pub struct Config {
    quick: bool,
    rounds: usize,
    cast_n: u64,
    call_n: u64,
    restart_n: u64,
    watched_n: u64,
    /// Spawn rows: N of the `spawn_100k` and `spawn_1m` rows.
    spawn_ns: [u64; 2],
    attach_ns: [u64; 2],
    publish_ns: Vec<u64>,
    /// Operations per callgrind run: cast, call, spawn.
    profile_ns: [u64; 3],
    frame: bool,
    callgrind_only: bool,
}

impl Config {
    fn from_args() -> Config {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let quick = args.iter().any(|a| a == "--quick");
        let rounds = args
            .iter()
            .position(|a| a == "--rounds")
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(if quick { 3 } else { 7 });
        let callgrind_only = args.iter().any(|a| a == "--callgrind-only");
        if quick {
            Config {
                quick,
                rounds,
                cast_n: 20_000,
                call_n: 5_000,
                restart_n: 100,
                watched_n: 20_000,
                spawn_ns: [10_000, 50_000],
                attach_ns: [10_000, 50_000],
                publish_ns: vec![10_000],
                profile_ns: [20_000, 5_000, 2_000],
                frame: false,
                callgrind_only,
            }
        } else {
            Config {
                quick,
                rounds,
                cast_n: 500_000,
                call_n: 100_000,
                restart_n: 2_000,
                watched_n: 500_000,
                spawn_ns: [100_000, 1_000_000],
                attach_ns: [100_000, 1_000_000],
                publish_ns: vec![10_000, 100_000, 1_000_000],
                profile_ns: [200_000, 50_000, 20_000],
                frame: true,
                callgrind_only,
            }
        }
    }
}

/// The binaries and directories of a run.
struct Env {
    root: PathBuf,
    plain: PathBuf,
    console: PathBuf,
    out_dir: PathBuf,
}

fn main() {
    let cfg = Config::from_args();
    let env = setup();
    let started = Instant::now();
    let load_before = loadavg();
    let mut r = Results::default();
    if !cfg.callgrind_only {
        for round in 0..cfg.rounds {
            eprintln!("bench-table: round {} of {}", round + 1, cfg.rounds);
            run_round(&env, &cfg, round, &mut r);
        }
    }
    profile(&env, &cfg, &mut r);
    if !cfg.callgrind_only {
        attach(&env, &cfg, &mut r);
        publish(&env, &cfg, &mut r);
        if cfg.frame {
            frame(&env, &mut r);
        }
    }
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let tables = render::render(&r, &cfg, minutes, &load_before, &loadavg());
    std::fs::write(
        env.out_dir.join("results.json"),
        serde_json::to_string_pretty(&r.to_json()).expect("json"),
    )
    .expect("write results.json");
    let written = if cfg.quick || cfg.callgrind_only {
        let p = env.out_dir.join("table.md");
        std::fs::write(&p, &tables).expect("write table.md");
        print!("{tables}");
        p
    } else {
        let p = env.root.join("BENCHMARKS.md");
        let doc = std::fs::read_to_string(&p).unwrap_or_else(|_| "# Benchmarks\n".into());
        std::fs::write(&p, beamline_benches::report::splice(&doc, &tables))
            .expect("write BENCHMARKS.md");
        p
    };
    eprintln!(
        "bench-table: wrote {} in {minutes:.1} min (raw samples: {})",
        written.display(),
        env.out_dir.join("results.json").display()
    );
}

fn setup() -> Env {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let exe_dir = std::env::current_exe()
        .expect("own path")
        .parent()
        .expect("exe dir")
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| exe_dir.parent().expect("target dir").to_path_buf());
    // Absolute: `cargo bench` runs each bench from its own package's directory.
    let target = std::path::absolute(&target).expect("target dir");
    let out_dir = target.join("bench-table");
    std::fs::create_dir_all(&out_dir).expect("output dir");
    let plain = build_scale(&root, &exe_dir, &[], "bench-scale-plain");
    let console = build_scale(
        &root,
        &exe_dir,
        &["--features", "kameo-console"],
        "bench-scale-console",
    );
    Env {
        root,
        plain,
        console,
        out_dir,
    }
}

/// The systems of a peer row on `flavor`: actix has no multi-thread flavor, and kameo-console
/// is left out at 1,000,000 processes (about 3 minutes per spawn run: it slows with N).
fn systems(row: &str, flavor: &str) -> Vec<&'static str> {
    PEERS
        .iter()
        .copied()
        .filter(|p| !(*p == "actix" && flavor == "mt"))
        .filter(|p| !(*p == "kameo-console" && row == "spawn_1m"))
        .collect()
}

/// One round: every system of every cell once, in rotated order.
fn run_round(env: &Env, cfg: &Config, round: usize, r: &mut Results) {
    let n = |x: u64| x.to_string();
    for flavor in ["ct", "mt"] {
        let cells: [(&str, Vec<String>); 7] = [
            ("cast_1to1", vec!["cast".into(), n(1), n(cfg.cast_n)]),
            ("cast_4to1", vec!["cast".into(), n(4), n(cfg.cast_n)]),
            ("call_seq", vec!["call".into(), n(1), n(cfg.call_n)]),
            ("call_100", vec!["call".into(), n(100), n(cfg.call_n)]),
            ("restart", vec!["restart".into(), n(cfg.restart_n)]),
            ("spawn_100k", vec!["spawn".into(), n(cfg.spawn_ns[0])]),
            ("spawn_1m", vec!["spawn".into(), n(cfg.spawn_ns[1])]),
        ];
        for (row, args) in &cells {
            for peer in rotated(&systems(row, flavor), round) {
                let bin = if peer == "kameo-console" {
                    &env.console
                } else {
                    &env.plain
                };
                // bench-scale <verb> <peer> <flavor> <rest...>
                let mut a: Vec<&str> = vec![&args[0], peer, flavor];
                a.extend(args[1..].iter().map(String::as_str));
                let Some(v) = run_json(bin, &a) else { continue };
                if let Some(x) = v["ns"].as_f64().or(v["ns_per_process"].as_f64()) {
                    r.add(row, flavor, peer, round, x);
                }
                if let Some(x) = v["rss_bytes_per_process"].as_f64() {
                    r.add(&row.replace("spawn", "rss"), flavor, peer, round, x);
                }
            }
        }
        for how in rotated(&["bare", "idle", "observed"], round) {
            let args = ["watched", how, flavor, &n(cfg.watched_n)];
            if let Some(x) = run_json(&env.plain, &args).and_then(|v| v["ns"].as_f64()) {
                let sys = if how == "idle" { "idle100k" } else { how };
                r.add("watched", flavor, sys, round, x);
            }
        }
    }
}

/// Instructions per cast, call and spawn for raw tokio and Beamline on and off.
fn profile(env: &Env, cfg: &Config, r: &mut Results) {
    let dir = env.out_dir.join("callgrind");
    std::fs::create_dir_all(&dir).expect("callgrind dir");
    for (op, n) in ["cast", "call", "spawn"].into_iter().zip(cfg.profile_ns) {
        for peer in beamline_benches::report::IR_SYSTEMS {
            eprintln!("bench-table: callgrind {op} {peer} {n}");
            match callgrind::ir_per_op(&env.plain, op, peer, n, &dir) {
                Ok(x) => {
                    eprintln!("bench-table:   {x:.0} Ir per {op}");
                    r.ir.insert((op.into(), peer.into()), x);
                }
                Err(e) => eprintln!("bench-table: callgrind failed: {e}"),
            }
        }
    }
}

/// Workload 10 at each N, flavor and observer, once.
fn attach(env: &Env, cfg: &Config, r: &mut Results) {
    for &n in &cfg.attach_ns {
        for flavor in ["ct", "mt"] {
            for via in ATTACH_VIAS {
                // kameo-console takes about 3 minutes to spawn a million actors: 100,000 only.
                if via == "kameo-console" && n >= 1_000_000 {
                    continue;
                }
                let bin = if via == "kameo-console" {
                    &env.console
                } else {
                    &env.plain
                };
                let Some(v) = run_json(bin, &["attach", via, flavor, &n.to_string()]) else {
                    continue;
                };
                for field in [
                    "before_us",
                    "stall_us",
                    "after_us",
                    "before_cpu_us",
                    "stall_cpu_us",
                    "after_cpu_us",
                    "first_ms",
                    "bytes",
                    "rss_growth",
                ] {
                    if let Some(x) = v[field].as_f64() {
                        r.extra.insert(attach_key(via, flavor, n, field), x);
                    }
                }
                for field in ["bytes", "rss_growth"] {
                    if let Some(x) = v[field].as_f64() {
                        let k = attach_key(via, flavor, n, &format!("{field}_per_process"));
                        r.extra.insert(k, x / n as f64);
                    }
                }
            }
        }
    }
}

/// Workloads 5 and 6, once per N.
fn publish(env: &Env, cfg: &Config, r: &mut Results) {
    for &n in &cfg.publish_ns {
        let Some(v) = run_json(&env.plain, &["publish", &n.to_string()]) else {
            continue;
        };
        for (field, key) in [
            ("cost_us", "sampler_us"),
            ("snapshot_bytes", "snapshot_bytes"),
            ("delta_bytes", "delta_bytes"),
            ("delta_changed", "delta_changed"),
        ] {
            if let Some(x) = v[field].as_f64() {
                r.extra.insert(format!("{key}_{n}"), x);
            }
        }
    }
}

/// Workload 7: the observer's own criterion benchmark.
fn frame(env: &Env, r: &mut Results) {
    let home = env.out_dir.join("criterion");
    let _ = std::fs::remove_dir_all(&home);
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&env.root)
        .env("CRITERION_HOME", &home)
        .args([
            "bench",
            "-p",
            "beamline-observer",
            "--bench",
            "render",
            "--",
            "frame_100k",
        ]);
    eprintln!("bench-table: {cmd:?}");
    if !matches!(cmd.status(), Ok(s) if s.success()) {
        eprintln!("bench-table: observer frame benchmark failed");
        return;
    }
    for (view, key) in [
        ("Processes", "frame_processes_ns"),
        ("Tree", "frame_tree_ns"),
    ] {
        let path = home
            .join("frame_100k")
            .join(view)
            .join("new/estimates.json");
        let v: Option<serde_json::Value> = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        if let Some(x) = v.and_then(|v| v["median"]["point_estimate"].as_f64()) {
            r.extra.insert(key.into(), x);
        }
    }
}

/// Build `bench-scale` with `features` and copy it aside, so both builds can be run later.
fn build_scale(root: &Path, exe_dir: &Path, features: &[&str], name: &str) -> PathBuf {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root)
        .args([
            "build",
            "--release",
            "-p",
            "beamline-benches",
            "--bin",
            "bench-scale",
        ])
        .args(features);
    if !matches!(cmd.status(), Ok(s) if s.success()) {
        eprintln!("bench-table: cargo build bench-scale {features:?} failed");
        std::process::exit(1);
    }
    let to = exe_dir.join(name);
    std::fs::copy(exe_dir.join("bench-scale"), &to).expect("copy bench-scale");
    to
}

/// Run a child and parse the last line it prints as JSON; a failure is reported and skipped.
fn run_json(bin: &Path, args: &[&str]) -> Option<serde_json::Value> {
    let out = Command::new(bin).args(args).output().ok()?;
    if !out.status.success() {
        eprintln!(
            "bench-table: {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("bench-table: {} -> {}", args.join(" "), text.trim());
    serde_json::from_str(text.lines().last()?).ok()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Cargo through the rustup proxy on PATH (or `$CARGO` under `cargo run`).
fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}
