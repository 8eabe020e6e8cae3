//! Ids, random tokens and their hashes, and password hashing (the hashing itself runs on
//! threads of its own, through `identity::passwords`).

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use base64::Engine;
use rand::{rngs::OsRng, RngCore};
use sha2::{Digest, Sha256};

/// Row ids: UUIDv7 written as 32 hex digits, dated by the injected clock (so a test's clock
/// dates its rows), with `uuid`'s `ContextV7` counter after the time: ids made together sort
/// in the order they were made, even within one millisecond, so a big table's inserts land on
/// the end of its primary-key index and outbox files named by id list in the order the
/// messages were queued. The counter is reseeded at random every millisecond and 32 more
/// random bits follow it: an id in a URL opens nothing by itself. It tells when the row was
/// made, which the row shows anyway.
///
/// One generator per context; cheap to clone (one shared counter).
#[derive(Clone, Default)]
pub struct Ids(std::sync::Arc<std::sync::Mutex<uuid::ContextV7>>);

impl std::fmt::Debug for Ids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ids")
    }
}

impl Ids {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new id made at `at_millis` (UTC). A time earlier than one this generator used
    /// already takes that later time, so its ids only ever increase.
    pub fn new_id(&self, at_millis: i64) -> String {
        let millis = u64::try_from(at_millis).unwrap_or(0);
        let context = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = uuid::Timestamp::from_unix(
            &*context,
            millis / 1000,
            (millis % 1000) as u32 * 1_000_000,
        );
        uuid::Uuid::new_v7(at).simple().to_string()
    }
}

/// A request's id: 16 random lower-case letters (75 bits). Letters only, because it is in
/// every log line of its request: no run of digits in it can be mistaken for, or hide, a
/// number someone typed (the card-data canary looks for those).
pub fn request_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    // 256 = 9 × 26 + 22: values from 234 up would favour some letters; drawn again.
    bytes
        .iter()
        .map(|&b| {
            let mut v = b;
            while v >= 234 {
                v = (OsRng.next_u32() & 0xff) as u8;
            }
            char::from(b'a' + v % 26)
        })
        .collect()
}

/// 32 random bits, 8 hex digits: a short reference (an error's, a file name's).
pub fn short_random() -> String {
    hex::encode(OsRng.next_u32().to_be_bytes())
}

/// A 256-bit random secret for cookies and emailed links (URL-safe base64).
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// `n` random letters and digits (log2 62 ≈ 5.95 bits each): an API key's secret part, which
/// a person copies, so nothing in it needs escaping anywhere.
pub fn random_alphanumeric(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| loop {
            // 256 = 4 × 62 + 8: the 8 values from 248 up would favour some characters.
            let v = (OsRng.next_u32() & 0xff) as usize;
            if v < 248 {
                break char::from(ALPHABET[v % 62]);
            }
        })
        .collect()
}

/// What the database keeps of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// argon2id with the crate's default (OWASP-recommended) parameters.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with valid parameters")
        .to_string()
}

/// Whether `password` matches `hash`; a malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the email is unknown, so that answer takes as long as a
/// wrong password does.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not a password anyone has"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_token());
        assert_eq!(token_hash(&a).len(), 64);
        assert_eq!(Ids::new().new_id(0).len(), 32);
    }

    #[test]
    fn request_ids_are_sixteen_letters_and_differ() {
        let a = request_id();
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_lowercase()), "{a}");
        assert_ne!(a, request_id());
    }

    #[test]
    fn ids_made_in_one_millisecond_sort_in_the_order_they_were_made() {
        let gen = Ids::new();
        let ids: Vec<String> = (0..1000).map(|_| gen.new_id(1_700_000_000_000)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids
            .iter()
            .all(|i| uuid::Uuid::parse_str(i).unwrap().get_version_num() == 7));
    }

    #[test]
    fn ids_sort_by_the_time_given_and_differ_within_a_millisecond() {
        let start = 1_790_000_000_000;
        let gen = Ids::new();
        let ids: Vec<String> = (0..1000).map(|i| gen.new_id(start + i / 10)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        // Ordered by their time prefix; within one millisecond the random part decides.
        assert!(ids.windows(2).all(|w| w[0][..12] <= w[1][..12]));
        sorted.dedup();
        assert_eq!(sorted.len(), 1000);
        // The time is the one given, not the machine's: an id made "in 2020" says so.
        let then = Ids::new().new_id(1_577_836_800_000);
        assert_eq!(&then[..12], "016f5e66e800");
        assert_eq!(short_random().len(), 8);
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
