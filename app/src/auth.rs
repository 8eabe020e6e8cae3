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
    /// The account requires two-step verification and this administrator has none yet:
    /// they are sent to set it up and may do nothing else until it is done.
    pub must_set_up_two_step: bool,
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
    /// When the session last proved it is its administrator (UTC milliseconds).
    pub verified_at: i64,
}

/// A sign-in half done: the password was right, the second step is still to come. Grants
/// nothing but the second step, for 5 minutes.
#[derive(Clone, Debug)]
pub struct PendingSignIn {
    /// The pending cookie's hash.
    pub token_hash: String,
    pub admin_id: String,
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
    /// When this session last proved it is its administrator (UTC milliseconds).
    pub verified_at: i64,
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

    /// The caller, even one who must set up two-step verification first (the calls that
    /// set it up, and reading who one is); 401 without a session.
    pub fn require_session() -> Result<Actor, AppError> {
        let session = session().ok_or(AppError::Unauthenticated)?;
        Ok(Actor {
            admin: session.admin,
            ip: client_ip(),
            verified_at: session.verified_at,
        })
    }

    /// The caller, or 401; 403 while their account requires two-step verification they
    /// have not set up.
    pub fn require_signed_in() -> Result<Actor, AppError> {
        let actor = require_session()?;
        if actor.admin.must_set_up_two_step {
            return Err(AppError::TwoStepSetupRequired);
        }
        Ok(actor)
    }

    /// The half-done sign-in of this request, if any.
    pub fn pending_sign_in() -> Option<PendingSignIn> {
        parts().and_then(|p| p.extensions.get::<PendingSignIn>().cloned())
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
