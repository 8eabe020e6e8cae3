//! Widgets shared by several pages.

pub mod address;
pub mod billing_notices;
pub mod dialog;
pub mod email_text;
pub mod field;
pub mod form;
pub mod fresh_check;
pub mod layout;
pub mod list_page;
pub mod live_errors;
pub mod menu;
pub mod pager;
pub mod passkeys;
pub mod password_meter;
pub mod payments;
pub mod plan_fields;
pub mod search_form;
pub mod seller_fields;
pub mod shown_once;
pub mod standing;
pub mod tax_id_field;
