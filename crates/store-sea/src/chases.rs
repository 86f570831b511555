//! [`availability::ChaseStore`] on sea-orm: the departments the scheduled chase looks at, and
//! the `availability_chases` ledger written with its `availability.reminder` events in one
//! transaction.

use crate::SeaAvailability;
use crate::jobs::{from_ms, ms};
use crate::sql::{all, err, exec, one};
use availability::chase::MANUAL_INTERVAL;
use availability::{ChaseCandidate, ChaseKind, ChaseOutcome, ChaseStore, Month};
use chrono::{DateTime, Utc};
use kernel::{DepartmentId, DomainEvent, OrganizationId};
use sea_orm::TransactionTrait;
use teams::StoreError;
use uuid::Uuid;

impl ChaseStore for SeaAvailability {
    async fn chase_candidates(&self) -> Result<Vec<ChaseCandidate>, StoreError> {
        let rows = all(
            &self.conn,
            "SELECT d.organization_id, d.id, d.name, d.availability_deadline_days, o.timezone \
             FROM departments d JOIN organizations o ON o.id = d.organization_id \
             WHERE d.archived_at IS NULL ORDER BY d.organization_id, d.id",
            vec![],
        )
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ChaseCandidate {
                    organization: OrganizationId(r.try_get("", "organization_id").map_err(err)?),
                    department: DepartmentId(r.try_get("", "id").map_err(err)?),
                    department_name: r.try_get("", "name").map_err(err)?,
                    deadline_days: r.try_get("", "availability_deadline_days").map_err(err)?,
                    timezone: r.try_get("", "timezone").map_err(err)?,
                })
            })
            .collect()
    }

    async fn record_chase(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
        kind: ChaseKind,
        events: &[DomainEvent],
        now: DateTime<Utc>,
    ) -> Result<ChaseOutcome, StoreError> {
        let key = format!("{:04}-{:02}", month.year(), month.month());
        let reminded = i32::try_from(events.len()).unwrap_or(i32::MAX);
        let mut values = vec![
            Uuid::now_v7().into(),
            org.as_uuid().into(),
            dept.as_uuid().into(),
            key.clone().into(),
            kind.key().into(),
            reminded.into(),
            ms(now).into(),
        ];
        let insert = "INSERT INTO availability_chases (id, organization_id, department_id, \
                      month, kind, reminded, chased_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
                      ON CONFLICT (department_id, month, kind) DO ";
        let tx = self.conn.begin().await.map_err(err)?;
        let written = match kind {
            ChaseKind::Before(_) => exec(&tx, &format!("{insert}NOTHING"), values).await?,
            ChaseKind::Manual => {
                values.push(ms(now - MANUAL_INTERVAL).into());
                exec(
                    &tx,
                    &format!(
                        "{insert}UPDATE SET reminded = excluded.reminded, \
                         chased_at = excluded.chased_at \
                         WHERE availability_chases.chased_at <= ?"
                    ),
                    values,
                )
                .await?
            }
        };
        if written == 0 {
            let last = match kind {
                ChaseKind::Before(_) => None,
                ChaseKind::Manual => one(
                    &tx,
                    "SELECT chased_at FROM availability_chases WHERE organization_id = ? \
                     AND department_id = ? AND month = ? AND kind = ?",
                    vec![
                        org.as_uuid().into(),
                        dept.as_uuid().into(),
                        key.into(),
                        kind.key().into(),
                    ],
                )
                .await?
                .map(|r| r.try_get::<i64>("", "chased_at").map_err(err))
                .transpose()?,
            };
            tx.rollback().await.map_err(err)?;
            return Ok(match last {
                Some(t) => ChaseOutcome::TooSoon(from_ms(t)),
                None => ChaseOutcome::AlreadyDone,
            });
        }
        let queued = crate::outbox::record(&tx, events, now).await?;
        tx.commit().await.map_err(err)?;
        queued.wake(&self.wakeup).await;
        Ok(ChaseOutcome::Recorded)
    }
}
