//! Password rules (docs/validation.md): 12 to 128 characters, no composition rules, and not weak — a
//! zxcvbn score of at least 3, taking the person's own name and email into account.

use std::fmt;

use serde::{Deserialize, Serialize};

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;
/// zxcvbn scores run 0 (guessable) to 4; below this a password is refused.
pub const MIN_STRENGTH_SCORE: u8 = 3;

/// Why a new password is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasswordError {
    TooShort,
    TooLong,
    /// Guessable; carries zxcvbn's advice when it has some.
    Weak(Option<String>),
}

impl fmt::Display for PasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => write!(f, "Use at least {MIN_PASSWORD_CHARS} characters."),
            Self::TooLong => write!(f, "Use at most {MAX_PASSWORD_CHARS} characters."),
            Self::Weak(None) => {
                f.write_str("This password is too easy to guess. Try a few unrelated words.")
            }
            Self::Weak(Some(tip)) => write!(f, "This password is too easy to guess. {tip}"),
        }
    }
}

/// The length rule alone; cheap enough to run on every keystroke in the browser.
pub fn check_length(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        Err(PasswordError::TooShort)
    } else if n > MAX_PASSWORD_CHARS {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// How strong a password is, for the meter and the rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strength {
    /// 0 (guessable) to 4 (very unguessable).
    pub score: u8,
    /// `Ok` when the password may be used.
    pub verdict: Result<(), PasswordError>,
}

impl Strength {
    /// A word for the meter.
    pub fn label(&self) -> &'static str {
        match self.score {
            0 | 1 => "Weak",
            2 => "Fair",
            3 => "Good",
            _ => "Strong",
        }
    }
}

/// The characters zxcvbn looks at. Its cost grows steeply with length (a crafted 128
/// characters of l33t substitutions took 300 ms of a core, with long known words 360 ms); no
/// password's strength depends on what comes after its 64th character, so only those are
/// scored — a password is strong when its first 64 characters are, and the rest only count
/// toward the length limit.
pub const SCORED_CHARS: usize = 64;
/// The known words (the person's name and email) zxcvbn takes into account, and the
/// characters kept of each: no name or address is longer, and longer ones only cost time.
pub const KNOWN_WORDS: usize = 8;
pub const KNOWN_WORD_CHARS: usize = 64;

/// The first `n` characters of `s` (a prefix on a character boundary).
#[cfg(feature = "strength")]
fn first_chars(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// The whole rule: length, then zxcvbn with the person's own details as known words, on the
/// first [`SCORED_CHARS`] characters.
#[cfg(feature = "strength")]
pub fn strength(password: &str, user_inputs: &[&str]) -> Strength {
    if let Err(e) = check_length(password) {
        let score = if e == PasswordError::TooLong { 4 } else { 0 };
        return Strength {
            score,
            verdict: Err(e),
        };
    }
    let known: Vec<&str> = user_inputs
        .iter()
        .take(KNOWN_WORDS)
        .map(|w| first_chars(w, KNOWN_WORD_CHARS))
        .collect();
    let entropy = zxcvbn::zxcvbn(first_chars(password, SCORED_CHARS), &known);
    let score = u8::from(entropy.score());
    let verdict = if score >= MIN_STRENGTH_SCORE {
        Ok(())
    } else {
        let tip = entropy
            .feedback()
            .and_then(|f| f.suggestions().first().map(|s| s.to_string()));
        Err(PasswordError::Weak(tip))
    };
    Strength { score, verdict }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limits() {
        assert_eq!(check_length("short"), Err(PasswordError::TooShort));
        assert_eq!(check_length(&"x".repeat(12)), Ok(()));
        assert_eq!(check_length(&"x".repeat(129)), Err(PasswordError::TooLong));
        // Characters, not bytes.
        assert_eq!(check_length(&"é".repeat(12)), Ok(()));
    }

    #[cfg(feature = "strength")]
    #[test]
    fn weak_passwords_are_refused_and_good_ones_pass() {
        assert!(matches!(
            strength("password1234", &[]).verdict,
            Err(PasswordError::Weak(_))
        ));
        assert!(strength("annlee@acme.com", &["annlee@acme.com"])
            .verdict
            .is_err());
        assert_eq!(
            strength("correct horse battery staple", &[]).verdict,
            Ok(())
        );
        assert_eq!(strength("short", &[]).verdict, Err(PasswordError::TooShort));
    }

    #[cfg(feature = "strength")]
    #[test]
    fn only_the_first_64_characters_are_scored() {
        // Weak in its first 64 characters: refused, however it goes on.
        let weak_start = format!("{}{}", "password".repeat(8), "x7#Qm!vR2p");
        assert!(strength(&weak_start, &[]).verdict.is_err());
        // A strong start stays strong whatever follows, up to the length limit.
        let strong_start = "correct horse battery staple".to_string();
        let long = format!("{strong_start}{}", "a".repeat(128 - strong_start.len()));
        assert_eq!(long.chars().count(), 128);
        assert_eq!(strength(&long, &[]).verdict, Ok(()));
        assert_eq!(
            strength(&format!("{long}a"), &[]).verdict,
            Err(PasswordError::TooLong)
        );
        // Characters, not bytes: a prefix never splits one.
        assert_eq!(first_chars("ééé", 2), "éé");
        assert_eq!(first_chars("ab", 5), "ab");
    }

    #[cfg(feature = "strength")]
    #[test]
    fn known_words_count_up_to_eight_of_64_characters() {
        let email = "annlee@acme.com";
        assert!(strength(email, &[email]).verdict.is_err());
        // The ninth word is not looked at; a word is cut to its first 64 characters.
        let mut words = vec!["x"; 8];
        words.push(email);
        assert_eq!(
            strength("annlee@acme.com", &words).verdict.is_err(),
            strength("annlee@acme.com", &[]).verdict.is_err()
        );
        let padded = format!("{email}{}", "q".repeat(10_000));
        let candidate = format!("{}Zebra!", &padded[..64]);
        assert_eq!(
            strength(&candidate, &[&padded]),
            strength(&candidate, &[&padded[..64]])
        );
        assert!(
            strength(&candidate, &[&padded]).verdict.is_err(),
            "the word's start still counts"
        );
    }
}
