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

/// "Or use a passkey" on a sign-in's second step: the ceremony started by `options` and
/// finished by `finish` (an administrator's or an operator's server functions), then a whole
/// page load of `next()`, so the signed-in pages start afresh with the new session.
#[leptos::component]
pub fn UsePasskey<N, O, OF, F, FF>(next: N, options: O, finish: F) -> impl leptos::IntoView
where
    N: Fn() -> String + Copy + Send + Sync + 'static,
    O: Fn() -> OF + Copy + Send + Sync + 'static,
    OF: std::future::Future<
            Output = Result<tally_core::views::two_step::PasskeyRequest, crate::error::AppError>,
        > + 'static,
    F: Fn(String, PublicKeyCredential) -> FF + Copy + Send + Sync + 'static,
    FF: std::future::Future<Output = Result<(), crate::error::AppError>> + 'static,
{
    use leptos::prelude::*;
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let use_passkey = move |_| {
        busy.set(true);
        error.set(None);
        let next = next();
        leptos::task::spawn_local(async move {
            let outcome = async {
                let request = options().await.map_err(|e| e.to_string())?;
                let credential = get(request.options).await?;
                finish(request.ceremony, credential)
                    .await
                    .map_err(|e| e.to_string())
            }
            .await;
            busy.set(false);
            match outcome {
                Ok(()) => {
                    let _ = window().location().assign(&next);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="passkey-heading">
            <h2 id="passkey-heading">"Or use a passkey"</h2>
            <button type="button" on:click=use_passkey disabled=move || busy.get()>"Use a passkey"</button>
            <p class="form-error" role="alert">{move || error.get()}</p>
        </section>
    }
}
