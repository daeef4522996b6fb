use crate::support::*;
use beamline::{ExitReason, Runtime};

#[tokio::test(start_paused = true)]
async fn casts_from_one_sender_are_handled_in_order() {
    let rt = Runtime::new();
    let l = log();
    let p = rt.start::<Probe>(Args::new(&l)).await.unwrap();
    for i in 0..100 {
        p.cast(Cast::Push(i.to_string())).await.unwrap();
    }
    p.call(Call::Echo(0)).await.unwrap();
    let expected: Vec<String> = std::iter::once("init".to_string())
        .chain((0..100).map(|i| format!("cast {i}")))
        .collect();
    assert_eq!(seen(&l), expected);
}

#[tokio::test(start_paused = true)]
async fn cast_to_a_dead_process_is_ok_but_counted() {
    let rt = Runtime::new();
    let p = rt.start::<Probe>(Args::new(&log())).await.unwrap();
    p.stop(ExitReason::Normal, None).await.unwrap();
    let before = rt.dead_letters();
    assert_eq!(p.cast(Cast::Push("x".into())).await, Ok(()));
    assert!(p.send("y".into()).is_ok());
    assert_eq!(
        rt.cast::<Probe>("nobody", Cast::Push("z".into())).await,
        Ok(())
    );
    assert_eq!(rt.dead_letters(), before + 3);
}

#[tokio::test(start_paused = true)]
async fn send_delivers_an_info_message() {
    let rt = Runtime::new();
    let l = log();
    let p = rt.start::<Probe>(Args::new(&l)).await.unwrap();
    p.send("hello".into()).unwrap();
    p.call(Call::Echo(0)).await.unwrap();
    assert_eq!(seen(&l), vec!["init", "info hello"]);
}
