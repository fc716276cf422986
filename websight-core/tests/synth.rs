//! The generator: determinism, invariants, planted labels, streaming, learnability.

use std::collections::{BTreeMap, HashMap, HashSet};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use websight_core::metrics::roc_auc;
use websight_core::model::{Action, DeviceType, PartOfDay, Referrer};
use websight_core::synth::{AbuseKind, Generator, SynthConfig, SyntheticSession, bot_user_agents};

fn generator(sessions: u64, seed: u64) -> Generator {
    Generator::new(SynthConfig {
        sessions,
        seed,
        ..SynthConfig::default()
    })
    .unwrap()
}

fn jsonl(g: &Generator) -> (Vec<u8>, Vec<u8>) {
    let (mut records, mut events) = (Vec::new(), Vec::new());
    g.write_session_records(&mut records).unwrap();
    g.write_events(&mut events).unwrap();
    (records, events)
}

#[test]
fn same_seed_gives_byte_identical_output_and_other_seeds_differ() {
    let a = jsonl(&generator(2_000, 11));
    let b = jsonl(&generator(2_000, 11));
    assert!(a.0 == b.0 && a.1 == b.1, "same seed, different bytes");
    let c = jsonl(&generator(2_000, 12));
    assert_ne!(a.0, c.0);
    assert_ne!(a.1, c.1);
}

#[test]
fn invalid_configs_are_refused() {
    for config in [
        SynthConfig {
            users: 0,
            ..SynthConfig::default()
        },
        SynthConfig {
            days: 0,
            ..SynthConfig::default()
        },
        SynthConfig {
            bot_share: 1.5,
            ..SynthConfig::default()
        },
        SynthConfig {
            bot_share: 0.5,
            abuse_share: 0.5,
            ..SynthConfig::default()
        },
        SynthConfig {
            disorder: websight_core::synth::Disorder {
                late_share: -0.1,
                ..Default::default()
            },
            ..SynthConfig::default()
        },
    ] {
        assert!(Generator::new(config).is_err());
    }
}

#[test]
fn sessions_are_well_formed_ordered_and_exactly_counted() {
    let g = generator(20_000, 5);
    let c = g.config().clone();
    let end = c.start + chrono::Duration::days(i64::from(c.days));
    let mut previous = c.start;
    let mut ids = HashSet::new();
    let mut n = 0;
    for s in g.sessions() {
        n += 1;
        let session = &s.session;
        session.validate().unwrap();
        assert!(
            session.started_at >= previous,
            "sessions out of start order"
        );
        assert!(session.started_at < end + chrono::Duration::minutes(1));
        previous = session.started_at;
        assert!(ids.insert(session.id.clone()), "duplicate session id");
        assert!((0.0..=1.0).contains(&s.truth.purchase_probability));
        assert_eq!(s.truth.review_sentiments.len(), session.reviews.len());
        if let Some(order) = &session.order {
            // An order ends with the checkout page and charges the cart.
            assert_eq!(session.events.last().unwrap().action, Action::Checkout);
            let cart: f64 = session
                .cart_products()
                .iter()
                .map(|&p| c.catalogue.get(p).unwrap().price)
                .sum();
            assert_eq!(order.amount, cart);
            assert!(s.truth.abuse.is_none());
        }
        if session.cart_products().is_empty() {
            assert_eq!(s.truth.purchase_probability, 0.0);
        }
        for r in &session.reviews {
            assert!(
                session
                    .order
                    .as_ref()
                    .unwrap()
                    .products
                    .contains(&r.product)
            );
        }
    }
    assert_eq!(n, 20_000);
}

#[test]
fn purchase_rate_and_traffic_shape_are_in_their_documented_bands() {
    let sessions: Vec<SyntheticSession> = generator(30_000, 9).sessions().collect();
    let n = sessions.len() as f64;
    let rate =
        |f: &dyn Fn(&SyntheticSession) -> bool| sessions.iter().filter(|s| f(s)).count() as f64 / n;
    let purchase = rate(&|s| s.session.purchased());
    assert!(
        (0.06..=0.15).contains(&purchase),
        "purchase rate {purchase}"
    );
    let cart = rate(&|s| !s.session.cart_products().is_empty());
    let abandoned = cart - purchase;
    assert!(
        abandoned > purchase,
        "most carts are abandoned: cart {cart}, purchase {purchase}"
    );
    let bounce = rate(&|s| s.truth.abuse.is_none() && s.session.page_views() == 1);
    assert!((0.1..=0.4).contains(&bounce), "bounce rate {bounce}");
    let returning = rate(&|s| s.truth.returning);
    assert!(
        (0.5..=0.95).contains(&returning),
        "returning share {returning}"
    );
    // Evening traffic outweighs the night's.
    let evening = rate(&|s| {
        PartOfDay::from_hour(chrono::Timelike::hour(&s.session.started_at)) == PartOfDay::Evening
    });
    let morning_small_hours =
        rate(&|s| (2..5).contains(&chrono::Timelike::hour(&s.session.started_at)));
    assert!(evening > 4.0 * morning_small_hours);
    // Expected purchases under the true probabilities match the drawn ones.
    let expected: f64 = sessions.iter().map(|s| s.truth.purchase_probability).sum();
    let drawn = purchase * n;
    assert!(
        (drawn - expected).abs() < 4.0 * expected.sqrt(),
        "drawn {drawn}, expected {expected}"
    );
}

