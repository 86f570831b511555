//! The operations the API calls. Each one scopes to the caller's church, asks the policy,
//! validates its input and makes one store call that is a single transaction.

use crate::emails::{InvitationMail, invitation as invitation_email};
use crate::model::{
    DEFAULT_TIMEZONE, Department, DepartmentView, Invitation, InvitationStatus, InvitationView,
    Member, Membership, Organization, Person, Viewer,
};
use crate::policy::{Action, Actor, DeptRole, Forbidden, authorize};
use crate::ports::{
    AcceptOutcome, CreateOrgOutcome, DeleteOutcome, Guarded, InviteOutcome, MemberChange,
    StoreError, TeamStore,
};
use crate::rules;
use chrono::{DateTime, Duration, Utc};
use kernel::{DepartmentId, InvitationId, OrganizationId, UserId, ValidationErrors};

/// Settings the service needs.
#[derive(Clone, Debug)]
pub struct TeamsConfig {
    /// Where invitation links point: `{frontend_url}/{locale}/invitations/{token}`.
    pub frontend_url: String,
    pub app_name: String,
    /// How long an invitation stays valid (7 days).
    pub invitation_ttl: Duration,
}

/// Why an operation did not happen; the API maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// 422 with field errors.
    #[error("invalid input")]
    Invalid(ValidationErrors),
    /// 404: no such thing in the caller's church (another church's ids land here too).
    #[error("{0}")]
    NotFound(&'static str),
    /// 403.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// 409: the request clashes with the current state.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// 410: an invitation that was used, cancelled or has expired.
    #[error("{detail}")]
    Gone { code: &'static str, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn conflict(code: &'static str, detail: impl Into<String>) -> TeamError {
    TeamError::Conflict {
        code,
        detail: detail.into(),
    }
}

fn invalid(errs: ValidationErrors) -> Result<(), TeamError> {
    errs.into_result().map_err(TeamError::Invalid)
}

const NO_DEPARTMENT: &str = "No such department.";
const NO_CHURCH: &str = "You do not belong to a church yet.";
const NO_MEMBER: &str = "No such member in this department.";
const NO_INVITATION: &str = "No such invitation.";

fn gone(status: InvitationStatus) -> TeamError {
    let (code, detail) = match status {
        InvitationStatus::Expired => (
            "invitation_expired",
            "This invitation has expired. Ask the person who invited you for a new one.",
        ),
        InvitationStatus::Cancelled => ("invitation_cancelled", "This invitation was cancelled."),
        InvitationStatus::Accepted | InvitationStatus::Pending => {
            ("invitation_used", "This invitation has already been used.")
        }
    };
    TeamError::Gone {
        code,
        detail: detail.into(),
    }
}

fn guarded<T>(g: Guarded<T>, not_found: &'static str) -> Result<T, TeamError> {
    match g {
        Guarded::Done(t) => Ok(t),
        Guarded::NotFound => Err(TeamError::NotFound(not_found)),
        Guarded::Refused(e) => Err(conflict(
            match e {
                rules::InvariantError::LastLeader => "last_leader",
                rules::InvariantError::LastAdmin => "last_admin",
            },
            e.to_string(),
        )),
    }
}

/// A new church, as received.
#[derive(Clone, Debug, Default)]
pub struct NewOrganization {
    pub name: String,
    /// Made from the name when absent.
    pub slug: Option<String>,
    /// `Europe/Paris` when absent.
    pub timezone: Option<String>,
}

/// A change to the church; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub timezone: Option<String>,
}

/// A new department, as received.
#[derive(Clone, Debug, Default)]
pub struct NewDepartment {
    pub name: String,
    pub description: Option<String>,
    pub availability_deadline_days: Option<i32>,
    pub reminder_hours_before: Option<i32>,
}

/// A change to a department; `None` leaves a field as it is; `description: Some(None)`
/// clears it.
#[derive(Clone, Debug, Default)]
pub struct DepartmentPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub availability_deadline_days: Option<i32>,
    pub reminder_hours_before: Option<i32>,
}

