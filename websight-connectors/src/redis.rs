//! The security gate's state in Redis: known users in a Bloom filter (RedisBloom's `BF.*`
//! when the module is loaded, else a Bloom filter on a Redis bitmap), unique users in a
//! HyperLogLog (`PFADD`/`PFCOUNT`/`PFMERGE`), and sessions per user in a hash (each session
//! counted once, atomically, by a small Lua script) — every call takes a batch and costs one pipelined round trip, never one per
//! event, and every write is idempotent, so a retry never counts twice.
//!
//! The connection reconnects by itself; a call that fails because the server went away is
//! retried with capped exponential backoff.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use websight_core::gate::hash64;

use crate::backoff::Backoff;
use crate::{ConnectorError, Result};

/// Bits of the bitmap Bloom filter (2^24 bits = 2 MiB) and hashes per key: about 0.1% false
/// positives at a million users.
const BITMAP_BITS: u64 = 1 << 24;
const BITMAP_HASHES: u64 = 10;

/// The longest a connection attempt or a call may take before it is retried.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Counts each `(user, session)` pair's session once: `SADD` to the seen sessions, and only
/// if it was new, `HINCRBY` the user's count.
const COUNT_NEW_SESSIONS: &str = r"
for i = 1, #ARGV, 2 do
  if redis.call('SADD', KEYS[1], ARGV[i + 1]) == 1 then
    redis.call('HINCRBY', KEYS[2], ARGV[i], 1)
  end
end
return 0";

/// Gate state shared by every pipeline instance through one Redis server.
#[derive(Clone)]
pub struct RedisGateState {
    conn: ConnectionManager,
    client: redis::Client,
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
        let client = redis::Client::open(url)?;
        let conn = Self::manager(&client).await?;
        Ok(RedisGateState {
            conn,
            client,
            prefix: prefix.to_owned(),
            redisbloom: false,
            retries: 8,
        })
    }

    async fn manager(client: &redis::Client) -> Result<ConnectionManager> {
        // Replies lost with a dying server time out instead of hanging; the call is retried.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CALL_TIMEOUT)
            .set_response_timeout(CALL_TIMEOUT)
            .set_number_of_retries(2);
        Ok(ConnectionManager::new_with_config(client.clone(), config).await?)
    }

    /// Whether known users use RedisBloom (else a bitmap).
    pub fn uses_redisbloom(&self) -> bool {
        self.redisbloom
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Runs a pipeline, retrying while the server is unreachable. A call that hangs (a
    /// reconnection that never completes) times out and gets a fresh connection.
    async fn run<T: redis::FromRedisValue>(&mut self, pipe: &redis::Pipeline) -> Result<T> {
        let mut backoff = Backoff::new(
            self.retries,
            Duration::from_millis(50),
            Duration::from_secs(2),
        );
        loop {
            let error =
                match tokio::time::timeout(CALL_TIMEOUT, pipe.query_async(&mut self.conn)).await {
                    Ok(Ok(v)) => return Ok(v),
                    Ok(Err(e))
                        if e.is_io_error()
                            || e.is_timeout()
                            || e.is_connection_dropped()
                            || e.is_connection_refusal()
                            || e.is_unrecoverable_error() =>
                    {
                        e.to_string()
                    }
                    Ok(Err(e)) => return Err(e.into()),
                    Err(_) => {
                        if let Ok(Ok(conn)) =
                            tokio::time::timeout(CALL_TIMEOUT, Self::manager(&self.client)).await
                        {
                            self.conn = conn;
                        }
                        "no reply in time".to_owned()
                    }
                };
            if !backoff.retry("redis call", error.clone()).await {
                return Err(ConnectorError::Protocol {
                    reason: format!(
                        "redis unreachable after {} retries: {error}",
                        backoff.attempts()
                    ),
                });
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
    /// it is seen. One pipelined round trip per batch.
    pub async fn record_sessions(&mut self, pairs: &[(&str, &str)]) -> Result<()> {
        self.record_batch(&[], pairs).await
    }

    /// A gate batch's whole update in one pipelined round trip: known and unique users, and
    /// new sessions counted per user. Every command is idempotent, so a retry after a lost
    /// reply counts nothing twice.
    pub async fn record_batch(&mut self, users: &[&str], pairs: &[(&str, &str)]) -> Result<()> {
        if users.is_empty() && pairs.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        self.queue_remember(&mut pipe, users);
        self.queue_unique(&mut pipe, users);
        if !pairs.is_empty() {
            // Atomic per pair, so a retried batch finds its sessions seen and counts nothing.
            let cmd = pipe
                .cmd("EVAL")
                .arg(COUNT_NEW_SESSIONS)
                .arg(2)
                .arg(self.key("seen_sessions"))
                .arg(self.key("sessions_per_user"));
            for (user, session) in pairs {
                cmd.arg(*user).arg(*session);
            }
            cmd.ignore();
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
