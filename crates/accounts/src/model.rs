//! Accounts as the domain sees them.

use chrono::{DateTime, Utc};
use kernel::{OrganizationId, UserId};
use serde::{Deserialize, Serialize};

/// The user's language: French by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Fr,
    En,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
        }
    }
    /// `en` (or `en-GB`…) is English; anything else is French.
    pub fn parse(s: &str) -> Option<Locale> {
        let l = s.trim().to_ascii_lowercase();
        if l == "fr" || l.starts_with("fr-") {
            Some(Locale::Fr)
        } else if l == "en" || l.starts_with("en-") {
            Some(Locale::En)
        } else {
            None
        }
    }
}

/// The user's role in their church, as the front end knows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Leader,
    #[default]
    Member,
    Guest,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Leader => "leader",
            Role::Member => "member",
            Role::Guest => "guest",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "leader" => Some(Role::Leader),
            "member" => Some(Role::Member),
            "guest" => Some(Role::Guest),
            _ => None,
        }
    }
}

/// Which emails the user wants (in-app notifications are always on). Unknown keys are kept
/// for the notifications issue to define.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NotificationPrefs(pub serde_json::Map<String, serde_json::Value>);

/// An account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    /// Trimmed and lower-cased.
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// E.164, e.g. `+33612345678`.
    pub phone: Option<String>,
    pub locale: Locale,
    /// The file-store key of the avatar.
    pub avatar_key: Option<String>,
    pub is_email_verified: bool,
    pub is_active: bool,
    pub organization_id: Option<OrganizationId>,
    pub role: Role,
    pub notification_prefs: NotificationPrefs,
    /// `None` for an account that only signs in with Google.
    pub password_hash: Option<String>,
    pub google_subject: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change to the profile; `None` leaves a field as it is. `phone: Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<Option<String>>,
    /// As sent (`fr`, `en`, `en-GB`…); validated by the service.
    pub locale: Option<String>,
    pub notification_prefs: Option<NotificationPrefs>,
}
