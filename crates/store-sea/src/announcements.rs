//! [`teams::announcements::AnnouncementStore`] on sea-orm: one statement per read, the insert
//! and its `announcement.posted` event in one transaction, every statement scoped by church
//! and department.

use crate::jobs::{from_ms, ms};
use crate::sql::{all, decode, decode_one, err, exec, one};
use chrono::{DateTime, Utc};
use kernel::{DepartmentId, DomainEvent, OrganizationId, UserId};
use kv::Wakeup;
use sea_orm::{DatabaseConnection, FromQueryResult, TransactionTrait, Value};
use teams::StoreError;
use teams::announcements::{Announcement, AnnouncementId, AnnouncementStore, Cursor, Page};
use uuid::Uuid;

/// The announcements store.
#[derive(Clone, Debug)]
pub struct SeaAnnouncements {
    conn: DatabaseConnection,
    wakeup: Wakeup,
}

impl SeaAnnouncements {
    pub fn new(conn: DatabaseConnection, wakeup: Wakeup) -> Self {
        Self { conn, wakeup }
    }
}

#[derive(FromQueryResult)]
struct Row {
    id: Uuid,
    organization_id: Uuid,
    department_id: Uuid,
    author_id: Option<Uuid>,
    first_name: Option<String>,
    last_name: Option<String>,
    title: String,
    body: String,
    created_at: i64,
}

fn convert(r: Row) -> Result<Announcement, StoreError> {
    let author_name = match (r.first_name, r.last_name) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        _ => None,
    };
    Ok(Announcement {
        id: AnnouncementId(r.id),
        organization_id: OrganizationId(r.organization_id),
        department_id: DepartmentId(r.department_id),
        author_id: r.author_id.map(UserId),
        author_name,
        title: r.title,
        body: r.body,
        created_at: from_ms(r.created_at),
    })
}

/// The columns, with the author's name (none once their account is deleted).
const SELECT: &str = "SELECT a.id, a.organization_id, a.department_id, a.author_id, \
     u.first_name, u.last_name, a.title, a.body, a.created_at \
     FROM announcements a LEFT JOIN users u ON u.id = a.author_id";

impl AnnouncementStore for SeaAnnouncements {
    async fn insert(
        &self,
        a: &Announcement,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        exec(
            &tx,
            "INSERT INTO announcements (id, organization_id, department_id, author_id, title, \
             body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            vec![
                a.id.as_uuid().into(),
                a.organization_id.as_uuid().into(),
                a.department_id.as_uuid().into(),
                a.author_id.map(|u| u.as_uuid()).into(),
                a.title.clone().into(),
                a.body.clone().into(),
                ms(a.created_at).into(),
            ],
        )
        .await?;
        let queued = crate::outbox::record(&tx, std::slice::from_ref(event), now).await?;
        tx.commit().await.map_err(err)?;
        queued.wake(&self.wakeup).await;
        Ok(())
    }

    async fn list(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Page, StoreError> {
        let mut sql = format!("{SELECT} WHERE a.organization_id = ? AND a.department_id = ?");
        let mut values: Vec<Value> = vec![org.as_uuid().into(), dept.as_uuid().into()];
        if let Some(c) = after {
            sql.push_str(" AND (a.created_at < ? OR (a.created_at = ? AND a.id < ?))");
            values.extend([c.created_at_ms.into(), c.created_at_ms.into(), c.id.into()]);
        }
        sql.push_str(" ORDER BY a.created_at DESC, a.id DESC LIMIT ?");
        values.push((i64::from(limit) + 1).into());
        let mut items = decode(&all(&self.conn, &sql, values).await?, convert)?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next = if more {
            items.last().map(Cursor::after)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn get(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        id: AnnouncementId,
    ) -> Result<Option<Announcement>, StoreError> {
        let row = one(
            &self.conn,
            &format!("{SELECT} WHERE a.organization_id = ? AND a.department_id = ? AND a.id = ?"),
            vec![
                org.as_uuid().into(),
                dept.as_uuid().into(),
                id.as_uuid().into(),
            ],
        )
        .await?;
        decode_one(row, convert)
    }

    async fn authored_by(
        &self,
        org: OrganizationId,
        author: UserId,
    ) -> Result<Vec<Announcement>, StoreError> {
        let rows = all(
            &self.conn,
            &format!(
                "{SELECT} WHERE a.organization_id = ? AND a.author_id = ? \
                 ORDER BY a.created_at, a.id"
            ),
            vec![org.as_uuid().into(), author.as_uuid().into()],
        )
        .await?;
        decode(&rows, convert)
    }

    async fn delete(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        id: AnnouncementId,
    ) -> Result<bool, StoreError> {
        let n = exec(
            &self.conn,
            "DELETE FROM announcements WHERE organization_id = ? AND department_id = ? AND id = ?",
            vec![
                org.as_uuid().into(),
                dept.as_uuid().into(),
                id.as_uuid().into(),
            ],
        )
        .await?;
        Ok(n == 1)
    }
}
