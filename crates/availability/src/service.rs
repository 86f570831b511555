//! The operations the API calls. The teams service finds the department in the caller's
//! church (another church's ids are 404) and the permission policy decides who may do what;
//! the deadline rule decides until when members may change a month.
//!
//! Blockouts belong to the person within the church, not to one department: a department in
//! the path says whose rules apply (its deadline, who leads it) and which department an event
//! names. Every change records one `availability.changed` event ([`crate::events`]) in its
//! transaction.

use crate::deadline::Deadline;
use crate::events::{self, Change, RuleAction};
use crate::expand::{effective, effective_by_person, implied_keys};
use crate::inputs::{RangeInput, WeeklyInput, parse_range, parse_weekly};
use crate::model::{
    Blockout, Entry, Key, Month, PersonalData, RangeId, StoredRange, StoredWeeklyRule, WeeklyRuleId,
};
use crate::policy::{DeadlinePassed, can_edit};
use crate::ports::{Added, AvailabilityStore, StoreError};
use crate::rules::{MonthPayload, validate_entries_with};
use crate::{MAX_RANGES_PER_PERSON, MAX_WEEKLY_RULES_PER_PERSON};
use chrono::{DateTime, SubsecRound, Utc};
use kernel::{DepartmentId, OrganizationId, UserId, ValidationErrors};
use std::collections::HashSet;
use teams::policy::{Action, Actor, authorize};
use teams::{DepartmentView, MemberStatus, TeamError, TeamStore, Teams, Viewer};

/// A department as the path names it: an id, or the front end's literal `default-department`
/// (the caller's department; the one they joined first if several).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeptRef {
    Id(DepartmentId),
    Default,
}

/// Whose blockouts: the caller's own (`…/members/me/…`), or a member's, entered by a leader
/// or the administrator (`…/members/{userId}/…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Person {
    Me,
    Member(UserId),
}

/// One person's month: one-off entries and the days their ranges and weekly rules give it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthView {
    pub department: DepartmentId,
    pub member: UserId,
    pub member_name: String,
    pub month: Month,
    pub entries: Vec<Entry>,
}

/// One member's month in the leader's overview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberMonth {
    pub user: UserId,
    pub name: String,
    pub email: String,
    pub entries: Vec<Entry>,
}

impl MemberMonth {
    /// Days with at least one blockout, whole or part, whatever its source.
    pub fn unavailable_days(&self) -> usize {
        self.entries
            .iter()
            .map(|e| e.blockout.date)
            .collect::<HashSet<_>>()
            .len()
    }
}

