//! Roles, the permission matrix (docs/roles.md) and the rules about administrators.
//!
//! The matrix exists once, here. The UI hides what [`allows`] forbids; every server function
//! checks it again. It is an exhaustive `match` with no wildcard, so a new action or role does
//! not compile until someone decides who may do it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An administrator's role; each administrator has exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    AdministratorWithBilling,
    Administrator,
    Manager,
    HelpDesk,
    ReadOnly,
    CommandRunner,
    CommandRunnerWithBilling,
}

/// Every role, in docs/roles.md's column order.
pub const ALL_ROLES: [Role; 7] = [
    Role::AdministratorWithBilling,
    Role::Administrator,
    Role::Manager,
    Role::HelpDesk,
    Role::ReadOnly,
    Role::CommandRunner,
    Role::CommandRunnerWithBilling,
];

impl Role {
    /// The name shown to people, exactly as docs/roles.md writes it.
    pub fn display_name(self) -> &'static str {
        match self {
            Role::AdministratorWithBilling => "Administrator With Billing",
            Role::Administrator => "Administrator",
            Role::Manager => "Manager",
            Role::HelpDesk => "Help Desk",
            Role::ReadOnly => "Read Only",
            Role::CommandRunner => "Command Runner",
            Role::CommandRunnerWithBilling => "Command Runner With Billing",
        }
    }

    /// One line telling what the role may do, for the role picker.
    pub fn description(self) -> &'static str {
        match self {
            Role::AdministratorWithBilling => {
                "Everything, including billing and managing administrators."
            }
            Role::Administrator => "Users, commands and the audit log; sees administrators; no billing.",
            Role::Manager => "Manages users and commands.",
            Role::HelpDesk => "Manages users.",
            Role::ReadOnly => "Sees users; changes nothing.",
            Role::CommandRunner => "Runs the commands they are bound to.",
            Role::CommandRunnerWithBilling => {
                "Manages billing and runs the commands they are bound to. Bound to none, a billing-only administrator."
            }
        }
    }

    /// A stable identifier for storage and the wire.
    pub fn code(self) -> &'static str {
        match self {
            Role::AdministratorWithBilling => "admin_billing",
            Role::Administrator => "admin",
            Role::Manager => "manager",
            Role::HelpDesk => "help_desk",
            Role::ReadOnly => "read_only",
            Role::CommandRunner => "command_runner",
            Role::CommandRunnerWithBilling => "command_runner_billing",
        }
    }

    /// The inverse of [`Role::code`].
    pub fn from_code(code: &str) -> Option<Role> {
        ALL_ROLES.into_iter().find(|r| r.code() == code)
    }

    /// "With Billing" roles: the only ones that see billing or change the payment method.
    pub fn has_billing(self) -> bool {
        allows(self, Action::ViewBilling)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// Something an administrator may try to do; one per row of docs/roles.md's matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Action {
    /// View the billing overview, invoices and the payment method.
    ViewBilling,
    /// Add or replace the payment method; edit billing information.
    ManagePaymentMethod,
    /// Opt in (or out) to receiving invoices by email, for oneself.
    ReceiveInvoiceEmails,
    /// Request a copy of an invoice (it goes to the billing contact).
    RequestInvoiceCopy,
    ViewAdministrators,
    /// Create, change the role of, suspend and delete administrators.
    ManageAdministrators,
    ViewUsers,
    /// Create, edit, suspend and delete users.
    ManageUsers,
    /// View all commands; create, edit and delete them; bind runners.
    ManageCommands,
    /// View and run the commands one is bound to.
    RunBoundCommands,
    ViewAuditLog,
    /// Require two-step verification of every administrator of the account, or not.
    SetTwoStepPolicy,
    /// See the server's System section: its database and the daily backups.
    ViewSystem,
}

/// Every action, in the matrix's row order.
pub const ALL_ACTIONS: [Action; 13] = [
    Action::ViewBilling,
    Action::ManagePaymentMethod,
    Action::ReceiveInvoiceEmails,
    Action::RequestInvoiceCopy,
    Action::ViewAdministrators,
    Action::ManageAdministrators,
    Action::ViewUsers,
    Action::ManageUsers,
    Action::ManageCommands,
    Action::RunBoundCommands,
    Action::ViewAuditLog,
    Action::SetTwoStepPolicy,
    Action::ViewSystem,
];

