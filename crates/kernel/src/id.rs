//! Typed identifiers.
//!
//! Every entity id is a UUID (version 7, so ids sort by creation time and index well), wrapped
//! in its own type. Declare a new one with [`define_id!`].

/// Declares a typed UUID identifier with parsing, display and serde support.
#[macro_export]
macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            $crate::__private::serde::Serialize, $crate::__private::serde::Deserialize,
        )]
        #[serde(transparent, crate = "kernel::__private::serde")]
        pub struct $name(pub $crate::__private::uuid::Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self($crate::__private::uuid::Uuid::now_v7())
            }
            /// The underlying UUID.
            pub fn as_uuid(&self) -> $crate::__private::uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::__private::uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::__private::uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl From<$crate::__private::uuid::Uuid> for $name {
            fn from(u: $crate::__private::uuid::Uuid) -> Self {
                Self(u)
            }
        }
    };
}

define_id!(
    /// A church: the tenant. Every tenant-owned row carries one.
    OrganizationId
);

define_id!(
    /// A person with an account.
    UserId
);

define_id!(
    /// A job in the worker's durable queue.
    JobId
);

define_id!(
    /// A department (team) of a church: worship, sound, welcome…
    DepartmentId
);

define_id!(
    /// An invitation to join a department.
    InvitationId
);

define_id!(
    /// A dated service of a department (Sunday worship, a rehearsal…).
    ServiceId
);

define_id!(
    /// A recurring series of services (an RRULE and a template).
    SeriesId
);

define_id!(
    /// A department's rota for one month.
    PlanningId
);

define_id!(
    /// One member in one role at one service of a rota.
    AssignmentId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let id = UserId::new();
        let parsed: UserId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        let json = serde_json_like(&id);
        assert_eq!(json, format!("\"{id}\""));
    }

    #[test]
    fn ids_are_time_ordered() {
        let a = JobId::new();
        let b = JobId::new();
        assert!(a < b, "v7 ids must sort by creation");
    }

    #[test]
    fn malformed_ids_are_rejected() {
        assert!("not-a-uuid".parse::<OrganizationId>().is_err());
        assert!("".parse::<OrganizationId>().is_err());
    }

    // The kernel does not depend on serde_json; Display is what the JSON string holds.
    fn serde_json_like(id: &UserId) -> String {
        format!("\"{}\"", id.0)
    }
}
