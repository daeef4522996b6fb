//! What every detector reads about one sample: the table, its history, the thresholds and the
//! wait-for graph, built once per sample.

use super::thresholds::Thresholds;
use super::waits::Waits;
use crate::model::history::History;
use beamline_wire::{Pid, ProcessTable};

/// One sample as the detectors see it.
pub struct Scene<'a> {
    /// The sample.
    pub m: &'a ProcessTable,
    /// History up to and including it.
    pub history: &'a History,
    /// What to judge by.
    pub th: &'a Thresholds,
    /// Calls in progress.
    pub waits: Waits,
}

impl<'a> Scene<'a> {
    /// The scene of `m`.
    pub fn new(m: &'a ProcessTable, history: &'a History, th: &'a Thresholds) -> Self {
        Scene {
            m,
            history,
            th,
            waits: Waits::of(m),
        }
    }

    /// How a message names `pid`: its label, or the bare pid if it is not reported.
    pub fn name(&self, pid: Pid) -> String {
        self.m
            .get(pid)
            .map_or_else(|| pid.to_string(), |p| p.label())
    }
}
