//! `tally check`: the configuration with secrets masked, then one line per problem.

use std::process::{Command, Output, Stdio};

use crate::helpers::TestApp;

fn check(envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.arg("check")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "off")
        .stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run tally check")
}

fn out(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_server_passes_and_each_problem_is_one_line() {
    let app = TestApp::spawn(tally_services::platform::db::Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let key = app.secret_key();
    let good = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("TALLY_DATA_DIR", data.as_str()),
        ("TALLY_SECRET_KEY", key.as_str()),
    ];
    let o = check(&good);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("TALLY_SECRET_KEY = (set, hidden)") && !stdout.contains(&key),
        "{stdout}"
    );
    assert!(stdout.contains("ok: database: SQLite answers"), "{stdout}");
    assert!(stdout.contains("ok: migrations: all applied"), "{stdout}");
    assert!(stdout.contains("ok: mail: the outbox folder"), "{stdout}");
    assert!(
        stdout.contains("ok: secret key: TALLY_SECRET_KEY opens the database's sealed keys"),
        "{stdout}"
    );
    assert_eq!(stderr, "");

    // Three problems at once: another key, an SMTP server that is not there, and nothing else.
    let other_key = tally_services::platform::secrets::SecretKey::generate().to_text();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let smtp = format!("smtp://mailer:hunter2@127.0.0.1:{closed}?tls=required");
    let o = check(&[
        ("DATABASE_URL", app.database_url.as_str()),
        ("TALLY_DATA_DIR", data.as_str()),
        ("TALLY_SECRET_KEY", other_key.as_str()),
        ("TALLY_SMTP_URL", smtp.as_str()),
    ]);
    let (stdout, stderr) = out(&o);
    assert!(!o.status.success());
    assert!(
        stdout.contains("TALLY_SMTP_URL = smtp://mailer:***@127.0.0.1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(STARTTLS required)"),
        "the TLS mode in force: {stdout}"
    );
    assert!(
        !stdout.contains("hunter2") && !stderr.contains("hunter2"),
        "{stdout}{stderr}"
    );
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("problem: "))
        .collect();
    assert_eq!(problems.len(), 2, "{stderr}");
    assert!(
        problems.iter().any(|l| l.starts_with("problem: mail:")),
        "{stderr}"
    );
    assert!(
        problems
            .iter()
            .any(|l| l.starts_with("problem: secret key:")),
        "{stderr}"
    );

    // A database that cannot be reached: said once, its password masked.
    let o = check(&[
        ("DATABASE_URL", "postgres://tally:s3cret@127.0.0.1:1/tally"),
        ("TALLY_DATA_DIR", data.as_str()),
    ]);
    let (stdout, stderr) = out(&o);
    assert!(!o.status.success());
    assert!(
        stdout.contains("DATABASE_URL = postgres://tally:***@127.0.0.1:1/tally"),
        "{stdout}"
    );
    assert!(
        stderr.lines().any(|l| l.starts_with("problem: database:")),
        "{stderr}"
    );
    assert!(!format!("{stdout}{stderr}").contains("s3cret"));
}

/// With the Stripe gateway: its keys masked, and the processor tried with the secret key
/// (localstripe, which the test command starts), then a processor that is not there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payment_processor_is_tried_with_its_keys_masked() {
    let app = TestApp::spawn(tally_services::platform::db::Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let key = app.secret_key();
    let stripe = std::env::var("TALLY_TEST_STRIPE_URL")
        .expect("TALLY_TEST_STRIPE_URL (scripts/test.sh starts localstripe)");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = format!("http://127.0.0.1:{closed}");
    for (base, works) in [(stripe.as_str(), true), (unreachable.as_str(), false)] {
        let o = check(&[
            ("DATABASE_URL", app.database_url.as_str()),
            ("TALLY_DATA_DIR", data.as_str()),
            ("TALLY_SECRET_KEY", key.as_str()),
            ("TALLY_GATEWAY", "stripe"),
            ("TALLY_STRIPE_SECRET_KEY", "sk_test_checkme123"),
            ("TALLY_STRIPE_PUBLISHABLE_KEY", "pk_test_checkme123"),
            ("TALLY_STRIPE_WEBHOOK_SECRET", "whsec_checkme123"),
            ("TALLY_STRIPE_API_BASE", base),
        ]);
        let (stdout, stderr) = out(&o);
        assert_eq!(o.status.success(), works, "{stdout}{stderr}");
        assert!(stdout.contains("TALLY_GATEWAY = stripe"), "{stdout}");
        assert!(
            stdout.contains("TALLY_STRIPE_SECRET_KEY = (set, hidden)"),
            "{stdout}"
        );
        assert!(!format!("{stdout}{stderr}").contains("sk_test_checkme123"));
        assert!(!format!("{stdout}{stderr}").contains("whsec_checkme123"));
        if works {
            assert!(
                stdout.contains("ok: payment processor:")
                    && stdout.contains("accepts the secret key"),
                "{stdout}"
            );
        } else {
            assert!(
                stderr
                    .lines()
                    .any(|l| l.starts_with("problem: payment processor:")),
                "{stderr}"
            );
        }
    }
}
