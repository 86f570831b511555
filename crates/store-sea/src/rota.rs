//! [`rota::RotaStore`] on sea-orm. Every statement is scoped by church; a planning's month is
//! read in six statements whatever its size, and every write bumps the planning's version
//! first (the optimistic lock, and a row lock on PostgreSQL) then records its events in the
//! same transaction.

use crate::jobs::{NewJob, enqueue, from_ms, ms};
use crate::sql::{all, decode, decode_one, err, exec, one};
use availability::Month;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use kernel::{
    AssignmentId, DepartmentId, DomainEvent, JobId, OrganizationId, PlanningId, ServiceId, UserId,
};
use kv::Wakeup;
use rota::ports::{Change, RotaStore};
use rota::{
    Assignment, AssignmentStatus, Candidate, Commitment, MonthData, MyAssignment, Planning,
    PlanningStatus, RoleCount, ServiceInfo,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult, TransactionTrait, Value};
use std::collections::HashMap;
use teams::StoreError;
use uuid::Uuid;

/// The rota store.
#[derive(Clone, Debug)]
pub struct SeaRota {
    conn: DatabaseConnection,
    /// Woken after a commit that queued work for the workers (see [`crate::outbox::Queued`]).
    wakeup: Wakeup,
}

impl SeaRota {
    pub fn new(conn: DatabaseConnection, wakeup: Wakeup) -> Self {
        Self { conn, wakeup }
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("corrupt rota row: {what}"))
}

fn month_key(m: Month) -> String {
    format!("{:04}-{:02}", m.year(), m.month())
}

fn parse_month(s: &str) -> Result<Month, StoreError> {
    let (y, m) = s.split_once('-').ok_or_else(|| corrupt("month"))?;
    let y: i32 = y.parse().map_err(|_| corrupt("month"))?;
    let m: u32 = m.parse().map_err(|_| corrupt("month"))?;
    Month::new(y, m).map_err(|_| corrupt("month"))
}

fn date(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| corrupt("date"))
}

