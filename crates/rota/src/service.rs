//! The operations the API and the worker call. The teams service finds the department in the
//! caller's church (another church's ids are 404) and the permission policy decides who may
//! do what; the rules decide whether an assignment may stand.

use crate::events;
use crate::generate::{confidence, generate, slots};
use crate::model::{
    Assignment, AssignmentStatus, MonthData, MyAssignment, Planning, PlanningStatus,
};
use crate::ports::{Change, RotaStore, StoreError};
use crate::rules::{Board, RuleBreak, Suggestion};
use availability::{AvailabilityStore, Blockout, Month};
use chrono::{DateTime, Utc};
use kernel::{
    AssignmentId, DepartmentId, JobId, OrganizationId, PlanningId, ServiceId, UserId,
    ValidationErrors,
};
use serde::{Deserialize, Serialize};
use teams::policy::{Action, Actor, authorize};
use teams::{TeamError, TeamStore, Teams, Viewer};

#[derive(Debug, thiserror::Error)]
pub enum RotaError {
    #[error(transparent)]
    Team(#[from] TeamError),
    #[error("invalid input")]
    Invalid(ValidationErrors),
    /// 404.
    #[error("{0}")]
    NotFound(&'static str),
    /// 409 with a code.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// 409: the assignment breaks hard rules (and was not forced, or cannot be).
    #[error("{}", .0.first().map(RuleBreak::sentence).unwrap_or_default())]
    RuleBroken(Vec<RuleBreak>),
    /// 409: the planning changed since the caller read it.
    #[error(
        "This rota was changed by someone else (it is now at version {current}). Reload it and try again."
    )]
    Stale { current: i32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<teams::Forbidden> for RotaError {
    fn from(f: teams::Forbidden) -> Self {
        RotaError::Team(TeamError::Forbidden(f))
    }
}

fn conflict(code: &'static str, detail: impl Into<String>) -> RotaError {
    RotaError::Conflict {
        code,
        detail: detail.into(),
    }
}

const NO_PLANNING: &str = "There is no such rota.";
const NO_ASSIGNMENT: &str = "There is no such assignment.";

/// The generation job's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateJob {
    pub organization_id: OrganizationId,
    pub planning_id: PlanningId,
    pub requested_by: UserId,
}

/// A manual edit of one assignment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssignmentEdit {
    pub service: Option<ServiceId>,
    pub user: Option<UserId>,
    pub role: Option<String>,
    pub pinned: Option<bool>,
}

/// A planning with what the caller may do with it.
pub struct PlanningView {
    pub data: MonthData,
    pub can_manage: bool,
}

/// The rota service.
#[derive(Clone)]
pub struct Rota<S, A, T> {
    pub store: S,
    pub availability: A,
    pub teams: Teams<T>,
}

impl<S: RotaStore, A: AvailabilityStore, T: TeamStore> Rota<S, A, T> {
    pub fn new(store: S, availability: A, teams: Teams<T>) -> Self {
        Self {
            store,
            availability,
            teams,
        }
    }

    fn org(viewer: &Viewer) -> Result<OrganizationId, RotaError> {
        viewer
            .organization
            .ok_or(RotaError::NotFound("You are not in a church yet."))
    }

    /// The caller's standing in the department (404 for another church's or unknown ids).
    async fn actor(&self, viewer: &Viewer, dept: DepartmentId) -> Result<(Actor, bool), RotaError> {
        let view = self.teams.department(viewer, dept).await?;
        Ok((
            Actor {
                org_admin: viewer.org_admin,
                dept_role: view.my_role,
            },
            view.department.archived_at.is_some(),
        ))
    }

