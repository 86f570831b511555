//! The account emails, in French (default) and English, each with a plain-text and an HTML
//! part. Links point at the web front end: `{FRONTEND_URL}/{locale}/verify-email?token=…`.

use crate::model::{Locale, User};
use kernel::mail::{Email, Mailbox};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html(title: &str, greeting: &str, body: &str, link: &str, button: &str, footer: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:sans-serif;line-height:1.5\">\
         <p>{g}</p><p>{b}</p>\
         <p><a href=\"{l}\" style=\"display:inline-block;padding:10px 16px;background:#2f5bea;color:#fff;\
         text-decoration:none;border-radius:6px\">{btn}</a></p>\
         <p style=\"font-size:small;color:#555\">{l}</p><p style=\"font-size:small;color:#555\">{f}</p>\
         </body></html>",
        t = escape(title),
        g = escape(greeting),
        b = escape(body),
        l = escape(link),
        btn = escape(button),
        f = escape(footer),
    )
}

/// One message with a call to action: the plain-text part and the HTML part (every value
/// escaped) say the same thing. Every domain's emails share this layout.
pub fn message(
    to: Mailbox,
    subject: String,
    greeting: &str,
    body: &str,
    url: &str,
    button: &str,
    footer: &str,
) -> Email {
    Email {
        to,
        text: format!("{greeting}\n\n{body}\n{url}\n\n{footer}\n"),
        html: Some(html(&subject, greeting, body, url, button, footer)),
        subject,
        message_id: None,
    }
}

/// [`message`] to `user`.
fn compose(
    user: &User,
    subject: String,
    greeting: &str,
    body: &str,
    url: &str,
    button: &str,
    footer: &str,
) -> Email {
    let to = Mailbox::named(
        format!("{} {}", user.first_name, user.last_name),
        &user.email,
    );
    message(to, subject, greeting, body, url, button, footer)
}

fn link(frontend_url: &str, locale: Locale, page: &str, token: &str) -> String {
    format!("{frontend_url}/{}/{page}?token={token}", locale.as_str())
}

/// "Confirm your email address", valid 24 h.
pub fn verification(user: &User, frontend_url: &str, app: &str, token: &str) -> Email {
    let url = link(frontend_url, user.locale, "verify-email", token);
    let (subject, greeting, body, button, footer) = match user.locale {
        Locale::Fr => (
            format!("Confirmez votre adresse e-mail – {app}"),
            format!("Bonjour {},", user.first_name),
            "Merci de votre inscription. Confirmez votre adresse e-mail en ouvrant ce lien (valable 24 heures) :".to_string(),
            "Confirmer mon adresse".to_string(),
            "Si vous n'êtes pas à l'origine de cette inscription, ignorez ce message.".to_string(),
        ),
        Locale::En => (
            format!("Confirm your email address – {app}"),
            format!("Hello {},", user.first_name),
            "Thank you for signing up. Confirm your email address by opening this link (valid for 24 hours):".to_string(),
            "Confirm my address".to_string(),
            "If you did not sign up, ignore this message.".to_string(),
        ),
    };
    compose(user, subject, &greeting, &body, &url, &button, &footer)
}

/// "Reset your password", valid 24 h.
pub fn password_reset(user: &User, frontend_url: &str, app: &str, token: &str) -> Email {
    let url = link(frontend_url, user.locale, "reset-password", token);
    let (subject, greeting, body, button, footer) = match user.locale {
        Locale::Fr => (
            format!("Réinitialisation de votre mot de passe – {app}"),
            format!("Bonjour {},", user.first_name),
            "Pour choisir un nouveau mot de passe, ouvrez ce lien (valable 24 heures, une seule fois) :".to_string(),
            "Choisir un nouveau mot de passe".to_string(),
            "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe ne change pas.".to_string(),
        ),
        Locale::En => (
            format!("Reset your password – {app}"),
            format!("Hello {},", user.first_name),
            "To choose a new password, open this link (valid for 24 hours, once):".to_string(),
            "Choose a new password".to_string(),
            "If you did not ask for this, ignore this message: your password stays the same.".to_string(),
        ),
    };
    compose(user, subject, &greeting, &body, &url, &button, &footer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NotificationPrefs, Role};

    fn user(locale: Locale, first: &str) -> User {
        let now = chrono::Utc::now();
        User {
            id: kernel::UserId::new(),
            email: "m@e.fr".into(),
            first_name: first.into(),
            last_name: "Dupont".into(),
            phone: None,
            locale,
            avatar_key: None,
            is_email_verified: false,
            is_active: true,
            organization_id: None,
            role: Role::Member,
            notification_prefs: NotificationPrefs::default(),
            password_hash: None,
            google_subject: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn french_by_default_english_on_request_with_the_right_link() {
        let fr = verification(
            &user(Locale::Fr, "Marie"),
            "https://app.test",
            "MonService",
            "TOK",
        );
        assert!(fr.subject.starts_with("Confirmez"));
        assert!(
            fr.text
                .contains("https://app.test/fr/verify-email?token=TOK")
        );
        let en = password_reset(
            &user(Locale::En, "Mary"),
            "https://app.test",
            "MonService",
            "TOK",
        );
        assert!(en.subject.starts_with("Reset"));
        assert!(
            en.text
                .contains("https://app.test/en/reset-password?token=TOK")
        );
        assert!(
            en.html
                .unwrap()
                .contains("https://app.test/en/reset-password?token=TOK")
        );
    }

    #[test]
    fn names_are_escaped_in_html() {
        let e = verification(&user(Locale::Fr, "<script>"), "https://app.test", "M", "T");
        let html = e.html.unwrap();
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
    }
}
