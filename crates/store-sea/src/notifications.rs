//! [`notifications::NotificationStore`] on sea-orm: the dispatcher's reads and its delivery
//! (notifications written and outbox events marked processed in one transaction, a fixed
//! number of statements per batch), and a user's inbox, every statement scoped by church and
//! user.

use crate::jobs::NewJob;
use crate::jobs::{from_ms, ms};
use crate::outbox;
use crate::sql::{all, count, decode, err, exec};
use accounts::Locale;
use chrono::{DateTime, Utc};
use kernel::{DepartmentId, OrganizationId, UserId};
use notifications::ports::Recipients;
use notifications::{
    Contact, Cursor, Delivered, ListQuery, NewNotification, Notification, NotificationId,
    NotificationStore, Page, PendingEvent, QueuedEmail, Since,
};
use sea_orm::{DatabaseConnection, FromQueryResult, TransactionTrait, Value};
use std::collections::HashMap;
use teams::StoreError;
use uuid::Uuid;

/// Rows per multi-row `INSERT` (11 values each), under SQLite's bound-parameter limit.
const INSERT_CHUNK: usize = 200;
/// Pairs per `OR` lookup (2 values each).
const LOOKUP_CHUNK: usize = 400;

/// The notifications store.
#[derive(Clone, Debug)]
pub struct SeaNotifications {
    conn: DatabaseConnection,
}

impl SeaNotifications {
    pub fn new(conn: DatabaseConnection) -> Self {
        Self { conn }
    }

    pub(crate) fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }
}

#[derive(FromQueryResult)]
struct Row {
    id: Uuid,
    kind: String,
    title: String,
    body: String,
    link: Option<String>,
    data: String,
    read_at: Option<i64>,
    created_at: i64,
}

fn convert(r: Row) -> Result<Notification, StoreError> {
    Ok(Notification {
        id: NotificationId(r.id),
        kind: r.kind,
        title: r.title,
        body: r.body,
        link: r.link,
        data: serde_json::from_str(&r.data).map_err(|e| StoreError::Other(e.to_string()))?,
        read_at: r.read_at.map(from_ms),
        created_at: from_ms(r.created_at),
    })
}

const COLUMNS: &str = "id, kind, title, body, link, data, read_at, created_at";

/// A recipient's columns (users `u`, suppressions `s`), read by [`contact`].
const CONTACT: &str = "u.id AS user_id, u.locale, u.email, u.first_name, u.last_name, \
                       u.notification_prefs, s.email AS suppressed";

/// Records a recipient's language and contact from a row with the [`CONTACT`] columns.
fn contact(row: &sea_orm::QueryResult, r: &mut Recipients) -> Result<UserId, StoreError> {
    let u: Uuid = row.try_get("", "user_id").map_err(err)?;
    let l: String = row.try_get("", "locale").map_err(err)?;
    let prefs: String = row.try_get("", "notification_prefs").map_err(err)?;
    let suppressed: Option<String> = row.try_get("", "suppressed").map_err(err)?;
    let user = UserId(u);
    r.locales
        .insert(user, Locale::parse(&l).unwrap_or_default());
    r.contacts.insert(
        user,
        Contact {
            email: row.try_get("", "email").map_err(err)?,
            first_name: row.try_get("", "first_name").map_err(err)?,
            last_name: row.try_get("", "last_name").map_err(err)?,
            // Preferences that do not parse as a map are no preferences: the defaults apply.
            prefs: serde_json::from_str(&prefs).unwrap_or_default(),
            deliverable: suppressed.is_none(),
        },
    );
    Ok(user)
}

/// `(a = ? AND b = ?) OR …` over pairs, with their values.
fn pairs_clause(a: &str, b: &str, pairs: &[(Uuid, Uuid)]) -> (String, Vec<Value>) {
    let clause = vec![format!("({a} = ? AND {b} = ?)"); pairs.len()].join(" OR ");
    let values = pairs
        .iter()
        .flat_map(|(x, y)| [Value::from(*x), Value::from(*y)])
        .collect();
    (clause, values)
}