    /// The planning, after checking the caller may see it (drafts: leaders only).
    async fn visible(
        &self,
        viewer: &Viewer,
        id: PlanningId,
    ) -> Result<(Planning, Actor, bool), RotaError> {
        let org = Self::org(viewer)?;
        let p = self
            .store
            .planning(org, id)
            .await?
            .ok_or(RotaError::NotFound(NO_PLANNING))?;
        let (actor, archived) = self.actor(viewer, p.department).await?;
        authorize(actor, Action::ViewServices)?;
        if !p.status.is_public() {
            authorize(actor, Action::ViewDraftRota).map_err(|_| {
                RotaError::from(teams::Forbidden(
                    "This rota is not published yet: only the department's leaders see it.",
                ))
            })?;
        }
        Ok((p, actor, archived))
    }

    /// The planning, for a leader about to change it.
    async fn manageable(&self, viewer: &Viewer, id: PlanningId) -> Result<Planning, RotaError> {
        let (p, actor, archived) = self.visible(viewer, id).await?;
        authorize(actor, Action::ManageRota)?;
        if archived {
            return Err(conflict(
                "department_archived",
                "This department is archived: its rotas are read-only.",
            ));
        }
        if p.status == PlanningStatus::Archived {
            return Err(conflict(
                "planning_archived",
                "This rota is archived: it can no longer be changed.",
            ));
        }
        Ok(p)
    }

    fn check_version(p: &Planning, expected: i32) -> Result<(), RotaError> {
        if p.version != expected {
            return Err(RotaError::Stale { current: p.version });
        }
        Ok(())
    }

    /// Every member's effective blockouts of the month: one-off entries and the days of their
    /// date ranges and weekly rules.
    async fn blockouts(&self, p: &Planning) -> Result<Vec<(UserId, Blockout)>, RotaError> {
        Ok(availability::department_blockouts(
            &self.availability,
            p.organization,
            p.department,
            p.month,
        )
        .await?)
    }

    /// The department's plannings the caller may see, newest month first.
    pub async fn list(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
    ) -> Result<Vec<Planning>, RotaError> {
        let org = Self::org(viewer)?;
        let (actor, _) = self.actor(viewer, dept).await?;
        authorize(actor, Action::ViewServices)?;
        let drafts = teams::policy::can(actor, Action::ViewDraftRota);
        Ok(self
            .store
            .plannings(org, dept)
            .await?
            .into_iter()
            .filter(|p| drafts || p.status.is_public())
            .collect())
    }

    /// Creates the month's (empty, draft) planning.
    pub async fn create(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        month: Month,
        now: DateTime<Utc>,
    ) -> Result<Planning, RotaError> {
        let org = Self::org(viewer)?;
        let (actor, archived) = self.actor(viewer, dept).await?;
        authorize(actor, Action::ManageRota)?;
        if archived {
            return Err(conflict(
                "department_archived",
                "This department is archived: no new rota can be made.",
            ));
        }
        match self.store.create_planning(org, dept, month, now).await {
            Err(StoreError::Duplicate) => Err(conflict(
                "planning_exists",
                "This department already has a rota for that month.",
            )),
            other => Ok(other?),
        }
    }

    /// A planning with its month (services, assignments, explanations).
    pub async fn get(&self, viewer: &Viewer, id: PlanningId) -> Result<PlanningView, RotaError> {
        let (p, actor, _) = self.visible(viewer, id).await?;
        let data = self.store.month_data(p.organization, &p).await?;
        Ok(PlanningView {
            data,
            can_manage: teams::policy::can(actor, Action::ManageRota),
        })
    }

    /// Queues the generation (the worker runs [`Rota::run_generation`]).
    pub async fn request_generation(
        &self,
        viewer: &Viewer,
        id: PlanningId,
        now: DateTime<Utc>,
    ) -> Result<(Planning, JobId), RotaError> {
        let p = self.manageable(viewer, id).await?;
        if p.status == PlanningStatus::Published {
            return Err(conflict(
                "planning_published",
                "This rota is published: unpublish it before generating it again.",
            ));
        }
        let job = self
            .store
            .enqueue_generation(p.organization, &p, viewer.user, now)
            .await?;
        Ok((p, job))
    }

