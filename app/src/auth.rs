//! Who is calling. The server's session middleware resolves the cookie and puts a
//! [`SessionContext`] in the request's extensions; server functions and pages read it here.

use serde::{Deserialize, Serialize};
use tally_core::roles::{allows, Action, Role};

/// The signed-in administrator, as pages and server functions see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentAdmin {
    pub id: String,
    pub account_id: String,
    pub account_name: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    /// The account's last invoice could not be charged after every retry.
    pub account_past_due: bool,
}

impl CurrentAdmin {
    pub fn may(&self, action: Action) -> bool {
        allows(self.role, action)
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// What the session middleware attaches to a request with a live session.
#[derive(Clone, Debug)]
pub struct SessionContext {
    pub admin: CurrentAdmin,
    /// The session's id hash, to end this session on sign-out.
    pub session_hash: String,
}

/// The client's address as the server determined it (peer, or a trusted proxy's header).
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

/// Who is calling a server function: the signed-in administrator, and the address they call
/// from. What a server function hands the server's services.
#[derive(Clone, Debug)]
pub struct Actor {
    pub admin: CurrentAdmin,
    pub ip: Option<String>,
}

/// A caller who is not signed in (set-up, sign-in, links), known only by their address.
#[derive(Clone, Debug, Default)]
pub struct Visitor {
    pub ip: Option<String>,
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::error::AppError;
    use leptos::prelude::use_context;

    fn parts() -> Option<http::request::Parts> {
        use_context::<http::request::Parts>()
    }

    /// The session of this request, if it has a live one.
    pub fn session() -> Option<SessionContext> {
        parts().and_then(|p| p.extensions.get::<SessionContext>().cloned())
    }

    pub fn current_admin() -> Option<CurrentAdmin> {
        session().map(|s| s.admin)
    }

    /// The caller, or 401.
    pub fn require_signed_in() -> Result<Actor, AppError> {
        let admin = current_admin().ok_or(AppError::Unauthenticated)?;
        Ok(Actor {
            admin,
            ip: client_ip(),
        })
    }

    /// The caller if their role allows `action`; 401 without a session, 403 otherwise.
    pub fn require(action: Action) -> Result<Actor, AppError> {
        let actor = require_signed_in()?;
        if actor.admin.may(action) {
            Ok(actor)
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The caller of a public server function.
    pub fn visitor() -> Visitor {
        Visitor { ip: client_ip() }
    }

    pub fn client_ip() -> Option<String> {
        parts().and_then(|p| p.extensions.get::<ClientIp>().map(|c| c.0.clone()))
    }
}

#[cfg(feature = "ssr")]
pub use server::*;
