//! Capped exponential backoff: how every connector waits between retries.

use std::time::Duration;

/// Waits twice as long after each failed attempt, up to a cap, for a bounded number of
/// retries.
pub(crate) struct Backoff {
    wait: Duration,
    cap: Duration,
    retries: u32,
    attempt: u32,
}

impl Backoff {
    /// `retries` retries, the first after `first`, none longer than `cap`.
    pub(crate) fn new(retries: u32, first: Duration, cap: Duration) -> Self {
        Backoff {
            wait: first,
            cap,
            retries,
            attempt: 0,
        }
    }

    /// After a failure of `what`: `false` once the retries are spent, else logs the error,
    /// sleeps and returns `true`.
    pub(crate) async fn retry(&mut self, what: &str, error: String) -> bool {
        if self.attempt >= self.retries {
            return false;
        }
        self.attempt += 1;
        tracing::warn!(attempt = self.attempt, %error, "{what} failed; retrying");
        tokio::time::sleep(self.wait).await;
        self.wait = (self.wait * 2).min(self.cap);
        true
    }

    /// Retries made so far.
    #[cfg_attr(
        not(any(feature = "redis", feature = "elasticsearch")),
        allow(dead_code)
    )]
    pub(crate) fn attempts(&self) -> u32 {
        self.attempt
    }
}
