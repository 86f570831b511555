//! Who may do what. The matrix is `docs/permissions.md`; each of its cells is a test below.

use serde::{Deserialize, Serialize};

/// A person's role in a department.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeptRole {
    Leader,
    Member,
    /// Reads only.
    Guest,
}

impl DeptRole {
    pub fn as_str(self) -> &'static str {
        match self {
            DeptRole::Leader => "leader",
            DeptRole::Member => "member",
            DeptRole::Guest => "guest",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "leader" => Some(DeptRole::Leader),
            "member" => Some(DeptRole::Member),
            "guest" => Some(DeptRole::Guest),
            _ => None,
        }
    }
}

/// The person acting, as far as one department is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The church's administrator (creates departments, appoints leaders).
    pub org_admin: bool,
    /// Their role in the department the action is about; `None` outside it.
    pub dept_role: Option<DeptRole>,
}

/// Everything the teams capability lets someone do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    ViewOrganization,
    UpdateOrganization,
    /// List the church's people and make or unmake administrators.
    ManageAdministrators,
    CreateDepartment,
    ViewDepartment,
    UpdateDepartment,
    ArchiveDepartment,
    ListMembers,
    /// Give a member another role in the department.
    ChangeMemberRole {
        to: DeptRole,
    },
    ChangeMemberSkills,
    RemoveMember,
    /// Leave the department oneself.
    LeaveDepartment,
    /// Invite, list, resend and cancel invitations.
    ManageInvitations,
    /// Enter one's own blockouts in the department (until the deadline).
    EditOwnAvailability,
    /// See everyone's blockouts and who has not answered; enter blockouts for a member at
    /// any time.
    ManageAvailability,
    /// See the department's services and its published rotas (and one's own assignments).
    ViewServices,
    /// Create, edit and delete services and recurring series.
    ManageServices,
    /// See a rota that is not published yet (draft or generated) and its explanations.
    ViewDraftRota,
    /// Generate, edit, publish, unpublish and archive the rota; export it.
    ManageRota,
}

/// Refused: the sentence is the API's `detail`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Forbidden(pub &'static str);

/// The matrix.
pub fn can(actor: Actor, action: Action) -> bool {
    use Action::*;
    use DeptRole::*;
    let admin = actor.org_admin;
    let role = actor.dept_role;
    let in_dept = role.is_some();
    let leader = role == Some(Leader);
    match action {
        // Every member of the church sees the church; the caller has already scoped to it.
        ViewOrganization => true,
        UpdateOrganization | ManageAdministrators | CreateDepartment | ArchiveDepartment => admin,
        LeaveDepartment => in_dept,
        // Guests do not serve, so they have nothing to block out.
        EditOwnAvailability => matches!(role, Some(Leader | Member)),
        ManageAvailability => admin || leader,
        ViewDepartment | ListMembers | ViewServices => admin || in_dept,
        ManageServices | ViewDraftRota | ManageRota => admin || leader,
        UpdateDepartment | ChangeMemberSkills | RemoveMember | ManageInvitations => admin || leader,
        // Leaders run their team but only the administrator appoints leaders.
        ChangeMemberRole { to: Leader } => admin,
        ChangeMemberRole { to: Member | Guest } => admin || leader,
    }
}

