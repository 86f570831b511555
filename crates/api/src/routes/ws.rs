//! Live notifications over WebSocket (docs/notifications.md, "Live push").
//!
//! * `POST /ws/ticket` (authenticated) mints a single-use ticket valid [`TICKET_TTL`], kept
//!   in `kv::Cache` under the SHA-256 of its value (Redis when configured, so any instance
//!   accepts it) and bound to the user, the church and the session. The access token never
//!   appears in a URL.
//! * `GET /ws?ticket=…[&after=<id>]` takes the ticket (atomically: `GETDEL`), checks the
//!   session is still live, then upgrades. Refusals are problem documents, before upgrading.
//! * A connection registers with `kv::Fanout`; a wake-up makes it read the user's
//!   notifications newer than what it sent, from the database (the source of truth), and send
//!   them. The read goes through the thread's [`LiveReader`], which answers every connection
//!   woken at the same moment from one statement. Heartbeats re-check the session (a revoked
//!   one closes the socket) and drop clients that stopped answering.

use crate::ApiError;
use crate::auth::AuthUser;
use crate::live::LiveReader;
use crate::routes::notifications::NotificationOut;
use accounts::SessionId;
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, post, web};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason};
use app::AppContext;
use kernel::{OrganizationId, UserId};
use kv::{FanoutSubscription, Push};
use notifications::{Notification, NotificationError, NotificationId, Since};
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

type Problem = crate::problem::Problem;

/// How long a ticket may wait before it is used.
pub const TICKET_TTL: Duration = Duration::from_secs(30);
/// The largest frame (or message) a client may send; beyond it the socket closes with 1009.
pub const MAX_CLIENT_FRAME: usize = 4 * 1024;
/// Notifications read per query (and per user in a [`LiveReader`] read).
pub const PAGE: u32 = 100;
/// Most notifications a resume sends; beyond it the client is told to reload its inbox.
const RESUME_MAX: usize = 1_000;
/// Dispatches commit in any order within this margin of their creation time, so each wake-up
/// re-reads this far back and skips what was sent already.
const COMMIT_MARGIN_MS: i64 = 10_000;
/// Clocks of the API and worker processes may differ by this much: a connection opened
/// without `after` also sends what was created this long before it opened.
const CLOCK_SKEW_MS: i64 = 2_000;
/// Ids remembered as sent (for the margin above).
const SENT_MEMORY: usize = 1_024;

/// Where a ticket is kept: its hash (`accounts::secret`), so the store never holds a usable
/// ticket.
pub fn ticket_key(ticket: &str) -> String {
    format!("ws-ticket:{}", accounts::secret::hash(ticket))
}

/// What a ticket stands for.
#[derive(Serialize, Deserialize)]
struct TicketData {
    user: Uuid,
    org: Option<Uuid>,
    session: String,
}

fn disabled() -> ApiError {
    ApiError::NotFound("Live notifications are turned off (FEATURE_WEBSOCKETS=false).".into())
}

fn kv_unavailable(e: kv::KvError) -> ApiError {
    tracing::warn!(error = %e, "websocket ticket store unavailable");
    ApiError::Unavailable("Live notifications are unavailable; try again shortly.".into())
}

/// A WebSocket ticket.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketOut {
    /// Pass as `GET /api/v1/ws?ticket=…` within `expiresIn` seconds; it works once.
    pub ticket: String,
    pub expires_in: u64,
}

