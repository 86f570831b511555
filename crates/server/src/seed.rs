//! `monservice seed`: a realistic demo church, created through the domain services exactly
//! as the API would create it (sign-ups, a church, departments, invitations sent and
//! accepted, skills set by the leaders), so the data obeys every rule the services enforce.
//!
//! Everything is deterministic: the same flags give the same people, departments, roles and
//! skills (only ids, tokens and timestamps differ). Every address is at `demo.example.org`, a
//! reserved domain that never receives mail.

use accounts::{AccountStore, RegisterInput, User};
use anyhow::{Context, anyhow, bail};
use app::{AppContext, AppEnv, Overrides, Settings};
use kernel::{DepartmentId, OrganizationId};
use std::collections::HashSet;
use std::io::Write;
use teams::service::{MemberPatch, NewDepartment, NewInvitation, NewOrganization};
use teams::{TeamError, Viewer};

/// The password of every demo account (passes the password policy).
pub const PASSWORD: &str = "louange-sono-accueil";
/// The demo church's administrator; its existence means the demo was already seeded.
pub const ADMIN_EMAIL: &str = "admin@demo.example.org";
const DOMAIN: &str = "demo.example.org";
const CHURCH: &str = "Église Démo";
const SLUG: &str = "eglise-demo";
const TIMEZONE: &str = "Europe/Paris";
const PENDING_INVITATIONS: usize = 5;
const GUESTS: usize = 2;

/// `monservice seed` flags.
#[derive(clap::Args, Clone, Debug)]
pub struct SeedArgs {
    /// People in the three departments, the three leaders included (the administrator is
    /// extra).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(6..=2000))]
    pub members: u32,
    /// Adds a fourth department, "Chorale", with this many more people (one of them its
    /// leader); for load tests that need a large department.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=5000))]
    pub extra_department_size: u32,
    /// Print one JSON object (ids, logins, counts) instead of the summary.
    #[arg(long)]
    pub json: bool,
}

struct DeptSpec {
    name: &'static str,
    description: &'static str,
    skills: &'static [&'static str],
}

static DEPARTMENTS: [DeptSpec; 3] = [
    DeptSpec {
        name: "Louange",
        description: "Musiciens et chantres du culte du dimanche.",
        skills: &[
            "Chant",
            "Guitare",
            "Basse",
            "Batterie",
            "Clavier",
            "Direction",
        ],
    },
    DeptSpec {
        name: "Son et vidéo",
        description: "Sonorisation, projection des chants et diffusion en direct.",
        skills: &["Son", "Vidéo", "Projection", "Lumières", "Streaming"],
    },
    DeptSpec {
        name: "Accueil",
        description: "Accueil des visiteurs, café après le culte, parking et enfants.",
        skills: &["Accueil", "Café", "Parking", "Enfants"],
    },
];

static CHORALE: DeptSpec = DeptSpec {
    name: "Chorale",
    description: "Chœur des fêtes et des cultes spéciaux.",
    skills: &["Soprano", "Alto", "Ténor", "Basse"],
};

const ADMIN_NAME: (&str, &str) = ("Philippe", "Charpentier");

const FIRST_NAMES: [&str; 40] = [
    "Camille",
    "Lucas",
    "Chloé",
    "Hugo",
    "Léa",
    "Louis",
    "Manon",
    "Gabriel",
    "Inès",
    "Raphaël",
    "Jade",
    "Arthur",
    "Sarah",
    "Nathan",
    "Emma",
    "Théo",
    "Zoé",
    "Jules",
    "Clara",
    "Samuel",
    "Anaïs",
    "Maël",
    "Noémie",
    "Élie",
    "Rébecca",
    "Daniel",
    "Esther",
    "Timothée",
    "Priscille",
    "Josué",
    "Déborah",
    "Mathis",
    "Lydie",
    "Benjamin",
    "Ruth",
    "Étienne",
    "Marie",
    "Joël",
    "Aurélie",
    "Gaël",
];

const LAST_NAMES: [&str; 40] = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Kouassi",
];

