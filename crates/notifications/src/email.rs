//! Which notifications also go out by email, and what that email says.
//!
//! In-app is always on. Email follows the recipient's preferences
//! (`users.notification_prefs`, a map of notification types to `true`/`false`):
//!
//! * `"email": false` turns every notification email off;
//! * `"<type>": false` (e.g. `"assignment.changed": false`) turns that type's email off,
//!   `"<type>": true` on;
//! * a type without a preference uses its default: on, except the frequent, low-stakes
//!   leader updates in [`OFF_BY_DEFAULT`].
//!
//! Nothing goes to an address a mail server refused ([`Contact::deliverable`]), and nothing
//! at all when `FEATURE_EMAIL_NOTIFICATIONS=false` ([`EmailConfig::enabled`]).

use crate::model::NewNotification;
use crate::ports::Recipients;
use crate::rules::{ASSIGNMENT_CONFIRMED, AVAILABILITY_CHANGED};
use accounts::Locale;
use kernel::mail::{Email, Mailbox};
use kernel::{OrganizationId, UserId};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The preference key that turns every notification email off.
pub const ALL_EMAIL: &str = "email";

/// Types whose email is off unless the recipient turns it on: a leader hears of every
/// confirmation and every blockout change in the app, not in their mailbox.
pub const OFF_BY_DEFAULT: [&str; 2] = [ASSIGNMENT_CONFIRMED, AVAILABILITY_CHANGED];

/// How notification emails are sent.
#[derive(Clone, Debug)]
pub struct EmailConfig {
    /// `FEATURE_EMAIL_NOTIFICATIONS`.
    pub enabled: bool,
    /// `APP_NAME`, in subjects and buttons.
    pub app_name: String,
    /// `FRONTEND_URL`, without a trailing slash: links are this plus the notification's link.
    pub frontend_url: String,
}

impl EmailConfig {
    /// No email at all (the domain's tests, tools).
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            app_name: "MonService".into(),
            frontend_url: String::new(),
        }
    }
}

/// Where and how to write to a recipient.
#[derive(Clone, Debug, PartialEq)]
pub struct Contact {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// The user's notification preferences, as stored.
    pub prefs: Map<String, Value>,
    /// `false` once a mail server refused the address.
    pub deliverable: bool,
}

/// One email to queue with the notification it repeats.
#[derive(Clone, Debug, PartialEq)]
pub struct QueuedEmail {
    pub organization: OrganizationId,
    pub user: UserId,
    /// The outbox event: with `user`, the email's idempotency key (a batch delivered twice
    /// queues each email once).
    pub event: Option<Uuid>,
    pub email: Email,
}

impl QueuedEmail {
    /// The queue's dedupe key, when the email comes from an event.
    pub fn dedupe_key(&self) -> Option<String> {
        self.event.map(|e| {
            format!(
                "notification-email:{}:{}",
                e.simple(),
                self.user.as_uuid().simple()
            )
        })
    }
}

/// Whether a recipient with these preferences wants `kind` by email.
pub fn wants_email(kind: &str, prefs: &Map<String, Value>) -> bool {
    if prefs.get(ALL_EMAIL).and_then(Value::as_bool) == Some(false) {
        return false;
    }
    prefs
        .get(kind)
        .and_then(Value::as_bool)
        .unwrap_or(!OFF_BY_DEFAULT.contains(&kind))
}

/// The emails that go with `notes`: one per notification whose recipient wants its type by
/// email and has a deliverable address.
pub fn emails_for(
    notes: &[NewNotification],
    r: &Recipients,
    cfg: &EmailConfig,
) -> Vec<QueuedEmail> {
    if !cfg.enabled {
        return Vec::new();
    }
    notes
        .iter()
        .filter_map(|n| {
            let c = r.contacts.get(&n.user)?;
            if !c.deliverable || c.email.is_empty() || !wants_email(&n.kind, &c.prefs) {
                return None;
            }
            let locale = r.locales.get(&n.user).copied().unwrap_or_default();
            Some(QueuedEmail {
                organization: n.organization,
                user: n.user,
                event: n.event,
                email: compose(n, c, locale, cfg),
            })
        })
        .collect()
}

