//! Rota exports (issue 6): what a rota looks like outside the web app.
//!
//! * [`ical`] — RFC 5545 calendars: a rota (one event per service, UID from the service) and
//!   a member's personal feed (one event per assignment, UID from the assignment), times in
//!   UTC converted from the church's zone (the module says why);
//! * [`pdf`] — the printable A4 landscape grid, services × roles, in French or English, with an
//!   embedded DejaVu font (fonts/LICENSE-DejaVu.txt);
//! * [`feed`] — the personal subscription: its token rules, its store port and its service;
//! * [`labels`] — the words, months and weekdays in both languages.
//!
//! Pure: no I/O (the fonts are compiled in).

pub mod feed;
pub mod ical;
pub mod labels;
pub mod pdf;
pub mod time;

pub use feed::{CalendarFeedStore, CalendarFeeds, FeedError, FeedInfo, FeedOwner, Issued};
pub use ical::{feed_calendar, rota_calendar};
pub use pdf::{PdfError, rota_pdf};

#[cfg(test)]
mod testdata;
