//! Announcements: a message a department's leader (or the church's administrator) posts to the
//! whole department; every member lists them.
//!
//! * Rules: a title of 1–120 characters and a body of 1–5000, both trimmed, no control
//!   characters but line breaks and tabs in the body.
//! * Who: posting needs a leader of the department or the administrator; listing, any member
//!   of the department (guests included) or the administrator; deleting, the author or the
//!   administrator. Another church's department or announcement is 404, as an unknown id; a
//!   person of the church outside the department gets 403, as on the other department routes.
//! * Posting records `announcement.posted` ([`POSTED_EVENT`]) in the same transaction: the
//!   notifications dispatcher tells every active member but the author.
//! * When an author's account is deleted, their announcements stay, without author.

use crate::model::Viewer;
use crate::policy::{Actor, DeptRole, Forbidden};
use crate::ports::{StoreError, TeamStore};
use crate::service::{TeamError, Teams};
use chrono::{DateTime, TimeZone, Utc};
use kernel::{DepartmentId, DomainEvent, OrganizationId, UserId, ValidationErrors};
use std::future::Future;
use uuid::Uuid;

kernel::define_id!(
    /// One announcement of a department.
    AnnouncementId
);

/// The event posting records. Payload: `{announcementId, title, body, departmentName,
/// authorName}`; `department` set, `actor` the author.
pub const POSTED_EVENT: &str = "announcement.posted";
/// The longest title, in characters, after trimming.
pub const MAX_TITLE_CHARS: usize = 120;
/// The longest body, in characters, after trimming.
pub const MAX_BODY_CHARS: usize = 5000;
/// The largest page of the list.
pub const MAX_PAGE: u32 = 100;
/// The page size when none is asked for.
pub const DEFAULT_PAGE: u32 = 20;

/// An announcement as stored and listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announcement {
    pub id: AnnouncementId,
    pub organization_id: OrganizationId,
    pub department_id: DepartmentId,
    /// `None` once the author's account was deleted.
    pub author_id: Option<UserId>,
    /// "First Last" of the author, `None` once their account was deleted.
    pub author_name: Option<String>,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// What a client sends to post.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewAnnouncement {
    pub title: String,
    pub body: String,
}

/// Where a page starts: after the announcement with this creation time and id (newest
/// first). Shown to clients as an opaque string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at_ms: i64,
    pub id: Uuid,
}

impl Cursor {
    pub fn after(a: &Announcement) -> Self {
        Self {
            created_at_ms: a.created_at.timestamp_millis(),
            id: a.id.as_uuid(),
        }
    }

    pub fn encode(&self) -> String {
        format!("{}_{}", self.created_at_ms, self.id.simple())
    }

    /// `None` for anything [`Cursor::encode`] did not produce.
    pub fn decode(s: &str) -> Option<Self> {
        let (ms, id) = s.split_once('_')?;
        let created_at_ms: i64 = ms.parse().ok()?;
        Utc.timestamp_millis_opt(created_at_ms).single()?;
        let id = Uuid::try_parse(id).ok()?;
        Some(Self { created_at_ms, id })
    }
}

/// A page of a department's announcements, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<Announcement>,
    pub next: Option<Cursor>,
}

/// Trims and checks a new announcement.
pub fn validate(input: &NewAnnouncement) -> Result<NewAnnouncement, ValidationErrors> {
    let mut errs = ValidationErrors::new();
    let title = input.title.trim();
    let body = input.body.trim();
    if title.is_empty() {
        errs.add("title", "required", "A title is required.");
    } else if title.chars().count() > MAX_TITLE_CHARS {
        errs.add(
            "title",
            "too_long",
            format!("At most {MAX_TITLE_CHARS} characters."),
        );
    } else if title.chars().any(char::is_control) {
        errs.add(
            "title",
            "invalid_characters",
            "Control characters are not allowed.",
        );
    }
    if body.is_empty() {
        errs.add("body", "required", "A message is required.");
    } else if body.chars().count() > MAX_BODY_CHARS {
        errs.add(
            "body",
            "too_long",
            format!("At most {MAX_BODY_CHARS} characters."),
        );
    } else if body
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errs.add(
            "body",
            "invalid_characters",
            "Control characters other than line breaks and tabs are not allowed.",
        );
    }
    errs.into_result()?;
    Ok(NewAnnouncement {
        title: title.to_string(),
        body: body.to_string(),
    })
}

