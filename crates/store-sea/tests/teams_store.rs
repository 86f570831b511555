//! The teams store on SQLite and (with TEST_DATABASE_URL) PostgreSQL: tenant isolation, the
//! leader and administrator invariants, the denormalised `users.role`, invitations from
//! creation to acceptance, and the shape and order of the listings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use kernel::mail::{Email, Mailbox};
use kernel::{DepartmentId, InvitationId, OrganizationId, UserId};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use store_sea::SeaTeams;
use teams::rules::InvariantError;
use teams::{
    AcceptOutcome, CreateOrgOutcome, DeleteOutcome, Department, DeptRole, Guarded, Invitation,
    InvitationStatus, InviteOutcome, MemberChange, MemberStatus, Organization, StoreError,
    TeamStore,
};
use testkit::TestDb;

fn t0() -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_800_000_000_000).unwrap()
}

struct Env {
    _db: TestDb,
    db: store_sea::Db,
    store: SeaTeams,
}

async fn env() -> Env {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let store = SeaTeams::new(db.conn.clone(), kv::Wakeup::in_process());
    Env {
        _db: test_db,
        db,
        store,
    }
}

/// `?` placeholders on both backends, like the adapter.
fn q(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let mut out = String::new();
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' && backend == DbBackend::Postgres {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(ch);
        }
    }
    Statement::from_sql_and_values(backend, out, values)
}

impl Env {
    async fn exec(&self, sql: &str, values: Vec<Value>) {
        let b = self.db.conn.get_database_backend();
        self.db.conn.execute_raw(q(b, sql, values)).await.unwrap();
    }

    async fn count(&self, sql: &str, values: Vec<Value>) -> i64 {
        let b = self.db.conn.get_database_backend();
        let row = self
            .db
            .conn
            .query_one_raw(q(b, sql, values))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    }

    async fn user(&self, email: &str, first: &str, last: &str) -> UserId {
        let id = UserId::new();
        self.exec(
            "INSERT INTO users (id, email, first_name, last_name, locale, is_email_verified, \
             is_active, role, notification_prefs, created_at, updated_at) \
             VALUES (?, ?, ?, ?, 'fr', ?, ?, 'member', '{}', ?, ?)",
            vec![
                id.as_uuid().into(),
                email.into(),
                first.into(),
                last.into(),
                true.into(),
                true.into(),
                t0().timestamp_millis().into(),
                t0().timestamp_millis().into(),
            ],
        )
        .await;
        id
    }

