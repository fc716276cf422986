//! The gate: nothing lost, typed dead letters, duplicates, detection against planted labels.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use websight_core::gate::{
    DeadLetterReason, DetectionScore, Gate, GateConfig, HyperLogLog, KnownUsers, Outcome,
};
use websight_core::model::UserId;
use websight_core::synth::{Generator, SynthConfig};

#[test]
fn every_input_has_exactly_one_outcome_and_bad_input_is_kept_with_a_reason() {
    let generator = Generator::new(SynthConfig {
        sessions: 3_000,
        seed: 21,
        ..SynthConfig::default()
    })
    .unwrap();
    let mut gate = Gate::new(GateConfig::default()).unwrap();
    let (mut sent, mut bad_sent, mut dup_sent) = (0u64, 0u64, 0u64);
    let (mut dead, mut dups) = (0u64, 0u64);
    let garbage: [&[u8]; 5] = [
        b"\xff\xfe not utf8",
        b"{\"event_id\": \"x\", \"seq\": ",
        b"{\"event_id\": 5}",
        b"[1, 2, 3]",
        b"",
    ];
    for (i, e) in generator.events().enumerate() {
        let bytes = serde_json::to_vec(&e.record).unwrap();
        let mut inputs = vec![bytes.clone()];
        if i % 20 == 0 {
            inputs.push(bytes.clone()); // a redelivery
            dup_sent += 1;
        }
        if i % 50 == 0 {
            inputs.push(garbage[(i / 50) % garbage.len()].to_vec());
            bad_sent += 1;
        }
        if i % 97 == 0 {
            let mut broken = e.record.clone();
            broken.seq = broken.session_events; // impossible position
            inputs.push(serde_json::to_vec(&broken).unwrap());
            bad_sent += 1;
        }
        for input in inputs {
            sent += 1;
            match gate.process(&input) {
                Outcome::DeadLetter(d) => {
                    dead += 1;
                    assert_eq!(d.raw, input, "dead letters keep the bytes");
                }
                Outcome::Duplicate { .. } => dups += 1,
                _ => {}
            }
        }
    }
    let stats = gate.stats();
    assert_eq!(stats.received, sent);
    assert!(stats.is_conserved(), "{stats:?}");
    assert_eq!((dead, stats.dead_letters), (bad_sent, bad_sent));
    assert_eq!((dups, stats.duplicates), (dup_sent, dup_sent));
    assert!(stats.valid > 0 && stats.rejected_total() > 0);

    // Reasons are typed by what went wrong.
    let reason = |bytes: &[u8]| match Gate::new(GateConfig::default()).unwrap().process(bytes) {
        Outcome::DeadLetter(d) => d.reason,
        other => panic!("expected a dead letter, got {other:?}"),
    };
    assert!(matches!(
        reason(b"{\"event_id\": \"x\", \"seq\": "),
        DeadLetterReason::Truncated(_)
    ));
    assert!(matches!(
        reason(b"{\"event_id\": 5}"),
        DeadLetterReason::Shape(_)
    ));
    assert!(matches!(reason(b"}{"), DeadLetterReason::Syntax(_)));
}

#[test]
fn detection_precision_and_recall_on_planted_abuse() {
    let generator = Generator::new(SynthConfig {
        sessions: 50_000,
        seed: 8,
        ..SynthConfig::default()
    })
    .unwrap();
    let mut gate = Gate::new(GateConfig::default()).unwrap();
    let mut score = DetectionScore::default();
    let mut by_kind: HashMap<String, (u64, u64)> = HashMap::new();
    let mut kind_of = HashMap::new();
    for e in generator.events() {
        let session = e.record.session_id.clone();
        let rejected = matches!(gate.process_event(e.record), Outcome::Rejected { .. });
        score.record(&session, e.abuse.is_some(), rejected);
        if let Some(kind) = e.abuse {
            let entry = kind_of
                .entry(session)
                .or_insert((format!("{kind:?}"), false));
            entry.1 |= rejected;
        }
    }
    for (kind, detected) in kind_of.values() {
        let e = by_kind.entry(kind.clone()).or_default();
        e.0 += 1;
        e.1 += u64::from(*detected);
    }
    let (tp, fp, fn_, tn) = score.confusion();
    println!(
        "detection: precision {:.3}, recall {:.3} (tp {tp}, fp {fp}, fn {fn_}, tn {tn}); per kind (sessions, detected): {by_kind:?}; rules: {:?}",
        score.precision(),
        score.recall(),
        gate.stats().rejected
    );
    assert!(score.precision() >= 0.95, "precision {}", score.precision());
    assert!(score.recall() >= 0.95, "recall {}", score.recall());
}

