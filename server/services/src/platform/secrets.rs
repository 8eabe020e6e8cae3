//! The server's secret key, and the keys it protects.
//!
//! The secret key comes from `TALLY_SECRET_KEY` or, when that is unset, from the file
//! `<data dir>/secret.key` (created on first start, readable by its owner only). It never
//! enters the database. What the database keeps is encrypted under it: the key of the card
//! fingerprints (a keyed hash of a card's number, docs/data-protection.md), so a copy of the database alone
//! cannot be used to test guesses of card numbers against the fingerprints (PCI DSS 3.5.1,
//! 3.6.1.2: a data-encrypting key stored encrypted with a key-encrypting key kept apart).
//!
//! A database that has keys but no secret key to open them does not start; neither does one
//! opened with the wrong key. `tally rotate-secret` encrypts everything again under a new key.

use std::path::{Path, PathBuf};

use base64::Engine;
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use hmac::{Hmac, Mac};
use rand::{rngs::OsRng, RngCore};
use sha2::Sha256;

use super::{config::Settings, db::Database};

/// The name of the key file in the data folder.
pub const KEY_FILE: &str = "secret.key";

/// The `server_secrets` row of the fingerprint key, encrypted under the secret key.
const WRAPPED_FINGERPRINT_KEY: &str = "card_fingerprint_key_wrapped";
/// The `server_secrets` row of the data key, encrypted under the secret key: the key other
/// secrets the database keeps (authenticator apps') are encrypted with.
const WRAPPED_DATA_KEY: &str = "data_key_wrapped";
/// Where earlier versions kept the fingerprint key in plain text; moved out at start.
const LEGACY_FINGERPRINT_KEY: &str = "card_fingerprint_key";

/// Why the keys could not be loaded; each message is one line naming what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("TALLY_SECRET_KEY is not a secret key: use 43 base64url characters or 64 hex digits (32 random bytes), e.g. from `openssl rand -hex 32`")]
    Malformed,
    #[error("{0} does not hold a secret key (32 bytes as base64url or hex)")]
    MalformedFile(String),
    #[error("the secret key is missing: this database's keys are encrypted with one; set TALLY_SECRET_KEY or restore {0}")]
    Missing(String),
    #[error("the secret key does not open this database's keys: it is not the key this database was set up with")]
    Wrong,
    #[error("cannot read or write the key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// 32 secret bytes. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(•••)")
    }
}

impl SecretKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        OsRng.fill_bytes(&mut k);
        Self(k)
    }

    /// Reads a key written as 43 base64url characters (padding allowed) or 64 hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let bytes = if text.len() == 64 {
            hex::decode(text).ok()?
        } else {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .ok()?
        };
        Some(Self(bytes.try_into().ok()?))
    }

    /// The key as written to the key file and to `TALLY_SECRET_KEY`.
    pub fn to_text(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// `data` encrypted under this key for the row `row` (its table and id, e.g.
    /// `admin_totp/<admin id>`), with a random nonce in front, as `b1.` and base64url. The row
    /// is the associated data: a sealed value copied into another row does not open there.
    pub fn seal_for(&self, row: &str, data: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: data,
                    aad: row.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any length we use");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!(
            "{BOUND}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
        )
    }

    /// What [`Self::seal_for`] sealed for `row`, if this key sealed it for that row and
    /// nothing changed it since. A value sealed before values were bound to their rows does
    /// not open here ([`Self::open_unbound`] is for moving those).
    pub fn open_for(&self, row: &str, sealed: &str) -> Option<Vec<u8>> {
        let (nonce, data) = nonce_and_data(sealed.strip_prefix(BOUND)?)?;
        self.cipher()
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &data,
                    aad: row.as_bytes(),
                },
            )
            .ok()
    }

    /// A value sealed by an earlier version, bound to no row; `None` for a bound one. Only to
    /// seal it again for its row ([`is_bound`]).
    pub fn open_unbound(&self, sealed: &str) -> Option<Vec<u8>> {
        if is_bound(sealed) {
            return None;
        }
        let (nonce, data) = nonce_and_data(sealed)?;
        self.cipher()
            .decrypt(XNonce::from_slice(&nonce), data.as_slice())
            .ok()
    }

    /// How an earlier version sealed: no row bound. For tests of the move to bound values.
    #[doc(hidden)]
    pub fn seal_unbound(&self, data: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), data)
            .expect("XChaCha20-Poly1305 encrypts any length we use");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
    }
}

