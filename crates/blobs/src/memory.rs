//! Objects in a map, for tests.

use kernel::blob::{Blob, BlobError, BlobStore, validate_key};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Keeps objects in memory. Clones share the same map, so a test can keep one clone to look
/// at what the code under test stored.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    objects: Arc<Mutex<HashMap<String, Blob>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The keys stored, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<_> = self.lock().keys().cloned().collect();
        keys.sort();
        keys
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Blob>> {
        // Every operation leaves the map consistent, so a panic elsewhere cannot corrupt it.
        self.objects.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl BlobStore for MemoryStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        let blob = Blob {
            bytes,
            content_type: content_type.to_owned(),
        };
        self.lock().insert(key.to_owned(), blob);
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError> {
        validate_key(key)?;
        Ok(self.lock().get(key).cloned())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        self.lock().remove(key);
        Ok(())
    }
}
