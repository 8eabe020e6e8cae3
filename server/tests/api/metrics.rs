//! `/metrics`: off without `TALLY_METRICS_TOKEN`, refused without the token, and its counters
//! move with the requests made.

use crate::{both_databases, helpers::TestApp};

const TOKEN: &str = "a-metrics-token-of-32-characters";

/// The value of the sample whose line starts with `series ` (0 when absent).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url("/metrics"));
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    req.send().await.unwrap()
}

both_databases! {
    async fn metrics_are_off_without_a_token(app: TestApp) {
        assert_eq!(scrape(&app, Some(TOKEN)).await.status(), 404);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_token_and_count_requests_sign_ins_and_errors() {
    let app = TestApp::spawn_with(
        tally_services::platform::db::Backend::Sqlite,
        &[("TALLY_METRICS_TOKEN", TOKEN)],
    )
    .await;
    assert_eq!(scrape(&app, None).await.status(), 401);
    assert_eq!(
        scrape(&app, Some("not-the-token-but-as-long-as-it"))
            .await
            .status(),
        401
    );
    let before = scrape(&app, Some(TOKEN)).await;
    assert_eq!(before.status(), 200);
    assert!(before.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let before = before.text().await.unwrap();

    let wrong = r#"tally_sign_ins_total{outcome="unknown_email"}"#;
    let health = r#"tally_http_requests_total{route="/healthz",method="GET",status="200"}"#;
    let forbidden =
        r#"tally_server_fn_errors_total{function="/api/users/list",kind="unauthenticated"}"#;
    for _ in 0..3 {
        let res = app
            .call(
                &app.client,
                "account/sign-in",
                &[
                    ("email", "nobody@acme.test"),
                    ("password", "not a password at all"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);
        assert_eq!(
            app.client
                .get(app.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(app.call(&app.client, "users/list", &[]).await.status(), 401);
    }
    let after = scrape(&app, Some(TOKEN)).await.text().await.unwrap();
    for series in [wrong, health, forbidden] {
        assert!(
            sample(&after, series) >= sample(&before, series) + 3.0,
            "{series}:\n{after}"
        );
    }
    for gauge in [
        "tally_db_pool_connections{state=\"idle\"}",
        "tally_mail_outbox_pending",
    ] {
        assert!(
            after.lines().any(|l| l.starts_with(gauge)),
            "{gauge}:\n{after}"
        );
    }
    assert!(after.contains("tally_http_request_duration_seconds_bucket{route=\"/healthz\",method=\"GET\",le=\"0.001\"}"), "{after}");
}
