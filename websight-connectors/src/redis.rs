//! The security gate's state in Redis: known users in a Bloom filter (RedisBloom's `BF.*`,
//! scaling by itself, when the module is loaded; else a Bloom filter on a Redis bitmap),
//! both sized by the gate's [`GateConfig`] with core's [`bloom_size`] (the embedded
//! filter's rule), with fill and false-positive rate reported; unique users in a
//! HyperLogLog (`PFADD`/`PFCOUNT`/`PFMERGE`), and sessions per user in a hash (each session
//! counted once, atomically, by a small Lua script; session ids kept a day of event time and
//! persons without a new visit for the gate's visit-count retention forgotten, so the state
//! holds recent traffic, not the stream's whole history) — every call takes a batch and costs one pipelined round trip, never one per
//! event, and every write is idempotent, so a retry never counts twice.
//!
//! The connection reconnects by itself; a call that fails because the server went away is
//! retried with capped exponential backoff.

use std::time::Duration;

use chrono::{DateTime, Utc};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use websight_core::gate::{FilterStats, GateConfig, bloom_size, hash64};
use websight_core::snapshot::Snapshot;

use crate::backoff::Backoff;
use crate::{ConnectorError, Result};

/// The longest a connection attempt or a call may take before it is retried.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Session ids are remembered (to count a retried batch once) for a day of event time.
const SEEN_SESSION_SECONDS: i64 = 86_400;

/// Counts each `(user, session)` pair's session once, as of the batch's time `at`: `ZADD NX`
/// to the seen sessions (scored by `at`), and only if it was new, `HINCRBY` the user's count
/// and note `at` as the user's last visit (never moved back). Then forgets sessions seen
/// before the first cut-off and, up to 10,000 per call, users whose last visit is before the
/// second. `at` is `+inf` before the gate knows the time: such sessions and their users are
/// taken as seen at the first known `at` — as are users counted by a version that
/// kept no last visits (found once, when the count holds more users than `last_visit`: one
/// pass over the hash, then none), so no user is kept for ever.
/// A `seen_sessions` set written before sessions were scored is replaced once.
const COUNT_NEW_SESSIONS: &str = r"
if redis.call('TYPE', KEYS[1]).ok == 'set' then
  redis.call('DEL', KEYS[1])
end
local at = ARGV[1]
for i = 4, #ARGV, 2 do
  if redis.call('ZADD', KEYS[1], 'NX', at, ARGV[i + 1]) == 1 then
    redis.call('HINCRBY', KEYS[2], ARGV[i], 1)
    if at ~= '+inf' then
      redis.call('ZADD', KEYS[3], 'GT', at, ARGV[i])
    end
  end
end
if at ~= '+inf' and redis.call('HLEN', KEYS[2]) > redis.call('ZCARD', KEYS[3]) then
  local cursor = '0'
  repeat
    local page = redis.call('HSCAN', KEYS[2], cursor, 'COUNT', 1000)
    cursor = page[1]
    for j = 1, #page[2], 2 do
      redis.call('ZADD', KEYS[3], 'NX', at, page[2][j])
    end
  until cursor == '0'
  for _, session in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '+inf', '+inf')) do
    redis.call('ZADD', KEYS[1], 'XX', at, session)
  end
