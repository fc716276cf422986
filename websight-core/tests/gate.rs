//! The gate: nothing lost, typed dead letters, duplicates by message id, detection against
//! planted labels, crawlers stopped, clean human traffic never.

use std::collections::HashMap;

use proptest::prelude::*;
use websight_core::decode::{DecodeContext, decode_segment};
use websight_core::flow::Ingest;
use websight_core::gate::{
    DeadLetterReason, DetectionScore, Gate, GateConfig, HyperLogLog, KnownUsers, MemoryGateState,
    Outcome,
};
use websight_core::synth::{Generator, SynthConfig, bot_user_agents};
use websight_testkit::{generator, hostile_lines, privacy};

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// A gate with its embedded state.
struct Judge {
    gate: Gate,
    state: MemoryGateState,
}

impl Judge {
    fn new(config: GateConfig) -> Judge {
        Judge {
            state: MemoryGateState::new(&config).unwrap(),
            gate: Gate::new(config).unwrap(),
        }
    }
}

fn judge_all(judge: &mut Judge, ingest: &Ingest, raw: &[u8]) -> Vec<Outcome> {
    ingest
        .decode(raw)
        .into_iter()
        .map(|i| judge.gate.process(i, &mut judge.state).unwrap())
        .collect()
}

/// The rule that stopped a judged event, `None` if it passed (anything else is a failure).
fn rule_of(outcome: Outcome) -> Option<&'static str> {
    match outcome {
        Outcome::Valid(_) => None,
        Outcome::Rejected { rule, .. } => Some(rule),
        other => panic!("{other:?}"),
    }
}

/// The rule that stopped the one message `raw`, `None` if it passed.
fn verdict(judge: &mut Judge, ingest: &Ingest, raw: &[u8]) -> Option<&'static str> {
    rule_of(judge_all(judge, ingest, raw).remove(0))
}

#[test]
fn every_input_has_exactly_one_outcome_and_bad_input_is_kept_with_a_reason() {
    let g = generator(3_000, 21);
    let raws = hostile_lines(&g);
    let ingest = Ingest::new(privacy());
    let mut gate = Judge::new(GateConfig::default());
    let mut dead = 0;
    for raw in &raws {
        for outcome in judge_all(&mut gate, &ingest, raw) {
            if let Outcome::DeadLetter(d) = outcome {
                dead += 1;
                assert!(!d.raw.is_empty(), "a redacted copy is kept");
            }
        }
    }
    let stats = gate.gate.stats();
    assert_eq!(stats.received, raws.len() as u64);
    assert!(stats.is_conserved(), "{stats:?}");
    assert_eq!(stats.dead_letters, dead);
    let redelivered = websight_testkit::lines(&g).len().div_ceil(97) as u64;
    assert_eq!(stats.duplicates, redelivered);
    assert!(stats.valid > 0 && stats.rejected_total() > 0);

    // Reasons are typed by what went wrong.
    let reason = |bytes: &[u8]| match Judge::new(GateConfig::default())
        .gate
        .process(
            decode_segment(bytes, &DecodeContext::default()).remove(0),
            &mut MemoryGateState::new(&GateConfig::default()).unwrap(),
        )
        .unwrap()
    {
        Outcome::DeadLetter(d) => d.reason,
        other => panic!("expected a dead letter, got {other:?}"),
    };
    assert!(matches!(
        reason(b"{\"type\": \"page\", "),
        DeadLetterReason::Truncated(_)
    ));
    assert!(matches!(
        reason(b"{\"type\": 5}"),
        DeadLetterReason::Shape(_)
    ));
    assert!(matches!(reason(b"}{"), DeadLetterReason::Syntax(_)));
}

