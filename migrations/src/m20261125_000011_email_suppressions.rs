//! Addresses that mail servers refused (a 5xx "no such mailbox" at delivery): MonService stops
//! writing notification emails to them, instead of queueing mail that can only bounce again.
//! Keyed by the address (lower-cased), not by church: a mailbox that does not exist does not
//! exist for anyone. A user who changes their address gets email again at the new one.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailSuppressions {
    Table,
    Email,
    Reason,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EmailSuppressions::Table)
                    .col(
                        ColumnDef::new(EmailSuppressions::Email)
                            .string_len(320)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(EmailSuppressions::Reason).text().not_null())
                    .col(
                        ColumnDef::new(EmailSuppressions::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailSuppressions::Table).to_owned())
            .await
    }
}