/// A change to a member, as received.
#[derive(Clone, Debug, Default)]
pub struct MemberPatch {
    pub role: Option<String>,
    pub skills: Option<Vec<String>>,
    /// `Some(None)` removes the cap; wide so that out-of-range values are field errors.
    pub max_per_month: Option<Option<i64>>,
    pub preferred_service_types: Option<Vec<String>>,
}

/// An invitation, as received.
#[derive(Clone, Debug, Default)]
pub struct NewInvitation {
    pub email: String,
    /// `member` when absent.
    pub role: Option<String>,
}

/// An invitation just sent, with its clear token (only in the email, and in the return
/// value for the seed command and tests).
#[derive(Clone, Debug)]
pub struct SentInvitation {
    pub invitation: Invitation,
    pub token: String,
}

/// The teams service over its store.
#[derive(Clone)]
pub struct Teams<S> {
    pub store: S,
    pub cfg: TeamsConfig,
}

fn parse_role(field: &str, s: &str, errs: &mut ValidationErrors) -> Option<DeptRole> {
    let r = DeptRole::parse(s.trim());
    if r.is_none() {
        errs.add(field, "invalid_choice", "One of leader, member, guest.");
    }
    r
}

fn clean_description(d: Option<String>, errs: &mut ValidationErrors) -> Option<String> {
    let d = d.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
    if let Some(d) = &d {
        rules::check_description("description", d, errs);
    }
    d
}

impl<S: TeamStore> Teams<S> {
    pub fn new(store: S, cfg: TeamsConfig) -> Self {
        Self { store, cfg }
    }

    fn org_of(viewer: &Viewer) -> Result<OrganizationId, TeamError> {
        viewer.organization.ok_or(TeamError::NotFound(NO_CHURCH))
    }

    /// The department as the viewer may see it, after asking the policy for `action`.
    async fn department_for(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        action: Action,
    ) -> Result<(OrganizationId, DepartmentView), TeamError> {
        let org = viewer
            .organization
            .ok_or(TeamError::NotFound(NO_DEPARTMENT))?;
        let view = self
            .store
            .department(org, dept, viewer.user)
            .await?
            .ok_or(TeamError::NotFound(NO_DEPARTMENT))?;
        let actor = Actor {
            org_admin: viewer.org_admin,
            dept_role: view.my_role,
        };
        authorize(actor, action)?;
        Ok((org, view))
    }

    fn church_actor(viewer: &Viewer) -> Actor {
        Actor {
            org_admin: viewer.org_admin,
            dept_role: None,
        }
    }

    // ---- churches ----

    /// Creates a church; its creator becomes its administrator.
    pub async fn create_organization(
        &self,
        viewer: &Viewer,
        input: NewOrganization,
        now: DateTime<Utc>,
    ) -> Result<Organization, TeamError> {
        if viewer.organization.is_some() {
            return Err(conflict(
                "already_in_church",
                "You already belong to a church.",
            ));
        }
        let mut errs = ValidationErrors::new();
        let name = input.name.trim().to_string();
        rules::check_name("name", &name, &mut errs);
        let slug = match input.slug.map(|s| s.trim().to_string()) {
            Some(s) => {
                rules::check_slug("slug", &s, &mut errs);
                s
            }
            None => match rules::slug_from_name(&name) {
                Some(s) => s,
                None => {
                    if errs.is_empty() {
                        errs.add(
                            "slug",
                            "required",
                            "No address can be made from this name; choose a slug.",
                        );
                    }
                    String::new()
                }
            },
        };
        let timezone = input
            .timezone
            .map(|t| t.trim().to_string())
            .unwrap_or_else(|| DEFAULT_TIMEZONE.to_string());
        rules::check_timezone("timezone", &timezone, &mut errs);
        invalid(errs)?;
        let org = Organization {
            id: OrganizationId::new(),
            name,
            slug,
            timezone,
            created_at: now,
            updated_at: now,
        };
        match self.store.create_organization(&org, viewer.user).await? {
            CreateOrgOutcome::Created => Ok(org),
            CreateOrgOutcome::SlugTaken => Err(conflict(
                "slug_taken",
                format!(
                    "The address \"{}\" is taken; choose another slug.",
                    org.slug
                ),
            )),
            CreateOrgOutcome::AlreadyInChurch => Err(conflict(
                "already_in_church",
                "You already belong to a church.",
            )),
        }
    }

