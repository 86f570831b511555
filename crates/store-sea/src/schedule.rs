//! [`schedule::ScheduleStore`] on sea-orm. Every statement is scoped by church (the join on
//! the series too); a series' occurrences go in with one multi-row `INSERT`, a series edit is
//! one `UPDATE … WHERE id IN (…)`, and the events of each write are recorded in the outbox in
//! its transaction.

use crate::jobs::ms;
use crate::outbox;
use crate::sql::{all, decode, decode_one, err, exec, one};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use kernel::{DepartmentId, DomainEvent, OrganizationId, SeriesId, ServiceId, UserId};
use kv::Wakeup;
use schedule::{Changes, RequiredRole, ScheduleStore, Series, Service};
use sea_orm::{DatabaseConnection, FromQueryResult, TransactionTrait, Value};
use teams::StoreError;
use uuid::Uuid;

/// The services store.
#[derive(Clone, Debug)]
pub struct SeaSchedule {
    conn: DatabaseConnection,
    /// Woken after a commit that queued work for the workers (see [`crate::outbox::Queued`]).
    wakeup: Wakeup,
}

impl SeaSchedule {
    pub fn new(conn: DatabaseConnection, wakeup: Wakeup) -> Self {
        Self { conn, wakeup }
    }
}

/// Rows per multi-row `INSERT` and ids per `IN (…)`: a whole series (366 at most) in one
/// statement, well under both backends' bound-parameter limits.
const CHUNK: usize = 400;

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn time(t: NaiveTime) -> String {
    t.format("%H:%M:%S").to_string()
}

fn roles_to(roles: &[RequiredRole]) -> Result<String, StoreError> {
    serde_json::to_string(roles).map_err(|e| StoreError::Other(e.to_string()))
}

/// Services with their series' rule; binds org (the join), then the WHERE's own values.
const SELECT: &str = "SELECT s.id, s.department_id, s.series_id, s.is_exception, s.name, \
    s.service_type, s.date, s.start_time, s.end_time, s.location, s.notes, s.required_roles, \
    r.rrule FROM services s \
    LEFT JOIN service_series r ON r.id = s.series_id AND r.organization_id = ? \
    WHERE s.organization_id = ?";

const ORDER: &str = " ORDER BY s.date, s.start_time, s.id";

#[derive(FromQueryResult)]
struct Row {
    id: Uuid,
    department_id: Uuid,
    series_id: Option<Uuid>,
    is_exception: bool,
    name: String,
    service_type: String,
    date: String,
    start_time: String,
    end_time: String,
    location: Option<String>,
    notes: Option<String>,
    required_roles: String,
    rrule: Option<String>,
}

impl Row {
    fn into_service(self) -> Result<Service, StoreError> {
        let bad = |what: &str| StoreError::Other(format!("service {}: bad {what}", self.id));
        let t = |s: &str| NaiveTime::parse_from_str(s, "%H:%M:%S").map_err(|_| bad("time"));
        Ok(Service {
            id: ServiceId::from(self.id),
            department: DepartmentId::from(self.department_id),
            series: self.series_id.map(SeriesId::from),
            is_exception: self.is_exception,
            date: NaiveDate::parse_from_str(&self.date, "%Y-%m-%d").map_err(|_| bad("date"))?,
            start: t(&self.start_time)?,
            end: t(&self.end_time)?,
            required_roles: serde_json::from_str(&self.required_roles)
                .map_err(|_| bad("required roles"))?,
            name: self.name,
            service_type: self.service_type,
            location: self.location,
            notes: self.notes,
            rrule: self.rrule,
        })
    }
}

fn ids_sql(n: usize) -> String {
    vec!["?"; n].join(", ")
}

