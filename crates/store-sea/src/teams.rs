//! [`teams::TeamStore`] on sea-orm. Each method is one transaction; emails are queued in the
//! same transaction as the change that causes them, and the workers are woken after the
//! commit.
//!
//! Tenant isolation: every statement that touches tenant rows is scoped by
//! `organization_id = ?` (joined tables included), so another church's ids behave exactly
//! like ids that do not exist. The exceptions are named on the methods: the daily expiry
//! (maintenance), the token lookups (the token is the key) and the per-user exports.
//!
//! Invariants (a department keeps a leader, a church an administrator) are checked inside the
//! transaction after a write to the parent row: on PostgreSQL that write takes the row's lock,
//! on SQLite the database's write lock, so two concurrent demotions cannot both see "two
//! leaders". Transactions that write always write first for the same reason (a SQLite
//! transaction that reads and then writes can fail to upgrade its lock).
//!
//! `users.role` is the church-level role the front end reads: `admin` for an administrator,
//! else `leader` when the user leads at least one department (active membership), else
//! `member`. It is recomputed in the transaction of every membership change.

use crate::jobs::{enqueue_email, from_ms, ms};
use crate::sql::{all, count, decode, decode_one, err, exec, one};
use chrono::{DateTime, Utc};
use kernel::mail::Email;
use kernel::{DepartmentId, InvitationId, OrganizationId, UserId};
use kv::Wakeup;
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult, TransactionTrait, Value};
use teams::rules::{keep_a_leader, keep_an_admin};
use teams::{
    AcceptOutcome, CreateOrgOutcome, DeleteOutcome, Department, DepartmentView, DeptRole, Guarded,
    Invitation, InvitationStatus, InvitationView, InviteOutcome, Member, MemberChange,
    MemberStatus, Membership, Organization, Person, StoreError, TeamStore,
};
use uuid::Uuid;

/// The teams store.
#[derive(Clone, Debug)]
pub struct SeaTeams {
    conn: DatabaseConnection,
    wakeup: Wakeup,
}

impl SeaTeams {
    pub fn new(conn: DatabaseConnection, wakeup: Wakeup) -> Self {
        Self { conn, wakeup }
    }
}

fn role(s: &str) -> Result<DeptRole, StoreError> {
    DeptRole::parse(s).ok_or_else(|| StoreError::Other(format!("department role {s:?}")))
}

fn member_status(s: &str) -> Result<MemberStatus, StoreError> {
    MemberStatus::parse(s).ok_or_else(|| StoreError::Other(format!("member status {s:?}")))
}

fn invitation_status(s: &str) -> Result<InvitationStatus, StoreError> {
    InvitationStatus::parse(s).ok_or_else(|| StoreError::Other(format!("invitation status {s:?}")))
}

fn skills_from(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Other(format!("skills {s:?}: {e}")))
}

fn skills_to(skills: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(skills).map_err(|e| StoreError::Other(e.to_string()))
}

