//! Churches, departments, members and invitations as the domain sees them.

use crate::policy::DeptRole;
use chrono::{DateTime, Utc};
use kernel::{DepartmentId, InvitationId, OrganizationId, UserId};

/// The time zone a new church gets.
pub const DEFAULT_TIMEZONE: &str = "Europe/Paris";

/// A church: the tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    /// Unique across churches: 2–100 of `a-z`, `0-9`, `-`.
    pub slug: String,
    /// An IANA zone name (`Europe/Paris`), used to turn dates into instants.
    pub timezone: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A department (team) of a church.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Department {
    pub id: DepartmentId,
    pub organization_id: OrganizationId,
    /// Unique within the church, ignoring case, among departments not archived.
    pub name: String,
    pub description: Option<String>,
    /// Blockouts for a month close this many days before it starts (1–30).
    pub availability_deadline_days: i32,
    /// Reminders go this many hours before a service (1–168).
    pub reminder_hours_before: i32,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A department with what the viewer needs beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepartmentView {
    pub department: Department,
    /// Active members.
    pub member_count: u32,
    /// The viewer's role in it; `None` when they are not a member.
    pub my_role: Option<DeptRole>,
}

/// Whether a member still belongs to the department. A removed member's row is kept (their
/// history refers to it) but gives no access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberStatus {
    Active,
    Removed,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Removed => "removed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(MemberStatus::Active),
            "removed" => Some(MemberStatus::Removed),
            _ => None,
        }
    }
}

/// A person in a department, with what a roster shows of their account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub department_id: DepartmentId,
    pub user_id: UserId,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// The file-store key of their avatar.
    pub avatar_key: Option<String>,
    pub role: DeptRole,
    /// Trimmed, de-duplicated, at most 20.
    pub skills: Vec<String>,
    /// The most services a month the planner may give them (1–31); `None`: no cap.
    pub max_per_month: Option<i32>,
    /// Service types they would rather serve at (at most 10), for the planner's preferences.
    pub preferred_service_types: Vec<String>,
    pub status: MemberStatus,
    pub joined_at: DateTime<Utc>,
}

/// Someone who belongs to the church.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub user_id: UserId,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub avatar_key: Option<String>,
    pub is_admin: bool,
    /// Departments they are an active member of.
    pub department_count: u32,
}

/// One of the user's memberships (GDPR export, "my departments").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub organization_id: OrganizationId,
    pub department_id: DepartmentId,
    pub department_name: String,
    pub role: DeptRole,
    pub skills: Vec<String>,
    pub status: MemberStatus,
    pub joined_at: DateTime<Utc>,
}

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Cancelled,
    Expired,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Cancelled => "cancelled",
            InvitationStatus::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(InvitationStatus::Pending),
            "accepted" => Some(InvitationStatus::Accepted),
            "cancelled" => Some(InvitationStatus::Cancelled),
            "expired" => Some(InvitationStatus::Expired),
            _ => None,
        }
    }
}

/// An invitation to join a department. Its token is stored only as a hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub organization_id: OrganizationId,
    pub department_id: DepartmentId,
    /// Normalised (trimmed, lower-case).
    pub email: String,
    pub role: DeptRole,
    pub status: InvitationStatus,
    pub invited_by: Option<UserId>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

impl Invitation {
    /// Its status as of `now`: a pending invitation past its expiry is expired, whether or
    /// not the daily job has marked it yet.
    pub fn status_at(&self, now: DateTime<Utc>) -> InvitationStatus {
        if self.status == InvitationStatus::Pending && self.expires_at <= now {
            InvitationStatus::Expired
        } else {
            self.status
        }
    }
}

/// An invitation with the names its page and its email show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationView {
    pub invitation: Invitation,
    pub organization_name: String,
    pub department_name: String,
    /// "First Last" of whoever sent it, if their account still exists.
    pub inviter_name: Option<String>,
}

/// The caller, as far as the church is concerned: built from the signed-in account
/// ([`Viewer::of`]), which the API reloads on every request, so a change of church or role
/// applies at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub user: UserId,
    pub email: String,
    /// "First Last", for the emails they cause.
    pub name: String,
    pub locale: accounts::Locale,
    /// `None` until they create or join a church.
    pub organization: Option<OrganizationId>,
    pub org_admin: bool,
}

impl Viewer {
    pub fn of(u: &accounts::User) -> Self {
        Viewer {
            user: u.id,
            email: u.email.clone(),
            name: format!("{} {}", u.first_name, u.last_name),
            locale: u.locale,
            organization: u.organization_id,
            org_admin: u.organization_id.is_some() && u.role == accounts::Role::Admin,
        }
    }
}
