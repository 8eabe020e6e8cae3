//! The state of a field while someone is still typing in it.

/// What to tell a person about a partly typed value.
///
/// "Invalid" is shown at once; "incomplete" only when they leave the field or submit, because
/// every value is incomplete while it is being typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Typing<E> {
    /// Nothing typed yet.
    Empty,
    /// Not valid yet, but more typing can still make it valid.
    Incomplete,
    /// Valid as it stands (it may still accept more characters).
    Complete,
    /// No continuation can make it valid; the error says why.
    Invalid(E),
}

impl<E> Typing<E> {
    /// The error to show while typing: only for values that can no longer become valid.
    pub fn error_while_typing(&self) -> Option<&E> {
        match self {
            Typing::Invalid(e) => Some(e),
            _ => None,
        }
    }
}
