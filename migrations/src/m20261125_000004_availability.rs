//! Availability: each person's blockouts (whole days or part of a day) and which months they
//! answered (an answer may hold no blockout). Scoped by church like every tenant row. Dates
//! are `YYYY-MM-DD` text and times `HH:MM:SS` text: portable, and they sort as they read.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Blockouts {
    Table,
    Id,
    OrganizationId,
    UserId,
    Date,
    StartTime,
    EndTime,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AvailabilityAnswers {
    Table,
    OrganizationId,
    UserId,
    Month,
    AnsweredAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Blockouts::Table)
                    .col(
                        ColumnDef::new(Blockouts::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Blockouts::OrganizationId).uuid().not_null())
                    .col(ColumnDef::new(Blockouts::UserId).uuid().not_null())
                    .col(ColumnDef::new(Blockouts::Date).string_len(10).not_null())
                    .col(ColumnDef::new(Blockouts::StartTime).string_len(8).null())
                    .col(ColumnDef::new(Blockouts::EndTime).string_len(8).null())
                    .col(ColumnDef::new(Blockouts::Reason).string_len(200).null())
                    .col(
                        ColumnDef::new(Blockouts::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("blockouts_organization")
                            .from(Blockouts::Table, Blockouts::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("blockouts_user")
                            .from(Blockouts::Table, Blockouts::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("blockouts_org_user_date")
                    .table(Blockouts::Table)
                    .col(Blockouts::OrganizationId)
                    .col(Blockouts::UserId)
                    .col(Blockouts::Date)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AvailabilityAnswers::Table)
                    .col(
                        ColumnDef::new(AvailabilityAnswers::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AvailabilityAnswers::UserId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AvailabilityAnswers::Month)
                            .string_len(7)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AvailabilityAnswers::AnsweredAt)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AvailabilityAnswers::OrganizationId)
                            .col(AvailabilityAnswers::UserId)
                            .col(AvailabilityAnswers::Month),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("availability_answers_organization")
                            .from(
                                AvailabilityAnswers::Table,
                                AvailabilityAnswers::OrganizationId,
                            )
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("availability_answers_user")
                            .from(AvailabilityAnswers::Table, AvailabilityAnswers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AvailabilityAnswers::Table.into_iden(),
            Blockouts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
