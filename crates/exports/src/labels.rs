//! The words of the exports, in French (the default) and English: labels, month and weekday
//! names, dates as a printed rota shows them.

use accounts::Locale;
use chrono::{Datelike, NaiveDate, Weekday};

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
const MONTHS_FR_SHORT: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];
const MONTHS_EN_SHORT: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Every label an export prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Labels {
    pub locale: Locale,
    /// "Planning" / "Rota".
    pub rota: &'static str,
    pub date: &'static str,
    pub time: &'static str,
    pub service: &'static str,
    pub department: &'static str,
    pub role: &'static str,
    pub status: &'static str,
    /// An empty slot.
    pub open: &'static str,
    pub no_services: &'static str,
    pub draft: &'static str,
    pub generated: &'static str,
    pub published: &'static str,
    pub archived: &'static str,
    pub pending: &'static str,
    pub confirmed: &'static str,
    /// The personal feed's name.
    pub my_services: &'static str,
}

const FR: Labels = Labels {
    locale: Locale::Fr,
    rota: "Planning",
    date: "Date",
    time: "Horaire",
    service: "Service",
    department: "Département",
    role: "Rôle",
    status: "Statut",
    open: "à pourvoir",
    no_services: "Aucun service ce mois-ci.",
    draft: "Brouillon : pas encore publié",
    generated: "Généré : pas encore publié",
    published: "Publié",
    archived: "Archivé",
    pending: "en attente de réponse",
    confirmed: "confirmé",
    my_services: "Mes services",
};

const EN: Labels = Labels {
    locale: Locale::En,
    rota: "Rota",
    date: "Date",
    time: "Time",
    service: "Service",
    department: "Department",
    role: "Role",
    status: "Status",
    open: "open",
    no_services: "No services this month.",
    draft: "Draft: not published yet",
    generated: "Generated: not published yet",
    published: "Published",
    archived: "Archived",
    pending: "awaiting your answer",
    confirmed: "confirmed",
    my_services: "My services",
};

impl Labels {
    pub fn of(locale: Locale) -> &'static Labels {
        match locale {
            Locale::Fr => &FR,
            Locale::En => &EN,
        }
    }

    fn fr(&self) -> bool {
        self.locale == Locale::Fr
    }

    /// "décembre" / "December" (`month` 1–12).
    pub fn month_name(&self, month: u32) -> &'static str {
        let i = (month.clamp(1, 12) - 1) as usize;
        if self.fr() {
            MONTHS_FR[i]
        } else {
            MONTHS_EN[i]
        }
    }

    /// "décembre 2026" / "December 2026".
    pub fn month_year(&self, year: i32, month: u32) -> String {
        format!("{} {year}", self.month_name(month))
    }

    fn weekday_short(&self, d: Weekday) -> &'static str {
        match (self.fr(), d) {
            (true, Weekday::Mon) => "lun.",
            (true, Weekday::Tue) => "mar.",
            (true, Weekday::Wed) => "mer.",
            (true, Weekday::Thu) => "jeu.",
            (true, Weekday::Fri) => "ven.",
            (true, Weekday::Sat) => "sam.",
            (true, Weekday::Sun) => "dim.",
            (false, Weekday::Mon) => "Mon",
            (false, Weekday::Tue) => "Tue",
            (false, Weekday::Wed) => "Wed",
            (false, Weekday::Thu) => "Thu",
            (false, Weekday::Fri) => "Fri",
            (false, Weekday::Sat) => "Sat",
            (false, Weekday::Sun) => "Sun",
        }
    }

    /// "dim. 6 déc." / "Sun 6 Dec".
    pub fn short_date(&self, d: NaiveDate) -> String {
        let i = d.month0() as usize;
        let month = if self.fr() {
            MONTHS_FR_SHORT[i]
        } else {
            MONTHS_EN_SHORT[i]
        };
        format!("{} {} {month}", self.weekday_short(d.weekday()), d.day())
    }

    /// "25/11/2026" / "25 Nov 2026".
    pub fn day(&self, d: NaiveDate) -> String {
        if self.fr() {
            d.format("%d/%m/%Y").to_string()
        } else {
            format!(
                "{} {} {}",
                d.day(),
                MONTHS_EN_SHORT[d.month0() as usize],
                d.year()
            )
        }
    }

    /// "Page 2 / 5".
    pub fn page(&self, n: usize, of: usize) -> String {
        format!("Page {n} / {of}")
    }

    /// "Imprimé le 25/11/2026" / "Printed on 25 Nov 2026".
    pub fn printed_on(&self, d: NaiveDate) -> String {
        if self.fr() {
            format!("Imprimé le {}", self.day(d))
        } else {
            format!("Printed on {}", self.day(d))
        }
    }

    /// "2 à pourvoir" / "2 open".
    pub fn open_slots(&self, n: u32) -> String {
        format!("{n} {}", self.open)
    }

    /// The planning's status as the export's subtitle says it.
    pub fn planning_status(&self, s: rota::PlanningStatus) -> &'static str {
        match s {
            rota::PlanningStatus::Draft => self.draft,
            rota::PlanningStatus::Generated => self.generated,
            rota::PlanningStatus::Published => self.published,
            rota::PlanningStatus::Archived => self.archived,
        }
    }

    /// A member's answer, in the personal feed.
    pub fn answer(&self, s: rota::AssignmentStatus) -> &'static str {
        match s {
            rota::AssignmentStatus::Confirmed => self.confirmed,
            _ => self.pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_and_english_dates() {
        let fr = Labels::of(Locale::Fr);
        let en = Labels::of(Locale::En);
        let d = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap_or_default();
        assert_eq!(fr.short_date(d), "dim. 6 déc.");
        assert_eq!(en.short_date(d), "Sun 6 Dec");
        assert_eq!(fr.month_year(2026, 8), "août 2026");
        assert_eq!(en.month_year(2026, 2), "February 2026");
        assert_eq!(fr.day(d), "06/12/2026");
        assert_eq!(en.day(d), "6 Dec 2026");
        assert_eq!(fr.open_slots(2), "2 à pourvoir");
    }
}
