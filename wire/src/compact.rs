//! Compact encodings of sample fields (protocol version 3).
//!
//! Most processes are idle most of the time, and an idle process's rates and fractions are all
//! exactly zero: written as postcard's fixed eight bytes each, the nine of them were 72 of the
//! ~140 bytes a process cost on the wire. [`float`] writes a zero as one byte and any other value
//! as one byte plus its eight, bit for bit (so nothing is lost: `-0.0` and NaNs keep their bits).
//! Human-readable formats (JSON) still see plain numbers.

use serde::{Deserialize, Deserializer, Serializer};
use std::cell::Cell;

thread_local! {
    /// Set while reading data written before protocol version 3 (old recordings), whose floats
    /// are plain fixed eight bytes.
    static FIXED_FLOATS: Cell<bool> = const { Cell::new(false) };
}

thread_local! {
    /// Set while writing for, or reading data of, protocol version 3 or older, whose samples
    /// end at `self_calls_refused` (no [`crate::ProcessSample::hot_type`]).
    static NO_HOT_TYPE: Cell<bool> = const { Cell::new(false) };
}

/// Run `f` writing and reading samples as protocol `version` does: without their
/// `hot_type` below version 4. The runtime encodes a version-3 client's frames inside it, and
/// recordings made before record format 4 are read inside it.
pub fn as_protocol<R>(version: u16, f: impl FnOnce() -> R) -> R {
    let before = NO_HOT_TYPE.with(|c| c.replace(version < 4));
    let out = f();
    NO_HOT_TYPE.with(|c| c.set(before));
    out
}

/// A sample's hot type (protocol version 4): left out of the bytes entirely inside
/// [`as_protocol`] for an older version, so those bytes are the old version's, bit for bit.
pub(crate) mod hot_type {
    use super::*;

    /// Whether the field is left out (serde's `skip_serializing_if`).
    pub(crate) fn skipped(_: &Option<u32>) -> bool {
        NO_HOT_TYPE.with(Cell::get)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        if NO_HOT_TYPE.with(Cell::get) {
            // Not in the bytes: read nothing.
            Ok(None)
        } else {
            Option::<u32>::deserialize(d)
        }
    }
}

/// Run `f` reading floats as written before protocol version 3 (plain eight bytes).
pub(crate) fn with_fixed_floats<R>(f: impl FnOnce() -> R) -> R {
    let before = FIXED_FLOATS.with(|c| c.replace(true));
    let out = f();
    FIXED_FLOATS.with(|c| c.set(before));
    out
}

/// An `f64` written as `None` when it is exactly `+0.0` (one byte), else `Some(value)`.
pub(crate) mod float {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_f64(*v)
        } else if v.to_bits() == 0 {
            s.serialize_none()
        } else {
            s.serialize_some(v)
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        if d.is_human_readable() || FIXED_FLOATS.with(Cell::get) {
            f64::deserialize(d)
        } else {
            Ok(Option::<f64>::deserialize(d)?.unwrap_or(0.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Pid, ProcessKind, ProcessSample};

    #[test]
    fn zero_rates_take_one_byte_each_and_every_value_comes_back_bit_for_bit() {
        let idle = ProcessSample::new(Pid(1), ProcessKind::Server, "T");
        let mut busy = idle.clone();
        busy.in_per_s = 12.5;
        busy.busy = -0.0;
        busy.mean_wait_us = f64::MAX;
        busy.max_handle_us = f64::MIN_POSITIVE;
        let small = postcard::to_stdvec(&idle).unwrap();
        let big = postcard::to_stdvec(&busy).unwrap();
        assert_eq!(
            big.len() - small.len(),
            4 * 8,
            "one tag byte each, plus eight when not 0"
        );
        let back: ProcessSample = postcard::from_bytes(&big).unwrap();
        assert_eq!(back.busy.to_bits(), (-0.0f64).to_bits());
        assert_eq!(back, busy);
        let nan = ProcessSample {
            cast_per_s: f64::NAN,
            ..idle.clone()
        };
        let back: ProcessSample =
            postcard::from_bytes(&postcard::to_stdvec(&nan).unwrap()).unwrap();
        assert!(back.cast_per_s.is_nan());
    }

    #[test]
    fn json_still_shows_plain_numbers() {
        let mut p = ProcessSample::new(Pid(1), ProcessKind::Server, "T");
        p.busy = 0.25;
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            (v["busy"].as_f64(), v["in_per_s"].as_f64()),
            (Some(0.25), Some(0.0))
        );
        let back: ProcessSample = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
    }
}
