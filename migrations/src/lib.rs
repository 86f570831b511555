//! MonService's schema migrations.
//!
//! One migration set serves PostgreSQL and SQLite: tables are written with the schema builder,
//! and a migration branches on `manager.get_database_backend()` only where the two differ.
//! Every migration has a working `down`; CI applies all of them, rolls each back and applies
//! it again on both backends. Migrations depend on nothing but `sea-orm-migration`, so an old
//! migration never breaks when application code changes.
//!
//! Conventions: ids are UUIDs; instants the queue compares are `BIGINT` milliseconds since the
//! Unix epoch (portable and index-friendly); statuses are `TEXT` with a `CHECK` constraint
//! rather than database enums.

pub use sea_orm_migration::MigrationStatus;
pub use sea_orm_migration::prelude::*;

mod m20261124_000001_jobs;
mod m20261124_000002_accounts;
mod m20261124_000003_teams;
mod m20261125_000004_availability;
mod m20261125_000005_outbox;
mod m20261125_000006_services;
mod m20261125_000007_rota;
mod m20261125_000008_blockout_rules;
mod m20261125_000010_notifications;
mod m20261125_000011_email_suppressions;
mod m20261125_000012_service_reminders;
mod m20261125_000013_announcements;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_jobs::Migration),
            Box::new(m20261124_000002_accounts::Migration),
            Box::new(m20261124_000003_teams::Migration),
            Box::new(m20261125_000004_availability::Migration),
            Box::new(m20261125_000005_outbox::Migration),
            Box::new(m20261125_000006_services::Migration),
            Box::new(m20261125_000007_rota::Migration),
            Box::new(m20261125_000008_blockout_rules::Migration),
            Box::new(m20261125_000010_notifications::Migration),
            Box::new(m20261125_000011_email_suppressions::Migration),
            Box::new(m20261125_000012_service_reminders::Migration),
            Box::new(m20261125_000013_announcements::Migration),
        ]
    }
}
