//! The outbox: [`kernel::DomainEvent`]s written in the transaction of the change that caused
//! them, read in order by whoever delivers them (the notifications capability). Recording
//! events also enqueues a `notifications.dispatch` job in the same transaction, and a
//! `notifications.reminders` job when they may make a reminder due (see
//! [`notifications::reminders::reschedules`]).

use crate::jobs::{from_ms, ms};
use crate::sql::{all, decode, exec};
use chrono::{DateTime, Utc};
use kernel::{DepartmentId, DomainEvent, OrganizationId, UserId};
use sea_orm::{ConnectionTrait, FromQueryResult};
use teams::StoreError;
use uuid::Uuid;

/// Whether [`record`] queued work for the workers (a dispatch, reminders). The caller wakes
/// them once the transaction has committed, so what the events tell goes out at once rather
/// than at the workers' next poll.
#[must_use = "wake the workers after the commit (Queued::wake)"]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Queued(bool);

impl Queued {
    /// Wakes the workers if work was queued. Call it after the commit: before, a worker could
    /// look and find nothing.
    pub async fn wake(self, wakeup: &kv::Wakeup) {
        if self.0 {
            wakeup.notify().await;
        }
    }
}

/// Records events on `conn`, normally the open transaction of the change: one statement
/// whatever their number.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    events: &[DomainEvent],
    now: DateTime<Utc>,
) -> Result<Queued, StoreError> {
    // Chunks keep each statement under SQLite's bound-parameter limit.
    for chunk in events.chunks(500) {
        let mut sql = String::from(
            "INSERT INTO outbox_events (id, organization_id, kind, department_id, actor_id, \
             user_id, payload, occurred_at) VALUES ",
        );
        let mut values = Vec::with_capacity(chunk.len() * 8);
        for (i, e) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?)");
            values.extend([
                Uuid::now_v7().into(),
                e.organization.as_uuid().into(),
                e.kind.clone().into(),
                e.department.map(|d| d.as_uuid()).into(),
                e.actor.map(|u| u.as_uuid()).into(),
                e.user.map(|u| u.as_uuid()).into(),
                e.payload.to_string().into(),
                ms(now).into(),
            ]);
        }
        if !chunk.is_empty() {
            exec(conn, &sql, values).await?;
        }
    }
    let notifies = events
        .iter()
        .any(|e| notifications::audience(e) != notifications::Audience::Nobody);
    let reschedules = events
        .iter()
        .any(|e| notifications::reminders::reschedules(&e.kind));
    if notifies {
        // The notifications dispatcher, in the same transaction: it exists exactly when the
        // events do, and drains every pending event when it runs (so no dedupe key: one that
        // matched an earlier, already finished dispatch would drop this wake). Events that
        // notify nobody (`service.created/updated/deleted`) wait for the next dispatch or the
        // hourly sweep.
        crate::jobs::enqueue(
            conn,
            &crate::NewJob::now(notifications::DISPATCH_JOB, serde_json::Value::Null, now)
                .max_attempts(10),
            now,
        )
        .await
        .map_err(crate::sql::err)?;
    }
    if reschedules {
        // A published rota, a new or changed assignment, a moved service may make a reminder
        // due now (a service inside its window): the reminders run at once rather than at
        // the next minute's tick. No dedupe key, for the same reason as above.
        crate::jobs::enqueue(
            conn,
            &crate::NewJob::now(notifications::REMINDERS_JOB, serde_json::Value::Null, now)
                .max_attempts(3),
            now,
        )
        .await
        .map_err(crate::sql::err)?;
    }
    Ok(Queued(notifies || reschedules))
}

/// An event as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub id: Uuid,
    pub event: DomainEvent,
    pub occurred_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct Row {
    id: Uuid,
    organization_id: Uuid,
    kind: String,
    department_id: Option<Uuid>,
    actor_id: Option<Uuid>,
    user_id: Option<Uuid>,
    payload: String,
    occurred_at: i64,
    processed_at: Option<i64>,
}

fn convert(r: Row) -> Result<StoredEvent, StoreError> {
    let payload = serde_json::from_str(&r.payload).map_err(|e| StoreError::Other(e.to_string()))?;
    Ok(StoredEvent {
        id: r.id,
        event: DomainEvent {
            organization: OrganizationId(r.organization_id),
            kind: r.kind,
            department: r.department_id.map(DepartmentId),
            actor: r.actor_id.map(UserId),
            user: r.user_id.map(UserId),
            payload,
        },
        occurred_at: from_ms(r.occurred_at),
        processed_at: r.processed_at.map(from_ms),
    })
}

const COLUMNS: &str = "id, organization_id, kind, department_id, actor_id, user_id, payload, \
                       occurred_at, processed_at";

/// A church's events of one kind, oldest first (for tests and the GDPR export).
pub async fn of_kind<C: ConnectionTrait>(
    conn: &C,
    org: OrganizationId,
    kind: &str,
) -> Result<Vec<StoredEvent>, StoreError> {
    let rows = all(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM outbox_events WHERE organization_id = ? AND kind = ? \
             ORDER BY occurred_at, id"
        ),
        vec![org.as_uuid().into(), kind.into()],
    )
    .await?;
    decode(&rows, convert)
}

/// The oldest unprocessed events, for the deliverer.
pub async fn pending<C: ConnectionTrait>(
    conn: &C,
    limit: u64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let rows = all(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM outbox_events WHERE processed_at IS NULL \
             ORDER BY occurred_at, id LIMIT ?"
        ),
        vec![(limit.min(i64::MAX as u64) as i64).into()],
    )
    .await?;
    decode(&rows, convert)
}

/// Marks events delivered.
pub async fn mark_processed<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut n = 0;
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut values = vec![ms(now).into()];
        values.extend(chunk.iter().map(|id| (*id).into()));
        n += exec(
            conn,
            &format!(
                "UPDATE outbox_events SET processed_at = ? WHERE processed_at IS NULL AND id IN ({marks})"
            ),
            values,
        )
        .await?;
    }
    Ok(n)
}
