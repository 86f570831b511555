//! [`availability::AvailabilityStore`] on sea-orm. Every statement is scoped by church; the
//! department's reads join its active members on the same church. Each write is one
//! transaction that also records its `availability.changed` event in the outbox.

use crate::jobs::{from_ms, ms};
use crate::sql::{all, count, decode, err, exec, one};
use availability::{
    Added, AvailabilityStore, Blockout, DateRange, Month, MonthRecords, PersonalData, RangeId,
    StoredRange, StoredWeeklyRule, WeeklyRule, WeeklyRuleId,
};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use kernel::{DepartmentId, DomainEvent, OrganizationId, UserId};
use kv::Wakeup;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, FromQueryResult,
    TransactionTrait, Value,
};
use teams::StoreError;
use uuid::Uuid;

/// The availability store.
#[derive(Clone, Debug)]
pub struct SeaAvailability {
    pub(crate) conn: DatabaseConnection,
    /// Woken after a commit that queued work for the workers (see [`crate::outbox::Queued`]).
    pub(crate) wakeup: Wakeup,
}

impl SeaAvailability {
    pub fn new(conn: DatabaseConnection, wakeup: Wakeup) -> Self {
        Self { conn, wakeup }
    }
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn bounds(month: Month) -> (String, String) {
    (day(month.first_day()), day(month.last_day()))
}

fn month_key(month: Month) -> String {
    format!("{:04}-{:02}", month.year(), month.month())
}

fn hms(t: NaiveTime) -> String {
    t.format("%H:%M:%S").to_string()
}

fn bad(what: &str) -> StoreError {
    StoreError::Other(format!("availability row: bad {what}"))
}

fn parse_day(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad("date"))
}

fn parse_window(
    start: Option<&str>,
    end: Option<&str>,
) -> Result<Option<(NaiveTime, NaiveTime)>, StoreError> {
    let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M:%S").map_err(|_| bad("time"));
    Ok(match (start, end) {
        (Some(s), Some(e)) => Some((time(s)?, time(e)?)),
        _ => None,
    })
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
        Ok((
            UserId::from(self.user_id),
            Blockout {
                date: parse_day(&self.date)?,
                window: parse_window(self.start_time.as_deref(), self.end_time.as_deref())?,
                reason: self.reason,
            },
        ))
    }
}

#[derive(FromQueryResult)]
struct RangeRow {
    id: Uuid,
    user_id: Uuid,
    from_date: String,
    to_date: String,
    start_time: Option<String>,
    end_time: Option<String>,
    reason: Option<String>,
    created_at: i64,
}

fn range_of(r: RangeRow) -> Result<StoredRange, StoreError> {
    Ok(StoredRange {
        id: RangeId::from(r.id),
        user: UserId::from(r.user_id),
        range: DateRange {
            from: parse_day(&r.from_date)?,
            to: parse_day(&r.to_date)?,
            window: parse_window(r.start_time.as_deref(), r.end_time.as_deref())?,
            reason: r.reason,
        },
        created_at: from_ms(r.created_at),
    })
}

#[derive(FromQueryResult)]
struct WeeklyRow {
    id: Uuid,
    user_id: Uuid,
    weekday: String,
    start_time: Option<String>,
    end_time: Option<String>,
    starts_on: String,
    until_date: Option<String>,
    reason: Option<String>,
    created_at: i64,
}

fn weekly_of(r: WeeklyRow) -> Result<StoredWeeklyRule, StoreError> {
    Ok(StoredWeeklyRule {
        id: WeeklyRuleId::from(r.id),
        user: UserId::from(r.user_id),
        rule: WeeklyRule {
            weekday: availability::model::parse_weekday(&r.weekday).ok_or(bad("weekday"))?,
            window: parse_window(r.start_time.as_deref(), r.end_time.as_deref())?,
            starts: parse_day(&r.starts_on)?,
            until: r.until_date.as_deref().map(parse_day).transpose()?,
            reason: r.reason,
        },
        created_at: from_ms(r.created_at),
    })
}

const COLUMNS: &str = "b.user_id, b.date, b.start_time, b.end_time, b.reason";
const RANGE_COLUMNS: &str =
    "r.id, r.user_id, r.from_date, r.to_date, r.start_time, r.end_time, r.reason, r.created_at";
const WEEKLY_COLUMNS: &str = "w.id, w.user_id, w.weekday, w.start_time, w.end_time, \
                              w.starts_on, w.until_date, w.reason, w.created_at";