/// Leaders of the department and the administrator post.
pub fn can_post(a: Actor) -> bool {
    a.org_admin || a.dept_role == Some(DeptRole::Leader)
}

/// Every member of the department (guests too) and the administrator read.
pub fn can_list(a: Actor) -> bool {
    a.org_admin || a.dept_role.is_some()
}

/// The author and the administrator delete.
pub fn can_delete(a: Actor, me: UserId, author: Option<UserId>) -> bool {
    a.org_admin || author == Some(me)
}

/// The store of announcements. Every method takes the church and scopes every statement by it.
pub trait AnnouncementStore: Send + Sync + 'static {
    /// Writes the announcement and records `event` in one transaction.
    fn insert(
        &self,
        a: &Announcement,
        event: &DomainEvent,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A page of the department's announcements, newest first, with their authors' names:
    /// one statement whatever the page size.
    fn list(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        after: Option<Cursor>,
        limit: u32,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send;
    fn get(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        id: AnnouncementId,
    ) -> impl Future<Output = Result<Option<Announcement>, StoreError>> + Send;
    /// Every announcement `author` wrote in the church, oldest first (the personal data
    /// export): one statement.
    fn authored_by(
        &self,
        org: OrganizationId,
        author: UserId,
    ) -> impl Future<Output = Result<Vec<Announcement>, StoreError>> + Send;
    /// `false` when there was no such announcement.
    fn delete(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        id: AnnouncementId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

const NO_ANNOUNCEMENT: &str = "No such announcement.";

/// The announcements service.
#[derive(Clone)]
pub struct Announcements<S, T> {
    pub store: S,
    pub teams: Teams<T>,
}

impl<S: AnnouncementStore, T: TeamStore> Announcements<S, T> {
    pub fn new(store: S, teams: Teams<T>) -> Self {
        Self { store, teams }
    }

    /// The department (404 for another church's or an unknown one, 403 outside it) and the
    /// caller as its actor.
    async fn department(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
    ) -> Result<(OrganizationId, crate::DepartmentView, Actor), TeamError> {
        let org = viewer
            .organization
            .ok_or(TeamError::NotFound("No such department."))?;
        let view = self.teams.department(viewer, dept).await?;
        let actor = Actor {
            org_admin: viewer.org_admin,
            dept_role: view.my_role,
        };
        Ok((org, view, actor))
    }

    pub async fn post(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        input: &NewAnnouncement,
        now: DateTime<Utc>,
    ) -> Result<Announcement, TeamError> {
        let (org, view, actor) = self.department(viewer, dept).await?;
        if !can_post(actor) {
            return Err(TeamError::Forbidden(Forbidden(
                "Only this department's leaders or the church's administrator post announcements.",
            )));
        }
        let clean = validate(input).map_err(TeamError::Invalid)?;
        let a = Announcement {
            id: AnnouncementId::new(),
            organization_id: org,
            department_id: dept,
            author_id: Some(viewer.user),
            author_name: Some(viewer.name.clone()),
            title: clean.title,
            body: clean.body,
            // As stored: milliseconds.
            created_at: DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now),
        };
        let event = DomainEvent::new(org, POSTED_EVENT)
            .department(dept)
            .actor(viewer.user)
            .payload(serde_json::json!({
                "announcementId": a.id,
                "title": a.title,
                "body": a.body,
                "departmentName": view.department.name,
                "authorName": viewer.name,
            }));
        self.store.insert(&a, &event, now).await?;
        Ok(a)
    }

    pub async fn list(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Page, TeamError> {
        let (org, _, actor) = self.department(viewer, dept).await?;
        if !can_list(actor) {
            return Err(TeamError::Forbidden(Forbidden(
                "You are not a member of this department.",
            )));
        }
        Ok(self
            .store
            .list(org, dept, after, limit.clamp(1, MAX_PAGE))
            .await?)
    }

    /// The announcements the viewer wrote, oldest first, for their personal data export.
    pub async fn authored_by(&self, viewer: &Viewer) -> Result<Vec<Announcement>, TeamError> {
        match viewer.organization {
            Some(org) => Ok(self.store.authored_by(org, viewer.user).await?),
            None => Ok(Vec::new()),
        }
    }

    pub async fn delete(
        &self,
        viewer: &Viewer,
        dept: DepartmentId,
        id: AnnouncementId,
    ) -> Result<(), TeamError> {
        let (org, _, actor) = self.department(viewer, dept).await?;
        let a = self
            .store
            .get(org, dept, id)
            .await?
            .ok_or(TeamError::NotFound(NO_ANNOUNCEMENT))?;
        if !can_delete(actor, viewer.user, a.author_id) {
            return Err(TeamError::Forbidden(Forbidden(
                "Only the author or the church's administrator deletes an announcement.",
            )));
        }
        if self.store.delete(org, dept, id).await? {
            Ok(())
        } else {
            Err(TeamError::NotFound(NO_ANNOUNCEMENT))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn codes(r: Result<NewAnnouncement, ValidationErrors>) -> Vec<(String, String)> {
        r.err()
            .map(|e| e.0.into_iter().map(|f| (f.field, f.code)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn title_and_body_are_trimmed_and_bounded() {
        let ok = validate(&NewAnnouncement {
            title: "  Répétition  ".into(),
            body: "\n Samedi 10h\nsalle B \n".into(),
        })
        .unwrap();
        assert_eq!(ok.title, "Répétition");
        assert_eq!(ok.body, "Samedi 10h\nsalle B");
        let pair = |t: &str, b: &str| {
            codes(validate(&NewAnnouncement {
                title: t.into(),
                body: b.into(),
            }))
        };
        let want = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            pair("  ", " "),
            want(&[("title", "required"), ("body", "required")])
        );
        assert!(pair(&"é".repeat(120), &"x".repeat(5000)).is_empty());
        assert_eq!(
            pair(&"é".repeat(121), &"x".repeat(5001)),
            want(&[("title", "too_long"), ("body", "too_long")])
        );
        assert_eq!(
            pair("a\u{7}b", "x\u{0}y"),
            want(&[
                ("title", "invalid_characters"),
                ("body", "invalid_characters")
            ])
        );
        assert!(pair("t", "a\tb\r\nc").is_empty());
    }

    #[test]
    fn who_may_post_list_and_delete() {
        let me = UserId::new();
        let other = UserId::new();
        let a = |admin, role| Actor {
            org_admin: admin,
            dept_role: role,
        };
        let roles = [
            (a(true, None), [true, true, true, true]),
            (a(false, Some(DeptRole::Leader)), [true, true, true, false]),
            (a(false, Some(DeptRole::Member)), [false, true, true, false]),
            (a(false, Some(DeptRole::Guest)), [false, true, true, false]),
            (a(false, None), [false, false, true, false]),
        ];
        for (actor, [post, list, own, others]) in roles {
            assert_eq!(can_post(actor), post, "{actor:?}");
            assert_eq!(can_list(actor), list, "{actor:?}");
            assert_eq!(can_delete(actor, me, Some(me)), own, "{actor:?}");
            assert_eq!(can_delete(actor, me, Some(other)), others, "{actor:?}");
            assert_eq!(can_delete(actor, me, None), actor.org_admin, "{actor:?}");
        }
    }

    #[test]
    fn cursor_round_trips_and_refuses_garbage() {
        let c = Cursor {
            created_at_ms: 1_790_000_000_123,
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in ["", "_", "1_x", "x_y", "99999999999999999999_x"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
