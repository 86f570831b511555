//! Who is told what about each domain event, in which words.
//!
//! | event kind | recipients | |
//! |---|---|---|
//! | `rota.published` | the assigned member (one event per member) | their services that month |
//! | `assignment.added` / `.changed` / `.removed` | the member concerned | the service and role |
//! | `assignment.confirmed` / `.declined` | the department's leaders (or, without one, the church's administrators), not the member | the reason of a decline |
//! | `rota.member_left` | the department's leaders | how many assignments to replace |
//! | `availability.changed` | the department's leaders, not the member | the month |
//! | `invitation.accepted` | the inviter | who joined which department |
//! | `announcement.posted` | every active member of the department but the author | the title and the start of the message |
//! | `availability.reminder` | the member who has not entered anything for the month | the month and the deadline |
//! | `service.reminder` | the assigned member | service, date, time, place, role, dress code |
//!
//! Other kinds (`rota.unpublished`, `service.created` / `.updated` / `.deleted`, kinds added
//! later) notify no one here: they are marked processed and left to the capabilities that
//! read them (reminders).
//! Nobody is notified of their own action.

use crate::model::NewNotification;
use crate::ports::{PendingEvent, Recipients};
use accounts::Locale;
use kernel::{DepartmentId, DomainEvent, OrganizationId, UserId};
use serde_json::{Map, Value, json};

pub const ROTA_PUBLISHED: &str = "rota.published";
pub const ASSIGNMENT_ADDED: &str = "assignment.added";
pub const ASSIGNMENT_CHANGED: &str = "assignment.changed";
pub const ASSIGNMENT_REMOVED: &str = "assignment.removed";
pub const ASSIGNMENT_CONFIRMED: &str = "assignment.confirmed";
pub const ASSIGNMENT_DECLINED: &str = "assignment.declined";
pub const MEMBER_LEFT: &str = "rota.member_left";
pub const AVAILABILITY_CHANGED: &str = "availability.changed";
pub const INVITATION_ACCEPTED: &str = "invitation.accepted";
pub const ANNOUNCEMENT_POSTED: &str = "announcement.posted";
pub const AVAILABILITY_REMINDER: &str = "availability.reminder";

/// The most characters of an announcement's message a notification carries.
pub const ANNOUNCEMENT_EXCERPT_CHARS: usize = 280;

/// Recorded by the reminders ([`crate::reminders`]) before each service.
pub const SERVICE_REMINDER: &str = "service.reminder";

/// Every kind that produces notifications (the types a user may see).
pub const KINDS: [&str; 12] = [
    ROTA_PUBLISHED,
    ASSIGNMENT_ADDED,
    ASSIGNMENT_CHANGED,
    ASSIGNMENT_REMOVED,
    ASSIGNMENT_CONFIRMED,
    ASSIGNMENT_DECLINED,
    MEMBER_LEFT,
    AVAILABILITY_CHANGED,
    INVITATION_ACCEPTED,
    ANNOUNCEMENT_POSTED,
    AVAILABILITY_REMINDER,
    SERVICE_REMINDER,
];

/// Who an event is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Nobody (the kind is not a notification, or the event lacks its recipient).
    Nobody,
    /// The event's `user`.
    User(UserId),
    /// The active leaders of the department.
    Leaders(DepartmentId),
    /// Every active member of the department (leaders and guests included), the actor aside.
    Members(DepartmentId),
}

pub fn audience(e: &DomainEvent) -> Audience {
    let user = || e.user.map_or(Audience::Nobody, Audience::User);
    let leaders = || e.department.map_or(Audience::Nobody, Audience::Leaders);
    match e.kind.as_str() {
        ROTA_PUBLISHED
        | ASSIGNMENT_ADDED
        | ASSIGNMENT_CHANGED
        | ASSIGNMENT_REMOVED
        | INVITATION_ACCEPTED
        | AVAILABILITY_REMINDER
        | SERVICE_REMINDER => user(),
        ASSIGNMENT_CONFIRMED | ASSIGNMENT_DECLINED | MEMBER_LEFT | AVAILABILITY_CHANGED => {
            leaders()
        }
        ANNOUNCEMENT_POSTED => e.department.map_or(Audience::Nobody, Audience::Members),
        _ => Audience::Nobody,
    }
}

/// What one recipient reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Content {
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub data: Value,
}

fn s<'a>(p: &'a Value, key: &str) -> Option<&'a str> {
    p.get(key)
        .and_then(Value::as_str)
        .filter(|v| !v.trim().is_empty())
}

/// The ids (and a few plain values) the front end needs, copied from the payload.
fn ids(e: &DomainEvent, keys: &[&str]) -> Value {
    let mut m = Map::new();
    for k in keys {
        if let Some(v) = e.payload.get(*k).filter(|v| !v.is_null()) {
            m.insert((*k).to_string(), v.clone());
        }
    }
    if let Some(d) = e.department {
        m.insert("departmentId".into(), json!(d));
    }
    Value::Object(m)
}

const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `2026-12` → `décembre 2026` / `December 2026` (left as is when it is not a month).
fn month(l: Locale, ym: &str) -> String {
    let parsed = ym.split_once('-').and_then(|(y, m)| {
        let m: usize = m.parse().ok()?;
        (y.len() == 4 && (1..=12).contains(&m)).then_some((y, m))
    });
    match (parsed, l) {
        (Some((y, m)), Locale::Fr) => format!("{} {y}", MONTHS_FR[m - 1]),
        (Some((y, m)), Locale::En) => format!("{} {y}", MONTHS_EN[m - 1]),
        (None, _) => ym.to_string(),
    }
}

