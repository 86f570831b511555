//! The file-store port (avatars, dress-code photos, report photos).

use std::future::Future;

/// A stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The key is not acceptable (empty, absolute, with `..`, or too long).
    #[error("invalid object key: {0}")]
    InvalidKey(String),
    #[error("file store failure: {0}")]
    Backend(String),
}

/// Stores objects under keys such as `org/<uuid>/avatars/<uuid>.png`.
/// Adapters MUST return `Ok(None)` from `get` for a key that does not exist, and `Ok(())` from
/// `delete` for a key that does not exist.
pub trait BlobStore: Send + Sync + 'static {
    fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), BlobError>> + Send;
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Blob>, BlobError>> + Send;
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), BlobError>> + Send;
}

/// Checks that a key is relative, non-empty, at most 512 bytes, and free of `..`, `\` and NUL,
/// so that no adapter can be made to escape its root or bucket prefix.
pub fn validate_key(key: &str) -> Result<(), BlobError> {
    let bad = key.is_empty()
        || key.len() > 512
        || key.starts_with('/')
        || key.contains('\\')
        || key.contains('\0')
        || key
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if bad {
        Err(BlobError::InvalidKey(key.chars().take(80).collect()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_could_escape_are_refused() {
        for k in [
            "",
            "/etc/passwd",
            "a/../b",
            "a//b",
            "a\\b",
            "./a",
            "a/",
            "x\0",
        ] {
            assert!(validate_key(k).is_err(), "{k:?} should be refused");
        }
        assert!(validate_key("org/1/avatars/2.png").is_ok());
        assert!(validate_key(&"a".repeat(513)).is_err());
    }
}
