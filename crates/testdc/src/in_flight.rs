//! Calls being handled, per method, and the most handled at once: lets tests check a client's
//! concurrency limits by counting rather than timing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Per method (schema name): calls received whose reply is not yet queued, and the peak of
/// that count since the DC started.
#[derive(Default)]
pub(crate) struct InFlight {
    counts: Mutex<HashMap<&'static str, Count>>,
}

#[derive(Clone, Copy, Default)]
struct Count {
    now: u32,
    peak: u32,
}

impl InFlight {
    fn counts(&self) -> MutexGuard<'_, HashMap<&'static str, Count>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one call of `method` as in flight until the returned guard is dropped.
    pub(crate) fn start(self: &Arc<Self>, method: &'static str) -> Call {
        let mut counts = self.counts();
        let count = counts.entry(method).or_default();
        count.now += 1;
        count.peak = count.peak.max(count.now);
        Call {
            owner: self.clone(),
            method,
        }
    }

    /// The most calls of `method` (case-insensitive) in flight at once so far; 0 if never called.
    pub(crate) fn peak(&self, method: &str) -> u32 {
        self.counts()
            .iter()
            .filter(|(m, _)| m.eq_ignore_ascii_case(method))
            .map(|(_, c)| c.peak)
            .max()
            .unwrap_or(0)
    }
}

/// One call in flight; dropping it (once the reply is queued) ends it.
pub(crate) struct Call {
    owner: Arc<InFlight>,
    method: &'static str,
}

impl Drop for Call {
    fn drop(&mut self) {
        if let Some(count) = self.owner.counts().get_mut(self.method) {
            count.now = count.now.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_survives_calls_ending() {
        let in_flight = Arc::new(InFlight::default());
        let a = in_flight.start("upload.saveFilePart");
        let b = in_flight.start("upload.saveFilePart");
        let other = in_flight.start("messages.sendMedia");
        drop((a, b, other));
        let _c = in_flight.start("upload.saveFilePart");
        assert_eq!(in_flight.peak("upload.savefilepart"), 2);
        assert_eq!(in_flight.peak("messages.sendMedia"), 1);
        assert_eq!(in_flight.peak("upload.saveBigFilePart"), 0);
    }
}