#[test]
fn planted_abuse_is_labelled_with_its_traits() {
    let g = generator(40_000, 21);
    let c = g.config().clone();
    let mut by_kind: BTreeMap<AbuseKind, u64> = BTreeMap::new();
    let mut burst_ips: HashMap<std::net::IpAddr, Vec<chrono::DateTime<chrono::Utc>>> =
        HashMap::new();
    let mut total = 0u64;
    for s in g.sessions() {
        total += 1;
        let Some(kind) = s.truth.abuse else {
            assert!(!bot_user_agents().contains(&s.session.user_agent.as_str()));
            continue;
        };
        *by_kind.entry(kind).or_default() += 1;
        let session = &s.session;
        assert!(!session.purchased() && !s.truth.returning);
        match kind {
            AbuseKind::Bot => assert!(bot_user_agents().contains(&session.user_agent.as_str())),
            AbuseKind::SubSecondDwell => {
                assert!(session.events.iter().all(|e| e.dwell_seconds < 1.0));
            }
            AbuseKind::UnknownDeviceReferrer => {
                assert_eq!(session.device.device_type, DeviceType::Unknown);
                assert_eq!(session.referrer, Referrer::Unknown);
            }
            AbuseKind::ImpossibleSession => assert!(
                session
                    .events
                    .iter()
                    .any(|e| e.clicks >= 300 || e.dwell_seconds >= 8.0 * 3600.0)
            ),
            AbuseKind::IpBurst => burst_ips
                .entry(session.ip)
                .or_default()
                .push(session.started_at),
        }
    }
    assert_eq!(by_kind.len(), 5, "every kind is planted: {by_kind:?}");
    let share = |k| by_kind[&k] as f64 / total as f64;
    assert!(
        (share(AbuseKind::Bot) - c.bot_share).abs() < 0.01,
        "{by_kind:?}"
    );
    for kind in &AbuseKind::ALL[1..] {
        let expected = c.abuse_share / 4.0;
        assert!(
            (share(*kind) - expected).abs() < expected * 0.5,
            "{kind:?}: {by_kind:?}"
        );
    }
    for (ip, starts) in burst_ips {
        assert!(starts.len() >= 20, "{ip} burst of {}", starts.len());
        let span = *starts.iter().max().unwrap() - *starts.iter().min().unwrap();
        assert!(
            span <= chrono::Duration::seconds(60),
            "{ip} burst spans {span}"
        );
    }
}

#[test]
fn event_stream_delivers_every_event_once_with_bounded_disorder_and_memory() {
    let g = generator(20_000, 8);
    // Each page is a page call and its e-commerce track; orders add identify, payment and
    // order calls; reviews their own; impossible sessions an extra cart add.
    let expected: usize = g
        .sessions()
        .map(|s| {
            let mut n = 2 * s.session.page_views() + s.session.reviews.len();
            n += 3 * usize::from(s.session.order.is_some());
            n += usize::from(
                s.truth.abuse == Some(websight_core::synth::AbuseKind::ImpossibleSession),
            );
            n
        })
        .sum();
    let mut seen = HashSet::new();
    let mut previous_arrival = None;
    let (mut behind, mut very_late) = (0usize, 0usize);
    let mut newest = None;
    let mut ended = HashSet::new();
    let mut stream = g.events();
    for e in stream.by_ref() {
        assert!(
            seen.insert(e.event.message_id.clone()),
            "event delivered twice"
        );
        assert!(
            !ended.contains(&e.session),
            "an event after its session's last"
        );
        if e.last_of_session {
            ended.insert(e.session.clone());
        }
        assert!(
            previous_arrival.is_none_or(|p| e.arrival >= p),
            "not in arrival order"
        );
        previous_arrival = Some(e.arrival);
        assert!(e.delay_seconds() >= 0.0);
        if newest.is_some_and(|t| e.event.time < t) {
            behind += 1;
        }
        newest = newest.max(Some(e.event.time));
        very_late += usize::from(e.very_late);
        if !e.very_late {
            assert!(e.delay_seconds() < 120.0);
        }
    }
    assert_eq!(seen.len(), expected);
    assert_eq!(
        ended.len() as u64,
        g.config().sessions,
        "one last event per session"
    );
    let share = very_late as f64 / expected as f64;
    assert!((0.002..0.01).contains(&share), "very late share {share}");
    assert!(behind > expected / 100, "some out-of-orderness: {behind}");
    let small_peak = stream.peak_in_flight();

    // Ten times the traffic over ten times the period: the events held at once stay flat.
    let big = Generator::new(SynthConfig {
        sessions: 200_000,
        days: 280,
        seed: 8,
        ..SynthConfig::default()
    })
    .unwrap();
    let mut big_stream = big.events();
    let count = big_stream.by_ref().count();
    assert!(count > 10 * expected / 2);
    assert!(
        big_stream.peak_in_flight() < 3 * small_peak.max(50),
        "peak in flight grew from {small_peak} to {}",
        big_stream.peak_in_flight()
    );
}