/// The department's active members, joined on the same church (two placeholders: church,
/// department). `{t}` is the alias of the joined table.
fn members_join(t: &str) -> String {
    format!(
        "JOIN department_members m ON m.user_id = {t}.user_id AND m.organization_id = ? \
         AND m.department_id = ? AND m.status = 'active'"
    )
}

/// An insert that respects a per-person limit: the statement and its values, and the count
/// of the person's current rows (placeholders: church, person, today).
struct Limited<'a> {
    insert: &'a str,
    values: Vec<Value>,
    count: &'a str,
    today: NaiveDate,
    max: usize,
}

/// Who a month read is for: one person, or a department's active members.
#[derive(Clone, Copy)]
enum Who {
    Person(UserId),
    Department(DepartmentId),
}

impl Who {
    /// The join (if any), the filter on the row's person (if any), and their values, for a
    /// table aliased `t`. The church filter on `t` itself is the caller's.
    fn scope(self, org: OrganizationId, t: &str) -> (String, String, Vec<Value>) {
        match self {
            Who::Person(u) => (
                String::new(),
                format!(" AND {t}.user_id = ?"),
                vec![u.as_uuid().into()],
            ),
            Who::Department(d) => (
                members_join(t),
                String::new(),
                vec![org.as_uuid().into(), d.as_uuid().into()],
            ),
        }
    }
}

impl SeaAvailability {
    /// One-offs, ranges and weekly rules touching `month`: three statements.
    async fn records(
        &self,
        org: OrganizationId,
        who: Who,
        month: Month,
    ) -> Result<MonthRecords, StoreError> {
        let (from, to) = bounds(month);
        let o = org.as_uuid();
        // Values in placeholder order: the join's (department reads), the church, the
        // person's (person reads), then the dates.
        let values = |t: &str, dates: [&String; 2]| {
            let (join, filter, scoped) = who.scope(org, t);
            let mut v: Vec<Value> = Vec::new();
            if matches!(who, Who::Department(_)) {
                v.extend(scoped.clone());
            }
            v.push(o.into());
            if matches!(who, Who::Person(_)) {
                v.extend(scoped);
            }
            v.extend(dates.into_iter().map(|d| Value::from(d.clone())));
            (join, filter, v)
        };

        let (join, filter, v) = values("b", [&from, &to]);
        let rows = all(
            &self.conn,
            &format!(
                "SELECT {COLUMNS} FROM blockouts b {join} WHERE b.organization_id = ?{filter} \
                 AND b.date BETWEEN ? AND ? ORDER BY b.user_id, b.date, b.start_time, b.id"
            ),
            v,
        )
        .await?;
        let one_offs = decode(&rows, Row::into_pair)?;

        // Touching the month: starts on or before its last day, ends on or after its first.
        let (join, filter, v) = values("r", [&to, &from]);
        let rows = all(
            &self.conn,
            &format!(
                "SELECT {RANGE_COLUMNS} FROM blockout_ranges r {join} \
                 WHERE r.organization_id = ?{filter} AND r.from_date <= ? AND r.to_date >= ? \
                 ORDER BY r.user_id, r.from_date, r.id"
            ),
            v,
        )
        .await?;
        let ranges = decode(&rows, range_of)?;

        let (join, filter, v) = values("w", [&to, &from]);
        let rows = all(
            &self.conn,
            &format!(
                "SELECT {WEEKLY_COLUMNS} FROM blockout_weekly_rules w {join} \
                 WHERE w.organization_id = ?{filter} AND w.starts_on <= ? \
                 AND (w.until_date IS NULL OR w.until_date >= ?) ORDER BY w.user_id, w.id"
            ),
            v,
        )
        .await?;
        let weekly = decode(&rows, weekly_of)?;
        Ok(MonthRecords {
            one_offs,
            ranges,
            weekly,
        })
    }

    /// Opens the transaction of a person's change. On PostgreSQL it first locks the person's
    /// row, so that two concurrent adds for one person run one after the other and cannot
    /// both pass the count limit; SQLite has a single writer, and each add writes first.
    async fn begin_for(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> Result<DatabaseTransaction, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        if tx.get_database_backend() == DbBackend::Postgres {
            one(
                &tx,
                "SELECT id FROM users WHERE id = ? AND organization_id = ? FOR UPDATE",
                vec![user.as_uuid().into(), org.as_uuid().into()],
            )
            .await?;
        }
        Ok(tx)
    }