/// Lower-case ASCII for an email's local part: accents dropped, anything else a `-`.
fn ascii(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'â' | 'ä' => out.push('a'),
            'ç' => out.push('c'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'î' | 'ï' => out.push('i'),
            'ô' | 'ö' => out.push('o'),
            'ù' | 'û' | 'ü' => out.push('u'),
            'ÿ' => out.push('y'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => out.push('-'),
        }
    }
    out
}

/// Someone to sign up.
#[derive(Clone, Debug)]
struct Person {
    first: &'static str,
    last: &'static str,
    email: String,
}

/// `count` distinct people. Person `k` is first name `k mod 40` with last name
/// `(k + k div 40) mod 40`: no two of the first 1,600 share a name, and neighbours never
/// share a surname. Addresses are de-duplicated anyway beyond that.
fn people(count: usize) -> Vec<Person> {
    let (f, l) = (FIRST_NAMES.len(), LAST_NAMES.len());
    let mut taken: HashSet<String> = HashSet::from([ADMIN_EMAIL.to_string()]);
    (0..count)
        .map(|k| {
            let first = FIRST_NAMES[k % f];
            let last = LAST_NAMES[(k + k / f) % l];
            let base = format!("{}.{}", ascii(first), ascii(last));
            let mut email = format!("{base}@{DOMAIN}");
            let mut n = 2;
            while !taken.insert(email.clone()) {
                email = format!("{base}{n}@{DOMAIN}");
                n += 1;
            }
            Person { first, last, email }
        })
        .collect()
}

/// 1 to 3 skills of `pool`, varying with `k`.
fn skills_for(pool: &[&str], k: usize) -> Vec<String> {
    let count = (1 + k % 3).min(pool.len());
    (0..count)
        .map(|i| pool[(k * 2 + i) % pool.len()].to_string())
        .collect()
}

/// A department as seeded.
struct SeededDept {
    id: DepartmentId,
    name: &'static str,
    leader: Viewer,
}

/// A login worth showing.
struct Login {
    email: String,
    name: String,
    role: &'static str,
    what: String,
}

/// What was created.
struct Summary {
    organization: OrganizationId,
    departments: Vec<(SeededDept, u32)>,
    logins: Vec<Login>,
    pending: Vec<(String, &'static str)>,
    accounts: usize,
}

fn team_err(what: &str, e: TeamError) -> anyhow::Error {
    match e {
        TeamError::Invalid(errs) => anyhow!("{what}: invalid input: {errs:?}"),
        other => anyhow!("{what}: {other}"),
    }
}

/// The command: refuses production and a second run, seeds, prints the summary.
pub async fn run(mut settings: Settings, args: SeedArgs) -> anyhow::Result<()> {
    if settings.env == AppEnv::Production {
        bail!(
            "refusing to create demo accounts with a published password in production (APP_ENV=production)"
        );
    }
    // Seeding needs the current schema whatever AUTO_MIGRATE says (PostgreSQL defaults to off).
    settings.auto_migrate = true;
    let mail_note = match &settings.mail {
        app::settings::MailSettings::Files { dir } => {
            format!("as .eml files under {}", dir.display())
        }
        app::settings::MailSettings::Smtp { host, .. } => {
            format!("through SMTP ({host}); every address is at {DOMAIN}, which accepts no mail")
        }
    };
    let ctx = AppContext::build(settings, Overrides::default())
        .await
        .context("cannot open the service")?;
    if ctx
        .accounts
        .store
        .user_by_email(ADMIN_EMAIL)
        .await
        .context("cannot look for the demo administrator")?
        .is_some()
    {
        bail!(
            "the demo church is already there ({ADMIN_EMAIL} exists): run `cargo xtask db fresh` first to empty the database"
        );
    }
    let total = args.members as usize + args.extra_department_size as usize + 1;
    let _ = writeln!(
        std::io::stderr(),
        "seeding the demo church: {total} accounts (password hashing takes a moment)…"
    );
    let summary = seed(&ctx, &args).await?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", json(&summary))?;
    } else {
        write_summary(&mut out, &summary, &mail_note)?;
    }
    Ok(())
}

