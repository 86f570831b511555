//! Availability, second part: date ranges ("away 3–17 Aug") and weekly rules ("every
//! Wednesday evening until June"). Like one-off blockouts they belong to the person within the
//! church, are scoped by church, and go with the person's account (ON DELETE CASCADE). Dates
//! are `YYYY-MM-DD` text and times `HH:MM:SS` text, as in `blockouts`; the weekday is its
//! English name (`monday` … `sunday`), checked by the schema. `until_date` NULL: no end.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BlockoutRanges {
    Table,
    Id,
    OrganizationId,
    UserId,
    FromDate,
    ToDate,
    StartTime,
    EndTime,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BlockoutWeeklyRules {
    Table,
    Id,
    OrganizationId,
    UserId,
    Weekday,
    StartTime,
    EndTime,
    StartsOn,
    UntilDate,
    Reason,
    CreatedAt,
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

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BlockoutRanges::Table)
                    .col(
                        ColumnDef::new(BlockoutRanges::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(BlockoutRanges::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(BlockoutRanges::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(BlockoutRanges::FromDate)
                            .string_len(10)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BlockoutRanges::ToDate)
                            .string_len(10)
                            .not_null()
                            .check(
                                Expr::col(BlockoutRanges::ToDate)
                                    .gte(Expr::col(BlockoutRanges::FromDate)),
                            ),
                    )
                    .col(
                        ColumnDef::new(BlockoutRanges::StartTime)
                            .string_len(8)
                            .null(),
                    )
                    .col(ColumnDef::new(BlockoutRanges::EndTime).string_len(8).null())
                    .col(
                        ColumnDef::new(BlockoutRanges::Reason)
                            .string_len(200)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(BlockoutRanges::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("blockout_ranges_organization")
                            .from(BlockoutRanges::Table, BlockoutRanges::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("blockout_ranges_user")
                            .from(BlockoutRanges::Table, BlockoutRanges::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("blockout_ranges_org_user_to")
                    .table(BlockoutRanges::Table)
                    .col(BlockoutRanges::OrganizationId)
                    .col(BlockoutRanges::UserId)
                    .col(BlockoutRanges::ToDate)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BlockoutWeeklyRules::Table)
                    .col(
                        ColumnDef::new(BlockoutWeeklyRules::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(BlockoutWeeklyRules::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BlockoutWeeklyRules::UserId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BlockoutWeeklyRules::Weekday)
                            .string_len(9)
                            .not_null()
                            .check(Expr::col(BlockoutWeeklyRules::Weekday).is_in(WEEKDAYS)),
                    )
                    .col(
                        ColumnDef::new(BlockoutWeeklyRules::StartTime)
                            .string_len(8)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(BlockoutWeeklyRules::EndTime)
                            .string_len(8)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(BlockoutWeeklyRules::StartsOn)
                            .string_len(10)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BlockoutWeeklyRules::UntilDate)
                            .string_len(10)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(BlockoutWeeklyRules::Reason)
                            .string_len(200)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(BlockoutWeeklyRules::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("blockout_weekly_rules_organization")
                            .from(
                                BlockoutWeeklyRules::Table,
                                BlockoutWeeklyRules::OrganizationId,
                            )
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("blockout_weekly_rules_user")
                            .from(BlockoutWeeklyRules::Table, BlockoutWeeklyRules::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("blockout_weekly_rules_org_user")
                    .table(BlockoutWeeklyRules::Table)
                    .col(BlockoutWeeklyRules::OrganizationId)
                    .col(BlockoutWeeklyRules::UserId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            BlockoutWeeklyRules::Table.into_iden(),
            BlockoutRanges::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
