//! The observer's client side: a stream of server frames decoded one after another and applied
//! to a `ProcessTable` the way the observer's model does (snapshot replaces, delta must follow,
//! a gap is refused and leaves the table unchanged), and fed to the observer's own model (history,
//! diagnosis) as `observer --attach` does. Never panics, whatever the runtime sends.
#![no_main]

use beamline_observer::model::Model;
use beamline_observer::source::SourceEvent;
use beamline_observer::Thresholds;
use beamline_wire::table::ApplyError;
use beamline_wire::{MAX_FRAME_LEN, ProcessTable, ServerMsg, frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut table = ProcessTable::default();
    let mut model = Model::new(Thresholds::default());
    let mut buf = data;
    while let Ok(Some((msg, used))) = frame::decode::<ServerMsg>(buf, MAX_FRAME_LEN) {
        buf = &buf[used..];
        match &msg {
            ServerMsg::Snapshot(s) => {
                table.apply_snapshot(s);
                assert_eq!(table.seq, Some(s.seq));
            }
            ServerMsg::Delta(d) => {
                let before = table.clone_if_small();
                match table.apply_delta(d) {
                    Ok(()) => assert_eq!(table.seq, Some(d.seq)),
                    Err(ApplyError::NoSnapshot(_)) | Err(ApplyError::Gap { .. }) => {
                        if let Some(before) = before {
                            assert_eq!(format!("{before:?}"), format!("{table:?}"));
                        }
                    }
                }
            }
            _ => {}
        }
        // What the observer does with a table: read it back as a snapshot.
        let _ = table.to_snapshot();
        let _ = model.apply(SourceEvent::Msg(msg));
    }
});

trait CloneIfSmall {
    fn clone_if_small(&self) -> Option<ProcessTable>;
}

impl CloneIfSmall for ProcessTable {
    fn clone_if_small(&self) -> Option<ProcessTable> {
        (self.processes.len() < 64).then(|| self.clone())
    }
}
