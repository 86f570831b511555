//! The notifications domain: who is told what when something happens in a church.
//!
//! * [`rules`] — for each domain event kind (`rota.published`, `assignment.declined`…), who
//!   receives a notification ([`Audience`]: the event's `user`, or the department's leaders) and
//!   what it says in the recipient's language ([`render`]: title, body, a front-end link and the
//!   ids the front end needs). [`plan`] turns a batch of events into notifications.
//! * [`model`] — a [`Notification`] as stored and listed, a [`Cursor`] for the inbox's pages.
//! * [`ports`] — what the store provides: the pending events, the leaders and languages of the
//!   recipients, the delivery (notifications written and events marked processed in one
//!   transaction), the inbox.
//! * [`email`] — which notifications also go out by email (the recipient's per-type
//!   preferences) and what that email says.
//! * [`service`] — the operations the worker and the API call.
//! * [`reminders`] — the reminder before each service: when it is due, and the run that
//!   records it once.
//!
//! Pure: no I/O. "Now" is a parameter.

pub mod email;
pub mod model;
pub mod ports;
pub mod reminders;
pub mod rules;
pub mod service;

pub use email::{Contact, EmailConfig, QueuedEmail, wants_email};
pub use model::{Cursor, ListQuery, NewNotification, Notification, NotificationId, Page, Since};
pub use ports::{Delivered, NotificationStore, PendingEvent};
pub use rules::{Audience, Content, audience, plan, render};
pub use service::{DispatchStats, Newer, NotificationError, Notifications};

/// The job that turns pending outbox events into notifications.
pub const DISPATCH_JOB: &str = "notifications.dispatch";
/// The job that records the reminders due before services (every minute, and at once after
/// a change that may make one due).
pub const REMINDERS_JOB: &str = "notifications.reminders";
/// The daily job that deletes old read notifications.
pub const PRUNE_JOB: &str = "notifications.prune";
/// The hourly job that reminds members who entered nothing for the next open month, some days
/// before its availability deadline (`availability::chase`).
pub const CHASE_JOB: &str = "availability.chase";
/// How many outbox events one dispatch transaction handles.
pub const DISPATCH_BATCH: u64 = 200;
/// The largest page of the inbox.
pub const MAX_PAGE: u32 = 100;
/// The page size when none is asked for.
pub const DEFAULT_PAGE: u32 = 20;
