//! Money: billing information, the card on file, invoices and their PDF, the monthly run,
//! charging and its retries, card expiry warnings, the payment gateways and the scheduler that
//! runs it all. Imports `directory`, `identity` and `platform`.

pub mod alerts;
pub mod cards;
pub mod charts;
pub mod contacts;
pub mod credit_notes;
pub mod einvoice;
pub mod gateway;
pub mod info;
pub mod invoices;
pub mod plans;
pub mod scheduler;
pub mod settings;

use tally_core::address::Address;

/// An address as `billing_info` and `payment_methods` each store it, in six columns.
#[derive(Debug, sqlx::FromRow)]
pub struct AddressRow {
    pub country: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
}

impl From<AddressRow> for Address {
    fn from(r: AddressRow) -> Self {
        Address {
            country: r.country,
            line1: r.line1,
            line2: r.line2,
            city: r.city,
            region: r.region,
            postal_code: r.postal_code,
        }
    }
}