/// The prefix of a value sealed for its row.
const BOUND: &str = "b1.";

/// Whether `sealed` is bound to its row (sealed by [`SecretKey::seal_for`]).
pub fn is_bound(sealed: &str) -> bool {
    sealed.starts_with(BOUND)
}

/// The nonce and the ciphertext of a sealed value's base64url.
fn nonce_and_data(text: &str) -> Option<([u8; 24], Vec<u8>)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    if bytes.len() < 24 {
        return None;
    }
    let (nonce, data) = bytes.split_at(24);
    Some((nonce.try_into().ok()?, data.to_vec()))
}

/// The row a `server_secrets` value is sealed for.
fn secrets_row(name: &str) -> String {
    format!("server_secrets/{name}")
}

/// The keys the server works with once started.
#[derive(Clone)]
pub struct Keys {
    secret: SecretKey,
    fingerprint: Vec<u8>,
    data: SecretKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(•••)")
    }
}

impl Keys {
    /// The data key, to encrypt the secrets the database keeps with (a key of its own, itself
    /// sealed under the secret key, so rotating the secret key leaves them as they are).
    pub fn data(&self) -> &SecretKey {
        &self.data
    }

    /// The keyed fingerprint of a card number: HMAC-SHA-256 under the fingerprint key, hex.
    pub fn card_fingerprint(&self, digits: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.fingerprint)
            .expect("HMAC takes a key of any length");
        mac.update(digits.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Where the secret key comes from, as configured.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// `TALLY_SECRET_KEY`.
    Environment(SecretKey),
    /// The key file in the data folder (created on first start if missing).
    File(PathBuf),
}

impl KeySource {
    /// `TALLY_SECRET_KEY` when set (malformed stops the start), else the data folder's file.
    pub fn from_settings(env_key: Option<&str>, data_dir: &Path) -> Result<Self, KeyError> {
        match env_key {
            Some(text) => SecretKey::parse(text)
                .map(Self::Environment)
                .ok_or(KeyError::Malformed),
            None => Ok(Self::File(data_dir.join(KEY_FILE))),
        }
    }

    /// The key, if there is one.
    fn read(&self) -> Result<Option<SecretKey>, KeyError> {
        match self {
            Self::Environment(key) => Ok(Some(key.clone())),
            Self::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => SecretKey::parse(&text)
                    .map(Some)
                    .ok_or_else(|| KeyError::MalformedFile(path.display().to_string())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(KeyError::File {
                    path: path.display().to_string(),
                    source,
                }),
            },
        }
    }

    /// Whether there is a key to read (and it is well-formed).
    pub fn exists(&self) -> Result<bool, KeyError> {
        self.read().map(|k| k.is_some())
    }

    /// Where the key comes from, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Environment(_) => "TALLY_SECRET_KEY".into(),
            Self::File(path) => path.display().to_string(),
        }
    }
}