async fn register(ctx: &AppContext, first: &str, last: &str, email: &str) -> anyhow::Result<User> {
    let (user, _session) = ctx
        .accounts
        .register(
            RegisterInput {
                email: email.to_string(),
                password: PASSWORD.to_string(),
                first_name: first.to_string(),
                last_name: last.to_string(),
                locale: None,
                email_verified: true,
            },
            ctx.clock.now(),
        )
        .await
        .map_err(|e| match e {
            accounts::AccountError::Invalid(errs) => {
                anyhow!("cannot sign up {email}: invalid input: {errs:?}")
            }
            other => anyhow!("cannot sign up {email}: {other}"),
        })?;
    Ok(user)
}

/// The account as stored now: a [`Viewer`] reads its church and role from it.
async fn viewer(ctx: &AppContext, user: &User) -> anyhow::Result<Viewer> {
    let fresh = ctx
        .accounts
        .store
        .user_by_id(user.id)
        .await
        .with_context(|| format!("cannot reload {}", user.email))?
        .ok_or_else(|| anyhow!("the account {} vanished", user.email))?;
    Ok(Viewer::of(&fresh))
}

/// `inviter` (the administrator or the department's leader) invites `who` with `role`, `who`
/// accepts, and `inviter` sets their skills.
async fn join(
    ctx: &AppContext,
    inviter: &Viewer,
    dept: &SeededDept,
    who: &Viewer,
    role: &str,
    skills: Vec<String>,
) -> anyhow::Result<()> {
    let what = || format!("{} joining {}", who.email, dept.name);
    let sent = ctx
        .teams
        .invite(
            inviter,
            dept.id,
            NewInvitation {
                email: who.email.clone(),
                role: Some(role.to_string()),
            },
            ctx.clock.now(),
        )
        .await
        .map_err(|e| team_err(&what(), e))?;
    ctx.teams
        .accept_invitation(who, &sent.token, ctx.clock.now())
        .await
        .map_err(|e| team_err(&what(), e))?;
    ctx.teams
        .change_member(
            inviter,
            dept.id,
            who.user,
            MemberPatch {
                skills: Some(skills),
                ..Default::default()
            },
            ctx.clock.now(),
        )
        .await
        .map_err(|e| team_err(&what(), e))?;
    Ok(())
}

async fn create_department(
    ctx: &AppContext,
    admin: &Viewer,
    spec: &DeptSpec,
) -> anyhow::Result<DepartmentId> {
    let view = ctx
        .teams
        .create_department(
            admin,
            NewDepartment {
                name: spec.name.to_string(),
                description: Some(spec.description.to_string()),
                ..NewDepartment::default()
            },
            ctx.clock.now(),
        )
        .await
        .map_err(|e| team_err(&format!("cannot create the department {}", spec.name), e))?;
    Ok(view.department.id)
}

/// Signs `person` up and makes them the leader of a new department `spec`, appointed by the
/// administrator.
async fn department_with_leader(
    ctx: &AppContext,
    admin: &Viewer,
    spec: &DeptSpec,
    person: &Person,
    k: usize,
) -> anyhow::Result<SeededDept> {
    let id = create_department(ctx, admin, spec).await?;
    let user = register(ctx, person.first, person.last, &person.email).await?;
    let mut dept = SeededDept {
        id,
        name: spec.name,
        leader: Viewer::of(&user),
    };
    let joining = dept.leader.clone();
    join(
        ctx,
        admin,
        &dept,
        &joining,
        "leader",
        skills_for(spec.skills, k),
    )
    .await?;
    // Now in the church: reload so the leader can invite.
    dept.leader = viewer(ctx, &user).await?;
    Ok(dept)
}

