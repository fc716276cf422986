//! Stream analytics on tracker messages: conservation, late policy, visits, KPIs against the
//! generated truth, channels, documents, and merging partitions.

use chrono::{Datelike, TimeZone, Timelike};
use proptest::prelude::*;
use websight_core::analytics::{AnalyticsConfig, ProductCatalogue, SessionConfig, StreamAnalytics};
use websight_core::event::{Event, Money};
use websight_core::hash::hash64;
use websight_core::model::{Catalogue, PartOfDay};
use websight_core::synth::{Generator, SynthConfig, SyntheticSession};
use websight_testkit::privacy;

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

/// The generator's messages as the analytics receive them: decoded and protected.
fn events(g: &Generator) -> Vec<Event> {
    let p = privacy();
    g.events().map(|e| p.protect(e.event)).collect()
}

fn with_lateness(seconds: i64) -> AnalyticsConfig {
    AnalyticsConfig {
        sessions: SessionConfig {
            allowed_lateness_seconds: seconds,
            ..SessionConfig::default()
        },
        ..AnalyticsConfig::default()
    }
}

fn analytics(config: AnalyticsConfig) -> StreamAnalytics {
    StreamAnalytics::new(
        config,
        ProductCatalogue::from_catalogue(&Catalogue::furniture()),
    )
    .unwrap()
}

#[test]
fn every_event_is_sessionised_late_or_buffered() {
    let g = generator(5_000, 1);
    let mut a = analytics(with_lateness(60));
    let late_truth = g.events().filter(|e| e.very_late).count();
    for (i, e) in events(&g).into_iter().enumerate() {
        a.ingest(e);
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
        c.late > 0 && c.late as usize <= 3 * late_truth + 10,
        "late {} of {late_truth} very late",
        c.late
    );
    let events: u64 = docs.sessions.iter().map(|s| u64::from(s.events)).sum();
    assert_eq!(events, c.sessionised);
    let in_visits: usize = docs.visits.iter().map(|v| v.events.len()).sum();
    assert_eq!(in_visits as u64, c.sessionised);
}

#[test]
fn kpis_agree_with_the_generated_sessions() {
    let g = generator(8_000, 2);
    let truth: Vec<SyntheticSession> = g.sessions().collect();
    let mut a = analytics(with_lateness(3 * 3600));
    for e in events(&g) {
        a.ingest(e);
    }
    a.flush();
    let docs = a.drain();
    let d = a.dashboard();
    assert_eq!(a.counts().late, 0);

    // Server-side visits find the generated sessions (a user's two sessions closer than 30
    // minutes merge, rarely).
    let generated = truth.len() as f64;
    assert!(
        docs.sessions.len() as f64 <= generated && docs.sessions.len() as f64 > 0.97 * generated,
        "{} visits from {generated} sessions",
        docs.sessions.len()
    );
    // Persons: every generated user with a session, stitched across anonymous and user ids.
    let users: std::collections::HashSet<_> = truth.iter().map(|s| &s.session.user.id).collect();
    assert_eq!(a.visitors(), users.len());
    // Money and units are exact whatever the sessionisation.
    let revenue: Money = truth
        .iter()
        .filter_map(|s| s.session.order.as_ref())
        .map(|o| o.amount.to_string().parse::<Money>().unwrap())
        .sum();
    assert_eq!(d.revenue["USD"], revenue);
    let units: u64 = truth
        .iter()
        .filter_map(|s| s.session.order.as_ref())
        .map(|o| o.products.len() as u64)
        .sum();
    let counted: u64 = Catalogue::furniture()
        .products()
        .iter()
        .map(|p| d.products.purchases.get(&p.id.to_string()))
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
    assert_eq!(d.orders, orders);
    assert_eq!(d.payments.values().sum::<u64>(), orders);
    assert!(f.purchased <= orders && f.purchased + 5 >= orders);
    assert_eq!(d.abandoned_carts, f.carted - f.purchased);
    let (view_to_cart, _, checkout_to_buy) = f.rates();
    assert!(view_to_cart > 0.0 && checkout_to_buy > 0.5);

    // Channels: every visit has one; the generator covers GA4's channels.
    assert_eq!(d.channels.values().sum::<u64>(), f.sessions);
    assert!(d.channels.len() >= 12, "{:?}", d.channels);
    for channel in [
        "Direct",
        "Organic Search",
        "Paid Search",
        "Organic Social",
        "Email",
        "Referral",
    ] {
        assert!(
            d.channels.get(channel).is_some_and(|n| *n > 0),
            "{channel}: {:?}",
            d.channels
        );
    }

    // Windows add up to the totals.
    assert_eq!(
        docs.windows.iter().map(|w| w.sessions).sum::<u64>(),
        f.sessions
    );
    let window_revenue: f64 = docs.windows.iter().map(|w| w.revenue).sum();
    assert!((window_revenue - d.revenue_in_currency().to_f64()).abs() < 1e-3);
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
    // Products are named from the events.
    assert!(docs.products.iter().all(|p| p.product_name != p.product_id));
}