    /// Inserts a row, counts the person's current rows, and commits with the event unless
    /// the count is over the limit (then rolls back).
    async fn add_limited(
        &self,
        org: OrganizationId,
        user: UserId,
        add: Limited<'_>,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> Result<Added, StoreError> {
        let tx = self.begin_for(org, user).await?;
        exec(&tx, add.insert, add.values).await?;
        let n = count(
            &tx,
            add.count,
            vec![
                org.as_uuid().into(),
                user.as_uuid().into(),
                day(add.today).into(),
            ],
        )
        .await?;
        if n > add.max {
            tx.rollback().await.map_err(err)?;
            return Ok(Added::LimitReached);
        }
        let queued = crate::outbox::record(&tx, std::slice::from_ref(event), now).await?;
        tx.commit().await.map_err(err)?;
        queued.wake(&self.wakeup).await;
        Ok(Added::Added)
    }

    /// Deletes one row of the person's and records the event, or touches nothing.
    async fn delete_one(
        &self,
        org: OrganizationId,
        user: UserId,
        table: &str,
        id: Uuid,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        let n = exec(
            &tx,
            &format!("DELETE FROM {table} WHERE organization_id = ? AND user_id = ? AND id = ?"),
            vec![org.as_uuid().into(), user.as_uuid().into(), id.into()],
        )
        .await?;
        if n == 0 {
            tx.rollback().await.map_err(err)?;
            return Ok(false);
        }
        let queued = crate::outbox::record(&tx, std::slice::from_ref(event), now).await?;
        tx.commit().await.map_err(err)?;
        queued.wake(&self.wakeup).await;
        Ok(true)
    }

    async fn person_ranges<C: ConnectionTrait>(
        c: &C,
        org: OrganizationId,
        user: UserId,
        id: Option<RangeId>,
    ) -> Result<Vec<StoredRange>, StoreError> {
        let mut v: Vec<Value> = vec![org.as_uuid().into(), user.as_uuid().into()];
        let by_id = match id {
            Some(id) => {
                v.push(id.as_uuid().into());
                " AND r.id = ?"
            }
            None => "",
        };
        let rows = all(
            c,
            &format!(
                "SELECT {RANGE_COLUMNS} FROM blockout_ranges r \
                 WHERE r.organization_id = ? AND r.user_id = ?{by_id} ORDER BY r.from_date, r.id"
            ),
            v,
        )
        .await?;
        decode(&rows, range_of)
    }

    async fn person_weekly<C: ConnectionTrait>(
        c: &C,
        org: OrganizationId,
        user: UserId,
        id: Option<WeeklyRuleId>,
    ) -> Result<Vec<StoredWeeklyRule>, StoreError> {
        let mut v: Vec<Value> = vec![org.as_uuid().into(), user.as_uuid().into()];
        let by_id = match id {
            Some(id) => {
                v.push(id.as_uuid().into());
                " AND w.id = ?"
            }
            None => "",
        };
        let rows = all(
            c,
            &format!(
                "SELECT {WEEKLY_COLUMNS} FROM blockout_weekly_rules w \
                 WHERE w.organization_id = ? AND w.user_id = ?{by_id} ORDER BY w.id"
            ),
            v,
        )
        .await?;
        decode(&rows, weekly_of)
    }
}

impl AvailabilityStore for SeaAvailability {
    async fn person_month(
        &self,
        org: OrganizationId,
        user: UserId,
        month: Month,
    ) -> Result<MonthRecords, StoreError> {
        self.records(org, Who::Person(user), month).await
    }