/// `2026-12-06` → `06/12/2026` in French, `6 December 2026` in English.
fn date(l: Locale, d: &str) -> String {
    match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
        Ok(d) => match l {
            Locale::Fr => d.format("%d/%m/%Y").to_string(),
            Locale::En => {
                use chrono::Datelike;
                format!(
                    "{} {} {}",
                    d.day(),
                    MONTHS_EN[d.month0() as usize],
                    d.year()
                )
            }
        },
        Err(_) => d.to_string(),
    }
}

/// "Sunday service of 06/12/2026 at 10:00 (bass)" from an assignment's description.
fn service(l: Locale, p: &Value) -> String {
    let name = s(p, "serviceName").unwrap_or(match l {
        Locale::Fr => "service",
        Locale::En => "service",
    });
    let mut out = name.to_string();
    if let Some(d) = s(p, "date") {
        out.push_str(match l {
            Locale::Fr => " du ",
            Locale::En => " on ",
        });
        out.push_str(&date(l, d));
    }
    if let Some(t) = s(p, "startTime") {
        out.push_str(match l {
            Locale::Fr => " à ",
            Locale::En => " at ",
        });
        out.push_str(t);
    }
    if let Some(r) = s(p, "role") {
        out.push_str(&format!(" ({r})"));
    }
    out
}

fn planning_link(l: Locale, p: &Value) -> Option<String> {
    s(p, "planningId").map(|id| format!("/{}/dashboard/plannings/{id}", l.as_str()))
}