impl Action {
    /// The row's wording in docs/roles.md.
    pub fn description(self) -> &'static str {
        match self {
            Action::ViewBilling => "View billing overview, invoices, payment method",
            Action::ManagePaymentMethod => {
                "Add / replace the payment method, edit billing information"
            }
            Action::ReceiveInvoiceEmails => "Ask to receive invoices by email (opt-in for self)",
            Action::RequestInvoiceCopy => "Request an invoice copy",
            Action::ViewAdministrators => "View administrators",
            Action::ManageAdministrators => "Create / edit role / suspend / delete administrators",
            Action::ViewUsers => "View users (seats)",
            Action::ManageUsers => {
                "Create / edit / suspend / delete users; SCIM tokens for the identity provider"
            }
            Action::ManageCommands => {
                "View all commands; create / edit / delete commands; bind runners"
            }
            Action::RunBoundCommands => "View and run commands the admin is bound to",
            Action::ViewAuditLog => "View the audit log",
            Action::SetTwoStepPolicy => "Require two-step verification for every administrator",
            Action::ViewSystem => "See the System section: the database and its daily backups",
        }
    }
}

/// Whether `role` may perform `action`. The law; the UI's checks are only cosmetic.
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        ViewBilling | ManagePaymentMethod | ReceiveInvoiceEmails | RequestInvoiceCopy => match role
        {
            AdministratorWithBilling | CommandRunnerWithBilling => true,
            Administrator | Manager | HelpDesk | ReadOnly | CommandRunner => false,
        },
        ViewAdministrators | ViewAuditLog | SetTwoStepPolicy => match role {
            AdministratorWithBilling | Administrator => true,
            Manager | HelpDesk | ReadOnly | CommandRunner | CommandRunnerWithBilling => false,
        },
        ManageAdministrators | ViewSystem => match role {
            AdministratorWithBilling => true,
            Administrator
            | Manager
            | HelpDesk
            | ReadOnly
            | CommandRunner
            | CommandRunnerWithBilling => false,
        },
        ViewUsers => match role {
            AdministratorWithBilling | Administrator | Manager | HelpDesk | ReadOnly => true,
            CommandRunner | CommandRunnerWithBilling => false,
        },
        ManageUsers => match role {
            AdministratorWithBilling | Administrator | Manager | HelpDesk => true,
            ReadOnly | CommandRunner | CommandRunnerWithBilling => false,
        },
        ManageCommands => match role {
            AdministratorWithBilling | Administrator | Manager => true,
            HelpDesk | ReadOnly | CommandRunner | CommandRunnerWithBilling => false,
        },
        RunBoundCommands => match role {
            AdministratorWithBilling
            | Administrator
            | Manager
            | CommandRunner
            | CommandRunnerWithBilling => true,
            HelpDesk | ReadOnly => false,
        },
    }
}

/// The matrix as docs/roles.md's Markdown table, for the golden test and for reviewers.
pub fn render_matrix() -> String {
    let short = |r: Role| match r {
        Role::AdministratorWithBilling => "Admin w/ Billing",
        Role::Administrator => "Administrator",
        Role::Manager => "Manager",
        Role::HelpDesk => "Help Desk",
        Role::ReadOnly => "Read Only",
        Role::CommandRunner => "Cmd Runner",
        Role::CommandRunnerWithBilling => "Cmd Runner w/ Billing",
    };
    let mut out = String::from("| Capability |");
    for r in ALL_ROLES {
        out.push_str(&format!(" {} |", short(r)));
    }
    out.push_str("\n|---|");
    for _ in ALL_ROLES {
        out.push_str("---|");
    }
    out.push('\n');
    for a in ALL_ACTIONS {
        out.push_str(&format!("| {} |", a.description()));
        for r in ALL_ROLES {
            out.push_str(if allows(r, a) { " ✓ |" } else { " |" });
        }
        out.push('\n');
    }
    out
}