#[test]
fn detection_precision_and_recall_on_planted_abuse() {
    let g = Generator::new(SynthConfig {
        sessions: 20_000,
        seed: 8,
        ..SynthConfig::default()
    })
    .unwrap();
    let ingest = Ingest::new(privacy());
    let mut gate = Judge::new(GateConfig::default());
    let mut score = DetectionScore::default();
    let mut kind_of = HashMap::new();
    for e in g.events() {
        for outcome in judge_all(&mut gate, &ingest, &e.to_json()) {
            let rejected = matches!(outcome, Outcome::Rejected { .. });
            score.record(&e.session, e.abuse.is_some(), rejected);
            if let Some(kind) = e.abuse {
                let entry = kind_of
                    .entry(e.session.clone())
                    .or_insert((format!("{kind:?}"), false));
                entry.1 |= rejected;
            }
        }
    }
    let mut by_kind: HashMap<String, (u64, u64)> = HashMap::new();
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
        gate.gate.stats().rejected
    );
    assert!(score.precision() >= 0.95, "precision {}", score.precision());
    assert!(score.recall() >= 0.95, "recall {}", score.recall());
    // Four weeks of traffic (~330 messages an hour), but the gate holds only its last hours'
    // persons and its last day's message ids (by arrival), swept every 2,000 messages once
    // the frontier moved (every 50,000, it held ~60 hours of both).
    let held = gate.gate.held();
    let received = gate.gate.stats().received as usize;
    assert!(held.message_ids <= 12_000, "{held:?} of {received}");
    assert!(held.persons <= 1_000, "{held:?}");
}

fn message(kind: &str, id: &str, anon: &str, at: &str, context: &str, extra: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"{kind}","messageId":"{id}","anonymousId":"{anon}","timestamp":"{at}","context":{{{context}}}{extra}}}"#
    )
    .into_bytes()
}

