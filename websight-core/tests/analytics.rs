//! Stream analytics: conservation, late policy, sessionisation, KPIs against direct
//! computation, documents, and merging partitions.

use chrono::TimeZone;
use proptest::prelude::*;
use websight_core::analytics::{AnalyticsConfig, StreamAnalytics};
use websight_core::gate::hash64;
use websight_core::model::{Catalogue, PartOfDay};
use websight_core::synth::{Generator, SynthConfig, SyntheticSession};

fn generator(sessions: u64, seed: u64) -> Generator {
    Generator::new(SynthConfig {
        sessions,
        seed,
        bot_share: 0.0,
        abuse_share: 0.0,
        ..SynthConfig::default()
    })
    .unwrap()
}

fn patient() -> AnalyticsConfig {
    // Lateness beyond the generator's longest delay: nothing is too late.
    AnalyticsConfig {
        allowed_lateness_seconds: 3 * 3600,
        ..AnalyticsConfig::default()
    }
}

#[test]
fn every_event_is_sessionised_late_or_buffered() {
    let g = generator(5_000, 1);
    let strict = AnalyticsConfig {
        allowed_lateness_seconds: 60,
        ..AnalyticsConfig::default()
    };
    let mut a = StreamAnalytics::new(strict, Catalogue::furniture()).unwrap();
    let mut late_truth = 0;
    for (i, e) in g.events().enumerate() {
        late_truth += usize::from(e.very_late);
        a.ingest(e.record);
        if i % 997 == 0 {
            let c = a.counts();
            assert_eq!(c.ingested, c.sessionised + c.late + c.buffered, "{c:?}");
        }
    }
    a.flush();
    let c = a.counts();
    assert_eq!(c.buffered, 0);
    assert_eq!(c.ingested, c.sessionised + c.late);
    let docs = a.drain();
    assert_eq!(docs.late.len() as u64, c.late);
    // With one minute of lateness most very late events (2–30 min) are refused, never lost.
    assert!(
        c.late > 0 && c.late as usize <= late_truth + 10,
        "late {} of {late_truth} very late",
        c.late
    );
    let pages: u64 = docs.sessions.iter().map(|s| u64::from(s.page_views)).sum();
    assert_eq!(pages, c.sessionised);
}

#[test]
fn kpis_agree_with_the_generated_sessions() {
    let g = generator(8_000, 2);
    let truth: Vec<SyntheticSession> = g.sessions().collect();
    let mut a = StreamAnalytics::new(patient(), Catalogue::furniture()).unwrap();
    for e in g.events() {
        a.ingest(e.record);
    }
    a.flush();
    let docs = a.drain();
    let d = a.dashboard();
    assert_eq!(a.counts().late, 0);

    // Sessionisation by a 30-minute gap finds the generated sessions (a user's two sessions
    // closer than 30 minutes merge, rarely).
    let generated = truth.len() as f64;
    assert!(
        docs.sessions.len() as f64 <= generated && docs.sessions.len() as f64 > 0.97 * generated,
        "{} sessions from {generated}",
        docs.sessions.len()
    );
    // Money and units are exact whatever the sessionisation.
    let revenue: f64 = truth
        .iter()
        .filter_map(|s| s.session.order.as_ref())
        .map(|o| o.amount)
        .sum();
    assert_eq!(d.revenue_cents, (revenue * 100.0).round() as i64);
    let units: u64 = truth
        .iter()
        .filter_map(|s| s.session.order.as_ref())
        .map(|o| o.products.len() as u64)
        .sum();
    let counted: u64 = Catalogue::furniture()
        .products()
        .iter()
        .map(|p| d.products.purchases.get(&p.id))
        .sum();
    assert_eq!(counted, units);
    let views: u64 = truth
        .iter()
        .map(|s| s.session.count(websight_core::model::Action::ViewItem) as u64)
        .sum();
    assert_eq!(
        d.products
            .views
            .top(100)
            .iter()
            .map(|(_, n)| n)
            .sum::<u64>(),
        views
    );
    assert!(d.products.views.is_exact());

    // Funnel and payment mix.
    let f = &d.funnel;
    assert!(f.sessions >= f.viewed && f.viewed >= f.carted && f.carted >= f.purchased);
    assert_eq!(f.sessions as usize, docs.sessions.len());
    let orders = truth.iter().filter(|s| s.session.order.is_some()).count() as u64;
    assert_eq!(d.payments.values().sum::<u64>(), orders);
    assert!(f.purchased <= orders && f.purchased + 5 >= orders);
    assert_eq!(d.abandoned_carts, f.carted - f.purchased);
    let (view_to_cart, _, checkout_to_buy) = f.rates();
    assert!(view_to_cart > 0.0 && checkout_to_buy > 0.5);

    // Windows add up to the totals.
    assert_eq!(
        docs.windows.iter().map(|w| w.sessions).sum::<u64>(),
        f.sessions
    );
    let window_revenue: f64 = docs.windows.iter().map(|w| w.revenue).sum();
    assert!((window_revenue - d.revenue()).abs() < 1e-6);
    assert!(
        docs.windows
            .windows(2)
            .all(|w| w[0].window_end <= w[1].window_start)
    );
    for w in &docs.windows {
        assert!((0.0..=1.0).contains(&w.bounce_rate) && w.engaged_sessions <= w.sessions);
    }
    assert!(docs.windows.iter().any(|w| w.current_visitors > 0));

    // Sentiment: one product_sentiment document per review, counted per category.
    let reviews: usize = truth.iter().map(|s| s.session.reviews.len()).sum();
    assert_eq!(docs.sentiments.len(), reviews);
    let counted: u64 = d
        .sentiment
        .values()
        .map(|c| c.positive + c.neutral + c.negative)
        .sum();
    assert_eq!(counted as usize, reviews);

    // Potential customers: long unconverted attention, longest first.
    assert!(!d.potential_customers.is_empty());
    assert!(d.potential_customers.windows(2).all(|w| w[0] >= w[1]));
    assert!(d.potential_customers.iter().all(|p| p.seconds_ms >= 60_000));
}