/// Where an administrator stands. Invited administrators have not set a password yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AdminStatus {
    Invited,
    Active,
    Suspended,
}

impl AdminStatus {
    pub fn code(self) -> &'static str {
        match self {
            AdminStatus::Invited => "invited",
            AdminStatus::Active => "active",
            AdminStatus::Suspended => "suspended",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Invited, Self::Active, Self::Suspended]
            .into_iter()
            .find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            AdminStatus::Invited => "Invited",
            AdminStatus::Active => "Active",
            AdminStatus::Suspended => "Suspended",
        }
    }
}

/// What the rules need to know about one administrator of an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminFacts<Id> {
    pub id: Id,
    pub role: Role,
    pub status: AdminStatus,
}

impl<Id> AdminFacts<Id> {
    /// Counts toward "the account has an active billing administrator".
    pub fn is_active_billing_admin(&self) -> bool {
        self.status == AdminStatus::Active && self.role.has_billing()
    }
}

/// A change one administrator proposes to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminChange {
    SetRole(Role),
    Suspend,
    Unsuspend,
    Delete,
}

/// Why a proposed change to an administrator is refused. `Display` says why and what to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminRuleError {
    /// Nobody changes their own role, nor suspends or deletes themselves.
    SelfChange,
    /// The change would leave the account with no active billing administrator.
    LastBillingAdmin,
    /// Only suspended administrators can be unsuspended.
    NotSuspended,
    /// The target is not among the account's administrators.
    UnknownAdmin,
}

impl fmt::Display for AdminRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SelfChange => {
                "You can't change your own role, suspend or delete yourself. Ask another administrator with billing to do it."
            }
            Self::LastBillingAdmin => {
                "This would leave the account without an active administrator with billing. Give another active administrator a With Billing role first."
            }
            Self::NotSuspended => "Only a suspended administrator can be unsuspended.",
            Self::UnknownAdmin => "That administrator doesn't exist.",
        })
    }
}

/// Decides whether `actor` may apply `change` to `target`, given all of the account's
/// administrators as they are now. Permission to manage administrators is checked separately
/// (with [`allows`]); this checks the account's invariants:
/// - nobody changes their own role, suspends or deletes themselves;
/// - the account keeps at least one *active* administrator with a billing role.
pub fn check_admin_change<Id: PartialEq>(
    admins: &[AdminFacts<Id>],
    actor: &Id,
    target: &Id,
    change: AdminChange,
) -> Result<(), AdminRuleError> {
    let target_facts = admins
        .iter()
        .find(|a| &a.id == target)
        .ok_or(AdminRuleError::UnknownAdmin)?;
    if actor == target {
        return Err(AdminRuleError::SelfChange);
    }
    if change == AdminChange::Unsuspend && target_facts.status != AdminStatus::Suspended {
        return Err(AdminRuleError::NotSuspended);
    }
    let keeps_billing = match change {
        AdminChange::SetRole(role) => role.has_billing(),
        AdminChange::Suspend | AdminChange::Delete => false,
        AdminChange::Unsuspend => true,
    };
    let others_with_billing = admins
        .iter()
        .filter(|a| &a.id != target && a.is_active_billing_admin())
        .count();
    let target_after_counts = keeps_billing
        && match change {
            AdminChange::Unsuspend => target_facts.role.has_billing(),
            _ => target_facts.status == AdminStatus::Active,
        };
    if others_with_billing == 0 && !target_after_counts {
        return Err(AdminRuleError::LastBillingAdmin);
    }
    Ok(())
}

