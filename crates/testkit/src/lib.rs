//! Test support for every crate's integration tests.
//!
//! * [`TestDb`] — a fresh, migrated database per test. SQLite by default (a copy of a
//!   template file migrated once per test process); PostgreSQL when `TEST_DATABASE_URL` is set
//!   (a `CREATE DATABASE … TEMPLATE` clone of a template migrated once, guarded by an advisory
//!   lock so parallel test processes migrate it once). Dropped with the guard. No shared
//!   database, no `#[serial]`.
//! * [`TestApp`] — the real server on `127.0.0.1:0` over a fresh database, with a
//!   [`RecordingMailer`], in-memory files, Redis when `TEST_REDIS_URL` is set, a `reqwest`
//!   client, and [`TestApp::run_worker_until_idle`].
//!
//! A configured server (`TEST_DATABASE_URL`, `TEST_REDIS_URL`) that does not answer fails the
//! test with a message naming the variable: nothing is skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use app::{AppContext, Overrides, Settings};
use blobs::{AnyBlobStore, MemoryStore};
use mail::{AnyMailer, RecordingMailer};
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::OnceCell;

pub use mail::FailureKind;
pub use worker::RunStats;

/// The `SECRET_KEY` of every [`TestApp`], so tests can forge tokens to prove they are refused.
pub const TEST_SECRET_KEY: &str = "test-secret-key-used-only-by-the-test-suite-0123456789";

/// Which backend the suite runs on in this process.
pub fn pg_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Redis for this process's tests, if configured.
pub fn redis_url() -> Option<String> {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

fn schema_hash() -> String {
    let mut h = Sha256::new();
    for m in Migrator::migrations() {
        h.update(m.name().as_bytes());
        h.update(b"\n");
    }
    h.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fresh migrated database, removed when dropped.
pub struct TestDb {
    pub url: String,
    kind: DbKind,
}

enum DbKind {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

static SQLITE_TEMPLATE: OnceCell<(tempfile::TempDir, PathBuf)> = OnceCell::const_new();
static PG_TEMPLATE: OnceCell<String> = OnceCell::const_new();

impl TestDb {
    /// A fresh database on the configured backend.
    pub async fn new() -> TestDb {
        match pg_url() {
            Some(url) => Self::postgres(&url).await,
            None => Self::sqlite().await,
        }
    }

    /// A fresh, *empty* database (no migrations), for migration tests.
    pub async fn empty() -> TestDb {
        match pg_url() {
            Some(admin) => {
                let name = format!("t_{}", uuid::Uuid::new_v4().simple());
                let conn = connect_admin(&admin).await;
                conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                TestDb {
                    url: replace_db_name(&admin, &name),
                    kind: DbKind::Postgres {
                        admin_url: admin,
                        name,
                    },
                }
            }
            None => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/test.db", dir.path().display());
                TestDb {
                    url,
                    kind: DbKind::Sqlite(dir),
                }
            }
        }
    }

    async fn sqlite() -> TestDb {
        let (_, template) = SQLITE_TEMPLATE
            .get_or_init(|| async {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("template.db");
                let db = store_sea::Db::connect(&store_sea::DbConfig::new(format!(
                    "sqlite://{}",
                    path.display()
                )))
                .await
                .unwrap();
                db.migrate_up().await.unwrap();
                // Closing checkpoints the WAL into the file, so a plain copy is complete.
                db.conn.close().await.unwrap();
                (dir, path)
            })
            .await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.db");
        std::fs::copy(template, &path).unwrap();
        TestDb {
            url: format!("sqlite://{}", path.display()),
            kind: DbKind::Sqlite(dir),
        }
    }

    async fn postgres(admin: &str) -> TestDb {
        let template = PG_TEMPLATE
            .get_or_init(|| async { ensure_pg_template(admin).await })
            .await;
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let conn = connect_admin(admin).await;
        let sql = format!("CREATE DATABASE {name} TEMPLATE {template}");
        let mut tries = 0;
        loop {
            match conn.execute_unprepared(&sql).await {
                Ok(_) => break,
                // Another process may be connected to the template for a moment.
                Err(e) if tries < 50 && e.to_string().contains("being accessed") => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot create test database from {template}: {e}"),
            }
        }
        let _ = conn.close().await;
        TestDb {
            url: replace_db_name(admin, &name),
            kind: DbKind::Postgres {
                admin_url: admin.to_string(),
                name,
            },
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.kind, DbKind::Postgres { .. })
    }

    /// Connects a small pool to this database.
    pub async fn connect(&self) -> store_sea::Db {
        let mut cfg = store_sea::DbConfig::new(&self.url);
        cfg.max_connections = 5;
        store_sea::Db::connect(&cfg).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let DbKind::Postgres { admin_url, name } = &self.kind {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop needs async I/O; do it on a thread of its own so it works from any runtime.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    if let Ok(c) = Database::connect(&admin_url).await {
                        let _ = c
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                        let _ = c.close().await;
                    }
                });
            })
            .join();
        }
    }
}

