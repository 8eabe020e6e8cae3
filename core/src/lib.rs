//! Tally's decisions that need no I/O, shared by the browser and the server.
//!
//! Nothing here reads a clock, the environment, a file or the network: callers pass `today`.
//! Raw input arrives as plain strings (`…Input`); one `parse` turns it into validated types
//! with private fields, so holding one proves it is valid (see `forms`).

pub mod account_status;
pub mod actor;
pub mod address;
pub mod api_keys;
pub mod audit;
pub mod billing;
pub mod billing_contacts;
pub mod card;
pub mod card_in_text;
pub mod codes;
pub mod contact;
pub mod country;
pub mod csv;
pub mod estimate;
pub mod expiry;
pub mod export;
pub mod forms;
pub mod invoice_fields;
pub mod locale;
pub mod money;
pub mod money_actions;
pub mod operators;
pub mod password;
pub mod processor;
pub mod redirect;
pub mod roles;
pub mod scim;
pub mod seat_cap;
pub mod seller;
pub mod spend_alerts;
pub mod tax_id;
pub mod typing;
pub mod vat;
pub mod views;
pub mod webhooks;

pub use chrono::{Datelike, NaiveDate};