    /// Generates the planning: the worker's job. Pinned assignments are kept; every other
    /// assignment is replaced by the planner's.
    pub async fn run_generation(
        &self,
        job: &GenerateJob,
        now: DateTime<Utc>,
    ) -> Result<Planning, RotaError> {
        let p = self
            .store
            .planning(job.organization_id, job.planning_id)
            .await?
            .ok_or(RotaError::NotFound(NO_PLANNING))?;
        if matches!(
            p.status,
            PlanningStatus::Published | PlanningStatus::Archived
        ) {
            return Err(conflict(
                "planning_published",
                "This rota was published or archived before it could be generated.",
            ));
        }
        let data = self.store.month_data(p.organization, &p).await?;
        let blockouts = self.blockouts(&p).await?;
        let g = generate(&data, &blockouts);
        let changes = vec![
            Change::ReplaceUnpinned(g.new_assignments),
            Change::Summary {
                required: g.required_slots,
                filled: g.filled_slots,
                confidence: g.confidence_score,
                explanations: g.explanations,
                generated: Some(now),
            },
            Change::Status {
                to: PlanningStatus::Generated,
                published_at: None,
            },
        ];
        self.store
            .write(p.organization, p.id, p.version, changes, Vec::new(), now)
            .await?
            .ok_or_else(|| {
                conflict(
                    "planning_changed",
                    "The rota changed while it was being generated; generate it again.",
                )
            })
    }

    async fn set_status(
        &self,
        viewer: &Viewer,
        id: PlanningId,
        version: i32,
        to: PlanningStatus,
        now: DateTime<Utc>,
    ) -> Result<Planning, RotaError> {
        let p = self.manageable(viewer, id).await?;
        Self::check_version(&p, version)?;
        let from = p.status;
        let allowed = match to {
            PlanningStatus::Published => {
                matches!(from, PlanningStatus::Draft | PlanningStatus::Generated)
            }
            PlanningStatus::Draft => from == PlanningStatus::Published,
            PlanningStatus::Archived => from != PlanningStatus::Archived,
            PlanningStatus::Generated => false,
        };
        if !allowed {
            return Err(conflict(
                "invalid_transition",
                format!("A {} rota cannot become {}.", from.as_str(), to.as_str()),
            ));
        }
        let data = self.store.month_data(p.organization, &p).await?;
        let events = match to {
            PlanningStatus::Published => events::published(&data, viewer.user),
            PlanningStatus::Draft => vec![events::unpublished(&data, viewer.user)],
            _ => Vec::new(),
        };
        let changes = vec![Change::Status {
            to,
            published_at: (to == PlanningStatus::Published).then_some(now),
        }];
        self.store
            .write(p.organization, p.id, version, changes, events, now)
            .await?
            .ok_or(RotaError::Stale {
                current: p.version + 1,
            })
    }

    /// Publishes: every assigned member gets an event (delivered by notifications).
    pub async fn publish(
        &self,
        viewer: &Viewer,
        id: PlanningId,
        version: i32,
        now: DateTime<Utc>,
    ) -> Result<Planning, RotaError> {
        self.set_status(viewer, id, version, PlanningStatus::Published, now)
            .await
    }

    /// Back to draft.
    pub async fn unpublish(
        &self,
        viewer: &Viewer,
        id: PlanningId,
        version: i32,
        now: DateTime<Utc>,
    ) -> Result<Planning, RotaError> {
        self.set_status(viewer, id, version, PlanningStatus::Draft, now)
            .await
    }

    /// Read-only from now on.
    pub async fn archive(
        &self,
        viewer: &Viewer,
        id: PlanningId,
        version: i32,
        now: DateTime<Utc>,
    ) -> Result<Planning, RotaError> {
        self.set_status(viewer, id, version, PlanningStatus::Archived, now)
            .await
    }

