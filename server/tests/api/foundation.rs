//! The foundation: health check, a server-rendered page, a server function, the 404 page.

use crate::both_databases;

both_databases! {
    async fn healthz_answers_ok_when_the_database_answers(app: TestApp) {
        let res = app.get("/healthz").await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["database"], app.backend.display_name());
    }

    async fn healthz_answers_503_when_the_database_is_gone(app: TestApp) {
        app.db.close().await;
        let res = app.get("/healthz").await;
        assert_eq!(res.status(), 503);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "unavailable");
    }

    async fn the_start_page_is_rendered_on_the_server_with_its_hydration_script(app: TestApp) {
        let res = app.get("/status").await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("<h1>Tally</h1>"), "{html}");
        assert!(html.contains("/pkg/tally.js"), "the hydration script is linked: {html}");
        assert!(html.contains("<html lang=\"en\">"));
    }

    async fn the_status_server_function_reports_the_database_in_use(app: TestApp) {
        let res = app.server_fn("status/get", &[]).await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["database"], app.backend.display_name());
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    }

    async fn an_unknown_address_gets_the_not_found_page_with_404(app: TestApp) {
        let res = app.get("/no/such/page").await;
        assert_eq!(res.status(), 404);
        let html = res.text().await.unwrap();
        assert!(html.contains("Page not found"));
    }

    async fn migrations_create_the_schema_once(app: TestApp) {
        // A second run of the migrator is a no-op, not an error.
        app.db.migrate().await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tally_instance")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
}

/// A router built while another serves pages must not stall those pages' renders. Walking the
/// app's routes sets a process-wide flag in leptos_server under which a resource first polled
/// never resolves (leptos-rs/leptos#4773); this once hung a test server's invitation page, and
/// with it the whole CI run. Here routers are built over and over while pages that load a
/// resource are requested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_another_router_never_stalls_a_render() {
    let app = crate::helpers::TestApp::spawn(tally_services::platform::db::Backend::Sqlite).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let builder = {
        let (state, stop) = (app.state.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut built = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                drop(tally_server::build_router(state.clone()));
                built += 1;
            }
            built
        })
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    for i in 0..200 {
        let res = client
            .get(app.url(&format!("/invitation/no-such-token-{i}")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i} stalled or failed: {e}"));
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("This link isn"), "request {i}: {html}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(builder.join().unwrap() > 0, "routers were built meanwhile");
}
