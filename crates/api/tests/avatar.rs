//! Avatar upload through the API: recognised by content, size-limited, metadata stripped,
//! stored through the file-store port and served back from the URL the API hands out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use testkit::TestApp;

/// A valid 1×1 PNG.
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

fn png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(PNG_1X1)
        .unwrap()
}

/// The same PNG with a tEXt chunk carrying a location, inserted after IHDR.
fn png_with_location() -> Vec<u8> {
    let clean = png();
    let ihdr_end = 8 + 4 + 4 + 13 + 4;
    let data = b"Location\0GPS 48.8566N 2.3522E";
    let mut chunk = Vec::new();
    chunk.extend_from_slice(&(data.len() as u32).to_be_bytes());
    chunk.extend_from_slice(b"tEXt");
    chunk.extend_from_slice(data);
    let crc = crc32fast::hash(&[b"tEXt".as_slice(), data].concat());
    chunk.extend_from_slice(&crc.to_be_bytes());
    [&clean[..ihdr_end], &chunk, &clean[ihdr_end..]].concat()
}

async fn signed_in(app: &TestApp) -> String {
    let res = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": "av@b.fr", "password": "correct horse battery", "firstName": "A", "lastName": "V"}))
        .send()
        .await
        .unwrap();
    res.json::<Value>().await.unwrap()["accessToken"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn upload(
    app: &TestApp,
    token: &str,
    bytes: Vec<u8>,
    name: &str,
    mime: &str,
) -> reqwest::Response {
    let part = Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str(mime)
        .unwrap();
    app.client
        .post(app.url("/api/v1/users/me/avatar"))
        .bearer_auth(token)
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_uploaded_png_is_stripped_stored_and_served() {
    let app = TestApp::spawn().await;
    let token = signed_in(&app).await;
    let res = upload(&app, &token, png_with_location(), "me.jpg", "image/jpeg").await;
    assert_eq!(res.status(), 200);
    let user: Value = res.json().await.unwrap();
    let url = user["avatarUrl"].as_str().unwrap().to_string();
    let expected_prefix = format!(
        "http://localhost:8000/api/v1/users/{}/avatar/",
        user["id"].as_str().unwrap()
    );
    assert!(
        url.starts_with(&expected_prefix) && url.ends_with(".png"),
        "{url}"
    );

    // The URL works without credentials (an <img src>); the location is gone.
    let path = url.strip_prefix("http://localhost:8000").unwrap();
    let res = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    let served = res.bytes().await.unwrap();
    assert_eq!(
        served.as_ref(),
        png().as_slice(),
        "metadata stripped, pixels untouched"
    );
    assert!(!served.windows(3).any(|w| w == b"GPS"));

    // A new upload replaces the old file, whose URL stops working.
    let res = upload(&app, &token, png(), "again.png", "image/png").await;
    let second: Value = res.json().await.unwrap();
    assert_ne!(second["avatarUrl"], user["avatarUrl"]);
    assert_eq!(
        app.client.get(app.url(path)).send().await.unwrap().status(),
        404
    );

    // Removing it clears the URL.
    let res = app
        .client
        .delete(app.url("/api/v1/users/me/avatar"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["avatarUrl"], Value::Null);
}

#[tokio::test]
async fn non_images_oversized_files_and_missing_fields_are_refused() {
    let app = TestApp::spawn().await;
    let token = signed_in(&app).await;
    for (bytes, name, code) in [
        (
            b"just some text pretending to be a png".to_vec(),
            "x.png",
            "not_an_image",
        ),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
            "x.png",
            "unsupported_image",
        ),
        (
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
            "x.gif",
            "unsupported_image",
        ),
        (png()[..40].to_vec(), "cut.png", "corrupt_image"),
    ] {
        let res = upload(&app, &token, bytes, name, "image/png").await;
        assert_eq!(res.status(), 422, "{name}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["errors"][0]["field"], "file");
        assert_eq!(p["errors"][0]["code"], code, "{name}");
    }
    let big = [png(), vec![0u8; 5 * 1024 * 1024]].concat();
    let res = upload(&app, &token, big, "big.png", "image/png").await;
    assert_eq!(res.status(), 413);

    let res = app
        .client
        .post(app.url("/api/v1/users/me/avatar"))
        .bearer_auth(&token)
        .multipart(Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);

    let res = app
        .client
        .post(app.url("/api/v1/users/me/avatar"))
        .multipart(Form::new().part("file", Part::bytes(png())))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "signed-in users only");

    let res = app
        .client
        .get(app.url("/api/v1/users/not-a-uuid/avatar/x.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = app
        .client
        .get(app.url(&format!(
            "/api/v1/users/{}/avatar/x.png",
            uuid::Uuid::new_v4()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn on_s3_the_avatar_url_is_presigned_and_works_without_credentials() {
    let s3 = blobs::testing::TestS3::start().await;
    let endpoint = format!("http://{}", s3.addr);
    let app = TestApp::spawn_with(&[
        ("S3_BUCKET_NAME", blobs::testing::BUCKET),
        ("S3_ENDPOINT_URL", &endpoint),
        ("S3_ACCESS_KEY", blobs::testing::ACCESS_KEY),
        ("S3_SECRET_KEY", blobs::testing::SECRET_KEY),
        ("S3_USE_SSL", "false"),
    ])
    .await;
    let token = signed_in(&app).await;
    let res = upload(&app, &token, png_with_location(), "me.png", "image/png").await;
    assert_eq!(res.status(), 200);
    let user: Value = res.json().await.unwrap();
    let url = user["avatarUrl"].as_str().unwrap();
    assert!(
        url.starts_with(&endpoint) && url.contains("X-Amz-Signature="),
        "{url}"
    );
    // The browser fetches it straight from the bucket, with no credentials of its own.
    let res = reqwest::get(url).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), png().as_slice());
    // And it really is in the bucket.
    let stored: Vec<_> = walk(s3.root())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("avatars"))
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
