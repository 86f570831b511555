//! File-store adapters for [`kernel::blob::BlobStore`]: local disk (embedded profile), S3
//! through rust-s3, and memory for tests.
//!
//! Pick one at start-up and wrap it in [`AnyBlobStore`], which dispatches statically. Every
//! adapter checks keys with [`kernel::blob::validate_key`] before touching anything.

mod local;
mod memory;
mod s3;
#[cfg(feature = "testing")]
pub mod testing;

pub use local::LocalFsStore;
pub use memory::MemoryStore;
pub use s3::{S3Config, S3Store};

use kernel::blob::{Blob, BlobError, BlobStore};

/// Content type reported for an object stored without one.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// One of the file-store adapters, chosen from configuration.
#[derive(Clone, Debug)]
pub enum AnyBlobStore {
    /// Files under a local directory (embedded profile).
    Local(LocalFsStore),
    /// An S3 bucket (AWS or any S3-compatible server).
    S3(S3Store),
    /// A map in memory (tests).
    Memory(MemoryStore),
}

impl AnyBlobStore {
    /// A URL a browser can fetch the object from directly, when the store offers one (S3:
    /// a presigned URL valid `ttl`); `None` means the API must serve the bytes itself.
    pub async fn direct_url(
        &self,
        key: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<String>, BlobError> {
        match self {
            Self::S3(s) => s.presigned_get(key, ttl).await.map(Some),
            Self::Local(_) | Self::Memory(_) => Ok(None),
        }
    }
}

impl BlobStore for AnyBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        match self {
            Self::Local(s) => s.put(key, bytes, content_type).await,
            Self::S3(s) => s.put(key, bytes, content_type).await,
            Self::Memory(s) => s.put(key, bytes, content_type).await,
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError> {
        match self {
            Self::Local(s) => s.get(key).await,
            Self::S3(s) => s.get(key).await,
            Self::Memory(s) => s.get(key).await,
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self {
            Self::Local(s) => s.delete(key).await,
            Self::S3(s) => s.delete(key).await,
            Self::Memory(s) => s.delete(key).await,
        }
    }
}

impl From<LocalFsStore> for AnyBlobStore {
    fn from(s: LocalFsStore) -> Self {
        Self::Local(s)
    }
}

impl From<S3Store> for AnyBlobStore {
    fn from(s: S3Store) -> Self {
        Self::S3(s)
    }
}

impl From<MemoryStore> for AnyBlobStore {
    fn from(s: MemoryStore) -> Self {
        Self::Memory(s)
    }
}