end
if ARGV[2] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
  local silent = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[3], 'LIMIT', 0, 10000)
  for _, user in ipairs(silent) do
    redis.call('HDEL', KEYS[2], user)
    redis.call('ZREM', KEYS[3], user)
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
    /// Bits and hash functions of the bitmap filter.
    bitmap: (u64, u32),
    /// The filter's configured false-positive rate and capacity.
    fp_rate: f64,
    capacity: usize,
    /// [`GateConfig::visit_count_retention_seconds`].
    retention_seconds: i64,
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
    /// RedisBloom when the server has it loaded. Filters sized by [`GateConfig::default`].
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisGateState> {
        Self::connect_sized(url, prefix, &GateConfig::default()).await
    }

    /// [`RedisGateState::connect`] with the known-visitor filter sized for `config`'s
    /// capacity and false-positive rate (RedisBloom adds sub-filters beyond the capacity;
    /// the bitmap does not, and its [`RedisGateState::known_filter`] shows it filling).
    pub async fn connect_sized(
        url: &str,
        prefix: &str,
        config: &GateConfig,
    ) -> Result<RedisGateState> {
        let mut state = Self::connect_with_bitmap_sized(url, prefix, config).await?;
        let modules: redis::Value = redis::cmd("MODULE")
            .arg("LIST")
            .query_async(&mut state.conn)
            .await?;
        state.redisbloom = format!("{modules:?}").to_lowercase().contains("bf");
        state.reserve().await?;
        Ok(state)
    }

    /// Creates the RedisBloom filter at the configured size (sub-filters twice as large
    /// with a tighter rate beyond the capacity). Exists already: fine.
    async fn reserve(&mut self) -> Result<()> {
        if !self.redisbloom {
            return Ok(());
        }
        let reserved: redis::RedisResult<()> = redis::cmd("BF.RESERVE")
            .arg(self.key("known_users"))
            .arg(self.fp_rate)
            .arg(self.capacity)
            .arg("EXPANSION")
            .arg(2)
            .query_async(&mut self.conn)
            .await;
        match reserved {
            Err(e) if !e.to_string().to_lowercase().contains("exists") => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Connects without RedisBloom: the Bloom filter lives on a plain bitmap.
    pub async fn connect_with_bitmap(url: &str, prefix: &str) -> Result<RedisGateState> {
        Self::connect_with_bitmap_sized(url, prefix, &GateConfig::default()).await
    }

    /// [`RedisGateState::connect_with_bitmap`] sized for `config`.
    pub async fn connect_with_bitmap_sized(
        url: &str,
        prefix: &str,
        config: &GateConfig,
    ) -> Result<RedisGateState> {
        config.validate()?;
        let (bits, hashes) = bloom_size(config.known_users_capacity, config.known_users_fp_rate)?;
        // Redis strings stop at 2^32 bits.
        if bits > 1 << 32 {
            return Err(ConnectorError::Protocol {
                reason: format!("a known-users bitmap of {bits} bits exceeds Redis's 2^32"),
            });
        }
        let client = redis::Client::open(url)?;
        let conn = Self::manager(&client).await?;
        Ok(RedisGateState {
            conn,
            client,
            prefix: prefix.to_owned(),
            redisbloom: false,
            retries: 8,
            bitmap: (bits, hashes),
            fp_rate: config.known_users_fp_rate,
            capacity: config.known_users_capacity,
            retention_seconds: config.visit_count_retention_seconds,
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

    fn bit_positions(&self, user: &str) -> impl Iterator<Item = u64> + use<> {
        // Double hashing (Kirsch–Mitzenmacher) from one 64-bit hash.
        let h = hash64(user.as_bytes());
        let (h1, h2) = (h & 0xFFFF_FFFF, (h >> 32) | 1);
        let (bits, hashes) = self.bitmap;
        (0..u64::from(hashes)).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2))) % bits)
    }

    /// The known-visitor filter's fill and false-positive rate: RedisBloom's `BF.INFO`
    /// (items against capacity per sub-filter, each at its rate), or the bitmap's set bits
    /// (`BITCOUNT`: exact fill, rate = fillᵏ).
    pub async fn known_filter(&mut self) -> Result<FilterStats> {
        let key = self.key("known_users");
        let mut pipe = redis::pipe();
        if self.redisbloom {
            pipe.cmd("BF.INFO").arg(&key);
            let (info,): (Vec<redis::Value>,) = self.run(&pipe).await?;
            let field = |name: &str| -> u64 {
                info.chunks(2)
                    .find(|kv| redis::from_redis_value::<String>(&kv[0]).is_ok_and(|k| k == name))
                    .and_then(|kv| redis::from_redis_value::<u64>(&kv[1]).ok())
                    .unwrap_or(0)
            };
            let (capacity, items) = (field("Capacity"), field("Number of items inserted"));
            let layers = field("Number of filters").max(1) as usize;
            let fill = items as f64 / capacity.max(1) as f64;
            return Ok(FilterStats {
                layers,
                capacity,
                items,
                bits: field("Size") * 8,
                fill: fill.min(1.0),
                // Each sub-filter holds its rate at capacity; the sum is the reserve's bound.
                false_positive_rate: fill.min(1.0) * self.fp_bound(),
            });
        }
        pipe.cmd("BITCOUNT").arg(&key);
        let (set,): (u64,) = self.run(&pipe).await?;
        let (bits, hashes) = self.bitmap;
        let fill = set as f64 / bits as f64;
        Ok(FilterStats {
            layers: 1,
            capacity: 0,
            items: 0,
            bits,
            fill,
            false_positive_rate: fill.powi(hashes as i32),
        })
    }

    fn fp_bound(&self) -> f64 {
        self.fp_rate
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
                for bit in self.bit_positions(user) {
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
            for bit in self.bit_positions(user) {
                pipe.cmd("GETBIT").arg(&key).arg(bit);
            }
        }
        let bits: Vec<u8> = self.run(&pipe).await?;
        Ok(bits
            .chunks(self.bitmap.1 as usize)
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

    /// Records `(user, session)` pairs as of event time `at` (`None`: not known yet): each
    /// session counts once for its user, however often it is seen within a day. One
    /// pipelined round trip per batch.
    pub async fn record_sessions(
        &mut self,
        pairs: &[(&str, &str)],
        at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.record_batch(&[], pairs, at).await
    }

    /// A gate batch's whole update in one pipelined round trip: known and unique users, and
    /// new sessions counted per user as of `at`. Every command is idempotent, so a retry after
    /// a lost reply counts nothing twice.
    pub async fn record_batch(
        &mut self,
        users: &[&str],
        pairs: &[(&str, &str)],
        at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        if users.is_empty() && pairs.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        self.queue_remember(&mut pipe, users);
        self.queue_unique(&mut pipe, users);
        if !pairs.is_empty() {
            // Atomic per pair, so a retried batch finds its sessions seen and counts nothing.
            let at = at.map(|t| t.timestamp());
            let cut =
                |seconds: i64| at.map_or(String::new(), |t| t.saturating_sub(seconds).to_string());
            let cmd = pipe
                .cmd("EVAL")
                .arg(COUNT_NEW_SESSIONS)
                .arg(3)
                .arg(self.key("seen_sessions"))
                .arg(self.key("sessions_per_user"))
                .arg(self.key("last_visit"))
                .arg(at.map_or("+inf".to_owned(), |t| t.to_string()))
                .arg(cut(SEEN_SESSION_SECONDS))
                .arg(cut(self.retention_seconds));
            for (user, session) in pairs {
                cmd.arg(*user).arg(*session);
            }
            cmd.ignore();
        }
        self.run::<()>(&pipe).await
    }

    /// A run's own number under the prefix (e.g. how many inputs it sent), if set.
    pub async fn counter(&mut self, name: &str) -> Result<Option<u64>> {
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(self.key(name));
        let (n,): (Option<u64>,) = self.run(&pipe).await?;
        Ok(n)
    }

    /// Sets a run's own number under the prefix.
    pub async fn set_counter(&mut self, name: &str, value: u64) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("SET").arg(self.key(name)).arg(value).ignore();
        self.run::<()>(&pipe).await
    }

    /// Adds one to a run's own number under the prefix; returns the new value.
    pub async fn increment(&mut self, name: &str) -> Result<u64> {
        let mut pipe = redis::pipe();
        pipe.cmd("INCR").arg(self.key(name));
        let (n,): (u64,) = self.run(&pipe).await?;
        Ok(n)
    }

    /// Forgets the gate state (known, unique and per-user visits) under the prefix.
    pub async fn reset(&mut self) -> Result<()> {
        let mut pipe = redis::pipe();
        for key in STATE_KEYS {
            pipe.cmd("DEL").arg(self.key(key)).ignore();
        }
        self.run::<()>(&pipe).await?;
        self.reserve().await
    }

    /// Session ids remembered and persons counted: what the visit counts hold now (bounded by
    /// a day of sessions and the retention's persons).
    pub async fn held_sessions(&mut self) -> Result<(u64, u64)> {
        let mut pipe = redis::pipe();
        pipe.cmd("ZCARD").arg(self.key("seen_sessions"));
        pipe.cmd("HLEN").arg(self.key("sessions_per_user"));
        self.run(&pipe).await
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
        Ok(self.record_batch(&users, &sessions, update.at).await?)
    }

    async fn unique_users(&mut self) -> websight_core::Result<f64> {
        Ok(RedisGateState::unique_users(self).await? as f64)
    }

    async fn sessions_of(&mut self, user: &str) -> websight_core::Result<u64> {
        Ok(RedisGateState::sessions_of(self, user).await?)
    }

    async fn known_filter(&mut self) -> websight_core::Result<Option<FilterStats>> {
        Ok(Some(RedisGateState::known_filter(self).await?))
    }

    /// The state's keys as Redis `DUMP`s (hex), so a checkpoint can put the server back.
    async fn snapshot(&mut self) -> websight_core::Result<Option<Snapshot>> {
        let mut pipe = redis::pipe();
        for key in STATE_KEYS {
            pipe.cmd("DUMP").arg(self.key(key));
        }
        let dumps: Vec<Option<Vec<u8>>> = self.run(&pipe).await?;
        let keys: serde_json::Map<String, serde_json::Value> = STATE_KEYS
            .iter()
            .zip(dumps)
            .map(|(key, dump)| {
                let hex = dump.map(|d| {
                    let mut hex = String::new();
                    websight_core::hash::push_hex(&mut hex, &d);
                    hex
                });
                ((*key).to_owned(), hex.into())
            })
            .collect();
        Ok(Some(Snapshot::of(&keys)?))
    }

    /// Puts every key back as it was at the checkpoint (`RESTORE … REPLACE`, or deleted when
    /// it did not exist yet): what batches after it added is undone, so their replay judges
    /// exactly as the first time.
    async fn restore(&mut self, snapshot: &Snapshot) -> websight_core::Result<()> {
        let snapshot: serde_json::Map<String, serde_json::Value> = snapshot.parse()?;
        let mut pipe = redis::pipe();
        for key in STATE_KEYS {
            let name = self.key(key);
            match snapshot[key].as_str() {
                Some(dump) => {
                    let bytes = websight_core::hash::from_hex(dump).ok_or_else(|| {
                        ConnectorError::Protocol {
                            reason: format!("the checkpoint's {key} is not hex"),
                        }
                    })?;
                    pipe.cmd("RESTORE")
                        .arg(&name)
                        .arg(0)
                        .arg(bytes)
                        .arg("REPLACE")
                        .ignore();
                }
                None => {
                    pipe.cmd("DEL").arg(&name).ignore();
                }
            }
        }
        Ok(self.run::<()>(&pipe).await?)
    }
}

/// The keys of the gate state, under the prefix.
const STATE_KEYS: [&str; 5] = [
    "known_users",
    "unique_users",
    "seen_sessions",
    "sessions_per_user",
    "last_visit",
];

/// [`Checkpoints`](websight_core::flow::Checkpoints) in Redis: the last one under
/// `{prefix}checkpoint` (one `SET`, atomic), every `every` batches — the servers' counterpart
/// of [`websight_core::flow::FileCheckpoints`], in the same compressed JSON
/// ([`Checkpoint::write_to`](websight_core::flow::Checkpoint::write_to)).
pub struct RedisCheckpoints {
    state: RedisGateState,
    every: u64,
}

impl RedisCheckpoints {
    /// Checkpoints in the Redis of `state`, under its prefix.
    pub fn new(state: &RedisGateState, every: u64) -> RedisCheckpoints {
        RedisCheckpoints {
            state: state.clone(),
            every: every.max(1),
        }
    }

    /// The last checkpoint saved, if any.
    pub async fn load(&mut self) -> Result<Option<websight_core::flow::Checkpoint>> {
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(self.state.key("checkpoint"));
        let (bytes,): (Option<Vec<u8>>,) = self.state.run(&pipe).await?;
        Ok(bytes
            .map(|b| websight_core::flow::Checkpoint::read_from(&b))
            .transpose()?)
    }
}

#[async_trait::async_trait]
impl websight_core::flow::Checkpoints for RedisCheckpoints {
    fn due(&mut self, counts: &websight_core::flow::FlowCounts) -> bool {
        counts.batches.is_multiple_of(self.every)
    }

    async fn save(
        &mut self,
        checkpoint: websight_core::flow::Checkpoint,
    ) -> websight_core::Result<u64> {
        let mut bytes = Vec::new();
        checkpoint.write_to(&mut bytes)?;
        let stored = bytes.len() as u64;
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(self.state.key("checkpoint"))
            .arg(bytes)
            .ignore();
        self.state.run::<()>(&pipe).await?;
        Ok(stored)
    }

    async fn clear(&mut self) -> websight_core::Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(self.state.key("checkpoint")).ignore();
        Ok(self.state.run::<()>(&pipe).await?)
    }
}
