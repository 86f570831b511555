//! The operations the API calls. The teams service finds the department in the caller's
//! church (another church's ids are 404) and the permission policy decides who may do what;
//! the deadline rule decides until when members may change a month.

use crate::deadline::Deadline;
use crate::model::{Blockout, Month};
use crate::policy::{DeadlinePassed, can_edit};
use crate::ports::{AvailabilityStore, StoreError};
use crate::rules::{MonthPayload, validate_payload};
use chrono::{DateTime, Utc};
use kernel::{DepartmentId, OrganizationId, UserId, ValidationErrors};
use std::collections::{HashMap, HashSet};
use teams::policy::{Action, Actor, authorize};
use teams::{DepartmentView, MemberStatus, TeamError, TeamStore, Teams, Viewer};

/// A department as the path names it: an id, or the front end's literal `default-department`
/// (the caller's department; the one they joined first if several).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeptRef {
    Id(DepartmentId),
    Default,
}

/// One person's month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthView {
    pub department: DepartmentId,
    pub member: UserId,
    pub member_name: String,
    pub month: Month,
    pub blockouts: Vec<Blockout>,
}

/// One member's month in the leader's overview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberMonth {
    pub user: UserId,
    pub name: String,
    pub email: String,
    pub blockouts: Vec<Blockout>,
}

