//! Small conversions shared by the queries.

use std::time::Duration;

/// `duration` in whole milliseconds, as the `float8` the queries multiply
/// `interval '1 millisecond'` by.
pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_millis() as f64
}