/// [`can`], with the refusal's sentence.
pub fn authorize(actor: Actor, action: Action) -> Result<(), Forbidden> {
    if can(actor, action) {
        return Ok(());
    }
    Err(Forbidden(match action {
        Action::UpdateOrganization
        | Action::ManageAdministrators
        | Action::CreateDepartment
        | Action::ArchiveDepartment => "Only the church's administrator can do this.",
        Action::ChangeMemberRole {
            to: DeptRole::Leader,
        } => "Only the church's administrator appoints leaders.",
        Action::EditOwnAvailability => "Only the department's members and leaders enter blockouts.",
        Action::ViewDepartment
        | Action::ListMembers
        | Action::LeaveDepartment
        | Action::ViewServices => "You are not a member of this department.",
        _ => "Only this department's leaders or the church's administrator can do this.",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use DeptRole::*;

    const ADMIN: Actor = Actor {
        org_admin: true,
        dept_role: None,
    };
    const LEADER: Actor = Actor {
        org_admin: false,
        dept_role: Some(Leader),
    };
    const MEMBER: Actor = Actor {
        org_admin: false,
        dept_role: Some(Member),
    };
    const GUEST: Actor = Actor {
        org_admin: false,
        dept_role: Some(Guest),
    };
    const OUTSIDER: Actor = Actor {
        org_admin: false,
        dept_role: None,
    };

    /// Exactly the table of docs/permissions.md: admin, leader, member, guest, outsider.
    const MATRIX: &[(Action, [bool; 5])] = &[
        (ViewOrganization, [true, true, true, true, true]),
        (UpdateOrganization, [true, false, false, false, false]),
        (ManageAdministrators, [true, false, false, false, false]),
        (CreateDepartment, [true, false, false, false, false]),
        (ViewDepartment, [true, true, true, true, false]),
        (UpdateDepartment, [true, true, false, false, false]),
        (ArchiveDepartment, [true, false, false, false, false]),
        (ListMembers, [true, true, true, true, false]),
        (
            ChangeMemberRole { to: Leader },
            [true, false, false, false, false],
        ),
        (
            ChangeMemberRole { to: Member },
            [true, true, false, false, false],
        ),
        (
            ChangeMemberRole { to: Guest },
            [true, true, false, false, false],
        ),
        (ChangeMemberSkills, [true, true, false, false, false]),
        (RemoveMember, [true, true, false, false, false]),
        (LeaveDepartment, [false, true, true, true, false]),
        (ManageInvitations, [true, true, false, false, false]),
        (EditOwnAvailability, [false, true, true, false, false]),
        (ManageAvailability, [true, true, false, false, false]),
        (ViewServices, [true, true, true, true, false]),
        (ManageServices, [true, true, false, false, false]),
        (ViewDraftRota, [true, true, false, false, false]),
        (ManageRota, [true, true, false, false, false]),
    ];

    #[test]
    fn every_cell_of_the_matrix() {
        let actors = [
            ("admin", ADMIN),
            ("leader", LEADER),
            ("member", MEMBER),
            ("guest", GUEST),
            ("outsider", OUTSIDER),
        ];
        for (action, expected) in MATRIX {
            for ((name, actor), allowed) in actors.iter().zip(expected) {
                assert_eq!(can(*actor, *action), *allowed, "{name} / {action:?}");
                assert_eq!(
                    authorize(*actor, *action).is_ok(),
                    *allowed,
                    "{name} / {action:?}"
                );
            }
        }
    }

    #[test]
    fn an_admin_who_is_also_a_guest_keeps_admin_rights() {
        let a = Actor {
            org_admin: true,
            dept_role: Some(Guest),
        };
        assert!(can(a, ChangeMemberRole { to: Leader }));
    }

    #[test]
    fn the_permissions_document_lists_the_same_cells() {
        let doc = include_str!("../../../docs/permissions.md");
        let rows = doc.lines().filter(|l| l.starts_with("| `")).count();
        assert_eq!(
            rows,
            MATRIX.len(),
            "docs/permissions.md and MATRIX must list the same actions"
        );
        for (action, expected) in MATRIX {
            let name = format!("{action:?}");
            let line = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{name}`")))
                .unwrap_or_else(|| panic!("{name} missing from docs/permissions.md"));
            let cells: Vec<bool> = line
                .split('|')
                .skip(2)
                .filter(|c| !c.trim().is_empty())
                .map(|c| c.trim() == "✓")
                .collect();
            assert_eq!(cells, expected.to_vec(), "{name}");
        }
    }
}
