//! Start-up failures: the real binary exits non-zero with one clear line on stderr.

use std::process::Command;

fn start(env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TALLY_ADDR", "127.0.0.1:0")
        .env("TALLY_DATA_DIR", dir.path())
        .env("RUST_LOG", "off");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the tally binary");
    drop(dir);
    out
}

fn one_line_of_stderr(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(
        stderr.lines().count(),
        1,
        "exactly one line on stderr: {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    stderr
}

#[test]
fn an_unreachable_database_stops_the_start_with_one_clear_line() {
    let out = start(&[("DATABASE_URL", "postgres://tally:secret@127.0.0.1:1/tally")]);
    assert!(!out.status.success());
    let line = one_line_of_stderr(&out);
    assert!(
        line.starts_with("tally: cannot start: database: cannot connect to PostgreSQL"),
        "{line}"
    );
    assert!(!line.contains("secret"), "the password is hidden: {line}");
}

#[tokio::test]
async fn a_failing_migration_stops_the_start_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.db");
    // A table in the way of the first migration makes it fail.
    let db = tally_services::platform::db::Database::connect(&format!(
        "sqlite://{}?mode=rwc",
        file.display()
    ))
    .await
    .unwrap();
    sqlx::query("CREATE TABLE tally_instance (x TEXT)")
        .execute(db.pool())
        .await
        .unwrap();
    db.close().await;

    let url = format!("sqlite://{}", file.display());
    let out = start(&[("DATABASE_URL", &url)]);
    assert!(!out.status.success());
    let line = one_line_of_stderr(&out);
    assert!(
        line.starts_with("tally: cannot start: database: migration failed"),
        "{line}"
    );
}

#[test]
fn a_bad_setting_names_the_variable() {
    let out = start(&[("TALLY_LOG_FORMAT", "xml")]);
    assert!(!out.status.success());
    let line = one_line_of_stderr(&out);
    assert!(line.contains("TALLY_LOG_FORMAT"), "{line}");
}

#[test]
fn smtp_in_clear_text_stops_the_start_unless_asked_for() {
    for url in [
        "smtp://mailer:hunter2@mail.example.com:587",
        "smtp://mail.example.com:25",
        "smtp://mailer:hunter2@127.0.0.1:25",
    ] {
        let out = start(&[("TALLY_SMTP_URL", url)]);
        assert!(!out.status.success(), "{url}");
        let line = one_line_of_stderr(&out);
        assert!(
            line.contains("TALLY_SMTP_URL") && line.contains("clear text"),
            "{line}"
        );
        assert!(!line.contains("hunter2"), "the password is hidden: {line}");
    }
}

#[test]
fn a_public_address_in_plain_http_stops_the_start_unless_asked_for() {
    let out = start(&[("TALLY_PUBLIC_URL", "http://tally.example.com")]);
    assert!(!out.status.success());
    let line = one_line_of_stderr(&out);
    assert!(
        line.contains("TALLY_PUBLIC_URL") && line.contains("TALLY_ALLOW_HTTP"),
        "{line}"
    );
}

#[tokio::test]
async fn demo_mode_seeds_an_administrator_of_every_role_who_can_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/demo.db?mode=rwc", dir.path().display());
    let db = tally_services::platform::db::Database::connect(&url)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let services = services_on(&db, dir.path(), &url).await;
    let logins = tally_server::cli::demo::seed(&services)
        .await
        .unwrap()
        .expect("seeded");
    assert_eq!(logins.admins.len(), 7);
    // Only on an empty database.
    assert!(tally_server::cli::demo::seed(&services)
        .await
        .unwrap()
        .is_none());
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM admins WHERE role = 'admin_billing'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert!(tally_services::platform::crypto::verify_password(
        &logins.password,
        &hash
    ));
    assert!(
        tally_core::password::strength(&logins.password, &[])
            .verdict
            .is_ok(),
        "the demo password passes the rule"
    );
}

