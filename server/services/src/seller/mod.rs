//! The seller's side: the company running Tally — made at set-up with its first operator —
//! and what its staff do through the operator console, its customer accounts first. The
//! last domain: it may use every other (`platform ← identity ← directory ← billing ← seller`).

pub mod account_admins;
pub mod api_keys;
pub mod customers;
pub mod money;
pub mod profile;
pub mod revenue;
pub mod settings;
pub mod setup;
pub mod staff;
pub mod standing;
pub mod webhooks;
