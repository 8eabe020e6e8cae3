//! The account's people and things: its administrators (the Administrators page), its users
//! (seats) and its saved commands. Imports `identity` and `platform`.

pub mod administrators;
pub mod commands;
pub mod users;