fn count_u32(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What makes two department names the same within a church.
fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

// ---- rows ----

#[derive(FromQueryResult)]
struct OrganizationRow {
    id: Uuid,
    name: String,
    slug: String,
    timezone: String,
    created_at: i64,
    updated_at: i64,
}

impl OrganizationRow {
    fn into_organization(self) -> Result<Organization, StoreError> {
        Ok(Organization {
            id: OrganizationId::from(self.id),
            name: self.name,
            slug: self.slug,
            timezone: self.timezone,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        })
    }
}

#[derive(FromQueryResult)]
struct PersonRow {
    id: Uuid,
    first_name: String,
    last_name: String,
    email: String,
    avatar_key: Option<String>,
    role: String,
    department_count: i64,
}

impl PersonRow {
    fn into_person(self) -> Result<Person, StoreError> {
        Ok(Person {
            user_id: UserId::from(self.id),
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            avatar_key: self.avatar_key,
            is_admin: self.role == "admin",
            department_count: count_u32(self.department_count),
        })
    }
}

/// The department columns plus the viewer's role and the active member count.
const DEPARTMENT_VIEW_SELECT: &str = "SELECT d.id, d.organization_id, d.name, d.description, \
    d.availability_deadline_days, d.reminder_hours_before, d.archived_at, d.created_at, \
    d.updated_at, \
    (SELECT COUNT(*) FROM department_members c WHERE c.department_id = d.id \
       AND c.organization_id = ? AND c.status = 'active') AS member_count, \
    me.role AS my_role \
    FROM departments d \
    LEFT JOIN department_members me ON me.department_id = d.id AND me.organization_id = ? \
      AND me.user_id = ? AND me.status = 'active' \
    WHERE d.organization_id = ?";

#[derive(FromQueryResult)]
struct DepartmentViewRow {
    id: Uuid,
    organization_id: Uuid,
    name: String,
    description: Option<String>,
    availability_deadline_days: i32,
    reminder_hours_before: i32,
    archived_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    member_count: i64,
    my_role: Option<String>,
}

impl DepartmentViewRow {
    fn into_view(self) -> Result<DepartmentView, StoreError> {
        Ok(DepartmentView {
            department: Department {
                id: DepartmentId::from(self.id),
                organization_id: OrganizationId::from(self.organization_id),
                name: self.name,
                description: self.description,
                availability_deadline_days: self.availability_deadline_days,
                reminder_hours_before: self.reminder_hours_before,
                archived_at: self.archived_at.map(from_ms),
                created_at: from_ms(self.created_at),
                updated_at: from_ms(self.updated_at),
            },
            member_count: count_u32(self.member_count),
            my_role: self.my_role.as_deref().map(role).transpose()?,
        })
    }
}

/// Active members of one department with their account's names; binds org, org, org, dept.
const MEMBER_SELECT: &str = "SELECT m.department_id, m.user_id, u.first_name, u.last_name, \
    u.email, u.avatar_key, m.role, m.skills, m.max_per_month, m.preferred_service_types, \
    m.status, m.joined_at \
    FROM department_members m \
    JOIN departments d ON d.id = m.department_id AND d.organization_id = ? \
    JOIN users u ON u.id = m.user_id AND u.organization_id = ? \
    WHERE m.organization_id = ? AND m.department_id = ? AND m.status = 'active'";

#[derive(FromQueryResult)]
struct MemberRow {
    department_id: Uuid,
    user_id: Uuid,
    first_name: String,
    last_name: String,
    email: String,
    avatar_key: Option<String>,
    role: String,
    skills: String,
    max_per_month: Option<i32>,
    preferred_service_types: String,
    status: String,
    joined_at: i64,
}

impl MemberRow {
    fn into_member(self) -> Result<Member, StoreError> {
        Ok(Member {
            department_id: DepartmentId::from(self.department_id),
            user_id: UserId::from(self.user_id),
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            avatar_key: self.avatar_key,
            role: role(&self.role)?,
            skills: skills_from(&self.skills)?,
            max_per_month: self.max_per_month,
            preferred_service_types: skills_from(&self.preferred_service_types)?,
            status: member_status(&self.status)?,
            joined_at: from_ms(self.joined_at),
        })
    }
}

#[derive(FromQueryResult)]
struct MembershipRow {
    organization_id: Uuid,
    department_id: Uuid,
    department_name: String,
    role: String,
    skills: String,
    status: String,
    joined_at: i64,
}

impl MembershipRow {
    fn into_membership(self) -> Result<Membership, StoreError> {
        Ok(Membership {
            organization_id: OrganizationId::from(self.organization_id),
            department_id: DepartmentId::from(self.department_id),
            department_name: self.department_name,
            role: role(&self.role)?,
            skills: skills_from(&self.skills)?,
            status: member_status(&self.status)?,
            joined_at: from_ms(self.joined_at),
        })
    }
}

const INVITATION_COLUMNS: &str = "i.id, i.organization_id, i.department_id, i.email, i.role, \
    i.status, i.invited_by, i.expires_at, i.created_at, i.accepted_at";

#[derive(FromQueryResult)]
struct InvitationRow {
    id: Uuid,
    organization_id: Uuid,
    department_id: Uuid,
    email: String,
    role: String,
    status: String,
    invited_by: Option<Uuid>,
    expires_at: i64,
    created_at: i64,
    accepted_at: Option<i64>,
}

impl InvitationRow {
    fn into_invitation(self) -> Result<Invitation, StoreError> {
        Ok(Invitation {
            id: InvitationId::from(self.id),
            organization_id: OrganizationId::from(self.organization_id),
            department_id: DepartmentId::from(self.department_id),
            email: self.email,
            role: role(&self.role)?,
            status: invitation_status(&self.status)?,
            invited_by: self.invited_by.map(UserId::from),
            expires_at: from_ms(self.expires_at),
            created_at: from_ms(self.created_at),
            accepted_at: self.accepted_at.map(from_ms),
        })
    }
}

/// An invitation with its church's and department's names and its sender's; the joins to
/// the church and the department are scoped by the invitation's own church.
fn invitation_view_select(filter: &str) -> String {
    format!(
        "SELECT {INVITATION_COLUMNS}, o.name AS organization_name, d.name AS department_name, \
         u.first_name AS inviter_first_name, u.last_name AS inviter_last_name \
         FROM invitations i \
         JOIN organizations o ON o.id = i.organization_id \
         JOIN departments d ON d.id = i.department_id AND d.organization_id = i.organization_id \
         LEFT JOIN users u ON u.id = i.invited_by \
         WHERE {filter}"
    )
}

#[derive(FromQueryResult)]
struct InvitationViewRow {
    id: Uuid,
    organization_id: Uuid,
    department_id: Uuid,
    email: String,
    role: String,
    status: String,
    invited_by: Option<Uuid>,
    expires_at: i64,
    created_at: i64,
    accepted_at: Option<i64>,
    organization_name: String,
    department_name: String,
    inviter_first_name: Option<String>,
    inviter_last_name: Option<String>,
}

impl InvitationViewRow {
    fn into_view(self) -> Result<InvitationView, StoreError> {
        let inviter_name = match (self.inviter_first_name, self.inviter_last_name) {
            (None, None) => None,
            (first, last) => Some(
                format!("{} {}", first.unwrap_or_default(), last.unwrap_or_default())
                    .trim()
                    .to_string(),
            ),
        };
        let invitation = InvitationRow {
            id: self.id,
            organization_id: self.organization_id,
            department_id: self.department_id,
            email: self.email,
            role: self.role,
            status: self.status,
            invited_by: self.invited_by,
            expires_at: self.expires_at,
            created_at: self.created_at,
            accepted_at: self.accepted_at,
        }
        .into_invitation()?;
        Ok(InvitationView {
            invitation,
            organization_name: self.organization_name,
            department_name: self.department_name,
            inviter_name,
        })
    }
}

// ---- shared steps ----

/// Sets `users.role` from the user's memberships in `org`: `leader` when they lead an active
/// membership, else `member`. An administrator is left alone.
async fn recompute_role<C: ConnectionTrait>(
    c: &C,
    org: OrganizationId,
    user: UserId,
) -> Result<(), StoreError> {
    exec(
        c,
        "UPDATE users SET role = CASE WHEN EXISTS (SELECT 1 FROM department_members m \
           WHERE m.user_id = users.id AND m.organization_id = ? AND m.status = 'active' \
           AND m.role = 'leader') THEN 'leader' ELSE 'member' END \
         WHERE id = ? AND organization_id = ? AND role <> 'admin'",
        vec![
            org.as_uuid().into(),
            user.as_uuid().into(),
            org.as_uuid().into(),
        ],
    )
    .await?;
    Ok(())
}

/// Locks the department for an invariant check (see the module's notes); `false` when it is
/// not in `org`.
async fn touch_department<C: ConnectionTrait>(
    c: &C,
    org: OrganizationId,
    dept: DepartmentId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(exec(
        c,
        "UPDATE departments SET updated_at = ? WHERE id = ? AND organization_id = ?",
        vec![ms(now).into(), dept.as_uuid().into(), org.as_uuid().into()],
    )
    .await?
        == 1)
}

/// The active leaders of a department.
async fn leaders<C: ConnectionTrait>(
    c: &C,
    org: OrganizationId,
    dept: DepartmentId,
) -> Result<usize, StoreError> {
    count(
        c,
        "SELECT COUNT(*) AS n FROM department_members WHERE department_id = ? \
         AND organization_id = ? AND status = 'active' AND role = 'leader'",
        vec![dept.as_uuid().into(), org.as_uuid().into()],
    )
    .await
}

/// The role of an active member, if they are one.
async fn active_role<C: ConnectionTrait>(
    c: &C,
    org: OrganizationId,
    dept: DepartmentId,
    user: UserId,
) -> Result<Option<DeptRole>, StoreError> {
    let row = one(
        c,
        "SELECT role FROM department_members WHERE department_id = ? AND user_id = ? \
         AND organization_id = ? AND status = 'active'",
        vec![
            dept.as_uuid().into(),
            user.as_uuid().into(),
            org.as_uuid().into(),
        ],
    )
    .await?;
    match row {
        Some(r) => {
            let s: String = r.try_get("", "role").map_err(err)?;
            role(&s).map(Some)
        }
        None => Ok(None),
    }
}

impl TeamStore for SeaTeams {
    // ---- churches ----

    async fn create_organization(
        &self,
        org: &Organization,
        admin: UserId,
    ) -> Result<CreateOrgOutcome, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        let joined = exec(
            &tx,
            "UPDATE users SET organization_id = ?, role = 'admin', updated_at = ? \
             WHERE id = ? AND organization_id IS NULL",
            vec![
                org.id.as_uuid().into(),
                ms(org.created_at).into(),
                admin.as_uuid().into(),
            ],
        )
        .await?;
        if joined != 1 {
            // Dropping the transaction rolls it back.
            return Ok(CreateOrgOutcome::AlreadyInChurch);
        }
        let inserted = exec(
            &tx,
            "INSERT INTO organizations (id, name, slug, timezone, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
            vec![
                org.id.as_uuid().into(),
                org.name.clone().into(),
                org.slug.clone().into(),
                org.timezone.clone().into(),
                ms(org.created_at).into(),
                ms(org.updated_at).into(),
            ],
        )
        .await;
        match inserted {
            Ok(_) => {}
            Err(StoreError::Duplicate) => return Ok(CreateOrgOutcome::SlugTaken),
            Err(e) => return Err(e),
        }
        tx.commit().await.map_err(err)?;
        Ok(CreateOrgOutcome::Created)
    }

    async fn organization(&self, org: OrganizationId) -> Result<Option<Organization>, StoreError> {
        let row = one(
            &self.conn,
            "SELECT id, name, slug, timezone, created_at, updated_at FROM organizations \
             WHERE id = ?",
            vec![org.as_uuid().into()],
        )
        .await?;
        decode_one(row, OrganizationRow::into_organization)
    }

    async fn update_organization(&self, org: &Organization) -> Result<(), StoreError> {
        exec(
            &self.conn,
            "UPDATE organizations SET name = ?, slug = ?, timezone = ?, updated_at = ? WHERE id = ?",
            vec![
                org.name.clone().into(),
                org.slug.clone().into(),
                org.timezone.clone().into(),
                ms(org.updated_at).into(),
                org.id.as_uuid().into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn people(&self, org: OrganizationId) -> Result<Vec<Person>, StoreError> {
        let rows = all(
            &self.conn,
            "SELECT u.id, u.first_name, u.last_name, u.email, u.avatar_key, u.role, \
             (SELECT COUNT(*) FROM department_members m WHERE m.user_id = u.id \
                AND m.organization_id = ? AND m.status = 'active') AS department_count \
             FROM users u WHERE u.organization_id = ? \
             ORDER BY lower(u.last_name), lower(u.first_name), u.id",
            vec![org.as_uuid().into(), org.as_uuid().into()],
        )
        .await?;
        decode(&rows, PersonRow::into_person)
    }

    async fn person(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> Result<Option<Person>, StoreError> {
        let rows = all(
            &self.conn,
            "SELECT u.id, u.first_name, u.last_name, u.email, u.avatar_key, u.role, \
             (SELECT COUNT(*) FROM department_members m WHERE m.user_id = u.id \
                AND m.organization_id = ? AND m.status = 'active') AS department_count \
             FROM users u WHERE u.organization_id = ? AND u.id = ?",
            vec![
                org.as_uuid().into(),
                org.as_uuid().into(),
                user.as_uuid().into(),
            ],
        )
        .await?;
        Ok(decode(&rows, PersonRow::into_person)?.into_iter().next())
    }

    async fn set_admin(
        &self,
        org: OrganizationId,
        user: UserId,
        admin: bool,
        now: DateTime<Utc>,
    ) -> Result<Guarded<()>, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        // The lock on the church serialises concurrent changes of administrators.
        let touched = exec(
            &tx,
            "UPDATE organizations SET updated_at = ? WHERE id = ?",
            vec![ms(now).into(), org.as_uuid().into()],
        )
        .await?;
        if touched != 1 {
            return Ok(Guarded::NotFound);
        }
        let Some(row) = one(
            &tx,
            "SELECT role FROM users WHERE id = ? AND organization_id = ?",
            vec![user.as_uuid().into(), org.as_uuid().into()],
        )
        .await?
        else {
            return Ok(Guarded::NotFound);
        };
        let current: String = row.try_get("", "role").map_err(err)?;
        let admins = count(
            &tx,
            "SELECT COUNT(*) AS n FROM users WHERE organization_id = ? AND role = 'admin'",
            vec![org.as_uuid().into()],
        )
        .await?;
        if let Err(e) = keep_an_admin(admins, current == "admin" && !admin) {
            return Ok(Guarded::Refused(e));
        }
        if admin {
            exec(
                &tx,
                "UPDATE users SET role = 'admin', updated_at = ? WHERE id = ? AND organization_id = ?",
                vec![ms(now).into(), user.as_uuid().into(), org.as_uuid().into()],
            )
            .await?;
        } else {
            exec(
                &tx,
                "UPDATE users SET role = CASE WHEN EXISTS (SELECT 1 FROM department_members m \
                   WHERE m.user_id = users.id AND m.organization_id = ? AND m.status = 'active' \
                   AND m.role = 'leader') THEN 'leader' ELSE 'member' END, updated_at = ? \
                 WHERE id = ? AND organization_id = ?",
                vec![
                    org.as_uuid().into(),
                    ms(now).into(),
                    user.as_uuid().into(),
                    org.as_uuid().into(),
                ],
            )
            .await?;
        }
        tx.commit().await.map_err(err)?;
        Ok(Guarded::Done(()))
    }

    // ---- departments ----

    async fn departments(
        &self,
        org: OrganizationId,
        viewer: UserId,
        member_of: Option<UserId>,
        include_archived: bool,
    ) -> Result<Vec<DepartmentView>, StoreError> {
        let o = org.as_uuid();
        let mut sql = DEPARTMENT_VIEW_SELECT.to_string();
        let mut values: Vec<Value> = vec![o.into(), o.into(), viewer.as_uuid().into(), o.into()];
        if !include_archived {
            sql.push_str(" AND d.archived_at IS NULL");
        }
        if let Some(member) = member_of {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM department_members f WHERE f.department_id = d.id \
                 AND f.organization_id = ? AND f.user_id = ? AND f.status = 'active')",
            );
            values.push(o.into());
            values.push(member.as_uuid().into());
        }
        sql.push_str(" ORDER BY d.name_key, d.id");
        let rows = all(&self.conn, &sql, values).await?;
        decode(&rows, DepartmentViewRow::into_view)
    }

    async fn department(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        viewer: UserId,
    ) -> Result<Option<DepartmentView>, StoreError> {
        let o = org.as_uuid();
        let row = one(
            &self.conn,
            &format!("{DEPARTMENT_VIEW_SELECT} AND d.id = ?"),
            vec![
                o.into(),
                o.into(),
                viewer.as_uuid().into(),
                o.into(),
                dept.as_uuid().into(),
            ],
        )
        .await?;
        decode_one(row, DepartmentViewRow::into_view)
    }

    async fn create_department(&self, d: &Department) -> Result<(), StoreError> {
        exec(
            &self.conn,
            "INSERT INTO departments (id, organization_id, name, name_key, description, \
             availability_deadline_days, reminder_hours_before, archived_at, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                d.id.as_uuid().into(),
                d.organization_id.as_uuid().into(),
                d.name.clone().into(),
                name_key(&d.name).into(),
                d.description.clone().into(),
                d.availability_deadline_days.into(),
                d.reminder_hours_before.into(),
                d.archived_at.map(ms).into(),
                ms(d.created_at).into(),
                ms(d.updated_at).into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn update_department(&self, d: &Department) -> Result<bool, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        let n = exec(
            &tx,
            "UPDATE departments SET name = ?, name_key = ?, description = ?, \
             availability_deadline_days = ?, reminder_hours_before = ?, archived_at = ?, \
             updated_at = ? WHERE id = ? AND organization_id = ?",
            vec![
                d.name.clone().into(),
                name_key(&d.name).into(),
                d.description.clone().into(),
                d.availability_deadline_days.into(),
                d.reminder_hours_before.into(),
                d.archived_at.map(ms).into(),
                ms(d.updated_at).into(),
                d.id.as_uuid().into(),
                d.organization_id.as_uuid().into(),
            ],
        )
        .await?;
        if n == 1 && d.archived_at.is_some() {
            // An archived department takes no one in: its pending invitations die with it.
            exec(
                &tx,
                "UPDATE invitations SET status = 'cancelled', updated_at = ? \
                 WHERE department_id = ? AND organization_id = ? AND status = 'pending'",
                vec![
                    ms(d.updated_at).into(),
                    d.id.as_uuid().into(),
                    d.organization_id.as_uuid().into(),
                ],
            )
            .await?;
        }
        tx.commit().await.map_err(err)?;
        Ok(n == 1)
    }

    async fn delete_department(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
    ) -> Result<DeleteOutcome, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        // A write that changes nothing, for its lock: an invitation created concurrently
        // (which takes the same lock) cannot slip in between the check and the delete.
        let found = exec(
            &tx,
            "UPDATE departments SET updated_at = updated_at WHERE id = ? AND organization_id = ?",
            vec![dept.as_uuid().into(), org.as_uuid().into()],
        )
        .await?;
        if found != 1 {
            return Ok(DeleteOutcome::NotFound);
        }
        let history = count(
            &tx,
            "SELECT (SELECT COUNT(*) FROM department_members WHERE department_id = ? \
               AND organization_id = ?) \
             + (SELECT COUNT(*) FROM invitations WHERE department_id = ? AND organization_id = ?) \
             AS n",
            vec![
                dept.as_uuid().into(),
                org.as_uuid().into(),
                dept.as_uuid().into(),
                org.as_uuid().into(),
            ],
        )
        .await?;
        if history > 0 {
            return Ok(DeleteOutcome::HasHistory);
        }
        exec(
            &tx,
            "DELETE FROM departments WHERE id = ? AND organization_id = ?",
            vec![dept.as_uuid().into(), org.as_uuid().into()],
        )
        .await?;
        tx.commit().await.map_err(err)?;
        Ok(DeleteOutcome::Deleted)
    }

    // ---- members ----

    async fn members(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
    ) -> Result<Vec<Member>, StoreError> {
        let o = org.as_uuid();
        let rows = all(
            &self.conn,
            &format!("{MEMBER_SELECT} ORDER BY lower(u.last_name), lower(u.first_name), u.id"),
            vec![o.into(), o.into(), o.into(), dept.as_uuid().into()],
        )
        .await?;
        decode(&rows, MemberRow::into_member)
    }

    async fn change_member(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        user: UserId,
        change: &MemberChange,
        now: DateTime<Utc>,
    ) -> Result<Guarded<Member>, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        if !touch_department(&tx, org, dept, now).await? {
            return Ok(Guarded::NotFound);
        }
        let Some(current) = active_role(&tx, org, dept, user).await? else {
            return Ok(Guarded::NotFound);
        };
        let next = change.role.unwrap_or(current);
        let demotes = current == DeptRole::Leader && next != DeptRole::Leader;
        let n_leaders = leaders(&tx, org, dept).await?;
        if let Err(e) = keep_a_leader(n_leaders, demotes) {
            return Ok(Guarded::Refused(e));
        }
        let mut sets = vec!["role = ?", "updated_at = ?"];
        let mut values: Vec<Value> = vec![next.as_str().into(), ms(now).into()];
        if let Some(skills) = &change.skills {
            sets.push("skills = ?");
            values.push(skills_to(skills)?.into());
        }
        if let Some(max) = change.max_per_month {
            sets.push("max_per_month = ?");
            values.push(max.into());
        }
        if let Some(types) = &change.preferred_service_types {
            sets.push("preferred_service_types = ?");
            values.push(skills_to(types)?.into());
        }
        values.extend([
            dept.as_uuid().into(),
            user.as_uuid().into(),
            org.as_uuid().into(),
        ]);
        exec(
            &tx,
            &format!(
                "UPDATE department_members SET {} WHERE department_id = ? AND user_id = ? \
                 AND organization_id = ? AND status = 'active'",
                sets.join(", ")
            ),
            values,
        )
        .await?;
        recompute_role(&tx, org, user).await?;
        let o = org.as_uuid();
        let row = one(
            &tx,
            &format!("{MEMBER_SELECT} AND m.user_id = ?"),
            vec![
                o.into(),
                o.into(),
                o.into(),
                dept.as_uuid().into(),
                user.as_uuid().into(),
            ],
        )
        .await?;
        let Some(member) = decode_one(row, MemberRow::into_member)? else {
            // The membership is there but its account is not in the church: treat as absent.
            return Ok(Guarded::NotFound);
        };
        tx.commit().await.map_err(err)?;
        Ok(Guarded::Done(member))
    }

    async fn remove_member(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Guarded<()>, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        if !touch_department(&tx, org, dept, now).await? {
            return Ok(Guarded::NotFound);
        }
        let Some(current) = active_role(&tx, org, dept, user).await? else {
            return Ok(Guarded::NotFound);
        };
        let n_leaders = leaders(&tx, org, dept).await?;
        if let Err(e) = keep_a_leader(n_leaders, current == DeptRole::Leader) {
            return Ok(Guarded::Refused(e));
        }
        exec(
            &tx,
            "UPDATE department_members SET status = 'removed', removed_at = ?, updated_at = ? \
             WHERE department_id = ? AND user_id = ? AND organization_id = ? AND status = 'active'",
            vec![
                ms(now).into(),
                ms(now).into(),
                dept.as_uuid().into(),
                user.as_uuid().into(),
                org.as_uuid().into(),
            ],
        )
        .await?;
        recompute_role(&tx, org, user).await?;
        let queued = flag_published_assignments(&tx, org, dept, user, now).await?;
        tx.commit().await.map_err(err)?;
        queued.wake(&self.wakeup).await;
        Ok(Guarded::Done(()))
    }

    async fn memberships_of(&self, user: UserId) -> Result<Vec<Membership>, StoreError> {
        // Scoped by the user: their own rows, in whichever church.
        let rows = all(
            &self.conn,
            "SELECT m.organization_id, m.department_id, d.name AS department_name, m.role, \
             m.skills, m.status, m.joined_at \
             FROM department_members m \
             JOIN departments d ON d.id = m.department_id AND d.organization_id = m.organization_id \
             WHERE m.user_id = ? ORDER BY d.name_key, d.id",
            vec![user.as_uuid().into()],
        )
        .await?;
        decode(&rows, MembershipRow::into_membership)
    }

    // ---- invitations ----

    async fn create_invitation(
        &self,
        inv: &Invitation,
        token_hash: &str,
        email: &Email,
    ) -> Result<InviteOutcome, StoreError> {
        let now = inv.created_at;
        let org = inv.organization_id.as_uuid();
        let dept = inv.department_id.as_uuid();
        let tx = self.conn.begin().await.map_err(err)?;
        // A write that changes nothing, for its lock (see `delete_department`); it also
        // checks that the department is in the church and not archived.
        let live = exec(
            &tx,
            "UPDATE departments SET updated_at = updated_at WHERE id = ? AND organization_id = ? \
             AND archived_at IS NULL",
            vec![dept.into(), org.into()],
        )
        .await?;
        if live != 1 {
            return Ok(InviteOutcome::NoDepartment);
        }
        let member = one(
            &tx,
            "SELECT 1 AS n FROM department_members m JOIN users u ON u.id = m.user_id \
             WHERE m.department_id = ? AND m.organization_id = ? AND m.status = 'active' \
             AND u.email = ?",
            vec![dept.into(), org.into(), inv.email.clone().into()],
        )
        .await?;
        if member.is_some() {
            return Ok(InviteOutcome::AlreadyMember);
        }
        let pending = one(
            &tx,
            "SELECT id, expires_at FROM invitations WHERE department_id = ? \
             AND organization_id = ? AND email = ? AND status = 'pending'",
            vec![dept.into(), org.into(), inv.email.clone().into()],
        )
        .await?;
        if let Some(p) = pending {
            let expires: i64 = p.try_get("", "expires_at").map_err(err)?;
            if expires > ms(now) {
                return Ok(InviteOutcome::AlreadyInvited);
            }
            // Expired but not yet marked by the daily job: mark it, so the new one may exist.
            let id: Uuid = p.try_get("", "id").map_err(err)?;
            exec(
                &tx,
                "UPDATE invitations SET status = 'expired', updated_at = ? WHERE id = ? \
                 AND organization_id = ?",
                vec![ms(now).into(), id.into(), org.into()],
            )
            .await?;
        }
        let inserted = exec(
            &tx,
            "INSERT INTO invitations (id, organization_id, department_id, email, role, token_hash, \
             status, invited_by, expires_at, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                inv.id.as_uuid().into(),
                org.into(),
                dept.into(),
                inv.email.clone().into(),
                inv.role.as_str().into(),
                token_hash.into(),
                InvitationStatus::Pending.as_str().into(),
                inv.invited_by.map(|u| u.as_uuid()).into(),
                ms(inv.expires_at).into(),
                ms(now).into(),
                ms(now).into(),
            ],
        )
        .await;
        match inserted {
            Ok(_) => {}
            // The one pending invitation per address and department.
            Err(StoreError::Duplicate) => return Ok(InviteOutcome::AlreadyInvited),
            Err(e) => return Err(e),
        }
        enqueue_email(&tx, email, now).await.map_err(err)?;
        tx.commit().await.map_err(err)?;
        self.wakeup.notify().await;
        Ok(InviteOutcome::Created)
    }

    async fn pending_invitations(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
    ) -> Result<Vec<Invitation>, StoreError> {
        let rows = all(
            &self.conn,
            &format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations i WHERE i.organization_id = ? \
                 AND i.department_id = ? AND i.status = 'pending' \
                 ORDER BY i.created_at DESC, i.id DESC"
            ),
            vec![org.as_uuid().into(), dept.as_uuid().into()],
        )
        .await?;
        decode(&rows, InvitationRow::into_invitation)
    }

    async fn invitation(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        id: InvitationId,
    ) -> Result<Option<InvitationView>, StoreError> {
        let o = org.as_uuid();
        let row = one(
            &self.conn,
            &invitation_view_select(
                "i.id = ? AND i.organization_id = ? AND i.department_id = ? AND o.id = ? \
                 AND d.organization_id = ?",
            ),
            vec![
                id.as_uuid().into(),
                o.into(),
                dept.as_uuid().into(),
                o.into(),
                o.into(),
            ],
        )
        .await?;
        decode_one(row, InvitationViewRow::into_view)
    }

    async fn renew_invitation(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        id: InvitationId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        let renewed = exec(
            &tx,
            "UPDATE invitations SET token_hash = ?, expires_at = ?, updated_at = ? \
             WHERE id = ? AND organization_id = ? AND department_id = ? AND status = 'pending'",
            vec![
                token_hash.into(),
                ms(expires_at).into(),
                ms(now).into(),
                id.as_uuid().into(),
                org.as_uuid().into(),
                dept.as_uuid().into(),
            ],
        )
        .await?;
        if renewed != 1 {
            return Ok(false);
        }
        enqueue_email(&tx, email, now).await.map_err(err)?;
        tx.commit().await.map_err(err)?;
        self.wakeup.notify().await;
        Ok(true)
    }

    async fn cancel_invitation(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = exec(
            &self.conn,
            "UPDATE invitations SET status = 'cancelled', updated_at = ? \
             WHERE id = ? AND organization_id = ? AND department_id = ? AND status = 'pending'",
            vec![
                ms(now).into(),
                id.as_uuid().into(),
                org.as_uuid().into(),
                dept.as_uuid().into(),
            ],
        )
        .await?;
        Ok(n == 1)
    }

    async fn invitation_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<InvitationView>, StoreError> {
        // Not scoped by church: the token is the key.
        let row = one(
            &self.conn,
            &invitation_view_select("i.token_hash = ?"),
            vec![token_hash.into()],
        )
        .await?;
        decode_one(row, InvitationViewRow::into_view)
    }

    async fn accept_invitation(
        &self,
        token_hash: &str,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<AcceptOutcome, StoreError> {
        let tx = self.conn.begin().await.map_err(err)?;
        // A write that changes nothing, for its lock: of two concurrent accepts of one token,
        // the second waits and then sees it accepted.
        let known = exec(
            &tx,
            "UPDATE invitations SET updated_at = updated_at WHERE token_hash = ?",
            vec![token_hash.into()],
        )
        .await?;
        if known != 1 {
            return Ok(AcceptOutcome::Unknown);
        }
        let Some(row) = one(
            &tx,
            &invitation_view_select("i.token_hash = ?"),
            vec![token_hash.into()],
        )
        .await?
        else {
            return Ok(AcceptOutcome::Unknown);
        };
        let view = InvitationViewRow::from_query_result(&row, "")
            .map_err(err)?
            .into_view()?;
        let inv = view.invitation;
        let status = inv.status_at(now);
        if status != InvitationStatus::Pending {
            return Ok(AcceptOutcome::Gone(status));
        }
        let org = inv.organization_id;
        let o = org.as_uuid();
        let dept = inv.department_id.as_uuid();

        let Some(u) = one(
            &tx,
            "SELECT organization_id, first_name, last_name FROM users WHERE id = ?",
            vec![user.as_uuid().into()],
        )
        .await?
        else {
            return Err(StoreError::Other("no such user".into()));
        };
        let user_org: Option<Uuid> = u.try_get("", "organization_id").map_err(err)?;
        if user_org.is_some_and(|uo| uo != o) {
            return Ok(AcceptOutcome::OtherChurch);
        }

        if user_org.is_none() {
            let joined = exec(
                &tx,
                "UPDATE users SET organization_id = ?, updated_at = ? \
                 WHERE id = ? AND organization_id IS NULL",
                vec![o.into(), ms(now).into(), user.as_uuid().into()],
            )
            .await?;
            // Zero rows: they joined a church since we read it (a concurrent accept).
            if joined != 1
                && one(
                    &tx,
                    "SELECT 1 AS n FROM users WHERE id = ? AND organization_id = ?",
                    vec![user.as_uuid().into(), o.into()],
                )
                .await?
                .is_none()
            {
                return Ok(AcceptOutcome::OtherChurch);
            }
        }

        let existing = one(
            &tx,
            "SELECT status, skills FROM department_members WHERE department_id = ? \
             AND user_id = ? AND organization_id = ?",
            vec![dept.into(), user.as_uuid().into(), o.into()],
        )
        .await?;
        let skills = match existing {
            Some(r) => {
                let s: String = r.try_get("", "status").map_err(err)?;
                if member_status(&s)? == MemberStatus::Active {
                    return Ok(AcceptOutcome::AlreadyMember);
                }
                let skills: String = r.try_get("", "skills").map_err(err)?;
                // A former member comes back with the invitation's role and their skills.
                exec(
                    &tx,
                    "UPDATE department_members SET status = 'active', role = ?, joined_at = ?, \
                     removed_at = NULL, updated_at = ? \
                     WHERE department_id = ? AND user_id = ? AND organization_id = ?",
                    vec![
                        inv.role.as_str().into(),
                        ms(now).into(),
                        ms(now).into(),
                        dept.into(),
                        user.as_uuid().into(),
                        o.into(),
                    ],
                )
                .await?;
                skills_from(&skills)?
            }
            None => {
                let inserted = exec(
                    &tx,
                    "INSERT INTO department_members (department_id, user_id, organization_id, \
                     role, skills, status, joined_at, updated_at) \
                     VALUES (?, ?, ?, ?, ?, 'active', ?, ?)",
                    vec![
                        dept.into(),
                        user.as_uuid().into(),
                        o.into(),
                        inv.role.as_str().into(),
                        "[]".into(),
                        ms(now).into(),
                        ms(now).into(),
                    ],
                )
                .await;
                match inserted {
                    Ok(_) => Vec::new(),
                    // A concurrent accept made them a member first.
                    Err(StoreError::Duplicate) => return Ok(AcceptOutcome::AlreadyMember),
                    Err(e) => return Err(e),
                }
            }
        };
        recompute_role(&tx, org, user).await?;
        let mut queued = crate::outbox::Queued::default();
        if let Some(inviter) = inv.invited_by.filter(|i| *i != user) {
            let first: String = u.try_get("", "first_name").map_err(err)?;
            let last: String = u.try_get("", "last_name").map_err(err)?;
            let event = kernel::DomainEvent::new(org, teams::INVITATION_ACCEPTED_EVENT)
                .department(inv.department_id)
                .actor(user)
                .user(inviter)
                .payload(serde_json::json!({
                    "invitationId": inv.id,
                    "departmentId": inv.department_id,
                    "departmentName": view.department_name,
                    "memberName": format!("{first} {last}").trim(),
                    "email": inv.email,
                }));
            queued = crate::outbox::record(&tx, &[event], now).await?;
        }
        exec(
            &tx,
            "UPDATE invitations SET status = 'accepted', accepted_at = ?, accepted_by = ?, \
             updated_at = ? WHERE id = ? AND organization_id = ? AND status = 'pending'",
            vec![
                ms(now).into(),
                user.as_uuid().into(),
                ms(now).into(),
                inv.id.as_uuid().into(),
                o.into(),
            ],
        )
        .await?;
        tx.commit().await.map_err(err)?;
        queued.wake(&self.wakeup).await;
        Ok(AcceptOutcome::Joined(Membership {
            organization_id: org,
            department_id: inv.department_id,
            department_name: view.department_name,
            role: inv.role,
            skills,
            status: MemberStatus::Active,
            joined_at: now,
        }))
    }

    async fn expire_invitations(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // Maintenance across every church: the one statement not scoped by one.
        exec(
            &self.conn,
            "UPDATE invitations SET status = 'expired', updated_at = ? \
             WHERE status = 'pending' AND expires_at <= ?",
            vec![ms(now).into(), ms(now).into()],
        )
        .await
    }

    async fn invitations_involving(
        &self,
        email: &str,
        user: UserId,
    ) -> Result<Vec<Invitation>, StoreError> {
        // Scoped by the person: sent to their address or by them.
        let rows = all(
            &self.conn,
            &format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations i \
                 WHERE i.email = ? OR i.invited_by = ? ORDER BY i.created_at DESC, i.id DESC"
            ),
            vec![email.into(), user.as_uuid().into()],
        )
        .await?;
        decode(&rows, InvitationRow::into_invitation)
    }
}

