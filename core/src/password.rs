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

/// The whole rule: length, then zxcvbn with the person's own details as known words.
#[cfg(feature = "strength")]
pub fn strength(password: &str, user_inputs: &[&str]) -> Strength {
    if let Err(e) = check_length(password) {
        let score = if e == PasswordError::TooLong { 4 } else { 0 };
        return Strength {
            score,
            verdict: Err(e),
        };
    }
    let entropy = zxcvbn::zxcvbn(password, user_inputs);
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
}
