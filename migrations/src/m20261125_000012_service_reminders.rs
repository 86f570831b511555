//! The ledger of reminders before services: one row per (assignment, member, `remind_at`) —
//! unique — written with the `service.reminder` outbox event in one transaction, so each
//! schedule of an assignment is reminded exactly once however many workers run. A moved
//! service or a changed `reminder_hours_before` gives a new `remind_at`, hence a new row; so
//! does a new member on the assignment (a replacement keeps the assignment's id). `starts_at` is
//! the service's start it was computed from (for operators). Rows go with their assignment
//! and their church (cascades). Also indexes `services (date)` for the job's read across
//! churches.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ServiceReminders {
    Table,
    AssignmentId,
    RemindAt,
    OrganizationId,
    UserId,
    StartsAt,
    SentAt,
}

#[derive(DeriveIden)]
enum Assignments {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Services {
    Table,
    Date,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ServiceReminders::Table)
                    .col(
                        ColumnDef::new(ServiceReminders::AssignmentId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServiceReminders::RemindAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServiceReminders::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ServiceReminders::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(ServiceReminders::StartsAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServiceReminders::SentAt)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .name("service_reminders_pk")
                            .col(ServiceReminders::AssignmentId)
                            .col(ServiceReminders::UserId)
                            .col(ServiceReminders::RemindAt),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("service_reminders_assignment")
                            .from(ServiceReminders::Table, ServiceReminders::AssignmentId)
                            .to(Assignments::Table, Assignments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("service_reminders_organization")
                            .from(ServiceReminders::Table, ServiceReminders::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Deleting a church finds its rows without a scan.
        manager
            .create_index(
                Index::create()
                    .name("service_reminders_organization")
                    .table(ServiceReminders::Table)
                    .col(ServiceReminders::OrganizationId)
                    .to_owned(),
            )
            .await?;
        // The reminders job reads every church's services of the next days by date.
        manager
            .create_index(
                Index::create()
                    .name("services_date")
                    .table(Services::Table)
                    .col(Services::Date)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("services_date")
                    .table(Services::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ServiceReminders::Table).to_owned())
            .await
    }
}