/// A person's ranges or weekly rules, with the department the path named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesView<T> {
    pub department: DepartmentId,
    pub member: UserId,
    pub rules: Vec<T>,
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
    /// 409: the request clashes with what the person already has (too many ranges…).
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// 429: done too recently (a manual chase within the hour).
    #[error("too soon")]
    TooSoon { retry_after_secs: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<teams::Forbidden> for AvailabilityError {
    fn from(f: teams::Forbidden) -> Self {
        AvailabilityError::Team(TeamError::Forbidden(f))
    }
}

fn not_found(what: &'static str) -> AvailabilityError {
    AvailabilityError::Team(TeamError::NotFound(what))
}

/// Whose blockouts an operation is about, once the caller is authorised.
struct Target {
    org: OrganizationId,
    view: DepartmentView,
    tz: chrono_tz::Tz,
    user: UserId,
    name: String,
    /// A leader of the department or the church's administrator: the deadline does not bind.
    manages: bool,
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
    pub(crate) async fn department(
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
            .ok_or(not_found(
                "You are not in any department yet: there is no default department.",
            ))
    }

    /// The person an operation is about. `Me`: reading needs `ViewDepartment`, changing
    /// `EditOwnAvailability`. `Member`: `ManageAvailability`, and the person must be an active
    /// member of the department (404 otherwise, as for an id that does not exist).
    async fn target(
        &self,
        viewer: &Viewer,
        dept: DeptRef,
        who: Person,
        change: bool,
    ) -> Result<Target, AvailabilityError> {
        match who {
            Person::Me => {
                let action = if change {
                    Action::EditOwnAvailability
                } else {
                    Action::ViewDepartment
                };
                let (org, view, tz) = self.department(viewer, dept, action).await?;
                let manages = authorize(
                    Actor {
                        org_admin: viewer.org_admin,
                        dept_role: view.my_role,
                    },
                    Action::ManageAvailability,
                )
                .is_ok();
                Ok(Target {
                    org,
                    view,
                    tz,
                    user: viewer.user,
                    name: viewer.name.clone(),
                    manages,
                })
            }
            Person::Member(member) => {
                let (org, view, tz) = self
                    .department(viewer, dept, Action::ManageAvailability)
                    .await?;
                let found = self
                    .teams
                    .store
                    .members(org, view.department.id)
                    .await?
                    .into_iter()
                    .find(|m| m.user_id == member)
                    .ok_or(not_found("No such member in this department."))?;
                Ok(Target {
                    org,
                    view,
                    tz,
                    user: member,
                    name: format!("{} {}", found.first_name, found.last_name),
                    manages: true,
                })
            }
        }
    }

    fn deadline(
        view: &DepartmentView,
        tz: chrono_tz::Tz,
        month: Month,
        now: DateTime<Utc>,
    ) -> Deadline {
        Deadline::for_month(month, view.department.availability_deadline_days, tz, now)
    }

    /// Refuses a member's change touching `first` or a later month when `first`'s deadline
    /// has passed. Deadlines grow with the month, so the earliest month decides.
    fn check_deadline(
        t: &Target,
        first: Option<Month>,
        now: DateTime<Utc>,
    ) -> Result<(), AvailabilityError> {
        match first {
            Some(m) => Ok(can_edit(t.manages, &Self::deadline(&t.view, t.tz, m, now))?),
            None => Ok(()),
        }
    }

    fn change(viewer: &Viewer, t: &Target) -> Change {
        Change {
            organization: t.org,
            department: t.view.department.id,
            actor: viewer.user,
            user: t.user,
        }
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

    /// My month: one-offs and the days of my ranges and weekly rules
    /// ([`crate::expand::effective`]).
    pub async fn my_month(
        &self,
        viewer: &Viewer,
        dept: DeptRef,
        month: Month,
    ) -> Result<MonthView, AvailabilityError> {
        let t = self.target(viewer, dept, Person::Me, false).await?;
        let r = self.store.person_month(t.org, t.user, month).await?;
        let one_offs: Vec<Blockout> = r.one_offs.into_iter().map(|(_, b)| b).collect();
        Ok(MonthView {
            department: t.view.department.id,
            member: t.user,
            member_name: t.name,
            month,
            entries: effective(&one_offs, &r.ranges, &r.weekly, month),
        })
    }

    /// Replaces my month's one-off entries; refused after the deadline unless I lead the
    /// department or run the church.
    pub async fn put_my_month(
        &self,
        viewer: &Viewer,
        dept: DeptRef,
        payload: &MonthPayload,
        now: DateTime<Utc>,
    ) -> Result<MonthView, AvailabilityError> {
        let month = Month::new(payload.year, payload.month).map_err(AvailabilityError::Invalid)?;
        let t = self.target(viewer, dept, Person::Me, true).await?;
        self.put_month(viewer, t, month, payload, now).await
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
        let month = Month::new(payload.year, payload.month).map_err(AvailabilityError::Invalid)?;
        let t = self
            .target(viewer, DeptRef::Id(dept), Person::Member(member), true)
            .await?;
        self.put_month(viewer, t, month, payload, now).await
    }

    /// The month PUT: entries a range or weekly rule already implies are not copied into
    /// one-offs (see [`crate::rules`]), so a GET then PUT changes nothing.
    async fn put_month(
        &self,
        viewer: &Viewer,
        t: Target,
        month: Month,
        payload: &MonthPayload,
        now: DateTime<Utc>,
    ) -> Result<MonthView, AvailabilityError> {
        let r = self.store.person_month(t.org, t.user, month).await?;
        let implied = implied_keys(&r.ranges, &r.weekly, month);
        let stored: HashSet<Key> = r.one_offs.iter().map(|(_, b)| b.key()).collect();
        let blockouts = validate_entries_with(month, &payload.unavailable_dates, &implied, &stored)
            .map_err(AvailabilityError::Invalid)?;
        Self::check_deadline(&t, Some(month), now)?;
        let event = events::month_replaced(Self::change(viewer, &t), month, blockouts.len());
        self.store
            .replace_month(t.org, t.user, month, &blockouts, &event, now)
            .await?;
        Ok(MonthView {
            department: t.view.department.id,
            member: t.user,
            member_name: t.name,
            month,
            entries: effective(&blockouts, &r.ranges, &r.weekly, month),
        })
    }

    /// Every member's month (leaders and the administrator), by the members' order, ranges
    /// and weekly rules included.
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
        let records = self.store.department_records(org, dept, month).await?;
        let mut by_user = effective_by_person(&records, month);
        let rows = members
            .into_iter()
            .map(|m| MemberMonth {
                entries: by_user.remove(&m.user_id).unwrap_or_default(),
                name: format!("{} {}", m.first_name, m.last_name),
                email: m.email,
                user: m.user_id,
            })
            .collect();
        Ok((view, rows))
    }

    /// Every active member's effective blockouts of `month` in the department: one-off
    /// entries, the days of their ranges and of their weekly rules, one per date and part of
    /// day ([`crate::expand::effective`]), by member then date. A fixed number of statements
    /// whatever the department's size.
    ///
    /// For the rota planner: **no authorisation here, the caller authorises** (and passes the
    /// church's id of the department it already found).
    pub async fn department_blockouts(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        month: Month,
    ) -> Result<Vec<(UserId, Blockout)>, StoreError> {
        department_blockouts(&self.store, org, dept, month).await
    }

    /// The members (leaders included, guests aside: they do not serve) who have not answered
    /// the month yet. Only a month PUT answers a month: a range or a weekly rule touching it
    /// does not, because it says nothing about the month's other days.
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

    // ---- date ranges ----

    /// A person's ranges, past ones included, by first day.
    pub async fn ranges(
        &self,
        viewer: &Viewer,
        dept: DeptRef,
        who: Person,
    ) -> Result<RulesView<StoredRange>, AvailabilityError> {
        let t = self.target(viewer, dept, who, false).await?;
        Ok(RulesView {
            department: t.view.department.id,
            member: t.user,
            rules: self.store.ranges(t.org, t.user).await?,
        })
    }

    /// Adds a range. Refused for a member when the deadline of its first month has passed
    /// (and so of every month it touches); 409 `too_many_ranges` beyond
    /// [`MAX_RANGES_PER_PERSON`] current ranges (ending today or later).
    pub async fn add_range(
        &self,
        viewer: &Viewer,
        dept: DeptRef,
        who: Person,
        input: &RangeInput,
        now: DateTime<Utc>,
    ) -> Result<StoredRange, AvailabilityError> {
        let range = parse_range(input).map_err(AvailabilityError::Invalid)?;
        let t = self.target(viewer, dept, who, true).await?;
        Self::check_deadline(&t, Month::of(range.from), now)?;
        let stored = StoredRange {
            id: RangeId::new(),
            user: t.user,
            range,
            // As stored: milliseconds.
            created_at: now.trunc_subsecs(3),
        };
        let event = events::range_changed(Self::change(viewer, &t), RuleAction::Added, &stored);
        let today = now.with_timezone(&t.tz).date_naive();
        match self
            .store
            .add_range(t.org, &stored, today, MAX_RANGES_PER_PERSON, &event, now)
            .await?
        {
            Added::Added => Ok(stored),
            Added::LimitReached => Err(AvailabilityError::Conflict {
                code: "too_many_ranges",
                detail: format!(
                    "A person has at most {MAX_RANGES_PER_PERSON} current date ranges; delete one first."
                ),
            }),
        }
    }

    /// Deletes a range (404 for someone else's or an unknown id); refused for a member when a
    /// month it touches is closed.
    pub async fn delete_range(
        &self,
        viewer: &Viewer,
        dept: DeptRef,
        who: Person,
        id: RangeId,
        now: DateTime<Utc>,
    ) -> Result<(), AvailabilityError> {
        let t = self.target(viewer, dept, who, true).await?;
        let stored = self
            .store
            .range(t.org, t.user, id)
            .await?
            .ok_or(not_found("No such date range."))?;
        Self::check_deadline(&t, Month::of(stored.range.from), now)?;
        let event = events::range_changed(Self::change(viewer, &t), RuleAction::Deleted, &stored);
        if self
            .store
            .delete_range(t.org, t.user, id, &event, now)
            .await?
        {
            Ok(())
        } else {
            Err(not_found("No such date range."))
        }
    }

    // ---- weekly rules ----

    /// A person's weekly rules, ended ones included, oldest first.
    pub async fn weekly_rules(
        &self,
        viewer: &Viewer,
        dept: DeptRef,
        who: Person,
    ) -> Result<RulesView<StoredWeeklyRule>, AvailabilityError> {
        let t = self.target(viewer, dept, who, false).await?;
        Ok(RulesView {
            department: t.view.department.id,
            member: t.user,
            rules: self.store.weekly_rules(t.org, t.user).await?,
        })
    }

    /// Adds a weekly rule. Refused for a member when the deadline of the month of its first
    /// occurrence has passed; 409 `too_many_weekly_rules` beyond
    /// [`MAX_WEEKLY_RULES_PER_PERSON`] current rules (without end or ending today or later).
    pub async fn add_weekly_rule(
        &self,
        viewer: &Viewer,
        dept: DeptRef,
        who: Person,
        input: &WeeklyInput,
        now: DateTime<Utc>,
    ) -> Result<StoredWeeklyRule, AvailabilityError> {
        let rule = parse_weekly(input).map_err(AvailabilityError::Invalid)?;
        let t = self.target(viewer, dept, who, true).await?;
        Self::check_deadline(&t, rule.first().and_then(Month::of), now)?;
        let stored = StoredWeeklyRule {
            id: WeeklyRuleId::new(),
            user: t.user,
            rule,
            created_at: now.trunc_subsecs(3),
        };
        let event = events::weekly_changed(Self::change(viewer, &t), RuleAction::Added, &stored);
        let today = now.with_timezone(&t.tz).date_naive();
        match self
            .store
            .add_weekly_rule(
                t.org,
                &stored,
                today,
                MAX_WEEKLY_RULES_PER_PERSON,
                &event,
                now,
            )
            .await?
        {
            Added::Added => Ok(stored),
            Added::LimitReached => Err(AvailabilityError::Conflict {
                code: "too_many_weekly_rules",
                detail: format!(
                    "A person has at most {MAX_WEEKLY_RULES_PER_PERSON} current weekly rules; delete one first."
                ),
            }),
        }
    }

    /// Deletes a weekly rule (404 for someone else's or an unknown id); refused for a member
    /// when the month of its first occurrence is closed.
    pub async fn delete_weekly_rule(
        &self,
        viewer: &Viewer,
        dept: DeptRef,
        who: Person,
        id: WeeklyRuleId,
        now: DateTime<Utc>,
    ) -> Result<(), AvailabilityError> {
        let t = self.target(viewer, dept, who, true).await?;
        let stored = self
            .store
            .weekly_rule(t.org, t.user, id)
            .await?
            .ok_or(not_found("No such weekly rule."))?;
        Self::check_deadline(&t, stored.rule.first().and_then(Month::of), now)?;
        let event = events::weekly_changed(Self::change(viewer, &t), RuleAction::Deleted, &stored);
        if self
            .store
            .delete_weekly_rule(t.org, t.user, id, &event, now)
            .await?
        {
            Ok(())
        } else {
            Err(not_found("No such weekly rule."))
        }
    }

    /// Everything the availability domain holds about the caller (the GDPR export): one-off
    /// entries, ranges and weekly rules.
    pub async fn personal_data(&self, viewer: &Viewer) -> Result<PersonalData, StoreError> {
        match viewer.organization {
            Some(org) => self.store.personal_data(org, viewer.user).await,
            None => Ok(PersonalData::default()),
        }
    }
}

/// [`Availability::department_blockouts`] over any availability store, for services that hold
/// the store rather than the availability service (the rota). No authorisation: the caller
/// authorises. Three statements whatever the department's size.
pub async fn department_blockouts<S: AvailabilityStore>(
    store: &S,
    org: OrganizationId,
    dept: DepartmentId,
    month: Month,
) -> Result<Vec<(UserId, Blockout)>, StoreError> {
    let records = store.department_records(org, dept, month).await?;
    Ok(effective_by_person(&records, month)
        .into_iter()
        .flat_map(|(user, entries)| entries.into_iter().map(move |e| (user, e.blockout)))
        .collect())
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
            entries: vec![
                Blockout::part(d(12), t(9), t(10)),
                Blockout::all_day(d(3)),
                Blockout::part(d(12), t(18), t(21)),
            ]
            .into_iter()
            .map(|blockout| Entry {
                blockout,
                source: crate::model::Source::Date,
            })
            .collect(),
        };
        assert_eq!(m.unavailable_days(), 2);
    }
}