    /// Adds, changes (move, replace, pin) or removes an assignment. Every hard rule is
    /// checked; a broken one refuses the edit unless `force` (then the assignment keeps the
    /// broken rules as warnings). Returns the planning after the edit, and the warnings.
    #[allow(clippy::too_many_arguments)]
    pub async fn edit(
        &self,
        viewer: &Viewer,
        id: PlanningId,
        version: i32,
        target: EditTarget,
        force: bool,
        now: DateTime<Utc>,
    ) -> Result<(Planning, Option<Assignment>), RotaError> {
        let p = self.manageable(viewer, id).await?;
        Self::check_version(&p, version)?;
        let mut data = self.store.month_data(p.organization, &p).await?;
        let tz: chrono_tz::Tz = data.timezone.parse().unwrap_or(chrono_tz::Europe::Paris);
        let published = p.status == PlanningStatus::Published;
        let in_past = |svc: ServiceId, data: &MonthData| -> bool {
            data.service(svc).is_some_and(|s| {
                s.date
                    .and_time(s.start)
                    .and_local_timezone(tz)
                    .earliest()
                    .is_some_and(|t| t.with_timezone(&Utc) < now)
            })
        };
        let past_error = || {
            conflict(
                "service_in_past",
                "This service has already taken place: a published rota's past services cannot be changed.",
            )
        };
        let blockouts = self.blockouts(&p).await?;
        let (change, result, event) = match target {
            EditTarget::Add {
                service,
                user,
                role,
                pinned,
            } => {
                if data.service(service).is_none() {
                    return Err(RotaError::NotFound(
                        "This service is not in this rota's month and department.",
                    ));
                }
                if published && in_past(service, &data) {
                    return Err(past_error());
                }
                let breaks = Board::new(&data, &blockouts).check(service, user, &role, None);
                let role = data
                    .service(service)
                    .and_then(|s| {
                        s.required_roles
                            .iter()
                            .find(|r| r.role.eq_ignore_ascii_case(&role))
                    })
                    .map(|r| r.role.clone())
                    .unwrap_or(role);
                let mut a = Assignment::new(p.id, service, user, role);
                a.pinned = pinned;
                Self::accept(&mut a, breaks, force)?;
                let ev = published.then(|| {
                    events::about(
                        &data,
                        events::ASSIGNMENT_ADDED,
                        viewer.user,
                        &a,
                        serde_json::json!({}),
                    )
                });
                (Change::Insert(a.clone()), Some(a), ev)
            }
            EditTarget::Update { assignment, edit } => {
                let old = data
                    .assignments
                    .iter()
                    .find(|a| a.id == assignment)
                    .cloned()
                    .ok_or(RotaError::NotFound(NO_ASSIGNMENT))?;
                let mut a = old.clone();
                if let Some(s) = edit.service {
                    if data.service(s).is_none() {
                        return Err(RotaError::NotFound(
                            "This service is not in this rota's month and department.",
                        ));
                    }
                    a.service = s;
                }
                if let Some(u) = edit.user {
                    a.user = u;
                }
                if let Some(r) = edit.role {
                    a.role = r;
                }
                if let Some(pin) = edit.pinned {
                    a.pinned = pin;
                }
                if published && (in_past(old.service, &data) || in_past(a.service, &data)) {
                    return Err(past_error());
                }
                let moved = a.service != old.service
                    || a.user != old.user
                    || !a.role.eq_ignore_ascii_case(&old.role);
                if moved {
                    let breaks = Board::new(&data, &blockouts).check(
                        a.service,
                        a.user,
                        &a.role,
                        Some(old.id),
                    );
                    if let Some(r) = data.service(a.service).and_then(|s| {
                        s.required_roles
                            .iter()
                            .find(|r| r.role.eq_ignore_ascii_case(&a.role))
                    }) {
                        a.role = r.role.clone();
                    }
                    a.forced = false;
                    a.warnings.clear();
                    Self::accept(&mut a, breaks, force)?;
                    if a.user != old.user {
                        // A new person: their answer starts afresh.
                        a.status = AssignmentStatus::Pending;
                        a.decline_reason = None;
                        a.responded_at = None;
                        a.flag = None;
                    }
                }
                let ev: Vec<_> = if published && moved {
                    if a.user != old.user {
                        vec![
                            events::about(
                                &data,
                                events::ASSIGNMENT_REMOVED,
                                viewer.user,
                                &old,
                                serde_json::json!({}),
                            ),
                            events::about(
                                &data,
                                events::ASSIGNMENT_ADDED,
                                viewer.user,
                                &a,
                                serde_json::json!({}),
                            ),
                        ]
                    } else {
                        vec![events::about(
                            &data,
                            events::ASSIGNMENT_CHANGED,
                            viewer.user,
                            &a,
                            serde_json::json!({"previous": events::describe(&data, &old)}),
                        )]
                    }
                } else {
                    Vec::new()
                };
                return self
                    .finish(
                        &p,
                        version,
                        &mut data,
                        Change::Update(a.clone()),
                        Some(a),
                        ev,
                        now,
                    )
                    .await;
            }
            EditTarget::Remove { assignment } => {
                let old = data
                    .assignments
                    .iter()
                    .find(|a| a.id == assignment)
                    .cloned()
                    .ok_or(RotaError::NotFound(NO_ASSIGNMENT))?;
                if published && in_past(old.service, &data) {
                    return Err(past_error());
                }
                let ev = published.then(|| {
                    events::about(
                        &data,
                        events::ASSIGNMENT_REMOVED,
                        viewer.user,
                        &old,
                        serde_json::json!({}),
                    )
                });
                (Change::Delete(old.id), None, ev)
            }
        };
        self.finish(
            &p,
            version,
            &mut data,
            change,
            result,
            event.into_iter().collect(),
            now,
        )
        .await
    }