/// The session features a purchase model may use: behaviour before checkout only.
fn features(s: &SyntheticSession) -> Vec<f64> {
    let session = &s.session;
    let product_dwell: f64 = session
        .events
        .iter()
        .filter(|e| e.product.is_some())
        .map(|e| e.dwell_seconds)
        .sum();
    let mut x = vec![
        1.0,
        (session.cart_products().len() as f64).ln_1p(),
        (product_dwell / 60.0).ln_1p(),
        f64::from(u8::from(s.truth.returning)),
        (session.count(Action::ViewItem) as f64).ln_1p(),
    ];
    x.extend(
        Referrer::ALL
            .iter()
            .map(|r| f64::from(u8::from(session.referrer == *r))),
    );
    x.extend(
        DeviceType::ALL
            .iter()
            .map(|d| f64::from(u8::from(session.device.device_type == *d))),
    );
    let part = PartOfDay::from_hour(chrono::Timelike::hour(&session.started_at));
    x.extend(
        PartOfDay::ALL
            .iter()
            .map(|p| f64::from(u8::from(part == *p))),
    );
    x
}

/// Plain batch gradient descent on the logistic loss (test helper, not the library's model).
fn fit_logistic(x: &[Vec<f64>], y: &[bool]) -> Vec<f64> {
    let d = x[0].len();
    let mut w = vec![0.0; d];
    for _ in 0..400 {
        let mut grad = vec![0.0; d];
        for (xi, &yi) in x.iter().zip(y) {
            let z: f64 = xi.iter().zip(&w).map(|(a, b)| a * b).sum();
            let err = 1.0 / (1.0 + (-z).exp()) - f64::from(u8::from(yi));
            grad.iter_mut().zip(xi).for_each(|(g, v)| *g += err * v);
        }
        w.iter_mut()
            .zip(&grad)
            .for_each(|(wi, g)| *wi -= 0.5 * g / x.len() as f64);
    }
    w
}

#[test]
fn purchase_is_learnable_from_behaviour() {
    let sessions: Vec<SyntheticSession> = generator(30_000, 77)
        .sessions()
        .filter(|s| s.truth.abuse.is_none())
        .collect();
    // Split by user: no user on both sides.
    let test_side = |s: &SyntheticSession| s.session.user.id.as_str().as_bytes()[0] % 10 < 3;
    let (test, train): (Vec<_>, Vec<_>) = sessions.iter().partition(|s| test_side(s));
    let train_users: HashSet<_> = train.iter().map(|s| &s.session.user.id).collect();
    assert!(
        test.iter()
            .all(|s| !train_users.contains(&s.session.user.id))
    );

    let x_train: Vec<Vec<f64>> = train.iter().map(|s| features(s)).collect();
    let y_train: Vec<bool> = train.iter().map(|s| s.session.purchased()).collect();
    let x_test: Vec<Vec<f64>> = test.iter().map(|s| features(s)).collect();
    let y_test: Vec<bool> = test.iter().map(|s| s.session.purchased()).collect();
    let score = |w: &[f64]| -> Vec<f64> {
        x_test
            .iter()
            .map(|x| x.iter().zip(w).map(|(a, b)| a * b).sum())
            .collect()
    };

    let model_auc = roc_auc(&score(&fit_logistic(&x_train, &y_train)), &y_test).unwrap();
    // Shuffled-label baseline: the same model trained on randomly permuted labels.
    let mut shuffled = y_train.clone();
    shuffled.shuffle(&mut ChaCha8Rng::seed_from_u64(1));
    let baseline_auc = roc_auc(&score(&fit_logistic(&x_train, &shuffled)), &y_test).unwrap();
    let bayes: Vec<f64> = test.iter().map(|s| s.truth.purchase_probability).collect();
    let bayes_auc = roc_auc(&bayes, &y_test).unwrap();
    println!(
        "AUC: model {model_auc:.3}, shuffled-label baseline {baseline_auc:.3}, Bayes-optimal {bayes_auc:.3}"
    );
    assert!(
        model_auc > baseline_auc + 0.25,
        "model {model_auc} vs baseline {baseline_auc}"
    );
    assert!((baseline_auc - 0.5).abs() < 0.1, "baseline {baseline_auc}");
    assert!(
        model_auc <= bayes_auc + 0.01,
        "no model beats the Bayes-optimal ranking"
    );
    assert!(
        model_auc > bayes_auc - 0.03,
        "model {model_auc} vs Bayes {bayes_auc}"
    );
}