    pub async fn current_organization(&self, viewer: &Viewer) -> Result<Organization, TeamError> {
        let org = Self::org_of(viewer)?;
        authorize(Self::church_actor(viewer), Action::ViewOrganization)?;
        self.store
            .organization(org)
            .await?
            .ok_or(TeamError::NotFound(NO_CHURCH))
    }

    pub async fn update_organization(
        &self,
        viewer: &Viewer,
        patch: OrganizationPatch,
        now: DateTime<Utc>,
    ) -> Result<Organization, TeamError> {
        let mut org = self.current_organization(viewer).await?;
        authorize(Self::church_actor(viewer), Action::UpdateOrganization)?;
        let mut errs = ValidationErrors::new();
        if let Some(n) = patch.name {
            org.name = n.trim().to_string();
            rules::check_name("name", &org.name, &mut errs);
        }
        if let Some(s) = patch.slug {
            org.slug = s.trim().to_string();
            rules::check_slug("slug", &org.slug, &mut errs);
        }
        if let Some(t) = patch.timezone {
            org.timezone = t.trim().to_string();
            rules::check_timezone("timezone", &org.timezone, &mut errs);
        }
        invalid(errs)?;
        org.updated_at = now;
        match self.store.update_organization(&org).await {
            Ok(()) => Ok(org),
            Err(StoreError::Duplicate) => Err(conflict(
                "slug_taken",
                format!(
                    "The address \"{}\" is taken; choose another slug.",
                    org.slug
                ),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Everyone in the church (administrators only).
    pub async fn people(&self, viewer: &Viewer) -> Result<Vec<Person>, TeamError> {
        let org = Self::org_of(viewer)?;
        authorize(Self::church_actor(viewer), Action::ManageAdministrators)?;
        Ok(self.store.people(org).await?)
    }

    /// Someone of the viewer's church (name, email, avatar): anyone in the church may look.
    pub async fn person(&self, viewer: &Viewer, user: UserId) -> Result<Person, TeamError> {
        const NO_PERSON: &str = "No such person in your church.";
        let org = viewer.organization.ok_or(TeamError::NotFound(NO_PERSON))?;
        authorize(Self::church_actor(viewer), Action::ViewOrganization)?;
        self.store
            .person(org, user)
            .await?
            .ok_or(TeamError::NotFound(NO_PERSON))
    }

    /// Refuses to let the church's only administrator delete their account while others
    /// remain in it: someone must be able to run the church afterwards.
    pub async fn check_account_deletion(&self, viewer: &Viewer) -> Result<(), TeamError> {
        let Some(org) = viewer.organization.filter(|_| viewer.org_admin) else {
            return Ok(());
        };
        let people = self.store.people(org).await?;
        let admins = people.iter().filter(|p| p.is_admin).count();
        if people.len() > 1 {
            rules::keep_an_admin(admins, true)
                .map_err(|e| conflict("last_admin", e.to_string()))?;
        }
        Ok(())
    }

    /// Makes someone of the church an administrator, or not; the church keeps one.
    pub async fn set_admin(
        &self,
        viewer: &Viewer,
        user: UserId,
        admin: bool,
        now: DateTime<Utc>,
    ) -> Result<(), TeamError> {
        let org = Self::org_of(viewer)?;
        authorize(Self::church_actor(viewer), Action::ManageAdministrators)?;
        guarded(
            self.store.set_admin(org, user, admin, now).await?,
            "No such person in your church.",
        )
    }

    // ---- departments ----

    /// The departments the viewer may see: all of them for an administrator, else those
    /// they belong to.
    pub async fn departments(
        &self,
        viewer: &Viewer,
        include_archived: bool,
    ) -> Result<Vec<DepartmentView>, TeamError> {
        let Some(org) = viewer.organization else {
            return Ok(Vec::new());
        };
        let member_of = (!viewer.org_admin).then_some(viewer.user);
        Ok(self
            .store
            .departments(org, viewer.user, member_of, include_archived)
            .await?)
    }

    pub async fn department(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
    ) -> Result<DepartmentView, TeamError> {
        Ok(self
            .department_for(viewer, dept, Action::ViewDepartment)
            .await?
            .1)
    }

    pub async fn create_department(
        &self,
        viewer: &Viewer,
        input: NewDepartment,
        now: DateTime<Utc>,
    ) -> Result<DepartmentView, TeamError> {
        let org = viewer.organization.ok_or(TeamError::NotFound(NO_CHURCH))?;
        authorize(Self::church_actor(viewer), Action::CreateDepartment)?;
        let mut errs = ValidationErrors::new();
        let name = input.name.trim().to_string();
        rules::check_name("name", &name, &mut errs);
        let description = clean_description(input.description, &mut errs);
        let deadline = input.availability_deadline_days.unwrap_or(7);
        rules::check_deadline_days("availabilityDeadlineDays", deadline, &mut errs);
        let reminder = input.reminder_hours_before.unwrap_or(24);
        rules::check_reminder_hours("reminderHoursBefore", reminder, &mut errs);
        invalid(errs)?;
        let d = Department {
            id: DepartmentId::new(),
            organization_id: org,
            name,
            description,
            availability_deadline_days: deadline,
            reminder_hours_before: reminder,
            archived_at: None,
            created_at: now,
            updated_at: now,
        };
        match self.store.create_department(&d).await {
            Ok(()) => Ok(DepartmentView {
                department: d,
                member_count: 0,
                my_role: None,
            }),
            Err(StoreError::Duplicate) => Err(name_taken(&d.name)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn update_department(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        patch: DepartmentPatch,
        now: DateTime<Utc>,
    ) -> Result<DepartmentView, TeamError> {
        let (_, mut view) = self
            .department_for(viewer, dept, Action::UpdateDepartment)
            .await?;
        let d = &mut view.department;
        if d.archived_at.is_some() {
            return Err(archived());
        }
        let mut errs = ValidationErrors::new();
        if let Some(n) = patch.name {
            d.name = n.trim().to_string();
            rules::check_name("name", &d.name, &mut errs);
        }
        if let Some(desc) = patch.description {
            d.description = clean_description(desc, &mut errs);
        }
        if let Some(days) = patch.availability_deadline_days {
            d.availability_deadline_days = days;
            rules::check_deadline_days("availabilityDeadlineDays", days, &mut errs);
        }
        if let Some(h) = patch.reminder_hours_before {
            d.reminder_hours_before = h;
            rules::check_reminder_hours("reminderHoursBefore", h, &mut errs);
        }
        invalid(errs)?;
        d.updated_at = now;
        self.write_department(&view.department).await?;
        Ok(view)
    }

    async fn write_department(&self, d: &Department) -> Result<(), TeamError> {
        match self.store.update_department(d).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(TeamError::NotFound(NO_DEPARTMENT)),
            Err(StoreError::Duplicate) => Err(name_taken(&d.name)),
            Err(e) => Err(e.into()),
        }
    }

    /// Archives (`true`) or restores (`false`) a department. Archived, it keeps its members
    /// and history but takes no changes.
    pub async fn set_archived(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        archived: bool,
        now: DateTime<Utc>,
    ) -> Result<DepartmentView, TeamError> {
        let (_, mut view) = self
            .department_for(viewer, dept, Action::ArchiveDepartment)
            .await?;
        let d = &mut view.department;
        if d.archived_at.is_some() != archived {
            d.archived_at = archived.then_some(now);
            d.updated_at = now;
            self.write_department(&view.department).await?;
        }
        Ok(view)
    }

    /// Deletes a department that has no history; one with history is archived instead.
    pub async fn delete_department(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
    ) -> Result<(), TeamError> {
        let (org, _) = self
            .department_for(viewer, dept, Action::ArchiveDepartment)
            .await?;
        match self.store.delete_department(org, dept).await? {
            DeleteOutcome::Deleted => Ok(()),
            DeleteOutcome::NotFound => Err(TeamError::NotFound(NO_DEPARTMENT)),
            DeleteOutcome::HasHistory => Err(conflict(
                "department_has_history",
                "This department has members or invitations: archive it instead, which keeps its history.",
            )),
        }
    }

    // ---- members ----

    pub async fn members(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
    ) -> Result<Vec<Member>, TeamError> {
        let (org, _) = self
            .department_for(viewer, dept, Action::ListMembers)
            .await?;
        Ok(self.store.members(org, dept).await?)
    }

    /// Changes a member's role, skills and/or planning settings (`maxPerMonth`,
    /// `preferredServiceTypes`). Leaders and administrators change anyone's; members and
    /// leaders may change their own planning settings (as they enter their own blockouts),
    /// never their own role or skills.
    pub async fn change_member(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        user: UserId,
        patch: MemberPatch,
        now: DateTime<Utc>,
    ) -> Result<Member, TeamError> {
        let mut errs = ValidationErrors::new();
        let role = patch
            .role
            .as_deref()
            .and_then(|r| parse_role("role", r, &mut errs));
        let skills = patch
            .skills
            .as_ref()
            .map(|s| rules::normalize_skills("skills", s, &mut errs));
        let max_per_month = patch
            .max_per_month
            .map(|m| m.and_then(|n| rules::check_max_per_month("maxPerMonth", n, &mut errs)));
        let preferred_service_types = patch
            .preferred_service_types
            .as_ref()
            .map(|t| rules::normalize_service_types("preferredServiceTypes", t, &mut errs));
        invalid(errs)?;
        let (org, view) = self
            .department_for(viewer, dept, Action::ViewDepartment)
            .await?;
        let actor = Actor {
            org_admin: viewer.org_admin,
            dept_role: view.my_role,
        };
        let planning = max_per_month.is_some() || preferred_service_types.is_some();
        if skills.is_some() || (role.is_none() && !planning) {
            authorize(actor, Action::ChangeMemberSkills)?;
        }
        if let Some(to) = role {
            authorize(actor, Action::ChangeMemberRole { to })?;
        }
        if planning {
            let own = user == viewer.user && authorize(actor, Action::EditOwnAvailability).is_ok();
            if !own {
                authorize(actor, Action::ChangeMemberSkills)?;
            }
        }
        if view.department.archived_at.is_some() {
            return Err(archived());
        }
        let change = MemberChange {
            role,
            skills,
            max_per_month,
            preferred_service_types,
        };
        guarded(
            self.store
                .change_member(org, dept, user, &change, now)
                .await?,
            NO_MEMBER,
        )
    }

    /// Removes a member from a department (or lets someone leave it). They keep their
    /// account and lose access to the department.
    pub async fn remove_member(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), TeamError> {
        let action = if user == viewer.user {
            Action::LeaveDepartment
        } else {
            Action::RemoveMember
        };
        let (org, _) = self.department_for(viewer, dept, action).await?;
        guarded(
            self.store.remove_member(org, dept, user, now).await?,
            NO_MEMBER,
        )
    }

    /// The user's memberships, for the GDPR export.
    pub async fn memberships_of(&self, user: UserId) -> Result<Vec<Membership>, TeamError> {
        Ok(self.store.memberships_of(user).await?)
    }

    /// Invitations sent to the user's address or by them, for the GDPR export.
    pub async fn invitations_involving(
        &self,
        email: &str,
        user: UserId,
    ) -> Result<Vec<Invitation>, TeamError> {
        Ok(self.store.invitations_involving(email, user).await?)
    }

    // ---- invitations ----

    fn compose(
        &self,
        viewer: &Viewer,
        to: &str,
        role: DeptRole,
        org_name: &str,
        dept_name: &str,
        token: &str,
    ) -> kernel::mail::Email {
        invitation_email(&InvitationMail {
            to,
            locale: viewer.locale,
            inviter_name: Some(&viewer.name),
            organization_name: org_name,
            department_name: dept_name,
            role,
            frontend_url: &self.cfg.frontend_url,
            app_name: &self.cfg.app_name,
            token,
            valid_days: self.cfg.invitation_ttl.num_days(),
        })
    }

    /// Invites an address to a department; the email goes through the worker.
    pub async fn invite(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        input: NewInvitation,
        now: DateTime<Utc>,
    ) -> Result<SentInvitation, TeamError> {
        let mut errs = ValidationErrors::new();
        let email = accounts::policy::normalize_email(&input.email);
        accounts::policy::check_email("email", &email, &mut errs);
        let role = match input.role.as_deref() {
            None => Some(DeptRole::Member),
            Some(r) => parse_role("role", r, &mut errs),
        };
        invalid(errs)?;
        let role = role.unwrap_or(DeptRole::Member);
        let (org, view) = self
            .department_for(viewer, dept, Action::ManageInvitations)
            .await?;
        if role == DeptRole::Leader {
            authorize(
                Actor {
                    org_admin: viewer.org_admin,
                    dept_role: view.my_role,
                },
                Action::ChangeMemberRole { to: role },
            )?;
        }
        if view.department.archived_at.is_some() {
            return Err(archived());
        }
        let church = self
            .store
            .organization(org)
            .await?
            .ok_or(TeamError::NotFound(NO_CHURCH))?;
        let token = accounts::secret::generate();
        let inv = Invitation {
            id: InvitationId::new(),
            organization_id: org,
            department_id: dept,
            email: email.clone(),
            role,
            status: InvitationStatus::Pending,
            invited_by: Some(viewer.user),
            expires_at: now + self.cfg.invitation_ttl,
            created_at: now,
            accepted_at: None,
        };
        let mail = self.compose(
            viewer,
            &email,
            role,
            &church.name,
            &view.department.name,
            &token,
        );
        match self
            .store
            .create_invitation(&inv, &accounts::secret::hash(&token), &mail)
            .await?
        {
            InviteOutcome::Created => Ok(SentInvitation {
                invitation: inv,
                token,
            }),
            InviteOutcome::AlreadyMember => Err(conflict(
                "already_member",
                "This person is already a member of the department.",
            )),
            InviteOutcome::AlreadyInvited => Err(conflict(
                "already_invited",
                "This address already has a pending invitation; resend it instead.",
            )),
            InviteOutcome::NoDepartment => Err(TeamError::NotFound(NO_DEPARTMENT)),
        }
    }

    pub async fn pending_invitations(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
    ) -> Result<Vec<Invitation>, TeamError> {
        let (org, _) = self
            .department_for(viewer, dept, Action::ManageInvitations)
            .await?;
        Ok(self.store.pending_invitations(org, dept).await?)
    }

    /// Sends a pending invitation again with a new token (the old link stops working) and a
    /// new expiry.
    pub async fn resend_invitation(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> Result<SentInvitation, TeamError> {
        let (org, view) = self
            .department_for(viewer, dept, Action::ManageInvitations)
            .await?;
        let found = self
            .store
            .invitation(org, dept, id)
            .await?
            .ok_or(TeamError::NotFound(NO_INVITATION))?;
        if found.invitation.status != InvitationStatus::Pending {
            return Err(conflict(
                "invitation_not_pending",
                format!(
                    "This invitation is {}; only a pending invitation can be resent.",
                    found.invitation.status.as_str()
                ),
            ));
        }
        let token = accounts::secret::generate();
        let mail = self.compose(
            viewer,
            &found.invitation.email,
            found.invitation.role,
            &found.organization_name,
            &view.department.name,
            &token,
        );
        let expires_at = now + self.cfg.invitation_ttl;
        if !self
            .store
            .renew_invitation(
                org,
                dept,
                id,
                &accounts::secret::hash(&token),
                expires_at,
                &mail,
                now,
            )
            .await?
        {
            return Err(TeamError::NotFound(NO_INVITATION));
        }
        let mut invitation = found.invitation;
        invitation.expires_at = expires_at;
        Ok(SentInvitation { invitation, token })
    }

    pub async fn cancel_invitation(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> Result<(), TeamError> {
        let (org, _) = self
            .department_for(viewer, dept, Action::ManageInvitations)
            .await?;
        if self.store.cancel_invitation(org, dept, id, now).await? {
            Ok(())
        } else {
            Err(TeamError::NotFound(NO_INVITATION))
        }
    }

    /// What an invitation link opens, while it can still be accepted (the invitation page,
    /// and registration with a token).
    pub async fn open_invitation(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<InvitationView, TeamError> {
        let view = self
            .store
            .invitation_by_token(&accounts::secret::hash(token.trim()))
            .await?
            .ok_or(TeamError::NotFound(
                "This invitation does not exist. Check the link in the email.",
            ))?;
        match view.invitation.status_at(now) {
            InvitationStatus::Pending => Ok(view),
            other => Err(gone(other)),
        }
    }

    /// Registration with an invitation: the token must open a pending invitation sent to the
    /// address being registered.
    pub async fn invitation_for_registration(
        &self,
        token: &str,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<InvitationView, TeamError> {
        let view = self.open_invitation(token, now).await?;
        if view.invitation.email != accounts::policy::normalize_email(email) {
            let mut errs = ValidationErrors::new();
            errs.add(
                "email",
                "invitation_email_mismatch",
                "Register with the address the invitation was sent to.",
            );
            return Err(TeamError::Invalid(errs));
        }
        Ok(view)
    }

    /// The signed-in user accepts an invitation sent to their address and joins the
    /// department (and its church).
    pub async fn accept_invitation(
        &self,
        viewer: &Viewer,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Membership, TeamError> {
        let view = self.open_invitation(token, now).await?;
        if view.invitation.email != viewer.email {
            return Err(conflict(
                "invitation_email_mismatch",
                "This invitation was sent to another address: sign in with the address that received it.",
            ));
        }
        match self
            .store
            .accept_invitation(&accounts::secret::hash(token.trim()), viewer.user, now)
            .await?
        {
            AcceptOutcome::Joined(m) => Ok(m),
            AcceptOutcome::Unknown => Err(TeamError::NotFound(NO_INVITATION)),
            AcceptOutcome::Gone(s) => Err(gone(s)),
            AcceptOutcome::OtherChurch => Err(conflict(
                "other_church",
                "You already belong to another church; one account belongs to one church.",
            )),
            AcceptOutcome::AlreadyMember => Err(conflict(
                "already_member",
                "You are already a member of this department.",
            )),
        }
    }

    /// The daily job: marks pending invitations past their expiry.
    pub async fn expire_invitations(&self, now: DateTime<Utc>) -> Result<u64, TeamError> {
        Ok(self.store.expire_invitations(now).await?)
    }
}

fn name_taken(name: &str) -> TeamError {
    conflict(
        "name_taken",
        format!("A department of your church is already called \"{name}\"."),
    )
}

fn archived() -> TeamError {
    conflict(
        "department_archived",
        "This department is archived; restore it first.",
    )
}
