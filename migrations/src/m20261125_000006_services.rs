//! Services: the dated events a department serves at (Sunday worship, rehearsal…), each with
//! the roles it needs (`required_roles`, a JSON list of `{role, count}`). A recurring series
//! keeps its RRULE and template; its occurrences are ordinary `services` rows pointing at it
//! (`is_exception` once one was edited alone). Dates are `YYYY-MM-DD` and times `HH:MM:SS`
//! text, local to the church's time zone, as for blockouts.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ServiceSeries {
    Table,
    Id,
    OrganizationId,
    DepartmentId,
    Rrule,
    Dtstart,
    Name,
    ServiceType,
    StartTime,
    EndTime,
    Location,
    Notes,
    RequiredRoles,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Services {
    Table,
    Id,
    OrganizationId,
    DepartmentId,
    SeriesId,
    IsException,
    Name,
    ServiceType,
    Date,
    StartTime,
    EndTime,
    Location,
    Notes,
    RequiredRoles,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Departments {
    Table,
    Id,
    OrganizationId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ServiceSeries::Table)
                    .col(
                        ColumnDef::new(ServiceSeries::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ServiceSeries::OrganizationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServiceSeries::DepartmentId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServiceSeries::Rrule)
                            .string_len(500)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServiceSeries::Dtstart)
                            .string_len(10)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServiceSeries::Name)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServiceSeries::ServiceType)
                            .string_len(50)
                            .not_null()
                            .default(""),
                    )
                    .col(
                        ColumnDef::new(ServiceSeries::StartTime)
                            .string_len(8)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServiceSeries::EndTime)
                            .string_len(8)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServiceSeries::Location)
                            .string_len(200)
                            .null(),
                    )
                    .col(ColumnDef::new(ServiceSeries::Notes).text().null())
                    .col(
                        ColumnDef::new(ServiceSeries::RequiredRoles)
                            .text()
                            .not_null()
                            .default("[]"),
                    )
                    .col(ColumnDef::new(ServiceSeries::CreatedBy).uuid().null())
                    .col(
                        ColumnDef::new(ServiceSeries::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServiceSeries::UpdatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("service_series_department")
                            .from(
                                ServiceSeries::Table,
                                (ServiceSeries::DepartmentId, ServiceSeries::OrganizationId),
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
            .create_table(
                Table::create()
                    .table(Services::Table)
                    .col(ColumnDef::new(Services::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Services::OrganizationId).uuid().not_null())
                    .col(ColumnDef::new(Services::DepartmentId).uuid().not_null())
                    .col(ColumnDef::new(Services::SeriesId).uuid().null())
                    .col(
                        ColumnDef::new(Services::IsException)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(Services::Name).string_len(100).not_null())
                    .col(
                        ColumnDef::new(Services::ServiceType)
                            .string_len(50)
                            .not_null()
                            .default(""),
                    )
                    .col(ColumnDef::new(Services::Date).string_len(10).not_null())
                    .col(ColumnDef::new(Services::StartTime).string_len(8).not_null())
                    .col(ColumnDef::new(Services::EndTime).string_len(8).not_null())
                    .col(ColumnDef::new(Services::Location).string_len(200).null())
                    .col(ColumnDef::new(Services::Notes).text().null())
                    .col(
                        ColumnDef::new(Services::RequiredRoles)
                            .text()
                            .not_null()
                            .default("[]"),
                    )
                    .col(ColumnDef::new(Services::CreatedBy).uuid().null())
                    .col(ColumnDef::new(Services::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Services::UpdatedAt).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("services_department")
                            .from(
                                Services::Table,
                                (Services::DepartmentId, Services::OrganizationId),
                            )
                            .to(
                                Departments::Table,
                                (Departments::Id, Departments::OrganizationId),
                            )
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("services_series")
                            .from(Services::Table, Services::SeriesId)
                            .to(ServiceSeries::Table, ServiceSeries::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "services_department_date",
                vec![Services::DepartmentId, Services::Date],
            ),
            (
                "services_org_date",
                vec![Services::OrganizationId, Services::Date],
            ),
            ("services_series", vec![Services::SeriesId]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Services::Table);
            for c in cols {
                index.col(c);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Services::Table.into_iden(),
            ServiceSeries::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
