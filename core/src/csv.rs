//! The Users page's CSV import (docs/pages.md): the whole file is checked before anything is saved;
//! any bad row means nothing is imported, and every bad row is listed with its reason.

use serde::{Deserialize, Serialize};

use crate::forms::{NewUser, NewUserInput};

/// The most rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 10_000;

/// One refused row: its line number in the file (the header is line 1) and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub line: usize,
    pub reason: String,
}

/// Splits CSV text (RFC 4180: commas, double quotes, `""` inside quotes, CRLF or LF) into
/// records, each with the line of the file it starts on (blank lines count, as an editor
/// counts them, and are skipped). Read by the `csv` crate; a quote left open is refused.
pub fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, RowError> {
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        // The reader reads from memory, so its only errors are text that is not UTF-8,
        // which a `&str` cannot hold.
        let Ok(record) = record else { continue };
        let start = record.position().map_or(0, |p| p.byte() as usize);
        // A record's position is where the reader began it, before the line breaks of any
        // blank lines it skipped.
        let start = start
            + text[start..]
                .bytes()
                .take_while(|b| *b == b'\n' || *b == b'\r')
                .count();
        let line = 1 + text.as_bytes()[..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        let fields: Vec<String> = record.iter().map(str::to_string).collect();
        if fields.iter().all(|f| f.trim().is_empty()) && fields.len() == 1 {
            continue;
        }
        out.push((line, fields));
    }
    // Quotes come in pairs in CSV (around a value, and doubled inside one); an odd count means
    // one was opened and never closed, and the reader took the rest of the file as its value.
    if text.bytes().filter(|b| *b == b'"').count() % 2 == 1 {
        return Err(RowError {
            line: out.last().map_or(1, |(line, _)| *line),
            reason: "A quoted value is never closed.".into(),
        });
    }
    Ok(out)
}

fn column_key(header: &str) -> String {
    header
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Reads users from CSV with a header naming `first_name`, `last_name` and `email` (in any
/// order; "First name", "E-mail" and the like work too). All rows with their line numbers,
/// or every problem.
pub fn users_from_csv(text: &str) -> Result<Vec<(usize, NewUser)>, Vec<RowError>> {
    match check_users_csv(text)? {
        (users, errors) if errors.is_empty() => Ok(users),
        (_, errors) => Err(errors),
    }
}

/// The good rows and the bad ones, so a caller can add its own checks (addresses already in
/// the account) and still list every bad row at once. `Err` when the file as a whole is
/// unreadable (no header, no rows, too many rows).
#[allow(clippy::type_complexity)]
pub fn check_users_csv(
    text: &str,
) -> Result<(Vec<(usize, NewUser)>, Vec<RowError>), Vec<RowError>> {
    let rows = records(text).map_err(|e| vec![e])?;
    let Some(((_, header), body)) = rows.split_first() else {
        return Err(vec![RowError {
            line: 1,
            reason: "The file is empty. The first line must name the columns: first_name, last_name, email.".into(),
        }]);
    };
    let find = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.contains(&column_key(h).as_str()))
    };
    let (Some(first), Some(last), Some(email)) = (
        find(&["firstname", "first", "givenname"]),
        find(&["lastname", "last", "surname", "familyname"]),
        find(&["email", "emailaddress"]),
    ) else {
        return Err(vec![RowError {
            line: 1,
            reason: "The first line must name the columns first_name, last_name and email.".into(),
        }]);
    };
    if body.is_empty() {
        return Err(vec![RowError {
            line: 2,
            reason: "The file has no users after its header line.".into(),
        }]);
    }
    if body.len() > MAX_IMPORT_ROWS {
        return Err(vec![RowError {
            line: MAX_IMPORT_ROWS + 2,
            reason: format!(
                "At most {MAX_IMPORT_ROWS} users can be imported at once; split the file."
            ),
        }]);
    }
    let mut users = Vec::with_capacity(body.len());
    let mut errors = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (line, row) in body {
        let cell = |i: usize| row.get(i).cloned().unwrap_or_default();
        let input = NewUserInput {
            first_name: cell(first),
            last_name: cell(last),
            email: cell(email),
        };
        match input.parse() {
            Ok(user) => {
                let key = user.email.normalized_key();
                if let Some(earlier) = seen.insert(key, *line) {
                    errors.push(RowError {
                        line: *line,
                        reason: format!("This email is already on line {earlier}."),
                    });
                } else {
                    users.push((*line, user));
                }
            }
            Err(fields) => errors.push(RowError {
                line: *line,
                reason: fields.iter().map(|(_, m)| m).collect::<Vec<_>>().join(" "),
            }),
        }
    }
    Ok((users, errors))
}

