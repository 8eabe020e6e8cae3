//! Passkeys in the browser: the Credential Management API (`navigator.credentials`), with the
//! server's WebAuthn messages converted to and from its objects by `webauthn-rs-proto`.

use webauthn_rs_proto::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};

/// What went wrong with the authenticator, in words for the person.
const CANCELLED: &str =
    "The passkey was not used (cancelled, timed out, or not available on this device).";

/// Makes a new passkey with the device's authenticator.
pub async fn create(
    options: CreationChallengeResponse,
) -> Result<RegisterPublicKeyCredential, String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let options: web_sys::CredentialCreationOptions = options.into();
        let promise = leptos::prelude::window()
            .navigator()
            .credentials()
            .create_with_options(&options)
            .map_err(|_| CANCELLED.to_string())?;
        let credential = wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .map_err(|_| CANCELLED.to_string())?;
        let credential: web_sys::PublicKeyCredential =
            credential.dyn_into().map_err(|_| CANCELLED.to_string())?;
        Ok(RegisterPublicKeyCredential::from(credential))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options;
        Err(CANCELLED.to_string())
    }
}

/// Proves it is someone with one of their passkeys.
pub async fn get(options: RequestChallengeResponse) -> Result<PublicKeyCredential, String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let options: web_sys::CredentialRequestOptions = options.into();
        let promise = leptos::prelude::window()
            .navigator()
            .credentials()
            .get_with_options(&options)
            .map_err(|_| CANCELLED.to_string())?;
        let credential = wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .map_err(|_| CANCELLED.to_string())?;
        let credential: web_sys::PublicKeyCredential =
            credential.dyn_into().map_err(|_| CANCELLED.to_string())?;
        Ok(PublicKeyCredential::from(credential))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options;
        Err(CANCELLED.to_string())
    }
}
