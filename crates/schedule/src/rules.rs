//! The rules of a service as the API receives it (strings from JSON), with field paths such
//! as `requiredRoles[1].count`.
//!
//! Codes: `required`, `too_long`, `invalid_characters`, `invalid_format` (a date that is not a
//! real `YYYY-MM-DD` day, a time that is not `HH:MM` or `HH:MM:SS`), `out_of_range` (a date
//! outside 2000–2100, a count outside 1–50), `end_before_start` (end not strictly after start,
//! the same day), `too_many` (more than 30 roles; nothing else is checked in the list then),
//! `duplicate` (the same role twice, ignoring case), `unknown_role` (no active member of the
//! department has that skill), `not_supported` (a new rule in a PATCH), `not_allowed_for_scope`
//! (a new date for a series edit).

use chrono::{Datelike, NaiveDate, NaiveTime};
use kernel::ValidationErrors;
use std::collections::HashMap;

use crate::model::{RequiredRole, Scope, Service};
use crate::{
    FIRST_DATE, LAST_DATE, MAX_LOCATION_CHARS, MAX_NAME_CHARS, MAX_NOTES_CHARS, MAX_ROLE_CHARS,
    MAX_ROLE_COUNT, MAX_ROLES, MAX_TYPE_CHARS,
};

/// One entry of `requiredRoles`, as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleInput {
    pub role: Option<String>,
    /// Wide, so that 0, 51 and −1 are field errors rather than parse failures.
    pub count: Option<i64>,
}

/// A new service (or series, with `recurrence`), as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceInput {
    pub name: Option<String>,
    pub service_type: Option<String>,
    /// `YYYY-MM-DD`; the first date (DTSTART) of a series.
    pub date: Option<String>,
    /// `HH:MM` (or `HH:MM:SS`).
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub required_roles: Vec<RoleInput>,
    /// `Some(rule)` for a recurring series (`recurrence.rrule`).
    pub rrule: Option<String>,
}

/// A change to a service, as received; `None` leaves a field as it is, `Some(None)` clears
/// `location` or `notes`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServicePatchInput {
    pub name: Option<String>,
    pub service_type: Option<String>,
    pub date: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub location: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    pub required_roles: Option<Vec<RoleInput>>,
    /// The `recurrence.rrule` the body carried, if any (`""` when it was not a string): a
    /// series' rule is not changed by a PATCH, so anything but the current rule is refused.
    pub recurrence: Option<String>,
}

/// A new service, validated but for its roles' spelling ([`resolve_roles`]), its rule
/// ([`crate::recurrence::expand`]) and the clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub name: String,
    pub service_type: String,
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub required_roles: Vec<RequiredRole>,
    pub rrule: Option<String>,
}

/// A validated change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub name: Option<String>,
    pub service_type: Option<String>,
    pub date: Option<NaiveDate>,
    pub start: Option<NaiveTime>,
    pub end: Option<NaiveTime>,
    pub location: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    pub required_roles: Option<Vec<RequiredRole>>,
}

impl Changes {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }

    /// `s` with the changes applied.
    pub fn apply(&self, s: &Service) -> Service {
        let mut out = s.clone();
        if let Some(v) = &self.name {
            out.name = v.clone();
        }
        if let Some(v) = &self.service_type {
            out.service_type = v.clone();
        }
        if let Some(v) = self.date {
            out.date = v;
        }
        if let Some(v) = self.start {
            out.start = v;
        }
        if let Some(v) = self.end {
            out.end = v;
        }
        if let Some(v) = &self.location {
            out.location = v.clone();
        }
        if let Some(v) = &self.notes {
            out.notes = v.clone();
        }
        if let Some(v) = &self.required_roles {
            out.required_roles = v.clone();
        }
        out
    }

    /// The JSON names of the fields it changes (`startTime`, `requiredRoles`…).
    pub fn fields(&self) -> Vec<&'static str> {
        let mut f = Vec::new();
        let mut add = |present: bool, name| {
            if present {
                f.push(name);
            }
        };
        add(self.name.is_some(), "name");
        add(self.service_type.is_some(), "serviceType");
        add(self.date.is_some(), "date");
        add(self.start.is_some(), "startTime");
        add(self.end.is_some(), "endTime");
        add(self.location.is_some(), "location");
        add(self.notes.is_some(), "notes");
        add(self.required_roles.is_some(), "requiredRoles");
        f
    }
}

