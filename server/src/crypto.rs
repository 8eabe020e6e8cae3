//! Random ids and tokens, their hashes, and password hashing (the hashing itself runs on the
//! blocking pool through [`crate::passwords::Passwords`]).

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use base64::Engine;
use rand::{rngs::OsRng, RngCore};
use sha2::{Digest, Sha256};

/// A UUIDv7 written as 32 hex digits: the time `at_millis` (the injected clock's, so a test's
/// clock dates its rows), then 74 random bits. Not guessable, so an id in a URL opens nothing
/// by itself; it tells when the row was made, which the row shows anyway. Ids of rows written
/// together sort together, so a big table's inserts land on the end of its primary-key index
/// instead of a random page of it. Within one millisecond a process's ids still sort in the
/// order they were made (the random part counts up from the last one), so outbox files named
/// by id list in the order the messages were queued.
pub fn new_id(at_millis: i64) -> String {
    let millis = u64::try_from(at_millis).unwrap_or(0);
    let at = uuid::Timestamp::from_unix(
        uuid::NoContext,
        millis / 1000,
        (millis % 1000) as u32 * 1_000_000,
    );
    let fresh = uuid::Uuid::new_v7(at).as_u128();
    // The last id of each recent millisecond (several clocks may be in use at once: tests').
    // Only within the same millisecond is the order bumped, so each id keeps its own time.
    static LAST: std::sync::Mutex<std::collections::BTreeMap<u64, u128>> =
        std::sync::Mutex::new(std::collections::BTreeMap::new());
    let id = {
        let mut last = LAST
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slot = last.entry(millis).or_insert(0);
        let id = if fresh <= *slot { *slot + 1 } else { fresh };
        *slot = id;
        while last.len() > 256 {
            last.pop_first();
        }
        id
    };
    uuid::Uuid::from_u128(id).simple().to_string()
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
        assert_eq!(new_id(0).len(), 32);
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
        let ids: Vec<String> = (0..1000).map(|_| new_id(1_700_000_000_000)).collect();
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
        let ids: Vec<String> = (0..1000).map(|i| new_id(start + i / 10)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        // Ordered by their time prefix; within one millisecond the random part decides.
        assert!(ids.windows(2).all(|w| w[0][..12] <= w[1][..12]));
        sorted.dedup();
        assert_eq!(sorted.len(), 1000);
        // The time is the one given, not the machine's: an id made "in 2020" says so.
        let then = new_id(1_577_836_800_000);
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
