//! Backups of the embedded database: `tally backup` while a billing run and a stream of
//! writes go on, and `tally restore`, which refuses a folder in use and a damaged copy.

use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use sqlx::{sqlite::SqliteConnectOptions, ConnectOptions, Connection, SqliteConnection};

use crate::{helpers::TestApp, invoicing::account_with};

/// The `tally` binary with a clean environment on this database and data folder.
fn tally(database_url: &str, data_dir: &Path, secret_key: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("TALLY_DATA_DIR", data_dir)
        .env("TALLY_SECRET_KEY", secret_key)
        .env("RUST_LOG", "off")
        .stdin(Stdio::null());
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn open(path: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .expect("open the copy")
}

async fn scalar(conn: &mut SqliteConnection, q: &str) -> i64 {
    sqlx::query_scalar(q).fetch_one(conn).await.unwrap()
}

async fn scalar_pool(app: &TestApp, q: &str) -> i64 {
    sqlx::query_scalar(q)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_a_billing_run_and_writes_is_whole_and_restores() {
    let app = TestApp::spawn(tally_services::platform::db::Backend::Sqlite).await;
    let accounts = 400;
    for i in 0..accounts {
        let card = if i % 5 == 4 {
            "tok_sandbox_fails_k"
        } else {
            "tok_sandbox_ok"
        };
        account_with(&app, &format!("b{i}"), 5 + i, Some(card)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = app.secret_key();
    // A billing run in another process, on the same database.
    let mut run = tally(&app.database_url, dir.path(), &key)
        .args(["bill", "--month", "2026-10"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tally bill");
    // And a stream of writes: each transaction adds two rows that belong together.
    let pool = app.db.pool().clone();
    let writes = tokio::spawn(async move {
        let started = Instant::now();
        let mut n = 0;
        while started.elapsed() < Duration::from_millis(1500) {
            let mut tx = pool.begin().await.unwrap();
            for half in ["a", "b"] {
                sqlx::query("INSERT INTO audit_events (id, account_id, at, kind, actor_email, detail, created_at) VALUES ($1, 'acct-b0', 0, 'user_created', 'w@acme.test', $2, 0)")
                    .bind(format!("pair-{n}-{half}"))
                    .bind(format!("pair {n}"))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
            n += 1;
        }
        n
    });
    // Once the run has begun to invoice.
    let started = Instant::now();
    while scalar_pool(&app, "SELECT COUNT(*) FROM invoices").await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the billing run starts"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let copy = dir.path().join("backups").join("mid-run.db");
    let backed_up = tally(&app.database_url, dir.path(), &key)
        .arg("backup")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(backed_up.status.success(), "{}", text(&backed_up));
    assert!(
        text(&backed_up).contains("Keep the secret key with it"),
        "{}",
        text(&backed_up)
    );
    let pairs_written = writes.await.unwrap();
    assert!(run.wait().unwrap().success(), "the billing run finishes");

    // A second backup to the same name is refused: nothing is overwritten.
    let again = tally(&app.database_url, dir.path(), &key)
        .arg("backup")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        !again.status.success() && text(&again).contains("already exists"),
        "{}",
        text(&again)
    );

    let mut c = open(&copy).await;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(verdict, "ok");
    // Each pair whole: a transaction is in the copy entirely or not at all.
    let a = scalar(
        &mut c,
        "SELECT COUNT(*) FROM audit_events WHERE id LIKE 'pair-%-a'",
    )
    .await;
    let b = scalar(
        &mut c,
        "SELECT COUNT(*) FROM audit_events WHERE id LIKE 'pair-%-b'",
    )
    .await;
    assert_eq!(a, b, "no half transaction");
    assert!(a > 0 && a <= pairs_written, "{a} of {pairs_written} pairs");
    // Every invoice in the copy is the run's, whole: its figures agree with each other and
    // with the finished database.
    let copied: Vec<(String, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT id, number, peak_users, free_users, price_per_user_cents, amount_cents FROM invoices",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for (id, number, peak, free, price, amount) in &copied {
        assert_eq!(*amount, (peak - free).max(0) * price, "invoice {number}");
        let final_number: String = sqlx::query_scalar("SELECT number FROM invoices WHERE id = $1")
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(&final_number, number);
    }
    let paid = scalar(
        &mut c,
        "SELECT COUNT(*) FROM invoices WHERE status = 'paid'",
    )
    .await;
    eprintln!(
        "copy: {} invoices ({paid} paid), {a} of {pairs_written} pairs",
        copied.len()
    );
    let accounts_copied = scalar(&mut c, "SELECT COUNT(*) FROM accounts").await;
    assert_eq!(
        accounts_copied, accounts,
        "every account, made before the backup"
    );
    c.close().await.unwrap();

    // Restored into a fresh folder (nothing runs there): the copy is now its database.
    let restored_dir = tempfile::tempdir().unwrap();
    let restored_db = restored_dir.path().join("tally.db");
    std::fs::write(&restored_db, b"").unwrap();
    let url = format!("sqlite://{}?mode=rwc", restored_db.display());
    let restored = tally(&url, restored_dir.path(), &key)
        .arg("restore")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(restored.status.success(), "{}", text(&restored));
    assert!(
        text(&restored).contains("before-restore"),
        "the replaced file is kept: {}",
        text(&restored)
    );
    // The copy, the database it became and the one it replaced are the owner's alone (the
    // file replaced here was made by the test, open to all).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let kept = std::fs::read_dir(restored_dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().contains("before-restore"))
            .expect("the replaced database");
        for file in [&copy, &restored_db, &kept] {
            let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
    }
    let mut r = open(&restored_db).await;
    assert_eq!(
        scalar(&mut r, "SELECT COUNT(*) FROM invoices").await,
        copied.len() as i64
    );
    assert_eq!(
        scalar(
            &mut r,
            "SELECT COUNT(*) FROM audit_events WHERE id LIKE 'pair-%'"
        )
        .await,
        a + b
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_folder_in_use_a_damaged_copy_and_postgres() {
    let app = TestApp::spawn(tally_services::platform::db::Backend::Sqlite).await;
    let key = app.secret_key();
    let work = tempfile::tempdir().unwrap();
    let good = work.path().join("good.db");
    let out = tally(&app.database_url, work.path(), &key)
        .arg("backup")
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    // A server of its own on a data folder.
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/tally.db?mode=rwc", data.path().display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = tally(&url, data.path(), &key)
        .env("TALLY_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server starts"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = tally(&url, data.path(), &key)
        .arg("restore")
        .arg(&good)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("is using the data folder"),
        "{}",
        text(&refused)
    );
    server.kill().unwrap();
    server.wait().unwrap();

    // Damaged copies: cut in half, and not a database at all.
    let bytes = std::fs::read(&good).unwrap();
    let half = work.path().join("half.db");
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
    let junk = work.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database").unwrap();
    for bad in [&half, &junk] {
        let out = tally(&url, data.path(), &key)
            .arg("restore")
            .arg(bad)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains("is not a usable Tally backup"),
            "{}",
            text(&out)
        );
    }
    // The server's own database is untouched by the refusals, then replaced by the good copy.
    let ok = tally(&url, data.path(), &key)
        .arg("restore")
        .arg(&good)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", text(&ok));
    let kept = std::fs::read_dir(data.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("tally.db.before-restore-")
        })
        .count();
    assert!(kept >= 1, "the replaced database is kept beside it");

    // On PostgreSQL both commands point to pg_dump / pg_restore, without the password.
    let pg = "postgres://tally:s3cret@127.0.0.1:1/tally";
    for (cmd, tool) in [("backup", "pg_dump"), ("restore", "pg_restore")] {
        let out = tally(pg, work.path(), &key)
            .arg(cmd)
            .arg(work.path().join("x.dump"))
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            text(&out).contains(tool) && !text(&out).contains("s3cret"),
            "{}",
            text(&out)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_backups_are_taken_once_a_day_keep_the_newest_and_show_to_billing_admins_only() {
    use tally_core::roles::Role;
    let app = TestApp::spawn_with(
        tally_services::platform::db::Backend::Sqlite,
        &[("TALLY_BACKUP_KEEP", "3")],
    )
    .await;
    app.seed_account(
        "sys",
        &[Role::AdministratorWithBilling, Role::Administrator],
    )
    .await;
    app.seed_account("other", &[Role::AdministratorWithBilling])
        .await;
    let settings = app.services.ctx.settings.as_ref();
    let day = |d: u32| tally_core::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    for d in 1..=5 {
        let made = tally_services::platform::backup::daily_backup(settings, day(d))
            .await
            .unwrap();
        assert!(made.is_some(), "day {d}");
        assert_eq!(made.unwrap().accounts, 2);
    }
    assert_eq!(
        tally_services::platform::backup::daily_backup(settings, day(5))
            .await
            .unwrap(),
        None,
        "once a day"
    );
    let days: Vec<String> = tally_services::platform::backup::list_daily(&settings.backup_dir)
        .iter()
        .map(|b| b.day.to_string())
        .collect();
    assert_eq!(
        days,
        ["2026-11-05", "2026-11-04", "2026-11-03"],
        "the newest 3 kept"
    );

    let system = |cookie: String| {
        app.client
            .post(app.url("/api/status/system"))
            .header("Origin", &app.address)
            .header("Accept", "application/json")
            .header("Cookie", cookie)
            .form(&[("", "")][..0])
            .send()
    };
    let awb = system(app.session_cookie_for("sys-admin_billing").await)
        .await
        .unwrap();
    assert_eq!(awb.status(), 200);
    let body: serde_json::Value = awb.json().await.unwrap();
    assert_eq!(body["database"], "SQLite");
    assert_eq!(body["keep"], 3);
    assert_eq!(body["backups"][0]["day"], "2026-11-05");
    assert_eq!(body["backups"].as_array().unwrap().len(), 3);
    let admin = system(app.session_cookie_for("sys-admin").await)
        .await
        .unwrap();
    assert_eq!(
        admin.status(),
        403,
        "an Administrator without billing is refused"
    );
    let visitor = app
        .client
        .post(app.url("/api/status/system"))
        .header("Origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(visitor.status(), 401);
}
