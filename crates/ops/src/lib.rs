//! Operations shared by both binaries: logging (human lines on stdout, JSON lines in daily
//! rolling files), Prometheus metrics (`/metrics`) with an HTTP middleware that records every
//! request, and the metric names both binaries use.
//!
//! Modules: [`logging`], [`metrics`].

pub mod logging;
pub mod metrics;
