//! Objects in an S3 bucket (AWS or any S3-compatible server) through rust-s3.

use crate::DEFAULT_CONTENT_TYPE;
use kernel::blob::{Blob, BlobError, BlobStore, validate_key};
use s3::creds::Credentials;
use s3::{Bucket, Region};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// Settings of the bucket (`S3_*` variables). `Debug` never shows the secret key.
#[derive(Clone, Debug)]
pub struct S3Config {
    /// `None` for AWS (the endpoint follows from `region`); otherwise the server's URL, e.g.
    /// `http://127.0.0.1:9000` or `s3.fr-par.scw.cloud`. A URL without a scheme gets one from
    /// `use_ssl`; a URL with a scheme must agree with `use_ssl`.
    pub endpoint_url: Option<String>,
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: SecretString,
    /// Bucket name; the bucket must exist.
    pub bucket: String,
    /// Region used for signing, e.g. `eu-west-3` (S3-compatible servers often accept any).
    pub region: String,
    /// HTTPS (`true`) or plain HTTP (`false`) for a custom endpoint; AWS is always HTTPS.
    pub use_ssl: bool,
    /// Path-style URLs (`<endpoint>/<bucket>/<key>`) instead of virtual-hosted ones
    /// (`<bucket>.<endpoint>/<key>`); most self-hosted servers (MinIO, Garage…) need `true`.
    pub path_style: bool,
}

/// Stores objects in one S3 bucket, under their keys as given. A missing object reads as
/// `None`; any other failure (network, authentication, missing bucket…) is
/// [`BlobError::Backend`], whose text never contains the secret key.
#[derive(Clone)]
pub struct S3Store {
    bucket: Box<Bucket>,
}

impl S3Store {
    /// Prepares the client; nothing is contacted until the first request.
    ///
    /// # Errors
    /// [`BlobError::Backend`] when the endpoint's scheme contradicts `use_ssl`, or when the
    /// HTTP client cannot be set up.
    /// A time-limited URL that fetches `key` directly from the bucket, for clients such as an
    /// `<img src>` that cannot send credentials. At most 7 days (S3's limit).
    pub async fn presigned_get(
        &self,
        key: &str,
        ttl: std::time::Duration,
    ) -> Result<String, BlobError> {
        kernel::blob::validate_key(key)?;
        let secs = u32::try_from(ttl.as_secs().clamp(1, 604_800)).unwrap_or(604_800);
        self.bucket
            .presign_get(key, secs, None)
            .await
            .map_err(|e| BlobError::Backend(format!("S3 presign {key}: {e}")))
    }

    pub fn new(cfg: S3Config) -> Result<Self, BlobError> {
        let region = match cfg.endpoint_url {
            Some(url) => Region::Custom {
                region: cfg.region,
                endpoint: endpoint(&url, cfg.use_ssl)?,
            },
            None => cfg
                .region
                .parse()
                .map_err(|e| BlobError::Backend(format!("invalid S3 region: {e}")))?,
        };
        let credentials = Credentials::new(
            Some(&cfg.access_key),
            Some(cfg.secret_key.expose_secret()),
            None,
            None,
            None,
        )
        .map_err(|_| BlobError::Backend("invalid S3 credentials".to_owned()))?;
        let bucket = Bucket::new(&cfg.bucket, region, credentials)
            .map_err(|e| BlobError::Backend(format!("cannot set up the S3 client: {e}")))?;
        let bucket = if cfg.path_style {
            bucket.with_path_style()
        } else {
            bucket
        };
        Ok(Self { bucket })
    }

    fn failure(&self, action: &str, key: &str, status: u16, body: &[u8]) -> BlobError {
        let code = s3_error_code(body)
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        BlobError::Backend(format!(
            "S3 {action} {}/{key}: HTTP {status}{code}",
            self.bucket.name
        ))
    }
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket.name)
            .field("region", &self.bucket.region.to_string())
            .field("endpoint", &self.bucket.region.host())
            .finish_non_exhaustive()
    }
}

impl BlobStore for S3Store {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        let response = self
            .bucket
            .put_object_with_content_type(key, &bytes, content_type)
            .await
            .map_err(|e| request_failed("PUT", key, &e))?;
        match response.status_code() {
            200..=299 => Ok(()),
            status => Err(self.failure("PUT", key, status, &[])),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError> {
        validate_key(key)?;
        let response = self
            .bucket
            .get_object(key)
            .await
            .map_err(|e| request_failed("GET", key, &e))?;
        match response.status_code() {
            200..=299 => {
                let content_type = response
                    .headers()
                    .remove("content-type")
                    .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned());
                Ok(Some(Blob {
                    bytes: response.to_vec(),
                    content_type,
                }))
            }
            404 if !no_such_bucket(response.as_slice()) => Ok(None),
            status => Err(self.failure("GET", key, status, response.as_slice())),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        let response = self
            .bucket
            .delete_object(key)
            .await
            .map_err(|e| request_failed("DELETE", key, &e))?;
        match response.status_code() {
            200..=299 => Ok(()),
            404 if !no_such_bucket(response.as_slice()) => Ok(()),
            status => Err(self.failure("DELETE", key, status, response.as_slice())),
        }
    }
}

/// The endpoint with the scheme `use_ssl` asks for.
fn endpoint(url: &str, use_ssl: bool) -> Result<String, BlobError> {
    let url = url.trim().trim_end_matches('/');
    let wanted = if use_ssl { "https" } else { "http" };
    match url.split_once("://") {
        None => Ok(format!("{wanted}://{url}")),
        Some((scheme, _)) if scheme.eq_ignore_ascii_case(wanted) => Ok(url.to_owned()),
        Some(_) => Err(BlobError::Backend(format!(
            "S3 endpoint {url:?} does not match use_ssl = {use_ssl}"
        ))),
    }
}

/// The `<Code>` of an S3 XML error body, e.g. `NoSuchBucket`.
fn s3_error_code(body: &[u8]) -> Option<&str> {
    let body = std::str::from_utf8(body).ok()?;
    let start = body.find("<Code>")? + "<Code>".len();
    let len = body[start..].find("</Code>")?;
    Some(&body[start..start + len]).filter(|c| c.len() <= 64)
}

/// A 404 means a missing object, unless the bucket itself is missing (a configuration error
/// that must not pass for "no such file").
fn no_such_bucket(body: &[u8]) -> bool {
    s3_error_code(body) == Some("NoSuchBucket")
}

fn request_failed(action: &str, key: &str, e: &s3::error::S3Error) -> BlobError {
    BlobError::Backend(format!("S3 {action} {key}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_scheme_follows_use_ssl() {
        assert_eq!(endpoint("minio:9000/", false).unwrap(), "http://minio:9000");
        assert_eq!(
            endpoint("s3.example.org", true).unwrap(),
            "https://s3.example.org"
        );
        assert_eq!(
            endpoint("HTTPS://s3.example.org", true).unwrap(),
            "HTTPS://s3.example.org"
        );
        assert!(endpoint("http://s3.example.org", true).is_err());
        assert!(endpoint("https://s3.example.org", false).is_err());
    }

    #[test]
    fn error_code_is_read_from_the_xml_body() {
        let body =
            b"<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>x</Message></Error>";
        assert_eq!(s3_error_code(body), Some("NoSuchBucket"));
        assert!(no_such_bucket(body));
        assert_eq!(s3_error_code(b"oops"), None);
        assert!(!no_such_bucket(b"<Error><Code>NoSuchKey</Code></Error>"));
        assert!(!no_such_bucket(b""));
    }
}
