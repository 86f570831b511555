//! The same contract for the in-process and the Redis variants. The Redis half runs when
//! `TEST_REDIS_URL` is set (`.ci/run` sets it in its second pass); a configured Redis that
//! does not answer fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kv::{Cache, Fanout, Push, RateDecision, RateLimiter, Redis, Wakeup};
use std::time::Duration;

async fn redis() -> Option<Redis> {
    // The Redis half runs in the suite's Redis pass (`.ci/run` sets TEST_REDIS_URL there).
    let url = std::env::var("TEST_REDIS_URL").ok()?;
    let ns = format!("test-{}", uuid::Uuid::new_v4());
    let r = Redis::new(&url, 4, &ns).expect("TEST_REDIS_URL is not a valid Redis URL");
    if let Err(e) = r.ping().await {
        panic!("TEST_REDIS_URL is set but Redis does not answer: {e}");
    }
    Some(r)
}

async fn rate_contract(rl: RateLimiter) {
    let key = format!("k-{}", uuid::Uuid::new_v4());
    for i in 0..3 {
        assert_eq!(
            rl.hit(&key, 3, Duration::from_secs(60)).await,
            RateDecision::Allowed { remaining: 2 - i }
        );
    }
    match rl.hit(&key, 3, Duration::from_secs(60)).await {
        RateDecision::Limited { retry_after } => {
            assert!(retry_after <= Duration::from_secs(60) && retry_after >= Duration::from_secs(1))
        }
        d => panic!("fourth hit must be limited, got {d:?}"),
    }
    // Another key has its own window.
    assert!(matches!(
        rl.hit(&format!("{key}-other"), 3, Duration::from_secs(60))
            .await,
        RateDecision::Allowed { .. }
    ));
    // A short window resets.
    let short = format!("{key}-short");
    rl.hit(&short, 1, Duration::from_millis(150)).await;
    assert!(matches!(
        rl.hit(&short, 1, Duration::from_millis(150)).await,
        RateDecision::Limited { .. }
    ));
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(matches!(
        rl.hit(&short, 1, Duration::from_millis(150)).await,
        RateDecision::Allowed { .. }
    ));
}

async fn cache_contract(c: Cache) {
    assert_eq!(c.get("a").await.unwrap(), None);
    c.set("a", "1", Duration::from_secs(60)).await.unwrap();
    assert_eq!(c.get("a").await.unwrap().as_deref(), Some("1"));
    c.set("b", "2", Duration::from_millis(100)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(c.get("b").await.unwrap(), None, "expired values are gone");
    c.delete("a").await.unwrap();
    assert_eq!(c.get("a").await.unwrap(), None);
    // `take`: once, then gone; racing takers get it exactly once; expired is gone.
    c.set("t", "x", Duration::from_secs(60)).await.unwrap();
    assert_eq!(c.take("t").await.unwrap().as_deref(), Some("x"));
    assert_eq!(c.take("t").await.unwrap(), None);
    c.set("r", "y", Duration::from_secs(60)).await.unwrap();
    let (a, b) = tokio::join!(c.take("r"), c.take("r"));
    let got: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(got, vec!["y".to_string()]);
    c.set("e", "z", Duration::from_millis(50)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(c.take("e").await.unwrap(), None);
}

async fn wake_contract(w: Wakeup) {
    let listener = w.listen().await;
    // Give a Redis subscription time to be established.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = listener.notified();
    let started = std::time::Instant::now();
    w.notify().await;
    tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("a wake-up must reach the listener");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn in_process_rate_limiter() {
    rate_contract(RateLimiter::in_process()).await;
}

#[tokio::test]
async fn in_process_cache() {
    cache_contract(Cache::in_process()).await;
}

#[tokio::test]
async fn in_process_wakeup() {
    wake_contract(Wakeup::in_process()).await;
}

#[tokio::test]
async fn redis_rate_limiter() {
    if let Some(r) = redis().await {
        rate_contract(RateLimiter::redis(r)).await;
    }
}

#[tokio::test]
async fn redis_cache() {
    if let Some(r) = redis().await {
        cache_contract(Cache::Redis(r)).await;
    }
}

#[tokio::test]
async fn redis_wakeup_crosses_connections() {
    if let Some(r) = redis().await {
        wake_contract(Wakeup::Redis(r)).await;
    }
}

#[tokio::test]
async fn a_redis_limiter_without_redis_still_limits_in_process() {
    // Nothing listens on port 1: every Redis call fails fast.
    let r = Redis::new("redis://127.0.0.1:1", 2, "down").unwrap();
    rate_contract(RateLimiter::redis(r)).await;
}

/// `sender` publishes, `receiver` (another process's fan-out, or the same one in process)
/// wakes its connection of that user only.
async fn fanout_contract(sender: Fanout, receiver: Fanout) {
    let (u, other) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let mut sub = receiver.subscribe(u);
    let mut not_me = receiver.subscribe(other);
    // Through Redis, the subscriber announces itself with a wake of everyone once it listens.
    if receiver.connections() == 2 && sender.connections() == 0 {
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(5), sub.recv())
                .await
                .unwrap(),
            Some(Push::Wake)
        );
        let _ = tokio::time::timeout(Duration::from_secs(5), not_me.recv()).await;
    }
    sender.publish(&[u]).await;
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), sub.recv())
            .await
            .unwrap(),
        Some(Push::Wake)
    );
    // The other user was not woken.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), not_me.recv())
            .await
            .is_err()
    );
    sender.publish(&[other]).await;
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), not_me.recv())
            .await
            .unwrap(),
        Some(Push::Wake)
    );
    drop(sub);
    assert_eq!(receiver.connections(), 1);
}

#[tokio::test]
async fn in_process_fanout() {
    let f = Fanout::in_process();
    fanout_contract(f.clone(), f).await;
}

#[tokio::test]
async fn redis_fanout_crosses_processes() {
    if let Some(r) = redis().await {
        // Two pools on one namespace: two API processes.
        let ns = r.namespace().to_string();
        let url = std::env::var("TEST_REDIS_URL").unwrap();
        let other = Redis::new(&url, 2, &ns).unwrap();
        fanout_contract(Fanout::redis(r), Fanout::redis(other)).await;
    }
}