/// What `e` says to a recipient whose language is `l`; `None` for kinds that notify no one.
pub fn render(e: &DomainEvent, l: Locale) -> Option<Content> {
    let p = &e.payload;
    let fr = l == Locale::Fr;
    let dept = s(p, "departmentName").unwrap_or(if fr {
        "votre département"
    } else {
        "your department"
    });
    let member = s(p, "memberName").unwrap_or(if fr { "Un membre" } else { "A member" });
    let assignment_ids = ["planningId", "assignmentId", "serviceId"];
    let c = match e.kind.as_str() {
        ROTA_PUBLISHED => {
            let n = p
                .get("assignments")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let m = month(l, s(p, "month").unwrap_or(""));
            let assignment_ids: Vec<Value> = p
                .get("assignments")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.get("assignmentId").cloned())
                        .collect()
                })
                .unwrap_or_default();
            let mut data = ids(e, &["planningId", "month"]);
            if let Some(o) = data.as_object_mut() {
                o.insert("assignmentIds".into(), Value::Array(assignment_ids));
            }
            Content {
                title: if fr {
                    format!("Planning de {m} publié")
                } else {
                    format!("{m} rota published")
                },
                body: match (fr, n) {
                    (true, 1) => format!("{dept} : vous servez 1 fois en {m}."),
                    (true, n) => format!("{dept} : vous servez {n} fois en {m}."),
                    (false, 1) => format!("{dept}: you serve once in {m}."),
                    (false, n) => format!("{dept}: you serve {n} times in {m}."),
                },
                link: planning_link(l, p),
                data,
            }
        }
        ASSIGNMENT_ADDED => Content {
            title: if fr {
                "Nouvelle affectation"
            } else {
                "New assignment"
            }
            .into(),
            body: if fr {
                format!("{dept} : vous servez au {}.", service(l, p))
            } else {
                format!("{dept}: you serve at {}.", service(l, p))
            },
            link: planning_link(l, p),
            data: ids(e, &assignment_ids),
        },
        ASSIGNMENT_CHANGED => {
            let was = p.get("previous").map(|prev| service(l, prev));
            Content {
                title: if fr {
                    "Affectation modifiée"
                } else {
                    "Assignment changed"
                }
                .into(),
                body: match (fr, was) {
                    (true, Some(w)) => format!(
                        "{dept} : vous servez désormais au {} (au lieu du {w}).",
                        service(l, p)
                    ),
                    (true, None) => format!("{dept} : vous servez désormais au {}.", service(l, p)),
                    (false, Some(w)) => format!(
                        "{dept}: you now serve at {} (instead of {w}).",
                        service(l, p)
                    ),
                    (false, None) => format!("{dept}: you now serve at {}.", service(l, p)),
                },
                link: planning_link(l, p),
                data: ids(e, &assignment_ids),
            }
        }
        ASSIGNMENT_REMOVED => Content {
            title: if fr {
                "Affectation retirée"
            } else {
                "Assignment removed"
            }
            .into(),
            body: if fr {
                format!("{dept} : vous ne servez plus au {}.", service(l, p))
            } else {
                format!("{dept}: you no longer serve at {}.", service(l, p))
            },
            link: planning_link(l, p),
            data: ids(e, &["planningId", "serviceId"]),
        },
        ASSIGNMENT_CONFIRMED => Content {
            title: if fr {
                "Affectation confirmée"
            } else {
                "Assignment confirmed"
            }
            .into(),
            body: if fr {
                format!("{member} confirme le {}.", service(l, p))
            } else {
                format!("{member} confirmed {}.", service(l, p))
            },
            link: planning_link(l, p),
            data: with_user(ids(e, &assignment_ids), e.user),
        },
        ASSIGNMENT_DECLINED => {
            let reason = s(p, "reason");
            let mut data = with_user(ids(e, &assignment_ids), e.user);
            if let (Some(o), Some(r)) = (data.as_object_mut(), reason) {
                o.insert("reason".into(), json!(r));
            }
            Content {
                title: if fr {
                    "Affectation déclinée"
                } else {
                    "Assignment declined"
                }
                .into(),
                body: match (fr, reason) {
                    (true, Some(r)) => format!("{member} décline le {} : « {r} »", service(l, p)),
                    (true, None) => format!("{member} décline le {} (sans motif).", service(l, p)),
                    (false, Some(r)) => format!("{member} declined {}: \"{r}\"", service(l, p)),
                    (false, None) => {
                        format!("{member} declined {} (no reason given).", service(l, p))
                    }
                },
                link: planning_link(l, p),
                data,
            }
        }
        MEMBER_LEFT => {
            let n = p
                .get("flaggedAssignments")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            Content {
                title: if fr {
                    "Un membre a quitté le planning"
                } else {
                    "A member left the rota"
                }
                .into(),
                body: match (fr, n) {
                    (true, 1) => format!(
                        "{member} a quitté {dept} : 1 affectation d'un planning publié est à remplacer."
                    ),
                    (true, n) => format!(
                        "{member} a quitté {dept} : {n} affectations de plannings publiés sont à remplacer."
                    ),
                    (false, 1) => format!(
                        "{member} left {dept}: 1 assignment on a published rota needs replacing."
                    ),
                    (false, n) => format!(
                        "{member} left {dept}: {n} assignments on published rotas need replacing."
                    ),
                },
                link: Some(format!("/{}/dashboard/plannings", l.as_str())),
                data: with_user(ids(e, &["flaggedAssignments"]), e.user),
            }
        }
        AVAILABILITY_CHANGED => {
            // `months` as the availability domain records it (a range may span several).
            let months: Vec<String> = match p.get("months").and_then(Value::as_array) {
                Some(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|m| month(l, m))
                    .collect(),
                None => s(p, "month").map(|m| month(l, m)).into_iter().collect(),
            };
            let m = (!months.is_empty()).then(|| months.join(", "));
            Content {
                title: if fr {
                    "Disponibilités modifiées"
                } else {
                    "Availability changed"
                }
                .into(),
                body: match (fr, m) {
                    (true, Some(m)) => format!("{member} a modifié ses indisponibilités de {m}."),
                    (true, None) => format!("{member} a modifié ses indisponibilités."),
                    (false, Some(m)) => format!("{member} changed their blockouts for {m}."),
                    (false, None) => format!("{member} changed their blockouts."),
                },
                link: Some(format!("/{}/dashboard/availability", l.as_str())),
                data: with_user(ids(e, &["month", "months", "change"]), e.user),
            }
        }
        INVITATION_ACCEPTED => {
            let who = s(p, "memberName").or(s(p, "email")).unwrap_or(if fr {
                "Une personne"
            } else {
                "Someone"
            });
            Content {
                title: if fr {
                    "Invitation acceptée"
                } else {
                    "Invitation accepted"
                }
                .into(),
                body: if fr {
                    format!("{who} a rejoint {dept}.")
                } else {
                    format!("{who} joined {dept}.")
                },
                link: e
                    .department
                    .map(|d| format!("/{}/dashboard/departments/{d}", l.as_str())),
                data: with_user(ids(e, &["invitationId"]), e.actor),
            }
        }
        ANNOUNCEMENT_POSTED => {
            let title = s(p, "title").unwrap_or(if fr { "Annonce" } else { "Announcement" });
            let mut data = ids(e, &["announcementId"]);
            if let (Some(o), Some(a)) = (data.as_object_mut(), e.actor) {
                o.insert("authorId".into(), json!(a));
            }
            Content {
                title: if fr {
                    format!("{dept} : {title}")
                } else {
                    format!("{dept}: {title}")
                },
                body: excerpt(s(p, "body").unwrap_or(""), ANNOUNCEMENT_EXCERPT_CHARS),
                link: e
                    .department
                    .map(|d| format!("/{}/dashboard/departments/{d}/announcements", l.as_str())),
                data,
            }
        }
        AVAILABILITY_REMINDER => {
            let m = month(l, s(p, "month").unwrap_or(""));
            let deadline = s(p, "deadline").map(|d| date(l, d));
            let left = p.get("daysLeft").and_then(Value::as_i64);
            let left = match (fr, left) {
                (_, None) => String::new(),
                (true, Some(0)) => " (dernier jour)".into(),
                (true, Some(1)) => " (encore 1 jour)".into(),
                (true, Some(n)) => format!(" (encore {n} jours)"),
                (false, Some(0)) => " (last day)".into(),
                (false, Some(1)) => " (1 day left)".into(),
                (false, Some(n)) => format!(" ({n} days left)"),
            };
            Content {
                title: if fr {
                    format!("Saisissez vos indisponibilités de {m}")
                } else {
                    format!("Enter your unavailabilities for {m}")
                },
                body: match (fr, deadline) {
                    (true, Some(d)) => format!(
                        "{dept} : saisissez vos indisponibilités de {m} d'ici le {d} inclus{left}."
                    ),
                    (true, None) => format!("{dept} : saisissez vos indisponibilités de {m}."),
                    (false, Some(d)) => {
                        format!("{dept}: enter your unavailabilities for {m} by {d}{left}.")
                    }
                    (false, None) => format!("{dept}: enter your unavailabilities for {m}."),
                },
                link: Some(format!("/{}/dashboard/availability", l.as_str())),
                data: ids(e, &["month", "deadline", "daysLeft", "manual"]),
            }
        }
        SERVICE_REMINDER => reminder(e, l),
        _ => return None,
    };
    Some(c)
}

/// The first `max` characters of `text`, cut at a word when one ends near, with `…` when cut.
fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let at_word = match cut.rfind(char::is_whitespace) {
        Some(i) if cut[..i].chars().count() >= max * 3 / 4 => cut[..i].trim_end(),
        _ => cut.trim_end(),
    };
    format!("{at_word}…")
}

