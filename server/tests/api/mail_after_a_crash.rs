//! Mail after a crash (issue 30): a server delivering by SMTP, killed (SIGKILL) at random
//! moments and started again, delivers every message, and again at most the ones it had in
//! flight at each kill; a server that stops cleanly gives its claims back at once.

use std::time::{Duration, Instant};

use crate::{
    both_databases,
    helpers::TestApp,
    several_servers::{healthy, start_with, Server},
};

/// The shared SMTP sink, never refusing.
async fn smtp_sink() -> (u16, crate::helpers::Received) {
    crate::helpers::smtp_sink(Default::default()).await
}

/// `n` messages waiting in the outbox, due now.
async fn queue(app: &TestApp, n: usize) {
    for i in 0..n {
        sqlx::query(
            "INSERT INTO mail_outbox (id, to_addr, subject, text_body, html_body, attachments, created_at, next_attempt_at) \
             VALUES ($1, $2, 'Your invoice', 'text', '<p>html</p>', '', 0, 0)",
        )
        .bind(format!("{i:032x}"))
        .bind(format!("person{i}@acme.test"))
        .execute(app.db.pool())
        .await
        .unwrap();
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

fn server(app: &TestApp, port: u16) -> Server {
    let url = format!("smtp://127.0.0.1:{port}");
    start_with(
        &app.database_url,
        &app.secret_key(),
        &[
            ("TALLY_SMTP_URL", &url),
            ("TALLY_BILLING_SCHEDULER", "false"),
        ],
    )
}

both_databases! {
    async fn killed_six_times_mid_delivery_every_message_goes_and_at_most_the_ones_in_flight_twice(app: TestApp) {
        use rand::Rng;
        let messages = 1500;
        queue(&app, messages).await;
        let (port, received) = smtp_sink().await;
        let kills = 6;
        for _ in 0..kills {
            let mut s = server(&app, port);
            healthy(&s).await;
            // A random moment once delivery is under way.
            let before = received.lock().unwrap().len();
            let started = Instant::now();
            while received.lock().unwrap().len() < before + 20 {
                assert!(started.elapsed() < Duration::from_secs(30), "delivery starts");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            tokio::time::sleep(Duration::from_millis(rand::thread_rng().gen_range(0..150))).await;
            s.child.kill().unwrap(); // SIGKILL
            s.child.wait().unwrap();
            // The killed process's claims would time out in five minutes; here at once.
            sqlx::query("UPDATE mail_outbox SET claimed_until = NULL WHERE sent_at IS NULL")
                .execute(app.db.pool())
                .await
                .unwrap();
        }
        let last = server(&app, port);
        healthy(&last).await;
        let started = Instant::now();
        while count(&app, "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL").await > 0 {
            assert!(started.elapsed() < Duration::from_secs(120), "every message is sent");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(last);
        let received: Vec<String> = received.lock().unwrap().iter().map(|m| m.id.clone()).collect();
        let mut distinct = received.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), messages, "every message arrived");
        let twice = received.len() - distinct.len();
        let in_flight = tally_services::platform::mail::SMTP_EXCHANGES_AT_ONCE;
        println!("{messages} messages, {kills} kills: {twice} delivered twice (at most {in_flight} in flight per kill)");
        assert!(twice <= kills * in_flight, "{twice} duplicates after {kills} kills");
    }

    async fn a_clean_stop_gives_its_claims_back_at_once(app: TestApp) {
        queue(&app, 1000).await;
        let (port, received) = smtp_sink().await;
        let s = server(&app, port);
        healthy(&s).await;
        let started = Instant::now();
        while received.lock().unwrap().len() < 50 {
            assert!(started.elapsed() < Duration::from_secs(30), "delivery starts");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // SIGTERM: a clean stop.
        let pid = s.child.id();
        assert!(std::process::Command::new("kill").arg(pid.to_string()).status().unwrap().success());
        let mut s = s;
        let started = Instant::now();
        while s.child.try_wait().unwrap().is_none() {
            assert!(started.elapsed() < Duration::from_secs(30), "the server stops");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let waiting = count(&app, "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL").await;
        assert!(waiting > 0, "stopped mid-delivery");
        let held = count(&app, "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND claimed_until IS NOT NULL").await;
        assert_eq!(held, 0, "no claim left behind");
        // The next server sends the rest at once.
        let next = server(&app, port);
        healthy(&next).await;
        let started = Instant::now();
        while count(&app, "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL").await > 0 {
            assert!(started.elapsed() < Duration::from_secs(60), "the rest is sent");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
