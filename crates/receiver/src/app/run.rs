//! [`App::run_until`]: the update loop, media jobs, delivery scheduler, archiver, HTTP server
//! and media sweep, and the order they stop in.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::task::AbortOnDropHandle;
use tracing::{error, info, warn};

use super::App;
use crate::archive;
use crate::deliver::Deliverer;
use crate::dispatch::{Announcer, MediaJobs, Wakes};
use crate::handlers;
use crate::media::{server, store};
use crate::pipeline::{self, Pipeline};
use crate::status::{self, StatusState};
use crate::webhook::target;

/// How long the HTTP server may finish open responses after the drain, at least.
const SERVER_GRACE: Duration = Duration::from_secs(1);

impl App {
    /// Runs until `stop` resolves, then stops taking updates, lets media downloads and
    /// attempts in flight finish within the drain deadline (`SHUTDOWN_DRAIN_TIMEOUT`, counted
    /// from the moment `stop` resolves), and disconnects. Nothing is lost
    /// at the deadline: unfinished rows stay in the outbox and resume at the next start.
    ///
    /// Dropping the returned future (aborting its task: an account whose lease was lost in
    /// several-instances mode) stops everything it started at once — no task outlives it
    /// holding the Telegram connection.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let (loop_stop_tx, loop_stop_rx) = watch::channel(false);
        let (workers_stop_tx, workers_stop_rx) = watch::channel(false);
        let (server_stop_tx, server_stop_rx) = watch::channel(false);
        let wakes = Wakes::default();
        let announcer = Announcer {
            handled: self.handled.clone(),
            wakes: wakes.clone(),
            prefix: self.line_prefix.clone(),
        };
        let mut jobs = MediaJobs::new(self.outbox.clone(), self.media.clone(), announcer.clone());
        match self.outbox.pending_media().await {
            Ok(pending) => pending.into_iter().for_each(|p| jobs.spawn(p)),
            Err(e) => error!(error = %e, "cannot read unfinished media from the outbox"),
        }

        let mut workers = JoinSet::new();
        let (target_tx, target_rx) = watch::channel(self.webhook.clone());
        if !self.outbox.in_memory() {
            // Only a file can be shared with the sender, whose setWebhook writes the settings.
            workers.spawn(target::watch(
                self.outbox.clone(),
                self.env_webhook.clone(),
                target_tx,
                workers_stop_rx.clone(),
            ));
        } else {
            // Nothing changes the target: the scheduler waits on it for ever.
            drop(target_tx);
        }
        let deliverer = Deliverer {
            outbox: self.outbox.clone(),
            target: target_rx.clone(),
            policy: self.policy,
            wake: wakes.deliver.clone(),
        };
        workers.spawn(deliverer.run(workers_stop_rx.clone()));
        if let Some(publisher) = self.nats.clone() {
            let sink = crate::nats::sink::Sink {
                outbox: self.outbox.clone(),
                publisher,
                policy: self.policy,
            };
            workers.spawn(sink.run(workers_stop_rx.clone()));
        }
        workers.spawn(crate::deliver::prune(
            self.outbox.clone(),
            target_rx.clone(),
            self.policy.max_age,
            workers_stop_rx.clone(),
        ));
        if let Some(dir) = self.archive_dir.clone() {
            workers.spawn(archive::run(
                self.outbox.clone(),
                dir,
                wakes.archive.clone(),
                workers_stop_rx.clone(),
            ));
        }

        let mut services = JoinSet::new();
        let router = server::router(self.store.dir()).merge(status::router(StatusState {
            outbox: self.outbox.clone(),
            health: self.health.clone(),
            target: target_rx,
            api_key: self.api_key.clone(),
            wake: wakes.deliver.clone(),
            metrics: self.metrics.clone(),
        }));
        let mount = self.mount.clone();
        match (self.listener, &mount) {
            (Some(listener), _) => {
                services.spawn(async move {
                    if let Err(e) = server::serve(listener, router, server_stop_rx).await {
                        error!(error = %e, "HTTP server failed");
                    }
                });
            }
            (None, Some(mount)) => mount(Some(router)),
            (None, None) => {}
        }
        services.spawn(store::sweeper(
            self.store.clone(),
            store::sweep_interval(self.store.ttl()),
            loop_stop_rx.clone(),
        ));
        let (handlers_stop_tx, handlers_stop_rx) = watch::channel(None);
        let (feed, handlers_task) = if self.handlers.is_empty() {
            (None, None)
        } else {
            info!(handlers = ?self.handlers.names(), "running handlers in process");
            let (feed, router) = handlers::router(self.handlers, self.telegram.clone());
            (
                Some(feed),
                Some(AbortOnDropHandle::new(tokio::spawn(
                    router.run(handlers_stop_rx),
                ))),
            )
        };
        let pipeline = Pipeline {
            stream: self.stream,
            normalizer: self.normalizer,
            outbox: self.outbox.clone(),
            jobs,
            announcer,
            health: self.health.clone(),
            handlers: feed,
        };
        let mut update_loop = AbortOnDropHandle::new(tokio::spawn(pipeline::run(
            pipeline,
            loop_stop_rx,
            self.ready.0,
        )));
        info!(addr = %self.addr, outbox = %self.outbox.path().display(), "receiver running");

        let ended = tokio::select! {
            () = stop => { info!("shutdown requested"); None }
            ended = &mut update_loop => { warn!("update loop ended unexpectedly"); Some(ended) }
        };
        // Counted from the signal (or the loop's end), not from the start of the run.
        let deadline = Instant::now() + self.drain_deadline;
        loop_stop_tx.send_replace(true);
        // Handlers drain alongside the media jobs and deliveries, before the disconnect.
        handlers_stop_tx.send_replace(Some(deadline));
        let jobs = match ended {
            Some(ended) => ended,
            None => update_loop.await,
        };
        match jobs {
            Ok(jobs) => {
                jobs.drain(deadline.saturating_duration_since(Instant::now()))
                    .await;
            }
            Err(e) => error!(error = %e, "update loop failed"),
        }
        workers_stop_tx.send_replace(true);
        let drained = tokio::time::timeout_at(deadline, async {
            while workers.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!("attempts still in flight at the drain deadline; retried at the next start");
            workers.shutdown().await;
        }
        if let Some(task) = handlers_task
            && let Err(e) = task.await
        {
            error!(error = %e, "handler router failed");
        }
        server_stop_tx.send_replace(true);
        if let Some(mount) = &mount {
            mount(None);
        }
        let grace = deadline.max(Instant::now() + SERVER_GRACE);
        if tokio::time::timeout_at(grace, async {
            while services.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            services.shutdown().await;
        }
        self.telegram.disconnect();
        info!("receiver stopped");
        Ok(())
    }
}