#[test]
fn session_summaries_carry_the_time_fields() {
    let g = generator(500, 3);
    let mut a = analytics(AnalyticsConfig::default());
    for e in events(&g) {
        a.ingest(e);
    }
    a.flush();
    let docs = a.drain();
    assert!(!docs.sessions.is_empty());
    for s in &docs.sessions {
        let t = s.timestamp;
        assert_eq!(s.hour_of_day, t.hour());
        assert_eq!(s.month, t.month());
        assert_eq!(s.week_of_year, t.iso_week().week());
        assert_eq!(s.is_weekend, t.weekday().number_from_monday() >= 6);
        assert_eq!(s.part_of_day, PartOfDay::from_hour(t.hour()));
        assert!(s.day_of_week.ends_with("day"));
        assert!(s.visitor.starts_with("p_"));
    }
    let monday = chrono::Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
    assert_eq!(monday.iso_week().week(), 2);
}

/// Each id's person: the smallest id among those linked to it (the anonymous, user and
/// previous ids of one event are one person).
fn persons(events: &[Event]) -> impl Fn(&str) -> String {
    fn root(parent: &std::collections::HashMap<String, String>, id: &str) -> String {
        let mut id = id.to_owned();
        while let Some(up) = parent.get(&id).filter(|up| **up != id) {
            id = up.clone();
        }
        id
    }
    let mut parent = std::collections::HashMap::new();
    for e in events {
        let ids = [&e.anonymous_id, &e.user_id, &e.previous_id];
        let ids: Vec<&str> = ids.into_iter().flatten().map(|id| id.as_str()).collect();
        for id in &ids {
            parent
                .entry(id.to_string())
                .or_insert_with(|| id.to_string());
        }
        for pair in ids.windows(2) {
            let (a, b) = (root(&parent, pair[0]), root(&parent, pair[1]));
            let (low, high) = if a < b { (a, b) } else { (b, a) };
            parent.insert(high, low);
        }
    }
    move |id: &str| root(&parent, id)
}

fn run(events: &[Event]) -> websight_core::analytics::Dashboard {
    let mut a = analytics(with_lateness(3 * 3600));
    for e in events {
        a.ingest(e.clone());
    }
    a.flush();
    a.dashboard().clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]
    #[test]
    fn merging_partitions_equals_processing_their_union(seed in any::<u64>(), salt in any::<u64>()) {
        let events = events(&generator(600, seed));
        // Partitions keyed by person: a user's browsers (anonymous ids) and user id stay
        // together, as a partitioned stream would route them. Keyed by anonymous id alone, a
        // user seen in two browsers was two persons on two sides and one in the union.
        let person = persons(&events);
        let first = |e: &Event| e.anonymous_id.as_deref().or(e.user_id.as_deref()).unwrap_or("").to_owned();
        let side = |e: &Event| hash64(person(&first(e)).as_bytes()) ^ salt;
        let (left, right): (Vec<_>, Vec<_>) = events.iter().cloned().partition(|e| side(e) % 2 == 0);
        let mut merged = run(&left);
        merged.merge(&run(&right));
        let mut union = run(&events);
        // A visit is labelled with one of its person's ids: which one depends on the ids
        // linked when it closed, and a partition's event time (so when its visits close)
        // runs apart from the union's. Compared as persons.
        for d in [&mut merged, &mut union] {
            for p in &mut d.potential_customers {
                p.visitor = person(&p.visitor).into();
            }
            d.potential_customers.sort_by(|a, b| b.cmp(a));
        }
        prop_assert_eq!(merged, union);
    }
}

