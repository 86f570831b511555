#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! One contract, every adapter: memory, a temporary directory, and S3Store talking to a real S3
//! server (s3s-fs serving a temporary directory) on 127.0.0.1:0 in this process.

use blobs::{AnyBlobStore, LocalFsStore, MemoryStore, S3Config, S3Store};
use kernel::blob::{BlobError, BlobStore};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::Path;

use blobs::testing::contract;

#[tokio::test]
async fn memory_store_meets_the_contract() {
    let store = MemoryStore::new();
    contract(&store).await;
    assert!(store.keys().is_empty());
    contract(&AnyBlobStore::from(store)).await;
}

#[tokio::test]
async fn local_fs_store_meets_the_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let store = LocalFsStore::new(tmp.path().join("files"));
    contract(&store).await;
    contract(&AnyBlobStore::from(store)).await;
}

#[tokio::test]
async fn local_fs_store_layout_and_no_temporary_leftovers() {
    let tmp = tempfile::tempdir().unwrap();
    let store = LocalFsStore::new(tmp.path().to_path_buf());
    assert_eq!(store.root(), tmp.path());
    store
        .put("a/b.txt", b"one".to_vec(), "text/plain")
        .await
        .unwrap();
    store
        .put("a/b.txt", b"two".to_vec(), "text/markdown")
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("objects/a/b.txt")).unwrap(),
        b"two"
    );
    let content_type = std::fs::read_to_string(tmp.path().join("content-types/a/b.txt")).unwrap();
    assert_eq!(content_type, "text/markdown");
    for dir in ["objects/a", "content-types/a"] {
        let names: Vec<_> = std::fs::read_dir(tmp.path().join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["b.txt"], "{dir}");
    }

    // A key that is a prefix of stored keys (a directory here) is not an object.
    assert_eq!(store.get("a").await.unwrap(), None);
    store.delete("a").await.unwrap();
    assert!(store.get("a/b.txt").await.unwrap().is_some());

    // An object whose content-type file is gone still reads, as octet-stream.
    std::fs::remove_file(tmp.path().join("content-types/a/b.txt")).unwrap();
    let blob = store.get("a/b.txt").await.unwrap().unwrap();
    assert_eq!(blob.content_type, "application/octet-stream");

    // A key under an existing object cannot be stored on a file system.
    let err = store
        .put("a/b.txt/c", b"x".to_vec(), "text/plain")
        .await
        .unwrap_err();
    assert!(matches!(err, BlobError::Backend(_)), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// S3

use blobs::testing::{ACCESS_KEY, BUCKET, SECRET_KEY};

/// Serves `root` as S3 on 127.0.0.1:0; each directory under `root` is a bucket.
async fn start_s3(root: &Path) -> SocketAddr {
    blobs::testing::serve(root).await
}

fn s3_config(addr: SocketAddr) -> S3Config {
    S3Config {
        endpoint_url: Some(format!("http://{addr}")),
        access_key: ACCESS_KEY.into(),
        secret_key: SecretString::from(SECRET_KEY),
        bucket: BUCKET.into(),
        region: "us-east-1".into(),
        use_ssl: false,
        path_style: true,
    }
}

#[tokio::test]
async fn s3_store_meets_the_contract() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join(BUCKET)).unwrap();
    let addr = start_s3(tmp.path()).await;

    let store = S3Store::new(s3_config(addr)).unwrap();
    contract(&store).await;

    // The objects really are in the server's bucket.
    store
        .put("org/1/a.txt", b"hello".to_vec(), "text/plain")
        .await
        .unwrap();
    let on_disk = std::fs::read(tmp.path().join(BUCKET).join("org/1/a.txt")).unwrap();
    assert_eq!(on_disk, b"hello");

    contract(&AnyBlobStore::from(store)).await;
}

#[tokio::test]
async fn s3_failures_are_backend_errors_without_the_secret() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join(BUCKET)).unwrap();
    let addr = start_s3(tmp.path()).await;

    let mut cfg = s3_config(addr);
    let wrong_secret = "Wrong/Secret+Key-9876543210";
    cfg.secret_key = SecretString::from(wrong_secret);
    let cfg_debug = format!("{cfg:?}");
    let store = S3Store::new(cfg).unwrap();
    let store_debug = format!("{store:?}");
    for text in [&cfg_debug, &store_debug] {
        assert!(
            !text.contains(wrong_secret) && !text.contains("Wrong/Secret"),
            "{text}"
        );
    }
    let errors = [
        store
            .put("a.txt", b"x".to_vec(), "text/plain")
            .await
            .unwrap_err(),
        store.get("a.txt").await.unwrap_err(),
        store.delete("a.txt").await.unwrap_err(),
    ];
    for err in errors {
        assert!(matches!(err, BlobError::Backend(_)), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("Wrong/Secret"), "{text}");
        assert!(text.contains("403"), "{text}");
    }

    // A bucket that does not exist is an error, not a missing object. (s3s-fs answers a GET
    // in a missing bucket with NoSuchKey, so only DELETE can show it here; the unit tests
    // cover GET.)
    let mut cfg = s3_config(addr);
    cfg.bucket = "no-such-bucket".into();
    let err = S3Store::new(cfg)
        .unwrap()
        .delete("a.txt")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");

    // Nothing listens: the request fails instead of hanging.
    drop(tmp);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = S3Store::new(s3_config(closed))
        .unwrap()
        .put("a.txt", b"x".to_vec(), "text/plain")
        .await
        .unwrap_err();
    assert!(matches!(err, BlobError::Backend(_)), "{err:?}");
}

#[test]
fn s3_config_must_agree_with_use_ssl() {
    let mut cfg = s3_config("127.0.0.1:9000".parse().unwrap());
    cfg.use_ssl = true;
    assert!(matches!(S3Store::new(cfg), Err(BlobError::Backend(_))));

    let mut cfg = s3_config("127.0.0.1:9000".parse().unwrap());
    cfg.endpoint_url = None;
    cfg.region = "eu-west-3".into();
    cfg.use_ssl = true;
    let store = S3Store::new(cfg).unwrap();
    assert!(format!("{store:?}").contains("eu-west-3"));
}

#[tokio::test]
async fn s3_presigned_urls_fetch_the_object_without_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join(BUCKET)).unwrap();
    let addr = start_s3(tmp.path()).await;
    let store = AnyBlobStore::from(S3Store::new(s3_config(addr)).unwrap());
    store
        .put("avatars/u/a.png", b"png-bytes".to_vec(), "image/png")
        .await
        .unwrap();
    let ttl = std::time::Duration::from_secs(600);
    let url = store
        .direct_url("avatars/u/a.png", ttl)
        .await
        .unwrap()
        .expect("S3 offers presigned URLs");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    // A plain GET, no credentials: the signature in the URL is the authorisation.
    let (status, body) = plain_get(&url).await;
    assert_eq!(status, 200);
    assert_eq!(body, b"png-bytes");
    // A URL altered after signing is refused by the server.
    let (status, _) = plain_get(&url.replace("avatars/u/a.png", "avatars/u/b.png")).await;
    assert_eq!(status, 403);
    // Local and memory stores have no direct URL: the API serves those bytes.
    let mem = AnyBlobStore::from(MemoryStore::new());
    assert!(mem.direct_url("a/b", ttl).await.unwrap().is_none());
}

/// A minimal HTTP/1.1 GET over a plain TCP socket.
async fn plain_get(url: &str) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, buf[head_end + 4..].to_vec())
}
