//! The operator console: the seller's staff's pages, under `/operator`. Each is a lazy route
//! (its code is a chunk a customer administrator's pages never load), behind the operator
//! guard ([`frame::OperatorSignedIn`]): an operator session only, and a second step set up
//! before anything but setting one up opens.

pub mod account;
pub mod accounts;
pub mod api_keys;
mod frame;
pub mod invitation;
mod money;
pub mod operators;
pub mod revenue;
pub mod settings;
pub mod sign_in;
pub mod two_step;
pub mod webhooks;