/// A "billing-only" administrator: a Command Runner With Billing bound to no command.
pub fn is_billing_only(role: Role, bound_commands: usize) -> bool {
    role == Role::CommandRunnerWithBilling && bound_commands == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in ALL_ROLES {
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        assert_eq!(Role::from_code("root"), None);
    }

    #[test]
    fn only_the_two_with_billing_roles_have_billing() {
        let billing: Vec<Role> = ALL_ROLES.into_iter().filter(|r| r.has_billing()).collect();
        assert_eq!(
            billing,
            [
                Role::AdministratorWithBilling,
                Role::CommandRunnerWithBilling
            ]
        );
    }

    #[test]
    fn billing_only_is_a_billing_runner_bound_to_nothing() {
        assert!(is_billing_only(Role::CommandRunnerWithBilling, 0));
        assert!(!is_billing_only(Role::CommandRunnerWithBilling, 1));
        assert!(!is_billing_only(Role::AdministratorWithBilling, 0));
        assert!(!is_billing_only(Role::CommandRunner, 0));
    }

    const STATUSES: [AdminStatus; 3] = [
        AdminStatus::Invited,
        AdminStatus::Active,
        AdminStatus::Suspended,
    ];

    fn all_changes() -> Vec<AdminChange> {
        let mut v: Vec<AdminChange> = ALL_ROLES.into_iter().map(AdminChange::SetRole).collect();
        v.extend([
            AdminChange::Suspend,
            AdminChange::Unsuspend,
            AdminChange::Delete,
        ]);
        v
    }

    /// The oracle: apply the change to a copy and count what is left.
    fn active_billing_after(
        admins: &[AdminFacts<usize>],
        target: usize,
        change: AdminChange,
    ) -> usize {
        let mut after: Vec<AdminFacts<usize>> = admins.to_vec();
        match change {
            AdminChange::SetRole(r) => after[target].role = r,
            AdminChange::Suspend => after[target].status = AdminStatus::Suspended,
            AdminChange::Unsuspend => after[target].status = AdminStatus::Active,
            AdminChange::Delete => {
                after.remove(target);
            }
        }
        after.iter().filter(|a| a.is_active_billing_admin()).count()
    }

    /// Every account of 1 to 4 administrators (every role × status each), every actor, every
    /// target and every change: refused exactly when the oracle says the account would end
    /// without an active billing administrator, or when actor and target are the same.
    #[test]
    fn the_invariant_holds_for_every_combination_of_up_to_four_admins() {
        let kinds: Vec<(Role, AdminStatus)> = ALL_ROLES
            .into_iter()
            .flat_map(|r| STATUSES.into_iter().map(move |s| (r, s)))
            .collect();
        let changes = all_changes();
        let mut checked = 0u64;
        for n in 1..=4usize {
            let combos = kinds.len().pow(n as u32);
            for mut code in 0..combos {
                let admins: Vec<AdminFacts<usize>> = (0..n)
                    .map(|id| {
                        let (role, status) = kinds[code % kinds.len()];
                        code /= kinds.len();
                        AdminFacts { id, role, status }
                    })
                    .collect();
                let before = admins
                    .iter()
                    .filter(|a| a.is_active_billing_admin())
                    .count();
                // The actor is always an active administrator with billing in practice, but the
                // rules must hold whoever it is.
                for actor in 0..n {
                    for target in 0..n {
                        for &change in &changes {
                            let got = check_admin_change(&admins, &actor, &target, change);
                            let after = active_billing_after(&admins, target, change);
                            let expected = if actor == target {
                                Err(AdminRuleError::SelfChange)
                            } else if change == AdminChange::Unsuspend
                                && admins[target].status != AdminStatus::Suspended
                            {
                                Err(AdminRuleError::NotSuspended)
                            } else if after == 0 {
                                Err(AdminRuleError::LastBillingAdmin)
                            } else {
                                Ok(())
                            };
                            assert_eq!(got, expected, "{admins:?} actor {actor} target {target} {change:?} (before {before}, after {after})");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 1_000_000, "{checked} combinations checked");
    }

    #[test]
    fn an_unknown_target_is_refused() {
        let admins = [AdminFacts {
            id: 1,
            role: Role::AdministratorWithBilling,
            status: AdminStatus::Active,
        }];
        assert_eq!(
            check_admin_change(&admins, &1, &9, AdminChange::Delete),
            Err(AdminRuleError::UnknownAdmin)
        );
    }

    #[test]
    fn refusals_say_why_and_what_to_do() {
        let msg = AdminRuleError::LastBillingAdmin.to_string();
        assert!(msg.contains("without an active administrator with billing"));
        assert!(msg.contains("first"));
    }
}
