//! Instructions per operation, counted by `valgrind --tool=callgrind` (which does not depend on
//! the machine's load, unlike every timing in the tables).
//!
//! `bench-scale profile <op> <peer> <n>` runs exactly `n` operations on a current-thread
//! runtime. Only the function `profiled` is counted (`--toggle-collect`): process startup and
//! the one-time calibration of Beamline's clock (a spin of varying length) stay out. It is run
//! once with `n` and once with zero, and the difference of the two totals divided by `n` is the
//! cost of one operation: the runtime's construction and the calls that bracket a cast run
//! cancel out.

use crate::stats;
use std::path::Path;
use std::process::Command;

/// The total instruction count (`Ir`) of a callgrind output file: its `summary:` line (or
/// `totals:` in older formats).
pub fn total_ir(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l
            .strip_prefix("summary:")
            .or_else(|| l.strip_prefix("totals:"))?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The callgrind option that counts only `bench-scale`'s `profiled` function.
pub const TOGGLE: &str = "--toggle-collect=bench_scale::profiled";

/// Run `bench-scale profile <op> <peer> <n>` under callgrind, writing its output to `out`.
fn run(bin: &Path, op: &str, peer: &str, n: u64, out: &Path) -> Result<u64, String> {
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(TOGGLE)
        .arg(bin)
        .args(["profile", op, peer, &n.to_string()])
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    if !status.status.success() {
        return Err(format!(
            "valgrind {op} {peer} {n}: {}",
            String::from_utf8_lossy(&status.stderr)
        ));
    }
    let text = std::fs::read_to_string(out).map_err(|e| format!("{}: {e}", out.display()))?;
    total_ir(&text).ok_or_else(|| format!("no total in {}", out.display()))
}

/// Instructions per `op` for `peer`, from a run of `n` operations minus a run of none.
pub fn ir_per_op(bin: &Path, op: &str, peer: &str, n: u64, dir: &Path) -> Result<f64, String> {
    let file = |k: u64| dir.join(format!("callgrind.{op}.{peer}.{k}"));
    let base = run(bin, op, peer, 0, &file(0))?;
    let total = run(bin, op, peer, n, &file(n))?;
    stats::per_op(total, base, n).ok_or_else(|| format!("{op} {peer}: {total} < baseline {base}"))
}
