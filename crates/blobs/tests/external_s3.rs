#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `S3Store` against a standalone S3 server: s3rver, as `.ci/run` starts it (it checks SigV4
//! signatures), or any S3-compatible server that does.
//!
//! Runs only when `TEST_S3_ENDPOINT` is set (CI's PostgreSQL + Redis pass), with
//! `TEST_S3_ACCESS_KEY`, `TEST_S3_SECRET_KEY` and optionally `TEST_S3_REGION` (`us-east-1`);
//! otherwise it returns at once, the in-process server of `tests/contract.rs` covering the same
//! ground. The test creates a bucket of its own, empties it, and tries to delete it.

use blobs::{S3Config, S3Store};
use kernel::blob::{BlobError, BlobStore};
use s3::creds::Credentials;
use s3::{Bucket, BucketConfiguration, Region};
use secrecy::{ExposeSecret, SecretString};

fn required(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| panic!("TEST_S3_ENDPOINT is set, so {name} must be set too"))
}

/// The configuration from the environment, or `None` when no external server is configured.
fn config(bucket: &str) -> Option<S3Config> {
    let endpoint = std::env::var("TEST_S3_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())?;
    Some(S3Config {
        use_ssl: endpoint.starts_with("https://"),
        endpoint_url: Some(endpoint),
        access_key: required("TEST_S3_ACCESS_KEY"),
        secret_key: SecretString::from(required("TEST_S3_SECRET_KEY")),
        bucket: bucket.into(),
        region: std::env::var("TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into()),
        path_style: true,
    })
}

/// Creates the bucket through the server's S3 API (path style, signed).
async fn create_bucket(cfg: &S3Config) -> Box<Bucket> {
    let endpoint = cfg.endpoint_url.clone().unwrap();
    let region = Region::Custom {
        region: cfg.region.clone(),
        endpoint: endpoint.clone(),
    };
    let credentials = Credentials::new(
        Some(&cfg.access_key),
        Some(cfg.secret_key.expose_secret()),
        None,
        None,
        None,
    )
    .unwrap();
    let created = Bucket::create_with_path_style(
        &cfg.bucket,
        region,
        credentials,
        BucketConfiguration::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("TEST_S3_ENDPOINT={endpoint}: the S3 server does not answer: {e}"));
    assert!(
        created.success(),
        "TEST_S3_ENDPOINT={endpoint}: creating bucket {}: HTTP {} {}",
        cfg.bucket,
        created.response_code,
        created.response_text
    );
    created.bucket
}

#[tokio::test]
async fn s3_store_meets_the_contract_on_an_external_server() {
    let bucket_name = format!("monservice-it-{}", uuid::Uuid::new_v4().simple());
    let Some(cfg) = config(&bucket_name) else {
        return;
    };
    let bucket = create_bucket(&cfg).await;
    let store = S3Store::new(cfg.clone()).unwrap();

    // The same contract as every adapter.
    blobs::testing::contract(&store).await;

    let key = "org/1/kept.txt";
    store
        .put(key, b"kept".to_vec(), "text/plain")
        .await
        .unwrap();

    // The server checks signatures: a wrong secret is a backend error that does not reveal it.
    let wrong = S3Store::new(S3Config {
        secret_key: SecretString::from("Wrong/Secret+Key-9876543210"),
        ..cfg.clone()
    })
    .unwrap();
    let err = wrong.get(key).await.unwrap_err();
    assert!(matches!(err, BlobError::Backend(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("Wrong/Secret"), "{err}");

    // A bucket that does not exist is an error, not a missing object.
    let missing = S3Store::new(S3Config {
        bucket: format!("{bucket_name}-missing"),
        ..cfg.clone()
    })
    .unwrap();
    for err in [
        missing.get(key).await.unwrap_err(),
        missing.delete(key).await.unwrap_err(),
    ] {
        assert!(err.to_string().contains("NoSuchBucket"), "{err}");
    }

    store.delete(key).await.unwrap();
    // Best effort: s3rver refuses rust-s3's DeleteBucket (it signs `/bucket/`, s3rver checks the
    // signature of `/bucket`); CI's s3rver keeps its buckets in a directory removed at exit.
    let _ = bucket.delete().await;
}
