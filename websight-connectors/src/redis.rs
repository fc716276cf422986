//! The security gate's state in Redis: known users in a Bloom filter (RedisBloom's `BF.*`
//! when the module is loaded, else a Bloom filter on a Redis bitmap), unique users in a
//! HyperLogLog (`PFADD`/`PFCOUNT`/`PFMERGE`), and sessions per user in a hash — every call
//! takes a batch and costs one or two pipelined round trips, never one per event.
//!
//! The connection reconnects by itself; a call that fails because the server went away is
//! retried with capped exponential backoff.

use std::time::Duration;

use redis::aio::ConnectionManager;
use websight_core::gate::hash64;

use crate::{ConnectorError, Result};

/// Bits of the bitmap Bloom filter (2^24 bits = 2 MiB) and hashes per key: about 0.1% false
/// positives at a million users.
const BITMAP_BITS: u64 = 1 << 24;
const BITMAP_HASHES: u64 = 10;

/// Gate state shared by every pipeline instance through one Redis server.
#[derive(Clone)]
pub struct RedisGateState {
    conn: ConnectionManager,
    prefix: String,
    redisbloom: bool,
    retries: u32,
}

impl std::fmt::Debug for RedisGateState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisGateState")
            .field("prefix", &self.prefix)
            .field("redisbloom", &self.redisbloom)
            .finish()
    }
}

