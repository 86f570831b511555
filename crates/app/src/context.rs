//! The application context: one concrete adapter per port, chosen by the settings.

use crate::settings::{FileSettings, MailSettings, Settings};
use blobs::{AnyBlobStore, LocalFsStore, S3Config, S3Store};
use kernel::{Clock, SystemClock};
use kv::{Cache, Fanout, RateLimiter, Redis, Wakeup};
use mail::{AnyMailer, FileMailer, MailFrom, SmtpConfig, SmtpMailer};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use store_sea::{
    Db, DbConfig, JobStore, NewJob, SeaAccounts, SeaAnnouncements, SeaAvailability,
    SeaCalendarFeeds, SeaNotifications, SeaRota, SeaSchedule, SeaTeams, StoreError,
};

/// The accounts service as wired in production and tests.
pub type AccountsService = accounts::Accounts<SeaAccounts, crate::password::Argon2Hasher>;

/// The teams service as wired in production and tests.
pub type TeamsService = teams::Teams<SeaTeams>;

/// The availability service as wired in production and tests.
pub type AvailabilityService = availability::Availability<SeaAvailability, SeaTeams>;

/// The announcements service as wired in production and tests.
pub type AnnouncementsService = teams::announcements::Announcements<SeaAnnouncements, SeaTeams>;

/// The rota service as wired in production and tests.
pub type RotaService = rota::Rota<SeaRota, SeaAvailability, SeaTeams>;
/// The services service as wired in production and tests.
pub type ScheduleService = schedule::Schedule<SeaSchedule, SeaTeams>;
/// The notifications service as wired in production and tests.
pub type NotificationsService = notifications::Notifications<SeaNotifications>;

/// Personal calendar feeds (their tokens and the rota they read), as wired in production and
/// tests.
pub type CalendarFeedsService = exports::CalendarFeeds<SeaCalendarFeeds, SeaRota>;

/// How long an invitation link stays valid.
pub const INVITATION_TTL_DAYS: i64 = 7;

/// Adapters a caller (the test kit) wants instead of those the settings would choose.
#[derive(Default)]
pub struct Overrides {
    pub mailer: Option<AnyMailer>,
    pub blobs: Option<AnyBlobStore>,
    pub clock: Option<Arc<dyn Clock>>,
}

/// Everything a request handler or a job handler may use.
#[derive(Clone)]
pub struct AppContext {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub jobs: JobStore,
    pub wakeup: Wakeup,
    pub redis: Option<Redis>,
    pub rate_limiter: RateLimiter,
    pub cache: Cache,
    /// Wakes users' live (WebSocket) connections when they have new notifications, in every
    /// API process (through Redis when configured).
    pub fanout: Fanout,
    pub mailer: AnyMailer,
    pub blobs: AnyBlobStore,
    pub clock: Arc<dyn Clock>,
    pub accounts: AccountsService,
    pub teams: TeamsService,
    pub availability: AvailabilityService,
    pub rota: RotaService,
    pub schedule: ScheduleService,
    pub calendar_feeds: CalendarFeedsService,
    pub notifications: NotificationsService,
    pub announcements: AnnouncementsService,
    /// Google sign-in, when `FEATURE_OAUTH_GOOGLE` is on and `GOOGLE_CLIENT_ID` is set.
    pub google: Option<oidc::GoogleOidc>,
}

/// Why the context could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("database: {0}")]
    Db(#[from] StoreError),
    #[error("redis: {0}")]
    Redis(#[from] kv::KvError),
    #[error("mail: {0}")]
    Mail(String),
    #[error("files: {0}")]
    Files(String),
    #[error("password hashing: {0}")]
    Hasher(String),
    #[error("google sign-in: {0}")]
    Google(String),
    #[error(
        "the database has {0} pending migration(s); run `monservice migrate up` first (AUTO_MIGRATE=true applies them at start-up)"
    )]
    PendingMigrations(usize),
}

