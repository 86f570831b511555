//! Objects as files under a local directory: the embedded profile's store.

use crate::DEFAULT_CONTENT_TYPE;
use kernel::blob::{Blob, BlobError, BlobStore, validate_key};
use std::io;
use std::path::{Path, PathBuf};
use tokio::fs;
use tokio::io::AsyncWriteExt;

/// Stores each object as a plain file, and its content type in a small text file:
///
/// ```text
/// <root>/objects/<key>          the bytes, exactly as given
/// <root>/content-types/<key>    the content type, e.g. `image/png`
/// ```
///
/// The two trees keep the content-type files out of the key space, so no key can collide with
/// another key's metadata. Each file is written to a temporary file in the same directory,
/// flushed to disk, then renamed over the target, so a reader never sees a partial object. The
/// content type is written before the bytes and removed after them; an object whose
/// content-type file is missing reads as `application/octet-stream`.
///
/// As on any file system, a key cannot be both an object and a "directory" of other keys
/// (`a` and `a/b`): storing the second fails with [`BlobError::Backend`].
#[derive(Clone, Debug)]
pub struct LocalFsStore {
    root: PathBuf,
}

impl LocalFsStore {
    /// A store under `root`; directories are created as objects are written.
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The directory everything is stored under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn object_path(&self, key: &str) -> PathBuf {
        self.root.join("objects").join(key)
    }

    fn content_type_path(&self, key: &str) -> PathBuf {
        self.root.join("content-types").join(key)
    }
}

impl BlobStore for LocalFsStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        write_atomically(&self.content_type_path(key), content_type.as_bytes()).await?;
        write_atomically(&self.object_path(key), &bytes).await
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError> {
        validate_key(key)?;
        let path = self.object_path(key);
        let bytes = match fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(backend("read", &path, &e)),
        };
        let path = self.content_type_path(key);
        let content_type = match fs::read_to_string(&path).await {
            Ok(content_type) => content_type,
            Err(e) if is_missing(&e) => DEFAULT_CONTENT_TYPE.to_owned(),
            Err(e) => return Err(backend("read", &path, &e)),
        };
        Ok(Some(Blob {
            bytes,
            content_type,
        }))
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        for path in [self.object_path(key), self.content_type_path(key)] {
            match fs::remove_file(&path).await {
                Ok(()) => {}
                Err(e) if is_missing(&e) => {}
                Err(e) => return Err(backend("delete", &path, &e)),
            }
        }
        Ok(())
    }
}

/// Missing: nothing at the path, a file where a directory was expected (`a/b` when `a` is an
/// object), or a directory where the object was expected (`a` when `a/b` is an object).
fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory
    )
}

fn backend(action: &str, path: &Path, e: &io::Error) -> BlobError {
    BlobError::Backend(format!("cannot {action} {}: {e}", path.display()))
}

/// Writes `bytes` to a temporary file next to `path`, syncs it, and renames it over `path`.
async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BlobError> {
    let Some(dir) = path.parent() else {
        return Err(BlobError::Backend(format!(
            "no directory for {}",
            path.display()
        )));
    };
    fs::create_dir_all(dir)
        .await
        .map_err(|e| backend("create", dir, &e))?;
    // Fixed-length name: the target's own name may already be near the file-name limit.
    let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let written = async {
        let mut file = fs::File::create(&tmp).await?;
        file.write_all(bytes).await?;
        file.sync_all().await?;
        drop(file);
        fs::rename(&tmp, path).await
    }
    .await;
    if let Err(e) = written {
        // Best effort: the temporary file may not even exist.
        let _ = fs::remove_file(&tmp).await;
        return Err(backend("write", path, &e));
    }
    Ok(())
}
