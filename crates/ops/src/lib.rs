//! Operations shared by both binaries: logging (human lines on stdout, JSON lines in daily
//! rolling files), Prometheus metrics (`/metrics`) with an HTTP middleware that records every
//! request, and the metric names both binaries use.
//!
//! Modules: [`accounts`] (the account directory `SESSIONS_DIR`), [`config`] (the empty-means-unset rule for settings), [`health`] (the
//! `healthcheck` subcommand), [`logging`], [`metrics`], [`cluster`] (the settings of several
//! instances on Postgres), [`nats`] (the NATS settings and
//! connection), [`serve`] (the HTTP server both run, with connection limits and timeouts),
//! [`shutdown`] (the stop signal).

pub mod accounts;
pub mod cluster;
pub mod config;
pub mod health;
pub mod logging;
pub mod metrics;
pub mod nats;
pub mod serve;
pub mod shutdown;