/// Validates a new service or series (all fields at once; the rule itself is expanded later).
pub fn validate_new(input: &ServiceInput) -> Result<Draft, ValidationErrors> {
    let mut errs = ValidationErrors::new();
    let name = match &input.name {
        Some(n) => check_name("name", n, &mut errs),
        None => {
            errs.add("name", "required", "A name is required.");
            None
        }
    };
    let service_type = check_type(input.service_type.as_deref().unwrap_or(""), &mut errs);
    let date =
        required(&input.date, "date", &mut errs).and_then(|d| check_date("date", d, &mut errs));
    let start = required(&input.start_time, "startTime", &mut errs)
        .and_then(|t| check_time("startTime", t, &mut errs));
    let end = required(&input.end_time, "endTime", &mut errs)
        .and_then(|t| check_time("endTime", t, &mut errs));
    if let (Some(s), Some(e)) = (start, end) {
        check_order(s, e, "endTime", &mut errs);
    }
    let location = optional(
        input.location.as_deref(),
        "location",
        MAX_LOCATION_CHARS,
        &mut errs,
    );
    let notes = optional(input.notes.as_deref(), "notes", MAX_NOTES_CHARS, &mut errs);
    let roles = check_roles(&input.required_roles, &mut errs);
    let rrule = input.rrule.as_ref().map(|r| r.trim().to_string());
    if let Some(r) = &rrule
        && r.is_empty()
    {
        errs.add(
            "recurrence.rrule",
            "required",
            "A recurrence rule is required, e.g. FREQ=WEEKLY;BYDAY=SU;COUNT=8.",
        );
    }
    errs.into_result()?;
    match (name, date, start, end) {
        (Some(name), Some(date), Some(start), Some(end)) => Ok(Draft {
            name,
            service_type,
            date,
            start,
            end,
            location,
            notes,
            required_roles: roles,
            rrule,
        }),
        // Each `None` above added an error, so this is unreachable; stay total.
        _ => {
            let mut e = ValidationErrors::new();
            e.add("body", "invalid", "The service is incomplete.");
            Err(e)
        }
    }
}

/// Validates a change of `anchor` (the service named in the path) for `scope`. A client may
/// send back the service's current `date` and rule unchanged; a new rule, or a new date for a
/// series edit, is refused. The order of the result's times is checked per service by
/// [`check_changed`].
pub fn validate_patch(
    p: &ServicePatchInput,
    scope: Scope,
    anchor: &Service,
) -> Result<Changes, ValidationErrors> {
    let mut errs = ValidationErrors::new();
    if let Some(rule) = &p.recurrence {
        let same = match (&anchor.rrule, crate::recurrence::normalize(rule)) {
            (Some(current), Ok(given)) => *current == given,
            _ => false,
        };
        if !same {
            errs.add(
                "recurrence",
                "not_supported",
                "The rule of a series cannot be changed (nor a service made recurring): delete it and create it again.",
            );
        }
    }
    let name = p
        .name
        .as_ref()
        .and_then(|n| check_name("name", n, &mut errs));
    let service_type = p.service_type.as_ref().map(|t| check_type(t, &mut errs));
    let date = p
        .date
        .as_ref()
        .and_then(|d| check_date("date", d, &mut errs))
        .filter(|d| *d != anchor.date);
    let series_scope = scope != Scope::This && anchor.series.is_some();
    if date.is_some() && series_scope {
        errs.add(
            "date",
            "not_allowed_for_scope",
            "Only one service at a time can move to another date (scope=this).",
        );
    }
    let start = p
        .start_time
        .as_ref()
        .and_then(|t| check_time("startTime", t, &mut errs));
    let end = p
        .end_time
        .as_ref()
        .and_then(|t| check_time("endTime", t, &mut errs));
    let location = p
        .location
        .as_ref()
        .map(|l| optional(l.as_deref(), "location", MAX_LOCATION_CHARS, &mut errs));
    let notes = p
        .notes
        .as_ref()
        .map(|n| optional(n.as_deref(), "notes", MAX_NOTES_CHARS, &mut errs));
    let required_roles = p.required_roles.as_ref().map(|r| check_roles(r, &mut errs));
    errs.into_result()?;
    Ok(Changes {
        name,
        service_type,
        date,
        start,
        end,
        location,
        notes,
        required_roles,
    })
}

