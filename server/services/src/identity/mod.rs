//! Who may sign in, and proving it: accounts, their administrators and sessions, sign-in and
//! the second step, invitation and reset links, passwords and throttles, first-start set-up
//! and one's own profile. Imports only `platform`.

pub mod accounts;
pub mod links;
pub mod lockout;
pub mod operators;
pub mod password_step;
pub mod passwords;
pub mod profile;
pub mod sign_in;
pub mod throttle;
pub mod two_step;
