//! Teams: churches (the tenant), their departments, department members and invitations.
//!
//! Every tenant-owned row carries `organization_id`. Members and invitations reference their
//! department through `(department_id, organization_id)`, so the database itself refuses a
//! row whose church differs from its department's: a second wall behind the scoped queries.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    Slug,
    Timezone,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Departments {
    Table,
    Id,
    OrganizationId,
    Name,
    NameKey,
    Description,
    AvailabilityDeadlineDays,
    ReminderHoursBefore,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DepartmentMembers {
    Table,
    DepartmentId,
    UserId,
    OrganizationId,
    Role,
    Skills,
    Status,
    JoinedAt,
    RemovedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    OrganizationId,
    DepartmentId,
    Email,
    Role,
    TokenHash,
    Status,
    InvitedBy,
    ExpiresAt,
    CreatedAt,
    UpdatedAt,
    AcceptedAt,
    AcceptedBy,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

const ROLES: [&str; 3] = ["leader", "member", "guest"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(
                        ColumnDef::new(Organizations::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Organizations::Name)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Organizations::Slug)
                            .string_len(100)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Organizations::Timezone)
                            .string_len(64)
                            .not_null()
                            .default("Europe/Paris"),
                    )
                    .col(
                        ColumnDef::new(Organizations::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Organizations::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Departments::Table)
                    .col(
                        ColumnDef::new(Departments::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Departments::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Departments::Name).string_len(100).not_null())
                    .col(
                        ColumnDef::new(Departments::NameKey)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Departments::Description).text().null())
                    .col(
                        ColumnDef::new(Departments::AvailabilityDeadlineDays)
                            .integer()
                            .not_null()
                            .default(7)
                            .check(Expr::col(Departments::AvailabilityDeadlineDays).between(1, 30)),
                    )
                    .col(
                        ColumnDef::new(Departments::ReminderHoursBefore)
                            .integer()
                            .not_null()
                            .default(24)
                            .check(Expr::col(Departments::ReminderHoursBefore).between(1, 168)),
                    )
                    .col(ColumnDef::new(Departments::ArchivedAt).big_integer().null())
                    .col(
                        ColumnDef::new(Departments::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Departments::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("departments_organization")
                            .from(Departments::Table, Departments::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The target of the composite foreign keys below.
        manager
            .create_index(
                Index::create()
                    .name("departments_id_organization")
                    .table(Departments::Table)
                    .col(Departments::Id)
                    .col(Departments::OrganizationId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        // Names are unique within a church, ignoring case, among departments in use.
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX departments_org_name_live ON departments \
             (organization_id, name_key) WHERE archived_at IS NULL",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(DepartmentMembers::Table)
                    .col(
                        ColumnDef::new(DepartmentMembers::DepartmentId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(DepartmentMembers::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(DepartmentMembers::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DepartmentMembers::Role)
                            .string_len(16)
                            .not_null()
                            .default("member")
                            .check(Expr::col(DepartmentMembers::Role).is_in(ROLES)),
                    )
                    .col(
                        ColumnDef::new(DepartmentMembers::Skills)
                            .text()
                            .not_null()
                            .default("[]"),
                    )
                    .col(
                        ColumnDef::new(DepartmentMembers::Status)
                            .string_len(16)
                            .not_null()
                            .default("active")
                            .check(
                                Expr::col(DepartmentMembers::Status).is_in(["active", "removed"]),
                            ),
                    )
                    .col(
                        ColumnDef::new(DepartmentMembers::JoinedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DepartmentMembers::RemovedAt)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(DepartmentMembers::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(DepartmentMembers::DepartmentId)
                            .col(DepartmentMembers::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("department_members_department")
                            .from(
                                DepartmentMembers::Table,
                                (
                                    DepartmentMembers::DepartmentId,
                                    DepartmentMembers::OrganizationId,
                                ),
                            )
                            .to(
                                Departments::Table,
                                (Departments::Id, Departments::OrganizationId),
                            )
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("department_members_user")
                            .from(DepartmentMembers::Table, DepartmentMembers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("department_members_user")
                    .table(DepartmentMembers::Table)
                    .col(DepartmentMembers::UserId)
                    .col(DepartmentMembers::OrganizationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(
                        ColumnDef::new(Invitations::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Invitations::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Invitations::DepartmentId).uuid().not_null())
                    .col(
                        ColumnDef::new(Invitations::Email)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Invitations::Role)
                            .string_len(16)
                            .not_null()
                            .check(Expr::col(Invitations::Role).is_in(ROLES)),
                    )
                    .col(
                        ColumnDef::new(Invitations::TokenHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Invitations::Status)
                            .string_len(16)
                            .not_null()
                            .default("pending")
                            .check(Expr::col(Invitations::Status).is_in([
                                "pending",
                                "accepted",
                                "cancelled",
                                "expired",
                            ])),
                    )
                    .col(ColumnDef::new(Invitations::InvitedBy).uuid().null())
                    .col(
                        ColumnDef::new(Invitations::ExpiresAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Invitations::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Invitations::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Invitations::AcceptedAt).big_integer().null())
                    .col(ColumnDef::new(Invitations::AcceptedBy).uuid().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("invitations_department")
                            .from(
                                Invitations::Table,
                                (Invitations::DepartmentId, Invitations::OrganizationId),
                            )
                            .to(
                                Departments::Table,
                                (Departments::Id, Departments::OrganizationId),
                            )
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("invitations_invited_by")
                            .from(Invitations::Table, Invitations::InvitedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("invitations_accepted_by")
                            .from(Invitations::Table, Invitations::AcceptedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invitations_department_status")
                    .table(Invitations::Table)
                    .col(Invitations::OrganizationId)
                    .col(Invitations::DepartmentId)
                    .col(Invitations::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invitations_email")
                    .table(Invitations::Table)
                    .col(Invitations::Email)
                    .to_owned(),
            )
            .await?;
        // One pending invitation per address and department.
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX invitations_pending_email ON invitations \
             (department_id, email) WHERE status = 'pending'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP INDEX IF EXISTS invitations_pending_email")
            .await?;
        conn.execute_unprepared("DROP INDEX IF EXISTS departments_org_name_live")
            .await?;
        for t in [
            Invitations::Table.into_iden(),
            DepartmentMembers::Table.into_iden(),
            Departments::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