impl RedisGateState {
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379/`); keys start with `prefix`. Uses
    /// RedisBloom when the server has it loaded.
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisGateState> {
        let mut state = Self::connect_with_bitmap(url, prefix).await?;
        let modules: redis::Value = redis::cmd("MODULE")
            .arg("LIST")
            .query_async(&mut state.conn)
            .await?;
        state.redisbloom = format!("{modules:?}").to_lowercase().contains("bf");
        if state.redisbloom {
            // 0.1% false positives up to a million users; grows beyond. Exists already: fine.
            let reserved: redis::RedisResult<()> = redis::cmd("BF.RESERVE")
                .arg(state.key("known_users"))
                .arg(0.001)
                .arg(1_000_000)
                .query_async(&mut state.conn)
                .await;
            if let Err(e) = reserved
                && !e.to_string().to_lowercase().contains("exists")
            {
                return Err(e.into());
            }
        }
        Ok(state)
    }

    /// Connects without RedisBloom: the Bloom filter lives on a plain bitmap.
    pub async fn connect_with_bitmap(url: &str, prefix: &str) -> Result<RedisGateState> {
        let conn = ConnectionManager::new(redis::Client::open(url)?).await?;
        Ok(RedisGateState {
            conn,
            prefix: prefix.to_owned(),
            redisbloom: false,
            retries: 8,
        })
    }

    /// Whether known users use RedisBloom (else a bitmap).
    pub fn uses_redisbloom(&self) -> bool {
        self.redisbloom
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Runs a pipeline, retrying while the server is unreachable.
    async fn run<T: redis::FromRedisValue>(&mut self, pipe: &redis::Pipeline) -> Result<T> {
        let mut wait = Duration::from_millis(50);
        let mut attempt = 0;
        loop {
            match pipe.query_async(&mut self.conn).await {
                Ok(v) => return Ok(v),
                Err(e)
                    if attempt < self.retries
                        && (e.is_io_error()
                            || e.is_connection_dropped()
                            || e.is_connection_refusal()) =>
                {
                    attempt += 1;
                    tracing::warn!(attempt, error = %e, "redis unreachable; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn bit_positions(user: &str) -> impl Iterator<Item = u64> {
        // Double hashing (Kirsch–Mitzenmacher) from one 64-bit hash.
        let h = hash64(user.as_bytes());
        let (h1, h2) = (h & 0xFFFF_FFFF, (h >> 32) | 1);
        (0..BITMAP_HASHES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2))) % BITMAP_BITS)
    }

    /// Adds users to the known-users filter.
    pub async fn remember_users(&mut self, users: &[&str]) -> Result<()> {
        if users.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        self.queue_remember(&mut pipe, users);
        self.run::<()>(&pipe).await
    }

    fn queue_remember(&self, pipe: &mut redis::Pipeline, users: &[&str]) {
        if users.is_empty() {
            return;
        }
        let key = self.key("known_users");
        if self.redisbloom {
            pipe.cmd("BF.MADD").arg(&key).arg(users).ignore();
        } else {
            for user in users {
                for bit in Self::bit_positions(user) {
                    pipe.cmd("SETBIT").arg(&key).arg(bit).arg(1).ignore();
                }
            }
        }
    }

    fn queue_unique(&self, pipe: &mut redis::Pipeline, users: &[&str]) {
        if !users.is_empty() {
            pipe.cmd("PFADD")
                .arg(self.key("unique_users"))
                .arg(users)
                .ignore();
        }
    }

    /// Whether each user is (probably) known: no false negatives, rare false positives.
    pub async fn known_users(&mut self, users: &[&str]) -> Result<Vec<bool>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.key("known_users");
        let mut pipe = redis::pipe();
        if self.redisbloom {
            pipe.cmd("BF.MEXISTS").arg(&key).arg(users);
            let (flags,): (Vec<bool>,) = self.run(&pipe).await?;
            return Ok(flags);
        }
        for user in users {
            for bit in Self::bit_positions(user) {
                pipe.cmd("GETBIT").arg(&key).arg(bit);
            }
        }
        let bits: Vec<u8> = self.run(&pipe).await?;
        Ok(bits
            .chunks(BITMAP_HASHES as usize)
            .map(|c| c.iter().all(|&b| b == 1))
            .collect())
    }

    /// Counts users in the unique-users HyperLogLog.
    pub async fn add_unique_users(&mut self, users: &[&str]) -> Result<()> {
        if users.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        self.queue_unique(&mut pipe, users);
        self.run::<()>(&pipe).await
    }

    /// Estimated unique users (Redis's HyperLogLog, 0.81% standard error).
    pub async fn unique_users(&mut self) -> Result<u64> {
        let mut pipe = redis::pipe();
        pipe.cmd("PFCOUNT").arg(self.key("unique_users"));
        let (n,): (u64,) = self.run(&pipe).await?;
        Ok(n)
    }

    /// Merges other instances' unique users (their key prefixes) into this one's; returns the
    /// merged estimate.
    pub async fn merge_unique_users(&mut self, other_prefixes: &[&str]) -> Result<u64> {
        let mut pipe = redis::pipe();
        let dest = self.key("unique_users");
        let sources: Vec<String> = other_prefixes
            .iter()
            .map(|p| format!("{p}unique_users"))
            .collect();
        pipe.cmd("PFMERGE")
            .arg(&dest)
            .arg(&dest)
            .arg(&sources)
            .ignore();
        pipe.cmd("PFCOUNT").arg(&dest);
        let (n,): (u64,) = self.run(&pipe).await?;
        Ok(n)
    }

    /// Records `(user, session)` pairs: each session counts once for its user, however often
    /// it is seen. Two pipelined round trips per batch.
    pub async fn record_sessions(&mut self, pairs: &[(&str, &str)]) -> Result<()> {
        self.record_batch(&[], pairs).await
    }

    /// A gate batch's whole update in two pipelined round trips: known and unique users and
    /// the sessions' membership in the first, the per-user session counts in the second.
    pub async fn record_batch(&mut self, users: &[&str], pairs: &[(&str, &str)]) -> Result<()> {
        let mut pipe = redis::pipe();
        self.queue_remember(&mut pipe, users);
        self.queue_unique(&mut pipe, users);
        let seen = self.key("seen_sessions");
        for (_, session) in pairs {
            pipe.cmd("SADD").arg(&seen).arg(*session);
        }
        if users.is_empty() && pairs.is_empty() {
            return Ok(());
        }
        let added: Vec<u8> = self.run(&pipe).await?;
        if added.len() != pairs.len() {
            return Err(ConnectorError::Protocol {
                reason: format!("{} answers for {} sessions", added.len(), pairs.len()),
            });
        }
        if !added.contains(&1) {
            return Ok(());
        }
        let counts = self.key("sessions_per_user");
        let mut pipe = redis::pipe();
        for ((user, _), new) in pairs.iter().zip(added) {
            if new == 1 {
                pipe.cmd("HINCRBY").arg(&counts).arg(*user).arg(1).ignore();
            }
        }
        self.run::<()>(&pipe).await
    }

    /// Sessions recorded for `user`.
    pub async fn sessions_of(&mut self, user: &str) -> Result<u64> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGET")
            .arg(self.key("sessions_per_user"))
            .arg(user);
        let (n,): (Option<u64>,) = self.run(&pipe).await?;
        Ok(n.unwrap_or(0))
    }
}

/// The gate reads and updates its state here instead of in memory, so gate instances on
/// several machines share known users, unique users and sessions per user.
#[async_trait::async_trait]
impl websight_core::gate::GateState for RedisGateState {
    async fn known(&mut self, users: &[&str]) -> websight_core::Result<Vec<bool>> {
        Ok(self.known_users(users).await?)
    }

    async fn record(
        &mut self,
        update: &websight_core::gate::StateUpdate,
    ) -> websight_core::Result<()> {
        let users: Vec<&str> = update.users.iter().map(String::as_str).collect();
        let sessions: Vec<(&str, &str)> = update
            .sessions
            .iter()
            .map(|(u, s)| (u.as_str(), s.as_str()))
            .collect();
        Ok(self.record_batch(&users, &sessions).await?)
    }

    async fn unique_users(&mut self) -> websight_core::Result<f64> {
        Ok(RedisGateState::unique_users(self).await? as f64)
    }

    async fn sessions_of(&mut self, user: &str) -> websight_core::Result<u64> {
        Ok(RedisGateState::sessions_of(self, user).await?)
    }
}