/// A service after a change: its end must still be after its start.
pub fn check_changed(changes: &Changes, after: &Service) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    let field = if changes.end.is_some() {
        "endTime"
    } else {
        "startTime"
    };
    check_order(after.start, after.end, field, &mut errs);
    errs.into_result()
}

/// Each required role matched, ignoring case, against the skills of the department's active
/// members and spelled as the first matching skill; `requiredRoles[i].role` errors for those
/// nobody has.
pub fn resolve_roles<'a>(
    roles: &[RequiredRole],
    skills: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<RequiredRole>, ValidationErrors> {
    let mut known: HashMap<String, &str> = HashMap::new();
    for s in skills {
        known.entry(s.trim().to_lowercase()).or_insert(s.trim());
    }
    let mut errs = ValidationErrors::new();
    let mut out = Vec::with_capacity(roles.len());
    for (i, r) in roles.iter().enumerate() {
        match known.get(&r.role.to_lowercase()) {
            Some(spelling) => out.push(RequiredRole::new(*spelling, r.count)),
            None => errs.add(
                format!("requiredRoles[{i}].role"),
                "unknown_role",
                format!(
                    "No member of this department has the skill \"{}\": give it to someone first.",
                    r.role
                ),
            ),
        }
    }
    errs.into_result()?;
    Ok(out)
}

fn required<'a>(
    v: &'a Option<String>,
    field: &str,
    errs: &mut ValidationErrors,
) -> Option<&'a str> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Some(s),
        _ => {
            errs.add(field, "required", "This field is required.");
            None
        }
    }
}

fn check_name(field: &str, n: &str, errs: &mut ValidationErrors) -> Option<String> {
    let n = n.trim();
    if n.is_empty() {
        errs.add(field, "required", "A name is required.");
        None
    } else if n.chars().count() > MAX_NAME_CHARS {
        errs.add(
            field,
            "too_long",
            format!("At most {MAX_NAME_CHARS} characters."),
        );
        None
    } else if n.chars().any(char::is_control) {
        errs.add(
            field,
            "invalid_characters",
            "Control characters are not allowed.",
        );
        None
    } else {
        Some(n.to_string())
    }
}

fn check_type(t: &str, errs: &mut ValidationErrors) -> String {
    let t = t.trim();
    if t.chars().count() > MAX_TYPE_CHARS {
        errs.add(
            "serviceType",
            "too_long",
            format!("At most {MAX_TYPE_CHARS} characters."),
        );
    } else if t.chars().any(char::is_control) {
        errs.add(
            "serviceType",
            "invalid_characters",
            "Control characters are not allowed.",
        );
    }
    t.to_string()
}

/// A trimmed optional text: empty means none.
fn optional(
    v: Option<&str>,
    field: &str,
    max: usize,
    errs: &mut ValidationErrors,
) -> Option<String> {
    let v = v.map(str::trim).filter(|v| !v.is_empty())?;
    if v.chars().count() > max {
        errs.add(field, "too_long", format!("At most {max} characters."));
    }
    Some(v.to_string())
}

