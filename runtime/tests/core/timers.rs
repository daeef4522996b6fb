use crate::support::*;
use beamline::{ExitReason, Runtime, send_after, send_interval};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn send_after_delivers_once_after_the_delay() {
    let rt = Runtime::new();
    let l = log();
    let p = rt.start::<Probe>(Args::new(&l)).await.unwrap();
    let t = send_after(&p, "tick".into(), Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(1999)).await;
    p.call(Call::Echo(0)).await.unwrap();
    assert_eq!(seen(&l), vec!["init"]);
    tokio::time::sleep(Duration::from_millis(2)).await;
    p.call(Call::Echo(0)).await.unwrap();
    assert_eq!(seen(&l), vec!["init", "info tick"]);
    assert!(t.is_done());
    assert!(!t.cancel(), "a fired timer is not pending");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_timer_never_fires() {
    let rt = Runtime::new();
    let l = log();
    let p = rt.start::<Probe>(Args::new(&l)).await.unwrap();
    let t = send_after(&p, "never".into(), Duration::from_secs(1));
    assert!(t.cancel());
    tokio::time::sleep(Duration::from_secs(5)).await;
    p.call(Call::Echo(0)).await.unwrap();
    assert_eq!(seen(&l), vec!["init"]);
}

#[tokio::test(start_paused = true)]
async fn send_interval_repeats_until_cancelled() {
    let rt = Runtime::new();
    let l = log();
    let p = rt.start::<Probe>(Args::new(&l)).await.unwrap();
    let mut n = 0;
    let t = send_interval(
        &p,
        move || {
            n += 1;
            format!("tick{n}")
        },
        Duration::from_secs(1),
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert!(t.cancel());
    tokio::time::sleep(Duration::from_secs(5)).await;
    p.call(Call::Echo(0)).await.unwrap();
    assert_eq!(
        seen(&l),
        vec!["init", "info tick1", "info tick2", "info tick3"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_dead_process_timers_are_cancelled() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    let once = send_after(&p, "late".into(), Duration::from_secs(10));
    let every = send_interval(&p, || "x".to_string(), Duration::from_secs(1));
    p.stop(ExitReason::Normal, None).await.unwrap();
    settle().await;
    assert!(once.is_done() && every.is_done());
    let dead_before = rt.dead_letters();
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(
        rt.dead_letters(),
        dead_before,
        "no timer fired at the dead process"
    );
}