    async fn role_of(&self, user: UserId) -> String {
        let b = self.db.conn.get_database_backend();
        let row = self
            .db
            .conn
            .query_one_raw(q(
                b,
                "SELECT role FROM users WHERE id = ?",
                vec![user.as_uuid().into()],
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "role").unwrap()
    }

    async fn org_of(&self, user: UserId) -> Option<OrganizationId> {
        let b = self.db.conn.get_database_backend();
        let row = self
            .db
            .conn
            .query_one_raw(q(
                b,
                "SELECT organization_id FROM users WHERE id = ?",
                vec![user.as_uuid().into()],
            ))
            .await
            .unwrap()
            .unwrap();
        let o: Option<uuid::Uuid> = row.try_get("", "organization_id").unwrap();
        o.map(OrganizationId::from)
    }

    async fn email_jobs(&self) -> i64 {
        self.count(
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = ?",
            vec!["send_email".into()],
        )
        .await
    }

    /// A church administered by a new user.
    async fn church(&self, slug: &str) -> (OrganizationId, UserId) {
        let admin = self
            .user(&format!("admin@{slug}.test"), "Admin", slug)
            .await;
        let org = organization(slug);
        assert_eq!(
            self.store.create_organization(&org, admin).await.unwrap(),
            CreateOrgOutcome::Created
        );
        (org.id, admin)
    }

    async fn department(&self, org: OrganizationId, name: &str) -> DepartmentId {
        let d = department(org, name);
        self.store.create_department(&d).await.unwrap();
        d.id
    }

    /// Invites `email` and returns the invitation's id.
    async fn invite(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        email: &str,
        role: DeptRole,
        token: &str,
        expires_at: DateTime<Utc>,
    ) -> (InviteOutcome, InvitationId) {
        let inv = invitation(org, dept, email, role, expires_at);
        let out = self
            .store
            .create_invitation(&inv, token, &mail(email))
            .await
            .unwrap();
        (out, inv.id)
    }

    /// Makes `user` (whose address is `email`) an active member through an invitation.
    async fn join(
        &self,
        org: OrganizationId,
        dept: DepartmentId,
        user: UserId,
        email: &str,
        role: DeptRole,
    ) {
        let token = format!("tok-{}", uuid::Uuid::new_v4().simple());
        let (out, _) = self
            .invite(org, dept, email, role, &token, t0() + Duration::days(7))
            .await;
        assert_eq!(out, InviteOutcome::Created);
        match self
            .store
            .accept_invitation(&token, user, t0())
            .await
            .unwrap()
        {
            AcceptOutcome::Joined(m) => assert_eq!(m.role, role),
            other => panic!("join: {other:?}"),
        }
    }
}

fn organization(slug: &str) -> Organization {
    Organization {
        id: OrganizationId::new(),
        name: format!("Église {slug}"),
        slug: slug.into(),
        timezone: "Europe/Paris".into(),
        created_at: t0(),
        updated_at: t0(),
    }
}

fn department(org: OrganizationId, name: &str) -> Department {
    Department {
        id: DepartmentId::new(),
        organization_id: org,
        name: name.into(),
        description: Some(format!("{name} team")),
        availability_deadline_days: 7,
        reminder_hours_before: 24,
        archived_at: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

fn invitation(
    org: OrganizationId,
    dept: DepartmentId,
    email: &str,
    role: DeptRole,
    expires_at: DateTime<Utc>,
) -> Invitation {
    Invitation {
        id: InvitationId::new(),
        organization_id: org,
        department_id: dept,
        email: email.into(),
        role,
        status: InvitationStatus::Pending,
        invited_by: None,
        expires_at,
        created_at: t0(),
        accepted_at: None,
    }
}

fn mail(to: &str) -> Email {
    Email {
        to: Mailbox::new(to),
        subject: "Invitation".into(),
        text: "Join us".into(),
        html: None,
        message_id: None,
    }
}

fn week() -> DateTime<Utc> {
    t0() + Duration::days(7)
}

#[tokio::test]
async fn another_churchs_ids_behave_like_unknown_ones() {
    let e = env().await;
    let (a, admin_a) = e.church("church-a").await;
    let (b, admin_b) = e.church("church-b").await;
    let dept = e.department(a, "Louange").await;
    let alice = e.user("alice@test", "Alice", "Martin").await;
    e.join(a, dept, alice, "alice@test", DeptRole::Leader).await;
    let (out, inv) = e
        .invite(a, dept, "bob@test", DeptRole::Member, "tok-bob", week())
        .await;
    assert_eq!(out, InviteOutcome::Created);
    let s = &e.store;
    let now = t0();

    // Reads.
    assert!(s.department(b, dept, admin_b).await.unwrap().is_none());
    assert!(
        s.departments(b, admin_b, None, true)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.departments(b, alice, Some(alice), true)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.members(b, dept).await.unwrap().is_empty());
    assert!(s.pending_invitations(b, dept).await.unwrap().is_empty());
    assert!(s.invitation(b, dept, inv).await.unwrap().is_none());
    let people_b = s.people(b).await.unwrap();
    assert_eq!(people_b.len(), 1);
    assert_eq!(people_b[0].user_id, admin_b);
    assert!(
        s.organization(OrganizationId::new())
            .await
            .unwrap()
            .is_none()
    );

    // Writes.
    let mut foreign = department(b, "Hijacked");
    foreign.id = dept;
    assert!(!s.update_department(&foreign).await.unwrap());
    assert_eq!(
        s.delete_department(b, dept).await.unwrap(),
        DeleteOutcome::NotFound
    );
    let demote = MemberChange {
        role: Some(DeptRole::Member),
        skills: Some(vec!["Bass".into()]),
        ..Default::default()
    };
    assert_eq!(
        s.change_member(b, dept, alice, &demote, now).await.unwrap(),
        Guarded::NotFound
    );
    assert_eq!(
        s.remove_member(b, dept, alice, now).await.unwrap(),
        Guarded::NotFound
    );
    assert!(
        !s.renew_invitation(b, dept, inv, "tok-evil", week(), &mail("bob@test"), now)
            .await
            .unwrap()
    );
    assert!(!s.cancel_invitation(b, dept, inv, now).await.unwrap());
    let jobs = e.email_jobs().await;
    assert_eq!(
        e.invite(b, dept, "carol@test", DeptRole::Member, "tok-carol", week())
            .await
            .0,
        InviteOutcome::NoDepartment
    );
    assert_eq!(
        e.email_jobs().await,
        jobs,
        "no email for a refused invitation"
    );
    assert_eq!(
        s.set_admin(b, admin_a, false, now).await.unwrap(),
        Guarded::NotFound
    );
    assert_eq!(
        s.set_admin(b, alice, true, now).await.unwrap(),
        Guarded::NotFound
    );

    // Church A is untouched.
    let view = s.department(a, dept, alice).await.unwrap().unwrap();
    assert_eq!(view.department.name, "Louange");
    assert_eq!(view.member_count, 1);
    assert_eq!(view.my_role, Some(DeptRole::Leader));
    let members = s.members(a, dept).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].role, DeptRole::Leader);
    assert!(members[0].skills.is_empty());
    let pending = s.pending_invitations(a, dept).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, inv);
    assert!(s.invitation_by_token("tok-bob").await.unwrap().is_some());
    assert!(s.invitation_by_token("tok-evil").await.unwrap().is_none());
    assert_eq!(e.role_of(admin_a).await, "admin");
    assert_eq!(e.role_of(alice).await, "leader");
    assert_eq!(e.role_of(admin_b).await, "admin");
    assert_eq!(s.people(a).await.unwrap().len(), 2);
}

