//! An account's limit on its users (its seat cap): at most so many users take a seat (active or
//! suspended; a user deactivated by the identity provider does not). Its Administrators With
//! Billing set it on the Billing page; adding a user beyond it is refused wherever the user is
//! added, with a message naming the limit and who can change it.

use serde::{Deserialize, Serialize};

/// An account's limit on its users, if it has one, and how many it has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatCap {
    pub cap: Option<u64>,
    pub users: u64,
}

impl SeatCap {
    /// The limit as the Billing page states it.
    pub fn sentence(&self) -> String {
        sentence(self.cap, self.users)
    }
}

/// The largest limit that can be set.
pub const MAX_SEAT_CAP: u64 = 1_000_000;

/// Who can change the limit, and where, as every refusal says it.
const WHO_CHANGES_IT: &str =
    "An Administrator With Billing can raise the limit on the Billing page.";

/// The limit as typed: blank for none, or a whole number of users from 1 to [`MAX_SEAT_CAP`].
pub fn parse(input: &str) -> Result<Option<u64>, String> {
    let typed: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '\u{a0}' | '_'))
        .collect();
    if typed.is_empty() {
        return Ok(None);
    }
    match typed.parse::<u64>() {
        Ok(0) => Err("Enter at least 1 user, or leave it blank for no limit.".into()),
        Ok(n) if n > MAX_SEAT_CAP => Err("Enter at most 1,000,000 users.".into()),
        Ok(n) => Ok(Some(n)),
        Err(_) => {
            Err("Enter a whole number of users, such as 25, or leave it blank for no limit.".into())
        }
    }
}

/// Why `cap` cannot be set while the account has `users`: a limit below them.
pub fn below_users(cap: u64, users: u64) -> Option<String> {
    (cap < users).then(|| {
        format!(
            "The account has {users} users now: set a limit of {users} or more, or remove users first."
        )
    })
}

/// Why adding `added` users was refused: with them the account would have `would_have`, over
/// its limit of `cap`.
pub fn refusal(cap: u64, added: u64, would_have: u64) -> String {
    let users = |n: u64| {
        if n == 1 {
            "1 user".to_string()
        } else {
            format!("{n} users")
        }
    };
    if added <= 1 {
        format!(
            "This account is limited to {}, and has {} already. {WHO_CHANGES_IT}",
            users(cap),
            would_have.saturating_sub(1)
        )
    } else {
        format!(
            "Adding {added} users would make {would_have}: this account is limited to {}. {WHO_CHANGES_IT}",
            users(cap)
        )
    }
}

/// The limit as the Billing page states it.
pub fn sentence(cap: Option<u64>, users: u64) -> String {
    match cap {
        None => format!("No limit: the account has {users} users."),
        Some(cap) => format!("At most {cap} users; the account has {users}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_limit_is_a_whole_number_of_users_or_nothing() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("  "), Ok(None));
        assert_eq!(parse("25"), Ok(Some(25)));
        assert_eq!(parse(" 1,000 "), Ok(Some(1000)));
        assert_eq!(parse("1000000"), Ok(Some(MAX_SEAT_CAP)));
        assert_eq!(
            parse("0"),
            Err("Enter at least 1 user, or leave it blank for no limit.".into())
        );
        assert_eq!(
            parse("1000001"),
            Err("Enter at most 1,000,000 users.".into())
        );
        for bad in ["2.5", "-3", "ten", "25 users"] {
            assert_eq!(
                parse(bad),
                Err(
                    "Enter a whole number of users, such as 25, or leave it blank for no limit."
                        .into()
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn each_refusal_names_the_limit_and_who_can_change_it() {
        assert_eq!(
            refusal(25, 1, 26),
            "This account is limited to 25 users, and has 25 already. An Administrator With Billing can raise the limit on the Billing page."
        );
        assert_eq!(
            refusal(25, 12, 31),
            "Adding 12 users would make 31: this account is limited to 25 users. An Administrator With Billing can raise the limit on the Billing page."
        );
        assert_eq!(
            refusal(1, 1, 2),
            "This account is limited to 1 user, and has 1 already. An Administrator With Billing can raise the limit on the Billing page."
        );
        assert_eq!(below_users(30, 30), None);
        assert_eq!(
            below_users(29, 30).as_deref(),
            Some("The account has 30 users now: set a limit of 30 or more, or remove users first.")
        );
        assert_eq!(sentence(None, 12), "No limit: the account has 12 users.");
        assert_eq!(
            sentence(Some(25), 12),
            "At most 25 users; the account has 12."
        );
    }

    proptest! {
        #[test]
        fn every_limit_in_range_reads_back(n in 1u64..=MAX_SEAT_CAP) {
            prop_assert_eq!(parse(&n.to_string()), Ok(Some(n)));
        }
    }
}
