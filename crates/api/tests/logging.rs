//! What the logs say about a request: its correlation id on every line, and no secret.
//! (One test per binary: it installs the process-wide subscriber.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use testkit::TestApp;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn request_logs_carry_the_correlation_id_and_no_secret() {
    let buf = Buffer::default();
    let b = buf.clone();
    let settings = app::Settings::from_map(
        &[("LOG_FORMAT", "json"), ("LOG_LEVEL", "debug")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
    .unwrap();
    assert!(api::telemetry::init_with(&settings, move || b.clone()));

    let app = TestApp::spawn().await;
    for path in [
        "/health?token=SECRET-IN-QUERY",
        "/api/v1/calendar/SECRET-IN-PATH.ics",
        "/api/v1/auth/reset-password?token=SECRET-RESET",
    ] {
        app.client
            .get(app.url(path))
            .header("Authorization", "Bearer SECRET-BEARER")
            .header("X-Correlation-ID", "corr-log-test")
            .send()
            .await
            .unwrap();
    }
    // The request line is written after the response; give the server a moment.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let served: Vec<_> = lines
        .iter()
        .filter(|l| l["message"] == "request served")
        .collect();
    assert_eq!(served.len(), 3, "one line per request:\n{text}");
    for l in &served {
        assert_eq!(l["span"]["correlation_id"], "corr-log-test", "{l}");
        assert!(
            l["status"].is_number() && l["elapsed_ms"].is_number(),
            "{l}"
        );
    }
    assert!(served.iter().any(|l| l["span"]["route"] == "/health"));
    assert!(
        !text.contains("SECRET"),
        "a secret reached the logs:\n{text}"
    );
}
