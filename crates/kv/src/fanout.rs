//! "These users have new notifications": wakes the live (WebSocket) connections of those
//! users, whichever API process holds them.
//!
//! Each process has one hub: a map from user to that process's open connections, each with a
//! bounded buffer ([`CONNECTION_BUFFER`]). Routing never waits: a connection whose buffer is
//! full is dropped from the hub (its subscription then ends and the connection closes), so a
//! slow client never slows the others.
//!
//! * In process (no `REDIS_URL`): [`Fanout::publish`] wakes the local hub directly.
//! * With Redis: `publish` sends the user ids on `<namespace>:notify:users`; each process
//!   holds one subscriber connection (opened with its first [`Fanout::subscribe`]) that routes
//!   the ids to its hub. When that subscription is lost, every connection of the process is
//!   told [`Push::Reconnect`]; when it is back, every connection is woken once.
//!
//! The payload is only who to wake: the connection reads what is new from the database (the
//! source of truth), so a lost or doubled message costs at most a query, never a notification.

use crate::{AbortOnDrop, KvError, Redis};
use deadpool_redis::redis;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Wake-ups a connection may have pending before it counts as too slow and is dropped.
pub const CONNECTION_BUFFER: usize = 64;
/// User ids per published message.
const IDS_PER_MESSAGE: usize = 500;

/// What the hub tells one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Push {
    /// Its user may have new notifications: read them.
    Wake,
    /// Live delivery is interrupted (the Redis subscription was lost): ask the client to
    /// reconnect (and resume from the last id it saw), then close.
    Reconnect,
}

type Conns = HashMap<Uuid, Vec<(u64, mpsc::Sender<Push>)>>;

/// One process's connections, by user.
#[derive(Default)]
struct Hub {
    next: AtomicU64,
    conns: Mutex<Conns>,
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Conns> {
        // A poisoned lock only means a thread panicked mid-update; the map is still usable.
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, user: Uuid) -> (u64, mpsc::Receiver<Push>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(CONNECTION_BUFFER);
        self.lock().entry(user).or_default().push((id, tx));
        (id, rx)
    }

    fn remove(&self, user: Uuid, id: u64) {
        let mut m = self.lock();
        if let Some(v) = m.get_mut(&user) {
            v.retain(|(i, _)| *i != id);
            if v.is_empty() {
                m.remove(&user);
            }
        }
    }

    /// Offers `push` to one user's connections; drops those that cannot take it.
    fn offer(v: &mut Vec<(u64, mpsc::Sender<Push>)>, push: Push) {
        v.retain(|(_, tx)| match tx.try_send(push) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::info!("live connection too slow (buffer full): disconnected");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
    }

    fn wake(&self, users: &[Uuid]) {
        let mut m = self.lock();
        for u in users {
            if let Some(v) = m.get_mut(u) {
                Self::offer(v, Push::Wake);
                if v.is_empty() {
                    m.remove(u);
                }
            }
        }
    }

    fn broadcast(&self, push: Push) {
        let mut m = self.lock();
        for v in m.values_mut() {
            Self::offer(v, push);
        }
        m.retain(|_, v| !v.is_empty());
    }

    fn len(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }
}

/// Wakes users' live connections, in process or across processes through Redis.
#[derive(Clone)]
pub struct Fanout {
    hub: Arc<Hub>,
    redis: Option<Redis>,
    subscriber: Arc<Mutex<Option<AbortOnDrop>>>,
}

impl std::fmt::Debug for Fanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fanout")
            .field("redis", &self.redis)
            .field("connections", &self.hub.len())
            .finish()
    }
}

impl Fanout {
    /// One process: publishing wakes this process's connections.
    pub fn in_process() -> Self {
        Self {
            hub: Arc::default(),
            redis: None,
            subscriber: Arc::default(),
        }
    }

    /// Every process sharing the Redis namespace.
    pub fn redis(redis: Redis) -> Self {
        Self {
            redis: Some(redis),
            ..Self::in_process()
        }
    }

    fn channel(r: &Redis) -> String {
        r.key("notify:users")
    }

