//! A command's run history: newest first, a page at a time.

use leptos::prelude::*;
use tally_core::views::commands::RunPage;

use crate::{api::commands::list_runs, components::pager::Pager, error::AppError};

/// One command's runs, loaded in the browser (an effect), and again after a run or a page
/// change.
#[derive(Clone, Copy)]
pub(super) struct RunHistory {
    command_id: StoredValue<String>,
    page: RwSignal<u32>,
    runs: RwSignal<Option<Result<RunPage, AppError>>>,
}

impl RunHistory {
    pub fn new(command_id: String) -> Self {
        let history = Self {
            command_id: StoredValue::new(command_id),
            page: RwSignal::new(1),
            runs: RwSignal::new(None),
        };
        Effect::new(move |_| {
            history.page.track();
            history.load();
        });
        history
    }

    fn load(self) {
        leptos::task::spawn_local(async move {
            let page = self.page.get_untracked();
            let runs = list_runs(self.command_id.get_value(), page).await;
            self.runs.set(Some(runs));
        });
    }

    /// Back to the newest runs, loaded again (after a run).
    pub fn first_page(self) {
        self.page.set(1);
        self.load();
    }
}

#[component]
pub(super) fn RunTable(history: RunHistory) -> impl IntoView {
    move || match history.runs.get() {
        None => view! { <p>"Loading runs…"</p> }.into_any(),
        Some(Err(e)) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
        Some(Ok(p)) if p.runs.is_empty() => view! { <p>"Not run yet."</p> }.into_any(),
        Some(Ok(p)) => {
            let pages = p.total.div_ceil(u64::from(p.per_page)).max(1) as u32;
            view! {
                <div class="table-wrap"><table>
                    <caption class="visually-hidden">"Runs, newest first"</caption>
                    <thead><tr><th scope="col">"When (UTC)"</th><th scope="col">"Who"</th><th scope="col">"Status"</th></tr></thead>
                    <tbody>{p.runs.into_iter().map(|r| view! {
                        <tr><td>{chrono_like(r.at)}</td><td>{r.admin_email}</td><td>{r.status.code()}</td></tr>
                    }).collect_view()}</tbody>
                </table></div>
                {(pages > 1).then(|| view! {
                    <Pager page=history.page current=p.page pages=pages label="Pages of runs" back="Newer" forward="Older" />
                })}
            }.into_any()
        }
    }
}

/// `YYYY-MM-DD HH:MM` in UTC, the same on the server and in the browser.
fn chrono_like(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let day = tally_core::billing::date_of_millis(millis)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let in_day = secs.rem_euclid(86_400);
    format!("{day} {:02}:{:02}", in_day / 3600, (in_day % 3600) / 60)
}
