//! The Users page's CSV import (spec §3): the whole file is checked before anything is saved;
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
/// records, each with the line it starts on. Blank lines are skipped.
pub fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, RowError> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut line = 1;
    let mut start_line = 1;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    let mut record_has_content = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                in_quotes = true;
                record_has_content = true;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                record_has_content = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                if record_has_content || !field.trim().is_empty() {
                    fields.push(std::mem::take(&mut field));
                    out.push((start_line, std::mem::take(&mut fields)));
                } else {
                    field.clear();
                }
                record_has_content = false;
                line += 1;
                start_line = line;
            }
            _ => {
                field.push(c);
                record_has_content = true;
            }
        }
    }
    if in_quotes {
        return Err(RowError {
            line: start_line,
            reason: "A quoted value is never closed.".into(),
        });
    }
    if record_has_content || !field.trim().is_empty() {
        fields.push(field);
        out.push((start_line, fields));
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
}