async fn connect_admin(admin: &str) -> sea_orm::DatabaseConnection {
    match Database::connect(admin).await {
        Ok(c) => c,
        Err(e) => panic!("TEST_DATABASE_URL is set but PostgreSQL does not answer ({e})"),
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match base.rsplit_once('/') {
        Some((head, _))
            if head.contains("://") && head.len() > head.find("://").unwrap_or(0) + 3 =>
        {
            format!("{head}/{name}")
        }
        _ => format!("{base}/{name}"),
    };
    match query {
        Some(q) => format!("{base}?{q}"),
        None => base,
    }
}

/// Creates (once per schema version, across processes) the migrated template database.
async fn ensure_pg_template(admin: &str) -> String {
    let name = format!("monservice_tpl_{}", schema_hash());
    let conn = connect_admin(admin).await;
    // One process migrates; the others wait on the lock and then find it done.
    conn.execute_unprepared("SELECT pg_advisory_lock(724513)")
        .await
        .unwrap();
    let exists = conn
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
        ))
        .await
        .unwrap()
        .is_some();
    if !exists {
        let building = format!("{name}_building");
        conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .await
            .unwrap();
        conn.execute_unprepared(&format!("CREATE DATABASE {building}"))
            .await
            .unwrap();
        let db = Database::connect(replace_db_name(admin, &building))
            .await
            .unwrap();
        Migrator::up(&db, None).await.unwrap();
        db.close().await.unwrap();
        conn.execute_unprepared(&format!("ALTER DATABASE {building} RENAME TO {name}"))
            .await
            .unwrap();
    }
    conn.execute_unprepared("SELECT pg_advisory_unlock(724513)")
        .await
        .unwrap();
    let _ = conn.close().await;
    name
}

/// The service running for one test.
pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub client: reqwest::Client,
    pub ctx: AppContext,
    pub mailer: RecordingMailer,
    /// Shared with the apps [`TestApp::spawn_sibling`] started over the same database.
    pub db: Arc<TestDb>,
    /// The settings it was built from, for siblings.
    env: HashMap<String, String>,
    server: actix_web_handle::Handle,
    _data: tempfile::TempDir,
}

mod actix_web_handle {
    /// The server's stop handle, without naming actix types in the public API.
    pub struct Handle(pub(crate) Box<dyn Fn() + Send + Sync>);
}

