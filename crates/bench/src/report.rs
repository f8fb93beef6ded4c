//! The one table the harness prints: a row per measurement, its target and whether the target
//! was met (never asserted: the bench reports, CI does not judge timings).

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::procs::CpuShares;

/// One line of the result table.
#[derive(Clone, Debug, Default)]
pub(crate) struct Row {
    /// What was measured, e.g. `sendMessage, 64 clients`.
    pub scenario: String,
    /// The headline figure, e.g. `5,210 req/s` or `12.3 MiB`.
    pub value: String,
    /// Median latency, when the row has one.
    pub p50: String,
    /// 99th percentile latency, when the row has one.
    pub p99: String,
    /// The target from the issue, when one applies.
    pub target: String,
    /// `met`, `MISSED`, or empty without a target.
    pub status: String,
    /// Errors or lost messages, when any.
    pub errors: String,
    /// CPU shares of testdc / receiver / sender / bench / other processes during the row.
    pub cpu: String,
}

impl Row {
    /// A row with a scenario and a value.
    pub(crate) fn new(scenario: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            scenario: scenario.into(),
            value: value.into(),
            ..Self::default()
        }
    }

    /// Sets p50/p99 from a histogram of microseconds.
    pub(crate) fn latency(mut self, h: &Histogram<u64>) -> Self {
        if !h.is_empty() {
            self.p50 = ms(h.value_at_quantile(0.50));
            self.p99 = ms(h.value_at_quantile(0.99));
        }
        self
    }

    /// Sets the target text and whether it was met.
    pub(crate) fn target(mut self, target: impl Into<String>, met: bool) -> Self {
        self.target = target.into();
        self.status = if met { "met" } else { "MISSED" }.into();
        self
    }

    /// Sets the CPU shares column.
    pub(crate) fn cpu(mut self, cpu: &CpuShares) -> Self {
        self.cpu = cpu.render();
        self
    }

    /// Sets the errors column (left empty for zero).
    pub(crate) fn errors(mut self, errors: u64, what: &str) -> Self {
        if errors > 0 {
            self.errors = format!("{errors} {what}");
        }
        self
    }
}

/// Microseconds as milliseconds with two decimals.
pub(crate) fn ms(micros: u64) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}

/// A duration in milliseconds, one decimal.
pub(crate) fn dur_ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Bytes as MiB with one decimal.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
}

/// A rate with thousands separators, e.g. `5,210`.
pub(crate) fn rate(per_s: f64) -> String {
    let n = per_s.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Renders the rows as one markdown table.
pub(crate) fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | result | p50 | p99 | target | status | errors | CPU % testdc / recv / send / bench / other |\n\
         |---|---:|---:|---:|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.scenario, r.value, r.p50, r.p99, r.target, r.status, r.errors, r.cpu
        );
    }
    out
}

/// The machine: CPU model, logical CPUs, memory, kernel (from `/proc`).
pub(crate) fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, v)| v.trim());
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let mem_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cpus} logical CPUs, {:.1} GiB RAM, Linux {}",
        mem_kib as f64 / 1024.0 / 1024.0,
        kernel.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_get_thousands_separators() {
        assert_eq!(rate(5210.4), "5,210");
        assert_eq!(rate(999.0), "999");
        assert_eq!(rate(1_234_567.0), "1,234,567");
    }

    #[test]
    fn table_has_a_line_per_row_after_the_header() {
        let rows = [Row::new("a", "1").target("≥ 1", true), Row::new("b", "2")];
        let text = table(&rows);
        assert_eq!(text.lines().count(), 4);
        assert!(text.contains("| a | 1 |"));
        assert!(text.contains("| met |"));
    }
}
