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
    /// Retry a charge, mark an invoice paid, void one, issue a credit note, correct one.
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
                "Retry a charge, mark an invoice paid, void an invoice, issue a credit note, correct an invoice"
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

/// An operator as the Owner invites them: name, address and role, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOperatorInput {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// An [`OperatorRole::code`].
    pub role: String,
}

/// A validated new operator (they get an invitation to set a password).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOperator {
    pub first_name: String,
    pub last_name: String,
    pub email: crate::contact::Email,
    pub role: OperatorRole,
}

impl NewOperatorInput {
    pub fn parse(&self) -> Result<NewOperator, crate::forms::FieldErrors> {
        let mut e = crate::forms::FieldErrors::new();
        let (first_name, last_name, email) =
            crate::forms::person(&mut e, &self.first_name, &self.last_name, &self.email);
        let role = e.check(
            "role",
            OperatorRole::from_code(self.role.trim()).ok_or("Choose a role."),
        );
        let value = (|| {
            Some(NewOperator {
                first_name: first_name?,
                last_name: last_name?,
                email: email?,
                role: role?,
            })
        })();
        e.finish(value)
    }
}

/// A change the Owner makes to an operator on the operators page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OperatorChange {
    /// A new role.
    Role(OperatorRole),
    /// Suspended: they can no longer sign in, and their sessions end.
    Suspend,
    /// Active again.
    Reactivate,
    /// Their second steps removed (they lost their device); they set one up at next sign-in.
    ResetTwoStep,
}

/// Why the change may not be made, or `None` when it may: nobody changes their own role or
/// standing or resets their own second step on this page (their own settings do that), and
/// the seller always keeps an active Owner. `target_role` is the operator's role now;
/// `active_owners` counts the active Owners, the target among them if they are one.
pub fn operator_change_refusal(
    is_self: bool,
    target_role: OperatorRole,
    target_active: bool,
    change: OperatorChange,
    active_owners: u64,
) -> Option<&'static str> {
    if is_self {
        return Some(
            "You can't change your own role or standing, or reset your own two-step verification, here. Ask another Owner.",
        );
    }
    let removes_an_owner = target_role == OperatorRole::Owner
        && target_active
        && match change {
            OperatorChange::Role(r) => r != OperatorRole::Owner,
            OperatorChange::Suspend => true,
            OperatorChange::Reactivate | OperatorChange::ResetTwoStep => false,
        };
    if removes_an_owner && active_owners <= 1 {
        return Some(
            "The seller must keep at least one active Owner. Make another operator Owner first.",
        );
    }
    None
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
    fn nobody_changes_themselves_and_the_last_owner_stays() {
        use OperatorChange::*;
        use OperatorRole::*;
        for change in [Role(Finance), Suspend, Reactivate, ResetTwoStep] {
            assert!(operator_change_refusal(true, Support, true, change, 3).is_some());
        }
        assert!(operator_change_refusal(false, Owner, true, Role(Finance), 1).is_some());
        assert!(operator_change_refusal(false, Owner, true, Suspend, 1).is_some());
        assert_eq!(
            operator_change_refusal(false, Owner, true, Role(Owner), 1),
            None
        );
        assert_eq!(
            operator_change_refusal(false, Owner, true, ResetTwoStep, 1),
            None
        );
        assert_eq!(
            operator_change_refusal(false, Owner, true, Suspend, 2),
            None
        );
        // A suspended Owner is not one of the active ones: changing them removes none.
        assert_eq!(
            operator_change_refusal(false, Owner, false, Role(Support), 1),
            None
        );
        assert_eq!(
            operator_change_refusal(false, Finance, true, Suspend, 1),
            None
        );
    }

    #[test]
    fn a_new_operator_needs_a_name_an_address_and_a_role() {
        let typed = NewOperatorInput {
            first_name: " Fay ".into(),
            last_name: "Lund".into(),
            email: "fay@seller.example".into(),
            role: "finance".into(),
        };
        let op = typed.parse().unwrap();
        assert_eq!(
            (op.first_name.as_str(), op.role),
            ("Fay", OperatorRole::Finance)
        );
        let errors = NewOperatorInput::default().parse().unwrap_err();
        for field in ["first_name", "last_name", "email", "role"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
    }

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