/// One CSV field as written (RFC 4180): quoted when it holds a comma, a quote or a line break.
/// A value starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets an apostrophe in
/// front, so a spreadsheet shows it rather than running it as a formula (CSV injection).
pub fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// One CSV line of `values`, ended by CRLF.
pub fn line<S: AsRef<str>>(values: &[S]) -> String {
    let mut out = values
        .iter()
        .map(|v| field(v.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_commas_and_line_breaks() {
        let text = "a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\n\"multi\nline\",z";
        let r = records(text).unwrap();
        assert_eq!(r[0], (1, vec!["a".to_string(), "b".into()]));
        assert_eq!(r[1], (2, vec!["x, y".to_string(), "say \"hi\"".into()]));
        assert_eq!(r[2], (4, vec!["multi\nline".to_string(), "z".into()]));
        assert!(records("\"open").is_err());
        // Lines as an editor numbers them: blank and blank-looking lines count and are skipped.
        let r = records("a\r\n\r\n  \n\nb\n").unwrap();
        assert_eq!(r, [(1, vec!["a".to_string()]), (5, vec!["b".to_string()])]);
        assert_eq!(records("a,b\n\"open,c\nd").unwrap_err().line, 2);
    }

    #[test]
    fn every_bad_row_is_listed_and_nothing_is_returned() {
        let text = "Email,First name,Last name\nann@a.test,Ann,Lee\nnope,Bo,Chen\nANN@a.test,Ann,Again\n,,\nkim@a.test,Kim,\n";
        let errors = users_from_csv(text).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6]);
        assert!(errors[1].reason.contains("line 2"));
        assert!(errors[3].reason.contains("last name"));
    }

    #[test]
    fn a_good_file_gives_every_user_in_order() {
        let users = users_from_csv(
            "\u{feff}first_name,last_name,email\nAnn,Lee,ann@a.test\nBo,Chen,bo@a.test",
        )
        .unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[1].1.email.as_str(), "bo@a.test");
        assert_eq!(users[1].0, 3);
        assert!(users_from_csv("name,mail\nx,y").is_err());
        assert!(users_from_csv("").is_err());
        assert!(users_from_csv("first_name,last_name,email\n").is_err());
    }

    #[test]
    fn a_written_field_is_quoted_when_needed_and_never_a_formula() {
        assert_eq!(field("Acme"), "Acme");
        assert_eq!(field("Acme, Inc."), "\"Acme, Inc.\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        for formula in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert!(
                field(formula).trim_start_matches('"').starts_with('\''),
                "{formula}"
            );
        }
        assert_eq!(line(&["a", "=1+1", "b,c"]), "a,'=1+1,\"b,c\"\r\n");
    }

    proptest::proptest! {
        #[test]
        fn a_written_line_reads_back_as_its_fields(values in proptest::collection::vec("[^\\x00]{0,12}", 1..6)) {
            // The reader drops a byte-order mark at the start of a file.
            proptest::prop_assume!(!values[0].starts_with('\u{feff}'));
            let written = line(&values);
            let read = records(&written).unwrap();
            let expected: Vec<String> = values
                .iter()
                .map(|v| if v.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{v}") } else { v.clone() })
                .collect();
            // A line of nothing but blank fields is a blank line, which the reader skips.
            if expected.iter().all(|v| v.trim().is_empty()) {
                return Ok(());
            }
            proptest::prop_assert_eq!(&read[0].1, &expected);
        }
    }
}
