//! [`Servers`]: which stores run on their server, and what the stage needs of them beyond
//! the stores themselves — the Kafka raw topic as a source, the Redis gate state and its
//! counters (stand-ins when a feature is off).

#[cfg(feature = "kafka")]
use async_trait::async_trait;
use websight_core::gate::GateState;
#[cfg(feature = "kafka")]
use websight_core::io::EventSource;

#[cfg(feature = "kafka")]
use super::Closing;
use super::config;
use crate::Result;

/// The Kafka raw topic as the flow reads it: to the end of what the run sent to it
/// (`remaining` inputs), or — live, what a collector writes — with quiet stretches as empty
/// batches until `closing` is closed.
#[cfg(feature = "kafka")]
pub(super) struct RawTopicSource<S> {
    /// A consumer that ends when idle (its idle timeout).
    pub(super) inner: S,
    pub(super) remaining: Option<usize>,
    pub(super) closing: Option<Closing>,
}

#[cfg(feature = "kafka")]
#[async_trait]
impl<S: EventSource> websight_core::io::WrapsSource for RawTopicSource<S> {
    type Inner = S;

    fn inner(&self) -> &S {
        &self.inner
    }

    /// The inner source commits and resumes; `remaining` already counts from the checkpoint.
    fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    async fn take_batch(&mut self, max: usize) -> websight_core::Result<Option<Vec<Vec<u8>>>> {
        if self.remaining == Some(0) {
            return Ok(None);
        }
        // Closed before this read: an idle read is then the end.
        let closed = self.closing.as_ref().is_none_or(Closing::is_closed);
        let max = self.remaining.map_or(max, |r| max.min(r));
        match self.inner.next_batch(max).await? {
            Some(batch) => {
                if let Some(r) = &mut self.remaining {
                    *r = r.saturating_sub(batch.len());
                }
                Ok(Some(batch))
            }
            None if closed => Ok(None),
            None => Ok(Some(Vec::new())),
        }
    }
}

/// Which stores are on a server: each named here runs there, the others embedded. None:
/// everything embedded; all four: the original system's deployment.
#[derive(Debug, Clone, Default)]
pub struct Servers {
    /// Kafka bootstrap servers (`host:port`): the raw topic as input, checked and
    /// dead-letter topics as outputs.
    pub kafka: Option<String>,
    /// Redis URL: the gate's state (and checkpoints, when asked for as `redis`).
    pub redis: Option<String>,
    /// MongoDB URL: the visits.
    pub mongodb: Option<String>,
    /// Elasticsearch / OpenSearch URL: the documents.
    pub search: Option<String>,
    /// Prefix of topic, key, collection and index names.
    pub prefix: String,
}

impl Servers {
    /// Every store on its server.
    pub fn all(kafka: &str, redis: &str, mongodb: &str, search: &str, prefix: &str) -> Servers {
        Servers {
            kafka: Some(kafka.to_owned()),
            redis: Some(redis.to_owned()),
            mongodb: Some(mongodb.to_owned()),
            search: Some(search.to_owned()),
            prefix: prefix.to_owned(),
        }
    }

    /// Whether no store is on a server.
    pub fn is_embedded(&self) -> bool {
        self.kafka.is_none()
            && self.redis.is_none()
            && self.mongodb.is_none()
            && self.search.is_none()
    }

    /// A server named without the feature that speaks to it is an error, not a silent
    /// fallback to the embedded store.
    pub(super) fn check_features(&self) -> Result<()> {
        let missing = [
            (self.kafka.is_some() && !cfg!(feature = "kafka"), "kafka"),
            (self.redis.is_some() && !cfg!(feature = "redis"), "redis"),
            (
                self.mongodb.is_some() && !cfg!(feature = "mongodb"),
                "mongodb",
            ),
            (
                self.search.is_some() && !cfg!(feature = "elasticsearch"),
                "elasticsearch",
            ),
        ];
        match missing.iter().find(|(m, _)| *m) {
            Some((_, feature)) => Err(config(format!("that server needs the `{feature}` feature"))),
            None => Ok(()),
        }
    }
}

#[cfg(feature = "redis")]
pub(super) type RedisStateOf = crate::redis::RedisGateState;
/// Never built without the `redis` feature.
#[cfg(not(feature = "redis"))]
pub(super) type RedisStateOf = Box<dyn GateState>;

#[cfg(feature = "redis")]
pub(super) fn boxed(state: RedisStateOf) -> Box<dyn GateState> {
    Box::new(state)
}
#[cfg(not(feature = "redis"))]
pub(super) fn boxed(state: RedisStateOf) -> Box<dyn GateState> {
    state
}

#[cfg(all(feature = "kafka", feature = "redis"))]
pub(super) async fn counter(state: &mut RedisStateOf, name: &str) -> Result<Option<u64>> {
    state.counter(name).await
}
#[cfg(all(feature = "kafka", feature = "redis"))]
pub(super) async fn set_counter(state: &mut RedisStateOf, name: &str, n: u64) -> Result<()> {
    state.set_counter(name, n).await
}
#[cfg(all(feature = "kafka", feature = "redis"))]
pub(super) async fn increment(state: &mut RedisStateOf, name: &str) -> Result<u64> {
    state.increment(name).await
}
#[cfg(all(feature = "kafka", not(feature = "redis")))]
pub(super) async fn counter(_: &mut RedisStateOf, _: &str) -> Result<Option<u64>> {
    Ok(None)
}
#[cfg(all(feature = "kafka", not(feature = "redis")))]
pub(super) async fn set_counter(_: &mut RedisStateOf, _: &str, _: u64) -> Result<()> {
    Ok(())
}
#[cfg(all(feature = "kafka", not(feature = "redis")))]
pub(super) async fn increment(_: &mut RedisStateOf, _: &str) -> Result<u64> {
    Ok(0)
}