fn time(s: &str) -> Result<NaiveTime, StoreError> {
    NaiveTime::parse_from_str(s, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .map_err(|_| corrupt("time"))
}

fn json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Other(format!("corrupt rota json: {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Other(e.to_string()))
}

const PLANNING_COLUMNS: &str = "id, organization_id, department_id, month, status, version, \
     required_slots, filled_slots, confidence_score, explanations, generated_at, published_at, \
     created_at, updated_at";

#[derive(FromQueryResult)]
struct PlanningRow {
    id: Uuid,
    organization_id: Uuid,
    department_id: Uuid,
    month: String,
    status: String,
    version: i32,
    required_slots: i32,
    filled_slots: i32,
    confidence_score: Option<f64>,
    explanations: String,
    generated_at: Option<i64>,
    published_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

fn planning(r: PlanningRow) -> Result<Planning, StoreError> {
    Ok(Planning {
        id: PlanningId(r.id),
        organization: OrganizationId(r.organization_id),
        department: DepartmentId(r.department_id),
        month: parse_month(&r.month)?,
        status: PlanningStatus::parse(&r.status).ok_or_else(|| corrupt("status"))?,
        version: r.version,
        required_slots: u32::try_from(r.required_slots).unwrap_or(0),
        filled_slots: u32::try_from(r.filled_slots).unwrap_or(0),
        confidence_score: r.confidence_score,
        explanations: json(&r.explanations)?,
        generated_at: r.generated_at.map(from_ms),
        published_at: r.published_at.map(from_ms),
        created_at: from_ms(r.created_at),
        updated_at: from_ms(r.updated_at),
    })
}

const ASSIGNMENT_COLUMNS: &str = "a.id, a.planning_id, a.service_id, a.user_id, a.role, a.pinned, \
     a.forced, a.warnings, a.status, a.decline_reason, a.responded_at, a.flag";

#[derive(FromQueryResult)]
struct AssignmentRow {
    id: Uuid,
    planning_id: Uuid,
    service_id: Uuid,
    user_id: Uuid,
    role: String,
    pinned: bool,
    forced: bool,
    warnings: String,
    status: String,
    decline_reason: Option<String>,
    responded_at: Option<i64>,
    flag: Option<String>,
}

fn assignment(r: AssignmentRow) -> Result<Assignment, StoreError> {
    Ok(Assignment {
        id: AssignmentId(r.id),
        planning: PlanningId(r.planning_id),
        service: ServiceId(r.service_id),
        user: UserId(r.user_id),
        role: r.role,
        pinned: r.pinned,
        forced: r.forced,
        warnings: json(&r.warnings)?,
        status: AssignmentStatus::parse(&r.status).ok_or_else(|| corrupt("assignment status"))?,
        decline_reason: r.decline_reason,
        responded_at: r.responded_at.map(from_ms),
        flag: r.flag,
    })
}

const SERVICE_COLUMNS: &str = "s.id AS s_id, s.department_id AS s_department_id, s.name AS s_name, \
     s.service_type AS s_service_type, s.date AS s_date, s.start_time AS s_start_time, \
     s.end_time AS s_end_time, s.location AS s_location, s.required_roles AS s_required_roles";

#[derive(FromQueryResult)]
struct ServiceRow {
    s_id: Uuid,
    s_department_id: Uuid,
    s_name: String,
    s_service_type: String,
    s_date: String,
    s_start_time: String,
    s_end_time: String,
    s_location: Option<String>,
    s_required_roles: String,
}

fn service(r: ServiceRow) -> Result<ServiceInfo, StoreError> {
    let roles: Vec<RoleCount> = json(&r.s_required_roles)?;
    Ok(ServiceInfo {
        id: ServiceId(r.s_id),
        department: DepartmentId(r.s_department_id),
        name: r.s_name,
        service_type: r.s_service_type,
        date: date(&r.s_date)?,
        start: time(&r.s_start_time)?,
        end: time(&r.s_end_time)?,
        location: r.s_location,
        required_roles: roles,
    })
}

#[derive(FromQueryResult)]
struct MemberRow {
    user_id: Uuid,
    first_name: String,
    last_name: String,
    role: String,
    status: String,
    skills: String,
    max_per_month: Option<i32>,
    preferred_service_types: String,
}

#[derive(FromQueryResult)]
struct HistoryRow {
    user_id: Uuid,
    n: i64,
}

#[derive(FromQueryResult)]
struct CommitmentRow {
    user_id: Uuid,
    department_name: String,
    #[sea_orm(nested)]
    service: ServiceRow,
}

#[derive(FromQueryResult)]
struct HeaderRow {
    name: String,
    timezone: String,
}

#[derive(FromQueryResult)]
struct MineRow {
    #[sea_orm(nested)]
    a: AssignmentRow,
    #[sea_orm(nested)]
    s: ServiceRow,
    organization_id: Uuid,
    department_name: String,
    planning_status: String,
}

fn mine(r: MineRow) -> Result<MyAssignment, StoreError> {
    let service = service(r.s)?;
    Ok(MyAssignment {
        assignment: assignment(r.a)?,
        organization: OrganizationId(r.organization_id),
        department: service.department,
        department_name: r.department_name,
        planning_status: PlanningStatus::parse(&r.planning_status)
            .ok_or_else(|| corrupt("status"))?,
        service,
    })
}

fn assignment_values(
    org: OrganizationId,
    a: &Assignment,
    now: DateTime<Utc>,
) -> Result<Vec<Value>, StoreError> {
    Ok(vec![
        a.id.as_uuid().into(),
        org.as_uuid().into(),
        a.planning.as_uuid().into(),
        a.service.as_uuid().into(),
        a.user.as_uuid().into(),
        a.role.clone().into(),
        a.pinned.into(),
        a.forced.into(),
        to_json(&a.warnings)?.into(),
        a.status.as_str().into(),
        a.decline_reason.clone().into(),
        a.responded_at.map(ms).into(),
        a.flag.clone().into(),
        ms(now).into(),
        ms(now).into(),
    ])
}

const INSERT_ASSIGNMENTS: &str = "INSERT INTO assignments (id, organization_id, planning_id, \
     service_id, user_id, role, pinned, forced, warnings, status, decline_reason, responded_at, \
     flag, created_at, updated_at) VALUES ";
const ASSIGNMENT_PLACEHOLDERS: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

async fn insert_assignments<C: ConnectionTrait>(
    c: &C,
    org: OrganizationId,
    list: &[Assignment],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // 15 values a row; 60 rows stay under SQLite's 999-parameter floor.
    for chunk in list.chunks(60) {
        let mut sql = String::from(INSERT_ASSIGNMENTS);
        let mut values = Vec::with_capacity(chunk.len() * 15);
        for (i, a) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(ASSIGNMENT_PLACEHOLDERS);
            values.extend(assignment_values(org, a, now)?);
        }
        exec(c, &sql, values).await?;
    }
    Ok(())
}

async fn read_planning<C: ConnectionTrait>(
    c: &C,
    org: OrganizationId,
    id: PlanningId,
) -> Result<Option<Planning>, StoreError> {
    let row = one(
        c,
        &format!("SELECT {PLANNING_COLUMNS} FROM plannings WHERE id = ? AND organization_id = ?"),
        vec![id.as_uuid().into(), org.as_uuid().into()],
    )
    .await?;
    decode_one(row, planning)
}

impl RotaStore for SeaRota {
    async fn plannings(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
    ) -> Result<Vec<Planning>, StoreError> {
        let rows = all(
            &self.conn,
            &format!(
                "SELECT {PLANNING_COLUMNS} FROM plannings WHERE organization_id = ? \
                 AND department_id = ? ORDER BY month DESC"
            ),
            vec![org.as_uuid().into(), dept.as_uuid().into()],
        )
        .await?;
        decode(&rows, planning)
    }

    async fn planning(
        &self,
        org: OrganizationId,
        id: PlanningId,
    ) -> Result<Option<Planning>, StoreError> {
        read_planning(&self.conn, org, id).await
    }

    async fn create_planning(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
        now: DateTime<Utc>,
    ) -> Result<Planning, StoreError> {
        let id = PlanningId::new();
        exec(
            &self.conn,
            "INSERT INTO plannings (id, organization_id, department_id, month, status, version, \
             required_slots, filled_slots, explanations, created_at, updated_at) \
             VALUES (?, ?, ?, ?, 'draft', 1, 0, 0, '[]', ?, ?)",
            vec![
                id.as_uuid().into(),
                org.as_uuid().into(),
                dept.as_uuid().into(),
                month_key(month).into(),
                ms(now).into(),
                ms(now).into(),
            ],
        )
        .await?;
        read_planning(&self.conn, org, id)
            .await?
            .ok_or_else(|| corrupt("planning vanished"))
    }

    async fn month_data(&self, org: OrganizationId, p: &Planning) -> Result<MonthData, StoreError> {
        let o = org.as_uuid();
        let d = p.department.as_uuid();
        let from = p.month.first_day().format("%Y-%m-%d").to_string();
        let to = p.month.last_day().format("%Y-%m-%d").to_string();
        let header = one(
            &self.conn,
            "SELECT d.name, o.timezone FROM departments d JOIN organizations o \
             ON o.id = d.organization_id WHERE d.id = ? AND d.organization_id = ?",
            vec![d.into(), o.into()],
        )
        .await?;
        let header = decode_one(header, |h: HeaderRow| Ok(h))?
            .ok_or_else(|| corrupt("department vanished"))?;
        let services = decode(
            &all(
                &self.conn,
                &format!(
                    "SELECT {SERVICE_COLUMNS} FROM services s WHERE s.organization_id = ? \
                     AND s.department_id = ? AND s.date BETWEEN ? AND ? \
                     ORDER BY s.date, s.start_time, s.id"
                ),
                vec![o.into(), d.into(), from.clone().into(), to.clone().into()],
            )
            .await?,
            service,
        )?;
        let members: Vec<MemberRow> = decode(
            &all(
                &self.conn,
                "SELECT m.user_id, u.first_name, u.last_name, m.role, m.status, m.skills, \
                 m.max_per_month, m.preferred_service_types FROM department_members m \
                 JOIN users u ON u.id = m.user_id \
                 WHERE m.organization_id = ? AND m.department_id = ? ORDER BY u.last_name, u.first_name, m.user_id",
                vec![o.into(), d.into()],
            )
            .await?,
            Ok,
        )?;
        // The three months before this one, in this department, on rotas that went out.
        let mut start = p.month;
        for _ in 0..3 {
            start = start.prev().unwrap_or(start);
        }
        let history: HashMap<Uuid, u32> = decode(
            &all(
                &self.conn,
                "SELECT a.user_id, COUNT(*) AS n FROM assignments a \
                 JOIN plannings p ON p.id = a.planning_id AND p.organization_id = a.organization_id \
                 WHERE a.organization_id = ? AND p.department_id = ? AND p.month >= ? AND p.month < ? \
                 AND p.status IN ('published', 'archived') AND a.status <> 'declined' \
                 GROUP BY a.user_id",
                vec![
                    o.into(),
                    d.into(),
                    month_key(start).into(),
                    month_key(p.month).into(),
                ],
            )
            .await?,
            |r: HistoryRow| Ok((r.user_id, u32::try_from(r.n).unwrap_or(0))),
        )?
        .into_iter()
        .collect();
        let commitments = decode(
            &all(
                &self.conn,
                &format!(
                    "SELECT a.user_id, od.name AS department_name, {SERVICE_COLUMNS} \
                     FROM assignments a \
                     JOIN plannings p ON p.id = a.planning_id AND p.organization_id = a.organization_id \
                     JOIN services s ON s.id = a.service_id AND s.organization_id = a.organization_id \
                     JOIN departments od ON od.id = p.department_id AND od.organization_id = a.organization_id \
                     JOIN department_members m ON m.user_id = a.user_id AND m.department_id = ? \
                       AND m.organization_id = a.organization_id \
                     WHERE a.organization_id = ? AND p.department_id <> ? \
                     AND s.date BETWEEN ? AND ? AND a.status <> 'declined' \
                     ORDER BY s.date, s.start_time"
                ),
                vec![d.into(), o.into(), d.into(), from.into(), to.into()],
            )
            .await?,
            |r: CommitmentRow| {
                let s = service(r.service)?;
                Ok(Commitment {
                    user: UserId(r.user_id),
                    service: s.id,
                    service_name: s.name,
                    department_name: r.department_name,
                    date: s.date,
                    start: s.start,
                    end: s.end,
                })
            },
        )?;
        let assignments = decode(
            &all(
                &self.conn,
                &format!(
                    "SELECT {ASSIGNMENT_COLUMNS} FROM assignments a \
                     WHERE a.organization_id = ? AND a.planning_id = ? ORDER BY a.id"
                ),
                vec![o.into(), p.id.as_uuid().into()],
            )
            .await?,
            assignment,
        )?;
        let mut names = HashMap::new();
        let mut candidates = Vec::new();
        for m in members {
            let user = UserId(m.user_id);
            let name = format!("{} {}", m.first_name, m.last_name)
                .trim()
                .to_owned();
            names.insert(user, name.clone());
            if m.status == "active" && m.role != "guest" {
                candidates.push(Candidate {
                    user,
                    name,
                    skills: json(&m.skills)?,
                    max_per_month: m.max_per_month.and_then(|v| u32::try_from(v).ok()),
                    preferred_service_types: json(&m.preferred_service_types)?,
                    history: history.get(&m.user_id).copied().unwrap_or(0),
                });
            }
        }
        Ok(MonthData {
            planning: p.clone(),
            department_name: header.name,
            timezone: header.timezone,
            services,
            candidates,
            commitments,
            assignments,
            names,
        })
    }

    async fn write(
        &self,
        org: OrganizationId,
        planning_id: PlanningId,
        expected_version: i32,
        changes: Vec<Change>,
        events: Vec<DomainEvent>,
        now: DateTime<Utc>,
    ) -> Result<Option<Planning>, StoreError> {
        let o = org.as_uuid();
        let pid = planning_id.as_uuid();
        let tx = self.conn.begin().await.map_err(err)?;
        let bumped = exec(
            &tx,
            "UPDATE plannings SET version = version + 1, updated_at = ? \
             WHERE id = ? AND organization_id = ? AND version = ?",
            vec![
                ms(now).into(),
                pid.into(),
                o.into(),
                expected_version.into(),
            ],
        )
        .await?;
        if bumped == 0 {
            return Ok(None);
        }
        for change in changes {
            apply(&tx, org, planning_id, change, now).await?;
        }
        let queued = crate::outbox::record(&tx, &events, now).await?;
        let after = read_planning(&tx, org, planning_id).await?;
        tx.commit().await.map_err(err)?;
        queued.wake(&self.wakeup).await;
        Ok(after)
    }

    async fn enqueue_generation(
        &self,
        org: OrganizationId,
        p: &Planning,
        requested_by: UserId,
        now: DateTime<Utc>,
    ) -> Result<JobId, StoreError> {
        let key = format!("{}:{}:v{}", rota::GENERATE_JOB, p.id, p.version);
        let payload = serde_json::to_value(rota::service::GenerateJob {
            organization_id: org,
            planning_id: p.id,
            requested_by,
        })
        .map_err(|e| StoreError::Other(e.to_string()))?;
        let job = NewJob::now(rota::GENERATE_JOB, payload, now)
            .dedupe(key.clone())
            .max_attempts(3)
            .for_organization(org);
        if let Some(id) = enqueue(&self.conn, &job, now).await.map_err(err)? {
            self.wakeup.notify().await;
            return Ok(id);
        }
        let row = one(
            &self.conn,
            "SELECT id FROM jobs WHERE dedupe_key = ? AND organization_id = ?",
            vec![key.into(), org.as_uuid().into()],
        )
        .await?
        .ok_or_else(|| corrupt("generation job vanished"))?;
        let id: Uuid = row.try_get("", "id").map_err(err)?;
        Ok(JobId(id))
    }

    async fn my_assignments(
        &self,
        org: OrganizationId,
        user: UserId,
        from: NaiveDate,
    ) -> Result<Vec<MyAssignment>, StoreError> {
        let rows = all(
            &self.conn,
            &format!("{MINE_SQL} AND p.status = 'published' AND s.date >= ? ORDER BY s.date, s.start_time, a.id"),
            vec![
                org.as_uuid().into(),
                user.as_uuid().into(),
                from.format("%Y-%m-%d").to_string().into(),
            ],
        )
        .await?;
        decode(&rows, mine)
    }

    async fn my_assignment(
        &self,
        org: OrganizationId,
        user: UserId,
        id: AssignmentId,
    ) -> Result<Option<MyAssignment>, StoreError> {
        let row = one(
            &self.conn,
            &format!("{MINE_SQL} AND a.id = ?"),
            vec![
                org.as_uuid().into(),
                user.as_uuid().into(),
                id.as_uuid().into(),
            ],
        )
        .await?;
        decode_one(row, mine)
    }

    async fn respond(
        &self,
        org: OrganizationId,
        answer: &Assignment,
        summary: Change,
        events: Vec<DomainEvent>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let o = org.as_uuid();
        let tx = self.conn.begin().await.map_err(err)?;
        let planning = one(
            &tx,
            "SELECT planning_id FROM assignments WHERE id = ? AND organization_id = ?",
            vec![answer.id.as_uuid().into(), o.into()],
        )
        .await?
        .ok_or_else(|| corrupt("assignment vanished"))?;
        let planning: Uuid = planning.try_get("", "planning_id").map_err(err)?;
        exec(
            &tx,
            "UPDATE plannings SET version = version + 1, updated_at = ? \
             WHERE id = ? AND organization_id = ?",
            vec![ms(now).into(), planning.into(), o.into()],
        )
        .await?;
        exec(
            &tx,
            "UPDATE assignments SET status = ?, decline_reason = ?, responded_at = ?, updated_at = ? \
             WHERE id = ? AND organization_id = ?",
            vec![
                answer.status.as_str().into(),
                answer.decline_reason.clone().into(),
                ms(now).into(),
                ms(now).into(),
                answer.id.as_uuid().into(),
                o.into(),
            ],
        )
        .await?;
        apply(&tx, org, PlanningId(planning), summary, now).await?;
        let queued = crate::outbox::record(&tx, &events, now).await?;
        tx.commit().await.map_err(err)?;
        queued.wake(&self.wakeup).await;
        Ok(())
    }
}

/// One part of a write, inside its transaction.
async fn apply<C: ConnectionTrait>(
    tx: &C,
    org: OrganizationId,
    planning_id: PlanningId,
    change: Change,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let o = org.as_uuid();
    let pid = planning_id.as_uuid();
    match change {
        Change::Insert(a) => insert_assignments(tx, org, &[a], now).await?,
        Change::Update(a) => {
            exec(
                    tx,
                    "UPDATE assignments SET service_id = ?, user_id = ?, role = ?, pinned = ?, \
                     forced = ?, warnings = ?, status = ?, decline_reason = ?, responded_at = ?, \
                     flag = ?, updated_at = ? WHERE id = ? AND organization_id = ? AND planning_id = ?",
                    vec![
                        a.service.as_uuid().into(),
                        a.user.as_uuid().into(),
                        a.role.clone().into(),
                        a.pinned.into(),
                        a.forced.into(),
                        to_json(&a.warnings)?.into(),
                        a.status.as_str().into(),
                        a.decline_reason.clone().into(),
                        a.responded_at.map(ms).into(),
                        a.flag.clone().into(),
                        ms(now).into(),
                        a.id.as_uuid().into(),
                        o.into(),
                        pid.into(),
                    ],
                )
                .await?;
        }
        Change::Delete(id) => {
            exec(
                tx,
                "DELETE FROM assignments WHERE id = ? AND organization_id = ? AND planning_id = ?",
                vec![id.as_uuid().into(), o.into(), pid.into()],
            )
            .await?;
        }
        Change::ReplaceUnpinned(list) => {
            exec(
                tx,
                "DELETE FROM assignments WHERE organization_id = ? AND planning_id = ? \
                     AND pinned = ?",
                vec![o.into(), pid.into(), false.into()],
            )
            .await?;
            insert_assignments(tx, org, &list, now).await?;
        }
        Change::Summary {
            required,
            filled,
            confidence,
            explanations,
            generated,
        } => {
            exec(
                tx,
                "UPDATE plannings SET required_slots = ?, filled_slots = ?, \
                     confidence_score = ?, explanations = ?, \
                     generated_at = COALESCE(?, generated_at) \
                     WHERE id = ? AND organization_id = ?",
                vec![
                    i64::from(required).into(),
                    i64::from(filled).into(),
                    confidence.into(),
                    to_json(&explanations)?.into(),
                    generated.map(ms).into(),
                    pid.into(),
                    o.into(),
                ],
            )
            .await?;
        }
        Change::Status { to, published_at } => {
            exec(
                tx,
                "UPDATE plannings SET status = ?, published_at = COALESCE(?, published_at) \
                     WHERE id = ? AND organization_id = ?",
                vec![
                    to.as_str().into(),
                    published_at.map(ms).into(),
                    pid.into(),
                    o.into(),
                ],
            )
            .await?;
        }
    }
    Ok(())
}

const MINE_SQL: &str = "SELECT a.id, a.planning_id, a.service_id, a.user_id, a.role, a.pinned, \
     a.forced, a.warnings, a.status, a.decline_reason, a.responded_at, a.flag, \
     s.id AS s_id, s.department_id AS s_department_id, s.name AS s_name, \
     s.service_type AS s_service_type, s.date AS s_date, s.start_time AS s_start_time, \
     s.end_time AS s_end_time, s.location AS s_location, s.required_roles AS s_required_roles, \
     a.organization_id, d.name AS department_name, p.status AS planning_status \
     FROM assignments a \
     JOIN plannings p ON p.id = a.planning_id AND p.organization_id = a.organization_id \
     JOIN services s ON s.id = a.service_id AND s.organization_id = a.organization_id \
     JOIN departments d ON d.id = p.department_id AND d.organization_id = a.organization_id \
     WHERE a.organization_id = ? AND a.user_id = ?";