/// A reminder before a service: when, where, as what, and how to dress when the service says.
fn reminder(e: &DomainEvent, l: Locale) -> Content {
    let p = &e.payload;
    let fr = l == Locale::Fr;
    let name = s(p, "serviceName").unwrap_or("Service");
    let day = s(p, "date").map(|d| date(l, d)).unwrap_or_default();
    let time = match (s(p, "startTime"), s(p, "endTime")) {
        (Some(a), Some(b)) => format!("{a}–{b}"),
        (Some(a), None) => a.to_string(),
        _ => String::new(),
    };
    let mut body = match s(p, "departmentName") {
        Some(d) if fr => format!("{d} : {name}"),
        Some(d) => format!("{d}: {name}"),
        None => name.to_string(),
    };
    if !day.is_empty() {
        body.push_str(if fr { " le " } else { " on " });
        body.push_str(&day);
    }
    if !time.is_empty() {
        body.push_str(", ");
        body.push_str(&time);
    }
    if let Some(loc) = s(p, "location") {
        body.push_str(if fr { ", lieu : " } else { ", at " });
        body.push_str(loc);
    }
    body.push('.');
    if let Some(r) = s(p, "role") {
        body.push_str(&if fr {
            format!(" Rôle : {r}.")
        } else {
            format!(" Role: {r}.")
        });
    }
    if let Some(dc) = s(p, "dressCode") {
        body.push_str(&if fr {
            format!(" Tenue : {dc}.")
        } else {
            format!(" Dress code: {dc}.")
        });
    }
    let at = s(p, "startTime")
        .map(|t| {
            if fr {
                format!(" à {t}")
            } else {
                format!(" at {t}")
            }
        })
        .unwrap_or_default();
    Content {
        title: if fr {
            format!("Rappel : {name} le {day}{at}")
        } else {
            format!("Reminder: {name} on {day}{at}")
        },
        body,
        link: planning_link(l, p).or_else(|| Some(format!("/{}/dashboard/me", l.as_str()))),
        data: ids(
            e,
            &[
                "planningId",
                "assignmentId",
                "serviceId",
                "date",
                "startTime",
                "hoursBefore",
            ],
        ),
    }
}

fn with_user(mut data: Value, user: Option<UserId>) -> Value {
    if let (Some(o), Some(u)) = (data.as_object_mut(), user) {
        o.insert("memberId".into(), json!(u));
    }
    data
}

/// The notifications a batch of events produces. `r.leaders` lists each department's active
/// leaders (its church's administrators are told when it has none); `r.locales` the language
/// of every user who may receive one — a recipient missing from it (their account was deleted meanwhile) gets nothing. The author of an event is never
/// told of it, and nobody is told twice of one event.
pub fn plan(events: &[PendingEvent], r: &Recipients) -> Vec<NewNotification> {
    let (leaders, locales) = (&r.leaders, &r.locales);
    let mut out = Vec::new();
    for pe in events {
        let e = &pe.event;
        let mut to: Vec<UserId> = match audience(e) {
            Audience::Nobody => continue,
            Audience::User(u) => vec![u],
            // A department without a leader is run by the church's administrators.
            Audience::Leaders(d) => match leaders.get(&(e.organization, d)) {
                Some(l) if !l.is_empty() => l.clone(),
                _ => r.admins.get(&e.organization).cloned().unwrap_or_default(),
            },
            Audience::Members(d) => r
                .members
                .get(&(e.organization, d))
                .cloned()
                .unwrap_or_default(),
        };
        // A leader who declines their own assignment is not told about it.
        if matches!(audience(e), Audience::Leaders(_) | Audience::Members(_)) {
            to.retain(|u| Some(*u) != e.actor && Some(*u) != e.user);
        } else {
            to.retain(|u| Some(*u) != e.actor || e.kind == ROTA_PUBLISHED);
        }
        to.sort();
        to.dedup();
        for u in to {
            let Some(&l) = locales.get(&u) else { continue };
            let Some(c) = render(e, l) else { continue };
            out.push(NewNotification {
                organization: e.organization,
                user: u,
                event: Some(pe.id),
                kind: e.kind.clone(),
                title: c.title,
                body: c.body,
                link: c.link,
                data: c.data,
            });
        }
    }
    out
}

/// A department of a church.
pub type DeptKey = (OrganizationId, DepartmentId);

