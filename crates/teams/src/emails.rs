//! The invitation email, in French (default) or English: a link to
//! `{FRONTEND_URL}/{locale}/invitations/{token}`, valid 7 days.

use accounts::Locale;
use accounts::emails::message;
use kernel::mail::{Email, Mailbox};

/// What the invitation says.
pub struct InvitationMail<'a> {
    pub to: &'a str,
    pub locale: Locale,
    pub inviter_name: Option<&'a str>,
    pub organization_name: &'a str,
    pub department_name: &'a str,
    pub role: crate::DeptRole,
    pub frontend_url: &'a str,
    pub app_name: &'a str,
    pub token: &'a str,
    pub valid_days: i64,
}

/// The link the email carries.
pub fn invitation_link(frontend_url: &str, locale: Locale, token: &str) -> String {
    format!("{frontend_url}/{}/invitations/{token}", locale.as_str())
}

pub fn invitation(m: &InvitationMail<'_>) -> Email {
    let url = invitation_link(m.frontend_url, m.locale, m.token);
    let (org, dept, app, days) = (
        m.organization_name,
        m.department_name,
        m.app_name,
        m.valid_days,
    );
    let (subject, greeting, body, button, footer) = match m.locale {
        Locale::Fr => {
            let who = m.inviter_name.unwrap_or("Un responsable");
            let role = match m.role {
                crate::DeptRole::Leader => "responsable",
                crate::DeptRole::Member => "membre",
                crate::DeptRole::Guest => "invité",
            };
            (
                format!("Invitation à rejoindre {dept} – {org}"),
                "Bonjour,".to_string(),
                format!(
                    "{who} vous invite à rejoindre le département « {dept} » de {org} sur {app}, en tant que {role}. \
                     Ouvrez ce lien pour accepter (valable {days} jours) :"
                ),
                "Accepter l'invitation".to_string(),
                "Si vous ne connaissez pas cette église, ignorez ce message.".to_string(),
            )
        }
        Locale::En => {
            let who = m.inviter_name.unwrap_or("A leader");
            (
                format!("Invitation to join {dept} – {org}"),
                "Hello,".to_string(),
                format!(
                    "{who} invites you to join the \"{dept}\" department of {org} on {app}, as {}. \
                     Open this link to accept (valid for {days} days):",
                    m.role.as_str()
                ),
                "Accept the invitation".to_string(),
                "If you do not know this church, ignore this message.".to_string(),
            )
        }
    };
    message(
        Mailbox::new(m.to),
        subject,
        &greeting,
        &body,
        &url,
        &button,
        &footer,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(locale: Locale) -> Email {
        invitation(&InvitationMail {
            to: "new@e.fr",
            locale,
            inviter_name: Some("Marie <Dupont>"),
            organization_name: "Église de Lyon",
            department_name: "Louange",
            role: crate::DeptRole::Member,
            frontend_url: "https://app.test",
            app_name: "MonService",
            token: "TOK",
            valid_days: 7,
        })
    }

    #[test]
    fn the_link_and_the_language() {
        let fr = mail(Locale::Fr);
        assert_eq!(fr.to.email, "new@e.fr");
        assert!(fr.subject.contains("Louange"));
        assert!(fr.text.contains("https://app.test/fr/invitations/TOK"));
        assert!(fr.text.contains("7 jours"));
        let en = mail(Locale::En);
        assert!(en.text.contains("https://app.test/en/invitations/TOK"));
        assert!(en.text.contains("as member"));
        let html = en.html.unwrap();
        assert!(html.contains("&lt;Dupont&gt;") && !html.contains("<Dupont>"));
    }
}
