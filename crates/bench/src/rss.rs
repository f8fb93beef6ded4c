//! Peak RSS per phase: a background task samples `VmRSS` of each child every few
//! milliseconds and keeps the maximum until it is reset.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often `VmRSS` is read.
const PERIOD: Duration = Duration::from_millis(20);

/// Samples the RSS of a set of pids; cheap to clone. Keeps two peaks per pid: one per phase
/// ([`RssSampler::reset`]) and one per load point ([`RssSampler::reset_point`]).
#[derive(Clone, Default)]
pub(crate) struct RssSampler {
    peaks: Arc<Mutex<HashMap<u32, (u64, u64)>>>,
}

impl RssSampler {
    /// Starts sampling `pids` until the returned task is aborted.
    pub(crate) fn start(&self, pids: Vec<u32>) -> tokio::task::JoinHandle<()> {
        let peaks = self.peaks.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PERIOD);
            loop {
                tick.tick().await;
                for &pid in &pids {
                    let rss = vm_rss(pid);
                    let mut peaks = peaks.lock().unwrap_or_else(|e| e.into_inner());
                    let (phase, point) = peaks.entry(pid).or_default();
                    *phase = (*phase).max(rss);
                    *point = (*point).max(rss);
                }
            }
        })
    }

    /// Forgets every peak (the start of a phase).
    pub(crate) fn reset(&self) {
        self.peaks.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Forgets the per-point peaks (the start of a load point).
    pub(crate) fn reset_point(&self) {
        let mut peaks = self.peaks.lock().unwrap_or_else(|e| e.into_inner());
        peaks.values_mut().for_each(|(_, point)| *point = 0);
    }

    /// The highest RSS of `pid` since the last [`RssSampler::reset`], in bytes.
    pub(crate) fn peak(&self, pid: u32) -> u64 {
        let peaks = self.peaks.lock().unwrap_or_else(|e| e.into_inner());
        peaks.get(&pid).map_or(0, |p| p.0).max(vm_rss(pid))
    }

    /// The highest RSS of `pid` since the last [`RssSampler::reset_point`], in bytes.
    pub(crate) fn point_peak(&self, pid: u32) -> u64 {
        let peaks = self.peaks.lock().unwrap_or_else(|e| e.into_inner());
        peaks.get(&pid).map_or(0, |p| p.1).max(vm_rss(pid))
    }
}

fn vm_rss(pid: u32) -> u64 {
    crate::procs::status_kib(pid, "VmRSS:") * 1024
}
