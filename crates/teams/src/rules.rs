//! Input rules and invariants of the teams domain.

use kernel::ValidationErrors;

/// A church's slug: 2–100 characters of lowercase ASCII letters, digits and hyphens, not
/// starting or ending with a hyphen.
pub fn check_slug(field: &str, slug: &str, errs: &mut ValidationErrors) {
    let ok_chars = slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !(2..=100).contains(&slug.len()) {
        errs.add(field, "invalid_length", "Between 2 and 100 characters.");
    } else if !ok_chars || slug.starts_with('-') || slug.ends_with('-') {
        errs.add(
            field,
            "invalid_format",
            "Lowercase letters, digits and hyphens only, not at either end.",
        );
    }
}

/// A slug made from a church's name: `Église de Lyon` → `eglise-de-lyon`, cut at 100
/// characters; `None` when nothing usable is left.
pub fn slug_from_name(name: &str) -> Option<String> {
    let s = slug::slugify(name);
    let s: String = s.chars().take(100).collect();
    let s = s.trim_end_matches('-').to_string();
    (s.len() >= 2).then_some(s)
}

/// An IANA time zone name such as `Europe/Paris`.
pub fn check_timezone(field: &str, tz: &str, errs: &mut ValidationErrors) {
    if tz.parse::<chrono_tz::Tz>().is_err() {
        errs.add(
            field,
            "invalid_timezone",
            "An IANA time zone name such as Europe/Paris.",
        );
    }
}

/// A department's description: at most 2,000 characters.
pub fn check_description(field: &str, d: &str, errs: &mut ValidationErrors) {
    if d.chars().count() > 2000 {
        errs.add(field, "too_long", "At most 2000 characters.");
    }
}

/// A church's or department's name: trimmed, 1–100 characters, no control characters.
pub fn check_name(field: &str, name: &str, errs: &mut ValidationErrors) {
    let n = name.trim();
    if n.is_empty() {
        errs.add(field, "required", "A name is required.");
    } else if n.chars().count() > 100 {
        errs.add(field, "too_long", "At most 100 characters.");
    } else if n.chars().any(char::is_control) {
        errs.add(
            field,
            "invalid_characters",
            "Control characters are not allowed.",
        );
    }
}

/// Days before the month when blockouts close: 1–30 (default 7).
pub fn check_deadline_days(field: &str, days: i32, errs: &mut ValidationErrors) {
    if !(1..=30).contains(&days) {
        errs.add(field, "out_of_range", "Between 1 and 30 days.");
    }
}

/// Hours before a service when its reminder goes: 1–168 (default 24).
pub fn check_reminder_hours(field: &str, hours: i32, errs: &mut ValidationErrors) {
    if !(1..=168).contains(&hours) {
        errs.add(field, "out_of_range", "Between 1 and 168 hours.");
    }
}

/// Most skills a member may have.
pub const MAX_SKILLS: usize = 20;

/// Skills as stored: trimmed, empty ones dropped, duplicates removed ignoring case (the
/// first spelling wins), each at most 50 characters, at most [`MAX_SKILLS`].
pub fn normalize_skills(
    field: &str,
    skills: &[String],
    errs: &mut ValidationErrors,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in skills {
        let s = s.trim();
        if s.is_empty() || out.iter().any(|o| o.to_lowercase() == s.to_lowercase()) {
            continue;
        }
        if s.chars().count() > 50 {
            errs.add(field, "too_long", "Each skill has at most 50 characters.");
            return out;
        }
        out.push(s.to_string());
    }
    if out.len() > MAX_SKILLS {
        errs.add(field, "too_many", "At most 20 skills.");
    }
    out
}

/// The most services a month a member may cap themselves at.
pub const MAX_PER_MONTH: i64 = 31;

/// A member's cap on services a month: 1–31 (`None`, no cap, is always fine).
pub fn check_max_per_month(field: &str, n: i64, errs: &mut ValidationErrors) -> Option<i32> {
    if (1..=MAX_PER_MONTH).contains(&n) {
        i32::try_from(n).ok()
    } else {
        errs.add(
            field,
            "out_of_range",
            format!("Between 1 and {MAX_PER_MONTH} services a month, or null for no cap."),
        );
        None
    }
}

/// Most preferred service types a member may list.
pub const MAX_PREFERRED_TYPES: usize = 10;

/// Preferred service types as stored: trimmed, empty ones dropped, duplicates removed ignoring
/// case (the first spelling wins), each at most 50 characters, at most
/// [`MAX_PREFERRED_TYPES`].
pub fn normalize_service_types(
    field: &str,
    types: &[String],
    errs: &mut ValidationErrors,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in types {
        let t = t.trim();
        if t.is_empty() || out.iter().any(|o| o.to_lowercase() == t.to_lowercase()) {
            continue;
        }
        if t.chars().count() > 50 {
            errs.add(
                field,
                "too_long",
                "Each service type has at most 50 characters.",
            );
            return out;
        }
        if t.chars().any(char::is_control) {
            errs.add(
                field,
                "invalid_characters",
                "Control characters are not allowed.",
            );
            return out;
        }
        out.push(t.to_string());
    }
    if out.len() > MAX_PREFERRED_TYPES {
        errs.add(
            field,
            "too_many",
            format!("At most {MAX_PREFERRED_TYPES} preferred service types."),
        );
    }
    out
}

/// Why a role change or removal is refused (409).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvariantError {
    #[error("A department must keep at least one leader; appoint another leader first.")]
    LastLeader,
    #[error("The church must keep at least one administrator; appoint another first.")]
    LastAdmin,
}

