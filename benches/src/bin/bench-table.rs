//! Runs every workload of issue 8 once and writes the table into `BENCHMARKS.md`.
//!
//! ```text
//! CARGO_TARGET_DIR=target-bench cargo run -p beamline-benches --release --bin bench-table
//! ```
//!
//! Steps, one benchmark process at a time: the criterion benches (`benches/peers.rs`), again
//! with kameo's `console` feature for that column, the observer's frame benchmark, then
//! `bench-scale` in a fresh child process per framework, flavor and N. Raw results go to
//! `<target>/bench-table/results.json`; the table replaces the generated part of
//! `BENCHMARKS.md` (prose outside the markers is kept).
//!
//! `--quick` runs criterion in its quick mode and the scale workloads at a tenth of N, to check
//! the runner itself; its table is not for publishing. Exits 1 if a step fails.

use beamline_benches::report::{self, Results};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
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
    // Absolute: `cargo bench` runs each bench from its own package's directory, where a
    // relative CRITERION_HOME (from a relative CARGO_TARGET_DIR) would point somewhere else.
    let target = std::path::absolute(&target).expect("target dir");
    let out_dir = target.join("bench-table");
    let home = out_dir.join("criterion");
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).expect("output dir");

    let started = Instant::now();
    let load_before = loadavg();
    let mut r = Results::default();

    // Workloads 1, 2, 8, 9; then the kameo-console column.
    let quick_arg: &[&str] = if quick { &["--quick"] } else { &[] };
    cargo_bench(
        &root,
        &home,
        &["-p", "beamline-benches", "--bench", "peers"],
        quick_arg,
        &[],
    );
    cargo_bench(
        &root,
        &home,
        &[
            "-p",
            "beamline-benches",
            "--features",
            "kameo-console",
            "--bench",
            "peers",
        ],
        quick_arg,
        &["kameo-console"],
    );
    for group in ["cast_1to1", "cast_4to1", "call_seq", "call_100", "restart"] {
        for flavor in ["ct", "mt"] {
            for peer in report::PEERS {
                if let Some(v) = report::criterion_median(&home, group, peer, flavor) {
                    r.set(group, flavor, peer, v);
                }
            }
        }
    }
    for flavor in ["ct", "mt"] {
        for id in ["bare", "idle100k", "observed"] {
            if let Some(v) = report::criterion_median(&home, "watched", id, flavor) {
                r.set("watched", flavor, id, v);
            }
        }
    }

    // Workload 7: the observer's own frame benchmark.
    cargo_bench(
        &root,
        &home,
        &["-p", "beamline-observer", "--bench", "render"],
        quick_arg,
        &["frame_100k"],
    );
    for (view, key) in [
        ("Processes", "frame_processes_ns"),
        ("Tree", "frame_tree_ns"),
    ] {
        if let Some(v) = criterion_single(&home, "frame_100k", view) {
            r.extra.insert(key.into(), v);
        }
    }

    // Workloads 3 and 4, then 5 and 6, one child process each.
    let scale = if quick { 10 } else { 1 };
    let plain = build_scale(&root, &exe_dir, &[], "bench-scale-plain");
    let console = build_scale(
        &root,
        &exe_dir,
        &["--features", "kameo-console"],
        "bench-scale-console",
    );
    // N = 1,000,000 on both flavors too; kameo-console alone takes minutes per million (it
    // slows with N), most of the runner's time.
    for (n, row, rss_row, flavors) in [
        (100_000 / scale, "spawn_100k", "rss_100k", &["ct", "mt"][..]),
        (1_000_000 / scale, "spawn_1m", "rss_1m", &["ct", "mt"][..]),
    ] {
        for &flavor in flavors {
            for peer in report::PEERS {
                if peer == "actix" && flavor == "mt" {
                    continue;
                }
                let (bin, name) = match peer {
                    "kameo-console" => (&console, "kameo-console"),
                    p => (&plain, p),
                };
                let n_s = n.to_string();
                let Some(v) = run_json(bin, &["spawn", name, flavor, &n_s]) else {
                    continue;
                };
                if let Some(x) = v["ns_per_process"].as_f64() {
                    r.set(row, flavor, peer, x);
                }
                if let Some(x) = v["rss_bytes_per_process"].as_f64() {
                    r.set(rss_row, flavor, peer, x);
                }
            }
        }
    }
    for (n, suffix) in [(10_000, "10k"), (100_000, "100k"), (1_000_000, "1m")] {
        let n_s = (n / scale).to_string();
        let Some(v) = run_json(&plain, &["publish", &n_s]) else {
            continue;
        };
        for (field, key) in [
            ("cost_us", "sampler_us"),
            ("snapshot_bytes", "snapshot_bytes"),
            ("delta_bytes", "delta_bytes"),
            ("delta_changed", "delta_changed"),
        ] {
            if let Some(x) = v[field].as_f64() {
                r.extra.insert(format!("{key}_{suffix}"), x);
            }
        }
    }

    let load_after = loadavg();
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let table = render(&r, quick, minutes, &load_before, &load_after);
    let doc_path = root.join("BENCHMARKS.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap_or_else(|_| "# Benchmarks\n".into());
    std::fs::write(&doc_path, report::splice(&doc, &table)).expect("write BENCHMARKS.md");
    std::fs::write(
        out_dir.join("results.json"),
        serde_json::to_string_pretty(&r.to_json()).expect("json"),
    )
    .expect("write results.json");
    eprintln!(
        "bench-table: wrote {} in {minutes:.1} min (raw figures: {})",
        doc_path.display(),
        out_dir.join("results.json").display()
    );
}

