//! Values in a URL's query string.

/// `value` percent-encoded for a query string: letters, digits, `-_.~` and `/` as they are,
/// every other byte as `%XX`.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reserved_characters_are_encoded() {
        assert_eq!(super::encode("a b&c=d/é"), "a%20b%26c%3Dd/%C3%A9");
    }
}
