//! The rota: one planning per department and month (draft → generated → published →
//! archived), its assignments (a member in a role at a service, pinned or not, forced past a
//! rule with a warning, confirmed or declined), the member settings the planner reads
//! (`max_per_month`, preferred service types) and personal calendar feed tokens.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DepartmentMembers {
    Table,
    MaxPerMonth,
    PreferredServiceTypes,
}

#[derive(DeriveIden)]
enum Plannings {
    Table,
    Id,
    OrganizationId,
    DepartmentId,
    Month,
    Status,
    Version,
    RequiredSlots,
    FilledSlots,
    ConfidenceScore,
    Explanations,
    GeneratedAt,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Assignments {
    Table,
    Id,
    OrganizationId,
    PlanningId,
    ServiceId,
    UserId,
    Role,
    Pinned,
    Forced,
    Warnings,
    Status,
    DeclineReason,
    RespondedAt,
    Flag,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CalendarFeeds {
    Table,
    UserId,
    OrganizationId,
    TokenHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Departments {
    Table,
    Id,
    OrganizationId,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Services {
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
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(DepartmentMembers::Table)
                    .add_column(
                        ColumnDef::new(DepartmentMembers::MaxPerMonth)
                            .integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DepartmentMembers::Table)
                    .add_column(
                        ColumnDef::new(DepartmentMembers::PreferredServiceTypes)
                            .text()
                            .not_null()
                            .default("[]"),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Plannings::Table)
                    .col(
                        ColumnDef::new(Plannings::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Plannings::OrganizationId).uuid().not_null())
                    .col(ColumnDef::new(Plannings::DepartmentId).uuid().not_null())
                    .col(ColumnDef::new(Plannings::Month).string_len(7).not_null())
                    .col(
                        ColumnDef::new(Plannings::Status)
                            .string_len(16)
                            .not_null()
                            .default("draft")
                            .check(Expr::col(Plannings::Status).is_in([
                                "draft",
                                "generated",
                                "published",
                                "archived",
                            ])),
                    )
                    .col(
                        ColumnDef::new(Plannings::Version)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .col(
                        ColumnDef::new(Plannings::RequiredSlots)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Plannings::FilledSlots)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Plannings::ConfidenceScore).double().null())
                    .col(
                        ColumnDef::new(Plannings::Explanations)
                            .text()
                            .not_null()
                            .default("[]"),
                    )
                    .col(ColumnDef::new(Plannings::GeneratedAt).big_integer().null())
                    .col(ColumnDef::new(Plannings::PublishedAt).big_integer().null())
                    .col(
                        ColumnDef::new(Plannings::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Plannings::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("plannings_department")
                            .from(
                                Plannings::Table,
                                (Plannings::DepartmentId, Plannings::OrganizationId),
                            )
                            .to(
                                Departments::Table,
                                (Departments::Id, Departments::OrganizationId),
                            )
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("plannings_department_month")
                    .table(Plannings::Table)
                    .col(Plannings::DepartmentId)
                    .col(Plannings::Month)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Assignments::Table)
                    .col(
                        ColumnDef::new(Assignments::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Assignments::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Assignments::PlanningId).uuid().not_null())
                    .col(ColumnDef::new(Assignments::ServiceId).uuid().not_null())
                    .col(ColumnDef::new(Assignments::UserId).uuid().not_null())
                    .col(ColumnDef::new(Assignments::Role).string_len(50).not_null())
                    .col(
                        ColumnDef::new(Assignments::Pinned)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Assignments::Forced)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Assignments::Warnings)
                            .text()
                            .not_null()
                            .default("[]"),
                    )
                    .col(
                        ColumnDef::new(Assignments::Status)
                            .string_len(16)
                            .not_null()
                            .default("pending")
                            .check(Expr::col(Assignments::Status).is_in([
                                "pending",
                                "confirmed",
                                "declined",
                            ])),
                    )
                    .col(
                        ColumnDef::new(Assignments::DeclineReason)
                            .string_len(500)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Assignments::RespondedAt)
                            .big_integer()
                            .null(),
                    )
                    .col(ColumnDef::new(Assignments::Flag).string_len(32).null())
                    .col(
                        ColumnDef::new(Assignments::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Assignments::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("assignments_organization")
                            .from(Assignments::Table, Assignments::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("assignments_planning")
                            .from(Assignments::Table, Assignments::PlanningId)
                            .to(Plannings::Table, Plannings::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("assignments_service")
                            .from(Assignments::Table, Assignments::ServiceId)
                            .to(Services::Table, Services::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("assignments_user")
                            .from(Assignments::Table, Assignments::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            (
                "assignments_service_user",
                vec![Assignments::ServiceId, Assignments::UserId],
                true,
            ),
            ("assignments_planning", vec![Assignments::PlanningId], false),
            (
                "assignments_org_user",
                vec![Assignments::OrganizationId, Assignments::UserId],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Assignments::Table);
            for c in cols {
                index.col(c);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(CalendarFeeds::Table)
                    .col(
                        ColumnDef::new(CalendarFeeds::UserId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(CalendarFeeds::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CalendarFeeds::TokenHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(CalendarFeeds::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("calendar_feeds_user")
                            .from(CalendarFeeds::Table, CalendarFeeds::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("calendar_feeds_organization")
                            .from(CalendarFeeds::Table, CalendarFeeds::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            CalendarFeeds::Table.into_iden(),
            Assignments::Table.into_iden(),
            Plannings::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        for c in [
            DepartmentMembers::PreferredServiceTypes.into_iden(),
            DepartmentMembers::MaxPerMonth.into_iden(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(DepartmentMembers::Table)
                        .drop_column(c)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
