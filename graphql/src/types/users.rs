//! Staff members: the user type, a short reference to one, and what an admin writes.

use super::*;

remote_enum!(
    /// A staff member's role.
    Role => "d::Role" { Agent, Supervisor, Admin });

/// A staff member.
pub struct User(pub UserRecord);

#[Object]
impl User {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The permission keys the role grants.
    async fn permissions(&self) -> Vec<&'static str> {
        Permission::for_role(self.0.role).iter().map(|p| p.key()).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
}

/// A short reference to a staff member.
#[derive(SimpleObject)]
pub struct UserRef {
    pub id: ID,
    pub name: String,
}

/// A staff member as an admin writes them.
#[derive(InputObject)]
pub struct UserInput {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: Option<String>,
}

/// Changes to a staff member.
#[derive(InputObject)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub password: Option<String>,
}
