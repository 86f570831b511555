//! iCalendar (RFC 5545) documents: a rota (one event per service) and a member's personal
//! feed (one event per assignment).
//!
//! **Times are written in UTC** (`DTSTART:20261206T090000Z`, RFC 5545 §3.3.5 form #2),
//! converted from the service's wall-clock time in the church's IANA zone. A UTC time is an
//! absolute instant that needs no `VTIMEZONE`; every calendar application (Google, Apple,
//! Outlook, Thunderbird…) shows it in its user's own zone, so a service at 10:00 in Paris
//! shows at 10:00 for a member in Paris and at 04:00 for one in New York, which is right.
//! The alternative, `TZID=Europe/Paris` with a `VTIMEZONE`, requires writing the zone's
//! daylight-saving rules into every file (the RFC makes the `VTIMEZONE` mandatory for each
//! `TZID`), and Outlook ignores IANA names it cannot map; an error there shifts every
//! service by an hour. The one cost of UTC, that a change of a country's DST law after the
//! export would not be followed, does not matter for a month's rota, and the subscription
//! feed is recomputed at each fetch anyway.
//!
//! UIDs are stable: `<serviceId>@monservice` for a rota's event, `<assignmentId>@monservice`
//! for a feed's, so importing a rota again updates its events instead of duplicating them.

use crate::labels::Labels;
use crate::time::{span, zone};
use accounts::Locale;
use chrono::{DateTime, TimeDelta, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus};
use kernel::{AssignmentId, ServiceId};
use rota::{AssignmentStatus, MonthData, MyAssignment, ServiceInfo};

/// The domain part of every UID.
pub const UID_DOMAIN: &str = "monservice";

/// How often a subscribed calendar should fetch the feed again (`REFRESH-INTERVAL`, RFC 7986,
/// and the older `X-PUBLISHED-TTL`).
pub const FEED_REFRESH: TimeDelta = TimeDelta::hours(1);

pub fn service_uid(id: ServiceId) -> String {
    format!("{id}@{UID_DOMAIN}")
}

pub fn assignment_uid(id: AssignmentId) -> String {
    format!("{id}@{UID_DOMAIN}")
}

fn calendar(name: &str, locale: Locale) -> Calendar {
    let mut cal = Calendar::empty();
    cal.append_property(("VERSION", "2.0"));
    cal.append_property((
        "PRODID",
        match locale {
            Locale::Fr => "-//MonService//Planning//FR",
            Locale::En => "-//MonService//Rota//EN",
        },
    ));
    cal.append_property(("CALSCALE", "GREGORIAN"));
    cal.append_property(("METHOD", "PUBLISH"));
    cal.name(name);
    cal
}

/// The roles a service needs, then any other role someone holds there (forced in), each with
/// the names of those who hold the slot (a declined assignment leaves it open).
pub(crate) fn roles_of<'a>(
    data: &'a MonthData,
    s: &'a ServiceInfo,
) -> Vec<(String, Vec<String>, u32)> {
    let mut roles: Vec<(String, Vec<String>, u32)> = s
        .required_roles
        .iter()
        .map(|r| (r.role.clone(), Vec::new(), r.count))
        .collect();
    for a in data
        .assignments
        .iter()
        .filter(|a| a.service == s.id && a.holds_slot())
    {
        let name = data.name_of(a.user);
        match roles
            .iter_mut()
            .find(|(r, _, _)| r.eq_ignore_ascii_case(&a.role))
        {
            Some((_, names, _)) => names.push(name),
            None => roles.push((a.role.clone(), vec![name], 0)),
        }
    }
    roles
}