impl TestApp {
    /// The service on a fresh database with default test settings.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// The same, with some settings overridden (`("SERVE_UNPREFIXED_PATHS", "false")`).
    pub async fn spawn_with(env: &[(&str, &str)]) -> TestApp {
        let db = Arc::new(TestDb::new().await);
        let mut map: HashMap<String, String> = HashMap::from([
            ("APP_ENV".into(), "test".into()),
            ("DATABASE_URL".into(), db.url.clone()),
            ("DATABASE_POOL_SIZE".into(), "5".into()),
            ("DATABASE_MAX_OVERFLOW".into(), "0".into()),
            ("AUTO_MIGRATE".into(), "false".into()),
            ("WORKERS".into(), "1".into()),
            ("WORKER_POLL_INTERVAL_MS".into(), "200".into()),
            ("SECRET_KEY".into(), TEST_SECRET_KEY.into()),
            // Tests of the limits set their own; the others must never hit one.
            ("RATE_LIMIT_AUTH_PER_MINUTE".into(), "1000".into()),
        ]);
        if let Some(r) = redis_url() {
            map.insert("REDIS_URL".into(), r);
            map.insert(
                "REDIS_NAMESPACE".into(),
                format!("test-{}", uuid::Uuid::new_v4().simple()),
            );
        }
        for (k, v) in env {
            map.insert((*k).into(), (*v).into());
        }
        Self::start(db, map, env, None).await
    }

    /// A second instance of the service over the same database and the same Redis namespace
    /// (as two API processes of one deployment), with some settings overridden. Without
    /// Redis the two share this app's in-process fan-out, as if they ran in one process.
    pub async fn spawn_sibling(&self, env: &[(&str, &str)]) -> TestApp {
        let mut map = self.env.clone();
        for (k, v) in env {
            map.insert((*k).into(), (*v).into());
        }
        let shared = (self.ctx.redis.is_none() && !map.contains_key("REDIS_URL"))
            .then(|| self.ctx.fanout.clone());
        Self::start(self.db.clone(), map, env, shared).await
    }

    async fn start(
        db: Arc<TestDb>,
        map: HashMap<String, String>,
        env: &[(&str, &str)],
        fanout: Option<kv::Fanout>,
    ) -> TestApp {
        let data = tempfile::tempdir().unwrap();
        let mut map = map;
        map.insert("DATA_DIR".into(), data.path().display().to_string());
        let settings = Settings::from_map(&map).unwrap();
        let mailer = RecordingMailer::new();
        // A test that configures SMTP gets the real SMTP adapter; the others record.
        let real_smtp = env.iter().any(|(k, _)| *k == "SMTP_HOST");
        let ctx = AppContext::build(
            settings,
            Overrides {
                mailer: (!real_smtp).then(|| AnyMailer::Recording(mailer.clone())),
                // A test that configures S3 gets the real S3 adapter; the others keep files in memory.
                blobs: (!env.iter().any(|(k, _)| *k == "S3_BUCKET_NAME"))
                    .then(|| AnyBlobStore::Memory(MemoryStore::default())),
                clock: None,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("cannot build the app context: {e}"));
        let mut ctx = ctx;
        if let Some(f) = fanout {
            ctx.fanout = f;
        }
        let own_redis = !env.iter().any(|(k, _)| *k == "REDIS_URL");
        if let Some(r) = ctx.redis.as_ref().filter(|_| own_redis) {
            r.ping().await.unwrap_or_else(|e| {
                panic!("TEST_REDIS_URL is set but Redis does not answer ({e})")
            });
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = api::start(ctx.clone(), listener).unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        TestApp {
            addr,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            ctx,
            mailer,
            db,
            env: map,
            server: actix_web_handle::Handle(Box::new(move || {
                let h = handle.clone();
                drop(tokio::spawn(async move { h.stop(false).await }));
            })),
            _data: data,
        }
    }

    /// Makes the database unreachable for the running server (every pool, including the
    /// per-worker pools on PostgreSQL), to test how the service degrades.
    pub async fn take_database_away(&self) {
        match &self.db.kind {
            DbKind::Sqlite(_) => self.ctx.db.conn.clone().close().await.unwrap(),
            DbKind::Postgres { admin_url, name } => {
                let admin = connect_admin(admin_url).await;
                admin
                    .execute_unprepared(&format!(
                        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"
                    ))
                    .await
                    .unwrap();
                admin
                    .execute_unprepared(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
                    ))
                    .await
                    .unwrap();
                let _ = admin.close().await;
            }
        }
    }

    /// Lets the server reach its database again after [`TestApp::take_database_away`], as
    /// when PostgreSQL comes back after a restart: the pools reconnect on their own. PostgreSQL
    /// only: a closed SQLite pool cannot be reopened (panics, naming why).
    pub async fn give_database_back(&self) {
        match &self.db.kind {
            DbKind::Sqlite(_) => panic!(
                "give_database_back: take_database_away closed the SQLite pool for good; \
                 only PostgreSQL can be given back"
            ),
            DbKind::Postgres { admin_url, name } => {
                let admin = connect_admin(admin_url).await;
                admin
                    .execute_unprepared(&format!(
                        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"
                    ))
                    .await
                    .unwrap();
                let _ = admin.close().await;
            }
        }
    }

    /// `http://127.0.0.1:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The standard worker over this app's context.
    pub fn worker(&self) -> worker::Worker {
        worker::Worker::standard(self.ctx.clone()).unwrap()
    }

    /// The standard worker over this app's context with another clock: jobs run "at" that
    /// clock's time (scheduled chases, reminders), while the HTTP server keeps the real one.
    pub fn worker_at(&self, clock: std::sync::Arc<dyn kernel::Clock>) -> worker::Worker {
        let mut ctx = self.ctx.clone();
        ctx.clock = clock;
        worker::Worker::standard(ctx).unwrap()
    }

    /// Runs every due job to its outcome, one at a time, and returns what happened.
    pub async fn run_worker_until_idle(&self) -> RunStats {
        self.worker().run_until_idle().await.unwrap()
    }
}

/// The password of every account [`TestApp::sign_up`] creates.
pub const TEST_PASSWORD: &str = "correct horse battery";

/// Someone signed in during a test.
#[derive(Clone, Debug)]
pub struct Signed {
    pub token: String,
    pub user_id: String,
    pub email: String,
}

impl TestApp {
    /// One request; returns the status and the JSON body (`Null` when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        self.call_with_headers(method, path, token, body, &[]).await
    }

