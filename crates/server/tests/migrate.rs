//! `monservice migrate to <id>`: forwards and backwards to a named migration, on SQLite and
//! (with TEST_DATABASE_URL) PostgreSQL, with clear output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn run(url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_monservice"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn applied(url: &str) -> Vec<String> {
    let (ok, out, err) = run(url, &["migrate", "status"]);
    assert!(ok, "{err}");
    out.lines()
        .filter_map(|l| l.strip_prefix("applied  "))
        .map(|n| n.trim().to_string())
        .collect()
}

#[tokio::test]
async fn migrate_to_moves_forwards_and_backwards_to_a_named_migration() {
    let db = testkit::TestDb::empty().await;
    let url = db.url.clone();
    let all = {
        let (ok, out, _) = run(&url, &["migrate", "status"]);
        assert!(ok);
        out.lines()
            .map(|l| l.split_whitespace().last().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(all.len() >= 3, "{all:?}");

    // Forwards to the second, by prefix.
    let prefix = &all[1][..16];
    let (ok, out, err) = run(&url, &["migrate", "to", prefix]);
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            format!("applied   {}", all[0]),
            format!("applied   {}", all[1])
        ]
    );
    assert_eq!(applied(&url), all[..2]);

    // All the way, then back to the first.
    let last = all.last().unwrap();
    assert!(run(&url, &["migrate", "to", last]).0);
    assert_eq!(applied(&url), all);
    let (ok, out, _) = run(&url, &["migrate", "to", &all[0]]);
    assert!(ok);
    assert_eq!(out.lines().count(), all.len() - 1);
    assert!(out.starts_with(&format!("rolled back {last}")));
    assert_eq!(applied(&url), all[..1]);
    let (ok, out, _) = run(&url, &["migrate", "to", &all[0]]);
    assert!(ok && out.starts_with("nothing to do"));

    // Unknown or ambiguous names are refused with one line, and change nothing.
    let (ok, _, err) = run(&url, &["migrate", "to", "m2099"]);
    assert!(!ok && err.contains("no migration named"), "{err}");
    let (ok, _, err) = run(&url, &["migrate", "to", "m"]);
    assert!(!ok && err.contains("several"), "{err}");
    assert_eq!(applied(&url), all[..1]);
}
