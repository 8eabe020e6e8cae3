//! One page per file; page-private parts live in a folder beside their page.

pub mod home;
pub mod not_found;