/// A single-use ticket to open the notifications WebSocket (valid 30 seconds).
#[utoipa::path(tag = "notifications", security(("bearer" = [])), responses(
    (status = 200, body = TicketOut),
    (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "FEATURE_WEBSOCKETS=false", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "The ticket store (Redis) does not answer", body = Problem, content_type = "application/problem+json"),
))]
#[post("/ws/ticket")]
pub async fn create_ticket(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
) -> Result<web::Json<TicketOut>, ApiError> {
    if !ctx.settings.feature_websockets {
        return Err(disabled());
    }
    let auth = AuthUser::extract(&req).await?;
    let ticket = accounts::secret::generate();
    let data = TicketData {
        user: auth.user.id.as_uuid(),
        org: auth.user.organization_id.map(|o| o.as_uuid()),
        session: auth.session.to_string(),
    };
    let value = serde_json::to_string(&data).map_err(|e| ApiError::Internal(e.to_string()))?;
    ctx.cache
        .set(&ticket_key(&ticket), &value, TICKET_TTL)
        .await
        .map_err(kv_unavailable)?;
    Ok(web::Json(TicketOut {
        ticket,
        expires_in: TICKET_TTL.as_secs(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectParams {
    /// A ticket from `POST /api/v1/ws/ticket`.
    pub ticket: Option<String>,
    /// Resume: first send every notification newer than this one (the last id received).
    pub after: Option<String>,
}

fn bad_ticket() -> ApiError {
    ApiError::Unauthorized(
        "The WebSocket ticket is invalid, expired or already used; ask for a new one.".into(),
    )
}

/// The live notifications WebSocket (JSON text frames; protocol in docs/notifications.md).
#[utoipa::path(tag = "notifications", params(ConnectParams), responses(
    (status = 101, description = "Switching to the WebSocket protocol"),
    (status = 400, description = "Not a WebSocket handshake, or a malformed `after`", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing, forged, expired or used ticket, or the session ended", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "FEATURE_WEBSOCKETS=false", body = Problem, content_type = "application/problem+json"),
))]
#[get("/ws")]
pub async fn connect(
    ctx: web::Data<AppContext>,
    reader: web::Data<LiveReader>,
    req: HttpRequest,
    body: web::Payload,
    q: web::Query<ConnectParams>,
) -> Result<HttpResponse, ApiError> {
    if !ctx.settings.feature_websockets {
        return Err(disabled());
    }
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => Some(a.parse::<Uuid>().map(NotificationId).map_err(|_| {
            ApiError::bad_request("invalid_after", "`after` must be a notification id.")
        })?),
    };
    let ticket = q
        .ticket
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "No ticket: ask POST /api/v1/ws/ticket for one and pass it as ?ticket=.".into(),
            )
        })?;
    if ticket.len() > 128 {
        return Err(bad_ticket());
    }
    // The handshake is checked before the ticket is spent.
    let (response, session, stream) = actix_ws::handle(&req, body).map_err(|_| {
        ApiError::bad_request(
            "websocket_expected",
            "This endpoint speaks WebSocket only (Upgrade: websocket).",
        )
    })?;
    let data = ctx
        .cache
        .take(&ticket_key(ticket))
        .await
        .map_err(kv_unavailable)?
        .ok_or_else(bad_ticket)?;
    let data: TicketData = serde_json::from_str(&data).map_err(|_| bad_ticket())?;
    let sid: SessionId = data.session.parse().map_err(|_| bad_ticket())?;
    let user = ctx
        .accounts
        .session_user(sid, ctx.clock.now())
        .await
        .map_err(|e| match e {
            accounts::AccountError::SessionInvalid => {
                ApiError::Unauthorized("The session has ended. Sign in again.".into())
            }
            other => ApiError::from(other),
        })?;
    if user.id.as_uuid() != data.user || user.organization_id.map(|o| o.as_uuid()) != data.org {
        return Err(bad_ticket());
    }
    let stream = stream
        .max_frame_size(MAX_CLIENT_FRAME)
        .aggregate_continuations()
        .max_continuation_size(MAX_CLIENT_FRAME);
    let floor_ms = ctx.clock.now().timestamp_millis() - CLOCK_SKEW_MS;
    let sub = ctx.fanout.subscribe(user.id.as_uuid());
    let conn = Conn {
        ctx: ctx.get_ref().clone(),
        reader: reader.into_inner(),
        user: user.id,
        org: data.org.map(OrganizationId),
        session_id: sid,
        ws: session,
        floor_ms,
        newest_ms: floor_ms,
        sent: VecDeque::new(),
        sent_set: HashSet::new(),
    };
    // Counted from the upgrade on, so the gauge is right as soon as the client sees 101.
    let gauge = Gauge::open();
    actix_web::rt::spawn(conn.run(stream, sub, after, gauge));
    Ok(response)
}

