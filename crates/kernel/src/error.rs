//! Field-level validation errors shared by every domain.

use serde::Serialize;

/// One invalid field: which field, a stable machine code, and a human sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's path as the client sent it (camelCase, dotted for nested fields).
    pub field: String,
    /// A stable code such as `required`, `too_long`, `invalid_format`.
    pub code: String,
    /// A sentence a person can read.
    pub message: String,
}

/// A set of field errors, returned when a command's input is invalid.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
#[error("{} invalid field(s)", .0.len())]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(
        &mut self,
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.0.push(FieldError {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        });
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when no error was added, the errors otherwise.
    pub fn into_result(self) -> Result<(), Self> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_set_is_ok_and_nonempty_is_err() {
        assert!(ValidationErrors::new().into_result().is_ok());
        let mut e = ValidationErrors::new();
        e.add("email", "required", "Email is required");
        let err = e.into_result().unwrap_err();
        assert_eq!(err.0[0].field, "email");
        assert_eq!(err.to_string(), "1 invalid field(s)");
    }
}