/// The decoded Segment message of `body` (JSON members), its message id a hash of them.
fn line(body: &str) -> Box<Event> {
    use websight_core::decode::{DecodeContext, decode_segment};
    let text = format!(r#"{{"messageId":"m{}",{body}}}"#, hash64(body.as_bytes()));
    let events = decode_segment(text.as_bytes(), &DecodeContext::default());
    events.into_iter().next().unwrap().unwrap()
}

#[test]
fn a_visitor_who_logs_in_is_one_current_visitor() {
    let mut a = analytics(AnalyticsConfig::default());
    for e in [
        // Browsing anonymously, then logging in: ids "zz-anonymous" and "aa-user" (the
        // first seen names the person once linked), both seen in the window's last minutes.
        line(r#""type":"page","anonymousId":"zz-anonymous","timestamp":"2026-03-02T10:56:00Z""#),
        line(
            r#""type":"identify","anonymousId":"zz-anonymous","userId":"aa-user","timestamp":"2026-03-02T10:57:00Z""#,
        ),
        line(
            r#""type":"page","anonymousId":"zz-anonymous","userId":"aa-user","timestamp":"2026-03-02T10:58:00Z""#,
        ),
        // Somebody else.
        line(r#""type":"page","anonymousId":"other","timestamp":"2026-03-02T10:59:00Z""#),
    ] {
        a.ingest(e);
    }
    a.flush();
    let docs = a.drain();
    let window = docs
        .windows
        .iter()
        .find(|w| w.window_start.hour() == 10)
        .unwrap();
    assert_eq!(window.current_visitors, 2, "{window:?}");
    assert_eq!(window.sessions, 2);
}

#[test]
fn each_event_is_the_visitor_its_person_is_named_by() {
    let mut a = analytics(AnalyticsConfig::default());
    let ingested = |a: &mut StreamAnalytics, body: &str| {
        a.ingest(line(body));
        a.last_person().map(str::to_owned)
    };
    let named = |p: Option<String>| p.as_deref() == Some("zz-anonymous");
    assert!(named(ingested(
        &mut a,
        r#""type":"page","anonymousId":"zz-anonymous","timestamp":"2026-03-02T10:00:00Z""#
    )));
    assert!(named(ingested(
        &mut a,
        r#""type":"identify","anonymousId":"zz-anonymous","userId":"aa-user","timestamp":"2026-03-02T10:05:00Z""#
    )));
    // From the shop's server: the user id alone.
    assert!(named(ingested(
        &mut a,
        r#""type":"track","event":"Order Completed","userId":"aa-user","timestamp":"2026-03-02T10:06:00Z""#
    )));
    // Days later (enough visitors to move the watermark), events of that morning are too
    // late to place: named by the ids identity knows, else by their own.
    for i in 0..20 {
        let body = format!(
            r#""type":"page","anonymousId":"later-{i}","timestamp":"2026-03-05T10:00:{i:02}Z""#
        );
        assert_eq!(ingested(&mut a, &body).unwrap(), format!("later-{i}"));
    }
    let late = a.counts().late;
    assert!(named(ingested(
        &mut a,
        r#""type":"page","userId":"aa-user","timestamp":"2026-03-02T10:07:00Z""#
    )));
    assert_eq!(
        ingested(
            &mut a,
            r#""type":"page","anonymousId":"new","timestamp":"2026-03-02T10:08:00Z""#
        )
        .as_deref(),
        Some("new")
    );
    assert_eq!(a.counts().late, late + 2);
}
