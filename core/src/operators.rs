//! The seller's staff: operators, their roles and what each may do in the operator console
//! (docs/roles.md, "Operators"). Operators are not administrators of a customer account: an
//! operator never holds a customer session, and no customer role reaches an operator page.
//!
//! Like the customer matrix in `roles`, this one exists once, as an exhaustive `match`: a new
//! action or role does not compile until someone decides who may do it.

use serde::{Deserialize, Serialize};

/// An operator's role; each operator has exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OperatorRole {
    /// Everything, including the operators, the seller's settings and API keys.
    Owner,
    /// Plans, money actions and revenue.
    Finance,
    /// Customer accounts, their administrators and invitations; money read-only.
    Support,
    /// Sees everything, changes nothing.
    ReadOnly,
}

/// Every operator role, in docs/roles.md's column order.
pub const ALL_OPERATOR_ROLES: [OperatorRole; 4] = [
    OperatorRole::Owner,
    OperatorRole::Finance,
    OperatorRole::Support,
    OperatorRole::ReadOnly,
];

impl OperatorRole {
    /// The name shown to people, exactly as docs/roles.md writes it.
    pub fn display_name(self) -> &'static str {
        match self {
            OperatorRole::Owner => "Owner",
            OperatorRole::Finance => "Finance",
            OperatorRole::Support => "Support",
            OperatorRole::ReadOnly => "Read-only",
        }
    }

    /// One line telling what the role may do, for the role picker.
    pub fn description(self) -> &'static str {
        match self {
            OperatorRole::Owner => "Everything, including operators, settings and API keys.",
            OperatorRole::Finance => "Plans, money actions and revenue.",
            OperatorRole::Support => {
                "Customer accounts, their administrators and invitations; sees money, changes none."
            }
            OperatorRole::ReadOnly => "Sees everything; changes nothing.",
        }
    }

    /// A stable identifier for storage and the wire.
    pub fn code(self) -> &'static str {
        match self {
            OperatorRole::Owner => "owner",
            OperatorRole::Finance => "finance",
            OperatorRole::Support => "support",
            OperatorRole::ReadOnly => "read_only",
        }
    }

    /// The inverse of [`OperatorRole::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        ALL_OPERATOR_ROLES.into_iter().find(|r| r.code() == code)
    }
}

/// Something an operator may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OperatorAction {
    /// The console: customer accounts, their invoices, charges and credit notes, revenue.
    ViewConsole,
    /// Create customer accounts; suspend, reactivate and close them.
    ManageAccounts,
    /// Resend an account administrator's invitation; reset their two-step verification.
    ManageAccountAdministrators,
    /// Change an account's plan.
    ChangePlans,
    /// Retry a charge, mark an invoice paid, void one, issue a credit note.
    MoneyActions,
    /// The seller's details, default plan, retry schedule and automatic suspension.
    ManageSellerSettings,
    /// Invite operators, change their roles, reset their two-step verification, suspend them.
    ManageOperators,
    /// Create and revoke API keys and webhook endpoints.
    ManageApiKeys,
}

/// Every operator action, in the matrix's row order.
pub const ALL_OPERATOR_ACTIONS: [OperatorAction; 8] = [
    OperatorAction::ViewConsole,
    OperatorAction::ManageAccounts,
    OperatorAction::ManageAccountAdministrators,
    OperatorAction::ChangePlans,
    OperatorAction::MoneyActions,
    OperatorAction::ManageSellerSettings,
    OperatorAction::ManageOperators,
    OperatorAction::ManageApiKeys,
];

impl OperatorAction {
    /// The row's wording in docs/roles.md.
    pub fn description(self) -> &'static str {
        match self {
            OperatorAction::ViewConsole => {
                "View customer accounts, their invoices, charges and credit notes, and revenue"
            }
            OperatorAction::ManageAccounts => {
                "Create customer accounts; suspend, reactivate and close them"
            }
            OperatorAction::ManageAccountAdministrators => {
                "Resend an account administrator's invitation; reset their two-step verification"
            }
            OperatorAction::ChangePlans => "Change an account's plan",
            OperatorAction::MoneyActions => {
                "Retry a charge, mark an invoice paid, void an invoice, issue a credit note"
            }
            OperatorAction::ManageSellerSettings => {
                "Change the seller's details, default plan, retry schedule and automatic suspension"
            }
            OperatorAction::ManageOperators => {
                "Invite operators, change their roles, reset their two-step verification, suspend them"
            }
            OperatorAction::ManageApiKeys => "Create and revoke API keys and webhook endpoints",
        }
    }
}

/// Whether an operator of `role` may perform `action`. The law; the console's own checks are
/// only cosmetic.
pub fn operator_allows(role: OperatorRole, action: OperatorAction) -> bool {
    use OperatorAction::*;
    use OperatorRole::*;
    match action {
        ViewConsole => match role {
            Owner | Finance | Support | ReadOnly => true,
        },
        ManageAccounts | ManageAccountAdministrators => match role {
            Owner | Support => true,
            Finance | ReadOnly => false,
        },
        ChangePlans | MoneyActions => match role {
            Owner | Finance => true,
            Support | ReadOnly => false,
        },
        ManageSellerSettings | ManageOperators | ManageApiKeys => match role {
            Owner => true,
            Finance | Support | ReadOnly => false,
        },
    }
}

/// The operator matrix as docs/roles.md's Markdown table, for the golden test and reviewers.
pub fn render_operator_matrix() -> String {
    let mut out = String::from("| Capability |");
    for r in ALL_OPERATOR_ROLES {
        out.push_str(&format!(" {} |", r.display_name()));
    }
    out.push_str("\n|---|");
    for _ in ALL_OPERATOR_ROLES {
        out.push_str("---|");
    }
    out.push('\n');
    for a in ALL_OPERATOR_ACTIONS {
        out.push_str(&format!("| {} |", a.description()));
        for r in ALL_OPERATOR_ROLES {
            out.push_str(if operator_allows(r, a) {
                " ✓ |"
            } else {
                " |"
            });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_and_are_distinct() {
        for r in ALL_OPERATOR_ROLES {
            assert_eq!(OperatorRole::from_code(r.code()), Some(r));
        }
        assert_eq!(OperatorRole::from_code("admin_billing"), None);
    }

    #[test]
    fn the_owner_may_do_everything_and_read_only_only_look() {
        for a in ALL_OPERATOR_ACTIONS {
            assert!(operator_allows(OperatorRole::Owner, a), "{a:?}");
            assert_eq!(
                operator_allows(OperatorRole::ReadOnly, a),
                a == OperatorAction::ViewConsole,
                "{a:?}"
            );
        }
        // Money is Finance's; accounts and their administrators are Support's.
        assert!(operator_allows(
            OperatorRole::Finance,
            OperatorAction::MoneyActions
        ));
        assert!(!operator_allows(
            OperatorRole::Support,
            OperatorAction::MoneyActions
        ));
        assert!(operator_allows(
            OperatorRole::Support,
            OperatorAction::ManageAccounts
        ));
        assert!(!operator_allows(
            OperatorRole::Finance,
            OperatorAction::ManageAccounts
        ));
        // Every role may at least look; whoever may change something may also look.
        for r in ALL_OPERATOR_ROLES {
            assert!(operator_allows(r, OperatorAction::ViewConsole));
        }
    }
}
