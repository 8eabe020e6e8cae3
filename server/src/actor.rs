//! Who asks a service for something: a signed-in [`Actor`], or a [`Visitor`] on a public page.
//! Built once at the edge (`ports`) from the session and the client's address, and passed as
//! one value instead of loose parameters.

use tally_core::roles::{allows, Action, Role};

/// A signed-in administrator, and the address they called from.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: String,
    pub account_id: String,
    pub account_name: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub ip: Option<String>,
    /// When their session last proved it is them (sign-in, a second step, the password),
    /// UTC milliseconds: the most sensitive changes need it within the last 10 minutes.
    pub verified_at: i64,
}

impl Actor {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// Whether their role (as the session read it) allows `action`.
    pub fn may(&self, action: Action) -> bool {
        allows(self.role, action)
    }
}

impl From<&tally_app::auth::Actor> for Actor {
    fn from(a: &tally_app::auth::Actor) -> Self {
        let admin = &a.admin;
        Self {
            id: admin.id.clone(),
            account_id: admin.account_id.clone(),
            account_name: admin.account_name.clone(),
            email: admin.email.clone(),
            first_name: admin.first_name.clone(),
            last_name: admin.last_name.clone(),
            role: admin.role,
            ip: a.ip.clone(),
            verified_at: a.verified_at,
        }
    }
}

/// Someone not signed in (set-up, sign-in, links), known only by their address.
#[derive(Clone, Debug, Default)]
pub struct Visitor {
    pub ip: Option<String>,
}

impl From<&tally_app::auth::Visitor> for Visitor {
    fn from(v: &tally_app::auth::Visitor) -> Self {
        Self { ip: v.ip.clone() }
    }
}