impl ScheduleStore for SeaSchedule {
    async fn department_services(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Service>, StoreError> {
        let o = org.as_uuid();
        let rows = all(
            &self.conn,
            &format!("{SELECT} AND s.department_id = ? AND s.date BETWEEN ? AND ?{ORDER}"),
            vec![
                o.into(),
                o.into(),
                dept.as_uuid().into(),
                day(from).into(),
                day(to).into(),
            ],
        )
        .await?;
        decode(&rows, Row::into_service)
    }

    async fn services_between(
        &self,
        org: OrganizationId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Service>, StoreError> {
        let o = org.as_uuid();
        let rows = all(
            &self.conn,
            &format!(
                "{SELECT} AND s.date BETWEEN ? AND ? \
                 ORDER BY s.date, s.start_time, s.department_id, s.id"
            ),
            vec![o.into(), o.into(), day(from).into(), day(to).into()],
        )
        .await?;
        decode(&rows, Row::into_service)
    }

    async fn service(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        id: ServiceId,
    ) -> Result<Option<Service>, StoreError> {
        let o = org.as_uuid();
        let row = one(
            &self.conn,
            &format!("{SELECT} AND s.department_id = ? AND s.id = ?"),
            vec![
                o.into(),
                o.into(),
                dept.as_uuid().into(),
                id.as_uuid().into(),
            ],
        )
        .await?;
        decode_one(row, Row::into_service)
    }

    async fn series_services(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        series: SeriesId,
    ) -> Result<Vec<Service>, StoreError> {
        let o = org.as_uuid();
        let rows = all(
            &self.conn,
            &format!("{SELECT} AND s.department_id = ? AND s.series_id = ?{ORDER}"),
            vec![
                o.into(),
                o.into(),
                dept.as_uuid().into(),
                series.as_uuid().into(),
            ],
        )
        .await?;
        decode(&rows, Row::into_service)
    }

    async fn insert(
        &self,
        org: OrganizationId,
        series: Option<&Series>,
        services: &[Service],
        events: &[DomainEvent],
        by: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let o = org.as_uuid();
        let at = ms(now);
        let tx = self.conn.begin().await.map_err(err)?;
        if let Some(s) = series {
            exec(
                &tx,
                "INSERT INTO service_series (id, organization_id, department_id, rrule, dtstart, \
                 name, service_type, start_time, end_time, location, notes, required_roles, \
                 created_by, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    s.id.as_uuid().into(),
                    o.into(),
                    s.department.as_uuid().into(),
                    s.rrule.clone().into(),
                    day(s.dtstart).into(),
                    s.name.clone().into(),
                    s.service_type.clone().into(),
                    time(s.start).into(),
                    time(s.end).into(),
                    s.location.clone().into(),
                    s.notes.clone().into(),
                    roles_to(&s.required_roles)?.into(),
                    by.as_uuid().into(),
                    at.into(),
                    at.into(),
                ],
            )
            .await?;
        }
        for chunk in services.chunks(CHUNK) {
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 16);
            for s in chunk {
                values.extend([
                    s.id.as_uuid().into(),
                    o.into(),
                    s.department.as_uuid().into(),
                    s.series.map(|x| x.as_uuid()).into(),
                    s.is_exception.into(),
                    s.name.clone().into(),
                    s.service_type.clone().into(),
                    day(s.date).into(),
                    time(s.start).into(),
                    time(s.end).into(),
                    s.location.clone().into(),
                    s.notes.clone().into(),
                    roles_to(&s.required_roles)?.into(),
                    by.as_uuid().into(),
                    at.into(),
                    at.into(),
                ]);
            }
            let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()];
            exec(
                &tx,
                &format!(
                    "INSERT INTO services (id, organization_id, department_id, series_id, \
                     is_exception, name, service_type, date, start_time, end_time, location, \
                     notes, required_roles, created_by, created_at, updated_at) VALUES {}",
                    rows.join(", ")
                ),
                values,
            )
            .await?;
        }
        let queued = outbox::record(&tx, events, now).await?;
        tx.commit().await.map_err(err)?;
        queued.wake(&self.wakeup).await;
        Ok(())
    }

    async fn update(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        ids: &[ServiceId],
        changes: &Changes,
        mark_exception: bool,
        series: Option<SeriesId>,
        events: &[DomainEvent],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        // The SET clause shared by the services and their series' template.
        let mut sets: Vec<&str> = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        if let Some(v) = &changes.name {
            sets.push("name = ?");
            values.push(v.clone().into());
        }
        if let Some(v) = &changes.service_type {
            sets.push("service_type = ?");
            values.push(v.clone().into());
        }
        if let Some(v) = changes.start {
            sets.push("start_time = ?");
            values.push(time(v).into());
        }
        if let Some(v) = changes.end {
            sets.push("end_time = ?");
            values.push(time(v).into());
        }
        if let Some(v) = &changes.location {
            sets.push("location = ?");
            values.push(v.clone().into());
        }
        if let Some(v) = &changes.notes {
            sets.push("notes = ?");
            values.push(v.clone().into());
        }
        if let Some(v) = &changes.required_roles {
            sets.push("required_roles = ?");
            values.push(roles_to(v)?.into());
        }
        sets.push("updated_at = ?");
        values.push(ms(now).into());
        let shared = (sets.clone(), values.clone());
        if let Some(d) = changes.date {
            sets.push("date = ?");
            values.push(day(d).into());
        }
        if mark_exception {
            sets.push("is_exception = ?");
            values.push(true.into());
        }

        let tx = self.conn.begin().await.map_err(err)?;
        let mut n = 0usize;
        for chunk in ids.chunks(CHUNK) {
            let mut v = values.clone();
            v.extend([org.as_uuid().into(), dept.as_uuid().into()]);
            v.extend(chunk.iter().map(|id| Value::from(id.as_uuid())));
            n += exec(
                &tx,
                &format!(
                    "UPDATE services SET {} WHERE organization_id = ? AND department_id = ? \
                     AND id IN ({})",
                    sets.join(", "),
                    ids_sql(chunk.len())
                ),
                v,
            )
            .await? as usize;
        }
        if n != ids.len() {
            // Dropping the transaction rolls it back.
            return Ok(n);
        }
        if let Some(series) = series {
            let (sets, mut v) = shared;
            v.extend([
                series.as_uuid().into(),
                org.as_uuid().into(),
                dept.as_uuid().into(),
            ]);
            exec(
                &tx,
                &format!(
                    "UPDATE service_series SET {} WHERE id = ? AND organization_id = ? \
                     AND department_id = ?",
                    sets.join(", ")
                ),
                v,
            )
            .await?;
        }
        let queued = outbox::record(&tx, events, now).await?;
        tx.commit().await.map_err(err)?;
        queued.wake(&self.wakeup).await;
        Ok(n)
    }

    async fn delete(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        ids: &[ServiceId],
        series: Option<SeriesId>,
        events: &[DomainEvent],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let o = org.as_uuid();
        let tx = self.conn.begin().await.map_err(err)?;
        let mut n = 0usize;
        for chunk in ids.chunks(CHUNK) {
            let mut v: Vec<Value> = vec![o.into(), dept.as_uuid().into()];
            v.extend(chunk.iter().map(|id| Value::from(id.as_uuid())));
            n += exec(
                &tx,
                &format!(
                    "DELETE FROM services WHERE organization_id = ? AND department_id = ? \
                     AND id IN ({})",
                    ids_sql(chunk.len())
                ),
                v,
            )
            .await? as usize;
        }
        if n != ids.len() {
            return Ok(n);
        }
        if let Some(series) = series {
            let s = series.as_uuid();
            exec(
                &tx,
                "DELETE FROM service_series WHERE id = ? AND organization_id = ? \
                 AND NOT EXISTS (SELECT 1 FROM services WHERE series_id = ? \
                 AND organization_id = ?)",
                vec![s.into(), o.into(), s.into(), o.into()],
            )
            .await?;
        }
        let queued = outbox::record(&tx, events, now).await?;
        tx.commit().await.map_err(err)?;
        queued.wake(&self.wakeup).await;
        Ok(n)
    }
}
