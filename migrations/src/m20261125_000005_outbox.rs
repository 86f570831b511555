//! The outbox: domain events (a blockout changed, a rota published, a member declined…)
//! recorded in the same transaction as the change that caused them. The notifications
//! capability reads the unprocessed ones in order and marks them processed; nothing is lost
//! if it is down, and nothing is recorded for a change that rolled back.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Id,
    OrganizationId,
    Kind,
    DepartmentId,
    ActorId,
    UserId,
    Payload,
    OccurredAt,
    ProcessedAt,
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
                    .table(OutboxEvents::Table)
                    .col(
                        ColumnDef::new(OutboxEvents::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(OutboxEvents::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(OutboxEvents::Kind).string_len(64).not_null())
                    .col(ColumnDef::new(OutboxEvents::DepartmentId).uuid().null())
                    .col(ColumnDef::new(OutboxEvents::ActorId).uuid().null())
                    .col(ColumnDef::new(OutboxEvents::UserId).uuid().null())
                    .col(ColumnDef::new(OutboxEvents::Payload).text().not_null())
                    .col(
                        ColumnDef::new(OutboxEvents::OccurredAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OutboxEvents::ProcessedAt)
                            .big_integer()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("outbox_events_organization")
                            .from(OutboxEvents::Table, OutboxEvents::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_events_pending")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::ProcessedAt)
                    .col(OutboxEvents::OccurredAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_events_org_kind")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::OrganizationId)
                    .col(OutboxEvents::Kind)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OutboxEvents::Table).to_owned())
            .await
    }
}