#[test]
fn unique_users_and_sessions_per_user_count_every_valid_session() {
    let generator = Generator::new(SynthConfig {
        sessions: 20_000,
        users: 8_000,
        seed: 2,
        ..SynthConfig::default()
    })
    .unwrap();
    let mut gate = Gate::new(GateConfig::default()).unwrap();
    let mut valid_sessions: HashMap<UserId, HashSet<String>> = HashMap::new();
    for e in generator.events() {
        if let Outcome::Valid(ev) = gate.process_event(e.record) {
            valid_sessions
                .entry(ev.user.id.clone())
                .or_default()
                .insert(ev.session_id.0.clone());
        }
    }
    let exact = valid_sessions.len() as f64;
    let estimate = gate.unique_users();
    assert!(
        (estimate / exact - 1.0).abs() < 3.0 * 0.0081,
        "HLL {estimate} vs exact {exact}"
    );
    assert_eq!(gate.users_with_sessions(), valid_sessions.len());
    let mut singles = 0;
    for (user, sessions) in &valid_sessions {
        assert_eq!(gate.sessions_of(user), sessions.len() as u64, "{user}");
        singles += usize::from(sessions.len() == 1);
    }
    assert!(
        singles > 100,
        "first sessions count: {singles} users with exactly one"
    );
}

#[test]
fn known_users_are_still_checked_and_the_filter_snapshots() {
    let generator = Generator::new(SynthConfig {
        sessions: 500,
        bot_share: 0.0,
        abuse_share: 0.0,
        seed: 4,
        ..SynthConfig::default()
    })
    .unwrap();
    let mut gate = Gate::new(GateConfig::default()).unwrap();
    let mut last_valid = None;
    for e in generator.events() {
        if let Outcome::Valid(ev) = gate.process_event(e.record) {
            last_valid = Some(ev);
        }
    }
    let mut known = last_valid.unwrap();
    assert!(gate.known_users().contains(known.user.id.as_str()));
    // A known user turning up with a crawler's user agent is still stopped.
    known.session_id = "fresh-session".into();
    known.seq = 0;
    known.user_agent = "python-requests/2.31.0".into();
    assert!(matches!(
        gate.process_event(known.clone()),
        Outcome::Rejected {
            rule: "bot_user_agent",
            ..
        }
    ));

    let bytes = gate.known_users().snapshot();
    let restored = KnownUsers::restore(bytes.clone()).unwrap();
    assert!(restored.contains(known.user.id.as_str()));
    assert_eq!(restored.snapshot(), bytes);
    assert!(KnownUsers::restore(vec![1, 2, 3]).is_err());
    assert!(KnownUsers::new(0, 0.01, [0; 32]).is_err());
    assert!(KnownUsers::new(10, 1.5, [0; 32]).is_err());
}

#[test]
fn hyperloglog_partitions_merge_to_the_whole() {
    let mut whole = HyperLogLog::new(14).unwrap();
    let mut parts = [HyperLogLog::new(14).unwrap(), HyperLogLog::new(14).unwrap()];
    for i in 0..50_000u32 {
        let id = format!("user-{i}");
        whole.insert(id.as_bytes());
        parts[(i % 2) as usize].insert(id.as_bytes());
    }
    let [mut a, b] = parts;
    a.merge(&b).unwrap();
    assert_eq!(a, whole);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_are_conserved(inputs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..40)) {
        let mut gate = Gate::new(GateConfig { known_users_capacity: 100, ..GateConfig::default() }).unwrap();
        for input in &inputs {
            let _ = gate.process(input);
        }
        prop_assert_eq!(gate.stats().received, inputs.len() as u64);
        prop_assert!(gate.stats().is_conserved());
    }
}

#[test]
fn blocklists_stop_listed_ips_and_email_domains() {
    let generator = Generator::new(SynthConfig {
        sessions: 200,
        bot_share: 0.0,
        abuse_share: 0.0,
        seed: 6,
        ..SynthConfig::default()
    })
    .unwrap();
    let events: Vec<_> = generator.events().map(|e| e.record).collect();
    let blocked_ip = events[0].ip_address;
    let blocked_domain = events[1]
        .user
        .email
        .rsplit_once('@')
        .unwrap()
        .1
        .to_ascii_uppercase();
    let config = GateConfig {
        blocked_ips: vec![blocked_ip],
        blocked_email_domains: vec![blocked_domain.clone()],
        ..GateConfig::default()
    };
    let mut gate = Gate::new(config).unwrap();
    for e in events {
        let listed = e.ip_address == blocked_ip
            || e.user
                .email
                .to_ascii_uppercase()
                .ends_with(&format!("@{blocked_domain}"));
        match gate.process_event(e) {
            Outcome::Rejected {
                rule: "blocklist", ..
            } => assert!(listed),
            Outcome::Rejected { rule, .. } => assert!(!listed, "listed event stopped by {rule}"),
            _ => assert!(!listed, "a listed event passed"),
        }
    }
    assert!(gate.stats().rejected["blocklist"] > 0);
}