/// A real `YYYY-MM-DD` day between 2000-01-01 and 2100-12-31.
pub fn check_date(field: &str, d: &str, errs: &mut ValidationErrors) -> Option<NaiveDate> {
    let d = d.trim();
    let parsed = (d.len() == 10)
        .then(|| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .flatten();
    match parsed {
        Some(date) if (FIRST_DATE..=LAST_DATE).contains(&date) => Some(date),
        Some(date) => {
            errs.add(
                field,
                "out_of_range",
                format!(
                    "The date must be between {FIRST_DATE} and {LAST_DATE} (got year {}).",
                    date.year()
                ),
            );
            None
        }
        None => {
            errs.add(
                field,
                "invalid_format",
                "The date must be a real day written YYYY-MM-DD.",
            );
            None
        }
    }
}

/// `HH:MM` or `HH:MM:SS`.
fn check_time(field: &str, t: &str, errs: &mut ValidationErrors) -> Option<NaiveTime> {
    let t = t.trim();
    let parsed = match t.len() {
        5 => NaiveTime::parse_from_str(t, "%H:%M").ok(),
        8 => NaiveTime::parse_from_str(t, "%H:%M:%S").ok(),
        _ => None,
    };
    if parsed.is_none() {
        errs.add(
            field,
            "invalid_format",
            "The time must be written HH:MM (24-hour clock).",
        );
    }
    parsed
}

fn check_order(start: NaiveTime, end: NaiveTime, field: &str, errs: &mut ValidationErrors) {
    if end <= start {
        errs.add(
            field,
            "end_before_start",
            "The end time must be after the start time, the same day.",
        );
    }
}

fn check_roles(roles: &[RoleInput], errs: &mut ValidationErrors) -> Vec<RequiredRole> {
    if roles.len() > MAX_ROLES {
        errs.add(
            "requiredRoles",
            "too_many",
            format!("A service needs at most {MAX_ROLES} different roles."),
        );
        return Vec::new();
    }
    let mut out: Vec<RequiredRole> = Vec::with_capacity(roles.len());
    let mut seen: Vec<String> = Vec::with_capacity(roles.len());
    for (i, r) in roles.iter().enumerate() {
        let at = |f: &str| format!("requiredRoles[{i}].{f}");
        let role = r.role.as_deref().map(str::trim).unwrap_or("");
        let mut ok = true;
        if role.is_empty() {
            errs.add(at("role"), "required", "Name the role (a skill).");
            ok = false;
        } else if role.chars().count() > MAX_ROLE_CHARS {
            errs.add(
                at("role"),
                "too_long",
                format!("At most {MAX_ROLE_CHARS} characters."),
            );
            ok = false;
        } else if seen.contains(&role.to_lowercase()) {
            errs.add(
                at("role"),
                "duplicate",
                "This role is already listed; give it one count.",
            );
            ok = false;
        } else {
            seen.push(role.to_lowercase());
        }
        let count = match r.count {
            None => {
                errs.add(at("count"), "required", "How many people in this role?");
                None
            }
            Some(c) if (1..=i64::from(MAX_ROLE_COUNT)).contains(&c) => u32::try_from(c).ok(),
            Some(_) => {
                errs.add(
                    at("count"),
                    "out_of_range",
                    format!("Between 1 and {MAX_ROLE_COUNT} people."),
                );
                None
            }
        };
        if let (true, Some(count)) = (ok, count) {
            out.push(RequiredRole::new(role, count));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::{DepartmentId, ServiceId};

    fn fields(e: &ValidationErrors) -> Vec<(String, String)> {
        e.0.iter()
            .map(|f| (f.field.clone(), f.code.clone()))
            .collect()
    }

    fn input() -> ServiceInput {
        ServiceInput {
            name: Some("  Culte du dimanche ".into()),
            service_type: Some("Culte".into()),
            date: Some("2030-01-06".into()),
            start_time: Some("10:00".into()),
            end_time: Some("12:00".into()),
            location: Some("  ".into()),
            notes: None,
            required_roles: vec![
                RoleInput {
                    role: Some(" Bass ".into()),
                    count: Some(1),
                },
                RoleInput {
                    role: Some("Chant".into()),
                    count: Some(3),
                },
            ],
            rrule: None,
        }
    }

    #[test]
    fn a_valid_service_is_trimmed() {
        let d = validate_new(&input()).unwrap();
        assert_eq!(d.name, "Culte du dimanche");
        assert_eq!(d.location, None);
        assert_eq!(d.date, NaiveDate::from_ymd_opt(2030, 1, 6).unwrap());
        assert_eq!(
            d.required_roles,
            [RequiredRole::new("Bass", 1), RequiredRole::new("Chant", 3)]
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut i = input();
        i.name = Some(" ".into());
        i.service_type = Some("t".repeat(51));
        i.date = Some("2030-02-30".into());
        i.start_time = Some("25:00".into());
        i.end_time = None;
        i.location = Some("l".repeat(201));
        i.notes = Some("n".repeat(2001));
        i.required_roles = vec![
            RoleInput {
                role: Some("Bass".into()),
                count: Some(0),
            },
            RoleInput {
                role: Some("bass".into()),
                count: Some(51),
            },
            RoleInput {
                role: None,
                count: None,
            },
        ];
        i.rrule = Some(" ".into());
        let e = validate_new(&i).unwrap_err();
        assert_eq!(
            fields(&e),
            [
                ("name", "required"),
                ("serviceType", "too_long"),
                ("date", "invalid_format"),
                ("startTime", "invalid_format"),
                ("endTime", "required"),
                ("location", "too_long"),
                ("notes", "too_long"),
                ("requiredRoles[0].count", "out_of_range"),
                ("requiredRoles[1].role", "duplicate"),
                ("requiredRoles[1].count", "out_of_range"),
                ("requiredRoles[2].role", "required"),
                ("requiredRoles[2].count", "required"),
                ("recurrence.rrule", "required"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn times_and_limits() {
        let mut i = input();
        i.end_time = Some("10:00".into());
        assert_eq!(
            fields(&validate_new(&i).unwrap_err()),
            [("endTime".to_string(), "end_before_start".to_string())]
        );
        i.end_time = Some("09:59:59".into());
        assert!(validate_new(&i).is_err());
        i.end_time = Some("10:00:01".into());
        assert!(validate_new(&i).is_ok());
        i.date = Some("1999-12-31".into());
        assert_eq!(fields(&validate_new(&i).unwrap_err())[0].1, "out_of_range");
        i.date = Some("2030-1-6".into());
        assert_eq!(
            fields(&validate_new(&i).unwrap_err())[0].1,
            "invalid_format"
        );
        let mut i = input();
        i.name = Some("n".repeat(100));
        i.service_type = Some("t".repeat(50));
        i.location = Some("l".repeat(200));
        i.notes = Some("n".repeat(2000));
        i.required_roles = (0..30)
            .map(|k| RoleInput {
                role: Some(format!("r{k}")),
                count: Some(50),
            })
            .collect();
        assert!(validate_new(&i).is_ok());
        i.name = Some("n".repeat(101));
        assert_eq!(fields(&validate_new(&i).unwrap_err())[0].1, "too_long");
        i.name = Some("ok".into());
        i.required_roles.push(RoleInput {
            role: Some("r30".into()),
            count: Some(1),
        });
        assert_eq!(
            fields(&validate_new(&i).unwrap_err()),
            [("requiredRoles".to_string(), "too_many".to_string())]
        );
    }

    #[test]
    fn roles_take_the_skill_spelling_or_are_refused() {
        let skills = ["Basse", "chant", "Guitare", "CHANT"];
        let got = resolve_roles(
            &[RequiredRole::new("basse", 1), RequiredRole::new("Chant", 2)],
            skills,
        )
        .unwrap();
        assert_eq!(
            got,
            [RequiredRole::new("Basse", 1), RequiredRole::new("chant", 2)]
        );
        let e = resolve_roles(
            &[RequiredRole::new("Basse", 1), RequiredRole::new("Drums", 1)],
            skills,
        )
        .unwrap_err();
        assert_eq!(e.0[0].field, "requiredRoles[1].role");
        assert_eq!(e.0[0].code, "unknown_role");
        assert!(e.0[0].message.contains("\"Drums\""), "{}", e.0[0].message);
        assert!(resolve_roles(&[], []).unwrap().is_empty());
    }

    fn service() -> Service {
        Service {
            id: ServiceId::new(),
            department: DepartmentId::new(),
            series: None,
            is_exception: false,
            name: "Culte".into(),
            service_type: String::new(),
            date: NaiveDate::from_ymd_opt(2030, 1, 6).unwrap(),
            start: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
            location: Some("Salle".into()),
            notes: None,
            required_roles: vec![],
            rrule: None,
        }
    }

    #[test]
    fn patches_change_only_what_they_name() {
        let p = ServicePatchInput {
            start_time: Some("09:30".into()),
            location: Some(None),
            ..Default::default()
        };
        let c = validate_patch(&p, Scope::All, &service()).unwrap();
        assert_eq!(c.fields(), ["startTime", "location"]);
        let after = c.apply(&service());
        assert_eq!(after.start, NaiveTime::from_hms_opt(9, 30, 0).unwrap());
        assert_eq!(after.location, None);
        assert_eq!(after.name, "Culte");
        assert!(check_changed(&c, &after).is_ok());
        assert!(
            validate_patch(&ServicePatchInput::default(), Scope::This, &service())
                .unwrap()
                .is_empty()
        );

        // A start after the end is named on the field that moved.
        let late = validate_patch(
            &ServicePatchInput {
                start_time: Some("13:00".into()),
                ..Default::default()
            },
            Scope::This,
            &service(),
        )
        .unwrap();
        let e = check_changed(&late, &late.apply(&service())).unwrap_err();
        assert_eq!(
            fields(&e),
            [("startTime".into(), "end_before_start".into())]
        );
    }

    #[test]
    fn patches_refuse_a_new_rule_and_a_new_date_for_a_series() {
        let mut occurrence = service();
        occurrence.series = Some(kernel::SeriesId::new());
        occurrence.rrule = Some("FREQ=WEEKLY;COUNT=4".into());
        let p = ServicePatchInput {
            date: Some("2030-01-13".into()),
            recurrence: Some("FREQ=WEEKLY;COUNT=5".into()),
            name: Some("".into()),
            ..Default::default()
        };
        let e = validate_patch(&p, Scope::Following, &occurrence).unwrap_err();
        assert_eq!(
            fields(&e),
            [
                ("recurrence", "not_supported"),
                ("name", "required"),
                ("date", "not_allowed_for_scope"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        // The same date and rule sent back are no change.
        let same = ServicePatchInput {
            date: Some("2030-01-06".into()),
            recurrence: Some("RRULE:FREQ=WEEKLY;COUNT=4".into()),
            ..Default::default()
        };
        assert!(
            validate_patch(&same, Scope::All, &occurrence)
                .unwrap()
                .is_empty()
        );
        // A one-off cannot become a series.
        let e = validate_patch(&same, Scope::This, &service()).unwrap_err();
        assert_eq!(fields(&e)[0].1, "not_supported");
        let ok = ServicePatchInput {
            date: Some("2030-01-13".into()),
            ..Default::default()
        };
        assert_eq!(
            validate_patch(&ok, Scope::This, &occurrence).unwrap().date,
            NaiveDate::from_ymd_opt(2030, 1, 13)
        );
    }
}