impl AppContext {
    /// Connects every adapter. With `AUTO_MIGRATE` (the SQLite default) pending migrations are
    /// applied; otherwise a database with pending migrations is refused, so code never runs
    /// against a schema older than itself.
    pub async fn build(settings: Settings, overrides: Overrides) -> Result<Self, ContextError> {
        let settings = Arc::new(settings);
        let mut db_cfg = DbConfig::new(settings.database_url.expose_secret());
        db_cfg.max_connections = settings.database_max_connections;
        db_cfg.echo = settings.database_echo;
        let db = Db::connect(&db_cfg).await?;
        if settings.auto_migrate {
            db.migrate_up().await?;
        } else {
            let pending = db.pending_migrations().await?;
            if !pending.is_empty() {
                return Err(ContextError::PendingMigrations(pending.len()));
            }
        }

        let redis = match &settings.redis_url {
            Some(url) => Some(Redis::new(
                url.expose_secret(),
                settings.redis_max_connections,
                &settings.redis_namespace,
            )?),
            None => None,
        };
        let (wakeup, rate_limiter, cache, fanout) = match &redis {
            Some(r) => (
                Wakeup::Redis(r.clone()),
                RateLimiter::redis(r.clone()),
                Cache::Redis(r.clone()),
                Fanout::redis(r.clone()),
            ),
            None => (
                Wakeup::in_process(),
                RateLimiter::in_process(),
                Cache::in_process(),
                Fanout::in_process(),
            ),
        };

        let mailer = match overrides.mailer {
            Some(m) => m,
            None => build_mailer(&settings)?,
        };
        let blobs = match overrides.blobs {
            Some(b) => b,
            None => build_blobs(&settings)?,
        };

        let accounts = accounts::Accounts::new(
            SeaAccounts::new(db.conn.clone(), wakeup.clone()),
            crate::password::Argon2Hasher::new()
                .map_err(|e| ContextError::Hasher(e.to_string()))?,
            accounts::AccountsConfig {
                frontend_url: settings.frontend_url.clone(),
                app_name: settings.app_name.clone(),
                refresh_ttl: chrono::Duration::from_std(settings.refresh_token_ttl)
                    .unwrap_or(chrono::Duration::days(7)),
                link_ttl: chrono::Duration::hours(24),
            },
        );
        let teams = teams::Teams::new(
            SeaTeams::new(db.conn.clone(), wakeup.clone()),
            teams::TeamsConfig {
                frontend_url: settings.frontend_url.clone(),
                app_name: settings.app_name.clone(),
                invitation_ttl: chrono::Duration::days(INVITATION_TTL_DAYS),
            },
        );
        let google = match (&settings.google_client_id, settings.feature_oauth_google) {
            (Some(client_id), true) => Some(
                oidc::GoogleOidc::new(oidc::OidcConfig {
                    issuer_url: settings.google_issuer_url.clone(),
                    client_id: client_id.clone(),
                    client_secret: settings.google_client_secret.clone(),
                    redirect_uri: settings.google_redirect_uri.clone(),
                    http_timeout: Duration::from_secs(10),
                })
                .map_err(|e| ContextError::Google(e.to_string()))?,
            ),
            _ => None,
        };
        Ok(AppContext {
            google,
            accounts,
            availability: availability::Availability::new(
                SeaAvailability::new(db.conn.clone(), wakeup.clone()),
                teams.clone(),
            ),
            rota: rota::Rota::new(
                SeaRota::new(db.conn.clone(), wakeup.clone()),
                SeaAvailability::new(db.conn.clone(), wakeup.clone()),
                teams.clone(),
            ),
            schedule: schedule::Schedule::new(
                SeaSchedule::new(db.conn.clone(), wakeup.clone()),
                teams.clone(),
            ),
            calendar_feeds: exports::CalendarFeeds::new(
                SeaCalendarFeeds::new(db.conn.clone()),
                SeaRota::new(db.conn.clone(), wakeup.clone()),
            ),
            notifications: notifications::Notifications::with_email(
                Arc::new(SeaNotifications::new(db.conn.clone())),
                email_config(&settings),
            ),
            announcements: teams::announcements::Announcements::new(
                SeaAnnouncements::new(db.conn.clone(), wakeup.clone()),
                teams.clone(),
            ),
            teams,
            jobs: JobStore::new(db.conn.clone()),
            db,
            wakeup,
            redis,
            rate_limiter,
            cache,
            fanout,
            mailer,
            blobs,
            clock: overrides.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            settings,
        })
    }

