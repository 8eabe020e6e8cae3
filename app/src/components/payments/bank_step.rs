//! The card's bank asks the cardholder to confirm the card before it is saved (3-D Secure):
//! on the bank's own page when the processor gives one, else answered in the window (a
//! processor's test mode).

use leptos::prelude::*;

use super::card_flow::BankStep;

#[component]
pub(super) fn BankQuestion(
    step: BankStep,
    busy: RwSignal<bool>,
    /// The cardholder says they answered on the bank's own page.
    on_answered: Callback<()>,
    /// The cardholder answers here: confirm (`true`) or cancel.
    on_answer: Callback<bool>,
) -> impl IntoView {
    view! {
        <div class="bank-step" role="group" aria-labelledby="bank-step-title">
            <h3 id="bank-step-title">"Your bank asks you to confirm this card"</h3>
            <p>"Nothing is charged now. Confirming lets Tally charge this card for your invoices."</p>
            {match step.redirect_url {
                // A live processor: the bank's own page, then the processor's word.
                Some(url) => view! {
                    <p><a href=url target="_blank" rel="noopener">"Open your bank's page"</a>" (a new tab), answer there, then come back here."</p>
                    <div class="dialog-buttons">
                        <button type="button" class="primary" disabled=move || busy.get()
                            on:click=move |_| on_answered.run(())>"I have answered my bank"</button>
                    </div>
                }.into_any(),
                // The processor's test mode: the bank's question, answered here.
                None => view! {
                    <div class="dialog-buttons">
                        <button type="button" class="primary" disabled=move || busy.get()
                            on:click=move |_| on_answer.run(true)>"Confirm with my bank"</button>
                        <button type="button" disabled=move || busy.get()
                            on:click=move |_| on_answer.run(false)>"Cancel"</button>
                    </div>
                }.into_any(),
            }}
        </div>
    }
}