impl MemberMonth {
    /// Days with at least one blockout, whole or part.
    pub fn unavailable_days(&self) -> usize {
        self.blockouts
            .iter()
            .map(|b| b.date)
            .collect::<HashSet<_>>()
            .len()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AvailabilityError {
    #[error(transparent)]
    Team(#[from] TeamError),
    #[error("invalid input")]
    Invalid(ValidationErrors),
    /// 403 with the sentence.
    #[error(transparent)]
    DeadlinePassed(#[from] DeadlinePassed),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<teams::Forbidden> for AvailabilityError {
    fn from(f: teams::Forbidden) -> Self {
        AvailabilityError::Team(TeamError::Forbidden(f))
    }
}

/// The availability service.
#[derive(Clone)]
pub struct Availability<S, T> {
    pub store: S,
    pub teams: Teams<T>,
}

impl<S: AvailabilityStore, T: TeamStore> Availability<S, T> {
    pub fn new(store: S, teams: Teams<T>) -> Self {
        Self { store, teams }
    }

    /// The department, after the policy allowed `action`, with the church's id and zone.
    /// Callers then read the department's rows from the stores with that church id, without
    /// asking the teams service (and the database) for the department again.
    async fn department(
        &self,
        viewer: &Viewer,
        dept: DeptRef,
        action: Action,
    ) -> Result<(OrganizationId, DepartmentView, chrono_tz::Tz), AvailabilityError> {
        let id = match dept {
            DeptRef::Id(id) => id,
            DeptRef::Default => self.default_department(viewer).await?,
        };
        let view = self.teams.department(viewer, id).await?;
        authorize(
            Actor {
                org_admin: viewer.org_admin,
                dept_role: view.my_role,
            },
            action,
        )?;
        let org = self.teams.current_organization(viewer).await?;
        let tz = org.timezone.parse().unwrap_or(chrono_tz::Europe::Paris);
        Ok((org.id, view, tz))
    }

    async fn default_department(&self, viewer: &Viewer) -> Result<DepartmentId, AvailabilityError> {
        let org = viewer.organization;
        self.teams
            .memberships_of(viewer.user)
            .await?
            .into_iter()
            .filter(|m| m.status == MemberStatus::Active && Some(m.organization_id) == org)
            .min_by_key(|m| m.joined_at)
            .map(|m| m.department_id)
            .ok_or(AvailabilityError::Team(TeamError::NotFound(
                "You are not in any department yet: there is no default department.",
            )))
    }

    fn deadline(
        view: &DepartmentView,
        tz: chrono_tz::Tz,
        month: Month,
        now: DateTime<Utc>,
    ) -> Deadline {
        Deadline::for_month(month, view.department.availability_deadline_days, tz, now)
    }

    /// The deadline of a month for a department.
    pub async fn month_deadline(
        &self,
        viewer: &Viewer,
        dept: DeptRef,
        month: Month,
        now: DateTime<Utc>,
    ) -> Result<(DepartmentId, Deadline), AvailabilityError> {
        let (_, view, tz) = self
            .department(viewer, dept, Action::ViewDepartment)
            .await?;
        Ok((view.department.id, Self::deadline(&view, tz, month, now)))
    }

    /// My month.
    pub async fn my_month(
        &self,
        viewer: &Viewer,
        dept: DeptRef,
        month: Month,
    ) -> Result<MonthView, AvailabilityError> {
        let (org, view, _) = self
            .department(viewer, dept, Action::ViewDepartment)
            .await?;
        Ok(MonthView {
            department: view.department.id,
            member: viewer.user,
            member_name: viewer.name.clone(),
            month,
            blockouts: self.store.month(org, viewer.user, month).await?,
        })
    }

    /// Replaces my month; refused after the deadline unless I lead the department or run
    /// the church.
    pub async fn put_my_month(
        &self,
        viewer: &Viewer,
        dept: DeptRef,
        payload: &MonthPayload,
        now: DateTime<Utc>,
    ) -> Result<MonthView, AvailabilityError> {
        let (month, blockouts) = validate_payload(payload).map_err(AvailabilityError::Invalid)?;
        let (org, view, tz) = self
            .department(viewer, dept, Action::EditOwnAvailability)
            .await?;
        let manages = authorize(
            Actor {
                org_admin: viewer.org_admin,
                dept_role: view.my_role,
            },
            Action::ManageAvailability,
        )
        .is_ok();
        can_edit(manages, &Self::deadline(&view, tz, month, now))?;
        self.store
            .replace_month(org, viewer.user, month, &blockouts, now)
            .await?;
        Ok(MonthView {
            department: view.department.id,
            member: viewer.user,
            member_name: viewer.name.clone(),
            month,
            blockouts,
        })
    }

    /// A leader (or the administrator) enters a member's month, at any time.
    pub async fn put_member_month(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        member: UserId,
        payload: &MonthPayload,
        now: DateTime<Utc>,
    ) -> Result<MonthView, AvailabilityError> {
        let (month, blockouts) = validate_payload(payload).map_err(AvailabilityError::Invalid)?;
        let (org, view, _) = self
            .department(viewer, DeptRef::Id(dept), Action::ManageAvailability)
            .await?;
        let found = self
            .teams
            .store
            .members(org, dept)
            .await?
            .into_iter()
            .find(|m| m.user_id == member)
            .ok_or(AvailabilityError::Team(TeamError::NotFound(
                "No such member in this department.",
            )))?;
        self.store
            .replace_month(org, member, month, &blockouts, now)
            .await?;
        Ok(MonthView {
            department: view.department.id,
            member,
            member_name: format!("{} {}", found.first_name, found.last_name),
            month,
            blockouts,
        })
    }

    /// Every member's month (leaders and the administrator), by the members' order.
    pub async fn overview(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        month: Month,
    ) -> Result<(DepartmentView, Vec<MemberMonth>), AvailabilityError> {
        let (org, view, _) = self
            .department(viewer, DeptRef::Id(dept), Action::ManageAvailability)
            .await?;
        let members = self.teams.store.members(org, dept).await?;
        let mut by_user: HashMap<UserId, Vec<Blockout>> = HashMap::new();
        for (user, b) in self.store.department_month(org, dept, month).await? {
            by_user.entry(user).or_default().push(b);
        }
        let rows = members
            .into_iter()
            .map(|m| MemberMonth {
                blockouts: by_user.remove(&m.user_id).unwrap_or_default(),
                name: format!("{} {}", m.first_name, m.last_name),
                email: m.email,
                user: m.user_id,
            })
            .collect();
        Ok((view, rows))
    }

    /// The members (leaders included, guests aside: they do not serve) who have not answered
    /// the month yet.
    pub async fn missing(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        month: Month,
    ) -> Result<Vec<teams::Member>, AvailabilityError> {
        let (org, _, _) = self
            .department(viewer, DeptRef::Id(dept), Action::ManageAvailability)
            .await?;
        let members: Vec<teams::Member> = self
            .teams
            .store
            .members(org, dept)
            .await?
            .into_iter()
            .filter(|m| m.role != teams::DeptRole::Guest)
            .collect();
        let answered: HashSet<UserId> = self
            .store
            .answered(org, dept, month)
            .await?
            .into_iter()
            .collect();
        Ok(crate::answers::missing(&members, &answered)
            .into_iter()
            .cloned()
            .collect())
    }
}

impl crate::answers::Answerer for teams::Member {
    fn user_id(&self) -> UserId {
        self.user_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime};

    #[test]
    fn unavailable_days_count_each_date_once() {
        let d = |day| NaiveDate::from_ymd_opt(2030, 1, day).unwrap();
        let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        let m = MemberMonth {
            user: UserId::new(),
            name: "A B".into(),
            email: "a@b.fr".into(),
            blockouts: vec![
                Blockout::part(d(12), t(9), t(10)),
                Blockout::all_day(d(3)),
                Blockout::part(d(12), t(18), t(21)),
            ],
        };
        assert_eq!(m.unavailable_days(), 2);
    }
}