#[test]
fn crawlers_are_stopped_by_their_own_rule_and_clean_humans_never() {
    let ingest = Ingest::new(privacy());
    let mut gate = Judge::new(GateConfig::default());
    for (i, agent) in bot_user_agents().iter().enumerate() {
        let raw = message(
            "page",
            &format!("bot-{i}"),
            &format!("crawler-{i}"),
            "2026-01-01T10:00:00Z",
            &format!(r#""userAgent":"{agent}","ip":"198.51.100.{i}""#),
            "",
        );
        let outcome = judge_all(&mut gate, &ingest, &raw).remove(0);
        assert!(
            matches!(
                outcome,
                Outcome::Rejected {
                    rule: "bot_user_agent",
                    ..
                }
            ),
            "{agent}: {outcome:?}"
        );
    }
    // Direct visits, e-mail campaigns, returning visitors, server-side orders without a
    // user agent for a known visitor: all normal.
    let human = format!(r#""userAgent":"{CHROME}","ip":"203.0.113.7""#);
    let email_page = r#","properties":{"url":"https://shop.example/?utm_source=newsletter&utm_medium=email","path":"/"}"#;
    let inputs = [
        message(
            "page",
            "h1",
            "visitor-1",
            "2026-01-01T10:00:00Z",
            &human,
            "",
        ),
        message(
            "page",
            "h2",
            "visitor-1",
            "2026-01-01T10:00:30Z",
            &human,
            email_page,
        ),
        message(
            "track",
            "h3",
            "visitor-1",
            "2026-01-01T10:01:00Z",
            &human,
            r#","event":"Product Viewed","properties":{"product_id":"p1","price":12.5}"#,
        ),
        // Returning the next day, direct.
        message(
            "page",
            "h4",
            "visitor-1",
            "2026-01-02T18:00:00Z",
            &human,
            "",
        ),
        // The shop's server reports the order (no user agent; the visitor is known).
        message(
            "track",
            "h5",
            "visitor-1",
            "2026-01-02T18:05:00Z",
            "",
            r#","event":"Order Completed","properties":{"order_id":"o1","revenue":12.5}"#,
        ),
        message(
            "page",
            "h6",
            "visitor-2",
            "2026-01-02T18:05:00Z",
            &human,
            email_page,
        ),
    ];
    for raw in &inputs {
        let outcome = judge_all(&mut gate, &ingest, raw).remove(0);
        assert!(
            matches!(outcome, Outcome::Valid(_)),
            "{}: {outcome:?}",
            String::from_utf8_lossy(raw)
        );
    }
    // A new visitor with no user agent at all is the original rule's case.
    let bare = message("page", "n1", "visitor-3", "2026-01-02T18:06:00Z", "", "");
    assert!(matches!(
        judge_all(&mut gate, &ingest, &bare).remove(0),
        Outcome::Rejected {
            rule: "no_user_agent",
            ..
        }
    ));
    // Impossible figures, and the rest of that visit with them.
    let hoard = message(
        "track",
        "x1",
        "visitor-4",
        "2026-01-02T18:06:00Z",
        &human,
        r#","event":"Product Added","properties":{"product_id":"p1","quantity":90000}"#,
    );
    let next = message(
        "page",
        "x2",
        "visitor-4",
        "2026-01-02T18:07:00Z",
        &human,
        "",
    );
    assert!(matches!(
        judge_all(&mut gate, &ingest, &hoard).remove(0),
        Outcome::Rejected {
            rule: "impossible_figures",
            ..
        }
    ));
    assert!(matches!(
        judge_all(&mut gate, &ingest, &next).remove(0),
        Outcome::Rejected {
            rule: "impossible_figures",
            ..
        }
    ));
    // A retry of a message already judged is a duplicate.
    assert!(matches!(
        judge_all(&mut gate, &ingest, &inputs[0]).remove(0),
        Outcome::Duplicate { .. }
    ));
}

#[test]
fn unique_visitors_and_visits_per_person_count_every_valid_visit() {
    let g = Generator::new(SynthConfig {
        sessions: 10_000,
        users: 4_000,
        bot_share: 0.0,
        abuse_share: 0.0,
        seed: 2,
        ..SynthConfig::default()
    })
    .unwrap();
    let ingest = Ingest::new(privacy());
    let mut gate = Judge::new(GateConfig::default());
    let mut ids = std::collections::HashSet::new();
    let mut persons = std::collections::HashSet::new();
    for e in g.events() {
        for outcome in judge_all(&mut gate, &ingest, &e.to_json()) {
            if let Outcome::Valid(ev) = outcome {
                ids.extend(ev.anonymous_id.clone());
                ids.extend(ev.user_id.clone());
                persons.extend(ev.person().map(str::to_owned));
            }
        }
    }
    let estimate = gate.state.unique_estimate();
    let exact = ids.len() as f64;
    assert!(
        (estimate / exact - 1.0).abs() < 3.0 * 0.0081,
        "HLL {estimate} vs exact {exact}"
    );
    assert_eq!(gate.state.users_with_sessions(), persons.len());
    let visits: u64 = persons.iter().map(|p| gate.state.visits_of(p)).sum();
    assert!(visits >= persons.len() as u64);
}

#[test]
fn known_visitors_are_still_checked_and_the_filter_snapshots() {
    let ingest = Ingest::new(privacy());
    let mut gate = Judge::new(GateConfig::default());
    let human = format!(r#""userAgent":"{CHROME}""#);
    let first = message("page", "k1", "known", "2026-01-01T10:00:00Z", &human, "");
    let Outcome::Valid(valid) = judge_all(&mut gate, &ingest, &first).remove(0) else {
        panic!("a clean first visit passes");
    };
    let pseudonym = valid.anonymous_id.unwrap();
    assert!(gate.state.known_users().contains(&pseudonym));
    // A known visitor turning up with a crawler's user agent is still stopped.
    let scripted = message(
        "page",
        "k2",
        "known",
        "2026-01-03T10:00:00Z",
        r#""userAgent":"python-requests/2.31.0""#,
        "",
    );
    assert!(matches!(
        judge_all(&mut gate, &ingest, &scripted).remove(0),
        Outcome::Rejected {
            rule: "bot_user_agent",
            ..
        }
    ));
    let bytes = gate.state.known_users().snapshot();
    let restored = KnownUsers::restore(bytes.clone()).unwrap();
    assert!(restored.contains(&pseudonym));
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
        let ingest = Ingest::new(privacy());
        let mut gate = Judge::new(GateConfig { known_users_capacity: 100, ..GateConfig::default() });
        let mut n = 0;
        for input in &inputs {
            n += judge_all(&mut gate, &ingest, input).len() as u64;
        }
        prop_assert_eq!(gate.gate.stats().received, n);
        prop_assert!(n >= inputs.len() as u64);
        prop_assert!(gate.gate.stats().is_conserved());
    }
}

#[test]
fn blocklists_stop_listed_networks() {
    let ingest = Ingest::new(privacy());
    let config = GateConfig {
        blocked_ips: vec!["192.0.2.77".parse().unwrap()],
        ..GateConfig::default()
    };
    let mut gate = Judge::new(config);
    let listed = message(
        "page",
        "b1",
        "v",
        "2026-01-01T10:00:00Z",
        &format!(r#""userAgent":"{CHROME}","ip":"192.0.2.5""#),
        "",
    );
    let other = message(
        "page",
        "b2",
        "w",
        "2026-01-01T10:00:00Z",
        &format!(r#""userAgent":"{CHROME}","ip":"192.0.3.5""#),
        "",
    );
    assert!(matches!(
        judge_all(&mut gate, &ingest, &listed).remove(0),
        Outcome::Rejected {
            rule: "blocklist",
            ..
        }
    ));
    assert!(matches!(
        judge_all(&mut gate, &ingest, &other).remove(0),
        Outcome::Valid(_)
    ));
}

#[test]
fn a_new_visitor_without_a_user_agent_passes_only_when_an_sdk_sent_it() {
    // A shop's backend sends a new customer's telephone order: no user agent, no address,
    // the SDK named. A hand-made message without either is stopped.
    let ingest = Ingest::new(privacy());
    let mut gate = Judge::new(GateConfig::default());
    let order = |id: &str, user: &str, context: &str| {
        format!(
            r#"{{"type":"track","event":"Order Completed","messageId":"{id}","userId":"{user}","timestamp":"2026-01-01T10:00:00Z","context":{{{context}}},"properties":{{"order_id":"{id}","revenue":50,"currency":"EUR"}}}}"#
        )
        .into_bytes()
    };
    let sdk = r#""library":{"name":"analytics-python","version":"2.4.0"}"#;
    let backend = judge_all(&mut gate, &ingest, &order("o1", "customer-1", sdk)).remove(0);
    assert!(matches!(backend, Outcome::Valid(_)), "{backend:?}");
    let script = judge_all(&mut gate, &ingest, &order("o2", "customer-2", "")).remove(0);
    assert!(
        matches!(
            script,
            Outcome::Rejected {
                rule: "no_user_agent",
                ..
            }
        ),
        "{script:?}"
    );
    // A user agent that says nothing is no better for a message no SDK made.
    let blank = judge_all(
        &mut gate,
        &ingest,
        &order("o3", "customer-3", r#""userAgent":"x""#),
    )
    .remove(0);
    assert!(matches!(blank, Outcome::Rejected { .. }), "{blank:?}");
}

/// Visitors `{prefix}-{i}`, `i` in `visitors`, each start a visit from `address(i)`, 2 s
/// apart; the rule each is stopped by, if any.
fn visits_from(
    gate: &mut Judge,
    ingest: &Ingest,
    prefix: &str,
    visitors: std::ops::Range<usize>,
    address: impl Fn(usize) -> String,
) -> Vec<Option<&'static str>> {
    visitors
        .map(|i| {
            let raw = message(
                "page",
                &format!("{prefix}-m{i}"),
                &format!("{prefix}-{i}"),
                &format!("2026-01-01T10:00:{:02}Z", i * 2),
                &format!(r#""userAgent":"{CHROME}","ip":"{}""#, address(i)),
                "",
            );
            let outcome = judge_all(gate, ingest, &raw).remove(0);
            if let Outcome::Valid(e) | Outcome::Rejected { event: e, .. } = &outcome {
                assert_eq!(e.address_key, None, "the gate takes the sender's key");
            }
            rule_of(outcome)
        })
        .collect()
}

#[test]
fn the_ip_rate_counts_senders_not_the_networks_kept() {
    let ingest = Ingest::new(privacy());
    let mut gate = Judge::new(GateConfig::default());
    // Five visits allowed, the other fifteen stopped.
    let mut burst = vec![None; 5];
    burst.resize(20, Some("ip_rate"));
    // Twenty visitors of one provider's /24 (kept as 203.0.113.0), one address each: twenty
    // senders, none over 5 visits a minute.
    let neighbours = visits_from(&mut gate, &ingest, "n", 0..20, |i| {
        format!("203.0.113.{}", i + 1)
    });
    assert_eq!(neighbours, vec![None; 20]);
    // Twenty visits from one address, IPv4-mapped or not: the sixth and after are stopped.
    let one = visits_from(&mut gate, &ingest, "b", 0..20, |i| {
        ["198.51.100.7", "::ffff:198.51.100.7"][i % 2].to_owned()
    });
    assert_eq!(one, burst);
    // IPv6: a subscriber's /64 is one sender whatever its devices pick; the /64s of one /48
    // (kept as 2001:db8:7::) are not.
    let devices = visits_from(&mut gate, &ingest, "d", 0..20, |i| {
        format!("2001:db8:5:1::{i:x}")
    });
    assert_eq!(devices, burst);
    let subscribers = visits_from(&mut gate, &ingest, "s", 0..20, |i| {
        format!("2001:db8:7:{i:x}::1")
    });
    assert_eq!(subscribers, vec![None; 20]);
    // Configurable: an office whose twenty visitors share one address.
    let mut office = Judge::new(GateConfig {
        ip_rate_max_visits: 50,
        ..GateConfig::default()
    });
    let shared = visits_from(&mut office, &ingest, "o", 0..20, |_| {
        "192.0.2.44".to_owned()
    });
    assert_eq!(shared, vec![None; 20]);
    for bad in [(0, 60), (5, 0), (5, 86_401)] {
        let config = GateConfig {
            ip_rate_max_visits: bad.0,
            ip_rate_window_seconds: bad.1,
            ..GateConfig::default()
        };
        assert!(Gate::new(config).is_err(), "{bad:?}");
    }
}

#[test]
fn the_ip_rate_restores_its_tallies_and_starts_afresh_from_truncated_addresses() {
    let ingest = Ingest::new(privacy());
    let address = |_| "198.51.100.7".to_owned();
    let mut gate = Judge::new(GateConfig::default());
    visits_from(&mut gate, &ingest, "a", 0..5, address);
    let snapshot = gate.gate.snapshot().unwrap();
    // Restored, the sender's five visits are remembered: its sixth is stopped.
    let mut restored = Judge::new(GateConfig::default());
    restored.gate.restore(&snapshot).unwrap();
    let sixth = |gate: &mut Judge| visits_from(gate, &ingest, "a", 5..6, address)[0];
    assert_eq!(sixth(&mut restored), Some("ip_rate"));
    // An earlier version's checkpoint counted by truncated address: restored with no tallies.
    let mut stored: serde_json::Value = serde_json::from_str(snapshot.get()).unwrap();
    let rules = stored["rules"].as_array_mut().unwrap();
    let ip_rate = rules.iter_mut().find(|r| r[0] == "ip_rate").unwrap();
    let tallies = ip_rate[1].as_object_mut().unwrap();
    assert_eq!(tallies.len(), 1, "one sender");
    let times = tallies.values().next().unwrap().clone();
    ip_rate[1] = serde_json::json!({ "198.51.100.0": times });
    let old = websight_core::snapshot::Snapshot::of(&stored).unwrap();
    let mut upgraded = Judge::new(GateConfig::default());
    upgraded.gate.restore(&old).unwrap();
    assert_eq!(sixth(&mut upgraded), None);
}

/// One visitor's `steps` from 10:00 — at a number of seconds, a view of a path (`/…`) or a
/// track event by name — the rule each is stopped by, if any.
fn steps_of(
    gate: &mut Judge,
    ingest: &Ingest,
    anon: &str,
    steps: &[(f64, &str)],
) -> Vec<Option<&'static str>> {
    let start = chrono::DateTime::from_timestamp(1_767_261_600, 0).unwrap();
    let context = format!(r#""userAgent":"{CHROME}","ip":"203.0.113.50""#);
    steps
        .iter()
        .map(|(seconds, what)| {
            let at = start + chrono::TimeDelta::milliseconds((seconds * 1000.0) as i64);
            let at = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let id = format!("{anon}-{seconds}");
            let raw = match what.strip_prefix('/') {
                Some(_) => message(
                    "page",
                    &id,
                    anon,
                    &at,
                    &context,
                    &format!(r#","properties":{{"path":"{what}"}}"#),
                ),
                None => message(
                    "track",
                    &id,
                    anon,
                    &at,
                    &context,
                    &format!(r#","event":"{what}""#),
                ),
            };
            verdict(gate, ingest, &raw)
        })
        .collect()
}

#[test]
fn a_fast_start_loses_one_page_not_the_visit_and_a_scraper_stays_stopped() {
    let ingest = Ingest::new(privacy());
    let mut gate = Judge::new(GateConfig::default());
    // The landing reported twice (the snippet's page view and a single-page router's), two
    // quick clicks through the menu, then reading, the cart and an order: the third page is
    // skimmed, the visit is not (it was lost whole, order included, when the verdict stuck).
    let human = [
        (0.0, "/"),
        (0.04, "/"),
        (0.9, "/sofas"),
        (1.8, "/sofas/oslo"),
        (40.0, "Product Added"),
        (95.0, "Order Completed"),
        (130.0, "/thanks"),
    ];
    let skimmed = Some("sub_second_dwell");
    let expected = [None, None, None, skimmed, None, None, None];
    assert_eq!(steps_of(&mut gate, &ingest, "fast", &human), expected);
    // The same with the router's page view arriving after the second page.
    let mut reordered = human;
    reordered.swap(1, 2);
    assert_eq!(
        steps_of(&mut gate, &ingest, "reordered", &reordered),
        expected
    );
    // From a checkpoint taken mid-visit the same — one of before, without the page last
    // counted, too.
    let mut first = Judge::new(GateConfig::default());
    steps_of(&mut first, &ingest, "resumed", &human[..3]);
    let snapshot = first.gate.snapshot().unwrap();
    let mut stored: serde_json::Value = serde_json::from_str(snapshot.get()).unwrap();
    let rules = stored["rules"].as_array_mut().unwrap();
    let dwell = rules
        .iter_mut()
        .find(|r| r[0] == "sub_second_dwell")
        .unwrap();
    for pages in dwell[1].as_object_mut().unwrap().values_mut() {
        let pages = pages.as_object_mut().unwrap();
        assert!(pages.remove("recent").is_some());
    }
    let old = websight_core::snapshot::Snapshot::of(&stored).unwrap();
    for snapshot in [snapshot, old] {
        let mut restored = Judge::new(GateConfig::default());
        restored.gate.restore(&snapshot).unwrap();
        let rest = steps_of(&mut restored, &ingest, "resumed", &human[3..]);
        assert_eq!(rest, expected[3..]);
    }
    // A scraper: a product page every 0.4 s, a click on each: stopped from its third page,
    // clicks included, for as long as it keeps the pace.
    let scraper: Vec<(f64, String)> = (0..20)
        .flat_map(|i| {
            let t = f64::from(i) * 0.4;
            [
                (t, format!("/products/{i}")),
                (t + 0.1, "Product Clicked".into()),
            ]
        })
        .collect();
    let scraper: Vec<(f64, &str)> = scraper.iter().map(|(t, s)| (*t, s.as_str())).collect();
    let mut expected = vec![None; 4];
    expected.resize(40, skimmed);
    assert_eq!(steps_of(&mut gate, &ingest, "scraper", &scraper), expected);
}

#[test]
fn a_login_continues_the_visit() {
    // Three colleagues behind one office address each land, log in and order within a
    // minute: three visits, not six (a login is no new visit), so the address's rate of
    // five visits a minute is not reached and nobody's visit is lost.
    let ingest = Ingest::new(privacy());
    let mut gate = Judge::new(GateConfig::default());
    let context = format!(r#""userAgent":"{CHROME}","ip":"192.0.2.44""#);
    let mut outcomes = Vec::new();
    for i in 0..3 {
        let (anon, user) = (format!("office-device-{i}"), format!("colleague-{i}"));
        let at = |s: u32| format!("2026-01-01T10:00:{:02}Z", s + i * 3);
        let ids = format!(r#","userId":"{user}""#);
        let steps = [
            message("page", &format!("{anon}-1"), &anon, &at(0), &context, ""),
            message(
                "identify",
                &format!("{anon}-2"),
                &anon,
                &at(20),
                &context,
                &ids,
            ),
            message("page", &format!("{anon}-3"), &anon, &at(30), &context, &ids),
            message(
                "track",
                &format!("{anon}-4"),
                &anon,
                &at(45),
                &context,
                &format!(
                    r#"{ids},"event":"Order Completed","properties":{{"order_id":"o{i}","revenue":50,"currency":"EUR"}}"#
                ),
            ),
        ];
        for raw in steps {
            outcomes.extend(judge_all(&mut gate, &ingest, &raw));
        }
    }
    let rejected: Vec<_> = outcomes
        .iter()
        .filter(|o| !matches!(o, Outcome::Valid(_)))
        .collect();
    assert!(rejected.is_empty(), "{rejected:?}");
    // One visit each, counted for the device and for the user.
    let orders = outcomes.iter().filter_map(|o| match o {
        Outcome::Valid(e) if e.properties.order_id.is_some() => Some(e),
        _ => None,
    });
    for order in orders {
        for id in [&order.anonymous_id, &order.user_id] {
            assert_eq!(gate.state.visits_of(id.as_deref().unwrap()), 1);
        }
    }
    assert_eq!(gate.state.users_with_sessions(), 6);
}

#[test]
fn a_login_keeps_the_rules_tallies() {
    // A scraper skims three pages in 0.6 s (stopped from the third), logs in at 0.9 s and
    // skims on as the user: still stopped — a login moves the device's pages to the user
    // rather than starting them afresh.
    let ingest = Ingest::new(privacy());
    let mut gate = Judge::new(GateConfig::default());
    let context = format!(r#""userAgent":"{CHROME}""#);
    let user = r#","userId":"scraper-account""#;
    let steps: Vec<Vec<u8>> = [
        ("page", 0, "/a", ""),
        ("page", 300, "/b", ""),
        ("page", 600, "/c", ""),
        ("identify", 900, "", user),
        ("page", 1200, "/d", user),
        ("page", 1500, "/e", user),
    ]
    .into_iter()
    .map(|(kind, ms, path, ids)| {
        let at = format!("2026-01-01T10:00:0{}.{:03}Z", ms / 1000, ms % 1000);
        let props = match path {
            "" => ids.to_owned(),
            path => format!(r#"{ids},"properties":{{"path":"{path}"}}"#),
        };
        message(
            kind,
            &format!("s{ms}"),
            "scraper-device",
            &at,
            &context,
            &props,
        )
    })
    .collect();
    let rules: Vec<_> = steps
        .iter()
        .map(|raw| verdict(&mut gate, &ingest, raw))
        .collect();
    let skimmed = Some("sub_second_dwell");
    assert_eq!(rules, [None, None, skimmed, skimmed, skimmed, skimmed]);
}

#[test]
fn a_burst_of_new_visits_from_a_shared_address_stops_them_not_the_open_visits() {
    // A mobile carrier's NAT: a customer lands at 10:00:00 and orders at 10:00:50, while
    // eight other people start visits from the same address at 10:00:10..24. The sixth
    // visit started and later are stopped whole (their next pages too); the customer's
    // visit, open before the burst, keeps its order.
    let ingest = Ingest::new(privacy());
    let mut gate = Judge::new(GateConfig::default());
    let context = format!(r#""userAgent":"{CHROME}","ip":"198.51.100.60""#);
    let page = |id: &str, who: &str, at: &str| message("page", id, who, at, &context, "");
    let landing = page("c1", "customer", "2026-01-01T10:00:00Z");
    let mut rules = vec![verdict(&mut gate, &ingest, &landing)];
    for i in 0..8 {
        let at = format!("2026-01-01T10:00:{:02}Z", 10 + i * 2);
        let raw = page(&format!("n{i}"), &format!("neighbour-{i}"), &at);
        rules.push(verdict(&mut gate, &ingest, &raw));
    }
    for i in 0..8 {
        let at = format!("2026-01-01T10:00:{:02}Z", 30 + i);
        let raw = page(&format!("n{i}-2"), &format!("neighbour-{i}"), &at);
        rules.push(verdict(&mut gate, &ingest, &raw));
    }
    let order = message(
        "track",
        "c2",
        "customer",
        "2026-01-01T10:00:50Z",
        &context,
        r#","event":"Order Completed","properties":{"order_id":"o1","revenue":80,"currency":"EUR"}"#,
    );
    rules.push(verdict(&mut gate, &ingest, &order));
    let stopped = Some("ip_rate");
    let mut expected = vec![None; 5];
    expected.extend([stopped; 4]);
    expected.extend([None; 4]);
    expected.extend([stopped; 4]);
    expected.push(None);
    assert_eq!(rules, expected);
}

#[test]
fn an_order_by_the_pallet_passes_and_the_quantity_limit_is_a_setting() {
    // A trade customer orders 2,400 screws: ordinary by default (10,000 units a product);
    // impossible for a shop that set its limit to 1,000; a limit of 0 is refused.
    let ingest = Ingest::new(privacy());
    let context = format!(r#""userAgent":"{CHROME}""#);
    let order = message(
        "track",
        "pallet",
        "trade-customer",
        "2026-01-01T10:00:00Z",
        &context,
        r#","event":"Order Completed","properties":{"order_id":"t1","revenue":240,"currency":"EUR","products":[{"product_id":"screw","price":0.1,"quantity":2400}]}"#,
    );
    let with_limit = |max_quantity| {
        let mut gate = Judge::new(GateConfig {
            max_quantity,
            ..GateConfig::default()
        });
        verdict(&mut gate, &ingest, &order)
    };
    assert_eq!(with_limit(GateConfig::default().max_quantity), None);
    assert_eq!(with_limit(2_400), None);
    assert_eq!(with_limit(1_000), Some("impossible_figures"));
    let zero = GateConfig {
        max_quantity: 0,
        ..GateConfig::default()
    };
    assert!(Gate::new(zero).is_err());
}

#[test]
fn money_limits_follow_the_currency() {
    // A laptop in Seoul, a phone in Jakarta, a sofa in Tokyo: ordinary orders in currencies
    // of many units a dollar pass; the same figures in dollars, or without a currency (taken
    // as dollars), and absurd ones in won are impossible.
    let ingest = Ingest::new(privacy());
    let mut gate = Judge::new(GateConfig::default());
    let context = format!(r#""userAgent":"{CHROME}""#);
    let mut order = |id: &str, price: &str, currency: Option<&str>| {
        let currency = currency.map_or(String::new(), |c| format!(r#","currency":"{c}""#));
        let raw = message(
            "track",
            id,
            &format!("buyer-{id}"),
            "2026-01-01T10:00:00Z",
            &context,
            &format!(
                r#","event":"Order Completed","properties":{{"order_id":"{id}","revenue":{price}{currency},"products":[{{"product_id":"p","price":{price},"quantity":1}}]}}"#
            ),
        );
        verdict(&mut gate, &ingest, &raw)
    };
    let impossible = Some("impossible_figures");
    assert_eq!(order("seoul", "1590000", Some("KRW")), None);
    assert_eq!(order("jakarta", "25000000", Some("idr")), None);
    assert_eq!(order("tokyo", "189000", Some("JPY")), None);
    assert_eq!(order("hanoi", "45990000", Some("VND")), None);
    assert_eq!(order("berlin", "1590000", Some("EUR")), impossible);
    assert_eq!(order("nowhere", "1590000", None), impossible);
    assert_eq!(order("absurd", "90000000000000", Some("KRW")), impossible);
    assert_eq!(order("refund", "-5", Some("KRW")), impossible);
}

#[test]
fn a_retry_is_a_duplicate_for_a_day_after_arrival_whatever_its_date() {
    let ingest = Ingest::new(privacy());
    let mut gate = Judge::new(GateConfig::default());
    let context = format!(r#""userAgent":"{CHROME}","ip":"203.0.113.7""#);
    // Seconds after 2026-01-10T10:00:00Z, as RFC 3339.
    let at = |seconds: i64| {
        let start = chrono::DateTime::<chrono::Utc>::from_timestamp(1_768_039_200, 0).unwrap();
        (start + chrono::TimeDelta::seconds(seconds))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let judge = |gate: &mut Judge, id: &str, person: &str, time: &str, received: i64| {
        let received = format!(r#","receivedAt":"{}""#, at(received));
        let raw = message("page", id, person, time, &context, &received);
        judge_all(gate, &ingest, &raw).remove(0)
    };
    // Live traffic, an event a second from `from` for two hours: the gate sweeps its state.
    let live = |gate: &mut Judge, from: i64| {
        for s in from..from + 7_200 {
            judge(
                gate,
                &format!("live-{s}"),
                &format!("v-{}", s / 5),
                &at(s),
                s,
            );
        }
    };
    // A message dated nine days back (a queue flushed late, an import), then its retries.
    let old = "2026-01-01T10:00:00Z";
    let first = judge(&mut gate, "old-1", "late-visitor", old, 0);
    assert!(!matches!(first, Outcome::Duplicate { .. }), "{first:?}");
    live(&mut gate, 0);
    let retry = judge(&mut gate, "old-1", "late-visitor", old, 7_200);
    assert!(
        matches!(retry, Outcome::Duplicate { .. }),
        "two hours on: {retry:?}"
    );
    // Over a day of arrivals later the id is forgotten, and the gate holds only the ids of
    // the last day: the second two hours'.
    live(&mut gate, 25 * 3_600);
    let held = gate.gate.held();
    assert_eq!(held.message_ids, 7_200, "{held:?}");
    let much_later = judge(&mut gate, "old-1", "late-visitor", old, 27 * 3_600);
    assert!(
        !matches!(much_later, Outcome::Duplicate { .. }),
        "{much_later:?}"
    );
    assert!(gate.gate.stats().is_conserved());
    assert_eq!(gate.gate.stats().duplicates, 1);
}