/// "vocals: Alice Martin, Bob Durand" lines, an open slot said as such.
fn description(data: &MonthData, s: &ServiceInfo, l: &Labels) -> String {
    roles_of(data, s)
        .into_iter()
        .map(|(role, names, needed)| {
            let missing = needed.saturating_sub(u32::try_from(names.len()).unwrap_or(u32::MAX));
            let mut parts = names;
            if missing > 0 {
                parts.push(format!("({})", l.open_slots(missing)));
            }
            format!("{role}: {}", parts.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The rota as a calendar: one event per service, in the church's zone, with each role and
/// who holds it. `DTSTAMP` is the planning's last change, so two exports of an unchanged rota
/// are identical.
pub fn rota_calendar(data: &MonthData, locale: Locale) -> String {
    let l = Labels::of(locale);
    let p = &data.planning;
    let tz = zone(&data.timezone);
    let mut cal = calendar(
        &format!(
            "{} – {}",
            data.department_name,
            l.month_year(p.month.year(), p.month.month())
        ),
        locale,
    );
    let status = if p.status.is_public() {
        EventStatus::Confirmed
    } else {
        EventStatus::Tentative
    };
    for s in &data.services {
        let (start, end) = span(tz, s.date, s.start, s.end);
        let mut e = Event::new();
        e.uid(&service_uid(s.id))
            .timestamp(p.updated_at)
            .summary(&format!("{} – {}", s.name, data.department_name))
            .description(&description(data, s, l))
            .starts(start)
            .ends(end)
            .status(status);
        if let Some(loc) = s.location.as_deref().filter(|x| !x.trim().is_empty()) {
            e.location(loc);
        }
        cal.push(e.done());
    }
    cal.done().to_string()
}

/// A member's personal feed: one event per assignment (declined ones left out), in their
/// church's zone, confirmed or tentative as they answered.
pub fn feed_calendar(
    assignments: &[MyAssignment],
    timezone: &str,
    locale: Locale,
    now: DateTime<Utc>,
) -> String {
    let l = Labels::of(locale);
    let tz = zone(timezone);
    let mut cal = calendar(&format!("MonService – {}", l.my_services), locale);
    cal.ttl(&FEED_REFRESH);
    for m in assignments
        .iter()
        .filter(|m| m.assignment.status != AssignmentStatus::Declined)
    {
        let s = &m.service;
        let a = &m.assignment;
        let (start, end) = span(tz, s.date, s.start, s.end);
        let status = match a.status {
            AssignmentStatus::Confirmed => EventStatus::Confirmed,
            _ => EventStatus::Tentative,
        };
        let mut e = Event::new();
        e.uid(&assignment_uid(a.id))
            .timestamp(now)
            .summary(&format!("{} – {}", a.role, s.name))
            .description(&format!(
                "{}: {}\n{}: {}\n{}: {}",
                l.department,
                m.department_name,
                l.role,
                a.role,
                l.status,
                l.answer(a.status)
            ))
            .starts(start)
            .ends(end)
            .status(status);
        if let Some(loc) = s.location.as_deref().filter(|x| !x.trim().is_empty()) {
            e.location(loc);
        }
        cal.push(e.done());
    }
    cal.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{month, my};

    fn parse(text: &str) -> ical::parser::ical::component::IcalCalendar {
        let mut p = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
        let cal = p.next().expect("one calendar").expect("parses");
        assert!(p.next().is_none());
        cal
    }

    fn prop<'a>(props: &'a [ical::property::Property], name: &str) -> Option<&'a str> {
        props
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.as_deref())
    }

    #[test]
    fn a_rota_is_one_event_per_service_in_utc() {
        let data = month("America/New_York", rota::PlanningStatus::Published);
        let text = rota_calendar(&data, Locale::Fr);
        assert!(text.contains("\r\n"), "CRLF line ends");
        assert!(text.lines().all(|l| l.trim_end_matches('\r').len() <= 75));
        let cal = parse(&text);
        assert_eq!(prop(&cal.properties, "VERSION"), Some("2.0"));
        assert_eq!(
            prop(&cal.properties, "X-WR-CALNAME"),
            Some("Louange – janvier 2030")
        );
        assert_eq!(cal.events.len(), 2);
        let e = &cal.events[0].properties;
        assert_eq!(
            prop(e, "UID"),
            Some(service_uid(data.services[0].id).as_str())
        );
        // 10:00 EST is 15:00 UTC.
        assert_eq!(prop(e, "DTSTART"), Some("20300106T150000Z"));
        assert_eq!(prop(e, "DTEND"), Some("20300106T170000Z"));
        assert_eq!(prop(e, "SUMMARY"), Some("Culte – Louange"));
        assert_eq!(prop(e, "LOCATION"), Some("Grande salle\\, 1er étage"));
        assert_eq!(prop(e, "STATUS"), Some("CONFIRMED"));
        let d = prop(e, "DESCRIPTION").unwrap();
        assert_eq!(
            d,
            "vocals: Élise Lefèvre\\, François Cœur\\nbass: (1 à pourvoir)"
        );
        // The same rota twice: the same document.
        assert_eq!(text, rota_calendar(&data, Locale::Fr));
        let draft = month("Europe/Paris", rota::PlanningStatus::Draft);
        let cal = parse(&rota_calendar(&draft, Locale::En));
        let e = &cal.events[0].properties;
        assert_eq!(prop(e, "STATUS"), Some("TENTATIVE"));
        // 10:00 CET is 09:00 UTC.
        assert_eq!(prop(e, "DTSTART"), Some("20300106T090000Z"));
        assert!(prop(e, "DESCRIPTION").unwrap().contains("(1 open)"));
    }

    #[test]
    fn the_feed_leaves_declined_assignments_out() {
        let now = DateTime::parse_from_rfc3339("2030-01-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let list = my();
        let cal = parse(&feed_calendar(&list, "Europe/Paris", Locale::Fr, now));
        assert_eq!(prop(&cal.properties, "REFRESH-INTERVAL"), Some("PT3600S"));
        assert_eq!(cal.events.len(), 2, "the declined one is left out");
        let first = &cal.events[0].properties;
        assert_eq!(
            prop(first, "UID"),
            Some(assignment_uid(list[0].assignment.id).as_str())
        );
        assert_eq!(prop(first, "SUMMARY"), Some("vocals – Culte"));
        assert_eq!(prop(first, "STATUS"), Some("CONFIRMED"));
        assert_eq!(prop(&cal.events[1].properties, "STATUS"), Some("TENTATIVE"));
        assert_eq!(prop(first, "DTSTAMP"), Some("20300101T120000Z"));
    }
}
