//! Who is calling: the one shape of a signed-in administrator, from the session lookup to the
//! services that act for them and the pages that show what their role allows.

use serde::{Deserialize, Serialize};

use crate::{
    account_status::AccountStatus,
    operators::{operator_allows, OperatorAction, OperatorRole},
    roles::{allows, Action, Role},
};

/// How recent a proof that it is them (a sign-in, a second step, the password) the most
/// sensitive changes need: the card, billing information, administrators, roles, two-step
/// verification and its policy.
pub const FRESH_CHECK_MILLIS: i64 = 10 * 60_000;

/// A signed-in administrator. The server reads it from the session once per request; the
/// browser gets it to hide what the role may not do. The server-only fields are never
/// sent (serde skips them) and do not exist in the wasm build at all, which keeps their
/// clone and drop code out of the first page's wasm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub account_id: String,
    pub account_name: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    /// The account's last invoice could not be charged after every retry.
    pub account_past_due: bool,
    /// The account's standing with the seller: suspended or closed ones allow less.
    pub account_status: AccountStatus,
    /// The account requires two-step verification and this administrator has none yet: they
    /// may only set it up.
    pub must_set_up_two_step: bool,
    /// The address the request came from (server only).
    #[cfg(not(target_arch = "wasm32"))]
    #[serde(skip)]
    pub ip: Option<String>,
    /// When this session last proved it is its administrator, UTC milliseconds (server only).
    #[cfg(not(target_arch = "wasm32"))]
    #[serde(skip)]
    pub verified_at: i64,
    /// The hash of the session the request came with ("" where there is none), so a change
    /// to how one signs in can end every session but this one (server only).
    #[cfg(not(target_arch = "wasm32"))]
    #[serde(skip)]
    pub session: String,
}

impl Actor {
    /// Whether their role allows `action` (the matrix, [`allows`]).
    pub fn may(&self, action: Action) -> bool {
        allows(self.role, action)
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// Whether their session proved it is them within [`FRESH_CHECK_MILLIS`] of `now`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn is_fresh(&self, now_millis: i64) -> bool {
        now_millis - self.verified_at <= FRESH_CHECK_MILLIS
    }
}

/// A signed-in operator, one of the seller's staff: never a customer account's
/// administrator, and never held in a customer session. The server reads it from the
/// operator session; the console's pages get it to hide what the role may not do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorActor {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: OperatorRole,
    /// No second step yet: an operator may only set one up (it is mandatory for operators).
    pub must_set_up_two_step: bool,
    /// The address the request came from (server only).
    #[cfg(not(target_arch = "wasm32"))]
    #[serde(skip)]
    pub ip: Option<String>,
    /// When this session last proved it is its operator, UTC milliseconds (server only).
    #[cfg(not(target_arch = "wasm32"))]
    #[serde(skip)]
    pub verified_at: i64,
    /// The hash of the operator session the request came with (server only).
    #[cfg(not(target_arch = "wasm32"))]
    #[serde(skip)]
    pub session: String,
}

impl OperatorActor {
    /// Whether their role allows `action` (the operator matrix, [`operator_allows`]).
    pub fn may(&self, action: OperatorAction) -> bool {
        operator_allows(self.role, action)
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// Whether their session proved it is them within [`FRESH_CHECK_MILLIS`] of `now`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn is_fresh(&self, now_millis: i64) -> bool {
        now_millis - self.verified_at <= FRESH_CHECK_MILLIS
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl OperatorActor {
    /// An API key acting as the seller: the services see the seller's Owner, named after the
    /// key in every audit entry; what the key may ask for is its scopes, which the API checks
    /// before it calls a service. A key is its own proof, so it counts as freshly checked.
    pub fn api_key(id: &str, visible: &str, name: &str, ip: Option<String>, now: i64) -> Self {
        OperatorActor {
            id: id.to_owned(),
            email: format!("API key {visible} \"{name}\""),
            first_name: "API key".into(),
            last_name: format!("\"{name}\""),
            role: OperatorRole::Owner,
            must_set_up_two_step: false,
            ip,
            verified_at: now,
            session: String::new(),
        }
    }
}

/// Someone not signed in (set-up, sign-in, links), known only by their address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Visitor {
    pub ip: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann() -> Actor {
        Actor {
            id: "a1".into(),
            account_id: "c1".into(),
            account_name: "Acme".into(),
            email: "ann@acme.test".into(),
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            role: Role::Manager,
            account_past_due: false,
            account_status: AccountStatus::Active,
            must_set_up_two_step: false,
            ip: Some("10.0.0.1".into()),
            verified_at: 1_000,
            session: String::new(),
        }
    }

    #[test]
    fn the_browser_never_gets_the_address_or_the_proof_time() {
        let json = serde_json::to_string(&ann()).unwrap();
        assert!(
            !json.contains("10.0.0.1") && !json.contains("verified_at"),
            "{json}"
        );
        let back: Actor = serde_json::from_str(&json).unwrap();
        assert_eq!((back.ip, back.verified_at), (None, 0));
    }

    #[test]
    fn a_session_is_fresh_for_ten_minutes_after_its_last_proof() {
        let a = ann();
        assert!(a.is_fresh(1_000 + FRESH_CHECK_MILLIS));
        assert!(!a.is_fresh(1_001 + FRESH_CHECK_MILLIS));
        assert!(a.may(Action::ManageUsers) && !a.may(Action::ViewBilling));
    }
}