#[tokio::test]
async fn creating_a_church() {
    let e = env().await;
    let (org, admin) = e.church("lyon").await;
    assert_eq!(e.org_of(admin).await, Some(org));
    assert_eq!(e.role_of(admin).await, "admin");
    let stored = e.store.organization(org).await.unwrap().unwrap();
    assert_eq!(stored, organization_with_id("lyon", org));

    // Already in a church: nothing is written.
    let other = organization("lyon-2");
    assert_eq!(
        e.store.create_organization(&other, admin).await.unwrap(),
        CreateOrgOutcome::AlreadyInChurch
    );
    assert!(e.store.organization(other.id).await.unwrap().is_none());

    // Slug taken: the user stays outside any church.
    let newcomer = e.user("new@test", "New", "Comer").await;
    let clash = organization("lyon");
    assert_eq!(
        e.store.create_organization(&clash, newcomer).await.unwrap(),
        CreateOrgOutcome::SlugTaken
    );
    assert_eq!(e.org_of(newcomer).await, None);
    assert_eq!(e.role_of(newcomer).await, "member");

    // Renaming onto a taken slug is a duplicate.
    let (org2, _) = e.church("paris").await;
    let mut renamed = organization_with_id("lyon", org2);
    renamed.name = "Paris".into();
    assert!(matches!(
        e.store.update_organization(&renamed).await,
        Err(StoreError::Duplicate)
    ));
    renamed.slug = "paris-centre".into();
    renamed.timezone = "America/New_York".into();
    e.store.update_organization(&renamed).await.unwrap();
    assert_eq!(e.store.organization(org2).await.unwrap().unwrap(), renamed);
}

fn organization_with_id(slug: &str, id: OrganizationId) -> Organization {
    Organization {
        id,
        ..organization(slug)
    }
}

