//! Who has not answered a month yet.
//!
//! A member has answered a month once they saved it, even with no blockout at all (an empty
//! PUT says "I am free all month"). The store knows who saved; this module only compares.

use std::collections::HashSet;

use kernel::UserId;

/// Anything that names a member: a user id, or the service's member view.
pub trait Answerer {
    fn user_id(&self) -> UserId;
}

impl Answerer for UserId {
    fn user_id(&self) -> UserId {
        *self
    }
}

/// The members who have not answered, in the members' order.
pub fn missing<'a, M: Answerer>(members: &'a [M], answered: &HashSet<UserId>) -> Vec<&'a M> {
    members
        .iter()
        .filter(|m| !answered.contains(&m.user_id()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Member {
        id: UserId,
        name: &'static str,
    }
    impl Answerer for Member {
        fn user_id(&self) -> UserId {
            self.id
        }
    }

    #[test]
    fn keeps_members_order() {
        let members: Vec<Member> = ["Zoé", "Abel", "Marc", "Inès"]
            .into_iter()
            .map(|name| Member {
                id: UserId::new(),
                name,
            })
            .collect();
        // Answered: Abel, Inès, and someone no longer in the department.
        let answered: HashSet<UserId> = [members[1].id, members[3].id, UserId::new()].into();
        let names: Vec<_> = missing(&members, &answered)
            .iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["Zoé", "Marc"]);
        assert!(missing(&members, &members.iter().map(|m| m.id).collect()).is_empty());
        assert_eq!(missing(&members, &HashSet::new()).len(), 4);
        let ids = [members[0].id, members[1].id];
        assert_eq!(missing(&ids, &answered), [&members[0].id]);
        assert!(missing::<UserId>(&[], &answered).is_empty());
    }
}
