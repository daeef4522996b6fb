//! Golden bytes: the wire protocol pinned byte for byte. postcard encodes fields in declaration
//! order with no names, so reordering (or retyping) a field of a wire type silently changes what
//! an older peer decodes; these tests fail instead. A deliberate change updates the bytes here and
//! `PROTOCOL_VERSION` together (see `docs/PROTOCOL.md`).

use beamline_wire::{
    ClientMsg, Delta, Hello, MsgKind, Pid, ProcessKind, ProcessSample, RegisteredKeys, ServerMsg,
    Status, SupervisorInfo, SystemSample, TaskMetrics, frame,
};

/// A sample whose every field holds a value no other field of the same type holds, so that
/// swapping any two fields changes the bytes.
fn every_field_distinct() -> ProcessSample {
    ProcessSample {
        id: Pid(1),
        name: Some("n".into()),
        parent: Some(Pid(2)),
        child_id: Some("c".into()),
        kind: ProcessKind::Supervisor,
        behaviour: "b".into(),
        spawned_ms: 3,
        status: Status::Handling {
            kind: MsgKind::Cast,
            since_ms: 4,
        },
        mailbox_len: 5,
        mailbox_peak: 6,
        mailbox_capacity: Some(7),
        in_per_s: 8.0,
        out_per_s: 9.0,
        call_per_s: 10.0,
        cast_per_s: 11.0,
        info_per_s: 12.0,
        received: 13,
        handled: 14,
        dropped: 15,
        busy: 0.5,
        mean_handle_us: 16.0,
        max_handle_us: 17.0,
        mean_wait_us: 18.0,
        state_bytes: 19,
        state_deep: true,
        restarts: 20,
        exit_history: vec!["e".into()],
        links: vec![Pid(21)],
        monitors: vec![Pid(22)],
        trap_exit: false,
        inspectable: true,
        hibernations: 23,
        supervisor: Some(SupervisorInfo {
            strategy: "s".into(),
            max_restarts: 24,
            period_ms: 25,
            restarts_in_window: 26,
            children: 27,
            restarting: 40,
        }),
        task: Some(TaskMetrics {
            mean_poll_us: 28.0,
            mean_scheduled_us: 29.0,
            slow_polls: 30,
        }),
        keys: Some(RegisteredKeys {
            shown: vec!["k".into()],
            more: 47,
        }),
        self_calls_refused: 48,
        hot_type: Some(49),
    }
}

