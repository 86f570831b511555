//! Domain events: facts a domain records when something happened that others may need to
//! act on (a blockout changed, a rota was published, a member declined). The store writes
//! them to the outbox in the same transaction as the change, so an event exists exactly when
//! its change committed; the notifications capability delivers them later.

use crate::{DepartmentId, OrganizationId, UserId};
use serde::{Deserialize, Serialize};

/// One recorded fact. `kind` is a dotted name owned by the domain that records it
/// (`availability.changed`, `rota.published`…); `payload` holds what a reader needs to act
/// without another query (ids, dates, the reason given).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    pub organization: OrganizationId,
    pub kind: String,
    /// The department the event concerns, if any.
    pub department: Option<DepartmentId>,
    /// Who caused it (`None` for the system, e.g. a scheduled job).
    pub actor: Option<UserId>,
    /// The person it is about or for (the assigned member, the member whose blockouts changed).
    pub user: Option<UserId>,
    pub payload: serde_json::Value,
}

impl DomainEvent {
    pub fn new(organization: OrganizationId, kind: impl Into<String>) -> Self {
        Self {
            organization,
            kind: kind.into(),
            department: None,
            actor: None,
            user: None,
            payload: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    pub fn department(mut self, d: DepartmentId) -> Self {
        self.department = Some(d);
        self
    }

    pub fn actor(mut self, u: UserId) -> Self {
        self.actor = Some(u);
        self
    }

    pub fn user(mut self, u: UserId) -> Self {
        self.user = Some(u);
        self
    }

    pub fn payload(mut self, p: serde_json::Value) -> Self {
        self.payload = p;
        self
    }
}
