//! Two-step verification: one's own, and the passkey ceremonies the browser performs. Passkey
//! options cross the wire as the WebAuthn messages of `webauthn-rs-proto`.

use serde::{Deserialize, Serialize};
use webauthn_rs_proto::{CreationChallengeResponse, RequestChallengeResponse};

/// A passkey as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeySummary {
    pub id: String,
    pub name: String,
    /// UTC milliseconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// One's two-step verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoStepStatus {
    pub app: bool,
    pub passkeys: Vec<PasskeySummary>,
    pub recovery_codes_left: u32,
    /// The account requires it of every administrator.
    pub required: bool,
    /// Passkeys work at this portal's address.
    pub passkeys_available: bool,
}

impl TwoStepStatus {
    /// Whether one has any second step.
    pub fn on(&self) -> bool {
        self.app || !self.passkeys.is_empty()
    }
}

/// What enrolling an authenticator app shows, once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppEnrolment {
    /// The key to type into the app, in groups of four.
    pub key: String,
    /// The QR code to scan, as an SVG document.
    pub qr_svg: String,
}

/// A passkey registration to make in the browser.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasskeyCreation {
    pub ceremony: String,
    pub options: CreationChallengeResponse,
}

/// A passkey proof to make in the browser.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasskeyRequest {
    pub ceremony: String,
    pub options: RequestChallengeResponse,
}
