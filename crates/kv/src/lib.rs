//! Ephemeral shared state: nothing here is a source of truth.
//!
//! Each facility has an in-process variant (the embedded default: one process, nothing to
//! install) and a Redis variant (several API and worker processes sharing it):
//!
//! * [`Wakeup`] — "a job was committed, look now": turns the worker's poll into a
//!   millisecond start. Losing a wake-up only delays a job until the next poll.
//! * [`RateLimiter`] — fixed-window counters (`RATE_LIMIT_*`), shared across API instances
//!   through Redis.
//! * [`Cache`] — short-lived values with a time to live.
//! * [`Fanout`] — "these users have new notifications": wakes the WebSocket connections of
//!   those users, in this process or (through Redis pub/sub) in every API process.
//!
//! All Redis keys are under one namespace (`monservice:` by default) so a test or a second
//! deployment can share a server without collisions.

use deadpool_redis::redis::{self, AsyncCommands};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

mod fanout;
pub use fanout::{Fanout, FanoutSubscription, Push};

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("redis unavailable: {0}")]
    Redis(String),
}

impl From<redis::RedisError> for KvError {
    fn from(e: redis::RedisError) -> Self {
        KvError::Redis(e.to_string())
    }
}
impl From<deadpool_redis::PoolError> for KvError {
    fn from(e: deadpool_redis::PoolError) -> Self {
        KvError::Redis(e.to_string())
    }
}

/// Where and how to connect, for the pool and the dedicated connections alike: with
/// TCP_NODELAY (redis-rs leaves Nagle's algorithm on). Commands from concurrent tasks share a
/// multiplexed connection, and a small write behind one not yet acknowledged would otherwise
/// wait for Redis's delayed ACK (~40 ms on Linux).
fn connection_info(url: &str) -> Result<redis::ConnectionInfo, KvError> {
    Ok(redis::IntoConnectionInfo::into_connection_info(url)?
        .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true)))
}

/// A Redis connection pool plus the client for dedicated (pub/sub) connections.
#[derive(Clone)]
pub struct Redis {
    pool: deadpool_redis::Pool,
    client: redis::Client,
    namespace: Arc<str>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never print it.
        f.debug_struct("Redis")
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl Redis {
    /// Builds the pool (connections are opened lazily). `max_size` is `REDIS_MAX_CONNECTIONS`.
    pub fn new(url: &str, max_size: usize, namespace: &str) -> Result<Self, KvError> {
        let info = connection_info(url)?;
        let client = redis::Client::open(info.clone())?;
        let pool = deadpool_redis::Pool::builder(deadpool_redis::Manager::new(info)?)
            .max_size(max_size.max(1))
            .runtime(deadpool_redis::Runtime::Tokio1)
            .build()
            .map_err(|e| KvError::Redis(e.to_string()))?;
        Ok(Self {
            pool,
            client,
            namespace: Arc::from(namespace),
        })
    }

    fn key(&self, k: &str) -> String {
        format!("{}:{k}", self.namespace)
    }

    /// The prefix of every key and channel.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `PING`, for `/ready`.
    pub async fn ping(&self) -> Result<(), KvError> {
        let mut c = self.pool.get().await?;
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(())
    }
}

/// Wakes workers when a job is committed.
#[derive(Clone, Debug)]
pub enum Wakeup {
    InProcess(Arc<Notify>),
    Redis(Redis),
}

impl Wakeup {
    pub fn in_process() -> Self {
        Wakeup::InProcess(Arc::new(Notify::new()))
    }

    fn channel(r: &Redis) -> String {
        r.key("jobs:wake")
    }

    /// Tells the workers to look now. Best effort: a failure is logged, never returned, since
    /// the job is already safe in the database and will be found at the next poll.
    pub async fn notify(&self) {
        match self {
            Wakeup::InProcess(n) => n.notify_waiters(),
            Wakeup::Redis(r) => {
                let res: Result<(), KvError> = async {
                    let mut c = r.pool.get().await?;
                    let _: i64 = c.publish(Self::channel(r), "1").await?;
                    Ok(())
                }
                .await;
                if let Err(e) = res {
                    tracing::warn!(error = %e, "job wake-up not published; workers will poll");
                }
            }
        }
    }

