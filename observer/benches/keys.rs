//! Key-to-screen latency of the interactive loop with many processes all changing every
//! sample (issue 15: keys answered within 50 ms at 100,000 processes).
//!
//! `cargo bench -p beamline-observer --bench keys -- [move|sort] [processes] [samples] [ms]`
//! (a key every `ms`: 47 by default for `move`, 300 for `sort`, so each sort can land before
//! the next).
//!
//! `move` presses j and k (the selection moves in the current rows); `sort` presses b and m
//! (sort by busy, by mailbox: rows computed again). For each press: the time to the first
//! frame drawn after the loop handled it ("answered") and to the first frame whose rows answer
//! it ("rows"); and how long each frame took to draw.

use beamline_observer::app::probe;
use std::time::Duration;

fn stats(name: &str, v: &mut [Duration]) {
    if v.is_empty() {
        println!("{name:>9}: none");
        return;
    }
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:>9}: n={:<4} median {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        v.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(v[v.len() - 1]),
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mode = args.first().map_or("move", String::as_str);
    let n = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let samples = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let sort = mode == "sort";
    let keys: &[char] = if sort { &['b', 'm'] } else { &['j', 'k'] };
    let pace = args.get(3).and_then(|a| a.parse().ok());
    let pace = pace.unwrap_or(if sort { 300 } else { 47 });
    let mut r = probe::run(
        n,
        samples,
        Duration::from_secs(1),
        keys,
        Duration::from_millis(pace),
        (160, 45),
    )
    .expect("probe");
    println!("{mode}: {n} processes, {} samples landed", r.samples);
    stats("answered", &mut r.answered);
    stats("rows", &mut r.rows);
    stats("draw", &mut r.draws);
}