/// Writes `key` to `path`, readable and writable by its owner only, without replacing a file
/// that exists (two servers starting at once on one data folder keep the first's key).
pub fn write_key_file(path: &Path, key: &SecretKey) -> Result<(), KeyError> {
    use std::io::Write;
    let error = |source| KeyError::File {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(error)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(error)?;
    file.write_all(format!("{}\n", key.to_text()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(error)
}

async fn secret_row(db: &Database, name: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
        .bind(name)
        .fetch_optional(db.pool())
        .await
}

/// The row of the set-up code's hash, while the server waits to be set up.
const SETUP_CODE_HASH: &str = "setup_code_hash";

/// The hash of the set-up code the database expects, while set-up is to come.
pub async fn setup_code_hash(db: &Database) -> Result<Option<String>, sqlx::Error> {
    secret_row(db, SETUP_CODE_HASH).await
}

/// Keeps `hash` as the set-up code's, replacing any other.
pub async fn set_setup_code_hash(db: &Database, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO server_secrets (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(SETUP_CODE_HASH)
    .bind(hash)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Uses the set-up code up, in `conn` (the set-up's own transaction).
pub async fn forget_setup_code(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM server_secrets WHERE name = $1")
        .bind(SETUP_CODE_HASH)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many sealed secrets (and other server rows) the database keeps: `tally check` asks
/// whether a secret key is needed to open it.
pub async fn stored_count(db: &Database) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM server_secrets")
        .fetch_one(db.pool())
        .await
}

/// Loads the secret key and opens the keys the database keeps under it; on a new database,
/// makes them. An earlier version's plain fingerprint key is encrypted and its plain copy
/// deleted. Stops (an error) when the database has keys and the secret key is missing or is
/// not the one they were sealed with.
pub async fn load(source: &KeySource, db: &Database) -> Result<Keys, KeyError> {
    let wrapped = secret_row(db, WRAPPED_FINGERPRINT_KEY).await?;
    let secret = match (source.read()?, &wrapped, source) {
        (Some(key), _, _) => key,
        (None, Some(_), _) => return Err(KeyError::Missing(source.describe())),
        (None, None, KeySource::File(path)) => {
            let key = SecretKey::generate();
            match write_key_file(path, &key) {
                Ok(()) => key,
                // Another server on this data folder made it first: use theirs.
                Err(KeyError::File { source: e, .. })
                    if e.kind() == std::io::ErrorKind::AlreadyExists =>
                {
                    source.read()?.ok_or(KeyError::Missing(source.describe()))?
                }
                Err(e) => return Err(e),
            }
        }
        (None, None, KeySource::Environment(_)) => unreachable!("an environment key is read"),
    };
    let (secret, fingerprint) = match wrapped {
        Some(sealed) => match (open_row(&secret, WRAPPED_FINGERPRINT_KEY, &sealed), source) {
            (Some(key), _) => (secret, key),
            // A rotation that stopped between sealing under the new key and replacing the
            // file left the new key beside the old one: finish it.
            (None, KeySource::File(path)) => {
                let next = path.with_extension("key.new");
                let newer = std::fs::read_to_string(&next)
                    .ok()
                    .and_then(|t| SecretKey::parse(&t))
                    .ok_or(KeyError::Wrong)?;
                let key =
                    open_row(&newer, WRAPPED_FINGERPRINT_KEY, &sealed).ok_or(KeyError::Wrong)?;
                std::fs::rename(&next, path).map_err(|source| KeyError::File {
                    path: path.display().to_string(),
                    source,
                })?;
                (newer, key)
            }
            (None, KeySource::Environment(_)) => return Err(KeyError::Wrong),
        },
        None => {
            let legacy = secret_row(db, LEGACY_FINGERPRINT_KEY).await?;
            let key = match legacy {
                Some(plain) => plain.into_bytes(),
                None => {
                    let mut k = vec![0u8; 32];
                    OsRng.fill_bytes(&mut k);
                    k
                }
            };
            let mut tx = db.pool().begin().await?;
            sqlx::query(
                "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            )
            .bind(WRAPPED_FINGERPRINT_KEY)
            .bind(secret.seal_for(&secrets_row(WRAPPED_FINGERPRINT_KEY), &key))
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM server_secrets WHERE name = $1")
                .bind(LEGACY_FINGERPRINT_KEY)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            // Another server may have sealed its own first: the stored one is the one.
            let stored = secret_row(db, WRAPPED_FINGERPRINT_KEY)
                .await?
                .ok_or(KeyError::Wrong)?;
            let key = open_row(&secret, WRAPPED_FINGERPRINT_KEY, &stored).ok_or(KeyError::Wrong)?;
            (secret, key)
        }
    };
    let data = wrapped_key(db, &secret, WRAPPED_DATA_KEY).await?;
    bind_rows(db, &secret).await?;
    Ok(Keys {
        secret,
        fingerprint,
        data,
    })
}

/// What the `server_secrets` row `name` holds sealed under `secret`: bound to the row, or
/// (sealed by an earlier version) not yet.
fn open_row(secret: &SecretKey, name: &str, sealed: &str) -> Option<Vec<u8>> {
    secret
        .open_for(&secrets_row(name), sealed)
        .or_else(|| secret.open_unbound(sealed))
}

/// Seals again, each for its row, the keys an earlier version sealed bound to no row; a row
/// another server already moved is left as it is.
async fn bind_rows(db: &Database, secret: &SecretKey) -> Result<(), KeyError> {
    for name in [WRAPPED_FINGERPRINT_KEY, WRAPPED_DATA_KEY] {
        let Some(stored) = secret_row(db, name).await? else {
            continue;
        };
        if is_bound(&stored) {
            continue;
        }
        let plain = secret.open_unbound(&stored).ok_or(KeyError::Wrong)?;
        sqlx::query("UPDATE server_secrets SET value = $1 WHERE name = $2 AND value = $3")
            .bind(secret.seal_for(&secrets_row(name), &plain))
            .bind(name)
            .bind(&stored)
            .execute(db.pool())
            .await?;
    }
    Ok(())
}

/// A new data key, sealed under the current secret key in `conn` (the rotation's
/// transaction, which seals again what the old one sealed): `tally rotate-secret --data-key`.
pub async fn replace_data_key(
    conn: &mut sqlx::AnyConnection,
    current: &Keys,
) -> Result<SecretKey, KeyError> {
    let new = SecretKey::generate();
    sqlx::query("UPDATE server_secrets SET value = $1 WHERE name = $2")
        .bind(
            current
                .secret
                .seal_for(&secrets_row(WRAPPED_DATA_KEY), &new.0),
        )
        .bind(WRAPPED_DATA_KEY)
        .execute(conn)
        .await?;
    Ok(new)
}

/// The key sealed in the row `name`, made (and sealed) on first use; the first server to seal
/// one wins when several start at once.
async fn wrapped_key(db: &Database, secret: &SecretKey, name: &str) -> Result<SecretKey, KeyError> {
    if secret_row(db, name).await?.is_none() {
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(secret.seal_for(&secrets_row(name), &SecretKey::generate().0))
        .execute(db.pool())
        .await?;
    }
    let stored = secret_row(db, name).await?.ok_or(KeyError::Wrong)?;
    let bytes = open_row(secret, name, &stored).ok_or(KeyError::Wrong)?;
    Ok(SecretKey(bytes.try_into().map_err(|_| KeyError::Wrong)?))
}

/// The keys as the settings say: `TALLY_SECRET_KEY`, or the data folder's key file.
pub async fn load_for(settings: &Settings, db: &Database) -> Result<Keys, KeyError> {
    let source = KeySource::from_settings(settings.secret_key.as_deref(), &settings.data_dir)?;
    load(&source, db).await
}

/// What `tally rotate-secret` did.
#[derive(Debug)]
pub enum Rotated {
    /// The key file now holds the new key.
    File { path: PathBuf, sealed: u64 },
    /// `TALLY_SECRET_KEY` must now be set to this key.
    Environment { new_key: SecretKey, sealed: u64 },
}

/// Rotates the configured secret key: a new one, the database's keys sealed again under it,
/// and the key file replaced (or the new key returned, when it comes from the environment).
///
/// Card fingerprints are keyed hashes of card numbers, which Tally never keeps: they cannot
/// be computed again under a new key. What is rotated is the key that protects the
/// fingerprint key (and every other secret the database keeps sealed), which is what a
/// leaked secret key would expose.
pub async fn rotate_configured(settings: &Settings, db: &Database) -> Result<Rotated, KeyError> {
    let source = KeySource::from_settings(settings.secret_key.as_deref(), &settings.data_dir)?;
    let current = load(&source, db).await?;
    let new = SecretKey::generate();
    match &source {
        KeySource::File(path) => {
            // The new key is on disk before the database needs it; the old one stays beside
            // it until the database has switched, so a crash in between loses neither.
            let next = path.with_extension("key.new");
            let _ = std::fs::remove_file(&next);
            write_key_file(&next, &new)?;
            let sealed = rotate(db, &current, &new).await?;
            std::fs::rename(&next, path).map_err(|source| KeyError::File {
                path: path.display().to_string(),
                source,
            })?;
            Ok(Rotated::File {
                path: path.clone(),
                sealed,
            })
        }
        KeySource::Environment(_) => {
            let sealed = rotate(db, &current, &new).await?;
            Ok(Rotated::Environment {
                new_key: new,
                sealed,
            })
        }
    }
}

/// Opens the database's keys (the fingerprint key and the data key) with the current secret
/// key and seals them again under `new`, in one transaction; returns how many were sealed
/// again. What the data key seals (authenticator apps' secrets) is untouched, so servers still
/// running with the old secret key keep working until they restart.
pub async fn rotate(db: &Database, current: &Keys, new: &SecretKey) -> Result<u64, KeyError> {
    let mut tx = db.pool().begin().await?;
    let sealed: Vec<(String, String)> =
        sqlx::query_as("SELECT name, value FROM server_secrets WHERE name IN ($1, $2)")
            .bind(WRAPPED_FINGERPRINT_KEY)
            .bind(WRAPPED_DATA_KEY)
            .fetch_all(&mut *tx)
            .await?;
    let mut n = 0;
    for (name, value) in sealed {
        let plain = open_row(&current.secret, &name, &value).ok_or(KeyError::Wrong)?;
        sqlx::query("UPDATE server_secrets SET value = $1 WHERE name = $2")
            .bind(new.seal_for(&secrets_row(&name), &plain))
            .bind(&name)
            .execute(&mut *tx)
            .await?;
        n += 1;
    }
    tx.commit().await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_as_written_and_malformed_ones_are_refused() {
        let k = SecretKey::generate();
        assert_eq!(SecretKey::parse(&k.to_text()), Some(k.clone()));
        assert_eq!(
            SecretKey::parse(&format!("{}=\n", k.to_text())),
            Some(k.clone())
        );
        assert!(SecretKey::parse(&"ab".repeat(32)).is_some());
        assert!(SecretKey::parse("short").is_none());
        assert!(SecretKey::parse(&"zz".repeat(32)).is_none());
        assert_eq!(format!("{k:?}"), "SecretKey(•••)");
    }

    #[test]
    fn sealed_data_opens_only_with_its_key_for_its_row_and_unchanged() {
        let (a, b) = (SecretKey::generate(), SecretKey::generate());
        let row = "admin_totp/ann";
        let sealed = a.seal_for(row, b"fingerprint key");
        assert_eq!(
            a.open_for(row, &sealed).as_deref(),
            Some(&b"fingerprint key"[..])
        );
        assert_eq!(b.open_for(row, &sealed), None);
        // Copied into another row, it does not open there.
        assert_eq!(a.open_for("admin_totp/bob", &sealed), None);
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(a.open_for(row, &String::from_utf8(tampered).unwrap()), None);
        assert_ne!(
            a.seal_for(row, b"x"),
            a.seal_for(row, b"x"),
            "a fresh nonce every time"
        );
        // An earlier version's value opens only to be sealed again; never as a bound one.
        let old = a.seal_unbound(b"x");
        assert!(!is_bound(&old) && is_bound(&sealed));
        assert_eq!(a.open_for(row, &old), None);
        assert_eq!(a.open_unbound(&old).as_deref(), Some(&b"x"[..]));
        assert_eq!(a.open_unbound(&sealed), None);
    }
}
