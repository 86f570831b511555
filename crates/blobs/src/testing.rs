//! A real S3 server for tests (feature `testing`): s3s-fs serving a temporary directory on
//! 127.0.0.1:0, path-style, checking SigV4 signatures against [`ACCESS_KEY`]/[`SECRET_KEY`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::S3Config;
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