/// A frame the server sends.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Out<'a> {
    Notification {
        notification: NotificationOut,
    },
    Ping,
    Pong,
    Reconnect,
    Error {
        code: &'a str,
        message: &'a str,
    },
    /// The end of a resume: every missed notification has been sent.
    Resumed {
        count: usize,
    },
}

/// The frame that carries `n`, as live delivery and resumes send it.
pub(crate) fn notification_frame(n: Notification) -> Option<String> {
    serde_json::to_string(&Out::Notification {
        notification: n.into(),
    })
    .ok()
}

/// Why the loop ended: the close frame to send, if any.
type Stop = Option<CloseReason>;

fn close(code: CloseCode, why: &str) -> Stop {
    Some(CloseReason {
        code,
        description: Some(why.into()),
    })
}

/// Counts one open connection on the gauge for its lifetime.
struct Gauge;
impl Gauge {
    fn open() -> Self {
        if let Some(g) = crate::metrics::websocket_connections() {
            g.inc();
        }
        Gauge
    }
}
impl Drop for Gauge {
    fn drop(&mut self) {
        if let Some(g) = crate::metrics::websocket_connections() {
            g.dec();
        }
    }
}

struct Conn {
    ctx: AppContext,
    reader: std::sync::Arc<LiveReader>,
    user: UserId,
    org: Option<OrganizationId>,
    session_id: SessionId,
    ws: actix_ws::Session,
    /// Nothing created before this is sent by live delivery (the connection's start, or the
    /// resume's anchor).
    floor_ms: i64,
    /// The newest creation time sent.
    newest_ms: i64,
    sent: VecDeque<Uuid>,
    sent_set: HashSet<Uuid>,
}

impl Conn {
    async fn run(
        mut self,
        mut stream: AggregatedMessageStream,
        mut sub: FanoutSubscription,
        after: Option<NotificationId>,
        _gauge: Gauge,
    ) {
        let stop = self.serve(&mut stream, &mut sub, after).await;
        drop(sub);
        let timeout = self.write_timeout();
        let _ = tokio::time::timeout(timeout, self.ws.close(stop)).await;
    }

    fn write_timeout(&self) -> Duration {
        self.ctx.settings.websocket_heartbeat
    }

    async fn send(&mut self, frame: &Out<'_>) -> Result<(), Stop> {
        let text = serde_json::to_string(frame).map_err(|_| None)?;
        self.send_text(text).await
    }

    async fn send_text(&mut self, text: String) -> Result<(), Stop> {
        // A client that does not read for a whole heartbeat is dropped.
        match tokio::time::timeout(self.write_timeout(), self.ws.text(text)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(None),
        }
    }

    async fn error_frame(&mut self, code: &str, message: &str) -> Result<(), Stop> {
        self.send(&Out::Error { code, message }).await
    }

    async fn serve(
        &mut self,
        stream: &mut AggregatedMessageStream,
        sub: &mut FanoutSubscription,
        after: Option<NotificationId>,
    ) -> Stop {
        match self.start(after).await {
            Ok(()) => {}
            Err(stop) => return stop,
        }
        let beat = self.ctx.settings.websocket_heartbeat;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        // A wake-up whose read failed (database away) is retried at the next heartbeat.
        let mut behind = false;
        loop {
            let step = tokio::select! {
                msg = stream.recv() => {
                    last_heard = Instant::now();
                    self.on_message(msg).await
                }
                push = sub.recv() => match push {
                    Some(Push::Wake) => self.deliver().await.map(|ok| behind = !ok),
                    // Told to, or dropped by the hub for falling behind: the client reconnects
                    // and resumes from the last id it received.
                    Some(Push::Reconnect) | None => {
                        let _ = self.send(&Out::Reconnect).await;
                        Err(close(CloseCode::Restart, "reconnect"))
                    }
                },
                _ = tick.tick() => {
                    if last_heard.elapsed() > beat * 2 {
                        Err(close(CloseCode::Policy, "no answer to heartbeats"))
                    } else {
                        self.heartbeat(&mut behind).await
                    }
                }
            };
            if let Err(stop) = step {
                return stop;
            }
        }
    }

