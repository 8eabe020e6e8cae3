//! Mail after a crash (issue 30): a server delivering by SMTP, killed (SIGKILL) at random
//! moments and started again, delivers every message, and again at most the ones it had in
//! flight at each kill; a server that stops cleanly gives its claims back at once.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

use crate::{
    both_databases,
    helpers::TestApp,
    several_servers::{healthy, start_with, Server},
};

/// Every message an SMTP listener accepted, by its Message-ID, in order.
type Received = Arc<Mutex<Vec<String>>>;

/// An SMTP listener on loopback that accepts every message after a millisecond's pause (a
/// mail server's own work) and records its Message-ID.
async fn smtp_sink() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Received::default();
    let sink = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(session(socket, sink.clone()));
        }
    });
    (port, received)
}

/// One SMTP session: any number of messages, until QUIT or the client goes.
async fn session(socket: TcpStream, received: Received) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
        return;
    }
    let (mut in_data, mut message_id) = (false, None::<String>);
    while let Ok(Some(line)) = lines.next_line().await {
        if in_data {
            if line == "." {
                in_data = false;
                tokio::time::sleep(Duration::from_millis(1)).await;
                // Accepted: recorded before the client hears so.
                received
                    .lock()
                    .unwrap()
                    .push(message_id.take().unwrap_or_default());
                if write.write_all(b"250 2.0.0 queued\r\n").await.is_err() {
                    return;
                }
            } else if line.to_ascii_lowercase().starts_with("message-id:") {
                message_id = Some(line[11..].trim().to_string());
            }
            continue;
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("DATA") {
            in_data = true;
            b"354 go on\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
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
        let received = received.lock().unwrap().clone();
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
