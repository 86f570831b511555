//! The operations the API calls. The teams service finds the department in the caller's
//! church (another church's ids are 404) and the permission policy decides who may do what:
//! `ViewServices` to read, `ManageServices` to write. An archived department is read-only.

use crate::events;
use crate::model::{Scope, Series, Service};
use crate::ports::{ScheduleStore, StoreError};
use crate::range::{RangeInput, resolve};
use crate::recurrence::expand;
use crate::rules::{
    ServiceInput, ServicePatchInput, check_changed, resolve_roles, validate_new, validate_patch,
};
use crate::scope::{Unreachable, reach};
use availability::Month;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use kernel::{DepartmentId, OrganizationId, SeriesId, ServiceId, ValidationErrors};
use teams::policy::{Action, Actor, authorize};
use teams::{DepartmentView, DeptRole, TeamError, TeamStore, Teams, Viewer};

/// Why an operation did not happen; the API maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// 404 (unknown or another church's department), 403, 409 `department_archived`.
    #[error(transparent)]
    Team(#[from] TeamError),
    /// 422 `validation_failed` with field errors.
    #[error("invalid input")]
    Invalid(ValidationErrors),
    /// 422 with its own code (`starts_in_past`, `invalid_recurrence`), a sentence, and the
    /// field it is about (for a rule, with the rule's own code: `never_ends`,
    /// `too_many_occurrences`…).
    #[error("{detail}")]
    Rejected {
        code: &'static str,
        detail: String,
        errors: ValidationErrors,
    },
    /// 404: no such service in this department of the caller's church.
    #[error("{0}")]
    NotFound(&'static str),
    /// 409 (`service_in_past`, `concurrent_change`).
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<teams::Forbidden> for ScheduleError {
    fn from(f: teams::Forbidden) -> Self {
        ScheduleError::Team(TeamError::Forbidden(f))
    }
}

const NO_SERVICE: &str = "No such service in this department.";

fn rejected(code: &'static str, field: &str, field_code: &str, detail: String) -> ScheduleError {
    let mut errors = ValidationErrors::new();
    errors.add(field, field_code, detail.clone());
    ScheduleError::Rejected {
        code,
        detail,
        errors,
    }
}

fn starts_in_past(s: &Service) -> ScheduleError {
    rejected(
        "starts_in_past",
        "date",
        "starts_in_past",
        format!(
            "This service would start in the past ({} at {}): services are planned ahead.",
            s.date.format("%Y-%m-%d"),
            s.start.format("%H:%M")
        ),
    )
}

fn in_past(scope: Scope) -> ScheduleError {
    ScheduleError::Conflict {
        code: "service_in_past",
        detail: match scope {
            Scope::All => "Every service of this series has already taken place; past services are never changed.",
            _ => "This service has already taken place; past services are never changed.",
        }
        .into(),
    }
}

fn concurrent() -> ScheduleError {
    ScheduleError::Conflict {
        code: "concurrent_change",
        detail: "These services changed meanwhile; reload them and try again.".into(),
    }
}

/// What a creation made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    One(Service),
    Series {
        series: Series,
        services: Vec<Service>,
    },
}

/// The services service, over its store and the teams service.
#[derive(Clone)]
pub struct Schedule<S, T> {
    pub store: S,
    pub teams: Teams<T>,
}

impl<S: ScheduleStore, T: TeamStore> Schedule<S, T> {
    pub fn new(store: S, teams: Teams<T>) -> Self {
        Self { store, teams }
    }

    /// The department, after the policy allowed `action`, with the church's id and zone.
    async fn department(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        action: Action,
    ) -> Result<(OrganizationId, DepartmentView, Tz), ScheduleError> {
        let view = self.teams.department(viewer, dept).await?;
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

    /// The department for a change: `ManageServices`, and not archived.
    async fn writable(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
    ) -> Result<(OrganizationId, Tz), ScheduleError> {
        let (org, view, tz) = self
            .department(viewer, dept, Action::ManageServices)
            .await?;
        if view.department.archived_at.is_some() {
            return Err(ScheduleError::Team(TeamError::Conflict {
                code: "department_archived",
                detail: "This department is archived; restore it first.".into(),
            }));
        }
        Ok((org, tz))
    }

    /// The skills roles may name: those of the department's active members and leaders
    /// (guests do not serve).
    async fn skills(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
    ) -> Result<Vec<String>, ScheduleError> {
        Ok(self
            .teams
            .store
            .members(org, dept)
            .await?
            .into_iter()
            .filter(|m| m.role != DeptRole::Guest)
            .flat_map(|m| m.skills)
            .collect())
    }

    /// The department's services over a month, a range, or the coming year (see
    /// [`crate::range`]), by date then start time.
    pub async fn list(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        range: &RangeInput,
        now: DateTime<Utc>,
    ) -> Result<Vec<Service>, ScheduleError> {
        let (org, _, tz) = self.department(viewer, dept, Action::ViewServices).await?;
        let today = now.with_timezone(&tz).date_naive();
        let (from, to) = resolve(range, today).map_err(ScheduleError::Invalid)?;
        Ok(self.store.department_services(org, dept, from, to).await?)
    }

    /// One service of the department.
    pub async fn get(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        id: ServiceId,
    ) -> Result<Service, ScheduleError> {
        let view = self.teams.department(viewer, dept).await?;
        authorize(
            Actor {
                org_admin: viewer.org_admin,
                dept_role: view.my_role,
            },
            Action::ViewServices,
        )?;
        let org = view.department.organization_id;
        self.store
            .service(org, dept, id)
            .await?
            .ok_or(ScheduleError::NotFound(NO_SERVICE))
    }

    /// Creates a service, or a series and all its occurrences, in one transaction.
    pub async fn create(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        input: &ServiceInput,
        now: DateTime<Utc>,
    ) -> Result<Created, ScheduleError> {
        let (org, tz) = self.writable(viewer, dept).await?;
        let draft = validate_new(input).map_err(ScheduleError::Invalid)?;
        let expansion = match &draft.rrule {
            Some(rule) => Some(expand(rule, draft.date, draft.start).map_err(|e| {
                rejected(
                    "invalid_recurrence",
                    "recurrence.rrule",
                    e.code(),
                    e.to_string(),
                )
            })?),
            None => None,
        };
        let skills = self.skills(org, dept).await?;
        let roles = resolve_roles(&draft.required_roles, skills.iter().map(String::as_str))
            .map_err(ScheduleError::Invalid)?;
        let series = expansion.as_ref().map(|e| Series {
            id: SeriesId::new(),
            department: dept,
            rrule: e.rrule.clone(),
            dtstart: draft.date,
            name: draft.name.clone(),
            service_type: draft.service_type.clone(),
            start: draft.start,
            end: draft.end,
            location: draft.location.clone(),
            notes: draft.notes.clone(),
            required_roles: roles.clone(),
        });
        let services: Vec<Service> = match (&series, &expansion) {
            (Some(s), Some(e)) => e.dates.iter().map(|d| s.occurrence(*d)).collect(),
            _ => vec![Service {
                id: ServiceId::new(),
                department: dept,
                series: None,
                is_exception: false,
                name: draft.name,
                service_type: draft.service_type,
                date: draft.date,
                start: draft.start,
                end: draft.end,
                location: draft.location,
                notes: draft.notes,
                required_roles: roles,
                rrule: None,
            }],
        };
        // Occurrences are in date order: the first is the earliest.
        if let Some(first) = services.first().filter(|s| s.is_past(tz, now)) {
            return Err(starts_in_past(first));
        }
        let event = events::created(
            org,
            viewer.user,
            dept,
            series.as_ref().map(|s| s.id),
            &services,
        );
        self.store
            .insert(org, series.as_ref(), &services, &[event], viewer.user, now)
            .await?;
        Ok(match series {
            Some(series) => Created::Series { series, services },
            None => Created::One(
                services
                    .into_iter()
                    .next()
                    .ok_or(StoreError::Other("a creation without a service".into()))?,
            ),
        })
    }

    /// Changes a service, or with `scope` its series (see [`crate::scope`]); returns the
    /// service named in the path as it is now.
    pub async fn update(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        id: ServiceId,
        scope: Scope,
        patch: &ServicePatchInput,
        now: DateTime<Utc>,
    ) -> Result<Service, ScheduleError> {
        let (org, tz) = self.writable(viewer, dept).await?;
        let anchor = self
            .store
            .service(org, dept, id)
            .await?
            .ok_or(ScheduleError::NotFound(NO_SERVICE))?;
        let mut changes = validate_patch(patch, scope, &anchor).map_err(ScheduleError::Invalid)?;
        let siblings = self.siblings(org, dept, &anchor, scope).await?;
        let reached = reach(scope, &anchor, &siblings, tz, now).map_err(|u| match u {
            Unreachable::InPast => in_past(scope),
        })?;
        if changes.is_empty() {
            return Ok(anchor);
        }
        if let Some(roles) = &changes.required_roles {
            let skills = self.skills(org, dept).await?;
            changes.required_roles = Some(
                resolve_roles(roles, skills.iter().map(String::as_str))
                    .map_err(ScheduleError::Invalid)?,
            );
        }
        let alone = scope == Scope::This || anchor.series.is_none();
        let mark_exception = alone && anchor.series.is_some();
        let mut pairs = Vec::with_capacity(reached.len());
        for before in reached {
            let mut after = changes.apply(&before);
            check_changed(&changes, &after).map_err(ScheduleError::Invalid)?;
            if after.is_past(tz, now) {
                return Err(starts_in_past(&after));
            }
            after.is_exception |= mark_exception;
            pairs.push((before, after));
        }
        let ids: Vec<ServiceId> = pairs.iter().map(|(b, _)| b.id).collect();
        let event = events::updated(org, viewer.user, dept, scope, &changes.fields(), &pairs);
        let series = (!alone).then_some(anchor.series).flatten();
        let n = self
            .store
            .update(
                org,
                dept,
                &ids,
                &changes,
                mark_exception,
                series,
                &[event],
                now,
            )
            .await?;
        if n != ids.len() {
            return Err(concurrent());
        }
        Ok(pairs
            .into_iter()
            .find(|(b, _)| b.id == anchor.id)
            .map(|(_, a)| a)
            .unwrap_or(anchor))
    }

    /// Deletes a service, or with `scope` its series (see [`crate::scope`]); returns the ids
    /// deleted.
    pub async fn delete(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        id: ServiceId,
        scope: Scope,
        now: DateTime<Utc>,
    ) -> Result<Vec<ServiceId>, ScheduleError> {
        let (org, tz) = self.writable(viewer, dept).await?;
        let anchor = self
            .store
            .service(org, dept, id)
            .await?
            .ok_or(ScheduleError::NotFound(NO_SERVICE))?;
        let siblings = self.siblings(org, dept, &anchor, scope).await?;
        let reached = reach(scope, &anchor, &siblings, tz, now).map_err(|u| match u {
            Unreachable::InPast => in_past(scope),
        })?;
        let ids: Vec<ServiceId> = reached.iter().map(|s| s.id).collect();
        let event = events::deleted(org, viewer.user, dept, scope, &reached);
        let n = self
            .store
            .delete(org, dept, &ids, anchor.series, &[event], now)
            .await?;
        if n != ids.len() {
            return Err(concurrent());
        }
        Ok(ids)
    }

    async fn siblings(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        anchor: &Service,
        scope: Scope,
    ) -> Result<Vec<Service>, ScheduleError> {
        Ok(match (scope, anchor.series) {
            (Scope::Following | Scope::All, Some(series)) => {
                self.store.series_services(org, dept, series).await?
            }
            _ => Vec::new(),
        })
    }

    /// The department's services of a month, by date then start time. For the planner: no
    /// authorisation here, the caller authorises.
    pub async fn services_in_month(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
    ) -> Result<Vec<Service>, ScheduleError> {
        Ok(self.store.services_in_month(org, dept, month).await?)
    }

    /// Every department's services of the church from `from` to `to` (both included), by
    /// date and start time. For the planner (overlaps across departments): no authorisation
    /// here, the caller authorises.
    pub async fn services_between(
        &self,
        org: OrganizationId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Service>, ScheduleError> {
        Ok(self.store.services_between(org, from, to).await?)
    }
}