/// The users [`plan`] may need the language of, and the departments whose leaders it needs.
pub fn wanted(events: &[PendingEvent]) -> (Vec<(OrganizationId, UserId)>, Vec<DeptKey>) {
    let mut users = Vec::new();
    let mut depts = Vec::new();
    for pe in events {
        match audience(&pe.event) {
            Audience::Nobody => {}
            Audience::User(u) => users.push((pe.event.organization, u)),
            Audience::Leaders(d) | Audience::Members(d) => depts.push((pe.event.organization, d)),
        }
    }
    users.sort();
    users.dedup();
    depts.sort();
    depts.dedup();
    (users, depts)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::collections::HashMap;
    use uuid::Uuid;

    const BOTH: [Locale; 2] = [Locale::Fr, Locale::En];

    fn org() -> OrganizationId {
        OrganizationId(Uuid::from_u128(1))
    }
    fn dept() -> DepartmentId {
        DepartmentId(Uuid::from_u128(2))
    }
    fn leader() -> UserId {
        UserId(Uuid::from_u128(10))
    }
    fn member() -> UserId {
        UserId(Uuid::from_u128(11))
    }
    fn inviter() -> UserId {
        UserId(Uuid::from_u128(12))
    }
    const PLANNING: &str = "01900000-0000-7000-8000-000000000099";

    fn assignment() -> Value {
        json!({
            "assignmentId": "a1", "serviceId": "s1", "serviceName": "Culte",
            "date": "2026-12-06", "startTime": "10:00", "endTime": "12:00",
            "location": null, "role": "basse", "planningId": PLANNING,
            "departmentName": "Louange", "memberName": "Marie Dupont",
        })
    }

    fn reminder_payload() -> Value {
        json!({
            "assignmentId": "a1", "serviceId": "s1", "planningId": PLANNING,
            "serviceName": "Culte", "date": "2026-12-06", "startTime": "10:00",
            "endTime": "12:00", "location": "Grande salle", "role": "basse",
            "hoursBefore": 24, "departmentName": "Louange",
        })
    }

    /// One event of each kind that notifies someone, as the domains record them.
    fn events() -> Vec<DomainEvent> {
        let e = |k: &str| DomainEvent::new(org(), k).department(dept());
        let mut changed = assignment();
        changed["previous"] = json!({"serviceName": "Culte", "date": "2026-12-13", "startTime": "10:00", "role": "basse"});
        let mut declined = assignment();
        declined["reason"] = json!("En vacances");
        vec![
            e(ROTA_PUBLISHED)
                .actor(leader())
                .user(member())
                .payload(json!({
                    "planningId": PLANNING, "departmentName": "Louange", "month": "2026-12",
                    "assignments": [assignment(), assignment()],
                })),
            e(ASSIGNMENT_ADDED)
                .actor(leader())
                .user(member())
                .payload(assignment()),
            e(ASSIGNMENT_CHANGED)
                .actor(leader())
                .user(member())
                .payload(changed),
            e(ASSIGNMENT_REMOVED)
                .actor(leader())
                .user(member())
                .payload(assignment()),
            e(ASSIGNMENT_CONFIRMED)
                .actor(member())
                .user(member())
                .payload(assignment()),
            e(ASSIGNMENT_DECLINED)
                .actor(member())
                .user(member())
                .payload(declined),
            e(MEMBER_LEFT)
                .user(member())
                .payload(json!({"flaggedAssignments": 3})),
            e(AVAILABILITY_CHANGED)
                .actor(member())
                .user(member())
                .payload(json!({"month": "2026-12", "memberName": "Marie Dupont"})),
            e(INVITATION_ACCEPTED)
                .actor(member())
                .user(inviter())
                .payload(json!({
                    "invitationId": "i1", "departmentName": "Louange", "email": "marie@example.org",
                })),
            e(SERVICE_REMINDER)
                .user(member())
                .payload(reminder_payload()),
        ]
    }

    fn pending(list: Vec<DomainEvent>) -> Vec<PendingEvent> {
        list.into_iter()
            .enumerate()
            .map(|(i, event)| PendingEvent {
                id: Uuid::from_u128(1000 + i as u128),
                event,
            })
            .collect()
    }

    fn everyone(l: Locale) -> HashMap<UserId, Locale> {
        [leader(), member(), inviter()]
            .into_iter()
            .map(|u| (u, l))
            .collect()
    }

    fn leaders() -> HashMap<(OrganizationId, DepartmentId), Vec<UserId>> {
        HashMap::from([((org(), dept()), vec![leader()])])
    }

    fn recipients(
        leaders: HashMap<(OrganizationId, DepartmentId), Vec<UserId>>,
        locales: HashMap<UserId, Locale>,
    ) -> Recipients {
        Recipients {
            leaders,
            locales,
            ..Recipients::default()
        }
    }

    #[test]
    fn every_kind_has_its_audience() {
        let want = [
            Audience::User(member()),
            Audience::User(member()),
            Audience::User(member()),
            Audience::User(member()),
            Audience::Leaders(dept()),
            Audience::Leaders(dept()),
            Audience::Leaders(dept()),
            Audience::Leaders(dept()),
            Audience::User(inviter()),
            Audience::User(member()),
        ];
        let got: Vec<_> = events().iter().map(audience).collect();
        assert_eq!(got, want);
        let kinds: Vec<_> = events().iter().map(|e| e.kind.clone()).collect();
        let mut expected = KINDS[..9].to_vec();
        expected.push(SERVICE_REMINDER);
        assert_eq!(kinds, expected);
    }

    #[test]
    fn every_kind_renders_in_both_languages_with_link_and_ids() {
        for e in events() {
            let fr = render(&e, Locale::Fr).expect(&e.kind);
            let en = render(&e, Locale::En).expect(&e.kind);
            assert_ne!(fr.title, en.title, "{}", e.kind);
            assert_ne!(fr.body, en.body, "{}", e.kind);
            for (c, l) in [(&fr, "fr"), (&en, "en")] {
                assert!(!c.title.is_empty() && !c.body.is_empty(), "{}", e.kind);
                let link = c.link.as_deref().expect("a link");
                assert!(link.starts_with(&format!("/{l}/dashboard/")), "{link}");
                assert_eq!(c.data["departmentId"], json!(dept()), "{}", e.kind);
            }
            assert_eq!(fr.data, en.data, "the ids do not depend on the language");
        }
    }

    #[test]
    fn published_says_how_often_and_links_the_planning() {
        let e = &events()[0];
        let fr = render(e, Locale::Fr).unwrap();
        let en = render(e, Locale::En).unwrap();
        assert_eq!(fr.title, "Planning de décembre 2026 publié");
        assert_eq!(fr.body, "Louange : vous servez 2 fois en décembre 2026.");
        assert_eq!(en.title, "December 2026 rota published");
        assert_eq!(en.body, "Louange: you serve 2 times in December 2026.");
        assert_eq!(
            fr.link.unwrap(),
            format!("/fr/dashboard/plannings/{PLANNING}")
        );
        assert_eq!(
            en.link.unwrap(),
            format!("/en/dashboard/plannings/{PLANNING}")
        );
        assert_eq!(fr.data["planningId"], json!(PLANNING));
        assert_eq!(fr.data["assignmentIds"], json!(["a1", "a1"]));
    }

    #[test]
    fn assignment_texts_name_the_service_date_time_and_role() {
        let ev = events();
        let added = render(&ev[1], Locale::Fr).unwrap();
        assert_eq!(
            added.body,
            "Louange : vous servez au Culte du 06/12/2026 à 10:00 (basse)."
        );
        let added = render(&ev[1], Locale::En).unwrap();
        assert_eq!(
            added.body,
            "Louange: you serve at Culte on 6 December 2026 at 10:00 (basse)."
        );
        let changed = render(&ev[2], Locale::Fr).unwrap();
        assert!(
            changed.body.contains("au lieu du Culte du 13/12/2026"),
            "{}",
            changed.body
        );
        let changed = render(&ev[2], Locale::En).unwrap();
        assert!(
            changed
                .body
                .contains("instead of Culte on 13 December 2026"),
            "{}",
            changed.body
        );
        let removed = render(&ev[3], Locale::En).unwrap();
        assert_eq!(
            removed.body,
            "Louange: you no longer serve at Culte on 6 December 2026 at 10:00 (basse)."
        );
        assert_eq!(
            render(&ev[1], Locale::En).unwrap().data["assignmentId"],
            json!("a1")
        );
    }

    #[test]
    fn leaders_read_the_reason_of_a_decline() {
        let e = &events()[5];
        let fr = render(e, Locale::Fr).unwrap();
        let en = render(e, Locale::En).unwrap();
        assert_eq!(
            fr.body,
            "Marie Dupont décline le Culte du 06/12/2026 à 10:00 (basse) : « En vacances »"
        );
        assert_eq!(
            en.body,
            "Marie Dupont declined Culte on 6 December 2026 at 10:00 (basse): \"En vacances\""
        );
        assert_eq!(fr.data["reason"], json!("En vacances"));
        assert_eq!(fr.data["memberId"], json!(member()));
        let mut no_reason = e.clone();
        no_reason.payload["reason"] = Value::Null;
        assert!(
            render(&no_reason, Locale::Fr)
                .unwrap()
                .body
                .ends_with("(sans motif).")
        );
        assert!(
            render(&no_reason, Locale::En)
                .unwrap()
                .body
                .ends_with("(no reason given).")
        );
    }

    #[test]
    fn member_left_availability_and_invitation_texts() {
        let ev = events();
        assert!(
            render(&ev[6], Locale::Fr)
                .unwrap()
                .body
                .contains("3 affectations")
        );
        assert!(
            render(&ev[6], Locale::En)
                .unwrap()
                .body
                .contains("3 assignments")
        );
        assert_eq!(
            render(&ev[7], Locale::Fr).unwrap().body,
            "Marie Dupont a modifié ses indisponibilités de décembre 2026."
        );
        assert_eq!(
            render(&ev[7], Locale::En).unwrap().body,
            "Marie Dupont changed their blockouts for December 2026."
        );
        let inv = render(&ev[8], Locale::En).unwrap();
        assert_eq!(inv.body, "marie@example.org joined Louange.");
        assert_eq!(inv.data["invitationId"], json!("i1"));
        assert_eq!(inv.data["memberId"], json!(member()));
        assert_eq!(
            render(&ev[8], Locale::Fr).unwrap().body,
            "marie@example.org a rejoint Louange."
        );
    }

    #[test]
    fn availability_lists_the_months_as_recorded() {
        let e = DomainEvent::new(org(), AVAILABILITY_CHANGED)
            .department(dept())
            .actor(member())
            .user(member())
            .payload(
                json!({"change": "range", "action": "added", "months": ["2026-12", "2027-01"]}),
            );
        let fr = render(&e, Locale::Fr).unwrap();
        assert_eq!(
            fr.body,
            "Un membre a modifié ses indisponibilités de décembre 2026, janvier 2027."
        );
        let en = render(&e, Locale::En).unwrap();
        assert_eq!(
            en.body,
            "A member changed their blockouts for December 2026, January 2027."
        );
        assert_eq!(en.data["months"], json!(["2026-12", "2027-01"]));
        assert_eq!(en.data["memberId"], json!(member()));
    }

    #[test]
    fn other_kinds_notify_nobody() {
        for k in [
            "rota.unpublished",
            "service.created",
            "service.updated",
            "service.deleted",
            "x.unknown",
        ] {
            let e = DomainEvent::new(org(), k).department(dept()).user(member());
            assert_eq!(audience(&e), Audience::Nobody, "{k}");
            assert_eq!(render(&e, Locale::Fr), None, "{k}");
        }
        // A kind that needs a recipient the event lacks.
        let e = DomainEvent::new(org(), ROTA_PUBLISHED).department(dept());
        assert_eq!(audience(&e), Audience::Nobody);
        let e = DomainEvent::new(org(), ASSIGNMENT_DECLINED).user(member());
        assert_eq!(audience(&e), Audience::Nobody);
    }

    #[test]
    fn plan_sends_each_to_the_right_people_in_their_language() {
        for l in BOTH {
            let notes = plan(&pending(events()), &recipients(leaders(), everyone(l)));
            let who: Vec<(String, UserId)> =
                notes.iter().map(|n| (n.kind.clone(), n.user)).collect();
            assert_eq!(
                who,
                vec![
                    (ROTA_PUBLISHED.into(), member()),
                    (ASSIGNMENT_ADDED.into(), member()),
                    (ASSIGNMENT_CHANGED.into(), member()),
                    (ASSIGNMENT_REMOVED.into(), member()),
                    (ASSIGNMENT_CONFIRMED.into(), leader()),
                    (ASSIGNMENT_DECLINED.into(), leader()),
                    (MEMBER_LEFT.into(), leader()),
                    (AVAILABILITY_CHANGED.into(), leader()),
                    (INVITATION_ACCEPTED.into(), inviter()),
                    (SERVICE_REMINDER.into(), member()),
                ]
            );
            for (i, n) in notes.iter().enumerate() {
                assert_eq!(n.event, Some(Uuid::from_u128(1000 + i as u128)));
                assert_eq!(n.organization, org());
                assert!(
                    n.link
                        .as_deref()
                        .unwrap()
                        .starts_with(&format!("/{}/", l.as_str()))
                );
            }
        }
    }

    #[test]
    fn nobody_is_told_of_their_own_action_nor_twice() {
        // The member who declines is also a leader of the department, with another leader.
        let other = UserId(Uuid::from_u128(13));
        let l = HashMap::from([((org(), dept()), vec![member(), other, other])]);
        let ev = pending(vec![events()[5].clone()]);
        let locales = everyone(Locale::Fr)
            .into_iter()
            .chain([(other, Locale::En)])
            .collect();
        let notes = plan(&ev, &recipients(l, locales));
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].user, other);
        assert!(notes[0].title.contains("declined"));
        // A leader who adds themself to a rota is not told; publishing tells them still.
        let mut own = events()[1].clone();
        own.user = Some(leader());
        let mut own_pub = events()[0].clone();
        own_pub.user = Some(leader());
        let notes = plan(
            &pending(vec![own, own_pub]),
            &recipients(leaders(), everyone(Locale::Fr)),
        );
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].kind, ROTA_PUBLISHED);
    }

    #[test]
    fn deleted_accounts_and_departments_without_leaders_get_nothing() {
        let locales = HashMap::from([(leader(), Locale::Fr)]);
        let notes = plan(&pending(events()), &recipients(HashMap::new(), locales));
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn the_administrators_hear_for_a_department_without_leader() {
        let admin = UserId(Uuid::from_u128(20));
        let mut r = recipients(HashMap::new(), everyone(Locale::En));
        r.locales.insert(admin, Locale::En);
        r.admins.insert(org(), vec![admin]);
        let notes = plan(&pending(vec![events()[5].clone()]), &r);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].user, admin);
        // With a leader, the leader only.
        r.leaders = leaders();
        let notes = plan(&pending(vec![events()[5].clone()]), &r);
        assert_eq!(
            notes.iter().map(|n| n.user).collect::<Vec<_>>(),
            vec![leader()]
        );
    }

    #[test]
    fn wanted_lists_users_and_departments_once() {
        let (users, depts) = wanted(&pending(events()));
        assert_eq!(users, vec![(org(), member()), (org(), inviter())]);
        assert_eq!(depts, vec![(org(), dept())]);
    }

    fn announcement(body: &str) -> DomainEvent {
        DomainEvent::new(org(), ANNOUNCEMENT_POSTED)
            .department(dept())
            .actor(leader())
            .payload(json!({
                "announcementId": "an1", "title": "Répétition samedi", "body": body,
                "departmentName": "Louange", "authorName": "Léa Chef",
            }))
    }

    fn chase(days_left: i64) -> DomainEvent {
        DomainEvent::new(org(), AVAILABILITY_REMINDER)
            .department(dept())
            .user(member())
            .payload(json!({
                "month": "2026-12", "deadline": "2026-11-24", "daysLeft": days_left,
                "manual": false, "departmentName": "Louange",
            }))
    }

    #[test]
    fn the_later_kinds_are_known_and_render_in_both_languages() {
        assert_eq!(
            KINDS[9..],
            [ANNOUNCEMENT_POSTED, AVAILABILITY_REMINDER, SERVICE_REMINDER]
        );
        assert_eq!(audience(&announcement("x")), Audience::Members(dept()));
        assert_eq!(audience(&chase(7)), Audience::User(member()));
        for e in [announcement("Samedi 10h"), chase(7)] {
            let fr = render(&e, Locale::Fr).unwrap();
            let en = render(&e, Locale::En).unwrap();
            assert_ne!(fr.title, en.title, "{}", e.kind);
            for (c, l) in [(&fr, "fr"), (&en, "en")] {
                let link = c.link.as_deref().unwrap();
                assert!(link.starts_with(&format!("/{l}/dashboard/")), "{link}");
                assert_eq!(c.data["departmentId"], json!(dept()));
            }
            assert_eq!(fr.data, en.data);
        }
        // Without a department an announcement reaches nobody.
        let mut lost = announcement("x");
        lost.department = None;
        assert_eq!(audience(&lost), Audience::Nobody);
    }

    #[test]
    fn an_announcement_carries_its_title_and_the_start_of_its_message() {
        let fr = render(&announcement("Samedi 10h, salle B."), Locale::Fr).unwrap();
        assert_eq!(fr.title, "Louange : Répétition samedi");
        assert_eq!(fr.body, "Samedi 10h, salle B.");
        assert_eq!(
            fr.link.unwrap(),
            format!("/fr/dashboard/departments/{}/announcements", dept())
        );
        assert_eq!(fr.data["announcementId"], json!("an1"));
        assert_eq!(fr.data["authorId"], json!(leader()));
        let long = "mot ".repeat(200);
        let en = render(&announcement(&long), Locale::En).unwrap();
        assert_eq!(en.title, "Louange: Répétition samedi");
        assert!(en.body.ends_with('…'), "{}", en.body);
        assert!(en.body.chars().count() <= ANNOUNCEMENT_EXCERPT_CHARS);
        assert!(en.body.chars().count() > ANNOUNCEMENT_EXCERPT_CHARS * 3 / 4);
        assert!(en.body.ends_with("mot…"), "cut at a word: {}", en.body);
        let unbroken = "x".repeat(400);
        let en = render(&announcement(&unbroken), Locale::En).unwrap();
        assert_eq!(en.body.chars().count(), ANNOUNCEMENT_EXCERPT_CHARS);
    }

    #[test]
    fn an_announcement_goes_to_every_member_but_its_author() {
        let other = UserId(Uuid::from_u128(14));
        let mut r = recipients(leaders(), everyone(Locale::En));
        r.locales.insert(other, Locale::Fr);
        r.members
            .insert((org(), dept()), vec![leader(), member(), other, inviter()]);
        let notes = plan(&pending(vec![announcement("Bonjour")]), &r);
        let who: Vec<_> = notes.iter().map(|n| n.user).collect();
        assert_eq!(who, vec![member(), inviter(), other]);
        assert!(notes.iter().all(|n| n.kind == ANNOUNCEMENT_POSTED));
        assert!(notes[2].title.starts_with("Louange : "), "in French for Fr");
        let (users, depts) = wanted(&pending(vec![announcement("x")]));
        assert!(users.is_empty());
        assert_eq!(depts, vec![(org(), dept())]);
    }

    #[test]
    fn a_chaser_names_the_month_and_the_deadline() {
        let fr = render(&chase(7), Locale::Fr).unwrap();
        let en = render(&chase(7), Locale::En).unwrap();
        assert_eq!(fr.title, "Saisissez vos indisponibilités de décembre 2026");
        assert_eq!(
            fr.body,
            "Louange : saisissez vos indisponibilités de décembre 2026 d'ici le 24/11/2026 inclus (encore 7 jours)."
        );
        assert_eq!(en.title, "Enter your unavailabilities for December 2026");
        assert_eq!(
            en.body,
            "Louange: enter your unavailabilities for December 2026 by 24 November 2026 (7 days left)."
        );
        assert_eq!(en.link.unwrap(), "/en/dashboard/availability");
        assert_eq!(en.data["month"], json!("2026-12"));
        assert_eq!(en.data["daysLeft"], json!(7));
        assert_eq!(en.data["manual"], json!(false));
        assert!(
            render(&chase(1), Locale::En)
                .unwrap()
                .body
                .contains("(1 day left)")
        );
        assert!(
            render(&chase(1), Locale::Fr)
                .unwrap()
                .body
                .contains("(encore 1 jour)")
        );
        assert!(
            render(&chase(0), Locale::En)
                .unwrap()
                .body
                .contains("(last day)")
        );
        let notes = plan(
            &pending(vec![chase(1)]),
            &recipients(leaders(), everyone(Locale::Fr)),
        );
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].user, member());
    }

    #[test]
    fn a_reminder_says_when_where_and_as_what() {
        let e = &events()[9];
        let fr = render(e, Locale::Fr).unwrap();
        let en = render(e, Locale::En).unwrap();
        assert_eq!(fr.title, "Rappel : Culte le 06/12/2026 à 10:00");
        assert_eq!(
            fr.body,
            "Louange : Culte le 06/12/2026, 10:00–12:00, lieu : Grande salle. Rôle : basse."
        );
        assert_eq!(en.title, "Reminder: Culte on 6 December 2026 at 10:00");
        assert_eq!(
            en.body,
            "Louange: Culte on 6 December 2026, 10:00–12:00, at Grande salle. Role: basse."
        );
        assert_eq!(
            fr.link.as_deref(),
            Some(format!("/fr/dashboard/plannings/{PLANNING}").as_str())
        );
        assert_eq!(fr.data["assignmentId"], "a1");
        assert_eq!(fr.data["serviceId"], "s1");
        assert_eq!(fr.data["hoursBefore"], 24);
        // A dress code, when the service has one; no place, no planning.
        let mut p = reminder_payload();
        p["dressCode"] = json!("noir");
        p["location"] = Value::Null;
        p["planningId"] = Value::Null;
        let e = DomainEvent::new(org(), SERVICE_REMINDER)
            .department(dept())
            .user(member())
            .payload(p);
        let fr = render(&e, Locale::Fr).unwrap();
        assert!(
            fr.body.ends_with("Rôle : basse. Tenue : noir."),
            "{}",
            fr.body
        );
        assert!(!fr.body.contains("lieu"), "{}", fr.body);
        assert_eq!(fr.link.as_deref(), Some("/fr/dashboard/me"));
        let en = render(&e, Locale::En).unwrap();
        assert!(en.body.ends_with("Dress code: noir."), "{}", en.body);
        // A reminder is for its member even without an actor, and never for someone else.
        assert_eq!(audience(&e), Audience::User(member()));
    }

    #[test]
    fn months_and_dates_render_or_fall_back() {
        assert_eq!(month(Locale::Fr, "2026-02"), "février 2026");
        assert_eq!(month(Locale::En, "2026-02"), "February 2026");
        assert_eq!(month(Locale::En, "2026-13"), "2026-13");
        assert_eq!(month(Locale::En, "nonsense"), "nonsense");
        assert_eq!(date(Locale::Fr, "2026-02-01"), "01/02/2026");
        assert_eq!(date(Locale::En, "bad"), "bad");
    }
}
