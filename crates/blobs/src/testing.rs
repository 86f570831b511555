//! A real S3 server for tests (feature `testing`): s3s-fs serving a temporary directory on
//! 127.0.0.1:0, path-style, checking SigV4 signatures against [`ACCESS_KEY`]/[`SECRET_KEY`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::S3Config;
use kernel::blob::{Blob, BlobError, BlobStore};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::Path;

pub const ACCESS_KEY: &str = "monservice-test";
pub const SECRET_KEY: &str = "Secret/Key+For-Tests-0123456789";
pub const BUCKET: &str = "monservice-files";

/// A running server with the bucket [`BUCKET`]; stops serving when dropped with its runtime.
pub struct TestS3 {
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl TestS3 {
    pub async fn start() -> TestS3 {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(BUCKET)).unwrap();
        let addr = serve(dir.path()).await;
        TestS3 { addr, dir }
    }

    /// The folder the server serves (each directory is a bucket).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// An [`S3Config`] for this server.
    pub fn config(&self) -> S3Config {
        S3Config {
            endpoint_url: Some(format!("http://{}", self.addr)),
            access_key: ACCESS_KEY.into(),
            secret_key: SecretString::from(SECRET_KEY),
            bucket: BUCKET.into(),
            region: "us-east-1".into(),
            use_ssl: false,
            path_style: true,
        }
    }
}

/// Serves `root` as S3 on 127.0.0.1:0.
pub async fn serve(root: &Path) -> SocketAddr {
    use s3s::auth::SimpleAuth;
    use s3s::service::S3ServiceBuilder;

    let mut builder = S3ServiceBuilder::new(s3s_fs::FileSystem::new(root).unwrap());
    builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(socket);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    addr
}

/// What every [`BlobStore`] adapter must do.
pub async fn contract(store: &impl BlobStore) {
    let key = "org/0190c0de/avatars/0190c0df.png";
    assert_eq!(store.get(key).await.unwrap(), None);

    // Round trip, with the content type.
    let png = vec![0x89, b'P', b'N', b'G', 0, 1, 2, 255];
    store.put(key, png.clone(), "image/png").await.unwrap();
    let blob = store.get(key).await.unwrap().unwrap();
    assert_eq!(
        blob,
        Blob {
            bytes: png,
            content_type: "image/png".into()
        }
    );

    // Overwrite: new bytes and new content type.
    store
        .put(key, b"<svg/>".to_vec(), "image/svg+xml")
        .await
        .unwrap();
    let blob = store.get(key).await.unwrap().unwrap();
    assert_eq!(blob.bytes, b"<svg/>");
    assert_eq!(blob.content_type, "image/svg+xml");

    // Empty objects, keys needing URL encoding, a larger object, and a sibling key.
    let odd = "org/1/rapports/été 2025 (v2)+final.jpg";
    store.put(odd, Vec::new(), "image/jpeg").await.unwrap();
    assert_eq!(
        store.get(odd).await.unwrap().unwrap().bytes,
        Vec::<u8>::new()
    );
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    store
        .put("org/1/big.bin", big.clone(), "application/octet-stream")
        .await
        .unwrap();
    assert_eq!(
        store.get("org/1/big.bin").await.unwrap().unwrap().bytes,
        big
    );

    // A key "under" an object is not an object.
    assert_eq!(store.get(&format!("{key}/child")).await.unwrap(), None);

    // Delete, and delete again.
    store.delete(key).await.unwrap();
    assert_eq!(store.get(key).await.unwrap(), None);
    store.delete(key).await.unwrap();
    store.delete("org/never/stored.png").await.unwrap();
    assert!(
        store.get(odd).await.unwrap().is_some(),
        "delete removed another key"
    );
    store.delete(odd).await.unwrap();
    store.delete("org/1/big.bin").await.unwrap();

    // Keys that could escape the root or the bucket are refused before anything happens.
    for bad in [
        "",
        "/etc/passwd",
        "a/../b",
        "../a",
        "a//b",
        "a\\b",
        "./a",
        "a/",
        "x\0",
    ] {
        let refused = |r: Result<(), BlobError>| matches!(r, Err(BlobError::InvalidKey(_)));
        assert!(
            refused(store.put(bad, b"x".to_vec(), "text/plain").await),
            "put {bad:?}"
        );
        assert!(
            matches!(store.get(bad).await, Err(BlobError::InvalidKey(_))),
            "get {bad:?}"
        );
        assert!(refused(store.delete(bad).await), "delete {bad:?}");
    }
}