async fn seed(ctx: &AppContext, args: &SeedArgs) -> anyhow::Result<Summary> {
    let members = args.members as usize;
    let extra = args.extra_department_size as usize;
    let everyone = people(members + extra);
    let (core, chorale) = everyone.split_at(members);

    // The administrator founds the church.
    let admin_user = register(ctx, ADMIN_NAME.0, ADMIN_NAME.1, ADMIN_EMAIL).await?;
    let org = ctx
        .teams
        .create_organization(
            &Viewer::of(&admin_user),
            NewOrganization {
                name: CHURCH.to_string(),
                slug: Some(SLUG.to_string()),
                timezone: Some(TIMEZONE.to_string()),
            },
            ctx.clock.now(),
        )
        .await
        .map_err(|e| team_err("cannot create the church", e))?;
    let admin = viewer(ctx, &admin_user).await?;
    let mut logins = vec![Login {
        email: admin.email.clone(),
        name: admin.name.clone(),
        role: "admin",
        what: "administrator of the church".to_string(),
    }];

    // Three departments, each with a leader the administrator appoints (people 0, 1, 2).
    let mut depts: Vec<SeededDept> = Vec::new();
    for (i, spec) in DEPARTMENTS.iter().enumerate() {
        let d = department_with_leader(ctx, &admin, spec, &core[i], i).await?;
        logins.push(Login {
            email: d.leader.email.clone(),
            name: d.leader.name.clone(),
            role: "leader",
            what: format!("leader of {}", d.name),
        });
        depts.push(d);
    }

    // Everyone else, invited by their department's leader. About a fifth also serve in the
    // next department; the last two are guests.
    let ordinary = &core[DEPARTMENTS.len()..];
    let mut shown_members = 0;
    for (j, person) in ordinary.iter().enumerate() {
        let guest = j + GUESTS >= ordinary.len();
        let primary = j % depts.len();
        let second = (!guest && j % 5 == 2).then_some((primary + 1) % depts.len());
        let user = register(ctx, person.first, person.last, &person.email).await?;
        let who = Viewer::of(&user);
        let d = &depts[primary];
        let role = if guest { "guest" } else { "member" };
        join(
            ctx,
            &d.leader,
            d,
            &who,
            role,
            skills_for(DEPARTMENTS[primary].skills, j + 3),
        )
        .await?;
        if let Some(s) = second {
            let d2 = &depts[s];
            let who = viewer(ctx, &user).await?;
            join(
                ctx,
                &d2.leader,
                d2,
                &who,
                "member",
                skills_for(DEPARTMENTS[s].skills, j + 7),
            )
            .await?;
        }
        // Two member logins: the first member, and the first one in two departments.
        if !guest && (j == 0 || second.is_some()) && shown_members < 2 {
            shown_members += 1;
            logins.push(Login {
                email: who.email.clone(),
                name: who.name.clone(),
                role: "member",
                what: match second {
                    Some(s) => format!("member of {} and {}", d.name, depts[s].name),
                    None => format!("member of {}", d.name),
                },
            });
        }
    }

    // Pending invitations, sent by the leaders and left unanswered.
    let mut pending = Vec::new();
    for i in 0..PENDING_INVITATIONS {
        let d = &depts[i % depts.len()];
        let email = format!("invite{}@{DOMAIN}", i + 1);
        ctx.teams
            .invite(
                &d.leader,
                d.id,
                NewInvitation {
                    email: email.clone(),
                    role: None,
                },
                ctx.clock.now(),
            )
            .await
            .map_err(|e| team_err(&format!("cannot invite {email}"), e))?;
        pending.push((email, d.name));
    }

    // The large extra department, for load tests.
    if let Some((first, rest)) = chorale.split_first() {
        let d = department_with_leader(ctx, &admin, &CHORALE, first, 0).await?;
        for (j, person) in rest.iter().enumerate() {
            let user = register(ctx, person.first, person.last, &person.email).await?;
            join(
                ctx,
                &d.leader,
                &d,
                &Viewer::of(&user),
                "member",
                skills_for(CHORALE.skills, j + 1),
            )
            .await?;
        }
        logins.push(Login {
            email: d.leader.email.clone(),
            name: d.leader.name.clone(),
            role: "leader",
            what: format!("leader of {}", d.name),
        });
        depts.push(d);
    }

    // Member counts as the service reports them.
    let views = ctx
        .teams
        .departments(&admin, false)
        .await
        .map_err(|e| team_err("cannot list the departments", e))?;
    let departments = depts
        .into_iter()
        .map(|d| {
            let count = views
                .iter()
                .find(|v| v.department.id == d.id)
                .map_or(0, |v| v.member_count);
            (d, count)
        })
        .collect();
    Ok(Summary {
        organization: org.id,
        departments,
        logins,
        pending,
        accounts: everyone.len() + 1,
    })
}

