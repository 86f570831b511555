//! Input rules for accounts.

use kernel::ValidationErrors;
use std::collections::HashSet;
use std::sync::OnceLock;
use validator::ValidateEmail;

/// The 10,000 most common passwords (zxcvbn's frequency list, MIT), one per line.
const COMMON: &str = include_str!("../data/common-passwords.txt");

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON.lines().filter(|l| !l.is_empty()).collect())
}

/// Trims and lower-cases an email; emails are compared this way everywhere.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub fn check_email(field: &str, email: &str, errs: &mut ValidationErrors) {
    if email.is_empty() {
        errs.add(field, "required", "Email is required.");
    } else if email.len() > 254 || !email.validate_email() {
        errs.add(field, "invalid_email", "This is not a valid email address.");
    }
}

/// The normalised address of a "forgot password" request, if it is an address at all.
pub fn reset_request_email(email: &str) -> Result<String, ValidationErrors> {
    let email = normalize_email(email);
    let mut errs = ValidationErrors::new();
    check_email("email", &email, &mut errs);
    errs.into_result().map(|()| email)
}

/// NIST SP 800-63B: 8 to 128 characters, no composition rules, not a commonly used password,
/// not the account's email (or its local part).
pub fn check_password(field: &str, password: &str, email: &str, errs: &mut ValidationErrors) {
    let len = password.chars().count();
    if len < 8 {
        errs.add(
            field,
            "too_short",
            "The password must have at least 8 characters.",
        );
        return;
    }
    if len > 128 {
        errs.add(
            field,
            "too_long",
            "The password must have at most 128 characters.",
        );
        return;
    }
    let lower = password.to_lowercase();
    if common().contains(lower.as_str()) {
        errs.add(
            field,
            "too_common",
            "This password is one of the most commonly used; choose another.",
        );
        return;
    }
    let local = email.split('@').next().unwrap_or_default();
    if !email.is_empty() && (lower == email || (local.len() >= 4 && lower == local)) {
        errs.add(
            field,
            "same_as_email",
            "The password must not be your email address.",
        );
    }
}

/// A supported language: `fr` or `en` (regional variants such as `en-GB` map to them).
pub fn check_locale(
    field: &str,
    value: &str,
    errs: &mut ValidationErrors,
) -> Option<crate::model::Locale> {
    let l = crate::model::Locale::parse(value);
    if l.is_none() {
        errs.add(field, "invalid_choice", "Use fr or en.");
    }
    l
}

/// A person's name: trimmed, 1 to 100 characters, no control characters.
pub fn check_name(field: &str, value: &str, errs: &mut ValidationErrors) {
    let v = value.trim();
    if v.is_empty() {
        errs.add(field, "required", "This field is required.");
    } else if v.chars().count() > 100 {
        errs.add(field, "too_long", "At most 100 characters.");
    } else if v.chars().any(char::is_control) {
        errs.add(
            field,
            "invalid_characters",
            "Control characters are not allowed.",
        );
    }
}

/// E.164: `+` then 8 to 15 digits, the first not 0. Spaces, dots and dashes are removed first.
pub fn normalize_phone(field: &str, value: &str, errs: &mut ValidationErrors) -> Option<String> {
    let compact: String = value
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or_default();
    let ok = (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Some(compact)
    } else {
        errs.add(
            field,
            "invalid_phone",
            "Use the international format, e.g. +33612345678.",
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(p: &str, email: &str) -> Vec<String> {
        let mut e = ValidationErrors::new();
        check_password("password", p, email, &mut e);
        e.0.into_iter().map(|f| f.code).collect()
    }

    #[test]
    fn password_rules() {
        assert_eq!(pw("short", ""), ["too_short"]);
        assert_eq!(pw(&"x".repeat(129), ""), ["too_long"]);
        assert_eq!(pw("password", ""), ["too_common"]);
        assert_eq!(
            pw("PassWord1", ""),
            ["too_common"],
            "compared case-insensitively"
        );
        assert_eq!(pw("iloveyou", ""), ["too_common"]);
        assert_eq!(
            pw("marie.dupont@eglise.fr", "marie.dupont@eglise.fr"),
            ["same_as_email"]
        );
        assert_eq!(pw("correct horse battery", "a@b.fr"), Vec::<String>::new());
        // Unicode counts characters, not bytes: 8 accented letters are fine.
        assert_eq!(pw("éééééééé", ""), Vec::<String>::new());
    }

    #[test]
    fn the_list_has_ten_thousand_entries() {
        assert_eq!(common().len(), 10_000);
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalize_email("  Marie@Eglise.FR "), "marie@eglise.fr");
        let mut e = ValidationErrors::new();
        check_email("email", "not-an-email", &mut e);
        check_email("email2", "", &mut e);
        assert_eq!(e.0.len(), 2);
    }

    #[test]
    fn phones_become_e164() {
        let mut e = ValidationErrors::new();
        assert_eq!(
            normalize_phone("phone", "+33 6 12 34 56 78", &mut e).as_deref(),
            Some("+33612345678")
        );
        assert!(normalize_phone("phone", "06 12 34 56 78", &mut e).is_none());
        assert!(normalize_phone("phone", "+33abc", &mut e).is_none());
        assert_eq!(e.0.len(), 2);
    }
}
