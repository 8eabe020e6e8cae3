//! The secret key: made on first start in a 0600 file outside the database, required to start
//! on a database whose keys it sealed, taken from TALLY_SECRET_KEY when set, rotated by
//! `tally rotate-secret`; an earlier version's plain key in the database is moved out.

use std::process::Command;

use tally_services::platform::{
    db::Database,
    secrets::{self, KeyError, KeySource, SecretKey, KEY_FILE},
};

use crate::both_databases;

/// The plain fingerprint key an earlier version kept, if any, and the sealed one.
async fn stored(db: &Database) -> (Option<String>, Option<String>) {
    let get = |name: &'static str| async move {
        sqlx::query_scalar::<_, String>("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(db.pool())
            .await
            .unwrap()
    };
    (
        get("card_fingerprint_key").await,
        get("card_fingerprint_key_wrapped").await,
    )
}

both_databases! {
    async fn the_first_start_makes_a_private_key_file_and_seals_the_fingerprint_key(app: TestApp) {
        // The harness started the app on its data folder: the key file is there, 0600.
        let dir = app.outbox.parent().unwrap().to_path_buf();
        let file = dir.join(KEY_FILE);
        let text = std::fs::read_to_string(&file).expect("the key file");
        assert!(SecretKey::parse(&text).is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // The database keeps the fingerprint key sealed, never in the clear, and never the
        // secret key.
        let (plain, sealed) = stored(&app.db).await;
        assert_eq!(plain, None);
        let sealed = sealed.expect("a sealed fingerprint key");
        assert!(!sealed.contains(text.trim()));
        // The same key opens it again; another key, or none, does not: the start stops.
        let source = KeySource::File(file.clone());
        let first = secrets::load(&source, &app.db).await.unwrap();
        let again = secrets::load(&source, &app.db).await.unwrap();
        assert_eq!(first.card_fingerprint("4242424242424242"), again.card_fingerprint("4242424242424242")); // test number
        let other = KeySource::Environment(SecretKey::generate());
        assert!(matches!(secrets::load(&other, &app.db).await, Err(KeyError::Wrong)));
        // A missing file on a database with keys is not made anew (that would lose them).
        let missing = dir.join("elsewhere").join(KEY_FILE);
        assert!(matches!(secrets::load(&KeySource::File(missing.clone()), &app.db).await, Err(KeyError::Missing(_))));
        assert!(!missing.exists());
    }

    async fn an_earlier_plain_key_moves_out_of_the_database_and_keeps_its_fingerprints(app: TestApp) {
        // A database as an earlier version left it: a plain fingerprint key, no sealed one.
        sqlx::query("DELETE FROM server_secrets").execute(app.db.pool()).await.unwrap();
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES ('card_fingerprint_key', 'an old plain key')")
            .execute(app.db.pool()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let source = KeySource::File(dir.path().join(KEY_FILE));
        let keys = secrets::load(&source, &app.db).await.unwrap();
        let (plain, sealed) = stored(&app.db).await;
        assert_eq!(plain, None, "the plain key is gone from the database");
        assert!(sealed.is_some());
        // Fingerprints made with the old key still match: HMAC-SHA-256 under it.
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(b"an old plain key").unwrap();
        mac.update(b"4242424242424242"); // test number
        assert_eq!(keys.card_fingerprint("4242424242424242"), hex::encode(mac.finalize().into_bytes())); // test number
    }

    async fn rotating_seals_the_keys_under_a_new_secret_and_the_old_one_no_longer_opens_them(app: TestApp) {
        let dir = app.outbox.parent().unwrap().to_path_buf();
        let file = dir.join(KEY_FILE);
        let source = KeySource::File(file.clone());
        let before = secrets::load(&source, &app.db).await.unwrap();
        let old_text = std::fs::read_to_string(&file).unwrap();
        let settings = tally_services::platform::config::Settings::from_lookup(|k| match k {
            "TALLY_DATA_DIR" => Some(dir.display().to_string()),
            "DATABASE_URL" => Some(app.database_url.clone()),
            _ => None,
        }).unwrap();
        let rotated = secrets::rotate_configured(&settings, &app.db).await.unwrap();
        assert!(matches!(rotated, secrets::Rotated::File { sealed: 2, .. }), "the fingerprint and data keys: {rotated:?}");
        let new_text = std::fs::read_to_string(&file).unwrap();
        assert_ne!(old_text, new_text);
        assert!(!dir.join("secret.key.new").exists());
        let after = secrets::load(&source, &app.db).await.unwrap();
        assert_eq!(
            before.card_fingerprint("4242424242424242"), // test number
            after.card_fingerprint("4242424242424242"),  // test number
            "fingerprints stay comparable across a rotation"
        );
        // What the data key sealed before (authenticator secrets) opens after, unchanged.
        let sealed_before = before.data().seal_for("admin_totp/x", b"an authenticator secret");
        assert_eq!(after.data().open_for("admin_totp/x", &sealed_before).as_deref(), Some(&b"an authenticator secret"[..]));
        let old = KeySource::Environment(SecretKey::parse(&old_text).unwrap());
        assert!(matches!(secrets::load(&old, &app.db).await, Err(KeyError::Wrong)));
        // With TALLY_SECRET_KEY, the new key is handed to the operator.
        let env_settings = tally_services::platform::config::Settings::from_lookup(|k| match k {
            "TALLY_DATA_DIR" => Some(dir.display().to_string()),
            "DATABASE_URL" => Some(app.database_url.clone()),
            "TALLY_SECRET_KEY" => Some(new_text.trim().to_string()),
            _ => None,
        }).unwrap();
        match secrets::rotate_configured(&env_settings, &app.db).await.unwrap() {
            secrets::Rotated::Environment { new_key, .. } => {
                let keys = secrets::load(&KeySource::Environment(new_key), &app.db).await.unwrap();
                assert_eq!(keys.card_fingerprint("4242424242424242"), before.card_fingerprint("4242424242424242")); // test number
            }
            other => panic!("{other:?}"),
        }
    }
}

fn start(data: &std::path::Path, env: &[(&str, &str)]) -> std::process::Output {
    // A port already taken: the server stops after loading its keys, when it cannot listen.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TALLY_ADDR", taken.local_addr().unwrap().to_string())
        .env("TALLY_DATA_DIR", data)
        .env("RUST_LOG", "off");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run the tally binary")
}

#[test]
fn a_missing_wrong_or_malformed_key_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The first start makes the key and seals the database's keys (then cannot listen).
    let first = start(&data, &[]);
    let first_err = String::from_utf8_lossy(&first.stderr);
    assert!(first_err.contains("cannot listen"), "{first_err}");
    let key_file = data.join(KEY_FILE);
    assert!(key_file.exists());
    // Without the key file, the database's keys cannot be opened: the start stops.
    std::fs::rename(&key_file, dir.path().join("kept.key")).unwrap();
    let out = start(&data, &[]);
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(!out.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("the secret key is missing") && err.contains("TALLY_SECRET_KEY"),
        "{err}"
    );
    assert!(
        !key_file.exists(),
        "no new key is made for a database that has keys"
    );
    // Another key: refused.
    let other = SecretKey::generate().to_text();
    let out = start(&data, &[("TALLY_SECRET_KEY", &other)]);
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("does not open this database"), "{err}");
    // Not a key at all: refused, naming the variable and never printing it.
    let out = start(&data, &[("TALLY_SECRET_KEY", "hunter2")]);
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("TALLY_SECRET_KEY") && !err.contains("hunter2"),
        "{err}"
    );
    // The right key in the environment opens it.
    let kept = std::fs::read_to_string(dir.path().join("kept.key")).unwrap();
    let out = start(&data, &[("TALLY_SECRET_KEY", kept.trim())]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen"), "{err}");
}