    /// Tells every process that `users` have new notifications. Best effort: a failure is
    /// logged (and this process's own connections are still woken); clients that miss a
    /// wake-up catch up on their next one or when they reconnect and resume.
    pub async fn publish(&self, users: &[Uuid]) {
        if users.is_empty() {
            return;
        }
        let Some(r) = &self.redis else {
            self.hub.wake(users);
            return;
        };
        let res: Result<(), KvError> = async {
            let mut c = r.pool.get().await?;
            let mut pipe = redis::pipe();
            for chunk in users.chunks(IDS_PER_MESSAGE) {
                let ids: Vec<String> = chunk.iter().map(|u| u.simple().to_string()).collect();
                pipe.cmd("PUBLISH")
                    .arg(Self::channel(r))
                    .arg(ids.join(","))
                    .ignore();
            }
            let _: () = pipe.query_async(&mut c).await?;
            Ok(())
        }
        .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, "notification fan-out not published; waking local connections only");
            self.hub.wake(users);
        }
    }

    /// Registers a live connection of `user`. Dropping the subscription unregisters it.
    /// With Redis, the first call starts this process's subscriber (on the caller's runtime).
    pub fn subscribe(&self, user: Uuid) -> FanoutSubscription {
        if let Some(r) = &self.redis {
            let mut s = self.subscriber.lock().unwrap_or_else(|p| p.into_inner());
            if s.as_ref().is_none_or(|t| t.0.is_finished()) {
                *s = Some(AbortOnDrop(tokio::spawn(subscriber(
                    r.clone(),
                    self.hub.clone(),
                ))));
            }
        }
        let (id, rx) = self.hub.add(user);
        FanoutSubscription {
            rx,
            hub: self.hub.clone(),
            user,
            id,
        }
    }

    /// Live connections registered in this process.
    pub fn connections(&self) -> usize {
        self.hub.len()
    }
}

/// The Redis subscriber of one process: routes published ids to the hub, reconnecting on
/// failure.
async fn subscriber(r: Redis, hub: Arc<Hub>) {
    let channel = Fanout::channel(&r);
    loop {
        match r.client.get_async_pubsub().await {
            Ok(mut ps) => match ps.subscribe(&channel).await {
                Ok(()) => {
                    // Anything may have been delivered while nobody listened.
                    hub.broadcast(Push::Wake);
                    let mut stream = ps.on_message();
                    while let Some(msg) = stream.next().await {
                        let payload: String = msg.get_payload().unwrap_or_default();
                        let users: Vec<Uuid> = payload
                            .split(',')
                            .filter_map(|s| Uuid::try_parse(s.trim()).ok())
                            .collect();
                        hub.wake(&users);
                    }
                    tracing::warn!(
                        "notification fan-out subscription lost; live connections told to reconnect"
                    );
                    hub.broadcast(Push::Reconnect);
                }
                Err(e) => tracing::warn!(error = %e, "notification fan-out subscribe failed"),
            },
            Err(e) => tracing::warn!(error = %e, "notification fan-out connection failed"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One live connection's registration: its wake-ups, until dropped.
pub struct FanoutSubscription {
    rx: mpsc::Receiver<Push>,
    hub: Arc<Hub>,
    user: Uuid,
    id: u64,
}

impl FanoutSubscription {
    /// The next push; `None` once the hub dropped this connection (too slow).
    pub async fn recv(&mut self) -> Option<Push> {
        self.rx.recv().await
    }
}

impl Drop for FanoutSubscription {
    fn drop(&mut self) {
        self.hub.remove(self.user, self.id);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn wakes_only_the_users_named_and_unregisters_on_drop() {
        let f = Fanout::in_process();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut sa = f.subscribe(a);
        let mut sb = f.subscribe(b);
        assert_eq!(f.connections(), 2);
        f.publish(&[a]).await;
        assert_eq!(sa.recv().await, Some(Push::Wake));
        assert!(sb.rx.try_recv().is_err());
        drop(sb);
        assert_eq!(f.connections(), 1);
    }

    #[tokio::test]
    async fn a_full_buffer_drops_the_connection_without_waiting() {
        let f = Fanout::in_process();
        let u = Uuid::new_v4();
        let mut slow = f.subscribe(u);
        for _ in 0..CONNECTION_BUFFER {
            f.publish(&[u]).await;
        }
        assert_eq!(f.connections(), 1);
        f.publish(&[u]).await;
        assert_eq!(f.connections(), 0, "dropped when its buffer overflowed");
        for _ in 0..CONNECTION_BUFFER {
            assert_eq!(slow.recv().await, Some(Push::Wake));
        }
        assert_eq!(slow.recv().await, None, "then its subscription ends");
    }
}
