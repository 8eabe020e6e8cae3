use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes, A},
    path,
};

#[server]
pub async fn add(a: i32, b: i32) -> Result<i32, ServerFnError> {
    Ok(a + b)
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <HydrationScripts options />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <nav>
                <A href="/">"Home"</A>
                <A href="/about">"About"</A>
            </nav>
            <Routes fallback=|| "Not found">
                <Route path=path!("/") view=Home />
                <Route path=path!("/about") view=|| view! { <p>"About"</p> } />
            </Routes>
        </Router>
    }
}

#[component]
fn Home() -> impl IntoView {
    let sum = Action::new(|n: &i32| add(*n, 1));
    view! {
        <button on:click=move |_| { sum.dispatch(41); }>"Add"</button>
        <p>{move || sum.value().get().map(|r| r.map(|n| n.to_string()).unwrap_or_default())}</p>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_body(App);
}