/// The inbox as it is for one user, with every query the dispatcher and the API need.
impl NotificationStore for SeaNotifications {
    async fn pending(&self, limit: u64) -> Result<Vec<PendingEvent>, StoreError> {
        Ok(outbox::pending(&self.conn, limit)
            .await?
            .into_iter()
            .map(|e| PendingEvent {
                id: e.id,
                event: e.event,
            })
            .collect())
    }

    async fn recipients(
        &self,
        users: &[(OrganizationId, UserId)],
        depts: &[(OrganizationId, DepartmentId)],
    ) -> Result<Recipients, StoreError> {
        let mut r = Recipients::default();
        let dept_pairs: Vec<_> = depts
            .iter()
            .map(|(o, d)| (o.as_uuid(), d.as_uuid()))
            .collect();
        for chunk in dept_pairs.chunks(LOOKUP_CHUNK) {
            let (clause, values) = pairs_clause("m.organization_id", "m.department_id", chunk);
            let rows = all(
                &self.conn,
                &format!(
                    "SELECT m.organization_id, m.department_id, m.role, {CONTACT} \
                     FROM department_members m JOIN users u \
                       ON u.id = m.user_id AND u.organization_id = m.organization_id \
                       AND u.is_active = ? \
                     LEFT JOIN email_suppressions s ON s.email = u.email \
                     WHERE m.status = 'active' AND ({clause}) \
                     ORDER BY m.joined_at, m.user_id"
                ),
                std::iter::once(Value::from(true)).chain(values).collect(),
            )
            .await?;
            for row in rows {
                let o: Uuid = row.try_get("", "organization_id").map_err(err)?;
                let d: Uuid = row.try_get("", "department_id").map_err(err)?;
                let role: String = row.try_get("", "role").map_err(err)?;
                let u = contact(&row, &mut r)?;
                let key = (OrganizationId(o), DepartmentId(d));
                if role == "leader" {
                    r.leaders.entry(key).or_default().push(u);
                }
                r.members.entry(key).or_default().push(u);
            }
        }
        let mut orgs: Vec<Uuid> = depts.iter().map(|(o, _)| o.as_uuid()).collect();
        orgs.sort();
        orgs.dedup();
        for chunk in orgs.chunks(LOOKUP_CHUNK * 2) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let rows = all(
                &self.conn,
                &format!(
                    "SELECT u.organization_id, {CONTACT} FROM users u \
                     LEFT JOIN email_suppressions s ON s.email = u.email \
                     WHERE u.is_active = ? AND u.role = 'admin' AND u.organization_id IN ({marks}) \
                     ORDER BY u.created_at, u.id"
                ),
                std::iter::once(Value::from(true))
                    .chain(chunk.iter().map(|o| Value::from(*o)))
                    .collect(),
            )
            .await?;
            for row in rows {
                let o: Uuid = row.try_get("", "organization_id").map_err(err)?;
                let u = contact(&row, &mut r)?;
                r.admins.entry(OrganizationId(o)).or_default().push(u);
            }
        }
        let user_pairs: Vec<_> = users
            .iter()
            .map(|(o, u)| (o.as_uuid(), u.as_uuid()))
            .collect();
        for chunk in user_pairs.chunks(LOOKUP_CHUNK) {
            let (clause, values) = pairs_clause("u.organization_id", "u.id", chunk);
            let rows = all(
                &self.conn,
                &format!(
                    "SELECT {CONTACT} FROM users u \
                     LEFT JOIN email_suppressions s ON s.email = u.email \
                     WHERE u.is_active = ? AND ({clause})"
                ),
                std::iter::once(Value::from(true)).chain(values).collect(),
            )
            .await?;
            for row in rows {
                contact(&row, &mut r)?;
            }
        }
        Ok(r)
    }

    async fn deliver(
        &self,
        notes: &[NewNotification],
        emails: &[QueuedEmail],
        processed: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<Delivered, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        let mut written = Delivered::default();
        for chunk in notes.chunks(INSERT_CHUNK) {
            let mut sql = String::from(
                "INSERT INTO notifications (id, organization_id, user_id, event_id, kind, title, \
                 body, link, data, read_at, created_at) VALUES ",
            );
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 10);
            for (i, n) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)");
                values.extend([
                    Uuid::now_v7().into(),
                    n.organization.as_uuid().into(),
                    n.user.as_uuid().into(),
                    n.event.into(),
                    n.kind.clone().into(),
                    n.title.clone().into(),
                    n.body.clone().into(),
                    n.link.clone().into(),
                    n.data.to_string().into(),
                    ms(now).into(),
                ]);
            }
            sql.push_str(" ON CONFLICT (event_id, user_id) DO NOTHING");
            written.notifications += exec(&tx, &sql, values).await?;
        }
        let jobs = emails
            .iter()
            .map(|e| {
                let payload =
                    serde_json::to_value(&e.email).map_err(|x| StoreError::Other(x.to_string()))?;
                let mut job = NewJob::now(kernel::mail::SEND_EMAIL_JOB, payload, now)
                    .max_attempts(crate::jobs::EMAIL_ATTEMPTS)
                    .for_organization(e.organization);
                if let Some(k) = e.dedupe_key() {
                    job = job.dedupe(k);
                }
                Ok(job)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        written.emails = crate::jobs::enqueue_many(&tx, &jobs, now)
            .await
            .map_err(err)?;
        outbox::mark_processed(&tx, processed, now).await?;
        tx.commit().await.map_err(err)?;
        Ok(written)
    }

    async fn list(
        &self,
        org: OrganizationId,
        user: UserId,
        q: ListQuery,
    ) -> Result<Page, StoreError> {
        let mut sql = format!(
            "SELECT {COLUMNS} FROM notifications WHERE organization_id = ? AND user_id = ?"
        );
        let mut values: Vec<Value> = vec![org.as_uuid().into(), user.as_uuid().into()];
        if q.unread_only {
            sql.push_str(" AND read_at IS NULL");
        }
        if let Some(c) = q.after {
            sql.push_str(" AND (created_at < ? OR (created_at = ? AND id < ?))");
            values.extend([c.created_at_ms.into(), c.created_at_ms.into(), c.id.into()]);
        }
        sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
        values.push((i64::from(q.limit) + 1).into());
        let mut items = decode(&all(&self.conn, &sql, values).await?, convert)?;
        let more = items.len() > q.limit as usize;
        items.truncate(q.limit as usize);
        let next = if more {
            items.last().map(Cursor::after)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn newer(
        &self,
        org: OrganizationId,
        user: UserId,
        since: Since,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        let (sql, mut values): (String, Vec<Value>) = match since {
            Since::Id(anchor) => {
                let cols = COLUMNS
                    .split(", ")
                    .map(|c| format!("n.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                (
                    format!(
                        "SELECT {cols} FROM notifications n JOIN notifications a \
                           ON a.organization_id = n.organization_id AND a.user_id = n.user_id \
                           AND a.id = ? \
                         WHERE n.organization_id = ? AND n.user_id = ? \
                           AND (n.created_at > a.created_at \
                             OR (n.created_at = a.created_at AND n.id >= a.id)) \
                         ORDER BY n.created_at, n.id LIMIT ?"
                    ),
                    vec![
                        anchor.as_uuid().into(),
                        org.as_uuid().into(),
                        user.as_uuid().into(),
                    ],
                )
            }
            Since::Time { created_at_ms } => (
                format!(
                    "SELECT {COLUMNS} FROM notifications WHERE organization_id = ? \
                     AND user_id = ? AND created_at >= ? ORDER BY created_at, id LIMIT ?"
                ),
                vec![
                    org.as_uuid().into(),
                    user.as_uuid().into(),
                    created_at_ms.into(),
                ],
            ),
        };
        values.push(i64::from(limit).into());
        decode(&all(&self.conn, &sql, values).await?, convert)
    }

    async fn newer_for(
        &self,
        wants: &[(OrganizationId, UserId, i64)],
        limit: u32,
    ) -> Result<HashMap<(OrganizationId, UserId), Vec<Notification>>, StoreError> {
        let mut out: HashMap<(OrganizationId, UserId), Vec<Notification>> = HashMap::new();
        // One statement for a wake-up's users (chunks only beyond LOOKUP_CHUNK of them, to
        // stay under SQLite's bound-parameter limit).
        for chunk in wants.chunks(LOOKUP_CHUNK) {
            let clause =
                vec!["(organization_id = ? AND user_id = ? AND created_at >= ?)"; chunk.len()]
                    .join(" OR ");
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3 + 1);
            for (org, user, ms) in chunk {
                values.extend([org.as_uuid().into(), user.as_uuid().into(), (*ms).into()]);
            }
            values.push(i64::from(limit).into());
            // Each user's first `limit` rows: a window function (SQLite >= 3.25, PostgreSQL).
            let sql = format!(
                "SELECT organization_id, user_id, {COLUMNS} FROM ( \
                   SELECT organization_id, user_id, {COLUMNS}, ROW_NUMBER() OVER ( \
                     PARTITION BY organization_id, user_id ORDER BY created_at, id) AS rn \
                   FROM notifications WHERE {clause}) w \
                 WHERE rn <= ? ORDER BY created_at, id"
            );
            for row in all(&self.conn, &sql, values).await? {
                let org: Uuid = row.try_get("", "organization_id").map_err(err)?;
                let user: Uuid = row.try_get("", "user_id").map_err(err)?;
                let n = convert(Row::from_query_result(&row, "").map_err(err)?)?;
                out.entry((OrganizationId(org), UserId(user)))
                    .or_default()
                    .push(n);
            }
        }
        Ok(out)
    }

    async fn unread_count(&self, org: OrganizationId, user: UserId) -> Result<u64, StoreError> {
        let n = count(
            &self.conn,
            "SELECT COUNT(*) AS n FROM notifications WHERE organization_id = ? AND user_id = ? \
             AND read_at IS NULL",
            vec![org.as_uuid().into(), user.as_uuid().into()],
        )
        .await?;
        Ok(n as u64)
    }

    async fn mark_read(
        &self,
        org: OrganizationId,
        user: UserId,
        id: NotificationId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = exec(
            &self.conn,
            "UPDATE notifications SET read_at = COALESCE(read_at, ?) \
             WHERE organization_id = ? AND user_id = ? AND id = ?",
            vec![
                ms(now).into(),
                org.as_uuid().into(),
                user.as_uuid().into(),
                id.as_uuid().into(),
            ],
        )
        .await?;
        Ok(n == 1)
    }

    async fn mark_all_read(
        &self,
        org: OrganizationId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        exec(
            &self.conn,
            "UPDATE notifications SET read_at = ? \
             WHERE organization_id = ? AND user_id = ? AND read_at IS NULL",
            vec![ms(now).into(), org.as_uuid().into(), user.as_uuid().into()],
        )
        .await
    }

    async fn all_of(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> Result<Vec<Notification>, StoreError> {
        export(&self.conn, org, user).await
    }

    async fn prune_read(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        exec(
            &self.conn,
            "DELETE FROM notifications WHERE read_at IS NOT NULL AND read_at < ?",
            vec![ms(before).into()],
        )
        .await
    }
}

/// One user's notifications, oldest first, for the personal data export.
async fn export<C: sea_orm::ConnectionTrait>(
    conn: &C,
    org: OrganizationId,
    user: UserId,
) -> Result<Vec<Notification>, StoreError> {
    let rows = all(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM notifications WHERE organization_id = ? AND user_id = ? \
             ORDER BY created_at, id"
        ),
        vec![org.as_uuid().into(), user.as_uuid().into()],
    )
    .await?;
    decode(&rows, convert)
}