    /// A copy of the context for one HTTP worker thread. On PostgreSQL it gets a pool of its
    /// own (its share of `DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW`), opened lazily from
    /// that thread's runtime, so a request's database I/O is driven by the thread serving it
    /// instead of waking another runtime's threads. SQLite keeps one shared pool.
    pub fn for_http_worker(&self, workers: usize) -> AppContext {
        let mut cfg = DbConfig::new(self.settings.database_url.expose_secret());
        let share = self.settings.database_max_connections as usize / workers.max(1);
        cfg.max_connections = u32::try_from(share.max(2)).unwrap_or(2);
        cfg.echo = self.settings.database_echo;
        match Db::postgres_lazy(&cfg) {
            Some(Ok(db)) => {
                let mut ctx = self.clone();
                ctx.jobs = JobStore::new(db.conn.clone());
                ctx.accounts = accounts::Accounts::new(
                    SeaAccounts::new(db.conn.clone(), self.wakeup.clone()),
                    self.accounts.hasher.clone(),
                    self.accounts.cfg.clone(),
                );
                ctx.teams = teams::Teams::new(
                    SeaTeams::new(db.conn.clone(), self.wakeup.clone()),
                    self.teams.cfg.clone(),
                );
                ctx.availability = availability::Availability::new(
                    SeaAvailability::new(db.conn.clone(), self.wakeup.clone()),
                    ctx.teams.clone(),
                );
                ctx.rota = rota::Rota::new(
                    SeaRota::new(db.conn.clone(), self.wakeup.clone()),
                    SeaAvailability::new(db.conn.clone(), self.wakeup.clone()),
                    ctx.teams.clone(),
                );
                ctx.schedule = schedule::Schedule::new(
                    SeaSchedule::new(db.conn.clone(), self.wakeup.clone()),
                    ctx.teams.clone(),
                );
                ctx.calendar_feeds = exports::CalendarFeeds::new(
                    SeaCalendarFeeds::new(db.conn.clone()),
                    SeaRota::new(db.conn.clone(), self.wakeup.clone()),
                );
                ctx.notifications = notifications::Notifications::with_email(
                    Arc::new(SeaNotifications::new(db.conn.clone())),
                    self.notifications.email_config().clone(),
                );
                ctx.announcements = teams::announcements::Announcements::new(
                    SeaAnnouncements::new(db.conn.clone(), self.wakeup.clone()),
                    ctx.teams.clone(),
                );
                ctx.db = db;
                ctx
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "per-worker pool unavailable; sharing the main pool");
                self.clone()
            }
            None => self.clone(),
        }
    }

    /// Enqueues a standalone job and wakes the workers. Jobs caused by a data change are
    /// enqueued inside that change's transaction instead (`store_sea::jobs::enqueue`), then
    /// [`Wakeup::notify`] is called after the commit.
    pub async fn enqueue(&self, job: NewJob) -> Result<Option<kernel::JobId>, StoreError> {
        let id = self.jobs.enqueue(&job, self.clock.now()).await?;
        if id.is_some() {
            self.wakeup.notify().await;
        }
        Ok(id)
    }
}

/// Notification emails: on with `FEATURE_EMAIL_NOTIFICATIONS`, linking to `FRONTEND_URL`.
fn email_config(s: &Settings) -> notifications::EmailConfig {
    notifications::EmailConfig {
        enabled: s.feature_email_notifications,
        app_name: s.app_name.clone(),
        frontend_url: s.frontend_url.trim_end_matches('/').to_string(),
    }
}

fn mail_from(s: &Settings) -> MailFrom {
    MailFrom {
        name: s.mail_from_name.clone(),
        email: s.mail_from_email.clone(),
    }
}

fn build_mailer(s: &Settings) -> Result<AnyMailer, ContextError> {
    Ok(match &s.mail {
        MailSettings::Files { dir } => AnyMailer::File(FileMailer::new(dir.clone(), mail_from(s))),
        MailSettings::Smtp {
            host,
            port,
            user,
            password,
            tls,
        } => AnyMailer::Smtp(
            SmtpMailer::new(SmtpConfig {
                host: host.clone(),
                port: *port,
                user: user.clone(),
                password: password.clone(),
                tls: *tls,
                from: mail_from(s),
                timeout: Duration::from_secs(15),
            })
            .map_err(|e| ContextError::Mail(e.to_string()))?,
        ),
    })
}

fn build_blobs(s: &Settings) -> Result<AnyBlobStore, ContextError> {
    Ok(match &s.files {
        FileSettings::Local { dir } => AnyBlobStore::Local(LocalFsStore::new(dir.clone())),
        FileSettings::S3 {
            endpoint_url,
            access_key,
            secret_key,
            bucket,
            region,
            use_ssl,
        } => AnyBlobStore::S3(
            S3Store::new(S3Config {
                endpoint_url: endpoint_url.clone(),
                access_key: access_key.clone(),
                secret_key: secret_key.clone(),
                bucket: bucket.clone(),
                region: region.clone(),
                use_ssl: *use_ssl,
                path_style: endpoint_url.is_some(),
            })
            .map_err(|e| ContextError::Files(e.to_string()))?,
        ),
    })
}
