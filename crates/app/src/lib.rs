//! The composition root.
//!
//! [`settings`] reads and validates the environment once, at start-up; [`context`] builds
//! the [`AppContext`]: one concrete adapter per port, chosen by those settings (SQLite or
//! PostgreSQL, in-process or Redis, local disk or S3, `.eml` files or SMTP). The `api` and
//! `worker` crates receive the context; nothing else reads the environment.

pub mod context;
pub mod password;
pub mod settings;

pub use context::{
    AccountsService, AppContext, AvailabilityService, INVITATION_TTL_DAYS, Overrides, TeamsService,
};
pub use settings::{AppEnv, LogFormat, Settings, SettingsError};
