//! Who may still change a month's blockouts.
//!
//! A member may change their own month until its deadline passes (see [`crate::deadline`]);
//! a department leader or a church admin may enter blockouts for any member at any time. The
//! API maps [`DeadlinePassed`] to a 403 whose detail is its `Display`.

use chrono::NaiveDate;

use crate::deadline::Deadline;
use crate::model::Month;

/// A member's change refused because the month's deadline has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "The deadline for {month} has passed (it was {deadline_date}); ask a leader to change your availability."
)]
pub struct DeadlinePassed {
    pub month: Month,
    pub deadline_date: NaiveDate,
}

/// `Ok` when the change is allowed: always for a leader or admin, before the deadline for a
/// member.
pub fn can_edit(
    editor_is_leader_or_admin: bool,
    deadline: &Deadline,
) -> Result<(), DeadlinePassed> {
    if editor_is_leader_or_admin || !deadline.is_passed {
        Ok(())
    } else {
        Err(DeadlinePassed {
            month: deadline.month,
            deadline_date: deadline.deadline_date,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn deadline(now: &str) -> Deadline {
        let now: DateTime<Utc> = DateTime::parse_from_rfc3339(now).unwrap().into();
        Deadline::for_month(
            Month::new(2026, 12).unwrap(),
            7,
            chrono_tz::Europe::Paris,
            now,
        )
    }

    #[test]
    fn members_until_the_deadline_leaders_always() {
        let open = deadline("2026-11-24T22:59:59Z");
        let closed = deadline("2026-11-24T23:00:00Z");
        assert_eq!(can_edit(false, &open), Ok(()));
        assert_eq!(can_edit(true, &open), Ok(()));
        assert_eq!(can_edit(true, &closed), Ok(()));
        let err = can_edit(false, &closed).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The deadline for December 2026 has passed (it was 2026-11-24); ask a leader to change your availability."
        );
    }
}
