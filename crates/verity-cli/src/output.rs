//! Errors of CLI commands, printed as JSON with a stable code.

use serde_json::{json, Value};

/// A command's error: a stable code, a message, and whether the input was at fault.
#[derive(Debug)]
pub struct CliError {
    pub code: &'static str,
    pub message: String,
    /// Input problems exit with 2, everything else with 1.
    pub input_error: bool,
}

impl CliError {
    pub fn input(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), input_error: true }
    }
    pub fn other(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), input_error: false }
    }
    pub fn to_json(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
    pub fn exit_code(&self) -> i32 {
        if self.input_error {
            2
        } else {
            1
        }
    }
}

impl From<verity_models::ModelError> for CliError {
    fn from(e: verity_models::ModelError) -> Self {
        let code = match e {
            verity_models::ModelError::Missing { .. } => "model_missing",
            verity_models::ModelError::Corrupt { .. } => "model_corrupt",
            verity_models::ModelError::HashMismatch { .. } => "model_hash_mismatch",
            verity_models::ModelError::Pip { .. } | verity_models::ModelError::Download { .. } => {
                "model_fetch_failed"
            }
            _ => "model_error",
        };
        CliError::other(code, e.to_string())
    }
}

impl From<verity_face::FaceError> for CliError {
    fn from(e: verity_face::FaceError) -> Self {
        match e {
            verity_face::FaceError::Model(m) => m.into(),
            verity_face::FaceError::NoFace => CliError::input(e.code(), e.to_string()),
            other => CliError::other(other.code(), other.to_string()),
        }
    }
}

impl From<verity_imaging::ImageError> for CliError {
    fn from(e: verity_imaging::ImageError) -> Self {
        CliError::input(e.code(), e.to_string())
    }
}
