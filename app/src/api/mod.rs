//! Server functions, in modules named by what they serve. Each reads: who is calling → may
//! they → is the input valid (the `core` parser) → do it (a service taken from context).

pub mod account;
pub mod admins;
pub mod api_keys;
pub mod audit;
pub mod billing;
pub mod commands;
pub mod operator;
pub mod overview;
pub mod payments;
pub mod scim;
pub mod settings;
pub mod setup;
pub mod sign_in;
pub mod staff;
pub mod status;
pub mod two_step;
pub mod users;
pub mod webhooks;