#[test]
fn session_summaries_carry_the_time_fields() {
    let g = generator(300, 3);
    let mut a = StreamAnalytics::new(patient(), Catalogue::furniture()).unwrap();
    for e in g.events() {
        a.ingest(e.record);
    }
    a.flush();
    for s in a.drain().sessions {
        use chrono::{Datelike, Timelike};
        let t = s.timestamp;
        assert_eq!(s.hour_of_day, t.hour());
        assert_eq!(s.month, t.month());
        assert_eq!(s.week_of_year, t.iso_week().week());
        assert_eq!(s.is_weekend, t.weekday().number_from_monday() >= 6);
        assert_eq!(s.part_of_day, PartOfDay::from_hour(t.hour()));
        assert!(s.day_of_week.ends_with("day"));
        assert_eq!(
            s.engaged,
            s.session_duration > 10.0 || s.purchase_made || s.page_views >= 2
        );
    }
    // 2026-01-05 is a Monday in ISO week 2.
    let monday = chrono::Utc.with_ymd_and_hms(2026, 1, 5, 18, 0, 0).unwrap();
    assert_eq!(chrono::Datelike::iso_week(&monday).week(), 2);
    assert!(
        StreamAnalytics::new(
            AnalyticsConfig {
                window_seconds: 0,
                ..patient()
            },
            Catalogue::furniture()
        )
        .is_err()
    );
}

fn run(events: &[websight_core::record::EventRecord]) -> websight_core::analytics::Dashboard {
    let mut a = StreamAnalytics::new(patient(), Catalogue::furniture()).unwrap();
    for e in events {
        a.ingest(e.clone());
    }
    a.flush();
    a.dashboard().clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn merging_partitions_equals_processing_their_union(seed in any::<u64>(), salt in any::<u64>()) {
        let g = generator(1_500, seed % 1000);
        let events: Vec<_> = g.events().map(|e| e.record).collect();
        // Partition by user, as Kafka partitions keyed by user id would.
        let side = |e: &websight_core::record::EventRecord| hash64(e.user.id.as_str().as_bytes()) ^ salt;
        let (left, right): (Vec<_>, Vec<_>) = events.iter().cloned().partition(|e| side(e) % 2 == 0);
        let mut merged = run(&left);
        merged.merge(&run(&right));
        prop_assert_eq!(merged, run(&events));
    }
}
