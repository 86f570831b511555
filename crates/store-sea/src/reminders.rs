//! [`notifications::reminders::ReminderStore`] on sea-orm: the assignments of published rotas
//! whose services are near (one statement across every church: a maintenance read of the
//! worker), and the ledger `service_reminders` written with the `service.reminder` outbox
//! events in one transaction, events only for the rows actually inserted.

use crate::jobs::{from_ms, ms};
use crate::notifications::SeaNotifications;
use crate::outbox;
use crate::sql::{all, err};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use kernel::{DepartmentId, OrganizationId, UserId};
use notifications::reminders::{Candidate, DueReminder, ReminderStore};
use sea_orm::{TransactionTrait, Value};
use std::collections::HashSet;
use teams::StoreError;
use uuid::Uuid;

/// Ledger rows per `INSERT` (6 values each), under SQLite's bound-parameter limit.
const INSERT_CHUNK: usize = 500;

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("corrupt {what} in the database"))
}

fn time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .ok()
}

impl ReminderStore for SeaNotifications {
    async fn reminder_candidates(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Candidate>, StoreError> {
        // One row per assignment and reminder already recorded for it and its current member
        // (none: one row with a NULL remind_at), grouped below. A member who replaced another
        // on the assignment has their own reminders.
        let rows = all(
            self.conn(),
            "SELECT a.id AS assignment_id, a.organization_id, s.department_id, \
               d.name AS department_name, a.planning_id, a.service_id, a.user_id, \
               s.name AS service_name, s.service_type, s.date, s.start_time, s.end_time, \
               s.location, a.role, a.status, o.timezone, d.reminder_hours_before, \
               r.remind_at \
             FROM services s \
             JOIN assignments a ON a.service_id = s.id AND a.organization_id = s.organization_id \
             JOIN plannings p ON p.id = a.planning_id AND p.organization_id = a.organization_id \
             JOIN departments d ON d.id = s.department_id AND d.organization_id = s.organization_id \
             JOIN organizations o ON o.id = s.organization_id \
             JOIN users u ON u.id = a.user_id AND u.organization_id = a.organization_id \
             LEFT JOIN service_reminders r ON r.assignment_id = a.id AND r.user_id = a.user_id \
             WHERE s.date >= ? AND s.date <= ? AND p.status = 'published' \
               AND a.status <> 'declined' AND a.flag IS NULL AND d.archived_at IS NULL \
               AND u.is_active = ? \
             ORDER BY a.id",
            vec![
                from.format("%Y-%m-%d").to_string().into(),
                to.format("%Y-%m-%d").to_string().into(),
                Value::from(true),
            ],
        )
        .await?;
        let mut out: Vec<Candidate> = Vec::new();
        for row in rows {
            let get_uuid = |c: &str| row.try_get::<Uuid>("", c).map_err(err);
            let assignment = get_uuid("assignment_id")?;
            let remind_at: Option<i64> = row.try_get("", "remind_at").map_err(err)?;
            if let Some(last) = out.last_mut().filter(|c| c.assignment == assignment) {
                last.recorded.extend(remind_at.map(from_ms));
                continue;
            }
            let date: String = row.try_get("", "date").map_err(err)?;
            let start: String = row.try_get("", "start_time").map_err(err)?;
            let end: Option<String> = row.try_get("", "end_time").map_err(err)?;
            let name: Option<String> = row.try_get("", "service_name").map_err(err)?;
            let kind: Option<String> = row.try_get("", "service_type").map_err(err)?;
            out.push(Candidate {
                organization: OrganizationId(get_uuid("organization_id")?),
                department: DepartmentId(get_uuid("department_id")?),
                department_name: row.try_get("", "department_name").map_err(err)?,
                assignment,
                planning: get_uuid("planning_id")?,
                service: get_uuid("service_id")?,
                user: UserId(get_uuid("user_id")?),
                service_name: name
                    .filter(|n| !n.trim().is_empty())
                    .or(kind)
                    .unwrap_or_default(),
                date: NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                    .map_err(|_| corrupt("service date"))?,
                start: time(&start).ok_or_else(|| corrupt("service start time"))?,
                end: end.as_deref().and_then(time),
                location: row.try_get("", "location").map_err(err)?,
                role: row.try_get("", "role").map_err(err)?,
                timezone: row.try_get("", "timezone").map_err(err)?,
                hours_before: row.try_get("", "reminder_hours_before").map_err(err)?,
                status: row.try_get("", "status").map_err(err)?,
                recorded: remind_at.map(from_ms).into_iter().collect(),
            });
        }
        Ok(out)
    }

    async fn record_reminders(
        &self,
        due: &[DueReminder],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if due.is_empty() {
            return Ok(0);
        }
        let tx = self.conn().begin().await.map_err(err)?;
        let mut inserted: HashSet<(Uuid, Uuid, i64)> = HashSet::new();
        for chunk in due.chunks(INSERT_CHUNK) {
            let mut sql = String::from(
                "INSERT INTO service_reminders (assignment_id, remind_at, organization_id, \
                 user_id, starts_at, sent_at) VALUES ",
            );
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 6);
            for (i, d) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str("(?, ?, ?, ?, ?, ?)");
                values.extend([
                    d.assignment.into(),
                    ms(d.remind_at).into(),
                    d.organization.as_uuid().into(),
                    d.user.as_uuid().into(),
                    ms(d.starts_at).into(),
                    ms(now).into(),
                ]);
            }
            // Only the rows this transaction inserted come back: a row another worker
            // recorded (or is recording: PostgreSQL waits for its commit) is skipped.
            sql.push_str(
                " ON CONFLICT (assignment_id, user_id, remind_at) DO NOTHING \
                 RETURNING assignment_id, user_id, remind_at",
            );
            for row in all(&tx, &sql, values).await? {
                let a: Uuid = row.try_get("", "assignment_id").map_err(err)?;
                let u: Uuid = row.try_get("", "user_id").map_err(err)?;
                let r: i64 = row.try_get("", "remind_at").map_err(err)?;
                inserted.insert((a, u, r));
            }
        }
        let events: Vec<_> = due
            .iter()
            .filter(|d| inserted.contains(&(d.assignment, d.user.as_uuid(), ms(d.remind_at))))
            .map(|d| d.event.clone())
            .collect();
        // The worker's reminders job wakes the workers itself once this returns.
        let _queued = outbox::record(&tx, &events, now).await?;
        tx.commit().await.map_err(err)?;
        Ok(events.len() as u64)
    }
}