/// The services of a server on `db`, with its data folder `data` (the machine's clock).
async fn services_on(
    db: &tally_services::platform::db::Database,
    data: &std::path::Path,
    url: &str,
) -> tally_services::Services {
    use tally_services::platform::{
        clock::SystemClock, config::Settings, context::Context, mail::Mailer, secrets,
    };
    let data_dir = data.display().to_string();
    let settings = Settings::from_lookup(|k| match k {
        "TALLY_DATA_DIR" => Some(data_dir.clone()),
        "DATABASE_URL" => Some(url.to_string()),
        _ => None,
    })
    .unwrap();
    let keys = secrets::load_for(&settings, db).await.unwrap();
    let mailer = Mailer::outbox(data.join("outbox"), &settings.mail_from).unwrap();
    let ctx = Context::build(
        settings,
        db.clone(),
        std::sync::Arc::new(SystemClock),
        mailer,
        keys,
    );
    tally_services::Services::new(ctx)
}

/// Issue 30: the data folder is the owner's alone. A folder left open by an older start (and
/// a message in it) is closed at start; everything the server then writes — the database and
/// its journal, the outbox's messages, the set-up code, the daily backup in a folder of its
/// own (`TALLY_BACKUP_DIR`) — is `0600` in `0700` folders, whatever the umask it was started
/// with.
#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_and_everything_in_it_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let backups = root.path().join("elsewhere").join("backups");
    std::fs::create_dir_all(data.join("outbox")).unwrap();
    std::fs::write(data.join("outbox").join("old.eml"), b"From: old").unwrap();
    for (p, m) in [
        (&data, 0o755),
        (&data.join("outbox"), 0o775),
        (&data.join("outbox").join("old.eml"), 0o644),
    ] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TALLY_ADDR", format!("127.0.0.1:{port}"))
        .env("TALLY_PUBLIC_URL", &base)
        .env("TALLY_DATA_DIR", &data)
        .env("TALLY_BACKUP_DIR", &backups)
        .env("TALLY_DEMO", "1")
        .env("LEPTOS_SITE_ROOT", crate::helpers::site_root())
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start tally");
    struct Stop<'a>(&'a mut std::process::Child);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _stop = Stop(&mut child);
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    while client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the server starts"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A message for the outbox: a reset link for one of the demo administrators.
    let res = client
        .post(format!("{base}/api/account/request-reset"))
        .header("Origin", &base)
        .form(&[("email", "admin-billing@demo.tally.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let wait_for = |dir: std::path::PathBuf, what: &'static str| async move {
        let started = std::time::Instant::now();
        loop {
            let found: Vec<_> = std::fs::read_dir(&dir)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| !p.ends_with("old.eml"))
                        // A message is written under a hidden temporary name, then renamed:
                        // wait for the message itself.
                        .filter(|p| {
                            p.file_name()
                                .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
                        })
                        // A backup is written under a temporary name, then renamed: wait
                        // for the finished file, not the one about to disappear.
                        .filter(|p| p.extension().is_none_or(|e| e != "partial"))
                        .collect()
                })
                .unwrap_or_default();
            if !found.is_empty() {
                return found;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "{what} is written"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let messages = wait_for(data.join("outbox"), "the reset email").await;
    let daily = wait_for(backups.clone(), "the daily backup").await;
    assert!(
        !data.join("backups").exists(),
        "the backups went to TALLY_BACKUP_DIR"
    );
    for dir in [&data, &data.join("outbox"), &backups] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    assert!(files.iter().any(|p| p.ends_with("tally.db")), "{files:?}");
    for file in &files {
        // SQLite removes its `-wal` and `-shm` files when its last connection closes, so one
        // listed a moment ago may be gone: a file that is no longer there holds nothing.
        let Ok(meta) = std::fs::metadata(file) else {
            assert!(!file.ends_with("tally.db"), "the database is there");
            continue;
        };
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "{}",
            file.display()
        );
    }
    let old = data.join("outbox").join("old.eml");
    for file in messages.iter().chain(&daily).chain([&old]) {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
}