    /// The first sends: a resume from `after`, if asked.
    async fn start(&mut self, after: Option<NotificationId>) -> Result<(), Stop> {
        match after {
            Some(id) => self.resume(id).await,
            None => Ok(()),
        }
    }

    async fn heartbeat(&mut self, behind: &mut bool) -> Result<(), Stop> {
        match self
            .ctx
            .accounts
            .session_user(self.session_id, self.ctx.clock.now())
            .await
        {
            Err(accounts::AccountError::SessionInvalid) => {
                return Err(close(CloseCode::Policy, "session ended"));
            }
            Ok(u) if u.id != self.user || u.organization_id != self.org => {
                return Err(close(CloseCode::Policy, "session ended"));
            }
            // The database may be away for a moment: keep the connection.
            _ => {}
        }
        if *behind {
            *behind = !self.deliver().await?;
        }
        if tokio::time::timeout(self.write_timeout(), self.ws.ping(b""))
            .await
            .ok()
            .and_then(Result::ok)
            .is_none()
        {
            return Err(None);
        }
        self.send(&Out::Ping).await
    }

    async fn on_message(
        &mut self,
        msg: Option<Result<AggregatedMessage, actix_ws::ProtocolError>>,
    ) -> Result<(), Stop> {
        match msg {
            None => Err(None),
            Some(Err(actix_ws::ProtocolError::Overflow)) => {
                Err(close(CloseCode::Size, "frames are limited to 4096 bytes"))
            }
            Some(Err(_)) => Err(close(CloseCode::Protocol, "protocol error")),
            Some(Ok(AggregatedMessage::Binary(_))) => {
                Err(close(CloseCode::Unsupported, "text frames only"))
            }
            Some(Ok(AggregatedMessage::Close(_))) => Err(None),
            Some(Ok(AggregatedMessage::Ping(b))) => {
                match tokio::time::timeout(self.write_timeout(), self.ws.pong(&b)).await {
                    Ok(Ok(())) => Ok(()),
                    _ => Err(None),
                }
            }
            Some(Ok(AggregatedMessage::Pong(_))) => Ok(()),
            Some(Ok(AggregatedMessage::Text(t))) => self.on_text(&t).await,
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<(), Stop> {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
            return self
                .error_frame("malformed_json", "A frame must be a JSON object.")
                .await;
        };
        match v.get("type").and_then(|t| t.as_str()) {
            Some("resume") => {
                let id = v
                    .get("after")
                    .and_then(|a| a.as_str())
                    .and_then(|a| a.parse::<Uuid>().ok());
                match id {
                    Some(id) => self.resume(NotificationId(id)).await,
                    None => {
                        self.error_frame("invalid_after", "`after` must be a notification id.")
                            .await
                    }
                }
            }
            Some("ping") => self.send(&Out::Pong).await,
            Some("pong") => Ok(()),
            _ => {
                self.error_frame(
                    "unknown_type",
                    "Known types: resume (with `after`), ping, pong.",
                )
                .await
            }
        }
    }

    /// Notes `n` as sent; `false` when it was already.
    fn remember(&mut self, id: Uuid, created_at_ms: i64) -> bool {
        self.newest_ms = self.newest_ms.max(created_at_ms);
        self.remember_id(id)
    }

    fn remember_id(&mut self, id: Uuid) -> bool {
        if !self.sent_set.insert(id) {
            return false;
        }
        self.sent.push_back(id);
        if self.sent.len() > SENT_MEMORY
            && let Some(old) = self.sent.pop_front()
        {
            self.sent_set.remove(&old);
        }
        true
    }

    /// Sends `n`, unless live delivery sent it already (`again`: a resume, which the client
    /// asked for, sends it anyway).
    async fn push(&mut self, n: Notification, again: bool) -> Result<(), Stop> {
        if !self.remember(n.id.as_uuid(), n.created_at.timestamp_millis()) && !again {
            return Ok(());
        }
        self.send_text(notification_frame(n).ok_or(None)?).await
    }

    /// Sends everything newer than `after` (the last id the client received), oldest first.
    async fn resume(&mut self, after: NotificationId) -> Result<(), Stop> {
        let Some(org) = self.org else {
            return self
                .error_frame("unknown_after", "No such notification of yours.")
                .await;
        };
        let mut since = Since::Id(after);
        let mut count = 0;
        loop {
            let page = match self
                .ctx
                .notifications
                .newer(org, self.user, since, PAGE)
                .await
            {
                Ok(p) => p,
                Err(NotificationError::NotFound) if count == 0 => {
                    return self
                        .error_frame("unknown_after", "No such notification of yours.")
                        .await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "websocket resume failed");
                    return Err(close(CloseCode::Again, "try again later"));
                }
            };
            if count == 0
                && let Some(at) = page.anchor_created_at
            {
                // Live delivery now starts from the anchor, which the client has.
                self.floor_ms = self.floor_ms.min(at.timestamp_millis());
                self.remember_id(after.as_uuid());
            }
            let n = page.items.len();
            let last = page.items.last().map(|l| l.id);
            for item in page.items {
                count += 1;
                self.push(item, true).await?;
            }
            match last {
                Some(id) if n == PAGE as usize && count < RESUME_MAX => since = Since::Id(id),
                Some(_) if n == PAGE as usize => {
                    self.error_frame(
                        "resume_truncated",
                        "Too much was missed: reload GET /api/v1/notifications.",
                    )
                    .await?;
                    break;
                }
                _ => break,
            }
        }
        self.send(&Out::Resumed { count }).await
    }