    async fn replace_month(
        &self,
        org: OrganizationId,
        user: UserId,
        month: Month,
        blockouts: &[Blockout],
        event: &DomainEvent,
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
            exec(
                &tx,
                "INSERT INTO blockouts (id, organization_id, user_id, date, start_time, end_time, \
                 reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    Uuid::now_v7().into(),
                    org.as_uuid().into(),
                    user.as_uuid().into(),
                    day(b.date).into(),
                    b.start().map(hms).into(),
                    b.end().map(hms).into(),
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
        let queued = crate::outbox::record(&tx, std::slice::from_ref(event), now).await?;
        tx.commit().await.map_err(err)?;
        queued.wake(&self.wakeup).await;
        Ok(())
    }

    async fn department_records(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
    ) -> Result<MonthRecords, StoreError> {
        self.records(org, Who::Department(dept), month).await
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
            &format!(
                "SELECT a.user_id FROM availability_answers a {} \
                 WHERE a.organization_id = ? AND a.month = ?",
                members_join("a")
            ),
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

    async fn ranges(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> Result<Vec<StoredRange>, StoreError> {
        Self::person_ranges(&self.conn, org, user, None).await
    }

    async fn range(
        &self,
        org: OrganizationId,
        user: UserId,
        id: RangeId,
    ) -> Result<Option<StoredRange>, StoreError> {
        Ok(Self::person_ranges(&self.conn, org, user, Some(id))
            .await?
            .into_iter()
            .next())
    }

    async fn add_range(
        &self,
        org: OrganizationId,
        r: &StoredRange,
        today: NaiveDate,
        max: usize,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> Result<Added, StoreError> {
        let insert = vec![
            r.id.as_uuid().into(),
            org.as_uuid().into(),
            r.user.as_uuid().into(),
            day(r.range.from).into(),
            day(r.range.to).into(),
            r.range.window.map(|(s, _)| hms(s)).into(),
            r.range.window.map(|(_, e)| hms(e)).into(),
            r.range.reason.clone().into(),
            ms(r.created_at).into(),
        ];
        let add = Limited {
            insert: "INSERT INTO blockout_ranges (id, organization_id, user_id, from_date, to_date, \
                 start_time, end_time, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values: insert,
            count: "SELECT COUNT(*) AS n FROM blockout_ranges \
             WHERE organization_id = ? AND user_id = ? AND to_date >= ?",
            today,
            max,
        };
        self.add_limited(org, r.user, add, event, now).await
    }

    async fn delete_range(
        &self,
        org: OrganizationId,
        user: UserId,
        id: RangeId,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.delete_one(org, user, "blockout_ranges", id.as_uuid(), event, now)
            .await
    }

    async fn weekly_rules(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> Result<Vec<StoredWeeklyRule>, StoreError> {
        Self::person_weekly(&self.conn, org, user, None).await
    }

    async fn weekly_rule(
        &self,
        org: OrganizationId,
        user: UserId,
        id: WeeklyRuleId,
    ) -> Result<Option<StoredWeeklyRule>, StoreError> {
        Ok(Self::person_weekly(&self.conn, org, user, Some(id))
            .await?
            .into_iter()
            .next())
    }

    async fn add_weekly_rule(
        &self,
        org: OrganizationId,
        w: &StoredWeeklyRule,
        today: NaiveDate,
        max: usize,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> Result<Added, StoreError> {
        let insert = vec![
            w.id.as_uuid().into(),
            org.as_uuid().into(),
            w.user.as_uuid().into(),
            availability::model::weekday_name(w.rule.weekday).into(),
            w.rule.window.map(|(s, _)| hms(s)).into(),
            w.rule.window.map(|(_, e)| hms(e)).into(),
            day(w.rule.starts).into(),
            w.rule.until.map(day).into(),
            w.rule.reason.clone().into(),
            ms(w.created_at).into(),
        ];
        let add = Limited {
            insert: "INSERT INTO blockout_weekly_rules (id, organization_id, user_id, weekday, \
                 start_time, end_time, starts_on, until_date, reason, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values: insert,
            count: "SELECT COUNT(*) AS n FROM blockout_weekly_rules \
             WHERE organization_id = ? AND user_id = ? \
             AND (until_date IS NULL OR until_date >= ?)",
            today,
            max,
        };
        self.add_limited(org, w.user, add, event, now).await
    }

    async fn delete_weekly_rule(
        &self,
        org: OrganizationId,
        user: UserId,
        id: WeeklyRuleId,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.delete_one(org, user, "blockout_weekly_rules", id.as_uuid(), event, now)
            .await
    }

    async fn personal_data(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> Result<PersonalData, StoreError> {
        let rows = all(
            &self.conn,
            &format!(
                "SELECT {COLUMNS} FROM blockouts b WHERE b.organization_id = ? AND b.user_id = ? \
                 ORDER BY b.date, b.start_time, b.id"
            ),
            vec![org.as_uuid().into(), user.as_uuid().into()],
        )
        .await?;
        Ok(PersonalData {
            blockouts: decode(&rows, Row::into_pair)?
                .into_iter()
                .map(|(_, b)| b)
                .collect(),
            ranges: Self::person_ranges(&self.conn, org, user, None).await?,
            weekly: Self::person_weekly(&self.conn, org, user, None).await?,
        })
    }
}
