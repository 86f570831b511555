//! Announcements and the availability chasers' ledger.
//!
//! * `announcements`: a message a leader (or the church's administrator) posts to a whole
//!   department. It goes with its church and its department (cascades); when its author's
//!   account is deleted the announcement stays for the others, without author
//!   (`author_id` set to NULL).
//! * `availability_chases`: one row per chase of a department's month, so the hourly
//!   `availability.chase` job reminds each member once per (department, month, offset)
//!   however many workers run (`UNIQUE`, insert `ON CONFLICT DO NOTHING`), and a leader's
//!   manual chase is allowed once an hour (the `manual` row keeps its last time).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Announcements {
    Table,
    Id,
    OrganizationId,
    DepartmentId,
    AuthorId,
    Title,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AvailabilityChases {
    Table,
    Id,
    OrganizationId,
    DepartmentId,
    Month,
    Kind,
    Reminded,
    ChasedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Departments {
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
                    .table(Announcements::Table)
                    .col(
                        ColumnDef::new(Announcements::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Announcements::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Announcements::DepartmentId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Announcements::AuthorId).uuid().null())
                    .col(
                        ColumnDef::new(Announcements::Title)
                            .string_len(120)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Announcements::Body).text().not_null())
                    .col(
                        ColumnDef::new(Announcements::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("announcements_organization")
                            .from(Announcements::Table, Announcements::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("announcements_department")
                            .from(Announcements::Table, Announcements::DepartmentId)
                            .to(Departments::Table, Departments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("announcements_author")
                            .from(Announcements::Table, Announcements::AuthorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // The department's list, newest first.
        manager
            .create_index(
                Index::create()
                    .name("announcements_department_created")
                    .table(Announcements::Table)
                    .col(Announcements::DepartmentId)
                    .col((Announcements::CreatedAt, IndexOrder::Desc))
                    .col((Announcements::Id, IndexOrder::Desc))
                    .to_owned(),
            )
            .await?;
        // The foreign key the account deletion follows.
        manager
            .create_index(
                Index::create()
                    .name("announcements_author")
                    .table(Announcements::Table)
                    .col(Announcements::AuthorId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AvailabilityChases::Table)
                    .col(
                        ColumnDef::new(AvailabilityChases::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AvailabilityChases::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AvailabilityChases::DepartmentId)
                            .uuid()
                            .not_null(),
                    )
                    // `YYYY-MM`.
                    .col(
                        ColumnDef::new(AvailabilityChases::Month)
                            .string_len(7)
                            .not_null(),
                    )
                    // `d7`, `d1`… (days before the deadline) or `manual`.
                    .col(
                        ColumnDef::new(AvailabilityChases::Kind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AvailabilityChases::Reminded)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AvailabilityChases::ChasedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("availability_chases_organization")
                            .from(
                                AvailabilityChases::Table,
                                AvailabilityChases::OrganizationId,
                            )
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("availability_chases_department")
                            .from(AvailabilityChases::Table, AvailabilityChases::DepartmentId)
                            .to(Departments::Table, Departments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("availability_chases_once")
                    .table(AvailabilityChases::Table)
                    .col(AvailabilityChases::DepartmentId)
                    .col(AvailabilityChases::Month)
                    .col(AvailabilityChases::Kind)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("availability_chases_organization")
                    .table(AvailabilityChases::Table)
                    .col(AvailabilityChases::OrganizationId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AvailabilityChases::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Announcements::Table).to_owned())
            .await
    }
}