/// The email repeating a notification, in the recipient's language, with a plain-text and an
/// HTML part (the account emails' layout).
pub fn compose(n: &NewNotification, c: &Contact, l: Locale, cfg: &EmailConfig) -> Email {
    let app = cfg.app_name.as_str();
    let home = format!("{}/{}/dashboard", cfg.frontend_url, l.as_str());
    let url = match &n.link {
        Some(link) => format!("{}{link}", cfg.frontend_url),
        None => format!("{home}/notifications"),
    };
    let name = format!("{} {}", c.first_name, c.last_name);
    let to = Mailbox::named(name.trim(), &c.email);
    let settings = format!("{home}/profile");
    let (greeting, button, footer) = match l {
        Locale::Fr => (
            format!("Bonjour {},", c.first_name),
            format!("Ouvrir dans {app}"),
            format!(
                "Vous recevez cet e-mail selon vos préférences de notification. Pour les modifier : {settings}"
            ),
        ),
        Locale::En => (
            format!("Hello {},", c.first_name),
            format!("Open in {app}"),
            format!(
                "You receive this email because of your notification preferences. To change them: {settings}"
            ),
        ),
    };
    let mut email = accounts::emails::message(
        to,
        format!("{} – {app}", n.title),
        &greeting,
        &n.body,
        &url,
        &button,
        &footer,
    );
    // Sent twice after a crash, it is still one message to the recipient's mail system.
    email.message_id = n
        .event
        .map(|e| format!("n.{}.{}", e.simple(), n.user.as_uuid().simple()));
    email
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::rules::{ASSIGNMENT_CHANGED, ROTA_PUBLISHED};
    use serde_json::json;

    fn prefs(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn preferences_by_type_with_defaults_and_a_master_switch() {
        let none = Map::new();
        assert!(wants_email(ROTA_PUBLISHED, &none));
        assert!(!wants_email(AVAILABILITY_CHANGED, &none));
        assert!(!wants_email(ASSIGNMENT_CONFIRMED, &none));
        let p = prefs(json!({ "rota.published": false, "availability.changed": true }));
        assert!(!wants_email(ROTA_PUBLISHED, &p));
        assert!(wants_email(AVAILABILITY_CHANGED, &p));
        assert!(wants_email(ASSIGNMENT_CHANGED, &p));
        let off = prefs(json!({ "email": false, "rota.published": true }));
        assert!(!wants_email(ROTA_PUBLISHED, &off));
        // Not a boolean: the default applies.
        assert!(wants_email(
            ROTA_PUBLISHED,
            &prefs(json!({ "rota.published": "no" }))
        ));
    }

    fn note(user: UserId, kind: &str) -> NewNotification {
        NewNotification {
            organization: OrganizationId::new(),
            user,
            event: Some(Uuid::now_v7()),
            kind: kind.into(),
            title: "Planning publié : Chorale, décembre".into(),
            body: "Vous servez 2 fois en décembre. <b>".into(),
            link: Some("/fr/dashboard/plannings/p1".into()),
            data: json!({}),
        }
    }

    fn contact(email: &str, prefs: Value) -> Contact {
        Contact {
            email: email.into(),
            first_name: "Zoé".into(),
            last_name: "Martin".into(),
            prefs: prefs.as_object().unwrap().clone(),
            deliverable: true,
        }
    }

    fn cfg() -> EmailConfig {
        EmailConfig {
            enabled: true,
            app_name: "MonService".into(),
            frontend_url: "https://app.example".into(),
        }
    }

    #[test]
    fn emails_follow_preferences_deliverability_and_the_feature_flag() {
        let (a, b, c, d) = (UserId::new(), UserId::new(), UserId::new(), UserId::new());
        let mut r = Recipients::default();
        r.contacts.insert(a, contact("a@x.test", json!({})));
        r.contacts
            .insert(b, contact("b@x.test", json!({ "rota.published": false })));
        let mut bounced = contact("c@x.test", json!({}));
        bounced.deliverable = false;
        r.contacts.insert(c, bounced);
        r.locales.insert(a, Locale::Fr);
        // d has no contact (account gone): no email.
        let notes = [
            note(a, ROTA_PUBLISHED),
            note(b, ROTA_PUBLISHED),
            note(c, ROTA_PUBLISHED),
            note(d, ROTA_PUBLISHED),
            note(a, AVAILABILITY_CHANGED),
        ];
        let out = emails_for(&notes, &r, &cfg());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].user, a);
        assert_eq!(out[0].email.to.email, "a@x.test");
        assert!(
            out[0]
                .dedupe_key()
                .unwrap()
                .starts_with("notification-email:")
        );
        assert!(emails_for(&notes, &r, &EmailConfig::disabled()).is_empty());
    }

    #[test]
    fn the_email_says_what_the_notification_says_in_both_parts() {
        let n = note(UserId::new(), ROTA_PUBLISHED);
        let e = compose(&n, &contact("z@x.test", json!({})), Locale::Fr, &cfg());
        assert_eq!(
            e.subject,
            "Planning publié : Chorale, décembre – MonService"
        );
        assert_eq!(e.to.name.as_deref(), Some("Zoé Martin"));
        assert!(e.text.starts_with("Bonjour Zoé,"));
        assert!(e.text.contains("Vous servez 2 fois en décembre."));
        assert!(
            e.text
                .contains("https://app.example/fr/dashboard/plannings/p1")
        );
        assert!(e.text.contains("https://app.example/fr/dashboard/profile"));
        let html = e.html.unwrap();
        assert!(html.contains("&lt;b&gt;"), "escaped: {html}");
        assert!(html.contains("Ouvrir dans MonService"));
        let en = compose(&n, &contact("z@x.test", json!({})), Locale::En, &cfg());
        assert!(en.text.starts_with("Hello Zoé,"));
        assert!(en.text.contains("/en/dashboard/profile"));
        let id = e.message_id.unwrap();
        assert!(id.starts_with("n."), "{id}");
        assert_eq!(
            Some(id),
            compose(&n, &contact("z@x.test", json!({})), Locale::Fr, &cfg()).message_id
        );
    }
}
