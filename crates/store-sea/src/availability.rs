//! [`availability::AvailabilityStore`] on sea-orm. Every statement is scoped by church; the
//! department's month joins its active members on the same church.

use crate::jobs::ms;
use crate::sql::{all, err, exec};
use availability::{AvailabilityStore, Blockout, Month};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use kernel::{DepartmentId, OrganizationId, UserId};
use sea_orm::{DatabaseConnection, FromQueryResult, TransactionTrait};
use teams::StoreError;
use uuid::Uuid;

/// The availability store.
#[derive(Clone, Debug)]
pub struct SeaAvailability {
    conn: DatabaseConnection,
}

impl SeaAvailability {
    pub fn new(conn: DatabaseConnection) -> Self {
        Self { conn }
    }
}

fn bounds(month: Month) -> (String, String) {
    (
        month.first_day().format("%Y-%m-%d").to_string(),
        month.last_day().format("%Y-%m-%d").to_string(),
    )
}

fn month_key(month: Month) -> String {
    format!("{:04}-{:02}", month.year(), month.month())
}

#[derive(FromQueryResult)]
struct Row {
    user_id: Uuid,
    date: String,
    start_time: Option<String>,
    end_time: Option<String>,
    reason: Option<String>,
}

impl Row {
    fn into_pair(self) -> Result<(UserId, Blockout), StoreError> {
        let bad = |what: &str| StoreError::Other(format!("blockout {what}"));
        let date = NaiveDate::parse_from_str(&self.date, "%Y-%m-%d").map_err(|_| bad("date"))?;
        let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M:%S").map_err(|_| bad("time"));
        let window = match (self.start_time.as_deref(), self.end_time.as_deref()) {
            (Some(s), Some(e)) => Some((time(s)?, time(e)?)),
            _ => None,
        };
        Ok((
            UserId::from(self.user_id),
            Blockout {
                date,
                window,
                reason: self.reason,
            },
        ))
    }
}

fn decode(rows: Vec<sea_orm::QueryResult>) -> Result<Vec<(UserId, Blockout)>, StoreError> {
    rows.iter()
        .map(|r| Row::from_query_result(r, "").map_err(err)?.into_pair())
        .collect()
}

const COLUMNS: &str = "b.user_id, b.date, b.start_time, b.end_time, b.reason";

impl AvailabilityStore for SeaAvailability {
    async fn month(
        &self,
        org: OrganizationId,
        user: UserId,
        month: Month,
    ) -> Result<Vec<Blockout>, StoreError> {
        let (from, to) = bounds(month);
        let rows = all(
            &self.conn,
            &format!(
                "SELECT {COLUMNS} FROM blockouts b WHERE b.organization_id = ? AND b.user_id = ? \
                 AND b.date BETWEEN ? AND ? ORDER BY b.date, b.start_time, b.id"
            ),
            vec![
                org.as_uuid().into(),
                user.as_uuid().into(),
                from.into(),
                to.into(),
            ],
        )
        .await?;
        Ok(decode(rows)?.into_iter().map(|(_, b)| b).collect())
    }

    async fn replace_month(
        &self,
        org: OrganizationId,
        user: UserId,
        month: Month,
        blockouts: &[Blockout],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (from, to) = bounds(month);
        let tx = self.conn.begin().await.map_err(err)?;
        exec(
            &tx,
            "DELETE FROM blockouts WHERE organization_id = ? AND user_id = ? AND date BETWEEN ? AND ?",
            vec![
                org.as_uuid().into(),
                user.as_uuid().into(),
                from.into(),
                to.into(),
            ],
        )
        .await?;
        for b in blockouts {
            let t = |t: NaiveTime| t.format("%H:%M:%S").to_string();
            exec(
                &tx,
                "INSERT INTO blockouts (id, organization_id, user_id, date, start_time, end_time, \
                 reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    Uuid::now_v7().into(),
                    org.as_uuid().into(),
                    user.as_uuid().into(),
                    b.date.format("%Y-%m-%d").to_string().into(),
                    b.start().map(t).into(),
                    b.end().map(t).into(),
                    b.reason.clone().into(),
                    ms(now).into(),
                ],
            )
            .await?;
        }
        exec(
            &tx,
            "INSERT INTO availability_answers (organization_id, user_id, month, answered_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (organization_id, user_id, month) \
             DO UPDATE SET answered_at = excluded.answered_at",
            vec![
                org.as_uuid().into(),
                user.as_uuid().into(),
                month_key(month).into(),
                ms(now).into(),
            ],
        )
        .await?;
        tx.commit().await.map_err(err)
    }

    async fn department_month(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
    ) -> Result<Vec<(UserId, Blockout)>, StoreError> {
        let (from, to) = bounds(month);
        let o = org.as_uuid();
        let rows = all(
            &self.conn,
            &format!(
                "SELECT {COLUMNS} FROM blockouts b JOIN department_members m \
                   ON m.user_id = b.user_id AND m.organization_id = ? \
                   AND m.department_id = ? AND m.status = 'active' \
                 WHERE b.organization_id = ? AND b.date BETWEEN ? AND ? \
                 ORDER BY b.user_id, b.date, b.start_time, b.id"
            ),
            vec![
                o.into(),
                dept.as_uuid().into(),
                o.into(),
                from.into(),
                to.into(),
            ],
        )
        .await?;
        decode(rows)
    }

    async fn answered(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
    ) -> Result<Vec<UserId>, StoreError> {
        let o = org.as_uuid();
        let rows = all(
            &self.conn,
            "SELECT a.user_id FROM availability_answers a JOIN department_members m \
               ON m.user_id = a.user_id AND m.organization_id = ? \
               AND m.department_id = ? AND m.status = 'active' \
             WHERE a.organization_id = ? AND a.month = ?",
            vec![
                o.into(),
                dept.as_uuid().into(),
                o.into(),
                month_key(month).into(),
            ],
        )
        .await?;
        rows.iter()
            .map(|r| {
                r.try_get::<Uuid>("", "user_id")
                    .map(UserId::from)
                    .map_err(err)
            })
            .collect()
    }
}
