//! Per-process tokio-metrics [`TaskMonitor`]s (opt-in with `Builder::task_metrics`): created at
//! spawn, read by the sampler, forgotten with their process.

use crate::table::{Keyed, Table};
use beamline_wire::Pid;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio_metrics::TaskMonitor;

/// The monitors, by pid; empty unless task metrics are on.
pub(crate) struct TaskMonitors {
    on: bool,
    by_pid: Mutex<HashMap<u64, TaskMonitor>>,
}

impl TaskMonitors {
    pub(crate) fn new(on: bool) -> Self {
        TaskMonitors {
            on,
            by_pid: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, TaskMonitor>> {
        self.by_pid.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A monitor for a process being spawned, when task metrics are on. Monitors of processes
    /// the sampler never got to forget (it was idle) are pruned here, so the map stays within the
    /// table's size.
    pub(crate) fn for_new_process<T: Keyed>(
        &self,
        table: &Table<T>,
        pid: Pid,
    ) -> Option<TaskMonitor> {
        if !self.on {
            return None;
        }
        let monitor = TaskMonitor::new();
        let mut all = self.lock();
        if all.len() > table.max_len() + 1024 {
            all.retain(|pid, _| table.get(Pid(*pid)).is_some());
        }
        all.insert(pid.0, monitor.clone());
        Some(monitor)
    }

    /// A copy of the monitors for one tick (`None` when task metrics are off).
    pub(crate) fn current(&self) -> Option<HashMap<u64, TaskMonitor>> {
        self.on.then(|| self.lock().clone())
    }

    /// Forget the monitors of processes gone from the table.
    /// The monitor of one process, if task metrics are on (for a sample built outside a tick).
    pub(crate) fn get(&self, pid: Pid) -> Option<TaskMonitor> {
        if !self.on {
            return None;
        }
        self.lock().get(&pid.0).cloned()
    }

    pub(crate) fn forget(&self, pids: &[Pid]) {
        if !self.on || pids.is_empty() {
            return;
        }
        let mut all = self.lock();
        for pid in pids {
            all.remove(&pid.0);
        }
    }
}
