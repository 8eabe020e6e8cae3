//! Where a sign-in may send a person afterwards: a path on this site, nothing else.
//!
//! `next` comes from a query string anyone can craft. A value a browser would read as another
//! origin — `//evil.example`, `/\evil.example`, `/<TAB>/evil.example` (browsers drop tabs and
//! newlines from URLs), a scheme — must never reach a `Location` header, and neither may a
//! character a header cannot hold (which would end the response instead).

use percent_encoding::percent_decode_str;

/// Whether `path` reads as a path on this origin: a `/` not followed by another `/` or a
/// backslash, and only visible ASCII other than the backslash.
fn same_origin_path(path: &str) -> bool {
    let mut bytes = path.bytes();
    bytes.next() == Some(b'/')
        && !matches!(bytes.next(), Some(b'/' | b'\\'))
        && path
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'\\')
}

/// Where the second step of a sign-in is made.
pub const SECOND_STEP_PATH: &str = "/login/two-step";

/// Where a sign-in sends the browser: `next` (when it is a path on this site), by way of the
/// second step's page while that is still to come.
pub fn after_sign_in(next: Option<&str>, second_step: bool) -> String {
    let next = safe_next(next);
    if second_step {
        format!("{SECOND_STEP_PATH}?next={}", query_value(&next))
    } else {
        next
    }
}

/// `value` percent-encoded for a query string: letters, digits, `-_.~` and `/` as they are,
/// every other byte as `%XX`.
pub fn query_value(value: &str) -> String {
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

/// `next` if it is a path on this site, both as given and percent-decoded once; `/` otherwise.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if same_origin_path(path)
                && percent_decode_str(path)
                    .decode_utf8()
                    .is_ok_and(|decoded| same_origin_path(&decoded)) =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_are_encoded() {
        assert_eq!(query_value("a b&c=d/é"), "a%20b%26c%3Dd/%C3%A9");
    }

    #[test]
    fn a_sign_in_with_a_second_step_to_come_goes_there_first() {
        assert_eq!(after_sign_in(Some("/users"), false), "/users");
        assert_eq!(
            after_sign_in(Some("/users?page=2"), true),
            "/login/two-step?next=/users%3Fpage%3D2"
        );
        assert_eq!(after_sign_in(Some("//evil.example"), false), "/");
    }
    use proptest::prelude::*;

    #[test]
    fn paths_on_this_site_are_kept() {
        for p in [
            "/",
            "/users",
            "/billing/invoices/abc?page=2",
            "/audit?actor=a%40b.test",
            "/@x",
        ] {
            assert_eq!(safe_next(Some(p)), p);
        }
    }

    #[test]
    fn anything_another_origin_or_a_header_could_misread_goes_home() {
        for p in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%09/evil.example",
            "https://evil.example",
            "evil.example",
            "javascript:alert(1)",
            "/\u{ff0f}evil.example",
            "/%EF%BC%8Fevil.example",
            "/%FF",
            "",
        ] {
            assert_eq!(safe_next(Some(p)), "/", "{p:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    proptest! {
        /// Whatever comes in, what goes out is a same-origin path a header can hold.
        #[test]
        fn the_answer_is_always_a_plain_path(s in "\\PC*") {
            let next = safe_next(Some(&s));
            prop_assert!(same_origin_path(&next), "{:?} -> {:?}", s, next);
        }
    }
}
