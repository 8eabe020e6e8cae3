//! Server functions, grouped by area. Each reads: who is calling → may they → is the input
//! valid → do it through a service from [`crate::ports`].

pub mod account;
pub mod admins;
pub mod billing;
pub mod commands;
pub mod invoices;
pub mod overview;
pub mod setup;
pub mod status;
pub mod two_step;
pub mod users;
