//! The gate's state in the real Redis of `scripts/services.sh` (`WEBSIGHT_REDIS_URL`), with
//! RedisBloom and with the bitmap fallback; and a server restart survived. One test: the
//! restart empties the server, so nothing may run beside it.
#![cfg(feature = "redis")]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use websight_connectors::redis::RedisGateState;

fn users(tag: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{tag}-user-{i}")).collect()
}

async fn known_users_have_no_false_negatives(state: &mut RedisGateState, max_fp: usize) {
    let members = users("member", 3_000);
    let strangers = users("stranger", 3_000);
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    for batch in refs.chunks(500) {
        state.remember_users(batch).await.unwrap();
    }
    assert!(state.known_users(&refs).await.unwrap().iter().all(|&k| k));
    let others: Vec<&str> = strangers.iter().map(String::as_str).collect();
    let false_positives = state
        .known_users(&others)
        .await
        .unwrap()
        .iter()
        .filter(|&&k| k)
        .count();
    assert!(
        false_positives <= max_fp,
        "{false_positives} false positives of 3000"
    );
}

#[tokio::test]
async fn gate_state_with_redisbloom_and_with_a_bitmap() {
    let Some(url) = common::server("WEBSIGHT_REDIS_URL") else {
        return;
    };
    let pid = std::process::id();
    let mut bloom = RedisGateState::connect(&url, &format!("t{pid}:bf:"))
        .await
        .unwrap();
    assert!(
        bloom.uses_redisbloom(),
        "scripts/services.sh loads RedisBloom"
    );
    known_users_have_no_false_negatives(&mut bloom, 15).await;
    let mut bitmap = RedisGateState::connect_with_bitmap(&url, &format!("t{pid}:bits:"))
        .await
        .unwrap();
    assert!(!bitmap.uses_redisbloom());
    known_users_have_no_false_negatives(&mut bitmap, 15).await;

    // Both filters report how full they are; sized for few users, RedisBloom scales and the
    // bitmap shows its rate climbing.
    let bf = bloom.known_filter().await.unwrap();
    assert_eq!(bf.items, 3_000, "{bf:?}");
    assert!(
        bf.capacity >= 1_000_000 && bf.false_positive_rate < 0.01,
        "{bf:?}"
    );
    let bits = bitmap.known_filter().await.unwrap();
    assert!(bits.fill > 0.0 && bits.fill < 0.01, "{bits:?}");
    let small = websight_core::gate::GateConfig {
        known_users_capacity: 500,
        ..Default::default()
    };
    let mut scaling = RedisGateState::connect_sized(&url, &format!("t{pid}:small-bf:"), &small)
        .await
        .unwrap();
    // Scaled to six times its capacity, still within about the configured 1%.
    known_users_have_no_false_negatives(&mut scaling, 60).await;
    let stats = scaling.known_filter().await.unwrap();
    // An id already (falsely) reported present is not added again.
    assert!(
        stats.layers > 1 && (2_900..=3_000).contains(&stats.items),
        "{stats:?}"
    );
    let mut full =
        RedisGateState::connect_with_bitmap_sized(&url, &format!("t{pid}:small-bits:"), &small)
            .await
            .unwrap();
    let members = users("member", 3_000);
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    full.remember_users(&refs).await.unwrap();
    let saturated = full.known_filter().await.unwrap();
    assert!(saturated.false_positive_rate > 0.3, "{saturated:?}");

    // Unique users: HyperLogLog within 3% of the truth, and mergeable across instances.
    let all = users("visitor", 10_000);
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    for batch in refs[..6_000].chunks(1_000) {
        bloom.add_unique_users(batch).await.unwrap();
    }
    for batch in refs[4_000..].chunks(1_000) {
        bitmap.add_unique_users(batch).await.unwrap();
    }
    let one = bloom.unique_users().await.unwrap() as f64;
    assert!((one - 6_000.0).abs() / 6_000.0 < 0.03, "{one}");
    let merged = bloom
        .merge_unique_users(&[&format!("t{pid}:bits:")])
        .await
        .unwrap() as f64;
    assert!((merged - 10_000.0).abs() / 10_000.0 < 0.03, "{merged}");

    // Sessions per user: each session once, however often it is seen.
    let mut truth: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut pairs = Vec::new();
    for i in 0..2_000 {
        let user = format!("u{}", i % 37);
        let session = format!("s{}", i % 700);
        truth
            .entry(user.clone())
            .or_default()
            .insert(session.clone());
        pairs.push((user, session));
    }
    // A session keeps its first user (sessions are per user in the data).
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for (u, s) in &pairs {
        owner.entry(s.as_str()).or_insert(u.as_str());
    }
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(u, s)| (u.as_str(), s.as_str()))
        .collect();
    let day = |d: i64| chrono::DateTime::from_timestamp(1_767_225_600 + d * 86_400, 0);
    for batch in refs.chunks(250) {
        bloom.record_sessions(batch, day(0)).await.unwrap();
    }
    // Retried (a lost reply): nothing counts twice.
    bloom.record_sessions(&refs[..250], day(0)).await.unwrap();
    for user in truth.keys() {
        let want = owner.values().filter(|&&u| u == user).count() as u64;
        assert_eq!(bloom.sessions_of(user).await.unwrap(), want, "{user}");
    }
    assert_eq!(bloom.held_sessions().await.unwrap(), (700, 37));

    // Bounded: session ids leave after a day, persons without a visit for the retention
    // (30 days) with their counts; a regular stays, counted in full.
    for d in [10, 20, 31] {
        let session = format!("regular-{d}");
        bloom
            .record_sessions(&[("u0", session.as_str())], day(d))
            .await
            .unwrap();
    }
    let u0 = owner.values().filter(|&&u| u == "u0").count() as u64;
    assert_eq!(bloom.sessions_of("u0").await.unwrap(), u0 + 3);
    assert_eq!(bloom.sessions_of("u1").await.unwrap(), 0);
    assert_eq!(bloom.held_sessions().await.unwrap(), (1, 1));
    // Before the gate knows the time, or counted by a version that kept no last visits:
    // taken as seen at the first known time, then forgotten as any other.
    bloom
        .record_sessions(&[("first", "s-first")], None)
        .await
        .unwrap();
    let mut raw = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let legacy = format!("t{pid}:bf:sessions_per_user");
    let _: () = redis::cmd("HSET")
        .arg(&legacy)
        .arg("legacy")
        .arg(4)
        .query_async(&mut raw)
        .await
        .unwrap();
    bloom
        .record_sessions(&[("u0", "regular-70")], day(70))
        .await
        .unwrap();
    assert_eq!(bloom.sessions_of("first").await.unwrap(), 1);
    assert_eq!(bloom.sessions_of("legacy").await.unwrap(), 4);
    assert_eq!(bloom.held_sessions().await.unwrap(), (2, 3));
    bloom
        .record_sessions(&[("u0", "regular-100")], day(100))
        .await
        .unwrap();
    assert_eq!(
        bloom.held_sessions().await.unwrap(),
        (1, 3),
        "30 days since day 70"
    );
    bloom
        .record_sessions(&[("u0", "regular-101")], day(101))
        .await
        .unwrap();
    assert_eq!(bloom.sessions_of("first").await.unwrap(), 0);
    assert_eq!(bloom.sessions_of("legacy").await.unwrap(), 0);
    assert_eq!(bloom.held_sessions().await.unwrap(), (2, 1));

    // Last (it empties the server): a restart is survived.
    restart_is_reconnected(&url).await;
}

async fn restart_is_reconnected(url: &str) {
    let mut state = RedisGateState::connect(url, &format!("t{}:restart:", std::process::id()))
        .await
        .unwrap();
    state.remember_users(&["before"]).await.unwrap();
    common::services(&["stop-one", "redis"]);
    let writer = tokio::spawn(async move {
        // Retries with backoff while the server is down.
        let result = state.add_unique_users(&["during"]).await;
        (state, result)
    });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    common::services(&["start-one", "redis"]);
    let (mut state, result) = writer.await.unwrap();
    result.unwrap();
    // The local server keeps no data across restarts; the connection works again.
    assert_eq!(state.unique_users().await.unwrap(), 1);
}