fn system() -> SystemSample {
    SystemSample {
        processes: 31,
        spawned_total: 32,
        exited_total: 33,
        msgs_per_s: 34.0,
        dropped_total: 35,
        dead_letters: 36,
        workers: 37,
        worker_busy: 0.25,
        global_queue_depth: 38,
        local_queue_depth: 39,
        alive_tasks: 40,
        sample_cost_us: 41,
        missed_updates: 42,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn assert_golden(msg: &impl serde::Serialize, expected: &str) {
    let got = hex(&frame::encode(msg).unwrap());
    assert_eq!(
        got, expected,
        "the encoding changed: if deliberate, bump PROTOCOL_VERSION and update this golden"
    );
}

#[test]
fn a_process_sample_encodes_to_its_golden_bytes() {
    assert_golden(
        &every_field_distinct(),
        concat!(
            "000000970101016e010201016301016203020104050601070100000000000020",
            "4001000000000000224001000000000000244001000000000000264001000000",
            "00000028400d0e0f01000000000000e03f010000000000003040010000000000",
            "0031400100000000000032401301140101650115011600011701017318191a1b",
            "28010000000000003c400000000000003d401e0101016b2f300131",
        ),
    );
}

#[test]
fn a_delta_encodes_to_its_golden_bytes() {
    let delta = ServerMsg::Delta(Delta {
        seq: 43,
        at_ms: 44,
        interval_ms: 45,
        system: system(),
        changed: vec![every_field_distinct()],
        removed: vec![Pid(46)],
    });
    assert_golden(
        &delta,
        concat!(
            "000000b9032b2c2d1f20210000000000004140232425000000000000d03f2627",
            "28292a010101016e010201016301016203020104050601070100000000000020",
            "4001000000000000224001000000000000244001000000000000264001000000",
            "00000028400d0e0f01000000000000e03f010000000000003040010000000000",
            "0031400100000000000032401301140101650115011600011701017318191a1b",
            "28010000000000003c400000000000003d401e0101016b2f300131012e",
        ),
    );
}

/// Protocol version 3: an idle process's nine zero rates and fractions take one byte each.
#[test]
fn an_idle_sample_encodes_to_its_golden_bytes() {
    let idle = ProcessSample::new(Pid(1), ProcessKind::Server, "b");
    assert_golden(
        &idle,
        concat!(
            "0000002601000000000162000100000000000000000000000000000000000000",
            "00000000000000000000"
        ),
    );
}

/// The bytes protocol version 2 gave [`every_field_distinct`] (floats as plain eight bytes).
const VERSION_2_SAMPLE: &str = concat!(
    "0101016e01020101630101620302010405060107000000000000204000000000",
    "000022400000000000002440000000000000264000000000000028400d0e0f00",
    "0000000000e03f00000000000030400000000000003140000000000000324013",
    "01140101650115011600011701017318191a1b28010000000000003c40000000",
    "0000003d401e0101016b2f30"
);

/// A recording made before protocol version 3 (record format 2) still replays: its samples'
/// floats are read as the plain eight bytes they were written as.
#[test]
fn a_version_2_recording_still_reads() {
    use beamline_wire::Snapshot;
    use beamline_wire::record::{self, HEADER_LEN, MAGIC, RecordEntry, V2_MARKER};
    let entry = RecordEntry {
        offset_ms: 5,
        msg: ServerMsg::Snapshot(Snapshot {
            seq: 1,
            at_ms: 2,
            interval_ms: 3,
            system: system(),
            processes: Vec::new(),
        }),
    };
    // The entry with no process ends in its list's length, 0: make it one version 2 sample.
    let mut body = postcard::to_stdvec(&entry).unwrap();
    assert_eq!(body.pop(), Some(0));
    body.push(1);
    body.extend(
        (0..VERSION_2_SAMPLE.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&VERSION_2_SAMPLE[i..i + 2], 16).unwrap()),
    );
    let mut file = MAGIC.to_vec();
    file.extend_from_slice(&2u16.to_be_bytes());
    file.extend_from_slice(&V2_MARKER);
    let len = (body.len() as u32).to_be_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(&body);
    file.extend_from_slice(&len);
    file.extend_from_slice(&crc.finalize().to_be_bytes());
    file.extend_from_slice(&body);
    assert_eq!(file.len(), HEADER_LEN + 8 + body.len());
    let rec = record::parse(&file).unwrap();
    assert_eq!((rec.version, rec.damage), (2, None));
    let ServerMsg::Snapshot(s) = &rec.entries[0].msg else {
        panic!("{:?}", rec.entries)
    };
    let before_hot_types = ProcessSample {
        hot_type: None,
        ..every_field_distinct()
    };
    assert_eq!(s.processes, [before_hot_types]);
}

/// The bytes protocol version 3 gave [`every_field_distinct`]: no hot type.
const VERSION_3_SAMPLE: &str = concat!(
    "000000950101016e010201016301016203020104050601070100000000000020",
    "4001000000000000224001000000000000244001000000000000264001000000",
    "00000028400d0e0f01000000000000e03f010000000000003040010000000000",
    "0031400100000000000032401301140101650115011600011701017318191a1b",
    "28010000000000003c400000000000003d401e0101016b2f30",
);

/// A version-3 client is sent exactly the bytes version 3 wrote (the runtime encodes its
/// frames inside `as_protocol(3, ..)`), and they read back with no hot type.
#[test]
fn a_version_3_peer_gets_and_reads_version_3_bytes() {
    let bytes = beamline_wire::as_protocol(3, || frame::encode(&every_field_distinct())).unwrap();
    assert_eq!(hex(&bytes), VERSION_3_SAMPLE);
    let back: ProcessSample = beamline_wire::as_protocol(3, || frame::decode(&bytes, usize::MAX))
        .unwrap()
        .unwrap()
        .0;
    assert_eq!(back.hot_type, None);
    assert_eq!(
        back,
        ProcessSample {
            hot_type: None,
            ..every_field_distinct()
        }
    );
    // Outside it, the version 4 bytes again.
    assert_ne!(
        hex(&frame::encode(&every_field_distinct()).unwrap()),
        VERSION_3_SAMPLE
    );
}

/// A recording made with protocol version 3 (record format 3) still replays: its samples end
/// without a hot type.
#[test]
fn a_version_3_recording_still_reads() {
    use beamline_wire::Snapshot;
    use beamline_wire::record::{self, RecordEntry, V3_MARKER};
    let entry = RecordEntry {
        offset_ms: 5,
        msg: ServerMsg::Snapshot(Snapshot {
            seq: 1,
            at_ms: 2,
            interval_ms: 3,
            system: system(),
            processes: vec![every_field_distinct(), every_field_distinct()],
        }),
    };
    let body = beamline_wire::as_protocol(3, || postcard::to_stdvec(&entry)).unwrap();
    let mut file = record::MAGIC.to_vec();
    file.extend_from_slice(&3u16.to_be_bytes());
    file.extend_from_slice(&V3_MARKER);
    let len = (body.len() as u32).to_be_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(&body);
    file.extend_from_slice(&len);
    file.extend_from_slice(&crc.finalize().to_be_bytes());
    file.extend_from_slice(&body);
    let rec = record::parse(&file).unwrap();
    assert_eq!((rec.version, rec.damage), (3, None));
    let ServerMsg::Snapshot(s) = &rec.entries[0].msg else {
        panic!("{:?}", rec.entries)
    };
    let old = ProcessSample {
        hot_type: None,
        ..every_field_distinct()
    };
    assert_eq!(s.processes, [old.clone(), old]);
}

#[test]
fn type_names_encode_to_their_golden_bytes() {
    let names = ServerMsg::TypeNames(beamline_wire::TypeNames {
        first: 2,
        names: vec!["Cmd::Deposit".into()],
    });
    assert_golden(&names, "000000100702010c436d643a3a4465706f736974");
}

#[test]
fn a_hello_encodes_to_its_golden_bytes() {
    let hello = ClientMsg::Hello(Hello {
        version: 3,
        token: Some("t".into()),
        client: "o".into(),
    });
    assert_golden(&hello, "000000070003010174016f");
}

#[test]
fn golden_bytes_decode_back_to_the_same_values() {
    let bytes = frame::encode(&every_field_distinct()).unwrap();
    let (back, used): (ProcessSample, usize) = frame::decode(&bytes, usize::MAX).unwrap().unwrap();
    assert_eq!((back, used), (every_field_distinct(), bytes.len()));
}