    fn accept(a: &mut Assignment, breaks: Vec<RuleBreak>, force: bool) -> Result<(), RotaError> {
        if breaks.is_empty() {
            return Ok(());
        }
        if !force || breaks.iter().any(|b| !b.forceable()) {
            return Err(RotaError::RuleBroken(breaks));
        }
        a.forced = true;
        a.warnings = breaks;
        Ok(())
    }

    /// Writes one edit with the month's new figures and explanations.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        p: &Planning,
        version: i32,
        data: &mut MonthData,
        change: Change,
        result: Option<Assignment>,
        events: Vec<kernel::DomainEvent>,
        now: DateTime<Utc>,
    ) -> Result<(Planning, Option<Assignment>), RotaError> {
        match &change {
            Change::Insert(a) => data.assignments.push(a.clone()),
            Change::Update(a) => {
                if let Some(slot) = data.assignments.iter_mut().find(|x| x.id == a.id) {
                    *slot = a.clone();
                }
            }
            Change::Delete(id) => data.assignments.retain(|x| x.id != *id),
            _ => {}
        }
        let blockouts = self.blockouts(p).await?;
        let (required, filled) = slots(data);
        let explanations = Board::new(data, &blockouts).explain();
        let changes = vec![
            change,
            Change::Summary {
                required,
                filled,
                confidence: confidence(required, filled),
                explanations,
                generated: None,
            },
        ];
        let planning = self
            .store
            .write(p.organization, p.id, version, changes, events, now)
            .await?
            .ok_or(RotaError::Stale {
                current: p.version + 1,
            })?;
        Ok((planning, result))
    }

    /// People who could take a slot, best first, each with why.
    pub async fn suggestions(
        &self,
        viewer: &Viewer,
        id: PlanningId,
        service: ServiceId,
        role: &str,
        replacing: Option<AssignmentId>,
    ) -> Result<Vec<Suggestion>, RotaError> {
        let (p, actor, _) = self.visible(viewer, id).await?;
        authorize(actor, Action::ManageRota)?;
        let data = self.store.month_data(p.organization, &p).await?;
        let svc = data.service(service).ok_or(RotaError::NotFound(
            "This service is not in this rota's month and department.",
        ))?;
        if svc.count_of(role).is_none() {
            return Err(conflict(
                "unknown_role",
                format!("This service does not need the role {role}."),
            ));
        }
        if let Some(r) = replacing
            && !data.assignments.iter().any(|a| a.id == r)
        {
            return Err(RotaError::NotFound(NO_ASSIGNMENT));
        }
        let blockouts = self.blockouts(&p).await?;
        Ok(Board::new(&data, &blockouts).suggestions(service, role, replacing))
    }

    /// My upcoming assignments on published rotas, across departments: from the day before
    /// today in UTC, so a service today counts as upcoming in every time zone.
    pub async fn my_assignments(
        &self,
        viewer: &Viewer,
        now: DateTime<Utc>,
    ) -> Result<Vec<MyAssignment>, RotaError> {
        let Some(org) = viewer.organization else {
            return Ok(Vec::new());
        };
        let from = now.date_naive() - chrono::Days::new(1);
        Ok(self.store.my_assignments(org, viewer.user, from).await?)
    }

    /// Confirms or declines one of my assignments on a published rota.
    pub async fn respond(
        &self,
        viewer: &Viewer,
        id: AssignmentId,
        confirm: bool,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<MyAssignment, RotaError> {
        let org = Self::org(viewer)?;
        let mine = self
            .store
            .my_assignment(org, viewer.user, id)
            .await?
            .ok_or(RotaError::NotFound(NO_ASSIGNMENT))?;
        if mine.planning_status != PlanningStatus::Published {
            return Err(conflict(
                "planning_not_published",
                "This rota is not published: there is nothing to answer yet.",
            ));
        }
        let reason = reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if let Some(r) = &reason
            && r.chars().count() > 500
        {
            let mut e = ValidationErrors::new();
            e.add("reason", "too_long", "At most 500 characters.");
            return Err(RotaError::Invalid(e));
        }
        let status = if confirm {
            AssignmentStatus::Confirmed
        } else {
            AssignmentStatus::Declined
        };
        let mut a = mine.assignment.clone();
        a.status = status;
        a.decline_reason = if confirm { None } else { reason.clone() };
        let kind = if confirm {
            events::ASSIGNMENT_CONFIRMED
        } else {
            events::ASSIGNMENT_DECLINED
        };
        let payload = serde_json::json!({
            "assignmentId": a.id,
            "planningId": a.planning,
            "serviceId": mine.service.id,
            "serviceName": mine.service.name,
            "date": mine.service.date.to_string(),
            "startTime": mine.service.start.format("%H:%M").to_string(),
            "role": a.role,
            "memberName": viewer.name,
            "departmentName": mine.department_name,
            "reason": a.decline_reason,
        });
        let event = kernel::DomainEvent::new(org, kind)
            .department(mine.department)
            .actor(viewer.user)
            .user(viewer.user)
            .payload(payload);
        // A decline opens the slot again (a later confirmation takes it back): the rota's
        // figures and explanations follow.
        let planning = self
            .store
            .planning(org, a.planning)
            .await?
            .ok_or(RotaError::NotFound(NO_ASSIGNMENT))?;
        let mut data = self.store.month_data(org, &planning).await?;
        if let Some(x) = data.assignments.iter_mut().find(|x| x.id == a.id) {
            x.status = status;
        }
        let blockouts = self.blockouts(&planning).await?;
        let (required, filled) = slots(&data);
        let summary = Change::Summary {
            required,
            filled,
            confidence: confidence(required, filled),
            explanations: Board::new(&data, &blockouts).explain(),
            generated: None,
        };
        self.store
            .respond(org, &a, summary, vec![event], now)
            .await?;
        Ok(MyAssignment {
            assignment: Assignment {
                responded_at: Some(now),
                ..a
            },
            ..mine
        })
    }
}

/// What a manual edit targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditTarget {
    Add {
        service: ServiceId,
        user: UserId,
        role: String,
        pinned: bool,
    },
    Update {
        assignment: AssignmentId,
        edit: AssignmentEdit,
    },
    Remove {
        assignment: AssignmentId,
    },
}
