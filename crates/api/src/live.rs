//! One read for many live connections (docs/notifications.md, "Live push").
//!
//! Publishing a rota wakes every open connection of every assigned member at the same moment.
//! If each connection read its own new notifications, a publication seen by 2,000 connections
//! would queue 2,000 queries on the pool of the threads holding them. Instead, the
//! connections of one HTTP worker thread ask that thread's [`LiveReader`]: it takes every
//! request queued by the time it runs and answers them all from one statement
//! ([`notifications::Notifications::newer_for`]), each notification rendered once as the frame
//! that all its user's connections send.

use app::AppContext;
use kernel::{OrganizationId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Requests answered by one statement at most (the store chunks beyond its own limit).
const MAX_BATCH: usize = 1_000;

/// A notification ready to send: its frame, rendered once for every connection of its user.
#[derive(Debug)]
pub struct LiveItem {
    pub id: uuid::Uuid,
    pub created_at_ms: i64,
    /// The `notification` frame (`routes::ws`), JSON text.
    pub frame: String,
}

/// One user's notifications from the instant asked (oldest first, at most `limit`).
pub type Found = Arc<[LiveItem]>;

/// The read failed (the database is away): the connection retries later.
#[derive(Debug)]
pub struct ReadFailed;

struct Want {
    org: OrganizationId,
    user: UserId,
    from_ms: i64,
    reply: oneshot::Sender<Result<Found, ReadFailed>>,
}

/// Batches the live connections' reads of one HTTP worker thread (see the module doc).
pub struct LiveReader {
    ctx: AppContext,
    limit: u32,
    tx: OnceLock<mpsc::UnboundedSender<Want>>,
}

impl LiveReader {
    /// A reader using `ctx` (the worker thread's context, with its own pool), answering at
    /// most `limit` notifications per user and read. Its task starts with the first read, on
    /// the runtime of the thread that asks.
    pub fn new(ctx: AppContext, limit: u32) -> Self {
        Self {
            ctx,
            limit,
            tx: OnceLock::new(),
        }
    }

    /// The most a read answers per user: a connection given this many asks again from the
    /// last one's creation time.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// `user`'s notifications created at or after `from_ms`, read together with every other
    /// request queued meanwhile.
    pub async fn newer(
        &self,
        org: OrganizationId,
        user: UserId,
        from_ms: i64,
    ) -> Result<Found, ReadFailed> {
        let tx = self.tx.get_or_init(|| {
            // Unbounded, yet bounded by the connections: each has at most one request queued.
            let (tx, rx) = mpsc::unbounded_channel();
            actix_web::rt::spawn(run(self.ctx.clone(), self.limit, rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        tx.send(Want {
            org,
            user,
            from_ms,
            reply,
        })
        .map_err(|_| ReadFailed)?;
        answer.await.unwrap_or(Err(ReadFailed))
    }
}

/// Answers batches until every sender is gone (the worker thread's app stopped).
async fn run(ctx: AppContext, limit: u32, mut rx: mpsc::UnboundedReceiver<Want>) {
    let mut batch = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        answer(&ctx, limit, &mut batch).await;
    }
}

async fn answer(ctx: &AppContext, limit: u32, batch: &mut Vec<Want>) {
    let wants: Vec<_> = batch.iter().map(|w| (w.org, w.user, w.from_ms)).collect();
    match ctx.notifications.newer_for(&wants, limit).await {
        Ok(found) => {
            let found: HashMap<_, Found> = found
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().filter_map(render).collect()))
                .collect();
            let none: Found = Arc::new([]);
            for w in batch.drain(..) {
                let mine = found.get(&(w.org, w.user)).unwrap_or(&none).clone();
                // A connection that closed meanwhile no longer waits for its answer.
                let _ = w.reply.send(Ok(mine));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, users = batch.len(), "live notifications read failed");
            for w in batch.drain(..) {
                let _ = w.reply.send(Err(ReadFailed));
            }
        }
    }
}

fn render(n: notifications::Notification) -> Option<LiveItem> {
    Some(LiveItem {
        id: n.id.as_uuid(),
        created_at_ms: n.created_at.timestamp_millis(),
        frame: crate::routes::ws::notification_frame(n)?,
    })
}