/// `cargo bench <args> -- <criterion args> <filters>`, criterion writing under `home`.
fn cargo_bench(root: &Path, home: &Path, args: &[&str], criterion: &[&str], filters: &[&str]) {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root)
        .env("CRITERION_HOME", home)
        .arg("bench")
        .args(args)
        .arg("--")
        .args(criterion)
        .args(filters);
    eprintln!("bench-table: {cmd:?}");
    check(cmd.status(), "cargo bench");
}

/// The median of a criterion benchmark without a parameter (`group/function`).
fn criterion_single(home: &Path, group: &str, function: &str) -> Option<f64> {
    let text =
        std::fs::read_to_string(home.join(group).join(function).join("new/estimates.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
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
    check(cmd.status(), "cargo build bench-scale");
    let to = exe_dir.join(name);
    std::fs::copy(exe_dir.join("bench-scale"), &to).expect("copy bench-scale");
    to
}

/// Run a child and parse the last line it prints as JSON; a failure is reported and skipped.
fn run_json(bin: &Path, args: &[&str]) -> Option<serde_json::Value> {
    eprintln!("bench-table: {} {}", bin.display(), args.join(" "));
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
    let v = serde_json::from_str(text.lines().last()?).ok();
    eprintln!("bench-table:   {}", text.trim());
    v
}

fn check(status: std::io::Result<std::process::ExitStatus>, what: &str) {
    match status {
        Ok(s) if s.success() => {}
        other => {
            eprintln!("bench-table: {what} failed: {other:?}");
            std::process::exit(1);
        }
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn render(r: &Results, quick: bool, minutes: f64, before: &str, after: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let cpu = command_line("sh", &["-c", "lscpu | sed -n 's/^Model name: *//p'"]);
    let _ = writeln!(
        out,
        "Generated by `bench-table`{}.\n",
        if quick {
            " **--quick (not for publishing)**"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "- machine: {} cores, {cpu}; {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        command_line("rustc", &["-V"]),
    );
    let _ = writeln!(
        out,
        "- date: {}; run took {minutes:.1} min; load average before {before}, after {after}\n",
        command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
    );
    out.push_str("### Peers (median; ratio to raw tokio in parentheses; ct = current-thread, mt = multi-thread, 2 workers)\n\n");
    out.push_str(&report::peer_table(r));
    out.push_str("\n### Beamline only\n\n| workload | figure |\n|---|---|\n");
    let e = |k: &str| r.extra.get(k).copied();
    for (n, s) in [("10,000", "10k"), ("100,000", "100k"), ("1,000,000", "1m")] {
        if let Some(x) = e(&format!("sampler_us_{s}")) {
            let _ = writeln!(
                out,
                "| 5. sampler cost per sample, {n} processes (1% changing) | {:.2} ms |",
                x / 1000.0
            );
        } else {
            let _ = writeln!(
                out,
                "| 5. sampler cost per sample, {n} processes | not measured |"
            );
        }
    }
    match (
        e("delta_bytes_100k"),
        e("snapshot_bytes_100k"),
        e("delta_changed_100k"),
    ) {
        (Some(d), Some(s), changed) => {
            let _ = writeln!(
                out,
                "| 6. full snapshot, 100,000 processes | {:.0} bytes |",
                s
            );
            let _ = writeln!(
                out,
                "| 6. delta per interval, 1% changing ({} processes carried) | {:.0} bytes ({:.2}% of the snapshot) |",
                changed.map_or("?".into(), |c| format!("{c:.0}")),
                d,
                100.0 * d / s
            );
        }
        _ => out.push_str("| 6. stream bytes | not measured |\n"),
    }
    for (k, view) in [
        ("frame_processes_ns", "process table"),
        ("frame_tree_ns", "tree"),
    ] {
        match e(k) {
            Some(x) => {
                let _ = writeln!(
                    out,
                    "| 7. observer frame, {view} view, 100,000 processes | {:.2} ms |",
                    x / 1e6
                );
            }
            None => {
                let _ = writeln!(out, "| 7. observer frame, {view} view | not measured |");
            }
        }
    }
    for fl in ["ct", "mt"] {
        let g = |id: &str| r.get("watched", fl, id);
        if let (Some(b), Some(i), Some(o)) = (g("bare"), g("idle100k"), g("observed")) {
            let _ = writeln!(
                out,
                "| 9. cast 1 → 1 ({fl}): alone / 100,000 idle processes / + observer attached | {:.0} ns / {:.0} ns / {:.0} ns ({:+.1}% watched vs alone) |",
                b,
                i,
                o,
                (o / b - 1.0) * 100.0
            );
        } else {
            let _ = writeln!(out, "| 9. cast while watched ({fl}) | not measured |");
        }
    }
    out.push_str("\n### Targets\n\n");
    out.push_str(&report::verdict_table(&report::verdicts(r)));
    out
}

/// Cargo through the rustup proxy on PATH (or `$CARGO` under `cargo run`): the toolchain's own
/// binary, called directly, would let dependency folders with a `rust-toolchain` file pick
/// another toolchain for their `rustc`.
fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}
