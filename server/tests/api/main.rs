//! Integration tests: one binary, each test on a fresh migrated database, every test run on
//! SQLite and on PostgreSQL, driven by real HTTP requests at the real router.

mod authenticator;
mod helpers;

mod abuse;
mod admins;
mod auth;
mod backup;
mod billing;
mod billing_contact;
mod billing_contacts;
mod canary;
mod check;
mod commands;
mod corrections;
mod currencies;
mod einvoice;
mod errors;
mod export;
mod foundation;
mod invoicing;
mod mail_after_a_crash;
mod metrics;
mod money;
mod numbering;
mod operators;
mod outbox;
mod peak;
mod plain_forms;
mod public_pages;
mod rest;
mod scim;
mod seat_cap;
mod secrets;
mod settings;
mod several_servers;
mod smtp;
mod spend_alerts;
mod staff;
mod startup;
mod stripe;
mod tax;
mod tax_ids;
mod two_step;
mod users;
mod webhooks;