/// A member who leaves or is removed while on a published rota: their upcoming assignments
/// there are flagged for the leaders (kept, so the slot shows who is missing), the rotas'
/// versions move on, and one `rota.member_left` event is recorded.
async fn flag_published_assignments(
    tx: &sea_orm::DatabaseTransaction,
    org: OrganizationId,
    dept: DepartmentId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<crate::outbox::Queued, StoreError> {
    let o = org.as_uuid();
    let d = dept.as_uuid();
    let from = (now.date_naive() - chrono::Days::new(1))
        .format("%Y-%m-%d")
        .to_string();
    let scope = "organization_id = ? AND user_id = ? AND flag IS NULL AND status <> 'declined' \
         AND planning_id IN (SELECT id FROM plannings WHERE organization_id = ? \
           AND department_id = ? AND status = 'published') \
         AND service_id IN (SELECT id FROM services WHERE organization_id = ? AND date >= ?)";
    let values = || -> Vec<sea_orm::Value> {
        vec![
            o.into(),
            user.as_uuid().into(),
            o.into(),
            d.into(),
            o.into(),
            from.clone().into(),
        ]
    };
    let mut bump_values = vec![ms(now).into(), o.into()];
    bump_values.extend(values());
    exec(
        tx,
        &format!(
            "UPDATE plannings SET version = version + 1, updated_at = ? WHERE organization_id = ? \
             AND id IN (SELECT planning_id FROM assignments WHERE {scope})"
        ),
        bump_values,
    )
    .await?;
    let mut flag_values = vec![rota::FLAG_MEMBER_REMOVED.into(), ms(now).into()];
    flag_values.extend(values());
    let n = exec(
        tx,
        &format!("UPDATE assignments SET flag = ?, updated_at = ? WHERE {scope}"),
        flag_values,
    )
    .await?;
    if n > 0 {
        let event = kernel::DomainEvent::new(org, rota::events::MEMBER_LEFT)
            .department(dept)
            .user(user)
            .payload(serde_json::json!({ "flaggedAssignments": n }));
        return crate::outbox::record(tx, &[event], now).await;
    }
    Ok(crate::outbox::Queued::default())
}