    /// A wake-up: sends what is new since the last sends. `Ok(false)` when the database could
    /// not be read (retried at the next heartbeat).
    async fn deliver(&mut self) -> Result<bool, Stop> {
        let Some(org) = self.org else {
            return Ok(true);
        };
        let from = self.floor_ms.max(self.newest_ms - COMMIT_MARGIN_MS);
        // The first page is read together with the other connections woken at this moment;
        // the reader may answer from an earlier instant (another connection of the user asked
        // for more), hence the filter.
        let Ok(first) = self.reader.newer(org, self.user, from).await else {
            return Ok(false);
        };
        let last_ms = first.last().map(|l| l.created_at_ms);
        for item in first.iter().filter(|n| n.created_at_ms >= from) {
            if self.remember(item.id, item.created_at_ms) {
                self.send_text(item.frame.clone()).await?;
            }
        }
        match last_ms {
            // A full page: the rest, page by page, from where it stopped (or from this
            // connection's own instant, when the page ended before it).
            Some(ms) if first.len() >= self.reader.limit() as usize => {
                self.deliver_from(org, ms.max(from)).await
            }
            _ => Ok(true),
        }
    }

    /// Sends what is new from `from` (ms), reading page by page on this connection's own.
    async fn deliver_from(&mut self, org: OrganizationId, mut from: i64) -> Result<bool, Stop> {
        loop {
            let page = match self
                .ctx
                .notifications
                .newer(
                    org,
                    self.user,
                    Since::Time {
                        created_at_ms: from,
                    },
                    PAGE,
                )
                .await
            {
                Ok(p) => p.items,
                Err(e) => {
                    tracing::warn!(error = %e, "websocket delivery read failed; retrying at the next heartbeat");
                    return Ok(false);
                }
            };
            let n = page.len();
            let last_ms = page.last().map(|l| l.created_at.timestamp_millis());
            for item in page {
                self.push(item, false).await?;
            }
            match last_ms {
                Some(ms) if n == PAGE as usize && ms > from => from = ms,
                _ => return Ok(true),
            }
        }
    }
}