fn json(s: &Summary) -> serde_json::Value {
    serde_json::json!({
        "password": PASSWORD,
        "admin": ADMIN_EMAIL,
        "organizationId": s.organization.to_string(),
        "organization": { "name": CHURCH, "slug": SLUG },
        "accounts": s.accounts,
        "departments": s.departments.iter().map(|(d, count)| serde_json::json!({
            "id": d.id.to_string(),
            "name": d.name,
            "members": count,
            "leader": d.leader.email,
        })).collect::<Vec<_>>(),
        "logins": s.logins.iter().map(|l| serde_json::json!({
            "email": l.email,
            "name": l.name,
            "role": l.role,
            "description": l.what,
        })).collect::<Vec<_>>(),
        "pendingInvitations": s.pending.iter().map(|(email, dept)| serde_json::json!({
            "email": email,
            "department": dept,
        })).collect::<Vec<_>>(),
    })
}

fn write_summary(out: &mut impl Write, s: &Summary, mail_note: &str) -> std::io::Result<()> {
    writeln!(
        out,
        "Demo church \"{CHURCH}\" ({SLUG}, {TIMEZONE}) created with {} accounts.",
        s.accounts
    )?;
    writeln!(out)?;
    writeln!(out, "Logins (password for every demo account: {PASSWORD})")?;
    let width = s.logins.iter().map(|l| l.email.len()).max().unwrap_or(0);
    for l in &s.logins {
        writeln!(
            out,
            "  {:width$}  {} — {}",
            l.email,
            l.name,
            l.what,
            width = width
        )?;
    }
    writeln!(out)?;
    writeln!(out, "Departments")?;
    let width = s
        .departments
        .iter()
        .map(|(d, _)| d.name.chars().count())
        .max()
        .unwrap_or(0);
    for (d, count) in &s.departments {
        let pad = width.saturating_sub(d.name.chars().count());
        writeln!(
            out,
            "  {}{}  {count:>3} members  leader {}",
            d.name,
            " ".repeat(pad),
            d.leader.email
        )?;
    }
    writeln!(out)?;
    writeln!(out, "Pending invitations (not accepted)")?;
    for (email, dept) in &s.pending {
        writeln!(out, "  {email}  → {dept}")?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "The worker (`cargo run`) will send the invitation emails, accepted ones included, {mail_note}."
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_addresses_ascii() {
        let p = people(1700);
        let names: HashSet<_> = p.iter().take(1600).map(|p| (p.first, p.last)).collect();
        assert_eq!(names.len(), 1600);
        let emails: HashSet<_> = p.iter().map(|p| p.email.as_str()).collect();
        assert_eq!(emails.len(), 1700);
        assert!(p.iter().all(|p| p.email.is_ascii()));
        assert_eq!(p[0].email, "camille.martin@demo.example.org");
        assert_eq!(ascii("Lefèvre"), "lefevre");
    }

    #[test]
    fn one_to_three_skills_from_the_pool() {
        for k in 0..30 {
            for d in DEPARTMENTS.iter().chain([&CHORALE]) {
                let s = skills_for(d.skills, k);
                assert!((1..=3).contains(&s.len()));
                assert!(s.iter().all(|x| d.skills.contains(&x.as_str())));
                let distinct: HashSet<_> = s.iter().collect();
                assert_eq!(distinct.len(), s.len());
            }
        }
    }

    #[test]
    fn the_demo_password_passes_the_policy() {
        let mut errs = kernel::ValidationErrors::new();
        accounts::policy::check_password("password", PASSWORD, ADMIN_EMAIL, &mut errs);
        assert!(errs.is_empty());
    }
}