    /// [`TestApp::call`] with extra request headers (`If-Match`…).
    pub async fn call_with_headers(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self.client.request(method, self.url(path));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await.unwrap();
        let status = res.status().as_u16();
        let bytes = res.bytes().await.unwrap();
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
        };
        (status, json)
    }

    /// Registers `email` (names from its local part) with [`TEST_PASSWORD`].
    pub async fn sign_up(&self, email: &str) -> Signed {
        self.sign_up_with(email, serde_json::json!({})).await
    }

    /// Registers with extra fields in the body (`invitationToken`…).
    pub async fn sign_up_with(&self, email: &str, extra: serde_json::Value) -> Signed {
        let first = email.split('@').next().unwrap_or("x");
        let mut body = serde_json::json!({
            "email": email, "password": TEST_PASSWORD,
            "firstName": first, "lastName": "Test",
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (status, res) = self
            .call("POST", "/api/v1/auth/register", None, Some(body))
            .await;
        assert_eq!(status, 201, "register {email}: {res}");
        Signed {
            token: res["accessToken"].as_str().unwrap().to_string(),
            user_id: res["user"]["id"].as_str().unwrap().to_string(),
            email: email.to_string(),
        }
    }

    /// `admin` creates a church called `name` and becomes its administrator; its JSON.
    pub async fn create_church(&self, admin: &Signed, name: &str) -> serde_json::Value {
        let (status, org) = self
            .call(
                "POST",
                "/api/v1/organizations",
                Some(&admin.token),
                Some(serde_json::json!({ "name": name })),
            )
            .await;
        assert_eq!(status, 201, "create church {name}: {org}");
        org
    }

    /// `admin` creates a department; its id.
    pub async fn create_department(&self, admin: &Signed, name: &str) -> String {
        let (status, d) = self
            .call(
                "POST",
                "/api/v1/departments",
                Some(&admin.token),
                Some(serde_json::json!({ "name": name })),
            )
            .await;
        assert_eq!(status, 201, "create department {name}: {d}");
        d["id"].as_str().unwrap().to_string()
    }

    /// `by` invites `email` to `dept` (role `member` when `None`); the invitation's id and
    /// the token of the emailed link (the worker delivers it).
    pub async fn invite(
        &self,
        by: &Signed,
        dept: &str,
        email: &str,
        role: Option<&str>,
    ) -> (String, String) {
        let mut body = serde_json::json!({ "email": email });
        if let Some(r) = role {
            body["role"] = r.into();
        }
        let (status, inv) = self
            .call(
                "POST",
                &format!("/api/v1/departments/{dept}/invitations"),
                Some(&by.token),
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "invite {email}: {inv}");
        (
            inv["id"].as_str().unwrap().to_string(),
            self.emailed_link_token("/invitations/").await,
        )
    }

    /// `by` invites `email` to `dept` as `role`, and the invitee registers with the token.
    pub async fn join_department(
        &self,
        by: &Signed,
        dept: &str,
        email: &str,
        role: &str,
    ) -> Signed {
        let (_, token) = self.invite(by, dept, email, Some(role)).await;
        self.sign_up_with(email, serde_json::json!({ "invitationToken": token }))
            .await
    }

    /// Adds `n` active members (`m{k}@example.org`, skills Chant and Guitare, every other one
    /// with an avatar) to the department straight in the database: the setup of size tests,
    /// not their subject.
    pub async fn add_members_directly(&self, org: &str, dept: &str, from: usize, n: usize) {
        let conn = &self.ctx.db.conn;
        let backend = conn.get_database_backend();
        let uuid = |s: &str| s.parse::<uuid::Uuid>().unwrap();
        for k in from..from + n {
            let id = uuid::Uuid::now_v7();
            conn.execute_raw(store_sea::jobs::stmt(
                backend,
                "INSERT INTO users (id, email, first_name, last_name, locale, avatar_key, \
                     is_email_verified, is_active, organization_id, role, notification_prefs, \
                     created_at, updated_at) VALUES (?, ?, ?, ?, 'fr', ?, ?, ?, ?, 'member', '{}', 0, 0)",
                vec![
                    id.into(),
                    format!("m{k}@example.org").into(),
                    format!("First{k}").into(),
                    format!("Last{k:04}").into(),
                    // Every other member has an avatar: its URL is built without a query.
                    (k % 2 == 0).then(|| format!("avatars/{id}/a.webp")).into(),
                    true.into(),
                    true.into(),
                    uuid(org).into(),
                ],
            ))
            .await
            .unwrap();
            conn.execute_raw(store_sea::jobs::stmt(
                backend,
                "INSERT INTO department_members (department_id, user_id, organization_id, role, \
                     skills, status, joined_at, updated_at) VALUES (?, ?, ?, 'member', ?, 'active', 0, 0)",
                vec![
                    uuid(dept).into(),
                    id.into(),
                    uuid(org).into(),
                    r#"["Chant","Guitare"]"#.into(),
                ],
            ))
            .await
            .unwrap();
        }
    }

    /// Runs the worker, then returns the last path segment (or `token=` value) of the most
    /// recent delivered link containing `marker` (e.g. `/invitations/`).
    pub async fn emailed_link_token(&self, marker: &str) -> String {
        self.run_worker_until_idle().await;
        let mail = self
            .mailer
            .deliveries()
            .into_iter()
            .rev()
            .find(|m| m.text.contains(marker))
            .unwrap_or_else(|| panic!("no email with a {marker} link"));
        let after = mail.text.split(marker).nth(1).unwrap();
        after
            .trim_start_matches("token=")
            .split(|c: char| c.is_whitespace() || c == '&')
            .next()
            .unwrap()
            .to_string()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        (self.server.0)();
    }
}
