//! The two body wrappers of [`super::serve`]: request bodies that fail when they stop flowing,
//! response bodies that keep their request counted in flight until they are sent.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::Sleep;

use super::table::InFlight;

/// A request body whose read fails with [`BodyStalled`] when no piece of it arrives for
/// `timeout` while a handler waits for one. The timer runs only while a read waits, so a
/// handler that is slow to read is never blamed on the client.
///
/// tower-http's `TimeoutBody` does the same but reports neither the size hint nor the end of
/// the stream of the body it wraps, so an empty body would no longer look empty (the
/// sender's extractor reads a bodiless POST's query string when `size_hint` is exactly 0).
pub(super) struct IdleTimeout {
    body: Incoming,
    timeout: Duration,
    /// Armed while a read waits; disarmed when a frame arrives.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl IdleTimeout {
    pub(super) fn new(body: Incoming, timeout: Duration) -> Self {
        Self {
            body,
            timeout,
            sleep: None,
        }
    }
}

/// The error a request body read returns after [`IdleTimeout`]'s pause.
#[derive(Debug, thiserror::Error)]
#[error("the request body stalled: nothing arrived within the idle timeout")]
pub(super) struct BodyStalled;

impl HttpBody for IdleTimeout {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            this.sleep = None;
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let timeout = this.timeout;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyStalled.into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A response body that keeps its request counted in flight until hyper drops it (sent in
/// full, or the connection ended).
pub(super) struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl Tracked {
    pub(super) fn new(body: Body, in_flight: InFlight) -> Self {
        Self {
            body,
            _in_flight: in_flight,
        }
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