/// A change that takes a leader away (demotion or removal) must leave one.
pub fn keep_a_leader(leaders: usize, removes_a_leader: bool) -> Result<(), InvariantError> {
    if removes_a_leader && leaders <= 1 {
        Err(InvariantError::LastLeader)
    } else {
        Ok(())
    }
}

/// A change that takes an administrator away must leave one.
pub fn keep_an_admin(admins: usize, removes_an_admin: bool) -> Result<(), InvariantError> {
    if removes_an_admin && admins <= 1 {
        Err(InvariantError::LastAdmin)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(f: impl FnOnce(&mut ValidationErrors)) -> Vec<String> {
        let mut e = ValidationErrors::new();
        f(&mut e);
        e.0.into_iter().map(|x| x.code).collect()
    }

    #[test]
    fn slugs() {
        assert!(codes(|e| check_slug("slug", "eglise-de-lyon-2", e)).is_empty());
        assert_eq!(codes(|e| check_slug("slug", "a", e)), ["invalid_length"]);
        assert_eq!(
            codes(|e| check_slug("slug", &"a".repeat(101), e)),
            ["invalid_length"]
        );
        for bad in ["Eglise", "église", "-lyon", "lyon-", "a b", "a_b"] {
            assert_eq!(
                codes(|e| check_slug("slug", bad, e)),
                ["invalid_format"],
                "{bad}"
            );
        }
    }

    #[test]
    fn slugs_from_names_and_time_zones() {
        assert_eq!(
            slug_from_name("Église Évangélique de Lyon").as_deref(),
            Some("eglise-evangelique-de-lyon")
        );
        assert_eq!(slug_from_name("!!"), None);
        let long = slug_from_name(&"ab ".repeat(80)).unwrap();
        assert!(long.len() <= 100 && !long.ends_with('-'));
        assert!(codes(|e| check_slug("slug", &long, e)).is_empty());
        assert!(codes(|e| check_timezone("tz", "America/New_York", e)).is_empty());
        assert_eq!(
            codes(|e| check_timezone("tz", "Mars/Olympus", e)),
            ["invalid_timezone"]
        );
    }

    #[test]
    fn names_and_settings() {
        assert_eq!(codes(|e| check_name("name", "  ", e)), ["required"]);
        assert_eq!(
            codes(|e| check_name("name", &"n".repeat(101), e)),
            ["too_long"]
        );
        assert!(codes(|e| check_name("name", " Louange ", e)).is_empty());
        assert_eq!(codes(|e| check_deadline_days("d", 0, e)), ["out_of_range"]);
        assert_eq!(codes(|e| check_deadline_days("d", 31, e)), ["out_of_range"]);
        assert!(codes(|e| check_deadline_days("d", 7, e)).is_empty());
        assert_eq!(
            codes(|e| check_reminder_hours("h", 169, e)),
            ["out_of_range"]
        );
        assert!(codes(|e| check_reminder_hours("h", 1, e)).is_empty());
    }

    #[test]
    fn skills_are_trimmed_deduplicated_and_capped() {
        let mut e = ValidationErrors::new();
        let got = normalize_skills(
            "skills",
            &[" Bass ".into(), "bass".into(), "".into(), "Drums".into()],
            &mut e,
        );
        assert_eq!(got, ["Bass", "Drums"]);
        assert!(e.is_empty());
        let many: Vec<String> = (0..21).map(|i| format!("s{i}")).collect();
        assert_eq!(
            codes(|e| {
                normalize_skills("skills", &many, e);
            }),
            ["too_many"]
        );
        let twenty: Vec<String> = (0..20).map(|i| format!("s{i}")).collect();
        assert!(
            codes(|e| {
                normalize_skills("skills", &twenty, e);
            })
            .is_empty()
        );
    }

    #[test]
    fn planning_settings() {
        let mut e = ValidationErrors::new();
        assert_eq!(check_max_per_month("m", 1, &mut e), Some(1));
        assert_eq!(check_max_per_month("m", 31, &mut e), Some(31));
        assert!(e.is_empty());
        for bad in [0, 32, -1, i64::MAX] {
            assert_eq!(
                codes(|e| {
                    check_max_per_month("m", bad, e);
                }),
                ["out_of_range"],
                "{bad}"
            );
        }
        let got = normalize_service_types(
            "t",
            &[
                " Culte ".into(),
                "culte".into(),
                "".into(),
                "Répétition".into(),
            ],
            &mut e,
        );
        assert_eq!(got, ["Culte", "Répétition"]);
        assert!(e.is_empty());
        let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert_eq!(
            codes(|e| {
                normalize_service_types("t", &eleven, e);
            }),
            ["too_many"]
        );
        assert_eq!(
            codes(|e| {
                normalize_service_types("t", &["x".repeat(51)], e);
            }),
            ["too_long"]
        );
        let ten: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
        assert!(
            codes(|e| {
                normalize_service_types("t", &ten, e);
            })
            .is_empty()
        );
    }

    #[test]
    fn the_last_leader_and_the_last_admin_stay() {
        assert_eq!(keep_a_leader(1, true), Err(InvariantError::LastLeader));
        assert!(keep_a_leader(2, true).is_ok());
        assert!(keep_a_leader(1, false).is_ok());
        assert_eq!(keep_an_admin(1, true), Err(InvariantError::LastAdmin));
        assert!(keep_an_admin(2, true).is_ok());
    }
}
