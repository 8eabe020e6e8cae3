//! Widgets shared by several pages.

pub mod field;
pub mod hydration_marker;
pub mod layout;
pub mod password_meter;
