//! Three `tally` processes on one PostgreSQL work as one: a session made on one works on the
//! others, failed sign-ins count toward one lockout whichever server they reach, and the
//! outbox's messages are delivered once between them.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tally_core::roles::Role;

use crate::helpers::{TestApp, TEST_PASSWORD};

pub(crate) struct Server {
    pub(crate) child: Child,
    base: String,
    data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(database_url: &str, secret_key: &str) -> Server {
    start_with(database_url, secret_key, &[])
}

pub(crate) fn start_with(database_url: &str, secret_key: &str, extra: &[(&str, &str)]) -> Server {
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_tally"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TALLY_ADDR", format!("127.0.0.1:{port}"))
        .env("TALLY_PUBLIC_URL", &base)
        .env("TALLY_DATA_DIR", data.path())
        .env("DATABASE_URL", database_url)
        .env("TALLY_SECRET_KEY", secret_key)
        .env("TALLY_SIGN_IN_PER_IP_MINUTE", "1000")
        .env("LEPTOS_SITE_ROOT", crate::helpers::site_root())
        .env("RUST_LOG", "off")
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tally");
    Server { child, base, data }
}

pub(crate) async fn healthy(server: &Server) {
    let started = Instant::now();
    while reqwest::get(format!("{}/healthz", server.base))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "a server starts"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn call(
    server: &Server,
    cookie: Option<&str>,
    endpoint: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api/{endpoint}", server.base))
        .header("Origin", &server.base)
        .form(form);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    req.send().await.unwrap()
}

fn session(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tally_session=") && !v.starts_with("tally_session=;"))
        .map(|v| v.split(';').next().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_on_one_postgres_share_sessions_lockouts_and_deliver_mail_once() {
    let app = TestApp::spawn(tally_services::platform::db::Backend::Postgres).await;
    app.seed_account(
        "acme",
        &[Role::AdministratorWithBilling, Role::Administrator],
    )
    .await;
    // 500 messages waiting before any server starts: each server's mail worker starts at once.
    let messages = 500;
    for i in 0..messages {
        sqlx::query(
            "INSERT INTO mail_outbox (id, to_addr, subject, text_body, html_body, attachments, created_at, next_attempt_at) \
             VALUES ($1, $2, 'Hello', 'text', '<p>html</p>', '', 0, 0)",
        )
        .bind(format!("{i:032x}"))
        .bind(format!("person{i}@acme.test"))
        .execute(app.db.pool())
        .await
        .unwrap();
    }
    // Accounts since October: every server's scheduler wakes at start to bill October and
    // November.
    let accounts = 20;
    for i in 0..accounts {
        crate::invoicing::account_with(&app, &format!("s{i}"), 11 + i, Some("tok_sandbox_ok"))
            .await;
    }
    let key = app.secret_key();
    let servers: Vec<Server> = (0..3).map(|_| start(&app.database_url, &key)).collect();
    for s in &servers {
        healthy(s).await;
    }

    // A session made on one server works on the others.
    let signed_in = call(
        &servers[0],
        None,
        "account/sign-in",
        &[
            ("email", "admin_billing@acme.test"),
            ("password", TEST_PASSWORD),
        ],
    )
    .await;
    let cookie = session(&signed_in).expect("a session from the first server");
    for s in &servers[1..] {
        assert_eq!(
            call(s, Some(&cookie), "users/list", &[]).await.status(),
            200,
            "{}",
            s.base
        );
    }

    // Wrong passwords spread over the three count toward one lockout.
    for i in 0..10 {
        let s = &servers[i % 3];
        let res = call(
            s,
            None,
            "account/sign-in",
            &[
                ("email", "admin@acme.test"),
                ("password", "not the password at all"),
            ],
        )
        .await;
        assert_ne!(res.status(), 200);
    }
    let right = call(
        &servers[2],
        None,
        "account/sign-in",
        &[("email", "admin@acme.test"), ("password", TEST_PASSWORD)],
    )
    .await;
    assert!(
        session(&right).is_none(),
        "locked out on every server: {}",
        right.status()
    );
    let failures: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'sign_in_failed' AND actor_email = 'admin@acme.test'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(failures >= 10, "{failures} failures recorded");

    // All three woke for the same months; each month was run by one of them.
    let started = Instant::now();
    while invoices_of(&app, "2026-10").await + invoices_of(&app, "2026-11").await < 2 * accounts {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the months are billed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(runs_of(&app, "2026-10").await, 1, "October run once");
    assert_eq!(runs_of(&app, "2026-11").await, 1, "November run once");
    assert_eq!(invoices_of(&app, "2026-10").await, accounts);

    // Every message delivered, once, by whichever server claimed it.
    let started = Instant::now();
    loop {
        let waiting: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL")
                .fetch_one(app.db.pool())
                .await
                .unwrap();
        if waiting == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{waiting} messages still waiting"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut files: Vec<PathBuf> = Vec::new();
    let mut per_server = Vec::new();
    for s in &servers {
        let here: Vec<PathBuf> = std::fs::read_dir(s.data.path().join("outbox"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        per_server.push(here.len());
        files.extend(here);
    }
    // The 500, and the invoices' emails of both months.
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(queued >= messages + 2 * accounts, "{queued}");
    assert_eq!(
        files.len() as i64,
        queued,
        "each message once; per server {per_server:?}"
    );
    let mut names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), files.len(), "no message twice");
}

async fn runs_of(app: &TestApp, month: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE kind = 'billing_run' AND detail LIKE $1",
    )
    .bind(format!("{month}:%"))
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

async fn invoices_of(app: &TestApp, month: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE month = $1")
        .bind(month)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

crate::both_databases! {
    async fn each_month_is_run_by_one_scheduler_and_taken_over_when_its_holder_dies(app: TestApp) {
        use crate::invoicing::{account_with, millis};
        app.clock.set(millis(2026, 12, 2));
        for i in 0..5 {
            account_with(&app, &format!("l{i}"), 12, Some("tok_sandbox_ok")).await;
        }
        // Another server is running October (and will die holding it).
        sqlx::query("INSERT INTO scheduler_leases (name, holder, expires_at) VALUES ('billing-run:2026-10', 'elsewhere', $1)")
            .bind(app.clock_now() + tally_services::platform::leases::LEASE_MILLIS)
            .execute(app.db.pool())
            .await
            .unwrap();
        // Three schedulers wake at once (as three servers would).
        let s = &app.services.scheduler;
        let (a, b, c) = tokio::join!(s.tick(), s.tick(), s.tick());
        a.unwrap();
        b.unwrap();
        c.unwrap();
        assert_eq!(runs_of(&app, "2026-11").await, 1, "November run once");
        assert_eq!(invoices_of(&app, "2026-11").await, 5);
        assert_eq!(runs_of(&app, "2026-10").await, 0, "October is the other server's");
        assert_eq!(invoices_of(&app, "2026-10").await, 0);
        // Its holder stopped renewing: once the lease has run out, a scheduler takes it over.
        app.clock.advance_minutes(2);
        s.tick().await.unwrap();
        assert_eq!(runs_of(&app, "2026-10").await, 1);
        assert_eq!(invoices_of(&app, "2026-10").await, 5);
        // Nothing is run twice afterwards.
        s.tick().await.unwrap();
        assert_eq!(runs_of(&app, "2026-10").await + runs_of(&app, "2026-11").await, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_run_leaves_the_month_to_the_others() {
    let app = TestApp::spawn(tally_services::platform::db::Backend::Postgres).await;
    let accounts = 1500;
    for i in 0..accounts {
        crate::invoicing::account_with(&app, &format!("k{i}"), 11, Some("tok_sandbox_ok")).await;
    }
    let key = app.secret_key();
    let mut servers: Vec<Server> = (0..3)
        .map(|_| start_with(&app.database_url, &key, &[("TALLY_SCHEDULER_SECONDS", "1")]))
        .collect();
    // Whoever took October's lease: its holder names its process.
    let started = Instant::now();
    let holder: String = loop {
        let held: Option<String> = sqlx::query_scalar(
            "SELECT holder FROM scheduler_leases WHERE name = 'billing-run:2026-10' AND expires_at > 0",
        )
        .fetch_optional(app.db.pool())
        .await
        .unwrap();
        // Taken, and some of its work committed: mid-run.
        if let Some(h) = held {
            if invoices_of(&app, "2026-10").await > 0 {
                break h;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "a server takes October"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let pid: u32 = holder.split('-').next().unwrap().parse().unwrap();
    let at = servers
        .iter()
        .position(|s| s.child.id() == pid)
        .expect("the holder is one of ours");
    let mut killed = servers.remove(at);
    killed.child.kill().unwrap(); // SIGKILL
    killed.child.wait().unwrap();
    let invoiced_at_kill = invoices_of(&app, "2026-10").await;
    // Its lease would run out within a minute; here at once.
    sqlx::query("UPDATE scheduler_leases SET expires_at = 0 WHERE name = 'billing-run:2026-10'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let started = Instant::now();
    while invoices_of(&app, "2026-10").await < accounts
        || invoices_of(&app, "2026-11").await < accounts
    {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the others finish both months"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let twice: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT account_id, month FROM invoices GROUP BY account_id, month HAVING COUNT(*) > 1) t",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(twice, 0, "one invoice per account and month");
    // Every invoice charged once: the charges settle shortly after the invoices.
    let started = Instant::now();
    loop {
        let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE status = 'open'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{open} invoices left to charge"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let paid: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE status = 'paid'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let charges: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_charges")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(paid, 2 * accounts);
    assert_eq!(charges, paid, "no invoice charged twice");
    eprintln!("killed the holder with {invoiced_at_kill} of {accounts} October invoices made");
}