#[tokio::test]
async fn a_department_keeps_a_leader_and_users_role_follows() {
    let e = env().await;
    let (org, admin) = e.church("eglise").await;
    let dept = e.department(org, "Son").await;
    let other = e.department(org, "Accueil").await;
    let leader = e.user("leader@test", "Lea", "Leader").await;
    let member = e.user("member@test", "Max", "Member").await;
    e.join(org, dept, leader, "leader@test", DeptRole::Leader)
        .await;
    e.join(org, dept, member, "member@test", DeptRole::Member)
        .await;
    assert_eq!(e.role_of(leader).await, "leader");
    assert_eq!(e.role_of(member).await, "member");
    let now = t0() + Duration::hours(1);
    let s = &e.store;
    let to = |role| MemberChange {
        role: Some(role),
        skills: None,
        ..Default::default()
    };

    // The only leader can be neither demoted nor removed.
    assert_eq!(
        s.change_member(org, dept, leader, &to(DeptRole::Member), now)
            .await
            .unwrap(),
        Guarded::Refused(InvariantError::LastLeader)
    );
    assert_eq!(
        s.remove_member(org, dept, leader, now).await.unwrap(),
        Guarded::Refused(InvariantError::LastLeader)
    );
    // Changing only their skills is fine.
    let skills = MemberChange {
        role: None,
        skills: Some(vec!["Mix".into(), "Lights".into()]),
        ..Default::default()
    };
    match s
        .change_member(org, dept, leader, &skills, now)
        .await
        .unwrap()
    {
        Guarded::Done(m) => {
            assert_eq!(m.role, DeptRole::Leader);
            assert_eq!(m.skills, ["Mix", "Lights"]);
            assert_eq!(m.user_id, leader);
            assert_eq!(m.first_name, "Lea");
            assert_eq!(m.email, "leader@test");
            assert_eq!(m.status, MemberStatus::Active);
        }
        other => panic!("{other:?}"),
    }

    // member → leader: users.role follows.
    match s
        .change_member(org, dept, member, &to(DeptRole::Leader), now)
        .await
        .unwrap()
    {
        Guarded::Done(m) => assert_eq!(m.role, DeptRole::Leader),
        other => panic!("{other:?}"),
    }
    assert_eq!(e.role_of(member).await, "leader");

    // With two leaders, one may step down; the skills stay.
    match s
        .change_member(org, dept, leader, &to(DeptRole::Guest), now)
        .await
        .unwrap()
    {
        Guarded::Done(m) => {
            assert_eq!(m.role, DeptRole::Guest);
            assert_eq!(m.skills, ["Mix", "Lights"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.role_of(leader).await, "member");

    // Leading another department keeps the church-level role at leader.
    e.join(org, other, member, "member@test", DeptRole::Leader)
        .await;
    e.join(org, other, leader, "leader@test", DeptRole::Leader)
        .await;
    assert_eq!(
        s.remove_member(org, other, member, now).await.unwrap(),
        Guarded::Done(())
    );
    assert_eq!(e.role_of(member).await, "leader", "still leads Son");

    // Now the member is the only leader of Son.
    assert_eq!(
        s.remove_member(org, dept, member, now).await.unwrap(),
        Guarded::Refused(InvariantError::LastLeader)
    );
    match s
        .change_member(org, dept, leader, &to(DeptRole::Leader), now)
        .await
        .unwrap()
    {
        Guarded::Done(_) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.remove_member(org, dept, member, now).await.unwrap(),
        Guarded::Done(())
    );
    assert_eq!(e.role_of(member).await, "member");
    // A removed member is gone from the roster and cannot be changed or removed again.
    assert_eq!(s.members(org, dept).await.unwrap().len(), 1);
    assert_eq!(
        s.remove_member(org, dept, member, now).await.unwrap(),
        Guarded::NotFound
    );
    assert_eq!(
        s.change_member(org, dept, member, &to(DeptRole::Member), now)
            .await
            .unwrap(),
        Guarded::NotFound
    );
    // Nor can someone who never was a member, nor anyone of an unknown department.
    assert_eq!(
        s.remove_member(org, dept, admin, now).await.unwrap(),
        Guarded::NotFound
    );
    assert_eq!(
        s.remove_member(org, DepartmentId::new(), leader, now)
            .await
            .unwrap(),
        Guarded::NotFound
    );
    // The removed row is kept, with its removal time.
    let kept = s.memberships_of(member).await.unwrap();
    let son = kept.iter().find(|m| m.department_id == dept).unwrap();
    assert_eq!(son.status, MemberStatus::Removed);
    assert_eq!(
        e.count(
            "SELECT removed_at AS n FROM department_members WHERE department_id = ? AND user_id = ?",
            vec![dept.as_uuid().into(), member.as_uuid().into()],
        )
        .await,
        now.timestamp_millis()
    );

    // The administrator's role is never touched by membership changes.
    e.join(org, dept, admin, "admin@eglise.test", DeptRole::Leader)
        .await;
    assert_eq!(e.role_of(admin).await, "admin");
    assert!(matches!(
        s.change_member(org, dept, admin, &to(DeptRole::Member), now)
            .await
            .unwrap(),
        Guarded::Done(_)
    ));
    assert_eq!(e.role_of(admin).await, "admin");
}

#[tokio::test]
async fn concurrent_demotions_leave_a_leader() {
    let e = env().await;
    let (org, _) = e.church("eglise").await;
    let dept = e.department(org, "Son").await;
    let one = e.user("one@test", "One", "A").await;
    let two = e.user("two@test", "Two", "B").await;
    e.join(org, dept, one, "one@test", DeptRole::Leader).await;
    e.join(org, dept, two, "two@test", DeptRole::Leader).await;
    let change = MemberChange {
        role: Some(DeptRole::Member),
        skills: None,
        ..Default::default()
    };
    for _ in 0..3 {
        let (r1, r2) = tokio::join!(
            e.store.change_member(org, dept, one, &change, t0()),
            e.store.remove_member(org, dept, two, t0()),
        );
        let done = [
            matches!(r1.unwrap(), Guarded::Done(_)),
            matches!(r2.unwrap(), Guarded::Done(_)),
        ];
        assert_eq!(done.iter().filter(|d| **d).count(), 1, "{done:?}");
        let members = e.store.members(org, dept).await.unwrap();
        assert_eq!(
            members
                .iter()
                .filter(|m| m.role == DeptRole::Leader)
                .count(),
            1
        );
        // Back to two leaders for the next round.
        let again = MemberChange {
            role: Some(DeptRole::Leader),
            skills: None,
            ..Default::default()
        };
        if done[0] {
            e.store
                .change_member(org, dept, one, &again, t0())
                .await
                .unwrap();
        } else {
            e.join(org, dept, two, "two@test", DeptRole::Leader).await;
        }
    }
}

#[tokio::test]
async fn a_church_keeps_an_administrator() {
    let e = env().await;
    let (org, admin) = e.church("eglise").await;
    let dept = e.department(org, "Son").await;
    let lea = e.user("lea@test", "Lea", "Leader").await;
    e.join(org, dept, lea, "lea@test", DeptRole::Leader).await;
    let s = &e.store;
    let now = t0();

    assert_eq!(
        s.set_admin(org, admin, false, now).await.unwrap(),
        Guarded::Refused(InvariantError::LastAdmin)
    );
    assert_eq!(e.role_of(admin).await, "admin");
    // Someone outside the church cannot be made administrator.
    let outsider = e.user("out@test", "Out", "Sider").await;
    assert_eq!(
        s.set_admin(org, outsider, true, now).await.unwrap(),
        Guarded::NotFound
    );
    assert_eq!(e.role_of(outsider).await, "member");

    assert_eq!(
        s.set_admin(org, lea, true, now).await.unwrap(),
        Guarded::Done(())
    );
    assert_eq!(e.role_of(lea).await, "admin");
    let people = s.people(org).await.unwrap();
    assert!(people.iter().all(|p| p.is_admin));

    // Two administrators: one may step down, and gets the role their memberships give.
    assert_eq!(
        s.set_admin(org, admin, false, now).await.unwrap(),
        Guarded::Done(())
    );
    assert_eq!(e.role_of(admin).await, "member");
    assert_eq!(
        s.set_admin(org, lea, false, now).await.unwrap(),
        Guarded::Refused(InvariantError::LastAdmin)
    );
    assert_eq!(
        s.set_admin(org, admin, true, now).await.unwrap(),
        Guarded::Done(())
    );
    assert_eq!(
        s.set_admin(org, lea, false, now).await.unwrap(),
        Guarded::Done(())
    );
    assert_eq!(e.role_of(lea).await, "leader");
    // Unmaking a non-administrator is harmless.
    assert_eq!(
        s.set_admin(org, lea, false, now).await.unwrap(),
        Guarded::Done(())
    );
    assert_eq!(e.role_of(lea).await, "leader");
}

#[tokio::test]
async fn department_names_are_unique_ignoring_case_among_live_ones() {
    let e = env().await;
    let (org, _) = e.church("eglise").await;
    let (other_org, _) = e.church("autre").await;
    let s = &e.store;
    let first = department(org, "Louange");
    s.create_department(&first).await.unwrap();
    assert!(matches!(
        s.create_department(&department(org, " louange ")).await,
        Err(StoreError::Duplicate)
    ));
    // Another church may use the name.
    s.create_department(&department(other_org, "Louange"))
        .await
        .unwrap();
    // Renaming another department onto it is a duplicate too.
    let mut son = department(org, "Son");
    s.create_department(&son).await.unwrap();
    son.name = "LOUANGE".into();
    assert!(matches!(
        s.update_department(&son).await,
        Err(StoreError::Duplicate)
    ));

    // Archived, the name is free again.
    let mut archived = first.clone();
    archived.archived_at = Some(t0());
    archived.updated_at = t0() + Duration::seconds(1);
    assert!(s.update_department(&archived).await.unwrap());
    let second = department(org, "LOUANGE");
    s.create_department(&second).await.unwrap();
    // Unarchiving into a taken name is refused.
    let mut back = archived.clone();
    back.archived_at = None;
    assert!(matches!(
        s.update_department(&back).await,
        Err(StoreError::Duplicate)
    ));

    // update_department writes every field.
    let mut changed = second.clone();
    changed.name = "Chorale".into();
    changed.description = None;
    changed.availability_deadline_days = 14;
    changed.reminder_hours_before = 48;
    changed.updated_at = t0() + Duration::hours(2);
    assert!(s.update_department(&changed).await.unwrap());
    let view = s
        .department(org, second.id, UserId::new())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.department, changed);
    assert_eq!(view.my_role, None);
    assert_eq!(view.member_count, 0);
    assert!(
        !s.update_department(&department(org, "Ghost"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn accepting_invitations() {
    let e = env().await;
    let (org, admin) = e.church("eglise").await;
    let dept = e.department(org, "Louange").await;
    let s = &e.store;
    let ana = e.user("ana@test", "Ana", "Dupont").await;

    let mut inv = invitation(org, dept, "ana@test", DeptRole::Member, week());
    inv.invited_by = Some(admin);
    assert_eq!(
        s.create_invitation(&inv, "tok-ana", &mail("ana@test"))
            .await
            .unwrap(),
        InviteOutcome::Created
    );
    let view = s.invitation_by_token("tok-ana").await.unwrap().unwrap();
    assert_eq!(view.invitation, inv);
    assert_eq!(view.organization_name, "Église eglise");
    assert_eq!(view.department_name, "Louange");
    assert_eq!(view.inviter_name.as_deref(), Some("Admin eglise"));
    assert_eq!(s.invitation(org, dept, inv.id).await.unwrap(), Some(view));

    assert_eq!(
        s.accept_invitation("tok-nope", ana, t0()).await.unwrap(),
        AcceptOutcome::Unknown
    );
    let at = t0() + Duration::hours(1);
    match s.accept_invitation("tok-ana", ana, at).await.unwrap() {
        AcceptOutcome::Joined(m) => {
            assert_eq!(m.organization_id, org);
            assert_eq!(m.department_id, dept);
            assert_eq!(m.department_name, "Louange");
            assert_eq!(m.role, DeptRole::Member);
            assert!(m.skills.is_empty());
            assert_eq!(m.status, MemberStatus::Active);
            assert_eq!(m.joined_at, at);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.org_of(ana).await, Some(org));
    assert_eq!(e.role_of(ana).await, "member");
    let accepted = s.invitation(org, dept, inv.id).await.unwrap().unwrap();
    assert_eq!(accepted.invitation.status, InvitationStatus::Accepted);
    assert_eq!(accepted.invitation.accepted_at, Some(at));
    assert!(s.pending_invitations(org, dept).await.unwrap().is_empty());
    assert_eq!(
        s.accept_invitation("tok-ana", ana, at).await.unwrap(),
        AcceptOutcome::Gone(InvitationStatus::Accepted)
    );

    // Expired, whether or not the daily job has marked it.
    let ben = e.user("ben@test", "Ben", "Durand").await;
    let (out, _) = e
        .invite(
            org,
            dept,
            "ben@test",
            DeptRole::Member,
            "tok-ben",
            t0() + Duration::hours(2),
        )
        .await;
    assert_eq!(out, InviteOutcome::Created);
    assert_eq!(
        s.accept_invitation("tok-ben", ben, t0() + Duration::hours(2))
            .await
            .unwrap(),
        AcceptOutcome::Gone(InvitationStatus::Expired)
    );
    assert_eq!(e.org_of(ben).await, None);

    // Cancelled.
    let (_, cid) = e
        .invite(org, dept, "cid@test", DeptRole::Member, "tok-cid", week())
        .await;
    assert!(s.cancel_invitation(org, dept, cid, t0()).await.unwrap());
    assert!(!s.cancel_invitation(org, dept, cid, t0()).await.unwrap());
    assert_eq!(
        s.accept_invitation("tok-cid", ben, t0()).await.unwrap(),
        AcceptOutcome::Gone(InvitationStatus::Cancelled)
    );

    // Someone of another church.
    let other_admin = e.user("x@test", "X", "Y").await;
    let foreign = organization("tiers");
    s.create_organization(&foreign, other_admin).await.unwrap();
    e.invite(org, dept, "x@test", DeptRole::Member, "tok-x", week())
        .await;
    assert_eq!(
        s.accept_invitation("tok-x", other_admin, t0())
            .await
            .unwrap(),
        AcceptOutcome::OtherChurch
    );
    assert!(
        s.members(org, dept)
            .await
            .unwrap()
            .iter()
            .all(|m| m.user_id != other_admin)
    );
    // Ben's (expired, not yet marked by the daily job) and X's.
    assert_eq!(s.pending_invitations(org, dept).await.unwrap().len(), 2);

    // Already a member (an invitation addressed elsewhere, opened by a member).
    e.invite(
        org,
        dept,
        "alias@test",
        DeptRole::Leader,
        "tok-alias",
        week(),
    )
    .await;
    assert_eq!(
        s.accept_invitation("tok-alias", ana, t0()).await.unwrap(),
        AcceptOutcome::AlreadyMember
    );

    // A removed member comes back with the invitation's role and their skills.
    let lead = e.user("lead@test", "Lead", "Er").await;
    e.join(org, dept, lead, "lead@test", DeptRole::Leader).await;
    let skills = MemberChange {
        role: None,
        skills: Some(vec!["Piano".into()]),
        ..Default::default()
    };
    s.change_member(org, dept, ana, &skills, t0())
        .await
        .unwrap();
    assert_eq!(
        s.remove_member(org, dept, ana, t0()).await.unwrap(),
        Guarded::Done(())
    );
    let back_at = t0() + Duration::days(1);
    let (out, _) = e
        .invite(org, dept, "ana@test", DeptRole::Leader, "tok-ana-2", week())
        .await;
    assert_eq!(out, InviteOutcome::Created);
    match s
        .accept_invitation("tok-ana-2", ana, back_at)
        .await
        .unwrap()
    {
        AcceptOutcome::Joined(m) => {
            assert_eq!(m.role, DeptRole::Leader);
            assert_eq!(m.skills, ["Piano"]);
            assert_eq!(m.joined_at, back_at);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.role_of(ana).await, "leader");
    let ms = s.memberships_of(ana).await.unwrap();
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].status, MemberStatus::Active);
    assert_eq!(
        e.count(
            "SELECT COUNT(*) AS n FROM department_members WHERE user_id = ? AND removed_at IS NULL",
            vec![ana.as_uuid().into()],
        )
        .await,
        1
    );
}

#[tokio::test]
async fn creating_renewing_and_expiring_invitations() {
    let e = env().await;
    let (org, admin) = e.church("eglise").await;
    let dept = e.department(org, "Louange").await;
    let s = &e.store;
    let ana = e.user("ana@test", "Ana", "Dupont").await;
    e.join(org, dept, ana, "ana@test", DeptRole::Leader).await;
    let jobs = e.email_jobs().await;
    assert_eq!(jobs, 1, "the join's invitation queued its email");

    // An active member is not invited again.
    assert_eq!(
        e.invite(org, dept, "ana@test", DeptRole::Member, "t1", week())
            .await
            .0,
        InviteOutcome::AlreadyMember
    );
    // Nor is a pending address.
    let (out, first) = e
        .invite(
            org,
            dept,
            "bob@test",
            DeptRole::Member,
            "t2",
            t0() + Duration::hours(1),
        )
        .await;
    assert_eq!(out, InviteOutcome::Created);
    assert_eq!(e.email_jobs().await, 2);
    assert_eq!(
        e.invite(org, dept, "bob@test", DeptRole::Guest, "t3", week())
            .await
            .0,
        InviteOutcome::AlreadyInvited
    );
    assert_eq!(e.email_jobs().await, 2);

    // Once the first has expired, a new one replaces it (the old one is marked).
    let mut again = invitation(org, dept, "bob@test", DeptRole::Guest, week());
    again.created_at = t0() + Duration::hours(2);
    assert_eq!(
        s.create_invitation(&again, "t4", &mail("bob@test"))
            .await
            .unwrap(),
        InviteOutcome::Created
    );
    assert_eq!(e.email_jobs().await, 3);
    let old = s.invitation(org, dept, first).await.unwrap().unwrap();
    assert_eq!(old.invitation.status, InvitationStatus::Expired);
    let pending = s.pending_invitations(org, dept).await.unwrap();
    assert_eq!(pending.iter().map(|i| i.id).collect::<Vec<_>>(), [again.id]);

    // Newest first.
    let (_, carol) = e
        .invite(
            org,
            dept,
            "carol@test",
            DeptRole::Member,
            "t5",
            t0() + Duration::hours(3),
        )
        .await;
    let pending = s.pending_invitations(org, dept).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].id, again.id, "created at t0+2h");
    assert_eq!(pending[1].id, carol);
    assert_eq!(e.email_jobs().await, 4);

    // Renewing revives an expired pending invitation; the old token dies.
    let later = t0() + Duration::hours(5);
    assert!(
        s.renew_invitation(
            org,
            dept,
            carol,
            "t5-new",
            later + Duration::days(7),
            &mail("carol@test"),
            later
        )
        .await
        .unwrap()
    );
    assert_eq!(e.email_jobs().await, 5);
    assert!(s.invitation_by_token("t5").await.unwrap().is_none());
    let renewed = s.invitation_by_token("t5-new").await.unwrap().unwrap();
    assert_eq!(renewed.invitation.expires_at, later + Duration::days(7));
    assert_eq!(renewed.inviter_name, None);
    // Not pending: not renewed.
    assert!(
        !s.renew_invitation(org, dept, first, "t2-new", week(), &mail("bob@test"), later)
            .await
            .unwrap()
    );
    assert_eq!(e.email_jobs().await, 5);

    // An archived department takes no invitations.
    let mut archived = department(org, "Ancien");
    archived.archived_at = Some(t0());
    s.create_department(&archived).await.unwrap();
    assert_eq!(
        e.invite(org, archived.id, "dan@test", DeptRole::Member, "t6", week())
            .await
            .0,
        InviteOutcome::NoDepartment
    );
    assert_eq!(
        e.invite(
            org,
            DepartmentId::new(),
            "dan@test",
            DeptRole::Member,
            "t7",
            week()
        )
        .await
        .0,
        InviteOutcome::NoDepartment
    );

    // The daily job: pending ones past expiry, across churches.
    let (org2, _) = e.church("autre").await;
    let dept2 = e.department(org2, "Son").await;
    e.invite(
        org2,
        dept2,
        "eve@test",
        DeptRole::Member,
        "t8",
        t0() + Duration::hours(1),
    )
    .await;
    // Pending: bob (t0+7d), carol (later+7d), eve (t0+1h).
    assert_eq!(
        s.expire_invitations(t0() + Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.expire_invitations(t0() + Duration::hours(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.expire_invitations(t0() + Duration::days(30))
            .await
            .unwrap(),
        2
    );
    assert!(s.pending_invitations(org, dept).await.unwrap().is_empty());

    // The GDPR export: sent to the address or by the user, newest first.
    let mut by_admin = invitation(
        org,
        dept,
        "zed@test",
        DeptRole::Member,
        t0() + Duration::days(40),
    );
    by_admin.invited_by = Some(admin);
    by_admin.created_at = t0() + Duration::days(31);
    s.create_invitation(&by_admin, "t9", &mail("zed@test"))
        .await
        .unwrap();
    let bob_ids: Vec<_> = s
        .invitations_involving("bob@test", UserId::new())
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(bob_ids, [again.id, first]);
    let admin_ids: Vec<_> = s
        .invitations_involving("nobody@test", admin)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(admin_ids, [by_admin.id]);
}

#[tokio::test]
async fn deleting_departments() {
    let e = env().await;
    let (org, _) = e.church("eglise").await;
    let s = &e.store;
    let empty = e.department(org, "Vide").await;
    let invited = e.department(org, "Invite").await;
    let staffed = e.department(org, "Equipe").await;
    let (_, inv) = e
        .invite(org, invited, "a@test", DeptRole::Member, "t1", week())
        .await;
    assert!(s.cancel_invitation(org, invited, inv, t0()).await.unwrap());
    let u = e.user("u@test", "U", "V").await;
    e.join(org, staffed, u, "u@test", DeptRole::Leader).await;
    // Even after the invitation is cancelled and the member removed, history stays.
    let lead = e.user("w@test", "W", "X").await;
    e.join(org, staffed, lead, "w@test", DeptRole::Leader).await;
    s.remove_member(org, staffed, u, t0()).await.unwrap();

    assert_eq!(
        s.delete_department(org, invited).await.unwrap(),
        DeleteOutcome::HasHistory
    );
    assert_eq!(
        s.delete_department(org, staffed).await.unwrap(),
        DeleteOutcome::HasHistory
    );
    assert_eq!(
        s.delete_department(org, empty).await.unwrap(),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        s.delete_department(org, empty).await.unwrap(),
        DeleteOutcome::NotFound
    );
    assert!(s.department(org, empty, u).await.unwrap().is_none());
    assert!(s.department(org, invited, u).await.unwrap().is_some());
}

#[tokio::test]
async fn listings_and_their_order() {
    let e = env().await;
    let (org, admin) = e.church("eglise").await;
    let s = &e.store;
    let son = e.department(org, "Son").await;
    let accueil = e.department(org, "accueil").await;
    let louange = e.department(org, "Louange").await;
    let mut old = department(org, "Ancien");
    old.archived_at = Some(t0());
    s.create_department(&old).await.unwrap();

    let a = e.user("a@test", "zoe", "Dupont").await;
    let b = e.user("b@test", "Alice", "dupont").await;
    let c = e.user("c@test", "Bob", "Durand").await;
    let d = e.user("d@test", "Carl", "Abel").await;
    for (u, mail) in [(a, "a@test"), (b, "b@test"), (c, "c@test"), (d, "d@test")] {
        e.join(
            org,
            louange,
            u,
            mail,
            if u == c {
                DeptRole::Leader
            } else {
                DeptRole::Member
            },
        )
        .await;
    }
    e.join(org, son, a, "a@test", DeptRole::Guest).await;
    e.join(org, son, c, "c@test", DeptRole::Leader).await;
    s.remove_member(org, louange, d, t0()).await.unwrap();

    // members(): active only, by last name then first name, ignoring case.
    let members = s.members(org, louange).await.unwrap();
    let names: Vec<_> = members
        .iter()
        .map(|m| format!("{} {}", m.first_name, m.last_name))
        .collect();
    assert_eq!(names, ["Alice dupont", "zoe Dupont", "Bob Durand"]);
    assert_eq!(members[2].role, DeptRole::Leader);
    assert_eq!(members[0].email, "b@test");
    assert_eq!(members[0].joined_at, t0());
    assert!(members.iter().all(|m| m.department_id == louange));

    // departments(): by name ignoring case; archived ones on request.
    let live = s.departments(org, a, None, false).await.unwrap();
    let summary: Vec<_> = live
        .iter()
        .map(|v| (v.department.name.as_str(), v.member_count, v.my_role))
        .collect();
    assert_eq!(
        summary,
        [
            ("accueil", 0, None),
            ("Louange", 3, Some(DeptRole::Member)),
            ("Son", 2, Some(DeptRole::Guest)),
        ]
    );
    assert_eq!(live[1].department.id, louange);
    let all_ids: Vec<_> = s
        .departments(org, a, None, true)
        .await
        .unwrap()
        .iter()
        .map(|v| v.department.id)
        .collect();
    assert_eq!(all_ids, [accueil, old.id, louange, son]);
    // member_of: only where that user is an active member; my_role stays the viewer's.
    let of_c: Vec<_> = s
        .departments(org, a, Some(c), false)
        .await
        .unwrap()
        .iter()
        .map(|v| (v.department.id, v.my_role))
        .collect();
    assert_eq!(
        of_c,
        [
            (louange, Some(DeptRole::Member)),
            (son, Some(DeptRole::Guest))
        ]
    );
    assert!(
        s.departments(org, d, Some(d), true)
            .await
            .unwrap()
            .is_empty()
    );
    let one = s.department(org, son, c).await.unwrap().unwrap();
    assert_eq!((one.member_count, one.my_role), (2, Some(DeptRole::Leader)));

    // people(): everyone in the church, with their active department count.
    let people = s.people(org).await.unwrap();
    let rows: Vec<_> = people
        .iter()
        .map(|p| {
            (
                p.last_name.as_str(),
                p.first_name.as_str(),
                p.is_admin,
                p.department_count,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("Abel", "Carl", false, 0),
            ("dupont", "Alice", false, 1),
            ("Dupont", "zoe", false, 2),
            ("Durand", "Bob", false, 2),
            ("eglise", "Admin", true, 0),
        ]
    );
    assert_eq!(people[4].user_id, admin);

    // memberships_of(): removed ones included.
    let of_d = s.memberships_of(d).await.unwrap();
    assert_eq!(of_d.len(), 1);
    assert_eq!(of_d[0].status, MemberStatus::Removed);
    assert_eq!(of_d[0].department_name, "Louange");
    let of_a: Vec<_> = s
        .memberships_of(a)
        .await
        .unwrap()
        .iter()
        .map(|m| (m.department_name.clone(), m.role))
        .collect();
    assert_eq!(
        of_a,
        [
            ("Louange".to_string(), DeptRole::Member),
            ("Son".to_string(), DeptRole::Guest)
        ]
    );
}

#[tokio::test]
async fn undecodable_rows_are_errors_not_panics() {
    let e = env().await;
    let (org, _) = e.church("eglise").await;
    let dept = e.department(org, "Son").await;
    let u = e.user("u@test", "U", "V").await;
    e.join(org, dept, u, "u@test", DeptRole::Leader).await;
    e.exec(
        "UPDATE department_members SET skills = ? WHERE user_id = ?",
        vec!["not json".into(), u.as_uuid().into()],
    )
    .await;
    assert!(matches!(
        e.store.members(org, dept).await,
        Err(StoreError::Other(_))
    ));
}
