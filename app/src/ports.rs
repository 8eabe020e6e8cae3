//! What the app needs from the server, as traits the server implements.
//!
//! The app never imports the server crate: the server builds a [`Services`] value at start and
//! provides it as context to every request, and server functions take it from there.

use std::sync::Arc;

use leptos::prelude::*;

/// The server's services, one field per area.
#[derive(Clone)]
pub struct Services {
    pub status: Arc<dyn StatusService>,
}

/// Fetches the services from the request's context.
pub fn services() -> Result<Services, ServerFnError> {
    use_context::<Services>()
        .ok_or_else(|| ServerFnError::new("server services are missing from context"))
}

/// Health of the server's dependencies.
#[async_trait::async_trait]
pub trait StatusService: Send + Sync {
    /// Runs a trivial query; returns the database's display name ("SQLite", "PostgreSQL").
    async fn database(&self) -> Result<String, String>;
}
