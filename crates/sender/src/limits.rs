//! Limits in front of the API: the request rate limit and CORS (off unless configured).
//!
//! The rate limit is per API key. There is one key, `X_API_TOKEN`, so it bounds everything the
//! account is asked to do, whichever client asks: the point is to keep the account clear of
//! Telegram's flood limits and spam detection, which punish the account rather than the client.
//! It runs after the key check, so requests with wrong keys neither spend the legitimate
//! client's budget nor grow any per-key table; those are cheap (a constant-time comparison, no
//! body read, nothing sent to Telegram) and a 48-hex-digit key is not guessable.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::API_KEY_HEADER;
use crate::error::ApiError;

/// A token bucket (GCRA): `per_second` on average, `burst` at once.
pub struct RateLimit {
    limiter: DefaultDirectRateLimiter,
    clock: DefaultClock,
}

impl RateLimit {
    /// `None` when `per_second` is 0 (the limit is off). A `burst` of 0 means `per_second`.
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        let clock = DefaultClock::default();
        let limiter = RateLimiter::direct_with_clock(
            Quota::per_second(rate).allow_burst(burst),
            clock.clone(),
        );
        Some(Self { limiter, clock })
    }

    /// Takes one request from the bucket; `Err(seconds)` (at least 1) when it is empty.
    pub fn check(&self) -> Result<(), u32> {
        self.limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            u32::try_from(seconds.max(1)).unwrap_or(u32::MAX)
        })
    }
}

/// Middleware (after the key check): 429 "Too Many Requests: retry after N" with
/// `parameters.retry_after` and a `Retry-After` header when the bucket is empty.
pub async fn rate_limit(
    State(limit): State<Option<Arc<RateLimit>>>,
    request: Request,
    next: Next,
) -> Response {
    match admit(limit.as_deref()) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

/// The check of [`rate_limit`], for handlers that authenticate themselves (downloads).
pub fn admit(limit: Option<&RateLimit>) -> Result<(), ApiError> {
    match limit {
        Some(limit) => limit
            .check()
            .map_err(|seconds| botapi::ApiError::too_many_requests(seconds).into()),
        None => Ok(()),
    }
}

/// The CORS layer for `origins` (already validated, `*` meaning any); `None` when empty, so
/// no CORS headers are sent and browsers keep other origins out. Allowed: GET and POST with
/// `Content-Type` and `x-api-key`; `Retry-After` is readable by the page.
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                HeaderName::from_static(API_KEY_HEADER),
            ])
            .expose_headers([header::RETRY_AFTER])
            .max_age(std::time::Duration::from_secs(3600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_passes_then_the_wait_is_at_least_a_second() {
        let limit = RateLimit::new(1, 3).expect("on");
        for _ in 0..3 {
            assert_eq!(limit.check(), Ok(()));
        }
        assert_eq!(limit.check(), Err(1));
        assert!(RateLimit::new(0, 10).is_none());
    }
}