    /// Starts listening. The returned [`WakeListener`] resolves `wait` on each notification
    /// after this call (or when its timeout passes).
    pub async fn listen(&self) -> WakeListener {
        match self {
            Wakeup::InProcess(n) => WakeListener {
                notify: n.clone(),
                _task: None,
            },
            Wakeup::Redis(r) => {
                // A dedicated pub/sub connection feeds a local Notify; it reconnects on failure.
                let local = Arc::new(Notify::new());
                let (r, fwd) = (r.clone(), local.clone());
                let task = tokio::spawn(async move {
                    loop {
                        match r.client.get_async_pubsub().await {
                            Ok(mut ps) => {
                                if let Err(e) = ps.subscribe(Self::channel(&r)).await {
                                    tracing::warn!(error = %e, "wake-up subscribe failed");
                                } else {
                                    // Anything may have been committed while we were away.
                                    fwd.notify_waiters();
                                    let mut stream = ps.on_message();
                                    while stream.next().await.is_some() {
                                        fwd.notify_waiters();
                                    }
                                }
                            }
                            Err(e) => tracing::warn!(error = %e, "wake-up connection failed"),
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                });
                WakeListener {
                    notify: local,
                    _task: Some(Arc::new(AbortOnDrop(task))),
                }
            }
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One worker's subscription to wake-ups.
#[derive(Clone)]
pub struct WakeListener {
    notify: Arc<Notify>,
    _task: Option<Arc<AbortOnDrop>>,
}

impl WakeListener {
    /// Returns a future that completes at the next wake-up. Create it *before* checking the
    /// queue, then await it (with a timeout) if the queue was empty, so no wake-up is missed.
    pub fn notified(&self) -> tokio::sync::futures::OwnedNotified {
        self.notify.clone().notified_owned()
    }
}

/// The outcome of counting one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateDecision {
    Allowed {
        remaining: u32,
    },
    /// Refused; the window resets after this long (the `Retry-After` header).
    Limited {
        retry_after: Duration,
    },
}

/// In-process fixed-window counters.
#[derive(Clone, Debug, Default)]
pub struct LocalCounters(Arc<Mutex<HashMap<String, (Instant, u32)>>>);

impl LocalCounters {
    fn hit(&self, key: &str, limit: u32, window: Duration) -> RateDecision {
        let now = Instant::now();
        let Ok(mut m) = self.0.lock() else {
            // A poisoned lock only means another thread panicked mid-update; never refuse.
            return RateDecision::Allowed { remaining: 0 };
        };
        if m.len() > 100_000 {
            m.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = m.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        decide(
            entry.1,
            limit,
            window.saturating_sub(now.duration_since(entry.0)),
        )
    }
}

/// Fixed-window rate limiting: at most `limit` hits per `window` per key.
///
/// With Redis the counters are shared by every process. If Redis does not answer, the
/// limiter falls back to this process's own counters (and logs it): limits still hold, per
/// process, and no request is refused or failed because of the limiter itself.
#[derive(Clone, Debug)]
pub enum RateLimiter {
    InProcess(LocalCounters),
    Redis {
        redis: Redis,
        fallback: LocalCounters,
    },
}

impl RateLimiter {
    pub fn in_process() -> Self {
        RateLimiter::InProcess(LocalCounters::default())
    }

    pub fn redis(redis: Redis) -> Self {
        RateLimiter::Redis {
            redis,
            fallback: LocalCounters::default(),
        }
    }

    /// Counts one hit for `key`.
    pub async fn hit(&self, key: &str, limit: u32, window: Duration) -> RateDecision {
        match self {
            RateLimiter::InProcess(local) => local.hit(key, limit, window),
            RateLimiter::Redis { redis, fallback } => {
                match Self::redis_hit(redis, key, limit, window).await {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(error = %e, "rate limiter: redis unavailable, counting in process");
                        fallback.hit(key, limit, window)
                    }
                }
            }
        }
    }

    async fn redis_hit(
        r: &Redis,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, KvError> {
        let k = r.key(&format!("rl:{key}"));
        let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let mut c = r.pool.get().await?;
        let (count, ttl): (u32, i64) = redis::pipe()
            .atomic()
            .incr(&k, 1)
            .cmd("PEXPIRE")
            .arg(&k)
            .arg(ms)
            .arg("NX")
            .ignore()
            .pttl(&k)
            .query_async(&mut c)
            .await?;
        let left = Duration::from_millis(u64::try_from(ttl.max(0)).unwrap_or(0));
        Ok(decide(count, limit, left))
    }
}

fn decide(count: u32, limit: u32, left: Duration) -> RateDecision {
    if count <= limit {
        RateDecision::Allowed {
            remaining: limit - count,
        }
    } else {
        RateDecision::Limited {
            retry_after: left.max(Duration::from_secs(1)),
        }
    }
}

/// Short-lived values with a time to live.
#[derive(Clone, Debug)]
pub enum Cache {
    InProcess(Arc<Mutex<HashMap<String, (Instant, String)>>>),
    Redis(Redis),
}

impl Cache {
    pub fn in_process() -> Self {
        Cache::InProcess(Arc::default())
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        match self {
            Cache::InProcess(map) => {
                let m = map.lock().map_err(|_| KvError::Redis("poisoned".into()))?;
                Ok(m.get(key)
                    .filter(|(exp, _)| *exp > Instant::now())
                    .map(|(_, v)| v.clone()))
            }
            Cache::Redis(r) => {
                let mut c = r.pool.get().await?;
                Ok(c.get(r.key(&format!("cache:{key}"))).await?)
            }
        }
    }

    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), KvError> {
        match self {
            Cache::InProcess(map) => {
                let mut m = map.lock().map_err(|_| KvError::Redis("poisoned".into()))?;
                let now = Instant::now();
                if m.len() > 100_000 {
                    m.retain(|_, (exp, _)| *exp > now);
                }
                m.insert(key.to_string(), (now + ttl, value.to_string()));
                Ok(())
            }
            Cache::Redis(r) => {
                let mut c = r.pool.get().await?;
                let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                let _: () = c.pset_ex(r.key(&format!("cache:{key}")), value, ms).await?;
                Ok(())
            }
        }
    }

    /// Reads and removes `key` in one step (Redis `GETDEL`): of two callers racing for the same
    /// key, exactly one gets the value. Expired values are `None`.
    pub async fn take(&self, key: &str) -> Result<Option<String>, KvError> {
        match self {
            Cache::InProcess(map) => {
                let mut m = map.lock().map_err(|_| KvError::Redis("poisoned".into()))?;
                Ok(m.remove(key)
                    .filter(|(exp, _)| *exp > Instant::now())
                    .map(|(_, v)| v))
            }
            Cache::Redis(r) => {
                let mut c = r.pool.get().await?;
                Ok(redis::cmd("GETDEL")
                    .arg(r.key(&format!("cache:{key}")))
                    .query_async(&mut c)
                    .await?)
            }
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        match self {
            Cache::InProcess(map) => {
                map.lock()
                    .map_err(|_| KvError::Redis("poisoned".into()))?
                    .remove(key);
                Ok(())
            }
            Cache::Redis(r) => {
                let mut c = r.pool.get().await?;
                let _: i64 = c.del(r.key(&format!("cache:{key}"))).await?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn connections_are_opened_with_tcp_nodelay() {
        // Nothing is contacted: the pool opens connections lazily.
        let info = connection_info("redis://:secret@127.0.0.1:6379/2").unwrap();
        assert!(info.tcp_settings().nodelay());
        assert_eq!(
            info.redis_settings().db(),
            2,
            "the rest of the URL still applies"
        );
        let r = Redis::new("redis://127.0.0.1:6379/0", 4, "t").unwrap();
        assert!(r.client.get_connection_info().tcp_settings().nodelay());
    }
}
