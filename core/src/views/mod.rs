//! The shapes the browser sees: what each server function answers with, defined once here,
//! where both the wasm and the services see them. The services build them; the pages draw
//! them. Nothing here holds a card number or a secret.

pub mod account;
pub mod admins;
pub mod billing;
pub mod commands;
pub mod operator;
pub mod overview;
pub mod system;
pub mod two_step;
pub mod users;
